package cli_test

import (
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCLI checks the commands' exit codes and their one-line errors.
func TestCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("version", func(t *testing.T) {
		t.Parallel()
		code, out, errOut := runCLI(t, ctx, nil, "version")
		if code != 0 || !regexp.MustCompile(`^bahasha \S+\n$`).MatchString(out) || errOut != "" {
			t.Errorf("version: exit %d stdout %q stderr %q, want 0 and \"bahasha <v>\"", code, out, errOut)
		}
	})

	t.Run("unknown_command", func(t *testing.T) {
		t.Parallel()
		code, _, errOut := runCLI(t, ctx, nil, "frobnicate")
		if code != 2 || len(lines(errOut)) != 1 || !strings.Contains(errOut, "frobnicate") {
			t.Errorf("unknown command: exit %d stderr %q, want 2 and one line naming it", code, errOut)
		}
	})

	t.Run("no_command", func(t *testing.T) {
		t.Parallel()
		code, _, errOut := runCLI(t, ctx, nil)
		if code != 2 || !strings.Contains(errOut, "serve") {
			t.Errorf("no command: exit %d stderr %q, want 2 and the usage", code, errOut)
		}
	})

	t.Run("addr_in_use", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		code, _, errOut := runCLI(t, ctx, map[string]string{"BAHASHA_BOOTSTRAP_API_KEY": testAPIKey},
			"serve", "--addr", ln.Addr().String(), "--data", t.TempDir())
		if code != 1 || len(lines(errOut)) != 1 || !strings.Contains(errOut, "--addr") {
			t.Errorf("serve on a busy port: exit %d stderr %q, want 1 and one line mentioning --addr", code, errOut)
		}
	})

	t.Run("bad_values", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			args []string
			env  map[string]string
			msg  string
		}{
			{"negative_pace", []string{"--sandbox-pace", "-1s"}, nil, "--sandbox-pace"},
			{"short_bootstrap_key", nil, map[string]string{"BAHASHA_BOOTSTRAP_API_KEY": "short"}, "BAHASHA_BOOTSTRAP_API_KEY"},
			{"short_admin_key", nil, map[string]string{"BAHASHA_ADMIN_KEY": "short"}, "BAHASHA_ADMIN_KEY"},
			{"private_maybe", nil, map[string]string{"BAHASHA_ALLOW_PRIVATE_TARGETS": "maybe"}, "BAHASHA_ALLOW_PRIVATE_TARGETS"},
			{"env_pace_not_duration", nil, map[string]string{"BAHASHA_SANDBOX_PACE": "fast"}, "BAHASHA_SANDBOX_PACE"},
			{"zero_attempt_timeout", []string{"--attempt-timeout", "0s"}, nil, "--attempt-timeout"},
			{"decreasing_schedule", []string{"--retry-schedule", "1m,1s"}, nil, "retry"},
			{"max_lanes_zero", []string{"--max-lanes", "0"}, nil, "--max-lanes"},
			{"stray_argument", []string{"now"}, nil, "now"},
		} {
			data := t.TempDir()
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data}, tc.args...)
			code, out, errOut := runCLI(t, ctx, tc.env, args...)
			if code != 2 || len(lines(errOut)) != 1 || !strings.Contains(errOut, tc.msg) {
				t.Errorf("%s: exit %d stderr %q, want 2 and one line mentioning %s", tc.name, code, errOut, tc.msg)
			}
			if strings.Contains(out, "listening") {
				t.Errorf("%s: serve started: %q", tc.name, out)
			}
		}
	})

	t.Run("two_serves_one_folder", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, serveOpts{})
		code, _, errOut := runCLI(t, ctx, map[string]string{"BAHASHA_BOOTSTRAP_API_KEY": testAPIKey},
			"serve", "--addr", "127.0.0.1:0", "--data", s.Data)
		if code != 1 || len(lines(errOut)) != 1 || !strings.Contains(errOut, "another bahasha serve") {
			t.Errorf("a second serve on the same folder: exit %d stderr %q, want 1 saying another serve uses it", code, errOut)
		}
		if r := s.Do("GET", "/v1/phone_numbers", nil); r.Status != 200 {
			t.Errorf("the first serve after the second was refused: %s", r)
		}
	})

	t.Run("accounts_create_usage", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"accounts", "create", "--data", t.TempDir()},
			{"accounts"},
			{"accounts", "delete", "--name", "x"},
		} {
			code, _, errOut := runCLI(t, ctx, nil, args...)
			if code != 2 || len(lines(errOut)) != 1 {
				t.Errorf("%v: exit %d stderr %q, want 2 and one line", args, code, errOut)
			}
		}
	})

	t.Run("first_start_prints_a_working_key", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, serveOpts{NoKey: true, NoPrivate: true})
		m := regexp.MustCompile(`API key \(shown once, store it now\): (\S+)`).FindStringSubmatch(s.Stdout.String())
		if m == nil {
			t.Fatalf("serve printed no API key on first start:\n%s", s.Stdout)
		}
		s.Key = m[1]
		if !strings.Contains(s.Stdout.String(), "Authorization: Bearer "+m[1]) {
			t.Errorf("no usage hint with the key:\n%s", s.Stdout)
		}
		if r := s.Do("GET", "/v1/phone_numbers", nil); r.Status != 200 || r.Len("data") != 1 {
			t.Errorf("the printed key: %s", r)
		}
		if strings.Contains(s.Stderr.String(), "--allow-private-targets is ON") {
			t.Errorf("the private-targets warning logged without --allow-private-targets: %s", s.Stderr)
		}
		// A restart on the same folder neither creates another account nor
		// prints a key.
		data := s.Data
		if code := s.Stop(); code != 0 {
			t.Fatalf("serve exited %d", code)
		}
		s2 := startServe(t, serveOpts{NoKey: true, NoPrivate: true, Data: data})
		if strings.Contains(s2.Stdout.String(), "API key") {
			t.Errorf("a restart printed a key again:\n%s", s2.Stdout)
		}
		s2.Key = m[1]
		if r := s2.Do("GET", "/v1/phone_numbers", nil); r.Status != 200 {
			t.Errorf("the key after a restart: %s", r)
		}
	})

	t.Run("private_targets_warning", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, serveOpts{})
		if !strings.Contains(s.Stderr.String(), "level=WARN") || !strings.Contains(s.Stderr.String(), "--allow-private-targets is ON") {
			t.Errorf("no warning on stderr with --allow-private-targets: %q", s.Stderr)
		}
		if strings.Contains(s.Stdout.String(), "API key (shown once") {
			t.Errorf("a bootstrap key was printed:\n%s", s.Stdout)
		}
		s2 := startServe(t, serveOpts{NoPrivate: true, Env: map[string]string{"BAHASHA_ALLOW_PRIVATE_TARGETS": "true"}})
		if !strings.Contains(s2.Stderr.String(), "--allow-private-targets is ON") {
			t.Errorf("no warning with BAHASHA_ALLOW_PRIVATE_TARGETS=true: %q", s2.Stderr)
		}
	})

	t.Run("stop_exits_0", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, serveOpts{})
		start := time.Now()
		if code := s.Stop(); code != 0 {
			t.Errorf("serve exited %d on cancel", code)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("an idle serve took %v to stop", el)
		}
		if !strings.Contains(s.Stdout.String(), "Stopped.") {
			t.Errorf("stdout: %q", s.Stdout)
		}
	})
}
