package meta_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/bahasha/bahasha/internal/bahasha"

	"github.com/bahasha/bahasha/internal/meta"
	"github.com/bahasha/bahasha/internal/metatest"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// The same value at another time is another change (a template approved,
// paused, approved again): each is delivered; only a re-send of the same
// entry is suppressed.
func TestSameValueAnotherTime(t *testing.T) {
	h, _, acc := fixture(t)
	got := counting(h)
	waba := acc.PhoneNumber.WABAID
	for i, c := range []struct {
		event string
		at    int64
	}{{"APPROVED", 1700000000}, {"PAUSED", 1700086400}, {"APPROVED", 1700172800}, {"APPROVED", 1700172800}} {
		body := metatest.Notification(metatest.Entry{ID: waba, Time: c.at, Changes: []metatest.Change{
			metatest.TemplateStatus(c.event, 7, "order_update", "en_US", "NONE")}})
		if rec := post(h, body, webhook.Sign(secret, body)); rec.Code != 200 {
			t.Fatalf("POST %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if got["routed"] != 3 || got["duplicate"] != 1 {
		t.Fatalf("counted %v, want 3 routed (the second approval, on another day, is not a re-send) and 1 duplicate", got)
	}
}

// A bad entry is kept on its own; the POST's other changes are routed.
func TestBadPartKeptAlone(t *testing.T) {
	h, st, acc := fixture(t)
	got := counting(h)
	good := string(metatest.Notification(metatest.Entry{ID: acc.PhoneNumber.WABAID, Time: 1700000000, Changes: []metatest.Change{
		metatest.TemplateStatus("APPROVED", 7, "t", "en", "NONE")}}))
	body := []byte(strings.Replace(good, `"entry":[`, `"entry":[5,{"id":"x","changes":[true]},`, 1))
	if rec := post(h, body, webhook.Sign(secret, body)); rec.Code != 200 {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	if got["routed"] != 1 || got["unrouted"] != 2 {
		t.Fatalf("counted %v, want the good change routed and the 2 bad parts kept", got)
	}
	kept, _ := st.ListUnrouted(context.Background(), store.ListUnroutedParams{Limit: 10})
	if len(kept) != 2 || string(kept[0].Body) != "5" || string(kept[1].Body) != "true" || !strings.Contains(kept[0].Reason, "entry[0]") {
		t.Fatalf("kept: %+v", kept)
	}
}

// Replay never routes what the live path refused: a POST of another object
// stays kept.
func TestRerouteKeepsOtherObjects(t *testing.T) {
	h, _, acc := fixture(t)
	got := counting(h)
	body := []byte(`{"object":"page","entry":[{"id":"` + acc.PhoneNumber.WABAID + `","time":1,"changes":[{"field":"feed","value":{}}]}]}`)
	if rec := post(h, body, webhook.Sign(secret, body)); rec.Code != 200 {
		t.Fatalf("POST: %d", rec.Code)
	}
	res, err := h.Router.Reroute(context.Background(), 100)
	if err != nil || res.Routed != 0 || res.Left != 1 {
		t.Fatalf("Reroute = %+v, %v", res, err)
	}
	if got["routed"] != 0 {
		t.Fatalf("a page change was routed: %v", got)
	}
}

// NUL characters in the strings a change is routed and deduplicated by
// are dropped (PostgreSQL's text refuses them); the payload keeps them.
func TestNULDropped(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1\u00002","changes":[{"field":"mess\u0000ages","value":{"metadata":{"phone_number_id":"p\u00001","display_phone_number":"1\u00005"},"statuses":[{"id":"wamid.\u0000x","status":"se\u0000nt","recipient_id":"1"}]}}]}]}`)
	_, cs, err := meta.Split(body)
	if err != nil || len(cs) != 1 {
		t.Fatal(err)
	}
	c := cs[0]
	if c.EntryID != "12" || c.Field != "messages" || c.PhoneNumberID != "p1" || c.DisplayPhoneNumber != "15" {
		t.Fatalf("change: %+v", c)
	}
	for _, ev := range meta.Events(c, bahasha.PhoneNumber{ID: c.PhoneNumberID, AccountID: "a", WABAID: c.EntryID}) {
		for _, s := range []string{ev.WAMID, ev.Status, ev.ProducerID, ev.MessageType, ev.PhoneNumberID, ev.WABAID} {
			if strings.ContainsRune(s, 0) {
				t.Fatalf("a NUL in %q", s)
			}
		}
	}
}

// counting counts what the router says became of each change.
func counting(h *meta.Handler) map[string]int {
	got := map[string]int{}
	var mu sync.Mutex
	h.Router.Counted = func(result string, n int) {
		mu.Lock()
		defer mu.Unlock()
		got[result] += n
	}
	return got
}
