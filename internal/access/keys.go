package access

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

// MaxKeys caps an account's unrevoked API keys.
const MaxKeys = 50

// CreateKeyParams are the arguments of CreateKey.
type CreateKeyParams struct {
	AccountID string
	Name      string
	Scope     bahasha.KeyScope
}

// CreateKey makes a new API key and returns it with the key itself, which
// is shown once and never stored.
func (s *Service) CreateKey(ctx context.Context, a Actor, p CreateKeyParams) (bahasha.APIKey, string, error) {
	name := strings.TrimSpace(p.Name)
	switch {
	case name == "":
		return bahasha.APIKey{}, "", problem.Invalid(`give the key a "name" that says where it is used, such as "CI" or "order service"`)
	case utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bahasha.APIKey{}, "", problem.Invalid(`the "name" must be one line of at most 100 characters`)
	}
	if p.Scope == "" {
		p.Scope = bahasha.ScopeFull
	}
	if !p.Scope.Valid() {
		return bahasha.APIKey{}, "", problem.Invalid(`"scope" must be full (every route), send (the Messages API only) or read (deliveries and settings, no secrets)`)
	}
	keys, err := s.store.APIKeys(ctx, p.AccountID)
	if err != nil {
		return bahasha.APIKey{}, "", err
	}
	live := 0
	for _, k := range keys {
		if !k.Revoked() {
			live++
		}
	}
	if live >= MaxKeys {
		return bahasha.APIKey{}, "", problem.New(http.StatusConflict, "too_many_keys", "this account has %d API keys, the most it may have; revoke one first", MaxKeys)
	}
	t, err := accounts.Token(s.rand, 32)
	if err != nil {
		return bahasha.APIKey{}, "", err
	}
	key := accounts.KeyPrefix + t
	k, err := s.store.CreateAPIKey(ctx, store.CreateAPIKeyParams{AccountID: p.AccountID, KeyHash: accounts.HashKey(key), Name: name,
		Scope: p.Scope, Hint: accounts.KeyHint(key), CreatedBy: a.Label, Now: s.now()})
	if err != nil {
		return bahasha.APIKey{}, "", err
	}
	s.Record(ctx, a, p.AccountID, "api_key.created", k.ID, map[string]any{"name": k.Name, "scope": k.Scope})
	return k, key, nil
}

// RevokeKey revokes one of an account's keys: from this moment it is
// refused on every node, and the dashboard sessions opened with it end.
func (s *Service) RevokeKey(ctx context.Context, a Actor, accountID, keyID string) (bahasha.APIKey, error) {
	k, err := s.store.RevokeAPIKey(ctx, store.RevokeAPIKeyParams{AccountID: accountID, KeyID: keyID, Now: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		return bahasha.APIKey{}, problem.NotFound("no_key", "this account has no unrevoked API key %s; list them with GET /v1/api_keys", truncate(keyID, 40))
	}
	if err != nil {
		return bahasha.APIKey{}, err
	}
	s.Record(ctx, a, accountID, "api_key.revoked", k.ID, map[string]any{"name": k.Name, "scope": k.Scope})
	return k, nil
}

// Keys lists an account's API keys, newest first.
func (s *Service) Keys(ctx context.Context, accountID string) ([]bahasha.APIKey, error) {
	return s.store.APIKeys(ctx, accountID)
}

// Touches records when keys were last used, at most once a minute per key
// and node, so that using a key costs no write per request.
type Touches struct {
	store store.Store
	every time.Duration
	log   interface {
		Warn(msg string, args ...any)
	}
	mu   sync.Mutex
	last map[string]time.Time
}

// NewTouches returns a recorder writing at most every interval per key.
func NewTouches(s store.Store, every time.Duration, log interface{ Warn(string, ...any) }) *Touches {
	return &Touches{store: s, every: every, log: log, last: map[string]time.Time{}}
}

// Used records that the key was used at now, unless it was recorded less
// than the interval before.
func (t *Touches) Used(ctx context.Context, keyID string, now time.Time) {
	t.mu.Lock()
	if last, ok := t.last[keyID]; ok && now.Sub(last) < t.every {
		t.mu.Unlock()
		return
	}
	if len(t.last) > 10000 {
		clear(t.last)
	}
	t.last[keyID] = now
	t.mu.Unlock()
	if err := t.store.TouchAPIKey(ctx, store.TouchAPIKeyParams{KeyID: keyID, Now: now}); err != nil {
		t.log.Warn("last use of an API key not recorded", "key", keyID, "err", err)
	}
}
