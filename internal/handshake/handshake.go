package handshake

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/safehttp"
)

// Reason says why a handshake failed. The values are stable: they are stored
// and shown to API clients.
type Reason string

// The reasons a [Result] can carry. An OK result has Reason "".
const (
	// TokenRejected: the endpoint answered 401 or 403, which is what a
	// handler does when hub.verify_token does not match its secret.
	TokenRejected Reason = "token_rejected"
	// WrongStatus: the endpoint answered a status other than 200, 401 and
	// 403, including a redirect (redirects are not followed).
	WrongStatus Reason = "wrong_status"
	// BodyMismatch: the endpoint answered 200 with a body that is not
	// exactly the challenge.
	BodyMismatch Reason = "body_mismatch"
	// Timeout: the endpoint did not answer within the client's timeout.
	Timeout Reason = "timeout"
	// TLS: the TLS handshake failed (untrusted, expired or mismatched
	// certificate, or no TLS on that port).
	TLS Reason = "tls"
	// DNS: the URL's host name could not be resolved.
	DNS Reason = "dns"
	// Connect: no connection could be made, or the server closed it before
	// answering.
	Connect Reason = "connect"
	// PrivateAddress: the URL points to, or its host name resolves to, an
	// address that is not on the public internet.
	PrivateAddress Reason = "private_address"
	// InvalidURL: the URL cannot be used (not https, credentials in it, no
	// host, ...); nothing was sent.
	InvalidURL Reason = "invalid_url"
	// InvalidToken: the verification token is empty; nothing was sent.
	InvalidToken Reason = "invalid_token"
	// Other: anything else, e.g. the verification was cancelled.
	Other Reason = "other"
)

// MaxBodyBytes is how much of the endpoint's answer is read. A correct
// answer is a few dozen bytes.
const MaxBodyBytes = 4 << 10

// MaxGotBytes is how much of the answer [Result.Got] keeps.
const MaxGotBytes = 256

// Redacted replaces the verification token wherever a [Result] would show it.
const Redacted = "***"

// Verifier sends the registration handshake. The zero value verifies
// against public https URLs with a default client; set the fields before
// the first call and do not change them afterwards. It is safe for
// concurrent use.
type Verifier struct {
	// Client sends the request. Its own AllowPrivate setting is what keeps
	// private addresses out at dial time, so it must match AllowPrivate.
	//
	// Default (nil): a client made for each call with
	// safehttp.Config{AllowPrivate: AllowPrivate} and the defaults.
	Client *safehttp.Client

	// AllowPrivate accepts http:// URLs and loopback or private IP
	// literals, as safehttp.ValidateURL does. For local development and
	// tests only.
	AllowPrivate bool

	// Rand is the source of challenges.
	//
	// Default (nil): crypto/rand.Reader.
	Rand io.Reader

	// Now tells the time, to measure Result.Duration.
	//
	// Default (nil): time.Now.
	Now func() time.Time
}

// Result is the outcome of one handshake.
type Result struct {
	// OK is true when the endpoint answered 200 with exactly the challenge.
	OK bool
	// Reason is "" when OK, else why the handshake failed.
	Reason Reason
	// Message is one or two sentences a business can act on. It never
	// contains the verification token.
	Message string
	// Request is what Bahasha sent, with the token redacted. It is the zero
	// RequestInfo when nothing was sent (InvalidURL, InvalidToken, and
	// PrivateAddress for an IP literal).
	Request RequestInfo
	// StatusCode is the status the endpoint answered, or 0 without an answer.
	StatusCode int
	// Expected is the challenge that was sent, "" when nothing was sent.
	Expected string
	// Got is the first MaxGotBytes of the body the endpoint answered, with
	// the token redacted; "" without an answer.
	Got string
	// Duration is how long the request took, from sending to the end of the
	// body or the failure; 0 when nothing was sent.
	Duration time.Duration
}

// RequestInfo describes the request Bahasha sent.
type RequestInfo struct {
	Method string
	// URL is the full URL with hub.verify_token=*** in place of the token.
	URL string
	// Header holds the request headers sent (User-Agent, Accept, and the
	// endpoint's custom headers with their values Redacted).
	Header http.Header
}

// Verify sends the handshake GET to rawURL with verifyToken and a fresh
// challenge, and reports whether the endpoint answered 200 with exactly the
// challenge. It never returns an error: every failure, including an unusable
// URL, is a Result with OK false and a Reason. ctx bounds the request in
// addition to the client's timeout.
func (v *Verifier) Verify(ctx context.Context, rawURL, verifyToken string) Result {
	return v.VerifyWith(ctx, rawURL, verifyToken, nil)
}

// VerifyWith is Verify with headers sent along, an endpoint's custom
// headers (a gateway may want its key on the GET too). Their values are
// secrets: the Result's Request shows them as Redacted.
func (v *Verifier) VerifyWith(ctx context.Context, rawURL, verifyToken string, headers map[string]string) Result {
	u, err := safehttp.ValidateURL(rawURL, v.AllowPrivate)
	if err != nil {
		return urlResult(err)
	}
	if verifyToken == "" {
		return Result{Reason: InvalidToken, Message: "The verification token is empty; enter the secret string your " +
			"server compares hub.verify_token with (WEBHOOK_VERIFICATION_TOKEN)."}
	}
	challenge, err := v.challenge()
	if err != nil {
		return Result{Reason: Other, Message: "Bahasha could not generate a verification challenge; try again."}
	}

	target := *u
	target.RawQuery = handshakeQuery(u.RawQuery, url.QueryEscape(verifyToken), challenge)
	shown := *u
	shown.RawQuery = handshakeQuery(u.RawQuery, Redacted, challenge)

	res := Result{Expected: challenge}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil { // cannot happen for a URL that passed ValidateURL
		res.Reason, res.Message = Other, "Bahasha could not build the verification request for this URL; check the URL."
		return res
	}
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	req.Header.Set("Accept", "text/plain")

	client := v.Client
	if client == nil {
		c, err := safehttp.New(safehttp.Config{AllowPrivate: v.AllowPrivate})
		if err != nil {
			res.Reason, res.Message = Other, "Bahasha could not set up the verification request; try again."
			return res
		}
		defer c.CloseIdleConnections()
		client = c
	}

	now := v.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, safehttp.ErrInvalidURL) { // the client is stricter than v.AllowPrivate
			return urlResult(err)
		}
		res.Request = requestInfo(req, shown.String(), headers)
		res.Duration = now().Sub(start)
		res.Reason, res.Message = transportFailure(err, u, res.Duration, verifyToken)
		return res
	}
	res.Request = requestInfo(req, shown.String(), headers)
	body, _, readErr := safehttp.ReadBody(resp.Body, MaxBodyBytes)
	res.Duration = now().Sub(start)
	res.StatusCode = resp.StatusCode
	res.Got = gotBody(body, verifyToken)

	if readErr != nil && resp.StatusCode == http.StatusOK {
		// Only a 200's body matters; the status alone decides the others.
		res.Reason, res.Message = transportFailure(readErr, u, res.Duration, verifyToken)
		res.Message = fmt.Sprintf("Your endpoint answered 200 but the body did not arrive in full: %s", res.Message)
		return res
	}
	res.Reason, res.Message = Diagnose(challenge, verifyToken, resp.StatusCode, body)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		res.Message = redirectMessage(resp.StatusCode, req.URL, resp.Header.Get("Location"), verifyToken)
	}
	res.OK = res.Reason == ""
	return res
}

// challenge returns a fresh random challenge: 15 decimal digits, as
// WhatsApp's own challenges are numeric, so that receivers written for Meta
// that parse hub.challenge as a number work unchanged (15 digits stay below
// 2^53, exact even for JavaScript's numbers) while no one can guess it.
func (v *Verifier) challenge() (string, error) {
	r := v.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	const lo, span = 100_000_000_000_000, 900_000_000_000_000
	return strconv.FormatUint(lo+binary.BigEndian.Uint64(b[:])%span, 10), nil
}

// hubParams are the query parameters the handshake sets.
var hubParams = map[string]bool{"hub.mode": true, "hub.verify_token": true, "hub.challenge": true}

// handshakeQuery returns existing (a raw query) with its hub.* parameters
// removed and the handshake's appended. token must already be escaped.
func handshakeQuery(existing, token, challenge string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(existing, "&") {
		if part == "" {
			continue
		}
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && hubParams[k] {
			continue
		}
		b.WriteString(part)
		b.WriteByte('&')
	}
	b.WriteString("hub.mode=subscribe&hub.verify_token=")
	b.WriteString(token)
	b.WriteString("&hub.challenge=")
	b.WriteString(challenge)
	return b.String()
}

func requestInfo(req *http.Request, shownURL string, secret map[string]string) RequestInfo {
	h := req.Header.Clone()
	for k := range secret {
		if h.Get(k) != "" {
			h.Set(k, Redacted)
		}
	}
	return RequestInfo{Method: req.Method, URL: shownURL, Header: h}
}

// urlResult turns a safehttp.ValidateURL error, whose message is written
// for the business and never echoes the URL, into a Result.
func urlResult(err error) Result {
	reason := InvalidURL
	if errors.Is(err, safehttp.ErrPrivateAddress) {
		reason = PrivateAddress
	}
	return Result{Reason: reason, Message: sentence(err.Error())}
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// gotBody is body for Result.Got: the token redacted, then cut to
// MaxGotBytes at a character boundary.
func gotBody(body []byte, token string) string {
	s := redact(string(body), token)
	if len(s) <= MaxGotBytes {
		return s
	}
	cut := MaxGotBytes
	for cut > MaxGotBytes-utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// redact replaces the token in s, raw or in the escaped forms a server may
// echo it in (query, path, HTML), with Redacted. If a replacement forms the
// token again (a token made of asterisks, say), s is dropped entirely.
func redact(s, token string) string {
	forms := secretForms(token)
	for _, f := range forms {
		s = strings.ReplaceAll(s, f, Redacted)
	}
	if containsAny(s, forms) {
		return Redacted
	}
	return s
}

// secretForms returns token as written and as escaped in a query string, a
// path and HTML; none when token is empty.
func secretForms(token string) []string {
	if token == "" {
		return nil
	}
	forms := []string{token}
	for _, f := range []string{url.QueryEscape(token), url.PathEscape(token), html.EscapeString(token)} {
		if !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	return forms
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs []string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

// redirectMessage explains a 3xx answer, naming where it points when that
// is safe to show.
func redirectMessage(status int, base *url.URL, location, token string) string {
	target := ""
	if loc, err := base.Parse(location); location != "" && err == nil {
		loc.User = nil
		if q := loc.Query(); len(q) > 0 {
			for k := range hubParams {
				q.Del(k)
			}
			loc.RawQuery = q.Encode()
		}
		s := loc.String()
		if len(s) <= 300 && utf8.ValidString(s) && !containsAny(s, secretForms(token)) {
			target = " to " + s
		}
	}
	return fmt.Sprintf("Your endpoint answered %s, a redirect%s; Bahasha does not follow redirects, so register the "+
		"final URL instead.", statusName(status), target)
}

// transportFailure explains an error from sending the request or reading
// the answer. Its messages name the host but never the full URL, whose
// query holds the token.
func transportFailure(err error, u *url.URL, elapsed time.Duration, token string) (Reason, string) {
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	hostPort := net.JoinHostPort(host, port)

	switch safehttp.Classify(err) {
	case safehttp.ReasonPrivateAddress:
		var be *safehttp.BlockedAddressError
		if errors.As(err, &be) {
			return PrivateAddress, fmt.Sprintf("%s resolves to %s, a %s address; Bahasha cannot reach localhost or "+
				"private networks, so use a public HTTPS URL (for local development, a tunnel such as ngrok).",
				host, be.Addr, be.Range)
		}
		return PrivateAddress, fmt.Sprintf("%s is not on the public internet; Bahasha cannot reach localhost or "+
			"private networks, so use a public HTTPS URL (for local development, a tunnel such as ngrok).", host)
	case safehttp.ReasonDNS:
		var de *net.DNSError
		if errors.As(err, &de) && !de.IsNotFound && (de.IsTemporary || de.IsTimeout) {
			return DNS, fmt.Sprintf("The DNS lookup of %s failed temporarily; try again, and check your DNS "+
				"provider if it keeps failing.", host)
		}
		return DNS, fmt.Sprintf("The host name %s does not resolve (no DNS record found); check the spelling of "+
			"the URL and that the host's DNS record exists.", host)
	case safehttp.ReasonTLS:
		return TLS, tlsMessage(err, host, hostPort)
	case safehttp.ReasonTimeout:
		return Timeout, fmt.Sprintf("Your endpoint did not answer within %s; make sure the server at %s is running "+
			"and answers the verification GET right away.", roundDuration(elapsed), hostPort)
	case safehttp.ReasonConnect:
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return Connect, fmt.Sprintf("Bahasha could not connect to %s: the connection was refused, so nothing is "+
				"listening on port %s. Check that your server is running and reachable from the internet.", hostPort, port)
		case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
			return Connect, fmt.Sprintf("Bahasha could not reach %s: the host is unreachable. Check that the "+
				"address is right and reachable from the internet.", hostPort)
		}
		return Connect, fmt.Sprintf("Bahasha could not get an answer from %s: the connection failed or was closed "+
			"before your server answered. Check that your server is running and reachable from the internet.", hostPort)
	}
	if errors.Is(err, context.Canceled) {
		return Other, "The verification was cancelled before your endpoint answered; try again."
	}
	detail := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		detail = ue.Err.Error() // url.Error repeats the URL, token included
	}
	if detail = redact(detail, token); len(detail) > 200 {
		detail = "an unexpected error"
	}
	return Other, fmt.Sprintf("The request to %s failed (%s); try again.", hostPort, detail)
}

// tlsMessage explains a TLS failure.
func tlsMessage(err error, host, hostPort string) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("The TLS certificate of %s is not signed by a trusted certificate authority (it may be "+
			"self-signed or miss its intermediate certificates); use a certificate from a public CA such as "+
			"Let's Encrypt and serve the full chain.", host)
	case errors.As(err, &hostname):
		return fmt.Sprintf("The TLS certificate of %s is not valid for that host name; use a certificate that "+
			"covers %s.", hostPort, host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Sprintf("The TLS certificate of %s has expired or is not yet valid; renew it.", host)
	case errors.As(err, &invalid):
		return fmt.Sprintf("The TLS certificate of %s is invalid (%s); replace it with a valid certificate from "+
			"a public CA.", host, invalidReason(invalid.Reason))
	case errors.As(err, &record) || errors.Is(err, http.ErrSchemeMismatch):
		return fmt.Sprintf("%s does not speak TLS on that port; serve HTTPS there, or check that the URL's port "+
			"is your HTTPS port.", hostPort)
	}
	return fmt.Sprintf("The TLS handshake with %s failed; check that it serves a valid certificate over TLS 1.2 "+
		"or newer.", hostPort)
}

func invalidReason(r x509.InvalidReason) string {
	switch r {
	case x509.NotAuthorizedToSign:
		return "signed by a certificate that may not sign others"
	case x509.IncompatibleUsage:
		return "not usable for a server"
	case x509.NameConstraintsWithoutSANs, x509.CANotAuthorizedForThisName, x509.CANotAuthorizedForExtKeyUsage:
		return "outside what its CA may sign"
	case x509.TooManyIntermediates:
		return "too many intermediate certificates"
	}
	return "rejected by certificate verification"
}

// roundDuration rounds d for a message: whole tenths of a second from one
// second up, milliseconds below.
func roundDuration(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return max(d.Round(time.Millisecond), time.Millisecond)
}
