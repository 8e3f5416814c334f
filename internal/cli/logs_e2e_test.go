package cli_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonLogLines parses serve's stderr as JSON lines (--log-format json):
// every line must be one object.
func jsonLogLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range lines(stderr) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// waitLog waits until serve logged a line whose msg starts with prefix.
func waitLog(t *testing.T, s *server, prefix string) map[string]any {
	t.Helper()
	var found map[string]any
	eventually(t, "the log line "+prefix, func() (bool, string) {
		for _, m := range jsonLogLines(t, s.Stderr.String()) {
			if msg, _ := m["msg"].(string); strings.HasPrefix(msg, prefix) {
				found = m
				return true, ""
			}
		}
		return false, s.Stderr.String()
	})
	return found
}

// A full run at --log-level debug in JSON logs what an operator needs —
// the settings, handshakes, the breaker opening and closing — and not one
// secret: no API key, admin key, app secret, signing secret, verify
// token, custom header value or message body, at any level.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--log-level", "debug", "--log-format", "json"},
		Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey}})
	started := waitLog(t, s, "bahasha serve started")
	if started["database"] != "sqlite" || started["level"] != "INFO" || started["admin_api"] != true {
		t.Errorf("the startup line: %v", started)
	}
	passed := waitLog(t, s, "handshake passed")
	if passed["account"] == nil {
		t.Errorf("the handshake line: %v", passed)
	}
	// A second endpoint with a custom header, and its signing secret.
	const headerValue = "gw-key-do-not-log-4f9a1c"
	id := s.createEndpoint(s.Key, rcv, map[string]any{"headers": map[string]string{"X-Gateway-Key": headerValue}, "events": []string{"statuses"}})
	signing := s.Do("GET", "/v1/webhooks/"+id+"/secret", nil).Str("secret")
	if !strings.HasPrefix(signing, "whsec_") {
		t.Fatalf("the signing secret: %q", signing)
	}
	// A failed handshake says why, without the token.
	const wrongToken = "wrong-token-do-not-log-77"
	if r := s.Do("PUT", "/v1/webhook", map[string]any{"url": rcv.URL, "verify_token": wrongToken}); r.Status != 422 {
		t.Fatalf("a wrong token: %s", r)
	}
	failed := waitLog(t, s, "handshake failed")
	if failed["reason"] == "" || failed["reason"] == nil {
		t.Errorf("the failed handshake's line: %v", failed)
	}

	// The receiver fails until the breaker opens, then recovers.
	const body = "a very private message body 9876"
	rcv.Fail(true)
	_, _ = s.Inbound(s.Key, s.Phone().ID, "254712345678", body)
	opened := waitLog(t, s, "endpoint failing")
	if opened["endpoint"] == nil || opened["consecutive_failures"] == nil {
		t.Errorf("the breaker line: %v", opened)
	}
	rcv.Fail(false)
	waitLog(t, s, "endpoint recovered")
	rcv.Wait(t, "the message", func() bool { return len(rcv.messages) == 1 })

	logs := s.Stderr.String()
	for name, secret := range map[string]string{"API key": s.Key, "admin key": testAdminKey, "app secret": s.Secret(s.Key),
		"signing secret": signing, "verify token": rcv.Token, "wrong token": wrongToken, "header value": headerValue,
		"message body": body, "receiver URL": rcv.URL} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold the %s %q", name, secret)
		}
	}
	if n := len(jsonLogLines(t, logs)); n < 5 {
		t.Errorf("only %d log lines:\n%s", n, logs)
	}
}

// A bad log setting is a one-line error.
func TestLogSettingsRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}} {
		code, _, stderr := runCLI(t, t.Context(), nil, append([]string{"serve", "--data", t.TempDir()}, args...)...)
		if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, args[0]) {
			t.Errorf("serve %v: exit %d, %q", args, code, stderr)
		}
	}
}
