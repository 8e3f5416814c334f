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
	if len(files) == 0 {
		t.Fatal("no example payloads in internal/metatest/testdata/webhooks")
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
	var want []string // compact JSON each delivery must hold, somewhere
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
				if ev.Kind == bahasha.KindChange {
					want = append(want, string(c.Entry))
				} else {
					want = append(want, string(ev.Payload))
				}
			}
		}
		if _, err := m.Deliver(ctx, body); err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	rcv.Wait(t, "every example's changes", func() bool {
		var got bytes.Buffer
		for _, p := range rcv.posts {
			got.Write(p.Body)
		}
		for _, w := range want {
			if !strings.Contains(got.String(), w) {
				return false
			}
		}
		return true
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
