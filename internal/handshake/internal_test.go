package handshake

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHandshakeQuery(t *testing.T) {
	tests := []struct{ existing, want string }{
		{"", "hub.mode=subscribe&hub.verify_token=T&hub.challenge=C"},
		{"a=1&b=x%20y", "a=1&b=x%20y&hub.mode=subscribe&hub.verify_token=T&hub.challenge=C"},
		{"hub.mode=unsubscribe&a=1&hub%2Echallenge=old&hub.verify_token=", "a=1&hub.mode=subscribe&hub.verify_token=T&hub.challenge=C"},
		{"&&flag&", "flag&hub.mode=subscribe&hub.verify_token=T&hub.challenge=C"},
		{"bad=%zz", "bad=%zz&hub.mode=subscribe&hub.verify_token=T&hub.challenge=C"},
	}
	for _, tc := range tests {
		if got := handshakeQuery(tc.existing, "T", "C"); got != tc.want {
			t.Errorf("handshakeQuery(%q) = %q, want %q", tc.existing, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ s, token, want string }{
		{"abc", "", "abc"},
		{"x tok y tok", "tok", "x *** y ***"},
		{"q=a%2Fb&p=a%2Fb", "a/b", "q=***&p=***"},
		{"<p>a&amp;b</p>", "a&b", "<p>***</p>"},
		{"****", "**", "***"}, // replacing would form the token again: all hidden
		{"**^^", "*^", "***"},
	}
	for _, tc := range tests {
		if got := redact(tc.s, tc.token); got != tc.want {
			t.Errorf("redact(%q, %q) = %q, want %q", tc.s, tc.token, got, tc.want)
		}
	}
}

func TestGotBody(t *testing.T) {
	body := strings.Repeat("a", MaxGotBytes-1) + "é" // the é straddles the limit
	got := gotBody([]byte(body), "tok")
	if len(got) != MaxGotBytes-1 || !utf8.ValidString(got) {
		t.Fatalf("gotBody cut to %d bytes (valid UTF-8: %v), want %d", len(got), utf8.ValidString(got), MaxGotBytes-1)
	}
	if got := gotBody([]byte("tok tok"), "tok"); got != "*** ***" {
		t.Fatalf("gotBody = %q, want the token redacted", got)
	}
}

func TestRedirectMessage(t *testing.T) {
	base, _ := url.Parse("https://example.com/webhook?hub.verify_token=sec%2Fret")
	tests := []struct{ location, want, notWant string }{
		{"https://www.example.com/webhook", "a redirect to https://www.example.com/webhook;", ""},
		{"/v2/webhook?x=1&hub.challenge=c&hub.verify_token=sec%2Fret", "to https://example.com/v2/webhook?x=1;", "sec"},
		{"https://user:pw@example.com/", "to https://example.com/;", "pw"},
		{"https://example.com/sec%2Fret/", "a redirect;", "sec"},
		{"https://example.com/?t=sec/ret", "a redirect;", "sec"},
		{"", "a redirect;", ""},
		{"%zz", "a redirect;", ""},
	}
	for _, tc := range tests {
		msg := redirectMessage(302, base, tc.location, "sec/ret")
		if !strings.Contains(msg, tc.want) || tc.notWant != "" && strings.Contains(msg, tc.notWant) {
			t.Errorf("redirectMessage(%q) = %q, want %q and not %q", tc.location, msg, tc.want, tc.notWant)
		}
	}
}
