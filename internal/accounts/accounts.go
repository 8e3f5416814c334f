// Package accounts onboards businesses: it creates an account with a sandbox
// WhatsApp Business Account, one sandbox phone number and a first API key,
// and it turns API keys into the hashes the store keeps. The CLI (bahasha
// accounts create), the admin API and the first start of bahasha serve all
// create accounts through it.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/tokenbox"
)

// KeyPrefix starts every API key Bahasha generates.
const KeyPrefix = "bh_"

// MinKeyLength is the shortest API key accepted (for a bootstrap key).
const MinKeyLength = 32

// ErrInvalid is wrapped by errors about bad parameters.
var ErrInvalid = errors.New("invalid account")

// Params are the arguments of Create.
type Params struct {
	// Name is the business's name (required, at most 200 characters).
	Name string
	// APIKey is the first API key; empty generates one.
	APIKey string
	// OwnerEmail, when not empty, makes the account's first owner with
	// this (checked, lower-cased) email, who has no password yet; OwnerName
	// is their name.
	OwnerEmail, OwnerName string
	Now                   time.Time
	// Rand is the randomness for ids, keys and secrets; nil is crypto/rand.
	Rand io.Reader
}

// Created is what Create made. APIKey is shown once and never stored.
type Created struct {
	Account     bahasha.Account
	PhoneNumber bahasha.PhoneNumber
	APIKey      string
	// Owner is the first owner, when Params.OwnerEmail was given.
	Owner bahasha.User
}

// Create creates an account with a sandbox phone number and an API key.
func Create(ctx context.Context, s store.Store, p Params) (Created, error) {
	name := strings.TrimSpace(p.Name)
	if name == "" {
		return Created{}, fmt.Errorf("%w: the account needs a name", ErrInvalid)
	}
	if len(name) > 200 {
		return Created{}, fmt.Errorf("%w: the name is longer than 200 characters", ErrInvalid)
	}
	r := p.Rand
	if r == nil {
		r = rand.Reader
	}
	key := p.APIKey
	if key == "" {
		k, err := Token(r, 32)
		if err != nil {
			return Created{}, err
		}
		key = KeyPrefix + k
	} else if len(key) < MinKeyLength {
		return Created{}, fmt.Errorf("%w: an API key must be at least %d characters", ErrInvalid, MinKeyLength)
	}
	for attempt := 0; ; attempt++ {
		c, err := newAccount(r, name, key, p.Now)
		if err != nil {
			return Created{}, err
		}
		cp := store.CreateAccountParams{Account: c.Account, APIKeyHash: HashKey(key), APIKeyHint: KeyHint(key),
			PhoneNumbers: []bahasha.PhoneNumber{c.PhoneNumber}}
		if p.OwnerEmail != "" {
			b := make([]byte, 8)
			if _, err := io.ReadFull(r, b); err != nil {
				return Created{}, fmt.Errorf("accounts: randomness: %w", err)
			}
			c.Owner = bahasha.User{ID: "usr_" + hex.EncodeToString(b), AccountID: c.Account.ID, Email: p.OwnerEmail, Name: strings.TrimSpace(p.OwnerName),
				Role: bahasha.RoleOwner, CreatedAt: p.Now, CreatedBy: "operator"}
			cp.Owner = c.Owner
		}
		err = s.CreateAccount(ctx, cp)
		if errors.Is(err, store.ErrConflict) && p.OwnerEmail != "" {
			if _, e := s.UserByEmail(ctx, p.OwnerEmail); e == nil {
				return Created{}, fmt.Errorf("%w: %s is already a member of an account", ErrInvalid, p.OwnerEmail)
			}
		}
		if errors.Is(err, store.ErrConflict) && p.APIKey == "" && attempt < 3 {
			continue // a random id collided: draw again
		}
		if errors.Is(err, store.ErrConflict) {
			return Created{}, fmt.Errorf("%w: that API key is already in use", ErrInvalid)
		}
		return c, err
	}
}

func newAccount(r io.Reader, name, key string, now time.Time) (Created, error) {
	id, err := Token(r, 12)
	if err != nil {
		return Created{}, err
	}
	secret, err := Token(r, 32)
	if err != nil {
		return Created{}, err
	}
	waba, err := digits(r, 15)
	if err != nil {
		return Created{}, err
	}
	pnid, err := digits(r, 15)
	if err != nil {
		return Created{}, err
	}
	local, err := digits(r, 7)
	if err != nil {
		return Created{}, err
	}
	acc := bahasha.Account{ID: "acc_" + id, Name: name, AppSecret: secret, CreatedAt: now}
	return Created{
		Account: acc,
		PhoneNumber: bahasha.PhoneNumber{ID: pnid, AccountID: acc.ID, WABAID: waba,
			DisplayPhoneNumber: "+25470" + local, Sandbox: true, CreatedAt: now},
		APIKey: key,
	}, nil
}

// KeyHint is how a key is shown once it is no longer: its first seven
// characters and its last four.
func KeyHint(key string) string {
	if len(key) < 16 {
		return ""
	}
	return key[:7] + "…" + key[len(key)-4:]
}

// HashKey returns the hash under which an API key is stored. Keys are long
// random strings, so a fast hash suffices; the key itself is never stored.
func HashKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// Token returns n random bytes from r, URL-safe base64 encoded.
func Token(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("accounts: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// digits returns n random decimal digits, the first not zero.
func digits(r io.Reader, n int) (string, error) {
	var sb strings.Builder
	for i := range n {
		lo := int64(0)
		if i == 0 {
			lo = 1
		}
		d, err := rand.Int(r, big.NewInt(10-lo))
		if err != nil {
			return "", fmt.Errorf("accounts: randomness: %w", err)
		}
		sb.WriteByte(byte('0' + lo + d.Int64()))
	}
	return sb.String(), nil
}

// AddNumberParams are the arguments of AddSandboxNumber.
type AddNumberParams struct {
	AccountID string
	// WABAID puts the number in one of the account's WABAs; empty draws a
	// new WABA.
	WABAID string
	Now    time.Time
	// Rand is the randomness of the ids (crypto/rand when nil).
	Rand io.Reader
}

// AddSandboxNumber adds a sandbox phone number to an account, with random
// ids, and returns it. The caller checks that WABAID is the account's;
// the store refuses another account's (store.ErrConflict).
func AddSandboxNumber(ctx context.Context, s store.Store, p AddNumberParams) (bahasha.PhoneNumber, error) {
	r := p.Rand
	if r == nil {
		r = rand.Reader
	}
	for attempt := 0; ; attempt++ {
		waba := p.WABAID
		if waba == "" {
			w, err := digits(r, 15)
			if err != nil {
				return bahasha.PhoneNumber{}, err
			}
			waba = w
		}
		pnid, err := digits(r, 15)
		if err != nil {
			return bahasha.PhoneNumber{}, err
		}
		local, err := digits(r, 7)
		if err != nil {
			return bahasha.PhoneNumber{}, err
		}
		n := bahasha.PhoneNumber{ID: pnid, AccountID: p.AccountID, WABAID: waba, DisplayPhoneNumber: "+25470" + local, Sandbox: true, CreatedAt: p.Now}
		err = s.AddPhoneNumber(ctx, n)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // a random id collided: draw again
		}
		return n, err
	}
}

// LiveNumberParams are the arguments of AddLiveNumber: a number of Meta's
// Cloud API, as Meta's WhatsApp Manager shows it.
type LiveNumberParams struct {
	AccountID          string
	PhoneNumberID      string
	WABAID             string
	DisplayPhoneNumber string
	Now                time.Time
}

// AddLiveNumber attaches one of Meta's phone numbers to an account: Meta's
// webhooks for it (and for its WABA) are routed to the account from then
// on. Errors wrapping ErrInvalid name the parameter that is wrong;
// store.ErrNotFound is a missing account, store.ErrConflict a number
// attached already or a WABA that is another account's.
func AddLiveNumber(ctx context.Context, s store.Store, p LiveNumberParams) (bahasha.PhoneNumber, error) {
	for _, f := range []struct{ name, value string }{{"phone_number_id", p.PhoneNumberID}, {"waba_id", p.WABAID},
		{"display_phone_number", p.DisplayPhoneNumber}} {
		if f.value == "" {
			return bahasha.PhoneNumber{}, fmt.Errorf("%w: %s is required", ErrInvalid, f.name)
		}
		if len(f.value) > 64 || !idLike(f.value, f.name == "display_phone_number") {
			return bahasha.PhoneNumber{}, fmt.Errorf("%w: %s %q is not valid: Meta's ids are digits (up to 64), a display number digits with + - ( ) and spaces",
				ErrInvalid, f.name, f.value)
		}
	}
	n := bahasha.PhoneNumber{ID: p.PhoneNumberID, AccountID: p.AccountID, WABAID: p.WABAID, DisplayPhoneNumber: p.DisplayPhoneNumber, CreatedAt: p.Now}
	return n, s.AddPhoneNumber(ctx, n)
}

// idLike reports whether s is made of digits (and, for a display number,
// the characters that format one).
func idLike(s string, display bool) bool {
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case display && strings.ContainsRune("+-() ", r):
		default:
			return false
		}
	}
	return true
}

// SetAccessToken seals token with box and stores it as the Graph API
// access token of one of the account's live numbers (rotation replaces the
// previous one at once). Errors wrapping ErrInvalid say what is wrong;
// store.ErrNotFound is a number that is not the account's.
func SetAccessToken(ctx context.Context, s store.Store, box *tokenbox.Box, accountID, phoneNumberID, token string) error {
	if box == nil {
		return fmt.Errorf("%w: set BAHASHA_TOKEN_KEY (at least %d characters) to store access tokens: they are kept encrypted with it", ErrInvalid, tokenbox.MinKeyLength)
	}
	token = strings.TrimSpace(token)
	if err := CheckAccessToken(token); err != nil {
		return err
	}
	n, err := s.PhoneNumber(ctx, store.GetPhoneNumberParams{AccountID: accountID, PhoneNumberID: phoneNumberID})
	if err != nil {
		return err
	}
	if n.Sandbox {
		return fmt.Errorf("%w: %s is a sandbox number: it sends through the sandbox carrier, with no access token", ErrInvalid, phoneNumberID)
	}
	sealed, err := box.Seal(token, phoneNumberID)
	if err != nil {
		return err
	}
	return s.SetNumberToken(ctx, store.NumberTokenParams{AccountID: accountID, PhoneNumberID: phoneNumberID, Sealed: sealed})
}

// AccessToken is the Graph API access token of one of the account's live
// numbers; store.ErrNotFound when it has none.
func AccessToken(ctx context.Context, s store.Store, box *tokenbox.Box, accountID, phoneNumberID string) (string, error) {
	sealed, err := s.NumberToken(ctx, store.GetPhoneNumberParams{AccountID: accountID, PhoneNumberID: phoneNumberID})
	if err != nil {
		return "", err
	}
	if box == nil {
		return "", fmt.Errorf("%w: the number's access token is stored encrypted, and BAHASHA_TOKEN_KEY is not set", ErrInvalid)
	}
	return box.Open(sealed, phoneNumberID)
}

// CheckAccessToken checks the form of a Graph API access token.
func CheckAccessToken(token string) error {
	token = strings.TrimSpace(token)
	if token == "" || len(token) > 4096 || strings.ContainsAny(token, " \t\r\n") {
		return fmt.Errorf("%w: access_token must be the number's Graph API access token (a system user's token), one word of at most 4096 characters", ErrInvalid)
	}
	return nil
}
