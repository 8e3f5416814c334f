// Package browsertest gives Go tests a real headless Chromium, driven with
// chromedp, so that a test can load a page of ours, click, type and read it
// back the way a user's browser would: with its scripts, its Content Security
// Policy and its layout.
//
// A test starts a browser, runs actions with a bounded wait, and checks what
// the page showed:
//
//	func TestSettingsPage(t *testing.T) {
//		srv := httptest.NewServer(handler)
//		defer srv.Close()
//
//		ctx := browsertest.New(t) // skips when no Chromium is installed
//		console := browsertest.WatchConsole(t, ctx)
//		browsertest.Run(t, ctx,
//			chromedp.Navigate(srv.URL+"/settings"),
//			chromedp.Click(chromedp.CSS("#save")),
//			chromedp.WaitVisible(chromedp.CSS("#saved")),
//		)
//		if got := browsertest.Get(t, ctx, chromedp.Text(chromedp.CSS("#status"))); got != "Saved" {
//			t.Errorf("status = %q", got)
//		}
//		browsertest.Screenshot(t, ctx, "settings")
//		console.NoErrors(t) // no script error, no CSP violation
//	}
//
// Each test gets its own browser process with a fresh profile in
// t.TempDir(); t.Cleanup closes it, and the test fails if a Chromium process
// of that profile is still running afterwards. Every action of [Run] and
// [Get] is bounded by [Timeout], and the start of the browser by the same
// limit, so a broken page fails the test instead of hanging it.
//
// Finding Chromium: the environment variable BAHASHA_CHROMIUM names the
// binary; otherwise New looks for chromium, chromium-browser and
// google-chrome on PATH, then /usr/bin/chromium. When none is found the test
// is skipped, unless BAHASHA_REQUIRE_CHROMIUM=1 (scripts/test sets it), in
// which case it fails.
//
// Screenshots go to t.TempDir(); with BAHASHA_UPDATE_SCREENSHOTS=1 they are
// written to docs/screenshots/<name>.png at the repository root instead.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Timeout bounds every wait of the package: the start of the browser, each
// call of Run and Get, a screenshot, and the close of the browser.
const Timeout = 30 * time.Second

// Size of the browser window and of the page's viewport, in CSS pixels; a
// full-page screenshot is Width wide and at least Height tall.
const (
	Width  = 1280
	Height = 900
)

// Environment variables that the package reads.
const (
	EnvChromium          = "BAHASHA_CHROMIUM"
	EnvRequireChromium   = "BAHASHA_REQUIRE_CHROMIUM"
	EnvUpdateScreenshots = "BAHASHA_UPDATE_SCREENSHOTS"
)

// New starts a headless Chromium for the test and returns the context of its
// first tab, ready for chromedp actions (prefer [Run] and [Get], which bound
// each call by [Timeout]). The browser runs with exactly these switches
// (chromedp adds hide-scrollbars and mute-audio to headless, and
// enable-unsafe-swiftshader to disable-gpu): --headless --no-sandbox
// --disable-gpu --disable-background-networking --no-first-run, a fresh
// profile in t.TempDir(), and a 1280x900 window whose viewport is set to
// 1280x900 too (a headless window keeps room for browser chrome otherwise).
//
// The browser is closed by t.Cleanup: gracefully first, then by force; the
// cleanup fails the test if a process of the browser outlives it. New skips
// the test when no Chromium is installed, or fails it when
// BAHASHA_REQUIRE_CHROMIUM=1.
func New(t testing.TB) context.Context {
	t.Helper()
	bin := findChromium(t)
	profile := t.TempDir()

	output := &lockedBuffer{}
	logs := &testLog{t: t}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(Width, Height),
		chromedp.CombinedOutput(output),
	)
	ctx, cancelCtx := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(logs.logf),
		chromedp.WithErrorf(logs.logf),
	)

	t.Cleanup(func() {
		// Close gracefully, bounded; then cancel everything, which kills
		// what is left and waits for chromedp's goroutines to end.
		cctx, cancel := context.WithTimeout(ctx, Timeout)
		err := chromedp.Cancel(cctx)
		cancel()
		cancelCtx()
		cancelAlloc()
		logs.stop()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, chromedp.ErrInvalidContext) {
			t.Errorf("browsertest: closing Chromium: %v", err)
		}
		if left := killProfileProcesses(profile); left > 0 {
			t.Errorf("browsertest: %d Chromium process(es) of profile %s outlived the browser; killed them", left, profile)
		}
		if t.Failed() {
			if out := output.tail(4 << 10); out != "" {
				t.Logf("browsertest: Chromium output (last 4 KiB):\n%s", out)
			}
		}
	})

	// The first action starts the browser and binds its life to ctx, so it
	// must not run under a context with a deadline; bound it with a timer
	// that cancels the browser instead.
	timer := time.AfterFunc(Timeout, cancelCtx)
	err := chromedp.Do(ctx, chromedp.EmulateViewport(Width, Height))
	if !timer.Stop() { // the timer fired
		t.Fatalf("browsertest: starting %s took longer than %v\n%s", bin, Timeout, output.tail(4<<10))
	}
	if err != nil {
		t.Fatalf("browsertest: starting %s: %v\n%s", bin, err, output.tail(4<<10))
	}
	return ctx
}

// Run runs the actions in order on the tab of ctx, and fails the test with
// the error of the first that fails. The whole call is bounded by [Timeout].
func Run(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
}

// Get runs one action that returns a value, such as chromedp.Text or
// chromedp.Evaluate, and returns the value; it fails the test on error. The
// call is bounded by [Timeout].
func Get[T any](t testing.TB, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(tctx, action)
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return v
}

// Screenshot takes a PNG screenshot of the whole page (beyond the window),
// writes it and returns its path. With BAHASHA_UPDATE_SCREENSHOTS=1 the path
// is docs/screenshots/<name>.png at the repository root (the folder that
// holds go.mod); otherwise it is <name>.png in t.TempDir(), so the capture is
// exercised on every run without touching the working tree.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		t.Fatalf("browsertest: screenshot name %q must be a plain file name", name)
	}
	png := Get(t, ctx, chromedp.FullScreenshot(100)) // quality 100 means PNG
	dir := t.TempDir()
	if os.Getenv(EnvUpdateScreenshots) == "1" {
		dir = filepath.Join(RepoRoot(t), "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("browsertest: %v", err)
		}
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: writing screenshot: %v", err)
	}
	return path
}

// RepoRoot returns the repository root: the nearest folder, from the working
// directory (a test's package folder) upwards, that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("browsertest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Console collects the errors that a tab reports: console.error and
// console.assert calls, uncaught exceptions and unhandled rejections, and
// browser log entries at level error, which include Content Security Policy
// violations and failed loads. Make one with [WatchConsole].
type Console struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// WatchConsole starts collecting the errors of the tab of ctx (from [New]).
// Errors reported before the call are not seen, so call it before Navigate.
// Collection stops when the browser closes.
func WatchConsole(t testing.TB, ctx context.Context) *Console {
	t.Helper()
	c := &Console{ctx: ctx}
	// Listen calls the func on the goroutine that reads the tab's messages,
	// in order, so an event the browser sent before the answer to a command
	// is recorded before that command returns (see Errors).
	if err := chromedp.Listen(ctx, c.record); err != nil {
		t.Fatalf("browsertest: watching the console: %v", err)
	}
	return c
}

func (c *Console) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			parts = append(parts, remoteText(a))
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
		if st := ev.StackTrace; st != nil && len(st.CallFrames) > 0 {
			f := st.CallFrames[0]
			msg += fmt.Sprintf(" (%s:%d)", f.URL, f.LineNumber+1)
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		msg = "exception: " + d.Text
		if d.Exception != nil {
			desc, _, _ := strings.Cut(remoteText(d.Exception), "\n")
			msg += " " + desc
		}
		if d.URL != "" {
			msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		if e == nil || e.Level != log.EntryLevelError {
			return
		}
		msg = string(e.Source) + ": " + e.Text
		if e.URL != "" {
			msg += " (" + e.URL + ")"
		}
	default:
		return
	}
	c.mu.Lock()
	c.errors = append(c.errors, msg)
	c.mu.Unlock()
}

// remoteText renders a console argument or an exception object.
func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if len(o.Value) > 0 {
		if s, err := strconv.Unquote(string(o.Value)); err == nil {
			return s
		}
		return string(o.Value)
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Type)
}

// Errors returns the errors collected so far. It first makes a round trip to
// the tab (bounded by [Timeout]), so that every event the browser sent
// before is included.
func (c *Console) Errors(t testing.TB) []string {
	t.Helper()
	Get(t, c.ctx, chromedp.Evaluate[bool]("true"))
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errors...)
}

// NoErrors fails the test, listing them, if the tab reported any error.
func (c *Console) NoErrors(t testing.TB) {
	t.Helper()
	if errs := c.Errors(t); len(errs) > 0 {
		t.Errorf("browsertest: the page reported %d error(s):\n\t%s", len(errs), strings.Join(errs, "\n\t"))
	}
}

// findChromium returns the Chromium binary to run, or skips (or fails) the
// test when there is none.
func findChromium(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(EnvChromium); bin != "" {
		path, err := exec.LookPath(bin)
		if err != nil {
			t.Fatalf("browsertest: %s=%s: %v", EnvChromium, bin, err)
		}
		return path
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := "browsertest: no Chromium found; install Chromium (apt-get install -y chromium) or set " + EnvChromium + "=/path/to/chromium"
	if os.Getenv(EnvRequireChromium) == "1" {
		t.Fatal(msg + " (" + EnvRequireChromium + "=1, so this is a failure)")
	}
	t.Skip(msg)
	return ""
}

// killProfileProcesses kills the processes of the profile (see
// profileProcesses), waits (bounded) until they are gone, and returns how
// many it found.
func killProfileProcesses(profile string) int {
	pids := profileProcesses(profile)
	for _, pid := range pids {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
	// Wait, polling with a growing pause, until the killed are gone.
	deadline := time.Now().Add(5 * time.Second)
	for pause := time.Millisecond; len(pids) > 0 && len(profileProcesses(profile)) > 0 && time.Now().Before(deadline); pause *= 2 {
		time.Sleep(min(pause, 100*time.Millisecond))
	}
	return len(pids)
}

// profileProcesses returns the processes whose command line names profile
// as their user data folder. Chromium passes --user-data-dir to all its
// helpers, so this finds a zygote or renderer that outlived the browser. It
// reads /proc, so it finds nothing on systems without one.
func profileProcesses(profile string) []int {
	want := []byte("--user-data-dir=" + profile)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
			if bytes.Equal(arg, want) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// testLog forwards chromedp's log lines to t.Logf until the browser is
// closed, and drops the later ones (t.Logf panics after the test ends).
type testLog struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (l *testLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("chromedp: "+format, args...)
	}
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// lockedBuffer keeps Chromium's output, written from chromedp's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n bytes written.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.buf.Bytes()
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return string(out)
}
