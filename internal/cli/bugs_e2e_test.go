package cli_test

// Regression tests of bugs the end-to-end suite found (all fixed).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Run documents "Errors are one line on stderr", but a flag value the flag
// package cannot parse prints the whole flag list first.
func TestBugFlagParseErrorIsOneLine(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "--sandbox-pace", "abc", "--data", t.TempDir()},
		{"serve", "--no-such-flag", "--data", t.TempDir()},
		{"serve", "--max-lanes", "many", "--data", t.TempDir()},
		{"accounts", "create", "--name", "x", "--bogus"},
	} {
		code, _, errOut := runCLI(t, context.Background(), nil, args...)
		if code != 2 || len(lines(errOut)) != 1 {
			t.Errorf("%v: exit %d, %d lines on stderr, want 2 and one line:\n%s", args, code, len(lines(errOut)), errOut)
		}
	}
}

// A blank --name is a usage mistake like a missing one.
func TestBugAccountsCreateBlankName(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	code, _, errOut := runCLI(t, context.Background(), nil, "accounts", "create", "--name", "   ", "--data", data)
	if code != 2 || len(lines(errOut)) != 1 {
		t.Errorf("accounts create --name '   ': exit %d stderr %q, want 2", code, errOut)
	}
	if _, err := os.Stat(data + "/bahasha.db"); err == nil {
		t.Errorf("a refused accounts create left a database in %s", data)
	}
}

// A wrongly typed number field of an event (whatsapp.Timestamp, Number) is
// described as needing "an object", which it is not.
func TestBugTypeErrorOfNumberFields(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{})
	p := s.Phone().ID
	for _, tc := range []struct{ body, field string }{
		{`{"events":[{"id":"t","phone_number_id":"` + p + `","status":{"id":"w","status":"sent","recipient_id":"1","timestamp":{}}}]}`, "timestamp"},
		{`{"events":[{"id":"t","phone_number_id":"` + p + `","message":{"id":"w","from":"1","type":"order","order":{"product_items":[{"item_price":true}]}}}]}`, "item_price"},
	} {
		r := s.Do("POST", "/v1/events", tc.body)
		msg := r.Str("error.message")
		if r.Status >= 500 || !strings.Contains(msg, tc.field) || strings.Contains(msg, "must be an object") {
			t.Errorf("%s: %s, want a 4xx saying %s must be a number or numeric string", tc.field, r, tc.field)
		}
	}
}

// POST /v1/webhook/deliveries/{id}/retry after the business fixed its
// endpoint should attempt the delivery now; with the endpoint's breaker open
// it waits for the next probe instead (up to 8 hours on the default
// schedule).
func TestBugManualRetryWaitsForBreaker(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--retry-schedule", "1m", "--max-batch", "1", "--max-in-flight", "1"}})
	rcv.Fail(true)
	phone := s.Phone()
	var events []any
	for i := range 8 {
		events = append(events, statusEvent(fmt.Sprintf("brk-%d", i), phone.ID, fmt.Sprintf("wamid.BRK%d", i), "sent"))
	}
	r := s.Do("POST", "/v1/events", map[string]any{"events": events})
	if r.Status != 202 {
		t.Fatalf("ingest: %s", r)
	}
	first := r.Str("results.0.delivery_id")
	// Five failed POSTs open the breaker.
	rcv.Wait(t, "5 failed POSTs", func() bool { return len(rcv.posts) >= 5 })
	s.WaitDelivery(s.Key, first, "the first delivery's failed attempt", func(r *apiResp) bool { return r.Num("attempts") >= 1 })
	rcv.Fail(false)
	if r := s.Do("POST", "/v1/webhook/deliveries/"+first+"/retry", nil); r.Status != 202 {
		t.Fatalf("retry: %s", r)
	}
	rcv.Wait(t, "the manually retried delivery (the breaker's probe is ~1m away)", func() bool {
		return len(rcv.statusesOfLocked("wamid.BRK0")) == 1
	})
}

// The first start's usage hint names the configured port, so with
// --addr 127.0.0.1:0 (or any address whose port the kernel picks) it points
// at port 0 instead of where serve listens.
func TestBugFirstStartHintNamesListeningPort(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{NoKey: true})
	out := s.Stdout.String()
	i := strings.Index(out, "Try it: ")
	if i < 0 {
		t.Fatalf("no usage hint:\n%s", out)
	}
	hint := strings.SplitN(out[i:], "\n", 2)[0]
	port := s.URL[strings.LastIndex(s.URL, ":"):]
	if !strings.Contains(hint, port+"/v1/phone_numbers") {
		t.Errorf("hint %q does not use the listening port %s", hint, port)
	}
}

// When the shutdown grace runs out, Run returns (and closes the store) while
// HTTP handlers, such as a registration handshake, are still running: they
// outlive Run and then use a closed store.
func TestBugHandlersOutliveRun(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{Args: []string{"--shutdown-grace", "300ms", "--attempt-timeout", "5s"}})
	quit, entered := make(chan struct{}), make(chan struct{}, 1)
	hang := newChallengeServer(t, false, func(w http.ResponseWriter, r *http.Request, _ string) {
		entered <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	})
	t.Cleanup(func() { close(quit) })
	// The PUT is sent by hand: when the grace period ends its connection
	// is closed, so it may get an error rather than an answer.
	res := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("PUT", s.URL+"/v1/webhook", strings.NewReader(`{"url":"`+hang.URL+`/webhook","verify_token":"tok"}`))
		req.Header.Set("Authorization", "Bearer "+s.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- "error: " + err.Error()
			return
		}
		resp.Body.Close()
		res <- fmt.Sprint(resp.StatusCode)
	}()
	<-entered
	stopped := make(chan int, 1)
	go func() { stopped <- s.Stop() }()
	// Run cancels the handler at the end of the grace period and waits for
	// it; the handshake it was running ends with its context.
	select {
	case code := <-stopped:
		if code != 0 {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s of a 300ms grace period")
	}
	t.Logf("the PUT in flight at shutdown ended with: %s", <-res)
}
