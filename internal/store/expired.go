package store

import (
	"maps"
	"slices"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// ExhaustedSet gathers, for the drivers' ExpireDeliveries, the expired
// deliveries that are not operational events, by endpoint.
type ExhaustedSet struct {
	by map[int64]*Expired
}

// Add records that delivery, of an event of kind, expired on endpoint.
func (s *ExhaustedSet) Add(endpoint, delivery int64, kind bahasha.EventKind) {
	if kind == bahasha.KindOperational {
		return
	}
	if s.by == nil {
		s.by = map[int64]*Expired{}
	}
	x := s.by[endpoint]
	if x == nil {
		x = &Expired{Endpoint: bahasha.Endpoint{ID: endpoint}}
		s.by[endpoint] = x
	}
	x.Count++
	x.DeliveryIDs = append(x.DeliveryIDs, delivery)
}

// Sorted is what was gathered, by endpoint id, each endpoint's delivery
// ids sorted and cut to MaxExpiredIDs.
func (s *ExhaustedSet) Sorted() []Expired {
	out := make([]Expired, 0, len(s.by))
	for _, id := range slices.Sorted(maps.Keys(s.by)) {
		x := *s.by[id]
		slices.Sort(x.DeliveryIDs)
		x.DeliveryIDs = x.DeliveryIDs[:min(len(x.DeliveryIDs), MaxExpiredIDs)]
		out = append(out, x)
	}
	return out
}
