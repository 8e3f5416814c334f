package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ceilingBody is a ~500-byte JSON body, the size of a one-status webhook
// envelope.
var ceilingBody = []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","status":"delivered","timestamp":"1750263773","recipient_id":"16505551234","recipient_type":"individual","pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}}]},"field":"messages"}]}],"pad":"` +
	strings.Repeat("x", 24) + `"}`)

// ceilingResult is the loopback POST ceiling of this machine.
type ceilingResult struct {
	PostsPerS float64
	// CPUPer1k is this process's CPU (client and server together) per 1,000
	// POSTs, when /proc can tell.
	CPUPer1k float64
}

// measureCeiling runs a trivial net/http server on 127.0.0.1 and conns
// keep-alive clients POSTing ceilingBody to it for d, and returns POSTs/s.
func measureCeiling(ctx context.Context, d time.Duration, conns int) (ceilingResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ceilingResult{}, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-served
	}()
	tr := &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	url := "http://" + ln.Addr().String() + "/webhook"

	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	before, _ := readProc(os.Getpid())
	start := time.Now()
	var posts atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(ceilingBody))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, &err)
					}
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					posts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, _ := readProc(os.Getpid())
	if p := firstErr.Load(); p != nil && posts.Load() == 0 {
		return ceilingResult{}, fmt.Errorf("measuring the loopback ceiling: %w", *p)
	}
	if parent := context.Cause(ctx); parent != nil && !errors.Is(parent, context.DeadlineExceeded) {
		return ceilingResult{}, parent
	}
	r := ceilingResult{PostsPerS: PerSecond(posts.Load(), elapsed)}
	if n := posts.Load(); n > 0 && after.CPU > before.CPU {
		r.CPUPer1k = (after.CPU - before.CPU).Seconds() / float64(n) * 1000
	}
	return r, nil
}
