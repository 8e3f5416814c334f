package config

import (
	"strings"
	"testing"
)

func TestClientValidate(t *testing.T) {
	const key = "bh_test_key_0123456789abcdefghijklmnopqrstuv"
	for _, tc := range []struct {
		name string
		cfg  Client
		msg  string // "" when valid
	}{
		{"default_url", Client{APIURL: DefaultAPIURL, APIKey: key}, ""},
		{"https_with_prefix", Client{APIURL: "https://bahasha.example.com/api/", APIKey: key}, ""},
		{"ipv6", Client{APIURL: "http://[::1]:8080", APIKey: key}, ""},
		{"no_key", DefaultClient(), "BAHASHA_API_KEY"},
		{"blank_key", Client{APIURL: DefaultAPIURL, APIKey: "  "}, "BAHASHA_API_KEY"},
		{"key_with_newline", Client{APIURL: DefaultAPIURL, APIKey: "abc\ndef"}, "BAHASHA_API_KEY"},
		{"empty_url", Client{APIKey: key}, "BAHASHA_API_URL"},
		{"no_scheme", Client{APIURL: "localhost:8080", APIKey: key}, "http://"},
		{"ftp", Client{APIURL: "ftp://example.com", APIKey: key}, "http://"},
		{"no_host", Client{APIURL: "http://", APIKey: key}, "no host"},
		{"port_only", Client{APIURL: "http://:8080", APIKey: key}, "no host"},
		{"not_a_url", Client{APIURL: "http://exa mple.com", APIKey: key}, "not a URL"},
		{"user_info", Client{APIURL: "http://me:secret@example.com", APIKey: key}, "user or password"},
		{"query", Client{APIURL: "http://example.com/?x=1", APIKey: key}, "query"},
	} {
		err := tc.cfg.Validate()
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%s: %v, want valid", tc.name, err)
		case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.msg)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%s: the error shows the password: %v", tc.name, err)
		case err != nil && tc.cfg.APIKey != "" && strings.TrimSpace(tc.cfg.APIKey) != "" && strings.Contains(err.Error(), tc.cfg.APIKey):
			t.Errorf("%s: the error shows the key: %v", tc.name, err)
		}
	}
	if got := (Client{APIURL: "http://h:1/p//"}).BaseURL(); got != "http://h:1/p" {
		t.Errorf("BaseURL = %q", got)
	}
}
