package bahasha_test

import (
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/bahasha"
)

func TestRoute(t *testing.T) {
	ep := func(id int64, scope bahasha.Scope, events ...string) bahasha.Endpoint {
		return bahasha.Endpoint{ID: id, Scope: scope, Events: events}
	}
	acct := bahasha.AccountScope
	waba := bahasha.Scope{Kind: bahasha.ScopeWABA, ID: "W1"}
	num := bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "P1"}
	otherNum := bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "P2"}
	status := bahasha.Event{Kind: bahasha.KindStatus, WABAID: "W1", PhoneNumberID: "P1"}
	message := bahasha.Event{Kind: bahasha.KindMessage, WABAID: "W1", PhoneNumberID: "P1"}
	elsewhere := bahasha.Event{Kind: bahasha.KindStatus, WABAID: "W9", PhoneNumberID: "P9"}
	disabled := ep(9, num)
	disabled.Disabled = true
	listenNum := ep(8, num)
	listenNum.Kind = bahasha.KindListen
	listenAcct := ep(7, acct)
	listenAcct.Kind = bahasha.KindListen

	cases := []struct {
		name      string
		endpoints []bahasha.Endpoint
		ev        bahasha.Event
		want      []int64
	}{
		{"none", nil, status, nil},
		{"account only", []bahasha.Endpoint{ep(1, acct)}, status, []int64{1}},
		{"fan-out at one scope", []bahasha.Endpoint{ep(1, acct), ep(2, acct)}, status, []int64{1, 2}},
		{"number overrides account", []bahasha.Endpoint{ep(1, acct), ep(2, num)}, status, []int64{2}},
		{"waba overrides account", []bahasha.Endpoint{ep(1, acct), ep(2, waba)}, status, []int64{2}},
		{"number overrides waba", []bahasha.Endpoint{ep(1, acct), ep(2, waba), ep(3, num)}, status, []int64{3}},
		{"another number's override does not apply", []bahasha.Endpoint{ep(1, acct), ep(2, otherNum)}, status, []int64{1}},
		{"waba of another event", []bahasha.Endpoint{ep(1, acct), ep(2, waba), ep(3, num)}, elsewhere, []int64{1}},
		{"filter matches", []bahasha.Endpoint{ep(1, acct, "statuses")}, status, []int64{1}},
		{"filter does not match", []bahasha.Endpoint{ep(1, acct, "statuses")}, message, nil},
		{"filtered override leaves the rest to the account", []bahasha.Endpoint{ep(1, acct), ep(2, num, "messages")}, status, []int64{1}},
		{"filtered override takes what it asks", []bahasha.Endpoint{ep(1, acct), ep(2, num, "messages")}, message, []int64{2}},
		{"fan-out by filter", []bahasha.Endpoint{ep(1, acct, "messages"), ep(2, acct, "statuses"), ep(3, acct)}, message, []int64{1, 3}},
		{"disabled override is as if absent", []bahasha.Endpoint{ep(1, acct), disabled}, status, []int64{1}},
		{"a listen session on a number takes a copy, overriding nothing", []bahasha.Endpoint{ep(1, acct), listenNum}, status, []int64{1, 8}},
		{"an account listen session gets a number's events beside its override", []bahasha.Endpoint{ep(1, acct), ep(2, num), listenAcct}, status, []int64{2, 7}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int64
			for _, e := range bahasha.Route(nil, c.endpoints, c.ev) {
				got = append(got, e.ID)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestValidateEvents(t *testing.T) {
	for _, ok := range [][]string{nil, {"statuses"}, {"messages", "statuses"}} {
		if err := bahasha.ValidateEvents(ok); err != nil {
			t.Errorf("%v: %v", ok, err)
		}
	}
	for in, want := range map[string]string{"status": `"status" is not an event filter`, "messages,messages": "listed twice"} {
		err := bahasha.ValidateEvents(strings.Split(in, ","))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestParseEndpointID(t *testing.T) {
	if id, ok := bahasha.ParseEndpointID("wh_12"); !ok || id != 12 {
		t.Fatalf("wh_12: %d %v", id, ok)
	}
	if e := (bahasha.Endpoint{ID: 12}); e.PublicID() != "wh_12" {
		t.Fatalf("PublicID %q", e.PublicID())
	}
	for _, bad := range []string{"", "wh_", "12", "wh_0", "wh_-1", "wh_012", "wh_1x", "dlv_1", "wh_99999999999999999999"} {
		if _, ok := bahasha.ParseEndpointID(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseEndpointID: an id parses only as the one PublicID prints.
func FuzzParseEndpointID(f *testing.F) {
	for _, s := range []string{"wh_1", "wh_012", "wh_", "wh_-1", "wh_9223372036854775807", "wh_9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := bahasha.ParseEndpointID(s)
		if !ok {
			return
		}
		if id <= 0 || (bahasha.Endpoint{ID: id}).PublicID() != s {
			t.Fatalf("%q parsed as %d", s, id)
		}
	})
}
