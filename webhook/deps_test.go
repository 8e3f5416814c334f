package webhook_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPublicPackagesUseOnlyTheStandardLibrary keeps the SDK dependency-free:
// whatsapp, webhook and webhooktest may import the standard library and each
// other, nothing else.
func TestPublicPackagesUseOnlyTheStandardLibrary(t *testing.T) {
	allowed := map[string]bool{
		"github.com/bahasha/bahasha/whatsapp":            true,
		"github.com/bahasha/bahasha/webhook":             true,
		"github.com/bahasha/bahasha/webhook/webhooktest": true,
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/bahasha/bahasha/whatsapp", "github.com/bahasha/bahasha/webhook",
		"github.com/bahasha/bahasha/webhook/webhooktest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("a public package depends on %s; the SDK must use only the standard library", p)
		}
	}
}
