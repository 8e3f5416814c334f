package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/config"
)

// TestSettingsDocumented: the README's Configuration table names every
// flag and environment variable of serve and of the client commands
// (trigger, listen), and no other BAHASHA_ variable than the ones read
// outside the settings.
func TestSettingsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## Configuration")
	end := strings.Index(text[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("the README has no Configuration section")
	}
	section := text[start : start+1+end]
	cfg := config.DefaultServe()
	client := config.DefaultClient()
	settings := append(serveSettings(&cfg), clientSettings(&client)...)
	known := map[string]bool{"BAHASHA_PPROF_ADDR": true} // read by serve itself
	for _, name := range settingNames(settings) {
		known[name] = true
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("the README's Configuration table does not name %s", name)
		}
	}
	for _, m := range regexp.MustCompile("`(BAHASHA_[A-Z_]+)`").FindAllStringSubmatch(section, -1) {
		if !known[m[1]] {
			t.Errorf("the README documents %s, which no command reads", m[1])
		}
	}
}
