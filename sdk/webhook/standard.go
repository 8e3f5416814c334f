package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// The headers of the Standard Webhooks v1 scheme
// (https://www.standardwebhooks.com/), which Bahasha sends with every
// delivery beside X-Hub-Signature-256.
const (
	// HeaderWebhookID carries the delivery's id: the same on every retry of
	// one POST, so a receiver can use it as an idempotency key.
	HeaderWebhookID = "webhook-id"
	// HeaderWebhookTimestamp carries the time of the attempt, in Unix
	// seconds, as decimal digits. It changes on every retry.
	HeaderWebhookTimestamp = "webhook-timestamp"
	// HeaderWebhookSignature carries the signatures: space-separated
	// "<version>,<signature>" entries, of which this package checks the
	// "v1," ones. During a secret rotation there is one per secret.
	HeaderWebhookSignature = "webhook-signature"
)

// SigningSecretPrefix begins every Standard Webhooks signing secret; the
// rest of the secret is the HMAC key in standard base64.
const SigningSecretPrefix = "whsec_"

// DefaultTolerance is how far a webhook-timestamp may be from the
// receiver's clock, either way, unless a tolerance says otherwise: the
// five minutes of the reference libraries.
const DefaultTolerance = 5 * time.Minute

// signingSecretSize is the size of the key NewSigningSecret makes: the
// specification's minimum, 24 bytes (192 bits).
const signingSecretSize = 24

// standardSignatureLen is the length of a v1 signature after "v1,": a
// SHA-256 sum in padded standard base64.
var standardSignatureLen = base64.StdEncoding.EncodedLen(sha256.Size)

// The header keys as an http.Header holds them, so that looking them up
// neither canonicalizes nor allocates.
var (
	canonicalWebhookID        = http.CanonicalHeaderKey(HeaderWebhookID)
	canonicalWebhookTimestamp = http.CanonicalHeaderKey(HeaderWebhookTimestamp)
	canonicalWebhookSignature = http.CanonicalHeaderKey(HeaderWebhookSignature)
)

// Errors of the Standard Webhooks functions. Test for them with errors.Is:
// the error returned may wrap one with details.
var (
	// ErrMissingStandardHeaders: webhook-id, webhook-timestamp or
	// webhook-signature is missing or empty. The error returned names the
	// missing ones.
	ErrMissingStandardHeaders = errors.New("webhook: missing Standard Webhooks headers")
	// ErrMalformedStandardHeader: webhook-timestamp is not a Unix time in
	// seconds written as decimal digits (or, from SignStandard and
	// SetStandardHeaders, the timestamp is before 1970).
	ErrMalformedStandardHeader = errors.New("webhook: malformed Standard Webhooks header")
	// ErrTimestampOutOfTolerance: webhook-timestamp is further from the
	// receiver's clock than the tolerance. The error returned says whether
	// the delivery is too old (a replay, or a slow clock) or in the future.
	ErrTimestampOutOfTolerance = errors.New("webhook: webhook-timestamp is outside the tolerance")
	// ErrStandardSignatureMismatch: no v1 signature of the webhook-signature
	// header was made with any of the signing secrets over this webhook-id,
	// webhook-timestamp and body. Entries of other versions (such as v1a)
	// are ignored, so a header with none but them ends here too.
	ErrStandardSignatureMismatch = errors.New("webhook: no v1 signature in the webhook-signature header matches; check the signing secret and that the body is verified exactly as received, before any parsing")
	// ErrInvalidSigningSecret: a signing secret is not "whsec_" (optional)
	// followed by a non-empty key in padded standard base64.
	ErrInvalidSigningSecret = errors.New("webhook: invalid signing secret; expected whsec_ followed by the key in standard base64")
	// ErrNoSigningSecret: Standard Webhooks verification or signing was
	// asked for with no signing secret.
	ErrNoSigningSecret = errors.New("webhook: no signing secret configured")
	// ErrInvalidMessageID: SignStandard was given a webhook-id that is
	// empty, or has a space, a full stop or a byte that is not printable
	// ASCII. (The signed content is delimited by full stops, so the
	// specification forbids them in the id.)
	ErrInvalidMessageID = errors.New("webhook: invalid webhook-id; it must be non-empty printable ASCII without spaces or full stops")
)

var errMalformedTimestamp = fmt.Errorf("%w: %s must be the Unix time in seconds, as decimal digits", ErrMalformedStandardHeader, HeaderWebhookTimestamp)

// NewSigningSecret returns a new Standard Webhooks signing secret: "whsec_"
// followed by 24 bytes read from random, in standard base64. A nil random
// means crypto/rand.Reader. Give each endpoint its own secret.
func NewSigningSecret(random io.Reader) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	var key [signingSecretSize]byte
	if _, err := io.ReadFull(random, key[:]); err != nil {
		return "", fmt.Errorf("webhook: generating a signing secret: %w", err)
	}
	return SigningSecretPrefix + base64.StdEncoding.EncodeToString(key[:]), nil
}

// SignStandard returns the v1 Standard Webhooks signature of a delivery:
// "v1," followed by the standard base64 HMAC-SHA256, keyed with secret's
// key, of msgID, ".", the decimal Unix seconds of timestamp, "." and body.
// secret is "whsec_" and the key in base64; like the reference libraries,
// it accepts the key without the prefix too. Bahasha signs every delivery
// this way, over the exact bytes it sends; with several secrets, the
// webhook-signature header is their signatures joined by spaces (see
// SetStandardHeaders).
//
// It returns an error that is ErrInvalidSigningSecret when secret does not
// decode to a non-empty key, ErrInvalidMessageID when msgID cannot be a
// webhook-id, or ErrMalformedStandardHeader when timestamp is before 1970.
func SignStandard(secret, msgID string, timestamp time.Time, body []byte) (string, error) {
	key, err := decodeSigningSecret(secret)
	if err != nil {
		return "", err
	}
	if err := checkSigningInput(msgID, timestamp); err != nil {
		return "", err
	}
	m := newStandardMAC(key)
	return "v1," + string(m.sign(msgID, timestamp.Unix(), body)), nil
}

// SetStandardHeaders sets the three Standard Webhooks headers of a delivery
// in h: webhook-id to msgID, webhook-timestamp to the Unix seconds of
// timestamp, and webhook-signature to the SignStandard signature of each
// secret in turn, joined by spaces (the current secret and, during a
// rotation, the previous one). Empty secrets are ignored. It returns
// SignStandard's errors, or ErrNoSigningSecret; h is unchanged on error.
func SetStandardHeaders(h http.Header, secrets []string, msgID string, timestamp time.Time, body []byte) error {
	if err := checkSigningInput(msgID, timestamp); err != nil {
		return err
	}
	var sigs []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		sig, err := SignStandard(s, msgID, timestamp, body)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return ErrNoSigningSecret
	}
	h.Set(HeaderWebhookID, msgID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(timestamp.Unix(), 10))
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
	return nil
}

// VerifyStandard checks a delivery's Standard Webhooks headers in header
// against body, the raw bytes received before any parsing, with any of
// secrets (each "whsec_…", or the bare base64 key; empty ones are ignored):
//
//  1. webhook-id, webhook-timestamp and webhook-signature must all be
//     present and non-empty, else ErrMissingStandardHeaders, naming the
//     missing ones.
//  2. webhook-timestamp must be decimal digits, else
//     ErrMalformedStandardHeader.
//  3. It must be within tolerance of now, either way (at most tolerance
//     old, at most tolerance ahead), else ErrTimestampOutOfTolerance. A
//     tolerance of 0 or less means DefaultTolerance; a zero now means
//     time.Now().
//  4. Some space-separated "v1," entry of webhook-signature (of any of its
//     values) must be the signature of webhook-id, webhook-timestamp and
//     body with one of secrets, computed as SignStandard does and compared
//     in constant time, else ErrStandardSignatureMismatch. Entries of other
//     versions are ignored. A secret that does not decode is
//     ErrInvalidSigningSecret, and no secret at all ErrNoSigningSecret.
//
// It returns nil when every check passes. The signature binds the id and
// the timestamp to the body, so the tolerance bounds how long a captured
// delivery can be replayed; to refuse replays within it too, remember the
// webhook-ids already processed. header is looked up as http.Header.Get
// does, so build it with Set or take it from an *http.Request.
func VerifyStandard(secrets []string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if now.IsZero() {
		now = time.Now()
	}
	return newStandardKeyring(secrets).verify(header, body, now, tolerance)
}

// Verifier checks the signatures of deliveries for a receiver that serves
// its own HTTP (Handler does the same checks itself), and parses them:
//
//   - When AppSecrets has a non-empty secret, the X-Hub-Signature-256
//     header must be valid with one of them (VerifySignatureAny).
//   - When SigningSecrets has a non-empty secret, the Standard Webhooks
//     headers must be valid with one of them (VerifyStandard, with
//     Tolerance and the time Now returns).
//
// Both are required when both are set. A Verifier with neither refuses
// every delivery with an error that wraps ErrNoSecret: it never accepts an
// unverified body.
//
// Set the fields before the first call and do not change them afterwards;
// the secrets are decoded and keyed once, on the first call. A Verifier is
// safe for concurrent use; keep one for the life of the program rather than
// making one per request.
type Verifier struct {
	// AppSecrets are the app secrets X-Hub-Signature-256 may be made with:
	// the current one and, during a rotation, the previous one.
	AppSecrets []string
	// SigningSecrets are the endpoint's Standard Webhooks signing secrets
	// ("whsec_…"): the current one and, during a rotation, the previous
	// one.
	SigningSecrets []string
	// Tolerance is how far webhook-timestamp may be from Now, either way;
	// 0 means DefaultTolerance.
	Tolerance time.Duration
	// Now returns the current time; nil means time.Now. Set it in tests.
	Now func() time.Time

	once   sync.Once
	checks *checks
}

// Verify checks the signatures of a delivery as the Verifier's doc says:
// header is the request's header and body the exact bytes received, before
// any parsing. It returns nil, or an error that is one of VerifySignature's
// or VerifyStandard's, or wraps ErrNoSecret.
func (v *Verifier) Verify(header http.Header, body []byte) error {
	v.once.Do(func() {
		v.checks = newChecks(v.AppSecrets, v.SigningSecrets, v.Tolerance, v.Now)
	})
	return v.checks.verify(header, body, true)
}

// Parse is Verify followed by whatsapp.Parse: the Handler's checks and
// parsing in one call. It returns the notification, or an error: one of
// Verify's (answer 401) or one that wraps whatsapp.ErrInvalidNotification
// (answer 400).
func (v *Verifier) Parse(header http.Header, body []byte) (*whatsapp.Notification, error) {
	if err := v.Verify(header, body); err != nil {
		return nil, err
	}
	return whatsapp.Parse(body)
}

var errNoVerifierSecret = fmt.Errorf("%w: set AppSecrets, SigningSecrets or both", ErrNoSecret)

// checks are the signature checks of a Handler or a Verifier.
type checks struct {
	hub       *keyring         // X-Hub-Signature-256; checked when it holds a key
	std       *standardKeyring // Standard Webhooks; checked when configured
	tolerance time.Duration
	now       func() time.Time
}

func newChecks(appSecrets, signingSecrets []string, tolerance time.Duration, now func() time.Time) *checks {
	if now == nil {
		now = time.Now
	}
	return &checks{hub: newKeyring(appSecrets), std: newStandardKeyring(signingSecrets), tolerance: tolerance, now: now}
}

// verify runs the configured checks. With none configured, it accepts the
// delivery unless required.
func (c *checks) verify(header http.Header, body []byte, required bool) error {
	hub, std := len(c.hub.macs) > 0, c.std.configured()
	if !hub && !std {
		if required {
			return errNoVerifierSecret
		}
		return nil
	}
	if hub {
		if err := c.hub.verify(body, header.Get(SignatureHeader)); err != nil {
			return err
		}
	}
	if std {
		return c.std.verify(header, body, c.now(), c.tolerance)
	}
	return nil
}

// decodeSigningSecret returns the HMAC key of a signing secret.
func decodeSigningSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SigningSecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSigningSecret
	}
	return key, nil
}

// checkSigningInput checks that msgID and timestamp can be sent as
// webhook-id and webhook-timestamp and verified.
func checkSigningInput(msgID string, timestamp time.Time) error {
	if msgID == "" {
		return ErrInvalidMessageID
	}
	for i := 0; i < len(msgID); i++ {
		if c := msgID[i]; c <= ' ' || c >= 0x7f || c == '.' {
			return ErrInvalidMessageID
		}
	}
	if timestamp.Unix() < 0 {
		return fmt.Errorf("%w: the timestamp %s is before 1970", ErrMalformedStandardHeader, timestamp.UTC().Format(time.RFC3339))
	}
	return nil
}

// standardKeyring holds the signing secrets' keys, each as a pool of
// HMAC-SHA256s keyed with it, as keyring does for app secrets.
type standardKeyring struct {
	macs []sync.Pool // of *standardMAC
	err  error       // ErrInvalidSigningSecret when a secret did not decode
}

// newStandardKeyring returns the keyring of secrets; empty ones are
// ignored.
func newStandardKeyring(secrets []string) *standardKeyring {
	k := &standardKeyring{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		key, err := decodeSigningSecret(s)
		if err != nil {
			k.err = err
			continue
		}
		k.macs = append(k.macs, sync.Pool{New: func() any { return newStandardMAC(key) }})
	}
	return k
}

// configured reports whether any signing secret was given, valid or not.
func (k *standardKeyring) configured() bool { return len(k.macs) > 0 || k.err != nil }

// verify is VerifyStandard with the keys of k.
func (k *standardKeyring) verify(header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id := strings.TrimSpace(firstValue(header, canonicalWebhookID))
	ts := strings.TrimSpace(firstValue(header, canonicalWebhookTimestamp))
	sigs := header[canonicalWebhookSignature]
	if noSig := !hasNonBlank(sigs); id == "" || ts == "" || noSig {
		return missingStandardHeaders(id == "", ts == "", noSig)
	}
	unix, ok := parseUnixSeconds(ts)
	if !ok {
		return errMalformedTimestamp
	}
	if err := checkTolerance(unix, now, tolerance); err != nil {
		return err
	}
	if k.err != nil {
		return k.err
	}
	if len(k.macs) == 0 {
		return ErrNoSigningSecret
	}
	for i := range k.macs {
		m := k.macs[i].Get().(*standardMAC)
		ok := matchesV1(m.sign(id, unix, body), sigs)
		k.macs[i].Put(m)
		if ok {
			return nil
		}
	}
	return ErrStandardSignatureMismatch
}

// matchesV1 reports whether a "v1," entry of the signature header values
// is want, the base64 signature, comparing in constant time.
func matchesV1(want []byte, values []string) bool {
	var got [64]byte // room for a signature; copied so that comparing allocates nothing
	for _, v := range values {
		for entry := range strings.FieldsSeq(v) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" || len(sig) != len(want) {
				continue // the length of a signature is no secret
			}
			if hmac.Equal(got[:copy(got[:], sig)], want) {
				return true
			}
		}
	}
	return false
}

// maxPooledPrefix caps the scratch a pooled standardMAC keeps, so that one
// huge webhook-id does not stay in memory.
const maxPooledPrefix = 1 << 10

// standardMAC is an HMAC-SHA256 keyed with one signing secret, with room
// for what it signs before the body and for the signature, so that signing
// allocates nothing.
type standardMAC struct {
	mac    hash.Hash
	prefix []byte // msgID "." timestamp "."
	sum    [sha256.Size]byte
	b64    [64]byte
}

func newStandardMAC(key []byte) *standardMAC {
	return &standardMAC{mac: hmac.New(sha256.New, key), prefix: make([]byte, 0, 64)}
}

// sign returns the base64 signature of msgID, unix and body, in m's
// buffer: valid until the next call.
func (m *standardMAC) sign(msgID string, unix int64, body []byte) []byte {
	p := append(m.prefix[:0], msgID...)
	p = append(p, '.')
	p = strconv.AppendInt(p, unix, 10)
	p = append(p, '.')
	m.mac.Reset()
	m.mac.Write(p)
	m.mac.Write(body)
	if cap(p) <= maxPooledPrefix {
		m.prefix = p
	}
	out := m.b64[:standardSignatureLen]
	base64.StdEncoding.Encode(out, m.mac.Sum(m.sum[:0]))
	return out
}

func firstValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func hasNonBlank(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

func missingStandardHeaders(id, ts, sig bool) error {
	var names []string
	if id {
		names = append(names, HeaderWebhookID)
	}
	if ts {
		names = append(names, HeaderWebhookTimestamp)
	}
	if sig {
		names = append(names, HeaderWebhookSignature)
	}
	return fmt.Errorf("%w: %s", ErrMissingStandardHeaders, strings.Join(names, ", "))
}

// parseUnixSeconds parses a webhook-timestamp: decimal digits only (no
// sign, no fraction), at most what an int64 holds.
func parseUnixSeconds(s string) (int64, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checkTolerance checks that the Unix time unix is within tolerance of now.
func checkTolerance(unix int64, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	age := now.Sub(time.Unix(unix, 0)) // saturates rather than overflows
	switch {
	case age > tolerance:
		return fmt.Errorf("%w: too old, sent %v ago with a tolerance of %v (a replayed delivery, or a wrong clock)", ErrTimestampOutOfTolerance, age.Truncate(time.Second), tolerance)
	case age < -tolerance:
		ahead := time.Unix(unix, 0).Sub(now)
		return fmt.Errorf("%w: in the future, %v ahead of this host's clock with a tolerance of %v (a wrong clock)", ErrTimestampOutOfTolerance, ahead.Truncate(time.Second), tolerance)
	}
	return nil
}
