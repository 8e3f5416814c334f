// Package registration registers a business's webhook: the verification
// handshake (GET hub.mode=subscribe, hub.verify_token, hub.challenge),
// and the endpoint saved only when it passes. The API and the dashboard
// call it; it speaks no HTTP of its own. Its errors are problem.Errors
// saying what to fix, or the store's.
package registration

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// MaxVerifyTokenLength caps the verification token.
const MaxVerifyTokenLength = 512

// Waker is told that new deliveries may be due.
type Waker interface{ Wake() }

// Service registers webhooks. Its fields are its dependencies.
type Service struct {
	Store    store.Store
	Verifier *handshake.Verifier
	Waker    Waker
	Now      func() time.Time
	// Log gets the handshakes' outcomes (never a token or a URL).
	Log *slog.Logger
}

// verify runs the handshake for an account's endpoint (endpoint is "" for
// a new one) and logs its outcome.
func (s *Service) verify(ctx context.Context, accountID, endpoint, rawURL, token string, headers map[string]string) handshake.Result {
	res := s.Verifier.VerifyWith(ctx, rawURL, token, headers)
	if s.Log != nil {
		attrs := []any{"account", accountID, "status", res.StatusCode, "duration", res.Duration.Round(time.Millisecond).String()}
		if endpoint != "" {
			attrs = append(attrs, "endpoint", endpoint)
		}
		if res.OK {
			s.Log.Info("handshake passed", attrs...)
		} else {
			s.Log.Info("handshake failed", append(attrs, "reason", string(res.Reason))...)
		}
	}
	return res
}

// Params are the arguments of Register.
type Params struct {
	AccountID   string
	URL         string
	VerifyToken string
}

// Register runs the handshake against p.URL with p.VerifyToken and, when
// the endpoint answers it, saves the webhook (deliveries still pending go
// to it) and wakes the engine. The handshake's Result says what happened
// either way (an empty or invalid URL or token is a Result too); when it
// did not pass nothing is saved and the endpoint is the zero value. A token
// longer than MaxVerifyTokenLength is a problem.Error.
func (s *Service) Register(ctx context.Context, p Params) (bahasha.Endpoint, handshake.Result, error) {
	// The adapters word the empty fields in their own terms; a URL or
	// token the handshake cannot use comes back in the Result.
	if len(p.VerifyToken) > MaxVerifyTokenLength {
		return bahasha.Endpoint{}, handshake.Result{}, problem.Invalid("the verification token is longer than %d characters; use a shorter one", MaxVerifyTokenLength)
	}
	res := s.verify(ctx, p.AccountID, "", p.URL, p.VerifyToken, nil)
	if !res.OK {
		return bahasha.Endpoint{}, res, nil
	}
	secret, err := webhook.NewSigningSecret(nil)
	if err != nil {
		return bahasha.Endpoint{}, res, err
	}
	now := s.Now()
	// Registering the webhook again enables it when it was disabled (its
	// waiting deliveries flow, in order), and says so with
	// endpoint.enabled; the write is conditional on what was read, so the
	// notice matches what happened.
	var e bahasha.Endpoint
	var noticed bool
	for attempt := 0; ; attempt++ {
		put := store.PutEndpointParams{AccountID: p.AccountID, URL: p.URL, VerifyToken: p.VerifyToken,
			VerifiedAt: now, Secret: secret, Now: now}
		switch cur, gerr := s.Store.Endpoint(ctx, p.AccountID); {
		case errors.Is(gerr, store.ErrNotFound):
		case gerr != nil:
			return bahasha.Endpoint{}, res, gerr
		default:
			put.IfDisabled = &cur.Disabled
			if cur.Disabled {
				put.Notices = s.notice(cur, bahasha.NoticeEndpointEnabled, map[string]any{
					"reason": "registered again with PUT /v1/webhook or Settings → Webhooks", "previous_reason": cur.DisabledReason})
			}
		}
		e, err = s.Store.PutEndpoint(ctx, put)
		noticed = len(put.Notices) > 0
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			break
		}
	}
	if err != nil {
		return bahasha.Endpoint{}, res, err
	}
	if noticed {
		s.flush(ctx)
	}
	s.Waker.Wake()
	return e, res, nil
}
