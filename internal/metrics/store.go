package metrics

import (
	"context"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// Store wraps st so that the operations of the delivery path, the ingest
// and the API's hottest reads are timed (bahasha_store_operation_duration_seconds,
// by op) and the events it stores counted (bahasha_events_ingested_total).
// The other operations pass through untimed. A nil m returns st.
func (m *Metrics) Store(st store.Store) store.Store {
	if m == nil {
		return st
	}
	return &instrumented{Store: st, m: m}
}

type instrumented struct {
	store.Store
	m *Metrics
}

func (s *instrumented) InsertEvents(ctx context.Context, p store.InsertEventsParams) ([]store.InsertResult, error) {
	start := time.Now()
	res, err := s.Store.InsertEvents(ctx, p)
	s.m.StoreOp("insert_events", start, err)
	if err == nil {
		var statuses, messages, changes int
		for i, r := range res {
			if r.Duplicate || i >= len(p.Events) {
				continue
			}
			switch p.Events[i].Kind {
			case bahasha.KindStatus:
				statuses++
			case bahasha.KindChange:
				changes++
			default:
				messages++
			}
		}
		source := p.Source
		if source == "" {
			source = "other"
		}
		s.m.Ingested(string(bahasha.KindStatus), source, statuses)
		s.m.Ingested(string(bahasha.KindMessage), source, messages)
		s.m.Ingested(string(bahasha.KindChange), source, changes)
	}
	return res, err
}

func (s *instrumented) ClaimLanes(ctx context.Context, p store.ClaimParams) ([]store.Lane, error) {
	start := time.Now()
	lanes, err := s.Store.ClaimLanes(ctx, p)
	s.m.StoreOp("claim_lanes", start, err)
	lost := 0
	for _, l := range lanes {
		if l.Recovered {
			lost++
		}
	}
	s.m.Claimed(len(lanes), lost)
	return lanes, err
}

func (s *instrumented) CompleteLane(ctx context.Context, p store.CompleteParams) error {
	start := time.Now()
	err := s.Store.CompleteLane(ctx, p)
	s.m.StoreOp("complete_lane", start, err)
	return err
}

func (s *instrumented) NextDue(ctx context.Context, node string) (time.Time, bool, error) {
	start := time.Now()
	t, ok, err := s.Store.NextDue(ctx, node)
	s.m.StoreOp("next_due", start, err)
	return t, ok, err
}

func (s *instrumented) ExpireDeliveries(ctx context.Context, p store.ExpireParams) (int, error) {
	start := time.Now()
	n, err := s.Store.ExpireDeliveries(ctx, p)
	s.m.StoreOp("expire_deliveries", start, err)
	s.m.Finished(OutcomeExpired, n)
	return n, err
}

func (s *instrumented) TrimListenBacklogs(ctx context.Context, p store.TrimBacklogsParams) (int, error) {
	start := time.Now()
	n, err := s.Store.TrimListenBacklogs(ctx, p)
	s.m.StoreOp("trim_listen_backlogs", start, err)
	s.m.Finished(OutcomeExpired, n)
	return n, err
}

func (s *instrumented) Prune(ctx context.Context, p store.PruneParams) (int, error) {
	start := time.Now()
	n, err := s.Store.Prune(ctx, p)
	s.m.StoreOp("prune", start, err)
	return n, err
}

// KeyByHash is the API's authentication, on every request: reported as
// account_by_key too.
func (s *instrumented) KeyByHash(ctx context.Context, keyHash []byte) (bahasha.APIKey, bahasha.Account, error) {
	start := time.Now()
	k, a, err := s.Store.KeyByHash(ctx, keyHash)
	s.m.StoreOp("account_by_key", start, err)
	return k, a, err
}

func (s *instrumented) Deliveries(ctx context.Context, p store.ListDeliveriesParams) ([]bahasha.Delivery, error) {
	start := time.Now()
	ds, err := s.Store.Deliveries(ctx, p)
	s.m.StoreOp("list_deliveries", start, err)
	return ds, err
}

func (s *instrumented) Stats(ctx context.Context, p store.StatsParams) ([]bahasha.DeliveryStats, error) {
	start := time.Now()
	st, err := s.Store.Stats(ctx, p)
	s.m.StoreOp("stats", start, err)
	return st, err
}

func (s *instrumented) Snapshot(ctx context.Context, now time.Time) (store.Snapshot, error) {
	start := time.Now()
	sn, err := s.Store.Snapshot(ctx, now)
	s.m.StoreOp("snapshot", start, err)
	return sn, err
}
