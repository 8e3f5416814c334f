package cli_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bahashaBinary builds cmd/bahasha into a temporary folder of the test.
func bahashaBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH, so the crash test cannot build bahasha")
	}
	bin := filepath.Join(t.TempDir(), "bahasha")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/bahasha")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// child is a bahasha serve running as a separate process.
type child struct {
	*server
	cmd *exec.Cmd
}

func startChild(t *testing.T, bin string, o serveOpts) *child {
	t.Helper()
	args, env := serveArgs(o)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	tr := &http.Transport{Proxy: nil}
	s := &server{t: t, Key: testAPIKey, Data: o.Data, Stdout: newWatchedOutput(), Stderr: newWatchedOutput(),
		cancel: func() {}, done: make(chan int, 1), tr: tr, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{server: s, cmd: cmd}
	go func() {
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		if err != nil && code == 0 {
			code = -1
		}
		s.done <- code
	}()
	t.Cleanup(func() { c.Kill(); tr.CloseIdleConnections() })
	select {
	case addr := <-s.Stdout.addr:
		s.URL = addr
	case code := <-s.done:
		s.done <- code
		t.Fatalf("bahasha serve exited %d before listening\nstdout: %s\nstderr: %s", code, s.Stdout, s.Stderr)
	case <-time.After(waitLimit):
		t.Fatalf("bahasha serve did not listen within %v\nstderr: %s", waitLimit, s.Stderr)
	}
	return c
}

// Kill sends SIGKILL and waits for the process to end.
func (c *child) Kill() {
	c.stopOnce.Do(func() {
		c.cmd.Process.Signal(syscall.SIGKILL)
		c.code = <-c.done
	})
}

// TestCrash kills a child bahasha serve with SIGKILL while acknowledged
// events wait for a failing receiver, restarts it on the same data folder,
// and checks that every acknowledged event arrives.
func TestCrash(t *testing.T) {
	t.Parallel()
	bin := bahashaBinary(t)
	data := t.TempDir()
	opts := serveOpts{Data: data, Args: []string{"--retry-schedule", "1s"}}

	rcv := newReceiver(t, "")
	c := startChild(t, bin, opts)
	rcv.SetSecret(c.Secret(c.Key))
	c.Register(c.Key, rcv)
	rcv.Fail(true)
	phone := c.Phone()

	const total, batch = 200, 25
	acked := map[string]bool{}
	for b := 0; b < total/batch; b++ {
		var events []any
		for i := b * batch; i < (b+1)*batch; i++ {
			events = append(events, statusEvent(fmt.Sprintf("crash-%d", i), phone.ID, fmt.Sprintf("wamid.CRASH-%03d", i), "delivered"))
		}
		r := c.Do("POST", "/v1/events", map[string]any{"events": events})
		if r.Status != 202 || r.Num("accepted") != batch {
			t.Fatalf("batch %d: %s", b, r)
		}
		for i := b * batch; i < (b+1)*batch; i++ {
			acked[fmt.Sprintf("wamid.CRASH-%03d", i)] = true
		}
	}
	rcv.Wait(t, "failing attempts before the crash", func() bool { return len(rcv.posts) > 0 })
	c.Kill()
	if !strings.Contains(c.cmd.ProcessState.String(), "killed") {
		t.Fatalf("bahasha serve was not killed: %v", c.cmd.ProcessState)
	}

	rcv.Fail(false)
	c2 := startChild(t, bin, opts)
	rcv.Wait(t, fmt.Sprintf("all %d acknowledged events after the crash", total), func() bool {
		seen := map[string]bool{}
		for _, st := range rcv.statuses {
			seen[st.Status.ID] = true
		}
		for id := range acked {
			if !seen[id] {
				return false
			}
		}
		return true
	})
	eventually(t, "every delivery recorded delivered", func() (bool, string) {
		ds := c2.Deliveries(c2.Key, "&state=delivered")
		return len(ds) == total, fmt.Sprintf("%d delivered", len(ds))
	})
	// A clean stop of the second child.
	c2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case code := <-c2.done:
		c2.done <- code
		if code != 0 {
			t.Errorf("bahasha serve exited %d after SIGTERM, want 0\nstderr: %s", code, c2.Stderr)
		}
	case <-time.After(waitLimit):
		t.Errorf("bahasha serve did not stop within %v of SIGTERM", waitLimit)
	}
}
