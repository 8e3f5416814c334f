package cli_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/store/pgtest"
)

// TestServeOnPostgres runs the walkthrough on PostgreSQL: serve with
// --database, register a webhook, send a message, and see its three
// statuses arrive signed; accounts create works against the same database.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	s, rcv := setup(t, serveOpts{Args: []string{"--database", db}})
	if !strings.Contains(s.Stdout.String(), "data in PostgreSQL") {
		t.Fatalf("serve did not say it runs on PostgreSQL: %s", s.Stdout)
	}
	phone := s.Phone()
	wamid := s.Send(s.Key, phone.ID, "254712345678")
	rcv.Wait(t, "sent, delivered, read", func() bool { return len(rcv.statusesOfLocked(wamid)) == 3 })
	var got []string
	for _, e := range rcv.Statuses() {
		if e.Status.ID == wamid {
			got = append(got, string(e.Status.Status))
		}
	}
	if strings.Join(got, " ") != "sent delivered read" {
		t.Fatalf("statuses %v", got)
	}
	// The dashboard on PostgreSQL: the first owner sets a password through
	// the link serve printed, and the overview and the deliveries page show
	// the three deliveries.
	client := &http.Client{Transport: s.tr, Jar: newJar(t)}
	resp, err := client.PostForm(s.URL+"/welcome", url.Values{"token": {tokenIn(t, s.Stdout.String())},
		"password": {"the owner's password"}, "password_again": {"the owner's password"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Overview") || !strings.Contains(string(body), `data-health="healthy"`) {
		t.Fatalf("overview after sign-in: %d\n%s", resp.StatusCode, body)
	}
	eventually(t, "the deliveries page to list the three deliveries as delivered", func() (bool, string) {
		resp, err := client.Get(s.URL + "/deliveries?state=delivered")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		n := strings.Count(string(body), `data-state="delivered"`)
		return n == 3, fmt.Sprintf("%d delivered rows", n)
	})
	code, out, errOut := runCLI(t, context.Background(), nil, "accounts", "create", "--name", "Second", "--database", db, "--json")
	if code != 0 || !strings.Contains(out, `"api_key"`) {
		t.Fatalf("accounts create --database: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	for range 2 { // idempotent
		code, out, errOut := runCLI(t, context.Background(), nil, "migrate", "--database", db)
		if code != 0 || !strings.Contains(out, "up to date") {
			t.Fatalf("migrate --database: exit %d %q %q", code, out, errOut)
		}
	}
	code, out, _ := runCLI(t, context.Background(), nil, "migrate", "--data", t.TempDir())
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate --data: exit %d %q", code, out)
	}
	s := startServe(t, serveOpts{Args: []string{"--database", db}})
	if r := s.Do("GET", "/v1/phone_numbers", nil); r.Status != 200 {
		t.Fatalf("serve on a migrated database: %s", r)
	}
}

func TestServeDatabaseErrors(t *testing.T) {
	t.Parallel()
	code, _, errOut := runCLI(t, context.Background(), nil, "serve", "--database", "mysql://x")
	if code != 2 || !strings.Contains(errOut, "PostgreSQL URL") || len(lines(errOut)) != 1 {
		t.Fatalf("bad --database: exit %d %q", code, errOut)
	}
	code, _, errOut = runCLI(t, context.Background(), nil, "serve", "--addr", "127.0.0.1:0", "--database", "postgres://bahasha:secret-pw@127.0.0.1:1/bahasha?connect_timeout=2")
	if code != 1 || len(lines(errOut)) != 1 || !strings.Contains(errOut, "cannot use the PostgreSQL database") || strings.Contains(errOut, "secret-pw") {
		t.Fatalf("unreachable database: exit %d %q (want 1, one line, no password)", code, errOut)
	}
}

// TestDatabaseOutage stops PostgreSQL under a running serve: readiness goes
// false and ingest answers 503 (nothing half-stored); when the database is
// back, readiness returns, ingest works, and every event acknowledged before
// and after the outage is delivered.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := pgtest.Private(t)
	s, rcv := setup(t, serveOpts{Args: []string{"--database", pg.URL(), "--db-statement-timeout", "5s"}, LogsErrors: true})
	phone := s.Phone()
	ingest := func(prefix string) *apiResp {
		var evs []any
		for i := range 20 {
			evs = append(evs, statusEvent(fmt.Sprintf("%s-%d", prefix, i), phone.ID, fmt.Sprintf("wamid.%s-%02d", prefix, i), "delivered"))
		}
		return s.Do("POST", "/v1/events", map[string]any{"events": evs})
	}
	if r := ingest("before"); r.Status != 202 {
		t.Fatalf("ingest before the outage: %s", r)
	}
	ready := func() int { return s.Do("GET", "/readyz", nil).Status }

	pg.Pause()
	eventually(t, "readiness to go false", func() (bool, string) { c := ready(); return c == 503, fmt.Sprint(c) })
	if r := ingest("during"); r.Status != 503 || r.Str("error.code") != "unavailable" {
		t.Fatalf("ingest while the database is down: %s, want 503 unavailable", r)
	}
	pg.Resume()
	eventually(t, "readiness to come back", func() (bool, string) { c := ready(); return c == 200, fmt.Sprint(c) })
	eventually(t, "ingest to work again", func() (bool, string) { r := ingest("after"); return r.Status == 202, r.String() })
	rcv.Wait(t, "every acknowledged event", func() bool {
		seen := map[string]bool{}
		for _, e := range rcv.statuses {
			seen[e.Status.ID] = true
		}
		for _, p := range []string{"before", "after"} {
			for i := range 20 {
				if !seen[fmt.Sprintf("wamid.%s-%02d", p, i)] {
					return false
				}
			}
		}
		return true
	})
}

func newJar(t *testing.T) http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}
