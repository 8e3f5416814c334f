// Package leakcheck fails a test binary that leaves goroutines running.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
//
// After the tests pass it waits (up to a few seconds, polling, never a fixed
// sleep) for every goroutine that the tests started to end, and fails the
// binary with their stacks if some do not.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Main runs the tests, then the cleanups (e.g. stopping a server the tests
// shared), then checks for leaked goroutines.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, c := range cleanups {
		c()
	}
	if code == 0 {
		if leaks := Wait(5 * time.Second); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) still running after the tests:\n\n%s\n", len(leaks), strings.Join(leaks, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Wait polls until no unexpected goroutine is left or the timeout passes,
// and returns the stacks of those still running.
func Wait(timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	backoff := time.Millisecond
	for {
		leaks := Running()
		if len(leaks) == 0 || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(backoff)
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

// Running returns the stacks of the goroutines other than the calling one
// and the runtime's and testing's own.
func Running() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var leaks []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || ignored(g) { // the first is the calling goroutine
			continue
		}
		leaks = append(leaks, g)
	}
	sort.Strings(leaks)
	return leaks
}

// ignored reports whether a goroutine belongs to the runtime or the testing
// package rather than to the code under test.
func ignored(stack string) bool {
	lines := strings.SplitN(stack, "\n", 3)
	if len(lines) < 2 {
		return true
	}
	top := lines[1] // the function the goroutine is in
	for _, prefix := range []string{
		"testing.", "runtime.goexit", "os/signal.", "runtime.ensureSigM",
		"runtime/trace.", "internal/runtime/", "runtime.gopark",
	} {
		if strings.HasPrefix(top, prefix) && !strings.Contains(stack, "bahasha") {
			return true
		}
	}
	return strings.Contains(stack, "testing.(*M).") || strings.Contains(stack, "testing.runTests") ||
		strings.Contains(stack, "testing.(*T).Run") || strings.Contains(stack, "testing.runFuzz")
}
