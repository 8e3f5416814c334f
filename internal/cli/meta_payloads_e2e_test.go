package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/meta"
	"github.com/bahasha/bahasha/internal/metatest"
)

// The ids Meta's documentation uses in its examples, which
// internal/metatest/testdata/webhooks keeps.
const (
	docWABA    = "102290129340398"
	docNumber  = "106540352242922"
	docDisplay = "15550783881"
)

// TestMetaPayloads POSTs each of Meta's documented example notifications
// (internal/metatest/testdata/webhooks: every message type, statuses with
// pricing and errors, each non-messages field), with the example's ids
// replaced by an account's, and checks that an endpoint asking for every
// field receives each change exactly as Meta sent it: a status or message
// object byte for byte (in the envelope rebuilt around it), any other
// change in its entry byte for byte.
func TestMetaPayloads(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(moduleRoot(t), "internal", "metatest", "testdata", "webhooks", "*.json"))
	if len(files) < 20 {
		t.Fatalf("%d example payloads in internal/metatest/testdata/webhooks, want one per field", len(files))
	}
	// The SDK's corpus of Meta's messages and statuses (every message
	// type, statuses with pricing and errors), those written with the
	// documentation's number.
	sdk, _ := filepath.Glob(filepath.Join(moduleRoot(t), "sdk", "whatsapp", "testdata", "valid", "*.json"))
	for _, f := range sdk {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(docNumber)) {
			files = append(files, f)
		}
	}
	s := startServe(t, serveOpts{Env: metaEnv})
	p := s.Phone()
	var all []string
	for _, f := range bahasha.EventFilters {
		if f != bahasha.FilterOperational {
			all = append(all, f)
		}
	}
	rcv := rawReceiver(t, s, s.Key, map[string]any{"events": all})
	m := &metatest.Meta{AppSecret: testMetaSecret, URL: s.URL + "/meta/webhook"}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	display := strings.TrimPrefix(p.Display, "+")
	var want []string           // compact JSON each delivery must hold, somewhere
	from := map[string]string{} // which file each want came from
	seen := map[string]bool{}   // Meta's re-sends are delivered once

	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(strings.NewReplacer(docWABA, p.WABA, docNumber, p.ID, docDisplay, display).Replace(string(raw)))
		_, changes, err := meta.Split(body)
		if err != nil || len(changes) == 0 {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, c := range changes {
			for _, ev := range meta.Events(c, bahasha.PhoneNumber{ID: p.ID, AccountID: "x", WABAID: p.WABA}) {
				if seen[ev.ProducerID] {
					continue // a re-send (unicode_raw.json repeats unicode_escaped.json's wamids)
				}
				seen[ev.ProducerID] = true
				w := string(ev.Payload)
				if ev.Kind == bahasha.KindChange {
					w = string(c.Entry)
				}
				want = append(want, w)
				from[w] = filepath.Base(f)
			}
		}
		if _, err := m.Deliver(ctx, body); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	var missing []string
	defer func() {
		if t.Failed() {
			t.Logf("not delivered as sent: %v", missing)
		}
	}()
	rcv.Wait(t, "every example's changes", func() bool {
		var got bytes.Buffer
		for _, p := range rcv.posts {
			got.Write(p.Body)
		}
		missing = missing[:0]
		for _, w := range want {
			if !strings.Contains(got.String(), w) {
				missing = append(missing, from[w])
			}
		}
		return len(missing) == 0
	})
	// None was parked: each names a number or WABA of the account.
	if un := s.DoAs(testAdminKey, "GET", "/admin/v1/unrouted", nil); un.Len("data") != 0 {
		t.Fatalf("unrouted: %s", un)
	}
	var n int
	for _, p := range rcv.Posts() {
		var v map[string]any
		if json.Unmarshal(p.Body, &v) != nil || v["object"] != "whatsapp_business_account" {
			t.Fatalf("not a notification: %s", p.Body)
		}
		n++
	}
	t.Logf("%d examples, %d changes checked, in %d POSTs", len(files), len(want), n)
}
