package webhook_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPublicPackagesUseOnlyTheStandardLibrary keeps the SDK dependency-free:
// whatsapp, webhook and webhooktest may import the standard library and each
// other, nothing else.
func TestPublicPackagesUseOnlyTheStandardLibrary(t *testing.T) {
	allowed := map[string]bool{
		"github.com/bahasha/bahasha/sdk/whatsapp":            true,
		"github.com/bahasha/bahasha/sdk/webhook":             true,
		"github.com/bahasha/bahasha/sdk/webhook/webhooktest": true,
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/bahasha/bahasha/sdk/whatsapp", "github.com/bahasha/bahasha/sdk/webhook",
		"github.com/bahasha/bahasha/sdk/webhook/webhooktest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("a public package depends on %s; the SDK must use only the standard library", p)
		}
	}
}

// TestConsumerModuleGraph: a module that uses the whole SDK has the SDK as
// its only dependency: `go list -m all` in it shows the consumer and the
// SDK, nothing else, and nothing is fetched to work that out.
func TestConsumerModuleGraph(t *testing.T) {
	sdkDir, err := filepath.Abs(filepath.Join("..")) // the sdk module's root
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/consumer\n\ngo 1.26.0\n\nrequire github.com/bahasha/bahasha/sdk v0.0.0\n\n" +
			"replace github.com/bahasha/bahasha/sdk => " + sdkDir + "\n",
		"main.go": `package main

import (
	"net/http"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

var _ = webhooktest.NewRequest

func main() {
	_, _ = whatsapp.Parse(nil)
	http.ListenAndServe(":3000", &webhook.Handler{})
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("build", "./...")
	got := strings.Split(strings.TrimSpace(run("list", "-m", "all")), "\n")
	want := []string{"example.com/consumer", "github.com/bahasha/bahasha/sdk v0.0.0 => " + sdkDir}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("go list -m all in a consumer of the SDK:\n%s\nwant only:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
