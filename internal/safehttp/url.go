package safehttp

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrInvalidURL is wrapped by every error [ValidateURL] returns. Its
// messages are written for the business that entered the URL: each says what
// is wrong and how to fix it, and none echoes the URL (which may hold
// credentials).
var ErrInvalidURL = errors.New("invalid webhook URL")

// MaxURLLength is the longest webhook URL [ValidateURL] accepts, in bytes.
const MaxURLLength = 2048

// urlError is a user-facing URL problem; it matches ErrInvalidURL and, for
// blocked IP literals, ErrPrivateAddress.
type urlError struct {
	msg   string
	cause error // optional, e.g. a *BlockedAddressError
}

func (e *urlError) Error() string { return e.msg }

func (e *urlError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalidURL}
	}
	return []error{ErrInvalidURL, e.cause}
}

func invalid(format string, args ...any) error {
	return &urlError{msg: fmt.Sprintf(format, args...)}
}

const example = "https://example.com/webhook"

var errFragment = &urlError{msg: "webhook URL must not contain a #fragment; remove the # and everything after it"}

// ValidateURL parses raw as a webhook URL and returns it if Bahasha may
// deliver to it. Otherwise it returns an error wrapping [ErrInvalidURL] (and
// [ErrPrivateAddress] for blocked IP literals) whose message tells the user
// how to fix the URL.
//
// The URL must be absolute, use https (http too when allowPrivate), name a
// host (in UTF-8, without an IPv6 zone), carry no user:password credentials
// and no #fragment, use a port in
// 1–65535 if it names one, and be at most [MaxURLLength] bytes. Unless
// allowPrivate, hosts that are IP literals in blocked ranges (see
// [CheckAddr]) and "localhost" names are refused up front, as are hosts that
// look like IPv4 addresses in a non-standard form (such as 2130706433 or
// 0x7f.1). Host names are not resolved: the dialer checks the addresses they
// resolve to at connect time.
func ValidateURL(raw string, allowPrivate bool) (*url.URL, error) {
	switch {
	case strings.TrimSpace(raw) == "":
		return nil, invalid("webhook URL is empty; enter a full URL such as %s", example)
	case len(raw) > MaxURLLength:
		return nil, invalid("webhook URL is %d characters long; use a URL of at most %d characters", len(raw), MaxURLLength)
	case strings.TrimSpace(raw) != raw:
		return nil, invalid("webhook URL starts or ends with spaces; remove them")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may hold credentials
		}
		return nil, invalid("webhook URL cannot be parsed (%v); enter a full URL such as %s", err, example)
	}
	if err := validate(u, allowPrivate); err != nil {
		return nil, err
	}
	if strings.Contains(raw, "#") { // an empty fragment leaves u.Fragment empty
		return nil, errFragment
	}
	// Parsing escapes what the raw URL left bare: the URL Bahasha sends
	// (and stores) is the escaped one, and it must fit too.
	if n := len(u.String()); n > MaxURLLength {
		return nil, invalid("webhook URL is %d characters long once escaped; use a URL of at most %d characters", n, MaxURLLength)
	}
	return u, nil
}

// validate checks a parsed URL; see ValidateURL.
func validate(u *url.URL, allowPrivate bool) error {
	switch {
	case u.Scheme == "":
		return invalid("webhook URL must start with https://, for example %s", example)
	case u.Scheme == "http" && !allowPrivate:
		return invalid("webhook URL must use https://; Bahasha cannot reach plain http endpoints")
	case u.Scheme != "https" && u.Scheme != "http":
		return invalid("webhook URL must use https://, not %s://; for example %s", u.Scheme, example)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return invalid("webhook URL has no host; enter a full URL such as %s", example)
	case strings.Contains(u.Host, "%"):
		return invalid("webhook URL host contains an IPv6 zone (%%25...); remove it, zones only make sense on a local network")
	case !utf8.ValidString(u.Host):
		return invalid("webhook URL host is not valid UTF-8; write the host name in UTF-8 or as punycode (xn--...)")
	case u.User != nil:
		return invalid("webhook URL must not contain a username or password; remove the user:password@ part " +
			"(Bahasha signs every request with X-Hub-Signature-256 for you to verify instead)")
	case u.Fragment != "":
		return errFragment
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalid("webhook URL has port %q; use a port between 1 and 65535, or leave it out for 443", p)
		}
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := CheckAddr(ip); err != nil {
			var be *BlockedAddressError
			errors.As(err, &be)
			return &urlError{
				msg: fmt.Sprintf("webhook URL points to %s, a %s address; Bahasha cannot reach localhost or private networks, "+
					"so use a public HTTPS URL (for local development, a tunnel such as ngrok)", be.Addr, be.Range),
				cause: err,
			}
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return &urlError{
			msg: "webhook URL points to localhost; Bahasha cannot reach localhost, " +
				"so use a public HTTPS URL (for local development, a tunnel such as ngrok)",
			cause: ErrPrivateAddress,
		}
	}
	if looksNumeric(name) {
		return invalid("webhook URL host %q looks like an IP address in a non-standard form; "+
			"write IPv4 addresses as four decimal numbers (a.b.c.d) or use a host name", host)
	}
	return nil
}

// looksNumeric reports whether a host name that is not a valid IP address
// would still be read as one by some resolvers: inet_aton accepts
// "2130706433", "127.1" and "0x7f.0.0.1". No top-level domain is numeric, so
// a name whose last label is a decimal or 0x-hex number is refused.
func looksNumeric(name string) bool {
	last := name[strings.LastIndexByte(name, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		return strings.Trim(last[2:], "0123456789abcdefABCDEF") == ""
	}
	return strings.Trim(last, "0123456789") == ""
}
