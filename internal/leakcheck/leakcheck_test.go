package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestDetectsAndForgivesAGoroutine(t *testing.T) {
	stop := make(chan struct{})
	go func() { <-stop }()
	leaks := Running()
	found := false
	for _, l := range leaks {
		if strings.Contains(l, "TestDetectsAndForgivesAGoroutine") {
			found = true
		}
	}
	if !found {
		t.Fatalf("a running goroutine was not reported; got %q", leaks)
	}
	close(stop)
	if leaks := Wait(5 * time.Second); len(leaks) != 0 {
		t.Fatalf("still reported after it ended: %q", leaks)
	}
}

func TestMain(m *testing.M) { Main(m) }
