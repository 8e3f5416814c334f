package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// prometheusBinary is Debian's prometheus, or the test is skipped unless
// BAHASHA_REQUIRE_PROMETHEUS=1 (scripts/test sets it, after installing
// the package), which fails it instead.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("BAHASHA_REQUIRE_PROMETHEUS") == "1" {
			t.Fatalf("BAHASHA_REQUIRE_PROMETHEUS=1 but there is no prometheus binary: %v (apt-get install prometheus)", err)
		}
		t.Skip("no prometheus binary; apt-get install prometheus, or run scripts/test")
	}
	return bin
}

// promQuery runs an instant query against Prometheus' HTTP API and
// returns its single value (ok false when the result is empty).
func promQuery(t *testing.T, base, query string) (float64, bool) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if json.NewDecoder(resp.Body).Decode(&r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// The real Prometheus server, configured as docs/operations says, scrapes
// a running serve, loads the alert rules, and a query's value is the
// events sent.
func TestPrometheusScrapes(t *testing.T) {
	bin := prometheusBinary(t)
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--metrics-addr", "127.0.0.1:0"}})
	target := strings.TrimSuffix(strings.TrimPrefix(s.metricsURL(), "http://"), "/metrics")

	dir := t.TempDir()
	rules, err := os.ReadFile("../../docs/operations/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	// docs/operations/prometheus.yml with this serve's address and a
	// faster scrape.
	conf, err := os.ReadFile("../../docs/operations/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	c := strings.Replace(string(conf), `"127.0.0.1:9464"`, strconv.Quote(target), 1)
	c = strings.ReplaceAll(c, "15s", "1s")
	if c == string(conf) || !strings.Contains(c, target) {
		t.Fatalf("docs/operations/prometheus.yml no longer has the target to replace:\n%s", conf)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(c), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	out := newWatchedOutput()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	base := "http://" + addr

	phone := s.Phone()
	var events []any
	for i := range 7 {
		events = append(events, statusEvent(fmt.Sprintf("prom-%d", i), phone.ID, fmt.Sprintf("wamid.PROM%d", i), "sent"))
	}
	if r := s.Do("POST", "/v1/events", map[string]any{"events": events}); r.Status != 202 {
		t.Fatalf("POST /v1/events: %s", r)
	}
	rcv.Wait(t, "the 7 statuses", func() bool { return len(rcv.statuses) == 7 })

	// Prometheus takes a few seconds to start and scrape: poll its answers.
	eventually(t, "Prometheus to see the events", func() (bool, string) {
		up, _ := promQuery(t, base, `up{job="bahasha"}`)
		ingested, _ := promQuery(t, base, `sum(bahasha_events_ingested_total{job="bahasha",source="api"})`)
		delivered, _ := promQuery(t, base, `sum(bahasha_deliveries_finished_total{job="bahasha",outcome="delivered"})`)
		return up == 1 && ingested == 7 && delivered == 7,
			fmt.Sprintf("up %v, ingested %v, delivered %v; Prometheus said:\n%s", up, ingested, delivered, out)
	})
	// The rules loaded, and none fires on a healthy serve.
	resp, err := http.Get(base + "/api/v1/rules?type=alert")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rr struct {
		Data struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Name  string
					State string
				}
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil || len(rr.Data.Groups) != 1 || len(rr.Data.Groups[0].Rules) != 8 {
		t.Fatalf("the alert rules Prometheus loaded: %+v, %v", rr, err)
	}
	for _, r := range rr.Data.Groups[0].Rules {
		if r.State == "firing" {
			t.Errorf("alert %s fires on a healthy serve", r.Name)
		}
	}
}
