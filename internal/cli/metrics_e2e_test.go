package cli_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads a serve's /metrics with Prometheus' own parser.
type scrape map[string]*dto.MetricFamily

var metricsLine = regexp.MustCompile(`Metrics on (http://\S+/metrics)`)

// metricsURL is the /metrics URL serve printed.
func (s *server) metricsURL() string {
	s.t.Helper()
	var url string
	eventually(s.t, "the metrics line", func() (bool, string) {
		m := metricsLine.FindStringSubmatch(s.Stdout.String())
		if m != nil {
			url = m[1]
		}
		return m != nil, s.Stdout.String()
	})
	return url
}

func scrapeMetrics(t testing.TB, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// value is the sample of family name whose labels include labels (name,
// value pairs), summed over the others; a histogram's count.
func (sc scrape) value(name string, labels ...string) float64 {
	f := sc[name]
	if f == nil {
		return 0
	}
	total := 0.0
	for _, m := range f.Metric {
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			match = match && found
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// labelValues lists the values label takes in family name.
func (sc scrape) labelValues(name, label string) []string {
	seen := map[string]bool{}
	if f := sc[name]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					seen[l.GetValue()] = true
				}
			}
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// The metrics of a real serve move by exactly the work done: events
// ingested by kind and source, deliveries finished, attempts by result,
// HTTP requests by route; the store-wide gauges read the database; the
// labels carry no account, endpoint, URL or number.
func TestMetrics(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--metrics-addr", "127.0.0.1:0", "--max-batch", "1"}})
	url := s.metricsURL()
	phone := s.Phone()
	before := scrapeMetrics(t, url)
	for _, f := range []string{"go_goroutines", "process_cpu_seconds_total", "bahasha_build_info", "bahasha_store_up", "bahasha_endpoints"} {
		if before[f] == nil {
			t.Errorf("no %s in the metrics", f)
		}
	}
	if v := before.value("bahasha_endpoints", "health", "healthy"); v != 1 {
		t.Errorf("healthy endpoints = %v, want 1", v)
	}

	// 3 statuses and 2 messages from the producer, sent again (duplicates
	// are not counted); the receiver fails the first message's first POST.
	var events []any
	for i, st := range []string{"sent", "delivered", "read"} {
		events = append(events, statusEvent(fmt.Sprintf("m-%d", i), phone.ID, "wamid.METRICS", st))
	}
	events = append(events, messageEvent("m-3", phone.ID, "wamid.IN-M1", "254712345678", "one"),
		messageEvent("m-4", phone.ID, "wamid.IN-M2", "254712345678", "two"))
	failed := false
	rcv.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		if !failed && bytes.Contains(b, []byte("wamid.IN-M1")) {
			failed = true
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	for range 2 {
		if r := s.Do("POST", "/v1/events", map[string]any{"events": events}); r.Status != 202 {
			t.Fatalf("POST /v1/events: %s", r)
		}
	}
	rcv.Wait(t, "the 5 events", func() bool { return len(rcv.statuses) == 3 && len(rcv.messages) == 2 })
	// A sandbox message: its statuses come from the sandbox carrier.
	w := s.Send(s.Key, phone.ID, "254712345679")
	rcv.Wait(t, "the sandbox statuses", func() bool { return len(rcv.statusesOfLocked(w)) == 3 })

	var after scrape
	eventually(t, "the deliveries counted", func() (bool, string) {
		after = scrapeMetrics(t, url)
		d := after.value("bahasha_deliveries_finished_total", "outcome", "delivered") - before.value("bahasha_deliveries_finished_total", "outcome", "delivered")
		return d == 8, fmt.Sprintf("%v delivered", d)
	})
	delta := func(name string, labels ...string) float64 {
		return after.value(name, labels...) - before.value(name, labels...)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bahasha_events_ingested_total", []string{"kind", "status", "source", "api"}, 3},
		{"bahasha_events_ingested_total", []string{"kind", "message", "source", "api"}, 2},
		{"bahasha_events_ingested_total", []string{"kind", "status", "source", "sandbox"}, 3},
		{"bahasha_deliveries_finished_total", []string{"outcome", "failed"}, 0},
		{"bahasha_delivery_attempts_total", []string{"result", "2xx"}, 8},
		{"bahasha_delivery_attempts_total", []string{"result", "5xx"}, 1},
		{"bahasha_delivery_attempt_duration_seconds", nil, 9},
		{"bahasha_delivery_latency_seconds", nil, 8},
		{"bahasha_http_requests_total", []string{"route", "POST /v1/events", "code", "2xx"}, 2},
		{"bahasha_http_requests_total", []string{"route", "POST /v1/{phone_number_id}/messages", "code", "2xx"}, 1},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if after.value("bahasha_lanes_claimed_total") < 1 || after.value("bahasha_store_operation_duration_seconds", "op", "claim_lanes") < 1 {
		t.Errorf("no lanes claimed or no claim timed")
	}
	eventually(t, "an empty backlog and no lag", func() (bool, string) {
		sc := scrapeMetrics(t, url)
		return sc.value("bahasha_backlog_deliveries") == 0 && sc.value("bahasha_oldest_due_delivery_age_seconds") == 0 && sc.value("bahasha_store_up") == 1,
			fmt.Sprintf("backlog %v, lag %v", sc.value("bahasha_backlog_deliveries"), sc.value("bahasha_oldest_due_delivery_age_seconds"))
	})
	// A bad request is counted under its route and class.
	if r := s.Do("POST", "/v1/events", map[string]any{"events": "nope"}); r.Status/100 != 4 {
		t.Fatalf("a bad batch: %s", r)
	}
	if got := scrapeMetrics(t, url).value("bahasha_http_requests_total", "route", "POST /v1/events", "code", "4xx"); got != 1 {
		t.Errorf("4xx on POST /v1/events = %v, want 1", got)
	}
	// Bounded labels only: nothing of the account's in any label value.
	text := func() string {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}()
	for _, secret := range []string{phone.ID, rcv.URL, s.Key, "254712345678", "wamid.", "wh_"} {
		if strings.Contains(text, secret) {
			t.Errorf("the metrics hold %q", secret)
		}
	}
	t.Logf("routes seen: %v", after.labelValues("bahasha_http_requests_total", "route"))
}
