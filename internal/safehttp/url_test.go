package safehttp_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/safehttp"
)

func TestValidateURL(t *testing.T) {
	tests := []struct {
		name         string
		raw          string
		allowPrivate bool
		wantErr      string // substring of the message; "" means valid
		private      bool   // the error also wraps ErrPrivateAddress
	}{
		{"https", "https://example.com/webhook", false, "", false},
		{"port and query", "https://hooks.example.com:8443/wa?token=abc", false, "", false},
		{"public IPv4 literal", "https://8.8.8.8/hook", false, "", false},
		{"public IPv6 literal", "https://[2606:4700:4700::1111]/hook", false, "", false},
		{"uppercase scheme", "HTTPS://example.com/", false, "", false},
		{"trailing-dot host", "https://example.com./", false, "", false},
		{"hex-looking label that is a name", "https://0xdeadbeef.example.com/", false, "", false},
		{"http allowed in development", "http://localhost:3000/webhook", true, "", false},
		{"loopback allowed in development", "https://127.0.0.1:8443/", true, "", false},

		{"empty", "", false, "is empty", false},
		{"blank", "   ", false, "is empty", false},
		{"surrounding spaces", " https://example.com/", false, "spaces", false},
		{"too long", "https://example.com/" + strings.Repeat("a", 2048), false, "at most 2048", false},
		{"unparseable", "https://exa mple.com/", false, "cannot be parsed", false},
		{"unparseable with credentials", "https://alice:s3cr3t@exa mple.com/", false, "cannot be parsed", false},
		{"control character", "https://example.com/\x7f", false, "cannot be parsed", false},
		{"no scheme", "example.com/webhook", false, "must start with https://", false},
		{"relative", "/webhook", false, "must start with https://", false},
		{"plain http", "http://example.com/webhook", false, "must use https://; Bahasha cannot reach plain http", false},
		{"ftp", "ftp://example.com/", false, "not ftp://", false},
		{"ftp in development", "ftp://example.com/", true, "not ftp://", false},
		{"javascript", "javascript:alert(1)", false, "not javascript://", false},
		{"no host", "https:///webhook", false, "no host", false},
		{"opaque", "https:example.com", false, "no host", false},
		{"port only", "https://:443/", false, "no host", false},
		{"credentials", "https://alice:s3cr3t@example.com/", false, "username or password", false},
		{"user only", "https://alice@example.com/", false, "username or password", false},
		{"fragment", "https://example.com/hook#frag", false, "#fragment", false},
		{"empty fragment", "https://example.com/hook#", false, "#fragment", false},
		{"port zero", "https://example.com:0/", false, "between 1 and 65535", false},
		{"port too big", "https://example.com:65536/", false, "between 1 and 65535", false},
		{"localhost", "https://localhost/webhook", false, "cannot reach localhost", true},
		{"localhost with port", "https://LOCALHOST:3000/", false, "cannot reach localhost", true},
		{"localhost trailing dot", "https://localhost./", false, "cannot reach localhost", true},
		{"localhost subdomain", "https://app.localhost/", false, "cannot reach localhost", true},
		{"loopback literal", "https://127.0.0.1/", false, "127.0.0.1, a loopback address", true},
		{"private literal", "https://10.0.0.5/", false, "private", true},
		{"metadata literal", "https://169.254.169.254/latest/meta-data/", false, "link-local", true},
		{"IPv6 loopback", "https://[::1]:8443/", false, "loopback", true},
		{"IPv6 unique local", "https://[fd00::1]/", false, "unique local", true},
		{"IPv6 zone", "https://[fe80::1%25eth0]/", false, "IPv6 zone", false},
		{"IPv6 zone in development", "https://[::1%25lo]:8443/", true, "IPv6 zone", false},
		{"IDN host", "https://bücher.example/hook", false, "", false},
		{"invalid UTF-8 host", "https://b\xffcher.example/", false, "UTF-8", false},
		{"IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/", false, "IPv4-mapped loopback", true},
		{"NAT64 private", "https://[64:ff9b::a00:1]/", false, "NAT64", true},
		{"unspecified", "https://0.0.0.0/", false, "this-network", true},
		{"decimal IPv4", "https://2130706433/", false, "non-standard form", false},
		{"short IPv4", "https://127.1/", false, "non-standard form", false},
		{"hex IPv4", "https://0x7f000001/", false, "non-standard form", false},
		{"hex dotted IPv4", "https://0x7f.0.0.1/", false, "non-standard form", false},
		{"octal IPv4", "https://0177.0.0.1/", false, "non-standard form", false},
		{"five numeric labels", "https://1.2.3.4.5/", false, "non-standard form", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := safehttp.ValidateURL(tt.raw, tt.allowPrivate)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateURL(%q) = %v, want valid", tt.raw, err)
				}
				if u == nil || u.Host == "" {
					t.Fatalf("ValidateURL(%q) returned URL %v", tt.raw, u)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateURL(%q) = %v, want an error mentioning %q", tt.raw, u, tt.wantErr)
			}
			if !errors.Is(err, safehttp.ErrInvalidURL) {
				t.Errorf("error %v does not wrap ErrInvalidURL", err)
			}
			if errors.Is(err, safehttp.ErrPrivateAddress) != tt.private {
				t.Errorf("errors.Is(err, ErrPrivateAddress) = %v, want %v", !tt.private, tt.private)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "alice") {
				t.Errorf("error %q repeats credentials", err)
			}
			if u != nil {
				t.Errorf("returned URL %v alongside an error", u)
			}
		})
	}
}

func FuzzValidateURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/webhook", "http://localhost:3000/", "https://127.0.0.1/",
		"https://[::ffff:10.0.0.1]/", "https://user:pw@example.com/", "https://example.com/#x",
		"https://2130706433/", "https://[fe80::1%25en0]:8443/", "javascript:alert(1)", "https:///x",
		"https://example.com:99999/", "https://%65xample.com/",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowPrivate bool) {
		u, err := safehttp.ValidateURL(raw, allowPrivate)
		if err != nil {
			if u != nil {
				t.Fatalf("ValidateURL(%q) returned both %v and %v", raw, u, err)
			}
			if !errors.Is(err, safehttp.ErrInvalidURL) {
				t.Fatalf("ValidateURL(%q) error %v does not wrap ErrInvalidURL", raw, err)
			}
			return
		}
		if u.Scheme != "https" && (u.Scheme != "http" || !allowPrivate) {
			t.Fatalf("ValidateURL(%q) accepted scheme %q", raw, u.Scheme)
		}
		if u.Hostname() == "" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
			t.Fatalf("ValidateURL(%q) accepted %#v", raw, u)
		}
		if !allowPrivate {
			host := u.Hostname()
			if ip, err := netip.ParseAddr(host); err == nil && safehttp.CheckAddr(ip) != nil {
				t.Fatalf("ValidateURL(%q) accepted blocked address %s", raw, ip)
			}
			if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
				t.Fatalf("ValidateURL(%q) accepted localhost", raw)
			}
		}
		// What we store and send must validate again.
		if _, err := safehttp.ValidateURL(u.String(), allowPrivate); err != nil {
			t.Fatalf("ValidateURL(%q) ok, but its String() %q fails: %v", raw, u.String(), err)
		}
	})
}
