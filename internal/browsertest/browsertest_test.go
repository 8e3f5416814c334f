package browsertest

import (
	"bytes"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// strictCSP is what our own pages send: scripts only from files of the same
// origin, nothing else.
const strictCSP = "default-src 'none'; script-src 'self'"

// newSite serves a tiny page whose button changes a text through a script
// file, under a strict CSP. extra is put at the end of the page's body.
func newSite(t *testing.T, extra string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html>
<html><head><meta charset="utf-8"><title>browsertest</title>
<script src="/app.js" defer></script></head>
<body><button id="go">Go</button> <span id="msg">waiting</span>` + extra + `</body></html>`))
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(`document.getElementById("go").addEventListener("click", () => {
	document.getElementById("msg").textContent = "clicked";
});
`))
	})
	mux.HandleFunc("GET /boom.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(`console.error("boom from console"); throw new Error("boom thrown");`))
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", strictCSP)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSmoke(t *testing.T) {
	srv := newSite(t, "")
	var pid int
	var profile string
	t.Run("browser", func(t *testing.T) {
		ctx := New(t)
		pid = chromedp.FromContext(ctx).Browser.Process().Pid
		profile = userDataDir(t, pid)
		console := WatchConsole(t, ctx)

		Run(t, ctx,
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS("#go")),
			chromedp.Click(chromedp.CSS("#go")),
		)
		// Wait (bounded by Timeout) for the script to change the text.
		Get(t, ctx, chromedp.Poll[bool](`document.getElementById("msg").textContent === "clicked"`))
		if got := Get(t, ctx, chromedp.Text(chromedp.CSS("#msg"))); got != "clicked" {
			t.Errorf("text after the click = %q, want %q", got, "clicked")
		}

		path := Screenshot(t, ctx, "browsertest-smoke")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("%s is not a PNG (starts with %q)", path, data[:min(8, len(data))])
		}
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("decoding %s: %v", path, err)
		}
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != Width || h < Height {
			t.Errorf("screenshot is %dx%d, want %d wide and at least %d tall", w, h, Width, Height)
		}
		console.NoErrors(t)
	})
	if t.Failed() || pid == 0 {
		return
	}

	// The subtest's cleanup closed the browser: nothing of it may be left.
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil && !isZombie(pid) {
		t.Errorf("Chromium (pid %d) still runs after the cleanup", pid)
	}
	if profile != "" {
		if left := profileProcesses(profile); len(left) > 0 {
			t.Errorf("processes of profile %s still run after the cleanup: %v", profile, left)
		}
	}
}

// TestConsoleErrors checks that the collector is not blind: a CSP violation
// (an inline script under script-src 'self'), console.error and an uncaught
// exception are all reported.
func TestConsoleErrors(t *testing.T) {
	srv := newSite(t, `<script>document.title = "inline ran";</script><script src="/boom.js"></script>`)
	ctx := New(t)
	console := WatchConsole(t, ctx)
	Run(t, ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#go")),
	)
	if title := Get(t, ctx, chromedp.Title()); title == "inline ran" {
		t.Fatal("the inline script ran despite the CSP")
	}
	errs := strings.Join(console.Errors(t), "\n")
	t.Logf("console errors:\n%s", errs)
	for _, want := range []string{"Content Security Policy", "boom from console", "boom thrown"} {
		if !strings.Contains(errs, want) {
			t.Errorf("console errors do not mention %q; got:\n%s", want, errs)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "internal", "browsertest", "browsertest.go")); err != nil {
		t.Errorf("RepoRoot = %s, which does not hold this package: %v", root, err)
	}
}

// userDataDir reads the --user-data-dir of a running Chromium from /proc;
// it returns "" where there is no /proc.
func userDataDir(t *testing.T, pid int) string {
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return ""
	}
	for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
		if dir, ok := strings.CutPrefix(string(arg), "--user-data-dir="); ok {
			return dir
		}
	}
	t.Fatalf("Chromium pid %d has no --user-data-dir", pid)
	return ""
}

// isZombie reports whether the process has exited and waits to be reaped.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	_, after, _ := bytes.Cut(stat, []byte(") "))
	return bytes.HasPrefix(after, []byte("Z"))
}
