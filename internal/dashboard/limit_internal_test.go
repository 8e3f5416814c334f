package dashboard

import (
	"strconv"
	"testing"
	"time"
)

// The limiter remembers a bounded number of addresses, forgetting the
// least recently failing first, and forgets failures older than its window.
func TestFailureLimitIsBounded(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := newFailureLimit(2, time.Minute)
	l.limit = 3
	for i := range 5 {
		l.failed("10.0.0."+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second))
	}
	if len(l.fails) != 3 {
		t.Fatalf("remembers %d addresses, want 3", len(l.fails))
	}
	if _, ok := l.fails["10.0.0.0"]; ok {
		t.Fatal("the oldest address was kept")
	}
	l.failed("10.0.0.4", t0.Add(5*time.Second))
	if until, blocked := l.blocked("10.0.0.4", t0.Add(6*time.Second)); !blocked || !until.Equal(t0.Add(4*time.Second+time.Minute)) {
		t.Fatalf("blocked = %v until %v", blocked, until)
	}
	if _, blocked := l.blocked("10.0.0.4", t0.Add(65*time.Second)); blocked {
		t.Fatal("still blocked after the window")
	}
	if _, blocked := l.blocked("10.0.0.3", t0.Add(10*time.Minute)); blocked || len(l.fails) > 2 {
		t.Fatalf("old failures kept: %v", l.fails)
	}
}
