package retry_test

import (
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/retry"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2015, 10, 21, 7, 27, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"120", 120 * time.Second, true},
		{"0", 0, true},
		{"007", 7 * time.Second, true},
		{" \t30 ", 30 * time.Second, true},
		{"9223372036", 9223372036 * time.Second, true},
		{"9223372037", 0, false},
		{"99999999999999999999999", 0, false},
		{"", 0, false},
		{"   ", 0, false},
		{"-1", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"1e3", 0, false},
		{"12 34", 0, false},
		{"soon", 0, false},
		{"١٢", 0, false}, // Arabic-Indic digits are not ASCII digits.
		{"Wed, 21 Oct 2015 07:28:00 GMT", time.Minute, true},
		{"Wednesday, 21-Oct-15 07:28:00 GMT", time.Minute, true},
		{"Wed Oct 21 07:28:00 2015", time.Minute, true},
		{"Wed, 21 Oct 2015 07:00:00 GMT", 0, true}, // in the past: retry now
		{"Wed, 21 Oct 2015 07:28:00 PST", 0, false},
		{"Wed, 21 Oct 2015 07:28:00 GMT trailing", 0, false},
		{"2015-10-21T07:28:00Z", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			got, ok := retry.ParseRetryAfter(tt.header, now)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{
		"120", "0", "-1", "", "9223372037", "Wed, 21 Oct 2015 07:28:00 GMT",
		"Wednesday, 21-Oct-15 07:28:00 GMT", "Wed Oct 21 07:28:00 2015", "Fri, 31 Dec 9999 23:59:59 GMT",
	} {
		f.Add(s)
	}
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, header string) {
		d, ok := retry.ParseRetryAfter(header, now)
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v with ok=false, want 0", header, d)
		}
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, a negative delay", header, d)
		}
		// Whatever a receiver sends, the resulting retry stays within bounds.
		p := retry.DefaultPolicy()
		next, _ := p.Next(1, now, now, nil)
		got := p.WithRetryAfter(next, now, now, d)
		if got.Before(next) || got.After(now.Add(p.MaxRetryAfter)) {
			t.Fatalf("WithRetryAfter(%v) = %v, outside [%v, %v]", d, got, next, now.Add(p.MaxRetryAfter))
		}
	})
}
