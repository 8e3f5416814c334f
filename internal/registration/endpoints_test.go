package registration_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/registration"
)

func TestValidateHeaders(t *testing.T) {
	ok := []map[string]string{nil, {"X-Api-Key": "k"}, {"authorization": "Bearer abc"}, {"X-Empty": ""}}
	for _, h := range ok {
		if err := registration.ValidateHeaders(h); err != nil {
			t.Errorf("%v: %v", h, err)
		}
	}
	many := map[string]string{}
	for i := range registration.MaxHeaders + 1 {
		many["X-H"+strings.Repeat("a", i)] = "v"
	}
	bad := []struct {
		h    map[string]string
		says string
	}{
		{map[string]string{"Host": "x"}, "set by Bahasha"},
		{map[string]string{"content-length": "1"}, "set by Bahasha"},
		{map[string]string{"Webhook-Signature": "v1,x"}, "set by Bahasha"},
		{map[string]string{"x-bahasha-attempt": "1"}, "set by Bahasha"},
		{map[string]string{"Proxy-Authorization": "x"}, "set by Bahasha"},
		{map[string]string{"X-A": "a\nb"}, "control character"},
		{map[string]string{"X-A": "a\rb"}, "control character"},
		{map[string]string{"X-A": "a\x00b"}, "control character"},
		{map[string]string{"": "x"}, "not valid"},
		{map[string]string{"X:A": "x"}, "not valid"},
		{map[string]string{"X-Ä": "x"}, "not valid"},
		{map[string]string{"X-A": "a", "x-a": "b"}, "twice"},
		{map[string]string{"X-A": strings.Repeat("v", registration.MaxHeaderValueLength+1)}, "the limit is"},
		{map[string]string{"X-" + strings.Repeat("n", registration.MaxHeaderNameLength): "v"}, "not valid"},
		{map[string]string{"X-A": strings.Repeat("v", 4000), "X-B": strings.Repeat("v", 4000), "X-C": strings.Repeat("v", 400)}, "8192"},
		{many, "at most 20"},
	}
	for _, c := range bad {
		err := registration.ValidateHeaders(c.h)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%.80v: %v, want an error saying %q", c.h, err, c.says)
		}
	}
}

// FuzzValidateHeaders: whatever a business sends, what passes is a set of
// headers net/http sends as they are, one line each.
func FuzzValidateHeaders(f *testing.F) {
	for _, s := range [][2]string{{"X-Api-Key", "k"}, {"Host", "x"}, {"X-A", "a\r\nB: c"}, {"X A", "1"}, {"X-A", "\xff"}, {"", ""}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		h := map[string]string{name: value}
		if registration.ValidateHeaders(h) != nil {
			return
		}
		if strings.ContainsAny(name+value, "\r\n\x00") || name == "" {
			t.Fatalf("accepted %q: %q", name, value)
		}
		canon := http.CanonicalHeaderKey(name)
		for _, own := range []string{"Host", "Content-Length", "Content-Type", "X-Hub-Signature-256"} {
			if canon == own {
				t.Fatalf("accepted Bahasha's own header %q", name)
			}
		}
		if strings.HasPrefix(canon, "Webhook-") || strings.HasPrefix(canon, "X-Bahasha-") {
			t.Fatalf("accepted Bahasha's own header %q", name)
		}
	})
}
