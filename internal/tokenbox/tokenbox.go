// Package tokenbox keeps secrets Bahasha must send on (the Graph API access
// tokens of live numbers) encrypted at rest: AES-256-GCM (the standard
// library's) with a key derived from BAHASHA_TOKEN_KEY, each secret with
// a fresh random nonce. The store holds only the sealed bytes.
package tokenbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MinKeyLength is the shortest BAHASHA_TOKEN_KEY accepted.
const MinKeyLength = 32

// version prefixes sealed bytes, so that the scheme can change.
const version = 1

// ErrOpen: the sealed bytes were not made with this key (or are damaged).
var ErrOpen = errors.New("tokenbox: the token cannot be decrypted with BAHASHA_TOKEN_KEY (was it changed?)")

// Box seals and opens secrets with one key.
type Box struct{ aead cipher.AEAD }

// New returns the box of key (at least MinKeyLength characters).
func New(key string) (*Box, error) {
	if len(key) < MinKeyLength {
		return nil, fmt.Errorf("BAHASHA_TOKEN_KEY must be at least %d characters (it has %d)", MinKeyLength, len(key))
	}
	k, err := hkdf.Key(sha256.New, []byte(key), nil, "bahasha access tokens v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts secret; label (the phone number id) is bound to it, so a
// sealed token copied to another number does not open.
func (b *Box) Seal(secret, label string) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), 1+b.aead.NonceSize()+len(secret)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, []byte(secret), []byte(label)), nil
}

// Open decrypts what Seal made for label.
func (b *Box) Open(sealed []byte, label string) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != version {
		return "", ErrOpen
	}
	plain, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(label))
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}
