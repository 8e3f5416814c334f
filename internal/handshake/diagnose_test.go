package handshake_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/handshake"
)

const (
	challenge = "Q2hhbGxlbmdlLTEyMzQ1Njc4OTA"
	secret    = "my-verify-token"
)

func TestDiagnose(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		reason handshake.Reason
		want   string // a substring of the message
	}{
		{"exact", 200, challenge, "", "verified"},
		{"403", 403, "Forbidden", handshake.TokenRejected, "the verification token did not match"},
		{"401", 401, "", handshake.TokenRejected, "401 Unauthorized"},
		{"301", 301, "", handshake.WrongStatus, "Bahasha does not follow redirects, so register the final URL"},
		{"308", 308, "", handshake.WrongStatus, "308 Permanent Redirect, a redirect"},
		{"400", 400, "", handshake.WrongStatus, "reads hub.mode, hub.verify_token and hub.challenge"},
		{"404", 404, "", handshake.WrongStatus, "404 Not Found"},
		{"405", 405, "", handshake.WrongStatus, "must handle GET"},
		{"429", 429, "", handshake.WrongStatus, "rate limiting"},
		{"500", 500, challenge, handshake.WrongStatus, "500 Internal Server Error"},
		{"502", 502, "", handshake.WrongStatus, "proxy or load balancer"},
		{"201", 201, challenge, handshake.WrongStatus, "201 Created; answer 200"},
		{"unknown status", 299, "", handshake.WrongStatus, "answered 299;"},
		{"1xx", 100, "", handshake.WrongStatus, "100 Continue"},
		{"empty", 200, "", handshake.BodyMismatch, "empty body"},
		{"whitespace only", 200, " \n", handshake.BodyMismatch, "only whitespace"},
		{"token", 200, secret, handshake.BodyMismatch, "verification token instead of the challenge"},
		{"token and newline", 200, secret + "\n", handshake.BodyMismatch, "verification token instead"},
		{"newline", 200, challenge + "\n", handshake.BodyMismatch, "followed by a newline"},
		{"CRLF", 200, challenge + "\r\n", handshake.BodyMismatch, "no trailing newline"},
		{"surrounding space", 200, " " + challenge + " ", handshake.BodyMismatch, "whitespace around it"},
		{"BOM", 200, "\ufeff" + challenge, handshake.BodyMismatch, "byte-order mark"},
		{"double quotes", 200, `"` + challenge + `"`, handshake.BodyMismatch,
			`answered "` + challenge + `" with quotes; return the raw hub.challenge value without JSON encoding`},
		{"quotes and newline", 200, `"` + challenge + "\"\n", handshake.BodyMismatch, "with quotes"},
		{"single quotes", 200, "'" + challenge + "'", handshake.BodyMismatch, "with quotes"},
		{"JSON object", 200, `{"hub.challenge":"` + challenge + `"}`, handshake.BodyMismatch, "JSON containing"},
		{"JSON array", 200, `["` + challenge + `"]`, handshake.BodyMismatch, "JSON containing"},
		{"case", 200, strings.ToLower(challenge), handshake.BodyMismatch, "different case"},
		{"HTML", 200, "<html><body>" + challenge + "</body></html>", handshake.BodyMismatch, "HTML page that contains"},
		{"prefix text", 200, "challenge=" + challenge, handshake.BodyMismatch, "other text around it"},
		{"echoes token in text", 200, "token=" + secret, handshake.BodyMismatch, "contains your verification token"},
		{"undefined", 200, "undefined", handshake.BodyMismatch, "did not find hub.challenge"},
		{"null", 200, "null", handshake.BodyMismatch, `answered "null"`},
		{"None", 200, "None", handshake.BodyMismatch, "PHP renames it hub_challenge"},
		{"truncated", 200, challenge[:10], handshake.BodyMismatch, "first 10 of the challenge's 27 characters"},
		{"gzip", 200, "\x1f\x8b\x08\x00\x00", handshake.BodyMismatch, "gzip"},
		{"HTML without challenge", 200, "<!DOCTYPE html><title>Login</title>", handshake.BodyMismatch, "login page"},
		{"other", 200, "OK", handshake.BodyMismatch, `answered 200 with "OK", which is not the challenge Bahasha sent ("` + challenge + `")`},
		{"long other", 200, strings.Repeat("é", 100), handshake.BodyMismatch, `…, which is not the challenge`},
		{"binary", 200, "\x00\xff", handshake.BodyMismatch, `"\x00\xff"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, msg := handshake.Diagnose(challenge, secret, tc.status, []byte(tc.body))
			if reason != tc.reason || !strings.Contains(msg, tc.want) {
				t.Fatalf("Diagnose(%d, %q) = %q, %q; want %q containing %q", tc.status, tc.body, reason, msg, tc.reason, tc.want)
			}
			if strings.Contains(msg, secret) {
				t.Fatalf("message shows the token: %q", msg)
			}
		})
	}
}

// validReasons are the reasons Diagnose may return.
var validReasons = map[handshake.Reason]bool{
	"": true, handshake.TokenRejected: true, handshake.WrongStatus: true, handshake.BodyMismatch: true,
}

// FuzzDiagnose feeds Diagnose arbitrary answers. It must not panic, must
// accept exactly one answer, must always explain itself, and must not show a
// token that cannot come from its own wording.
func FuzzDiagnose(f *testing.F) {
	for _, seed := range []struct {
		challenge, token string
		status           int
		body             string
	}{
		{challenge, secret, 200, challenge},
		{challenge, secret, 200, `"` + challenge + `"`},
		{challenge, secret, 200, challenge + "\n"},
		{challenge, "a^b", 200, "x a^b y"},
		{challenge, "*^", 200, "**^^"},
		{challenge, "n^", 200, "\n^"},
		{challenge, secret, 302, ""},
		{"", "", 0, ""},
		{"é", "~", 200, "\xc3"},
	} {
		f.Add(seed.challenge, seed.token, seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, challenge, token string, status int, body []byte) {
		if len(body) > handshake.MaxBodyBytes {
			body = body[:handshake.MaxBodyBytes]
		}
		reason, msg := handshake.Diagnose(challenge, token, status, body)
		if !validReasons[reason] {
			t.Fatalf("reason %q is not one Diagnose may return", reason)
		}
		if ok := status == 200 && string(body) == challenge; ok != (reason == "") {
			t.Fatalf("Diagnose(%q, %d, %q) = %q; OK must mean exactly 200 with the challenge", challenge, status, body, reason)
		}
		if msg == "" || !utf8.ValidString(msg) || len(msg) > 1000 {
			t.Fatalf("message %q: want 1 to 1000 bytes of UTF-8", msg)
		}
		// The wording never uses ^, | or ~, so a token with one of them can
		// only show through a body or challenge quote. Escaping does not
		// change printable ASCII other than " and \, so such a token shows
		// quoted exactly as written.
		if strings.ContainsAny(token, "^|~") && isPlainASCII(token) && !strings.ContainsAny(token, `"\`) &&
			!strings.Contains(strconv.Quote(challenge), token) && strings.Contains(msg, token) {
			t.Fatalf("Diagnose(%q, %q, %d, %q) shows the token: %q", challenge, token, status, body, msg)
		}
	})
}

func isPlainASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' })
}

func TestDiagnoseMessagesAvoidFuzzMarkers(t *testing.T) {
	// FuzzDiagnose relies on no message wording containing ^, | or ~.
	for status := range 600 {
		for _, body := range []string{"", challenge, "x", challenge + "\n", `"` + challenge + `"`, "<html>" + challenge,
			"{" + challenge + "}", "\ufeff" + challenge, "null", challenge[:3], "\x1f\x8b", "<html>", " " + challenge,
			strings.ToLower(challenge), secret, "t=" + secret, "\n\n"} {
			_, msg := handshake.Diagnose(challenge, secret, status, []byte(body))
			if strings.ContainsAny(msg, "^|~") {
				t.Fatalf("Diagnose(%d, %q) message uses a fuzz marker: %q", status, body, msg)
			}
		}
	}
}

func ExampleDiagnose() {
	reason, msg := handshake.Diagnose("abc123", "s3cret", http.StatusOK, []byte(`"abc123"`))
	fmt.Println(reason)
	fmt.Println(msg)
	// Output:
	// body_mismatch
	// Your endpoint answered "abc123" with quotes; return the raw hub.challenge value without JSON encoding, e.g. res.send(challenge) not res.json(challenge).
}
