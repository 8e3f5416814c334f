package webhook

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// SeenSet remembers the events a receiver has processed, so that a
// redelivered event is not processed twice. Bahasha delivers at least once:
// after a timeout or a crash, an event the receiver already handled can
// arrive again. Implementations must be safe for concurrent use; back one
// with a database or Redis (SET NX with an expiry) when several receiver
// processes share the work.
type SeenSet interface {
	// Add records key and reports whether it was not there before. An error
	// means the set could not be consulted; the Handler then processes the
	// event (at least once beats at most once) and reports the error.
	Add(ctx context.Context, key string) (added bool, err error)
	// Remove forgets key, so that a redelivery is processed again. The
	// Handler calls it when a callback fails in AckAfter mode.
	Remove(ctx context.Context, key string) error
}

// StatusKey is the SeenSet key of a status: its message id and status value,
// so that "delivered" and "read" of one message are distinct events.
func StatusKey(s *whatsapp.Status) string {
	return "status:" + s.ID + ":" + string(s.Status)
}

// MessageKey is the SeenSet key of a customer message: its wamid.
func MessageKey(m *whatsapp.Message) string { return "message:" + m.ID }

// ChangeKey is the SeenSet key of a change of another field than
// "messages": its field, its entry's time and a SHA-256 digest of its
// value, so that the same change sent again is recognised, and the same
// value at another time (a template approved again) is not.
func ChangeKey(e whatsapp.ChangeEvent) string {
	raw := []byte(nil)
	if e.Value != nil {
		raw = e.Value.Raw
		if raw == nil {
			raw, _ = json.Marshal(e.Value)
		}
	}
	sum := sha256.Sum256(raw)
	return "change:" + e.Field + ":" + e.Time.String() + ":" + hex.EncodeToString(sum[:])
}

// MemorySeenSet is a bounded in-memory SeenSet: it remembers the most recent
// Capacity keys and forgets the oldest first. It suits a single receiver
// process; its memory is lost on restart.
type MemorySeenSet struct {
	mu    sync.Mutex
	cap   int
	order *list.List // of string, oldest at the front
	keys  map[string]*list.Element
}

// DefaultSeenCapacity is the capacity NewMemorySeenSet uses for capacity <= 0.
const DefaultSeenCapacity = 100_000

// NewMemorySeenSet returns a MemorySeenSet that remembers up to capacity
// keys (DefaultSeenCapacity when capacity <= 0).
func NewMemorySeenSet(capacity int) *MemorySeenSet {
	if capacity <= 0 {
		capacity = DefaultSeenCapacity
	}
	return &MemorySeenSet{cap: capacity, order: list.New(), keys: make(map[string]*list.Element)}
}

// Add implements SeenSet. It never fails.
func (s *MemorySeenSet) Add(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return false, nil
	}
	s.keys[key] = s.order.PushBack(key)
	for s.order.Len() > s.cap {
		oldest := s.order.Front()
		s.order.Remove(oldest)
		delete(s.keys, oldest.Value.(string))
	}
	return true, nil
}

// Remove implements SeenSet. It never fails.
func (s *MemorySeenSet) Remove(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.keys[key]; ok {
		s.order.Remove(e)
		delete(s.keys, key)
	}
	return nil
}

// Len returns how many keys the set holds.
func (s *MemorySeenSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}
