package cli_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStalledBodyIsCutOff: a request whose body stops after a few bytes is
// answered 408 with a JSON error once --body-timeout has passed, and its
// connection is closed; a body that arrives within the limit, and a
// request whose handler runs longer than the limit after its body arrived
// (a slow handshake), are served as usual.
func TestStalledBodyIsCutOff(t *testing.T) {
	t.Parallel()
	const limit = 400 * time.Millisecond
	s := startServe(t, serveOpts{Args: []string{"--body-timeout", limit.String()}})
	host := strings.TrimPrefix(s.URL, "http://")

	for _, path := range []string{"/v1/events", "/v1/webhook", "/signin"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			method := "POST"
			if path == "/v1/webhook" {
				method = "PUT"
			}
			ctype := "application/json"
			if path == "/signin" {
				ctype = "application/x-www-form-urlencoded"
			}
			start := time.Now()
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: 1000\r\n\r\n{\"ev",
				method, path, host, testAPIKey, ctype)
			conn.SetReadDeadline(time.Now().Add(waitLimit)) // a failure bound only
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to a stalled body: %v", err)
			}
			elapsed := time.Since(start)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if elapsed < limit {
				t.Fatalf("answered after %v, before the %v limit: %d %s", elapsed, limit, resp.StatusCode, body)
			}
			if path == "/signin" {
				// The dashboard answers with its page.
				if resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("%s with a stalled body: %d, want 400", path, resp.StatusCode)
				}
			} else {
				var e struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if resp.StatusCode != http.StatusRequestTimeout || json.Unmarshal(body, &e) != nil || e.Error.Code != "body_timeout" {
					t.Fatalf("%s with a stalled body: %d %s, want 408 body_timeout", path, resp.StatusCode, body)
				}
			}
			// The connection is not kept for another request.
			if _, err := conn.Read(make([]byte, 1)); err == nil {
				t.Fatal("the connection stayed open after the stalled body")
			}
		})
	}

	// A body sent in pieces within the limit is served.
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"url":"ftp://x","verify_token":"t"}`
	fmt.Fprintf(conn, "PUT /v1/webhook HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", host, testAPIKey, len(body), body[:5])
	fmt.Fprint(conn, body[5:])
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a complete body in two pieces: %v %v, want the URL's 400", resp, err)
	}
	resp.Body.Close()

	// A handshake that takes longer than the body limit still completes:
	// the limit is on the body, not on the handler.
	rcv := newReceiver(t, s.Secret(s.Key))
	slow := make(chan struct{})
	t.Cleanup(func() { close(slow) })
	inner := rcv.srv.Config.Handler
	rcv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			select { // the endpoint answers its handshake after twice the body limit
			case <-time.After(2 * limit):
			case <-slow:
			}
		}
		inner.ServeHTTP(w, r)
	})
	s.Register(s.Key, rcv)
}
