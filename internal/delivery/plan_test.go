package delivery

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

func st(id int64, wamid, status string) bahasha.Delivery {
	return bahasha.Delivery{ID: id, Event: bahasha.Event{Kind: bahasha.KindStatus, WAMID: wamid, Status: status, Payload: []byte(`{"x":1}`)}}
}

func msg(id int64, wamid string) bahasha.Delivery {
	return bahasha.Delivery{ID: id, Event: bahasha.Event{Kind: bahasha.KindMessage, WAMID: wamid, MessageType: "text", Payload: []byte(`{"x":1}`)}}
}

// show renders chunks as "[1 2] [3]<-0" and superseded ids as "~4".
func show(chunks []chunk, sup []store.DeliveryResult) string {
	var parts []string
	for _, c := range chunks {
		var ids []string
		for _, d := range c.deliveries {
			ids = append(ids, fmt.Sprint(d.ID))
		}
		p := "[" + strings.Join(ids, " ") + "]"
		for _, a := range c.after {
			p += fmt.Sprintf("<-%d", a)
		}
		parts = append(parts, p)
	}
	for _, s := range sup {
		if s.State != bahasha.DeliverySuperseded || s.Attempt.Number != 0 {
			return "bad superseded result"
		}
		parts = append(parts, fmt.Sprintf("~%d", s.DeliveryID))
	}
	return strings.Join(parts, " ")
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name      string
		ds        []bahasha.Delivery
		delivered map[string]int
		maxBatch  int
		maxBytes  int
		want      string
	}{
		{"one batch in order", []bahasha.Delivery{st(1, "a", "sent"), st(2, "b", "sent"), msg(3, "m")}, nil, 100, 1 << 20, "[1 2 3]"},
		{"count cap", []bahasha.Delivery{st(1, "a", "sent"), st(2, "b", "sent"), st(3, "c", "sent")}, nil, 2, 1 << 20, "[1 2] [3]"},
		{"byte cap", []bahasha.Delivery{st(1, "a", "sent"), st(2, "b", "sent"), st(3, "c", "sent")}, nil, 100, 2 * (envelopeOverhead + 7), "[1 2] [3]"},
		{"an event larger than the cap goes alone", []bahasha.Delivery{st(1, "a", "sent"), st(2, "b", "sent")}, nil, 100, 10, "[1] [2]"},
		{"lifecycle in one batch", []bahasha.Delivery{st(1, "a", "sent"), st(2, "a", "delivered"), st(3, "a", "read")}, nil, 100, 1 << 20, "[1 2 3]"},
		{"batching off: later statuses wait for earlier chunks", []bahasha.Delivery{st(1, "a", "sent"), st(2, "b", "sent"), st(3, "a", "delivered"), st(4, "a", "read")},
			nil, 1, 1 << 20, "[1] [2] [3]<-0 [4]<-2"},
		{"a late lower status is superseded", []bahasha.Delivery{st(1, "a", "read"), st(2, "a", "sent"), st(3, "a", "delivered")}, nil, 100, 1 << 20, "[1] ~2 ~3"},
		{"superseded by what was delivered before", []bahasha.Delivery{st(1, "a", "delivered"), st(2, "b", "delivered")}, map[string]int{"a": 3, "b": 1}, 100, 1 << 20, "[2] ~1"},
		{"failed is final", []bahasha.Delivery{st(1, "a", "failed"), st(2, "a", "read")}, nil, 100, 1 << 20, "[1] ~2"},
		{"equal rank is not a regression", []bahasha.Delivery{st(1, "a", "delivered"), st(2, "a", "delivered")}, map[string]int{"a": 2}, 100, 1 << 20, "[1 2]"},
		{"statuses outside the lifecycle pass", []bahasha.Delivery{st(1, "a", "read"), st(2, "a", "warning")}, nil, 100, 1 << 20, "[1 2]"},
		// A recovered lane: the store counts what the dead worker's claim
		// held as possibly delivered, so only each message's latest status goes.
		{"recovered lane: only the latest status of each message", []bahasha.Delivery{st(1, "a", "delivered"), st(2, "b", "sent"), st(3, "a", "read")},
			map[string]int{"a": 3, "b": 1}, 100, 1 << 20, "[2 3] ~1"},
		{"messages are never superseded", []bahasha.Delivery{msg(1, "m"), msg(2, "m")}, map[string]int{"m": 5}, 100, 1 << 20, "[1 2]"},
		{"superseded in the middle of a batch", []bahasha.Delivery{st(1, "a", "sent"), st(2, "b", "delivered"), st(3, "c", "sent"), st(4, "d", "sent"), st(5, "e", "sent")},
			map[string]int{"b": 3}, 2, 1 << 20, "[1 3] [4 5] ~2"},
		{"superseded between single POSTs", []bahasha.Delivery{st(1, "a", "sent"), st(2, "b", "delivered"), st(3, "c", "sent"), st(4, "b", "sent")},
			map[string]int{"b": 3}, 1, 1 << 20, "[1] [3] ~2 ~4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lane := store.Lane{Deliveries: tt.ds, DeliveredRanks: tt.delivered}
			want := tt.want
			before := fmt.Sprint(tt.ds)
			chunks, sup := plan(lane, tt.maxBatch, tt.maxBytes)
			if got := show(chunks, sup); got != want {
				t.Fatalf("plan = %s, want %s", got, want)
			}
			if fmt.Sprint(tt.ds) != before {
				t.Fatal("plan changed the lane's deliveries")
			}
		})
	}
}

// The derived lane lease bounds how long other nodes wait to take over a
// dead node's lanes: 15s with batching, 25s without (at most two rounds of
// attempt timeouts), whatever the claim size.
func TestDerivedLease(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want time.Duration
	}{
		{Config{}, 15 * time.Second},
		{Config{MaxBatch: 1}, 25 * time.Second},
		{Config{MaxBatch: 1, MaxPerLane: 10000}, 25 * time.Second},
		{Config{MaxBatch: 1, Timeout: time.Second}, 7 * time.Second},
		{Config{MaxBatch: 1, LeaseFor: time.Minute}, time.Minute},
	} {
		if got := tc.cfg.withDefaults().LeaseFor; got != tc.want {
			t.Errorf("%+v: lease %v, want %v", tc.cfg, got, tc.want)
		}
	}
}
