package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient calls the platform's API.
type apiClient struct {
	base string // http://host:port
	http *http.Client
}

func newAPIClient(addr string, conns int) *apiClient {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: conns + 16, MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	return &apiClient{base: "http://" + addr, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

func (c *apiClient) close() { c.http.CloseIdleConnections() }

// call sends a JSON request (body nil for none) and decodes a JSON answer
// into out (nil to discard it). An answer other than want is an error that
// quotes the platform's message.
func (c *apiClient) call(ctx context.Context, method, path, key string, body, out any, want int) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, apiMessage(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
		}
	}
	return nil
}

// apiMessage is the message of an API error answer, or the answer's start.
func apiMessage(data []byte) string {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		return e.Error.Code + ": " + e.Error.Message
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// ingest POSTs a batch of events, retrying transport errors, 429 and 5xx a
// few times: the events' ids make a retried batch idempotent.
func (c *apiClient) ingest(ctx context.Context, key string, body []byte) error {
	const attempts = 5
	backoff := 50 * time.Millisecond
	for i := 1; ; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/events", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		retry := err != nil
		if err == nil {
			var data []byte
			if resp.StatusCode == http.StatusAccepted {
				_, err = io.Copy(io.Discard, resp.Body)
			} else {
				data, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			}
			resp.Body.Close()
			switch {
			case err != nil:
				retry = true
			case resp.StatusCode == http.StatusAccepted:
				return nil
			default:
				err = fmt.Errorf("POST /v1/events answered %d: %s", resp.StatusCode, apiMessage(data))
				retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
			}
		}
		if !retry || i == attempts || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff *= 2
	}
}
