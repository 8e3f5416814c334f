package delivery

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/retry"
)

// TestProbeAt: an open breaker's probes follow the retry schedule, one step
// per probe since it opened, within a retry window counted from when the
// failures began; once that window is over, every MaxDelay.
func TestProbeAt(t *testing.T) {
	policy := retry.DefaultPolicy()
	policy.Steps, policy.MinDelay, policy.MaxDelay, policy.Window = []time.Duration{time.Minute, 10 * time.Minute}, time.Second, time.Hour, 24*time.Hour
	e := New(Config{Retry: policy, BreakerThreshold: 5}, nil, nil, time.Now, rand.New(rand.NewPCG(1, 2)), nil)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name           string
		failures       int
		failingSince   time.Time
		earliest, last time.Duration // after now
	}{
		{"the first probe: the first step", 5, now.Add(-time.Minute), 48 * time.Second, time.Minute},
		{"the second probe: the second step", 6, now.Add(-2 * time.Minute), 8 * time.Minute, 10 * time.Minute},
		{"failing for all but 30s of the window: at its end", 6, now.Add(-24*time.Hour + 30*time.Second), 30 * time.Second, 30 * time.Second},
		{"failing for longer than the window: every MaxDelay", 9, now.Add(-25 * time.Hour), time.Hour, time.Hour},
		{"no start recorded: from now", 5, time.Time{}, 48 * time.Second, time.Minute},
	} {
		got := e.probeAt(&e.cfg.Retry, c.failures, c.failingSince, now).Sub(now)
		if got < c.earliest || got > c.last {
			t.Errorf("%s: probe in %v, want between %v and %v", c.name, got, c.earliest, c.last)
		}
	}
}
