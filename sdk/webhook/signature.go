package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// SignatureHeader is the header that carries a delivery's signature.
const SignatureHeader = "X-Hub-Signature-256"

const signaturePrefix = "sha256="

// Errors of [VerifySignature]. Test for them with errors.Is.
var (
	// ErrMissingSignature: the request has no X-Hub-Signature-256 header.
	ErrMissingSignature = errors.New("webhook: missing " + SignatureHeader + " header")
	// ErrMalformedSignature: the header is not "sha256=" and 64 hex digits.
	ErrMalformedSignature = errors.New("webhook: malformed " + SignatureHeader + " header; expected sha256=<64 hex digits>")
	// ErrSignatureMismatch: the signature is well formed but was not made
	// over this body with any of the app secrets.
	ErrSignatureMismatch = errors.New("webhook: signature does not match the body; check the app secret and that the body is verified exactly as received, before any parsing")
	// ErrNoSecret: verification was asked for with no app secret.
	ErrNoSecret = errors.New("webhook: no app secret configured")
)

// Sign returns the X-Hub-Signature-256 value of body: "sha256=" followed by
// the lowercase hex HMAC-SHA256 of body keyed with appSecret. Bahasha signs
// every delivery this way, over the exact bytes it sends.
func Sign(appSecret string, body []byte) string {
	var sum [sha256.Size]byte
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	buf := make([]byte, len(signaturePrefix)+hex.EncodedLen(sha256.Size))
	copy(buf, signaturePrefix)
	hex.Encode(buf[len(signaturePrefix):], mac.Sum(sum[:0]))
	return string(buf)
}

// VerifySignature checks that header, the X-Hub-Signature-256 value of a
// request, is the signature of body with appSecret. body must be the raw bytes
// received, before any parsing or re-encoding. The comparison takes constant
// time. It returns nil, or an error that is one of ErrMissingSignature,
// ErrMalformedSignature, ErrSignatureMismatch and ErrNoSecret.
func VerifySignature(appSecret string, body []byte, header string) error {
	return newKeyring([]string{appSecret}).verify(body, header)
}

// VerifySignatureAny is [VerifySignature] with several app secrets, any of
// which may have made the signature: during a rotation, accept the new secret
// and the old one until the old one is retired. Empty secrets are ignored.
func VerifySignatureAny(appSecrets []string, body []byte, header string) error {
	return newKeyring(appSecrets).verify(body, header)
}

// Parse verifies body's signature (header is its X-Hub-Signature-256) with
// any of appSecrets, then parses it: the Handler's X-Hub-Signature-256
// check, for a receiver that serves its own HTTP. It returns the
// notification, or an error that is one of VerifySignature's or wraps
// whatsapp.ErrInvalidNotification. It does not look at the Standard
// Webhooks headers; to check them too (or instead), use a [Verifier] and
// its Parse method, which take the whole http.Header.
func Parse(body []byte, header string, appSecrets ...string) (*whatsapp.Notification, error) {
	if err := newKeyring(appSecrets).verify(body, header); err != nil {
		return nil, err
	}
	return whatsapp.Parse(body)
}

// keyring holds the app secrets a signature may be made with, each as a
// pool of HMAC-SHA256s keyed with it (keying one costs more than using it).
type keyring struct {
	macs []sync.Pool
}

// newKeyring returns the keyring of secrets; empty ones are ignored.
func newKeyring(secrets []string) *keyring {
	k := &keyring{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		key := []byte(s)
		k.macs = append(k.macs, sync.Pool{New: func() any { return &pooledMAC{mac: hmac.New(sha256.New, key)} }})
	}
	return k
}

// verify checks header against body with each secret, in constant time.
func (k *keyring) verify(body []byte, header string) error {
	got, err := decodeSignature(header)
	if err != nil {
		return err
	}
	if len(k.macs) == 0 {
		return ErrNoSecret
	}
	for i := range k.macs {
		m := k.macs[i].Get().(*pooledMAC)
		m.mac.Reset()
		m.mac.Write(body)
		ok := hmac.Equal(m.mac.Sum(m.sum[:0]), got[:])
		k.macs[i].Put(m)
		if ok {
			return nil
		}
	}
	return ErrSignatureMismatch
}

// pooledMAC is an HMAC-SHA256 keyed with one app secret, with room for its
// sum (a sum on the stack would escape through the hash.Hash interface).
type pooledMAC struct {
	mac hash.Hash
	sum [sha256.Size]byte
}

func decodeSignature(header string) (sig [sha256.Size]byte, err error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return sig, ErrMissingSignature
	}
	if len(header) != len(signaturePrefix)+hex.EncodedLen(sha256.Size) ||
		!strings.EqualFold(header[:len(signaturePrefix)], signaturePrefix) {
		return sig, ErrMalformedSignature
	}
	if _, err := hex.Decode(sig[:], []byte(header[len(signaturePrefix):])); err != nil {
		return sig, ErrMalformedSignature
	}
	return sig, nil
}
