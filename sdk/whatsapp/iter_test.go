package whatsapp

import (
	"slices"
	"testing"
)

func TestMessagesOrderAndPairing(t *testing.T) {
	n := mustParseFile(t, "batch_multi_entry.json")
	type row struct {
		waba, phone, id, contact string
	}
	var got []row
	for ev := range n.Messages() {
		r := row{waba: ev.WABAID, phone: ev.Metadata.PhoneNumberID, id: ev.Message.ID, contact: "<nil>"}
		if ev.Contact != nil {
			r.contact = ev.Contact.Profile.Name
			if ev.Contact.WaID != ev.Message.From {
				t.Errorf("%s from %s paired with contact %s", ev.Message.ID, ev.Message.From, ev.Contact.WaID)
			}
		}
		got = append(got, r)
	}
	want := []row{
		{"WABA-A", "PNID-A1", "wamid.A1-1", "Baraka"},
		{"WABA-A", "PNID-A1", "wamid.A1-2", "Amina"},
		{"WABA-A", "PNID-A1", "wamid.A1-3", "<nil>"}, // sender without a contact
		{"WABA-A", "PNID-A1", "wamid.A1-4", "Chen"},
		{"WABA-A", "PNID-A1", "wamid.A1-5", "Baraka"},
		{"WABA-B", "PNID-B1", "wamid.B1-1", "Dalia"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("messages:\n got %v\nwant %v", got, want)
	}
}

func TestEventsPointIntoNotification(t *testing.T) {
	n := mustParseFile(t, "batch_multi_entry.json")
	v := &n.Entry[0].Changes[0].Value
	ev := messagesOf(n)[0]
	if ev.Message != &v.Messages[0] {
		t.Error("MessageEvent.Message is not the notification's message")
	}
	if ev.Contact != &v.Contacts[1] {
		t.Error("MessageEvent.Contact is not the notification's contact")
	}
	st := statusesOf(n)[0]
	if st.Status != &n.Entry[0].Changes[1].Value.Statuses[0] {
		t.Error("StatusEvent.Status is not the notification's status")
	}
}

func TestStatusesOrderSkipsOtherFields(t *testing.T) {
	n := mustParseFile(t, "batch_multi_entry.json")
	var got []string
	for ev := range n.Statuses() {
		got = append(got, ev.WABAID+"/"+ev.Metadata.PhoneNumberID+"/"+ev.Status.ID+"/"+string(ev.Status.Status))
	}
	want := []string{
		"WABA-A/PNID-A2/wamid.S-A2-1/sent",
		"WABA-A/PNID-A2/wamid.S-A2-2/delivered",
		"WABA-B/PNID-B1/wamid.S-B1-1/read",
	}
	if !slices.Equal(got, want) {
		t.Errorf("statuses:\n got %v\nwant %v", got, want)
	}

	// Statuses and messages under a field other than "messages" are skipped.
	other := &Notification{Entry: []Entry{{ID: "W", Changes: []Change{
		{Field: "message_echoes", Value: Value{Statuses: []Status{{ID: "echo"}}, Messages: []Message{{ID: "echo"}}}},
		{Field: "", Value: Value{Statuses: []Status{{ID: "nofield"}}, Messages: []Message{{ID: "nofield"}}}},
		{Field: "Messages", Value: Value{Statuses: []Status{{ID: "case"}}}},
		{Field: FieldMessages, Value: Value{Statuses: []Status{{ID: "kept"}}, Messages: []Message{{ID: "kept"}}}},
	}}}}
	var ids []string
	for ev := range other.Statuses() {
		ids = append(ids, ev.Status.ID)
	}
	for ev := range other.Messages() {
		ids = append(ids, ev.Message.ID)
	}
	if !slices.Equal(ids, []string{"kept", "kept"}) {
		t.Errorf("got %v, want only the messages field", ids)
	}
}

func TestCounts(t *testing.T) {
	tests := map[string][2]int{ // file: {statuses, messages}
		"seed_doc_status_delivered.json":     {1, 0},
		"seed_doc_reply_text.json":           {0, 1},
		"status_read_pricing.json":           {3, 0},
		"status_played_deleted_warning.json": {4, 0},
		"timestamps_numbers.json":            {1, 1},
		"batch_multi_entry.json":             {3, 6},
		"unicode_raw.json":                   {0, 4},
		"msg_text_context_forwarded.json":    {0, 4},
	}
	for file, want := range tests {
		n := mustParseFile(t, file)
		if got := [2]int{len(statusesOf(n)), len(messagesOf(n))}; got != want {
			t.Errorf("%s: {statuses, messages} = %v, want %v", file, got, want)
		}
	}
}

func TestContactPairingRules(t *testing.T) {
	amina := Contact{Profile: Profile{Name: "Amina"}, WaID: "254711000001"}
	bsuid := Contact{Profile: Profile{Username: "@b"}, UserID: "KE.1", ParentUserID: "KE.ENT.1"}
	tests := []struct {
		name     string
		contacts []Contact
		msg      Message
		want     string // profile name or username, "" for nil
	}{
		{"by wa_id", []Contact{bsuid, amina}, Message{From: "254711000001"}, "Amina"},
		{"by user id", []Contact{amina, bsuid}, Message{FromUserID: "KE.1"}, "@b"},
		{"by parent user id", []Contact{amina, bsuid}, Message{FromUserID: "KE.ENT.1"}, "@b"},
		{"wa_id first, then user id", []Contact{bsuid, amina}, Message{From: "254711000001", FromUserID: "nope"}, "Amina"},
		{"single contact, other sender", []Contact{amina}, Message{From: "254799999999"}, ""},
		{"single contact, sender without ids", []Contact{amina}, Message{}, "Amina"},
		{"two contacts, sender without ids", []Contact{amina, bsuid}, Message{}, ""},
		{"no contacts", nil, Message{From: "254711000001"}, ""},
		{"empty ids never match", []Contact{{Profile: Profile{Name: "blank"}}}, Message{From: "1"}, ""},
	}
	for _, tt := range tests {
		n := &Notification{Entry: []Entry{{Changes: []Change{{Field: FieldMessages, Value: Value{
			Contacts: tt.contacts, Messages: []Message{tt.msg},
			Statuses: []Status{{RecipientID: tt.msg.From, RecipientUserID: tt.msg.FromUserID}},
		}}}}}}
		name := func(c *Contact) string {
			switch {
			case c == nil:
				return ""
			case c.Profile.Name != "":
				return c.Profile.Name
			}
			return c.Profile.Username
		}
		if got := name(messagesOf(n)[0].Contact); got != tt.want {
			t.Errorf("%s: message contact = %q, want %q", tt.name, got, tt.want)
		}
		if got := name(statusesOf(n)[0].Contact); got != tt.want {
			t.Errorf("%s: status contact = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEarlyBreak(t *testing.T) {
	n := mustParseFile(t, "batch_multi_entry.json")

	count := 0
	for range n.Messages() {
		count++
		if count == 2 {
			break
		}
	}
	if count != 2 {
		t.Errorf("break after 2 messages: %d", count)
	}

	// Called directly: after yield returns false, it is never called again,
	// even across changes and entries.
	for stop := 1; stop <= 6; stop++ {
		calls := 0
		n.Messages()(func(MessageEvent) bool { calls++; return calls < stop })
		if calls != stop {
			t.Errorf("Messages: yield returned false at call %d, yet was called %d times", stop, calls)
		}
	}
	for stop := 1; stop <= 3; stop++ {
		calls := 0
		n.Statuses()(func(StatusEvent) bool { calls++; return calls < stop })
		if calls != stop {
			t.Errorf("Statuses: yield returned false at call %d, yet was called %d times", stop, calls)
		}
	}
}

func TestIterateEmpty(t *testing.T) {
	var nilN *Notification
	for _, n := range []*Notification{nilN, {}, {Entry: []Entry{{}}}, {Entry: []Entry{{Changes: []Change{{Field: FieldMessages}}}}}} {
		if c := len(messagesOf(n)) + len(statusesOf(n)); c != 0 {
			t.Errorf("%+v: %d events", n, c)
		}
	}
}

func TestContactPairingByParentUserID(t *testing.T) {
	n, err := Parse([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{
		"contacts":[{"profile":{"name":"Other"},"user_id":"US.1"},{"profile":{"name":"Parent"},"parent_user_id":"US.ENT.9"}],
		"messages":[{"from_parent_user_id":"US.ENT.9","id":"m","type":"text","text":{"body":"hi"}}],
		"statuses":[{"id":"s","status":"read","recipient_parent_user_id":"US.ENT.9"}]}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for e := range n.Messages() {
		if e.Contact == nil || e.Contact.Profile.Name != "Parent" {
			t.Fatalf("message paired with %+v", e.Contact)
		}
	}
	for e := range n.Statuses() {
		if e.Contact == nil || e.Contact.Profile.Name != "Parent" {
			t.Fatalf("status paired with %+v", e.Contact)
		}
	}
	var r *Reaction
	if r.Removed() {
		t.Fatal("a nil Reaction reports a removal")
	}
}
