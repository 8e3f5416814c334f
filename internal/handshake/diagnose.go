package handshake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// snippetBytes is how much of a body or challenge a Message quotes.
const snippetBytes = 64

// Diagnose judges the answer to a handshake: status and body (at most
// [MaxBodyBytes] of it) as received for a request that carried challenge and
// verifyToken. It returns Reason "" and a confirmation when status is 200
// and body is exactly challenge, and otherwise the Reason and a Message that
// says what the endpoint did wrong and how to fix it. The Message never
// contains verifyToken. Diagnose is a pure function of its arguments and
// accepts any input.
func Diagnose(challenge, verifyToken string, status int, body []byte) (Reason, string) {
	switch {
	case status == http.StatusOK && string(body) == challenge:
		return "", "Your endpoint answered 200 with the challenge; the webhook is verified."
	case status == http.StatusOK:
		return BodyMismatch, bodyMessage(challenge, verifyToken, string(body))
	case status == http.StatusForbidden:
		return TokenRejected, "Your endpoint answered 403 Forbidden: the verification token did not match. Check that " +
			"WEBHOOK_VERIFICATION_TOKEN on your server is exactly the token you entered."
	case status == http.StatusUnauthorized:
		return TokenRejected, "Your endpoint answered 401 Unauthorized: it rejected the verification token, or the " +
			"path requires a login Bahasha cannot give. Check that WEBHOOK_VERIFICATION_TOKEN on your server is " +
			"exactly the token you entered, and that the webhook path needs no other authentication."
	case status >= 300 && status < 400:
		return WrongStatus, fmt.Sprintf("Your endpoint answered %s, a redirect; Bahasha does not follow redirects, "+
			"so register the final URL instead.", statusName(status))
	}
	return WrongStatus, statusMessage(status)
}

// statusMessage explains a status that is neither 200, 401, 403 nor 3xx.
func statusMessage(status int) string {
	name := statusName(status)
	const answer = "answer 200 with the hub.challenge value as the body."
	switch {
	case status == http.StatusNotFound:
		return fmt.Sprintf("Your endpoint answered %s: check the URL's path, and that your server handles GET "+
			"(not only POST) there.", name)
	case status == http.StatusMethodNotAllowed:
		return fmt.Sprintf("Your endpoint answered %s: your server must handle GET at this path for verification, "+
			"as well as POST for events.", name)
	case status == http.StatusBadRequest:
		return fmt.Sprintf("Your endpoint answered %s: check that your handler reads hub.mode, hub.verify_token and "+
			"hub.challenge from the query string and, when they are right, %s", name, answer)
	case status == http.StatusTooManyRequests:
		return fmt.Sprintf("Your endpoint answered %s: it is rate limiting Bahasha; allow the verification GET and "+
			"%s", name, answer)
	case status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		return fmt.Sprintf("Your endpoint answered %s: the proxy or load balancer in front of your server could not "+
			"reach it. Check that your application is running, then try again.", name)
	case status >= 500 && status < 600:
		return fmt.Sprintf("Your endpoint answered %s: your server failed while handling the verification GET. "+
			"Check its logs, then try again.", name)
	case status >= 200 && status < 300:
		return fmt.Sprintf("Your endpoint answered %s; %s", name, answer)
	}
	return fmt.Sprintf("Your endpoint answered %s; when hub.verify_token matches, %s", name, answer)
}

// statusName is "403 Forbidden", or just the number for unknown codes.
func statusName(status int) string {
	if text := http.StatusText(status); text != "" {
		return strconv.Itoa(status) + " " + text
	}
	return strconv.Itoa(status)
}

// bodyMessage explains a 200 whose body is not the challenge, trying the
// specific mistakes first.
func bodyMessage(challenge, token, body string) string {
	trimmed := strings.TrimSpace(body)
	switch {
	case trimmed == "":
		if body == "" {
			return "Your endpoint answered 200 with an empty body; return the hub.challenge value as the body, " +
				"e.g. res.status(200).send(challenge)."
		}
		return "Your endpoint answered 200 with only whitespace; return the hub.challenge value as the body, " +
			"e.g. res.status(200).send(challenge)."
	case token != "" && trimmed == token:
		return "Your endpoint answered with the verification token instead of the challenge; return the " +
			"hub.challenge query parameter, not hub.verify_token."
	case trimmed == challenge:
		if body == challenge+"\n" || body == challenge+"\r\n" {
			return "Your endpoint answered the challenge followed by a newline; return it exactly, with no trailing " +
				"newline (e.g. fmt.Fprint or w.Write instead of fmt.Fprintln, print instead of println)."
		}
		return fmt.Sprintf("Your endpoint answered the challenge with whitespace around it (%s); return exactly the "+
			"hub.challenge value, with nothing before or after it.", snippet(body, token))
	case strings.TrimSpace(strings.TrimPrefix(body, "\ufeff")) == challenge:
		return "Your endpoint answered the challenge preceded by a byte-order mark (BOM); save your source files " +
			"as UTF-8 without BOM and return exactly the hub.challenge value."
	case isQuoted(trimmed, challenge):
		return fmt.Sprintf("Your endpoint answered %s with quotes; return the raw hub.challenge value without JSON "+
			"encoding, e.g. res.send(challenge) not res.json(challenge).", clip(trimmed, token))
	case (strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")) && strings.Contains(trimmed, challenge):
		return fmt.Sprintf("Your endpoint answered JSON containing the challenge (%s); return only the raw "+
			"hub.challenge value as plain text, e.g. res.send(challenge) not res.json({challenge}).",
			snippet(trimmed, token))
	case strings.EqualFold(trimmed, challenge):
		return "Your endpoint answered the challenge with some letters in a different case; return it exactly as " +
			"received, without changing its case."
	case strings.Contains(body, challenge) && looksHTML(trimmed):
		return "Your endpoint answered an HTML page that contains the challenge; return only the challenge, as " +
			"plain text, with no page or template around it."
	case strings.Contains(body, challenge):
		return fmt.Sprintf("Your endpoint answered the challenge with other text around it (%s); return only the "+
			"hub.challenge value as the whole body.", snippet(body, token))
	case containsAny(body, secretForms(token)):
		return "Your endpoint's answer contains your verification token but not the challenge; return only the " +
			"hub.challenge value, and never echo the token."
	case isPlaceholder(trimmed):
		return fmt.Sprintf("Your endpoint answered %s, so your handler did not find hub.challenge; read the query "+
			"parameter named exactly hub.challenge (PHP renames it hub_challenge in $_GET).", snippet(trimmed, token))
	case len(trimmed) < len(challenge) && strings.HasPrefix(challenge, trimmed):
		return fmt.Sprintf("Your endpoint answered only the first %d of the challenge's %d characters; return "+
			"all of it.", len(trimmed), len(challenge))
	case strings.HasPrefix(body, "\x1f\x8b"):
		return "Your endpoint answered a gzip-compressed body; Bahasha does not ask for compression, so turn it " +
			"off for this response and return the challenge as plain text."
	case looksHTML(trimmed):
		return "Your endpoint answered an HTML page instead of the challenge; check that the URL points at your " +
			"webhook handler (not a website or login page) and that it handles GET."
	}
	return fmt.Sprintf("Your endpoint answered 200 with %s, which is not the challenge Bahasha sent (%s); return "+
		"the hub.challenge query parameter exactly as received.", snippet(body, token), snippet(challenge, token))
}

// isQuoted reports whether s is challenge in double or single quotes, or as
// a JSON string.
func isQuoted(s, challenge string) bool {
	if s == `"`+challenge+`"` || s == "'"+challenge+"'" {
		return true
	}
	j, err := json.Marshal(challenge)
	return err == nil && s == string(j)
}

// isPlaceholder reports whether s is what languages print for a missing
// value.
func isPlaceholder(s string) bool {
	switch strings.Trim(s, `"'`) {
	case "undefined", "null", "NULL", "None", "nil", "<nil>", "NaN", "false", "":
		return true
	}
	return false
}

// looksHTML reports whether s, a trimmed body, looks like an HTML page.
func looksHTML(s string) bool {
	if !strings.HasPrefix(s, "<") {
		return false
	}
	head := strings.ToLower(s[:min(len(s), 512)])
	return strings.Contains(head, "<!doctype") || strings.Contains(head, "<html") ||
		strings.Contains(head, "<head") || strings.Contains(head, "<body")
}

// snippet quotes up to snippetBytes of s, token redacted. If the quoted text
// would still show the token, it is not shown.
func snippet(s, token string) string {
	s = redact(s, token)
	suffix := ""
	if len(s) > snippetBytes {
		cut := snippetBytes
		for cut > snippetBytes-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s, suffix = s[:cut], "…"
	}
	q := strconv.Quote(s) + suffix
	if containsAny(q, secretForms(token)) {
		return "(text not shown)"
	}
	return q
}

// clip is s as it is (it is a known-safe quoted challenge), shortened like
// snippet when long, and hidden if it would show the token.
func clip(s, token string) string {
	if len(s) > snippetBytes {
		return snippet(s, token)
	}
	if containsAny(s, secretForms(token)) || !utf8.ValidString(s) ||
		strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return snippet(s, token)
	}
	return s
}
