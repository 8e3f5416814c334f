package cli_test

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
)

// challengeServer answers the handshake GET with answer(challenge) and
// records the challenges it was sent.
type challengeServer struct {
	*httptest.Server
	mu         sync.Mutex
	challenges []string
}

func newChallengeServer(t *testing.T, tls bool, answer func(w http.ResponseWriter, r *http.Request, challenge string)) *challengeServer {
	t.Helper()
	cs := &challengeServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := r.URL.Query().Get("hub.challenge")
		cs.mu.Lock()
		cs.challenges = append(cs.challenges, c)
		cs.mu.Unlock()
		answer(w, r, c)
	})
	if tls {
		cs.Server = httptest.NewTLSServer(h)
	} else {
		cs.Server = httptest.NewServer(h)
	}
	t.Cleanup(cs.Close)
	return cs
}

func (cs *challengeServer) lastChallenge() string {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if len(cs.challenges) == 0 {
		return ""
	}
	return cs.challenges[len(cs.challenges)-1]
}

// TestHandshake registers webhooks whose GET handshake succeeds or fails in
// each documented way, and checks that a failure leaves the previous webhook
// in force.
func TestHandshake(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{})
	secret := s.Secret(s.Key)
	good := newReceiver(t, secret)

	// Success: 200 {"url","status":"verified","verified_at"}.
	before := time.Now().Add(-time.Minute)
	r := s.Do("PUT", "/v1/webhook", map[string]string{"url": good.URL, "verify_token": good.Token})
	if r.Status != 200 {
		t.Fatalf("PUT /v1/webhook: %s", r)
	}
	if got := r.Str("url"); got != good.URL {
		t.Errorf("url = %q, want %q", got, good.URL)
	}
	if got := r.Str("status"); got != "verified" {
		t.Errorf("status = %q, want verified", got)
	}
	if at, err := time.Parse(time.RFC3339Nano, r.Str("verified_at")); err != nil || at.Before(before) || at.After(time.Now().Add(time.Minute)) {
		t.Errorf("verified_at = %q (%v), want the time of registration", r.Str("verified_at"), err)
	}
	if ks := keysOf(r.JSON); len(ks) != 3 {
		t.Errorf("success body has keys %v, want exactly url, status, verified_at", ks)
	}

	// The SDK handler of a business whose token differs.
	wrongToken := httptest.NewServer(&webhook.Handler{VerifyToken: "the-other-token"})
	t.Cleanup(wrongToken.Close)
	wrongStatus := newChallengeServer(t, false, func(w http.ResponseWriter, _ *http.Request, _ string) {
		http.Error(w, "internal error", http.StatusInternalServerError)
	})
	quoted := newChallengeServer(t, false, func(w http.ResponseWriter, _ *http.Request, c string) {
		fmt.Fprintf(w, "%q", c)
	})
	newline := newChallengeServer(t, false, func(w http.ResponseWriter, _ *http.Request, c string) {
		fmt.Fprintln(w, c)
	})
	tlsSrv := httptest.NewUnstartedServer(&webhook.Handler{VerifyToken: "tok"}) // certificate not trusted by Bahasha
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)                         // the expected "bad certificate" noise
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	cases := []struct {
		name, url, token string
		reason           string
		statusCode       float64 // details.status_code, 0 when none
		check            func(t *testing.T, r *apiResp)
	}{
		{name: "token_rejected", url: wrongToken.URL + "/webhook", token: "tok", reason: "token_rejected", statusCode: 403},
		{name: "wrong_status", url: wrongStatus.URL + "/webhook", token: "tok", reason: "wrong_status", statusCode: 500},
		{name: "body_mismatch_quoted", url: quoted.URL + "/webhook", token: "tok", reason: "body_mismatch", statusCode: 200,
			check: func(t *testing.T, r *apiResp) {
				c := quoted.lastChallenge()
				if c == "" || r.Str("error.details.expected") != c {
					t.Errorf("details.expected = %q, want the challenge sent %q", r.Str("error.details.expected"), c)
				}
				if got, want := r.Str("error.details.got"), `"`+c+`"`; got != want {
					t.Errorf("details.got = %q, want %q", got, want)
				}
				if !strings.Contains(r.Str("error.message"), "quotes") {
					t.Errorf("message %q does not explain the quotes", r.Str("error.message"))
				}
			}},
		{name: "body_mismatch_newline", url: newline.URL + "/webhook", token: "tok", reason: "body_mismatch", statusCode: 200,
			check: func(t *testing.T, r *apiResp) {
				c := newline.lastChallenge()
				if c == "" || r.Str("error.details.expected") != c {
					t.Errorf("details.expected = %q, want the challenge sent %q", r.Str("error.details.expected"), c)
				}
				if got, want := r.Str("error.details.got"), c+"\n"; got != want {
					t.Errorf("details.got = %q, want %q", got, want)
				}
				if !strings.Contains(r.Str("error.message"), "newline") {
					t.Errorf("message %q does not name the trailing newline", r.Str("error.message"))
				}
			}},
		{name: "tls", url: tlsSrv.URL + "/webhook", token: "tok", reason: "tls",
			check: func(t *testing.T, r *apiResp) {
				if !strings.Contains(r.Str("error.message"), "certificate") {
					t.Errorf("message %q does not mention the certificate", r.Str("error.message"))
				}
			}},
		{name: "connect", url: "http://" + closedAddr + "/webhook", token: "tok", reason: "connect",
			check: func(t *testing.T, r *apiResp) {
				if !strings.Contains(r.Str("error.message"), "refused") {
					t.Errorf("message %q does not say the connection was refused", r.Str("error.message"))
				}
			}},
		{name: "dns", url: "https://nonexistent.invalid/webhook", token: "tok", reason: "dns",
			check: func(t *testing.T, r *apiResp) {
				if !strings.Contains(r.Str("error.message"), "nonexistent.invalid") {
					t.Errorf("message %q does not name the host", r.Str("error.message"))
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do("PUT", "/v1/webhook", map[string]string{"url": tc.url, "verify_token": tc.token})
			if r.Status != 422 || r.Str("error.code") != "verification_failed" {
				t.Fatalf("PUT /v1/webhook: %s, want 422 verification_failed", r)
			}
			if got := r.Str("error.details.reason"); got != tc.reason {
				t.Errorf("details.reason = %q, want %q (%s)", got, tc.reason, r)
			}
			got := r.Num("error.details.status_code")
			if got == -1 {
				got = 0
			}
			if got != tc.statusCode {
				t.Errorf("details.status_code = %v, want %v", got, tc.statusCode)
			}
			if !strings.Contains(r.Str("error.message"), "previous webhook stays in force") {
				t.Errorf("message %q does not say the previous webhook stays", r.Str("error.message"))
			}
			if strings.Contains(string(r.Body), tc.token+"&") || strings.Contains(r.Str("error.details.request.url"), "verify_token="+tc.token) {
				t.Errorf("the answer shows the verification token: %s", r)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		ts := startServe(t, serveOpts{Args: []string{"--attempt-timeout", "300ms"}})
		quit := make(chan struct{})
		hang := newChallengeServer(t, false, func(w http.ResponseWriter, r *http.Request, _ string) {
			select {
			case <-r.Context().Done():
			case <-quit:
			}
		})
		t.Cleanup(func() { close(quit) }) // runs before hang.Close
		start := time.Now()
		r := ts.Do("PUT", "/v1/webhook", map[string]string{"url": hang.URL + "/webhook", "verify_token": "tok"})
		if r.Status != 422 || r.Str("error.code") != "verification_failed" || r.Str("error.details.reason") != "timeout" {
			t.Fatalf("PUT /v1/webhook to a hanging server: %s, want 422 verification_failed reason timeout", r)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("the handshake took %v, want about the 300ms attempt timeout", el)
		}
	})

	t.Run("private_address", func(t *testing.T) {
		t.Parallel()
		ps := startServe(t, serveOpts{NoPrivate: true})
		target := newReceiver(t, "x") // must never be called
		r := ps.Do("PUT", "/v1/webhook", map[string]string{"url": strings.Replace(target.URL, "http://", "https://", 1), "verify_token": target.Token})
		if r.Status != 422 || r.Str("error.code") != "verification_failed" || r.Str("error.details.reason") != "private_address" {
			t.Fatalf("PUT /v1/webhook https://127.0.0.1…: %s, want 422 verification_failed reason private_address", r)
		}
		if !strings.Contains(r.Str("error.message"), "localhost") {
			t.Errorf("message %q does not explain that localhost is unreachable", r.Str("error.message"))
		}
		if r.Get("error.details.request") != nil {
			t.Errorf("details.request = %v: an IP-literal private URL must be refused before sending", r.Get("error.details.request"))
		}
		if g := target.Posts(); len(g) != 0 || target.getsCount() != 0 {
			t.Errorf("the private target was called")
		}
		// The http:// form is refused as a URL problem (400), not a handshake.
		r = ps.Do("PUT", "/v1/webhook", map[string]string{"url": target.URL, "verify_token": target.Token})
		if r.Status != 400 || r.Str("error.code") != "invalid_request" || r.Str("error.details.reason") != "invalid_url" {
			t.Errorf("PUT /v1/webhook http://127.0.0.1…: %s, want 400 invalid_request reason invalid_url", r)
		}
		if target.getsCount() != 0 {
			t.Errorf("the private target was called")
		}
	})

	// After all those failures the first webhook is still the one in force,
	// and events still go to it.
	r = s.Do("GET", "/v1/webhook", nil)
	if r.Status != 200 || r.Str("url") != good.URL || r.Str("status") != "verified" {
		t.Fatalf("GET /v1/webhook after failed registrations: %s, want the first webhook %s", r, good.URL)
	}
	wamid := s.Send(s.Key, s.Phone().ID, "254712345678")
	good.Wait(t, "sent, delivered, read at the first webhook", func() bool {
		return len(good.statusesOfLocked(wamid)) == 3
	})
}

func (rcv *receiver) getsCount() int {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return rcv.gets
}
