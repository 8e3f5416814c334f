package whatsapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// number is a JSON number in canonical form, so that 7.99, 7.990 and 799e-2
// compare equal while the JSON string "7.99" does not.
type number string

// jsonValue decodes b into a generic value whose numbers are compared by
// numeric value.
func jsonValue(t testing.TB, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if d.More() {
		t.Fatalf("more than one JSON value:\n%s", b)
	}
	return canonical(t, v)
}

func canonical(t testing.TB, v any) any {
	switch v := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(v.String())
		if !ok {
			t.Fatalf("bad number %q", v)
		}
		return number(r.RatString())
	case map[string]any:
		for k, e := range v {
			v[k] = canonical(t, e)
		}
	case []any:
		for i, e := range v {
			v[i] = canonical(t, e)
		}
	}
	return v
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(jsonValue(t, a), jsonValue(t, b))
}

// firstDiff names the first path at which two generic JSON values differ.
func firstDiff(path string, a, b any) string {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		keys := make([]string, 0, len(a)+len(bm))
		for k := range a {
			keys = append(keys, k)
		}
		for k := range bm {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			av, aok := a[k]
			bv, bok := bm[k]
			if aok != bok {
				return fmt.Sprintf("%s.%s: present=%v vs present=%v (%v / %v)", path, k, aok, bok, av, bv)
			}
			if d := firstDiff(path+"."+k, av, bv); d != "" {
				return d
			}
		}
		return ""
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return fmt.Sprintf("%s: %v vs %v", path, a, b)
		}
		for i := range a {
			if d := firstDiff(fmt.Sprintf("%s[%d]", path, i), a[i], bs[i]); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("%s: %#v vs %#v", path, a, b)
	}
	return ""
}

// TestRoundTrip: marshalling a parsed notification gives back the input as a
// JSON value, unknown types and fields included, and marshalling is stable.
func TestRoundTrip(t *testing.T) {
	names, files := corpus(t, "valid")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			n, err := Parse(files[name])
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(n)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			in, got := jsonValue(t, files[name]), jsonValue(t, out)
			if !reflect.DeepEqual(in, got) {
				t.Fatalf("round trip lost or changed data: %s\nout: %s", firstDiff("$", in, got), out)
			}
			n2, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal(x)): %v", err)
			}
			out2, err := json.Marshal(n2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("marshalling is not stable:\n%s\n%s", out, out2)
			}
		})
	}
}

func compact(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// docEnvelope builds, in code, the envelope of the public doc's examples.
func docEnvelope(v Value) *Notification {
	v.MessagingProduct = MessagingProductWhatsApp
	v.Metadata = Metadata{DisplayPhoneNumber: "+254700000000", PhoneNumberID: "123456789"}
	return &Notification{
		Object: ObjectWhatsAppBusinessAccount,
		Entry: []Entry{{
			ID:      "WABA_ID",
			Changes: []Change{{Field: FieldMessages, Value: v}},
		}},
	}
}

// TestBuiltMatchesDoc: a notification built in code (no Raw) marshals to
// exactly the bytes of the public doc's examples, key order included.
func TestBuiltMatchesDoc(t *testing.T) {
	ts := UnixTimestamp
	tests := []struct {
		file  string
		value Value
	}{
		{"seed_doc_status_delivered.json", Value{Statuses: []Status{{
			ID:          "wamid.HBgNMjU0NzEyMzQ1Njc4FQIAERgSNDQ1...",
			Status:      StatusDelivered,
			Timestamp:   ts(1700000001),
			RecipientID: "254712345678",
		}}}},
		{"seed_doc_reply_text.json", Value{
			Contacts: []Contact{{Profile: Profile{Name: "Jane Smith"}, WaID: "254712345678"}},
			Messages: []Message{{
				From:      "254712345678",
				ID:        "wamid.HBgNMjU0NzEyMzQ1Njc4FQIAEhgSM...",
				Timestamp: ts(1700000005),
				Type:      MessageText,
				Text:      &Text{Body: "Thank you, I received my order!"},
			}},
		}},
		{"status_failed_131026.json", Value{Statuses: []Status{{
			ID:          "wamid.HBgNMjU0NzEyMzQ1Njc4FQIAERgSNDQ1...",
			Status:      StatusFailed,
			Timestamp:   ts(1700000010),
			RecipientID: "254712345678",
			Errors: []Error{{
				Code:      131026,
				Title:     "Message undeliverable",
				Message:   "This message is undeliverable",
				ErrorData: ErrorData{Details: "The recipient phone number is not a WhatsApp phone number."},
			}},
		}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := json.Marshal(docEnvelope(tt.value))
			if err != nil {
				t.Fatal(err)
			}
			want := compact(t, readValid(t, tt.file))
			if !bytes.Equal(got, want) {
				t.Errorf("built notification:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func readValid(t testing.TB, name string) []byte {
	t.Helper()
	_, files := corpus(t, "valid")
	b, ok := files[name]
	if !ok {
		t.Fatalf("no testdata/valid/%s", name)
	}
	return b
}

// TestTypedFieldsWinOverRaw: an edit to a parsed value's typed fields is what
// gets marshalled; clearing Raw drops the keys the types do not know.
func TestTypedFieldsWinOverRaw(t *testing.T) {
	n := mustParseFile(t, "seed_doc_status_delivered.json")
	n.Entry[0].Changes[0].Value.Statuses[0].Status = StatusRead
	out, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`"status":"read"`)) || bytes.Contains(out, []byte(`"delivered"`)) {
		t.Errorf("edited status not marshalled: %s", out)
	}

	n = mustParseFile(t, "msg_future_hologram.json")
	v := &n.Entry[0].Changes[0].Value
	out, _ = json.Marshal(n)
	if !bytes.Contains(out, []byte(`"hologram_version":2`)) || !bytes.Contains(out, []byte(`"value_schema":"v99"`)) {
		t.Fatalf("unknown keys not carried over: %s", out)
	}
	n.Raw = nil
	v.Raw = nil
	v.Messages[0].Raw = nil
	v.Contacts[0].Raw = nil
	out, _ = json.Marshal(n)
	for _, unknown := range []string{"hologram_version", "value_schema", `"hologram":`, "trust_level", "thread_id"} {
		if strings.Contains(string(out), unknown) {
			t.Errorf("Raw cleared, yet %s is marshalled: %s", unknown, out)
		}
	}
	if !bytes.Contains(out, []byte(`"type":"hologram"`)) {
		t.Errorf("typed fields lost: %s", out)
	}
}

// TestRawNotJSON: a Raw set by hand to something that is not JSON is ignored.
func TestRawNotJSON(t *testing.T) {
	m := Message{ID: "wamid.1", Type: MessageText, Text: &Text{Body: "hi"}, Raw: json.RawMessage("not json")}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"id":"wamid.1","type":"text","text":{"body":"hi"}}` {
		t.Errorf("got %s", out)
	}
}

// TestEnvelopeKeys: the envelope (Notification, Entry, Change) is lossless
// too: keys its fields do not name survive the round trip at every level,
// beside an entry's "time".
func TestEnvelopeKeys(t *testing.T) {
	in := `{"object":"whatsapp_business_account","x-top":1,"entry":[{"id":"W","time":1674864290,"x-entry":true,"changes":[{"field":"account_update","x-change":"y","value":{"phone_number":"15550783881","event":"VERIFIED_ACCOUNT"}}]}]}`
	n, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := n.Entry[0].Time.Unix(); !ok || u != 1674864290 {
		t.Errorf("Entry.Time = %v, %v", u, ok)
	}
	out, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"entry":[{"changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT","phone_number":"15550783881"},"x-change":"y"}],"id":"W","time":1674864290,"x-entry":true}],"object":"whatsapp_business_account","x-top":1}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// TestCaseVariantKeys: encoding/json matches keys case-insensitively (with
// Unicode simple folding), so a key such as "Text" or "ſtatus" is decoded into
// a field; marshalling names that field once, in its own spelling, so that
// marshalling what it parses to is stable (found by analysis of FuzzParse's
// idempotence property; seeds in testdata/fuzz/FuzzParse/casefold_*).
func TestCaseVariantKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"messages":[{"Text":{"Body":"x"},"type":"text"}]}`, `{"messages":[{"text":{"body":"x"},"type":"text"}]}`},
		{`{"statuses":[{"ſtatus":"b","status":"a"}]}`, `{"statuses":[{"status":"a"}]}`},
		{`{"statuses":[{"status":"a","STATUS":"b"}]}`, `{"statuses":[{"status":"b"}]}`},
		// Unknown keys are data, whatever their case.
		{`{"messages":[{"Hologram":{"ID":1},"hologram":{"id":2},"type":"hologram"}]}`, `{"messages":[{"Hologram":{"ID":1},"hologram":{"id":2},"type":"hologram"}]}`},
		// A false, empty or null value that the typed field omits is kept.
		{`{"statuses":[{"pricing":{"billable":false},"errors":[],"conversation":null}]}`, `{"statuses":[{"conversation":null,"errors":[],"pricing":{"billable":false}}]}`},
	}
	for _, tt := range tests {
		var v Value
		if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.in, out, tt.want)
		}
	}
}

// TestRemovedEntriesStayRemoved: emptying a parsed notification's entries
// marshals an empty entry array, not the entries its Raw held.
func TestRemovedEntriesStayRemoved(t *testing.T) {
	n := mustParseFile(t, "msg_future_hologram.json")
	n.Entry = n.Entry[:0]
	out, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "changes") || !strings.Contains(string(out), `"entry":[]`) {
		t.Fatalf("emptied entries came back: %s", out)
	}
}
