package retry_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/retry"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestDefaultPolicyValid(t *testing.T) {
	if err := retry.DefaultPolicy().Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*retry.Policy)
	}{
		{"no steps", func(p *retry.Policy) { p.Steps = nil }},
		{"zero step", func(p *retry.Policy) { p.Steps = []time.Duration{0} }},
		{"negative step", func(p *retry.Policy) { p.Steps = []time.Duration{-time.Second} }},
		{"decreasing steps", func(p *retry.Policy) { p.Steps = []time.Duration{time.Minute, time.Second} }},
		{"zero max delay", func(p *retry.Policy) { p.MaxDelay = 0 }},
		{"zero min delay", func(p *retry.Policy) { p.MinDelay = 0 }},
		{"min delay above first step", func(p *retry.Policy) { p.MinDelay = time.Minute }},
		{"min delay above max delay", func(p *retry.Policy) {
			p.Steps = []time.Duration{time.Hour}
			p.MinDelay = time.Minute
			p.MaxDelay = time.Second
		}},
		{"zero window", func(p *retry.Policy) { p.Window = 0 }},
		{"negative jitter", func(p *retry.Policy) { p.Jitter = -0.1 }},
		{"jitter above one", func(p *retry.Policy) { p.Jitter = 1.1 }},
		{"NaN jitter", func(p *retry.Policy) { p.Jitter = math.NaN() }},
		{"negative max retry-after", func(p *retry.Policy) { p.MaxRetryAfter = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := retry.DefaultPolicy()
			tt.modify(&p)
			err := p.Validate()
			if !errors.Is(err, retry.ErrInvalidPolicy) {
				t.Fatalf("Validate() = %v, want ErrInvalidPolicy", err)
			}
			if _, ok := p.Next(1, t0, t0, nil); ok {
				t.Errorf("Next on an invalid policy returned ok=true")
			}
			if s := retry.Schedule(p); s != nil {
				t.Errorf("Schedule on an invalid policy = %v, want nil", s)
			}
		})
	}
}

func TestSchedulePublished(t *testing.T) {
	const h = time.Hour
	want := []time.Duration{
		5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
		1 * h, 2 * h, 4 * h, 8 * h,
	}
	for range 19 {
		want = append(want, 8*h)
	}
	// 5s+30s+2m+10m+30m+1h+2h+4h+8h = 15h42m35s; 19×8h more leaves 17m25s
	// of the 7 days, and the last retry is clamped to land on the window's end.
	want = append(want, 17*time.Minute+25*time.Second)

	got := retry.Schedule(retry.DefaultPolicy())
	if !slices.Equal(got, want) {
		t.Fatalf("Schedule(DefaultPolicy()) =\n%v\nwant\n%v", got, want)
	}
	var total time.Duration
	for _, d := range got {
		total += d
	}
	if total != 7*24*h {
		t.Errorf("schedule totals %v, want exactly 7 days", total)
	}
}

func TestScheduleMatchesNext(t *testing.T) {
	for _, p := range testPolicies() {
		now := t0
		for i, d := range retry.Schedule(p) {
			next, ok := p.Next(i+1, t0, now, nil)
			if !ok || next.Sub(now) != d {
				t.Fatalf("attempt %d: Next = %v, %v; Schedule says %v", i+1, next.Sub(now), ok, d)
			}
			now = next
		}
		if next, ok := p.Next(len(retry.Schedule(p))+1, t0, now, nil); ok {
			t.Fatalf("Next after the schedule ran out = %v, want ok=false", next)
		}
	}
}

func TestScheduleBounded(t *testing.T) {
	p := retry.Policy{
		Steps: []time.Duration{time.Nanosecond}, MinDelay: time.Nanosecond,
		MaxDelay: time.Nanosecond, Window: time.Hour,
	}
	if n := len(retry.Schedule(p)); n != 10_000 {
		t.Fatalf("len(Schedule) = %d, want the 10000 cap", n)
	}
}

func TestNext(t *testing.T) {
	p := retry.DefaultPolicy()
	deadline := t0.Add(7 * 24 * time.Hour)
	tests := []struct {
		name    string
		policy  retry.Policy
		attempt int
		now     time.Time
		want    time.Time // zero when ok is false
	}{
		{"first failure", p, 1, t0, t0.Add(5 * time.Second)},
		{"attempt zero treated as one", p, 0, t0, t0.Add(5 * time.Second)},
		{"negative attempt treated as one", p, -7, t0, t0.Add(5 * time.Second)},
		{"second failure counts from now", p, 2, t0.Add(time.Minute), t0.Add(90 * time.Second)},
		{"ninth step", p, 9, t0.Add(time.Hour), t0.Add(9 * time.Hour)},
		{"table exhausted repeats last step", p, 50, t0.Add(24 * time.Hour), t0.Add(32 * time.Hour)},
		{"huge attempt", p, math.MaxInt, t0, t0.Add(8 * time.Hour)},
		{"clamped to window end", p, 20, deadline.Add(-3 * time.Hour), deadline},
		{"exactly min delay left", p, 20, deadline.Add(-time.Second), deadline},
		{"less than min delay left", p, 20, deadline.Add(-time.Second + 1), time.Time{}},
		{"at window end", p, 20, deadline, time.Time{}},
		{"past window end", p, 20, deadline.Add(time.Hour), time.Time{}},
		{"max delay caps steps", func() retry.Policy {
			q := retry.DefaultPolicy()
			q.MaxDelay = time.Minute
			return q
		}(), 5, t0, t0.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.policy.Next(tt.attempt, t0, tt.now, nil)
			if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Fatalf("Next(%d, t0, %v) = %v, %v; want %v", tt.attempt, tt.now.Sub(t0), got, ok, tt.want)
			}
		})
	}
}

func TestJitterBounds(t *testing.T) {
	tests := []struct {
		name    string
		jitter  float64
		attempt int
		lo, hi  time.Duration
	}{
		{"none", 0, 3, 2 * time.Minute, 2 * time.Minute},
		{"default 20%", 0.2, 3, 96 * time.Second, 2 * time.Minute},
		{"equal", 0.5, 9, 4 * time.Hour, 8 * time.Hour},
		{"full never below floor", 1, 1, time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := retry.DefaultPolicy()
			p.Jitter = tt.jitter
			rnd := rand.New(rand.NewPCG(1, 2))
			var seenLow, seenHigh bool
			for range 10_000 {
				next, ok := p.Next(tt.attempt, t0, t0, rnd)
				d := next.Sub(t0)
				if !ok || d < tt.lo || d > tt.hi {
					t.Fatalf("delay %v (ok=%v) outside [%v, %v]", d, ok, tt.lo, tt.hi)
				}
				seenLow = seenLow || d < tt.lo+(tt.hi-tt.lo)/10
				seenHigh = seenHigh || d > tt.hi-(tt.hi-tt.lo)/10
			}
			if tt.lo != tt.hi && !(seenLow && seenHigh) {
				t.Errorf("jitter did not spread across [%v, %v]", tt.lo, tt.hi)
			}
		})
	}
}

// TestNextProperties simulates whole deliveries over many seeds and policies:
// each retry is within its jitter bounds, not before the floor, not beyond
// the cap, inside the window, and the delivery only fails once the window is
// really exhausted.
func TestNextProperties(t *testing.T) {
	for pi, p := range testPolicies() {
		// Nominal delays never decrease.
		var prev time.Duration
		for attempt := 1; attempt <= 100; attempt++ {
			next, ok := p.Next(attempt, t0, t0, nil)
			d := next.Sub(t0)
			if !ok || d < prev || d > p.MaxDelay {
				t.Fatalf("policy %d attempt %d: nominal %v (ok=%v) after %v", pi, attempt, d, ok, prev)
			}
			prev = d
		}

		deadline := p.Deadline(t0)
		for seed := range uint64(300) {
			rnd := rand.New(rand.NewPCG(seed, uint64(pi)))
			now := t0
			attempt := 1
			for ; ; attempt++ {
				nominal, _ := p.Next(attempt, t0, t0, nil)
				nominalDelay := nominal.Sub(t0)
				next, ok := p.Next(attempt, t0, now, rnd)
				if !ok {
					if left := deadline.Sub(now); left >= p.MinDelay {
						t.Fatalf("policy %d seed %d: gave up with %v of the window left", pi, seed, left)
					}
					break
				}
				d := next.Sub(now)
				if next.After(deadline) {
					t.Fatalf("policy %d seed %d attempt %d: next %v is past the deadline", pi, seed, attempt, next)
				}
				if d < p.MinDelay || d > nominalDelay || d > p.MaxDelay {
					t.Fatalf("policy %d seed %d attempt %d: delay %v outside [%v, %v]",
						pi, seed, attempt, d, p.MinDelay, nominalDelay)
				}
				lo := time.Duration((1 - p.Jitter) * float64(nominalDelay))
				if d < lo-1 && !next.Equal(deadline) {
					t.Fatalf("policy %d seed %d attempt %d: delay %v below jitter bound %v", pi, seed, attempt, d, lo)
				}
				// The attempt itself takes up to 30s before it fails.
				now = next.Add(time.Duration(rnd.Int64N(int64(30 * time.Second))))
				if attempt > 1_000_000 {
					t.Fatalf("policy %d seed %d: runaway schedule", pi, seed)
				}
			}
		}
	}
}

func TestWithRetryAfter(t *testing.T) {
	p := retry.DefaultPolicy()
	deadline := p.Deadline(t0)
	nominal := t0.Add(5 * time.Second)
	tests := []struct {
		name       string
		policy     retry.Policy
		next, now  time.Time
		retryAfter time.Duration
		want       time.Time
	}{
		{"postpones", p, nominal, t0, 2 * time.Minute, t0.Add(2 * time.Minute)},
		{"never hastens", p, t0.Add(time.Hour), t0, time.Minute, t0.Add(time.Hour)},
		{"capped at MaxRetryAfter", p, nominal, t0, 24 * time.Hour, t0.Add(time.Hour)},
		{"zero ignored", p, nominal, t0, 0, nominal},
		{"negative ignored", p, nominal, t0, -time.Hour, nominal},
		{"clamped to window end", p, deadline.Add(-time.Minute), deadline.Add(-2 * time.Minute), time.Hour, deadline},
		{"disabled", func() retry.Policy {
			q := retry.DefaultPolicy()
			q.MaxRetryAfter = 0
			return q
		}(), nominal, t0, time.Minute, nominal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.WithRetryAfter(tt.next, t0, tt.now, tt.retryAfter)
			if !got.Equal(tt.want) {
				t.Fatalf("WithRetryAfter = %v, want %v", got.Sub(t0), tt.want.Sub(t0))
			}
		})
	}
}

func testPolicies() []retry.Policy {
	full := retry.DefaultPolicy()
	full.Jitter = 1
	equal := retry.DefaultPolicy()
	equal.Jitter = 0.5
	none := retry.DefaultPolicy()
	none.Jitter = 0
	short := retry.Policy{
		Steps:    []time.Duration{time.Second, 3 * time.Second, 3 * time.Second, 10 * time.Second},
		MinDelay: 500 * time.Millisecond, MaxDelay: 7 * time.Second, Window: 5 * time.Minute, Jitter: 0.3,
	}
	return []retry.Policy{retry.DefaultPolicy(), full, equal, none, short}
}
