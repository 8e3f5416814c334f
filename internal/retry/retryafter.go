package retry

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// httpDateLayouts are the three forms of HTTP-date (RFC 9110 §5.6.7):
// IMF-fixdate, the obsolete RFC 850 form and asctime.
var httpDateLayouts = [...]string{
	"Mon, 02 Jan 2006 15:04:05 GMT",
	"Monday, 02-Jan-06 15:04:05 GMT",
	"Mon Jan _2 15:04:05 2006",
}

// ParseRetryAfter parses the value of a Retry-After header (RFC 9110
// §10.2.3), which is untrusted input from a receiver, into a delay from now.
//
// It accepts delta-seconds ("120") and HTTP-date ("Wed, 21 Oct 2015 07:28:00
// GMT", plus the obsolete RFC 850 and asctime forms), with surrounding
// spaces or tabs. A date at or before now yields 0 and ok=true ("retry
// now"). Anything else — empty, signed, fractional, non-numeric, or more
// seconds than a time.Duration holds — yields ok=false. It never panics.
func ParseRetryAfter(header string, now time.Time) (d time.Duration, ok bool) {
	s := strings.Trim(header, " \t")
	if s == "" {
		return 0, false
	}
	if isDigits(s) {
		secs, err := strconv.ParseUint(s, 10, 64)
		if err != nil || secs > math.MaxInt64/uint64(time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	for _, layout := range httpDateLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
