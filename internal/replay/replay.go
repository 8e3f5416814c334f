// Package replay starts replays: the events of an account ingested in a
// time range sent again to its webhook, in ingest order, each with a fresh
// retry window (the delivery engine's maintenance queues them in chunks).
// The API and the dashboard call it; it speaks no HTTP. Its errors are
// problem.Errors saying what to fix, or the store's.
package replay

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

// Waker is told that new deliveries may be due.
type Waker interface{ Wake() }

// Service starts replays. Its fields are its dependencies.
type Service struct {
	Store store.Store
	Waker Waker
	Now   func() time.Time
	Log   *slog.Logger
}

// Params are the arguments of Count and Start.
type Params struct {
	AccountID string
	// EndpointID is the endpoint to re-send to; 0 is the primary one (PUT
	// /v1/webhook).
	EndpointID int64
	// From is required; To defaults to now, and a To in the future is now.
	From, To time.Time
	// OnlyFailed covers only the events whose delivery failed.
	OnlyFailed bool
}

// rangeAt checks a replay's time range at now: from is required and before
// to; an empty to means now; a to in the future is now.
func rangeAt(from, to, now time.Time) (time.Time, time.Time, error) {
	if to.IsZero() || to.After(now) {
		to = now
	}
	if from.IsZero() {
		return time.Time{}, time.Time{}, problem.Invalid(`"from" is required: the start of the range of events to replay (RFC 3339)`)
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, problem.Invalid(`"from" (%s) must be before "to" (%s, or now when to is absent or in the future)`,
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

func (s *Service) params(p Params) (store.ReplayParams, error) {
	now := s.Now()
	from, to, err := rangeAt(p.From, p.To, now)
	if err != nil {
		return store.ReplayParams{}, err
	}
	return store.ReplayParams{AccountID: p.AccountID, EndpointID: p.EndpointID, From: from, To: to, OnlyFailed: p.OnlyFailed, Now: now}, nil
}

// Count returns how many events a replay with p would cover now, and the
// range it would cover.
func (s *Service) Count(ctx context.Context, p Params) (n int, from, to time.Time, err error) {
	sp, err := s.params(p)
	if err != nil {
		return 0, time.Time{}, time.Time{}, err
	}
	n, err = s.Store.CountReplay(ctx, sp)
	if errors.Is(err, store.ErrNotFound) {
		err = noEndpoint(p.EndpointID)
	}
	return n, sp.From, sp.To, err
}

func noEndpoint(id int64) error {
	return problem.NotFound("not_found", "this account has no endpoint %s%d; GET /v1/webhooks lists them", bahasha.EndpointPrefix, id)
}

// Start creates a replay, queues its first chunk at once and wakes the
// engine (whose maintenance queues the rest). problem.ErrNoWebhook when the
// account has no webhook (no such endpoint, for an EndpointID).
func (s *Service) Start(ctx context.Context, p Params) (bahasha.Replay, error) {
	sp, err := s.params(p)
	if err != nil {
		return bahasha.Replay{}, err
	}
	rp, err := s.Store.CreateReplay(ctx, sp)
	if errors.Is(err, store.ErrNotFound) && p.EndpointID != 0 {
		return bahasha.Replay{}, noEndpoint(p.EndpointID)
	}
	if errors.Is(err, store.ErrNotFound) {
		if es, lerr := s.Store.Endpoints(ctx, p.AccountID); lerr == nil && len(es) > 0 {
			return bahasha.Replay{}, problem.NotFound("no_webhook", "this account has no primary webhook (PUT /v1/webhook); name the endpoint to replay to with \"endpoint_id\" (GET /v1/webhooks lists them)")
		}
		return bahasha.Replay{}, problem.ErrNoWebhook
	}
	if err != nil {
		return bahasha.Replay{}, err
	}
	if _, err := s.Store.AdvanceReplays(ctx, store.AdvanceReplaysParams{Now: s.Now(), Limit: store.ReplayChunk}); err != nil && s.Log != nil {
		s.Log.Warn("queuing the first replayed events; the engine will", "err", err)
	}
	s.Waker.Wake()
	if fresh, err := s.Store.Replay(ctx, store.GetReplayParams{AccountID: p.AccountID, ReplayID: rp.ID}); err == nil {
		rp = fresh
	}
	return rp, nil
}

// Status names where a replay is: queuing, delivering or finished.
func Status(r bahasha.Replay) string {
	switch {
	case r.Finished():
		return "finished"
	case r.QueuingDone:
		return "delivering"
	}
	return "queuing"
}

// Progress is the finished share of a replay's events, from 0 to 1.
func Progress(r bahasha.Replay) float64 {
	if r.Finished() {
		return 1
	}
	if r.Total == 0 {
		return 0
	}
	return min(1, float64(r.Done())/float64(r.Total))
}
