package cli

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseAssignment(t *testing.T) {
	for _, tc := range []struct {
		in   string
		path []string
		text string
		raw  bool
		json any
	}{
		{"text.body=hi", []string{"text", "body"}, "hi", false, nil},
		{"name=", []string{"name"}, "", false, nil},
		{"text.body=a=b", []string{"text", "body"}, "a=b", false, nil},
		{"text.body= spaced ", []string{"text", "body"}, " spaced ", false, nil},
		{"contacts.0.name.formatted_name=Bob", []string{"contacts", "0", "name", "formatted_name"}, "Bob", false, nil},
		{"location.latitude:=-1.3", []string{"location", "latitude"}, "-1.3", true, json.Number("-1.3")},
		{`status.errors:=[]`, []string{"status", "errors"}, "[]", true, []any{}},
		{`text:={"body":"x"}`, []string{"text"}, `{"body":"x"}`, true, map[string]any{"body": "x"}},
		{`text.body:="quoted"`, []string{"text", "body"}, `"quoted"`, true, "quoted"},
		{`context:=null`, []string{"context"}, `null`, true, nil},
	} {
		a, err := parseAssignment(tc.in)
		if err != nil {
			t.Errorf("parseAssignment(%q): %v", tc.in, err)
			continue
		}
		if !slices.Equal(a.Path, tc.path) || a.Text != tc.text || a.Raw != tc.raw || !reflect.DeepEqual(a.JSON, tc.json) {
			t.Errorf("parseAssignment(%q) = %+v, want path %q text %q raw %v json %#v", tc.in, a, tc.path, tc.text, tc.raw, tc.json)
		}
	}
}

func TestParseAssignmentErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"nope", "want field=value"},
		{"", "want field=value"},
		{"=x", "empty"},
		{":=1", "empty"},
		{"a..b=1", "empty part"},
		{".a=1", "empty part"},
		{"a.=1", "empty part"},
		{"a. .b=1", "empty part"},
		{"x:=nojson", "not JSON"},
		{"x:=", "not JSON"},
		{"x:=1 2", "more than one JSON value"},
		{`x:={"a":`, "not JSON"},
	} {
		_, err := parseAssignment(tc.in)
		if err == nil || !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseAssignment(%q): %v, want a one-line usage error containing %q", tc.in, err, tc.msg)
		}
	}
}

// body is the event the apply tests start from.
const body = `{"text":{"body":"old"},"n":1,"b":true,"s":"str","list":[{"a":"x"}],"empty":null}`

func decoded(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAssignmentApply(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want string // the whole body after
	}{
		{[]string{"text.body=hi"}, `{"text":{"body":"hi"},"n":1,"b":true,"s":"str","list":[{"a":"x"}],"empty":null}`},
		{[]string{"new.deep.path=v"}, `{"text":{"body":"old"},"n":1,"b":true,"s":"str","list":[{"a":"x"}],"empty":null,"new":{"deep":{"path":"v"}}}`},
		{[]string{"empty.x=1"}, `{"text":{"body":"old"},"n":1,"b":true,"s":"str","list":[{"a":"x"}],"empty":{"x":"1"}}`},
		{[]string{"n=2.50", "b=false"}, `{"text":{"body":"old"},"n":2.50,"b":false,"s":"str","list":[{"a":"x"}],"empty":null}`},
		{[]string{"s=123"}, `{"text":{"body":"old"},"n":1,"b":true,"s":"123","list":[{"a":"x"}],"empty":null}`},
		{[]string{"list.0.a=y", "list.1.a=z"}, `{"text":{"body":"old"},"n":1,"b":true,"s":"str","list":[{"a":"y"},{"a":"z"}],"empty":null}`},
		{[]string{"n:=\"one\"", "text:=null", "list:=[]"}, `{"text":null,"n":"one","b":true,"s":"str","list":[],"empty":null}`},
		{[]string{"text.body=first", "text.body=second"}, `{"text":{"body":"second"},"n":1,"b":true,"s":"str","list":[{"a":"x"}],"empty":null}`},
	} {
		var sets []assignment
		for _, s := range tc.sets {
			a, err := parseAssignment(s)
			if err != nil {
				t.Fatalf("parseAssignment(%q): %v", s, err)
			}
			sets = append(sets, a)
		}
		got, err := applyAssignments(decoded(t, body), sets)
		if err != nil {
			t.Errorf("%q: %v", tc.sets, err)
			continue
		}
		if want := decoded(t, tc.want); !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			t.Errorf("%q: got %s, want %s", tc.sets, g, tc.want)
		}
	}
}

func TestAssignmentApplyErrors(t *testing.T) {
	for _, tc := range []struct{ set, msg string }{
		{"s.x=1", "s is text, not an object"},
		{"text.body.x=1", "text.body is text, not an object"},
		{"n.x=1", "n is a number"},
		{"n=abc", "n is a number"},
		{"n=1 ", "n is a number"},
		{"b=yes", "true or false"},
		{"list.2.a=z", "list of 1"},
		{"list.-1.a=z", "list of 1"},
		{"list.x=z", "list of 1"},
	} {
		a, err := parseAssignment(tc.set)
		if err != nil {
			t.Fatalf("parseAssignment(%q): %v", tc.set, err)
		}
		_, err = applyAssignments(decoded(t, body), []assignment{a})
		if err == nil || !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("--set %s: %v, want a usage error containing %q", tc.set, err, tc.msg)
		}
	}
}

// TestTriggerBodies: every event's body is JSON in the shape its API takes,
// and takes a --set of its own fields.
func TestTriggerBodies(t *testing.T) {
	in := triggerInput{PhoneNumberID: "106540352242922", Display: "254700000001", From: "254712345678", WAMID: "wamid.NEW",
		Recent: "wamid.RECENT", ProducerID: "trigger-1", Now: time.Unix(1700000000, 0)}
	for _, e := range triggerEvents {
		v, err := applyAssignments(e.Body(in), nil)
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		raw, _ := json.Marshal(v)
		m := decoded(t, string(raw)).(map[string]any)
		switch e.Route {
		case routeInbound:
			typ, _, _ := strings.Cut(strings.TrimPrefix(e.Name, "message."), ".")
			if m["from"] != in.From || m["name"] != triggerName || m["type"] != typ || m[typ] == nil {
				t.Errorf("%s: inbound body %s", e.Name, raw)
			}
		case routeStatus:
			st, _ := m["status"].(map[string]any)
			if m["id"] != in.ProducerID || m["phone_number_id"] != in.PhoneNumberID || st["id"] != in.WAMID ||
				"status."+st["status"].(string) != e.Name || st["recipient_id"] != in.From || st["timestamp"] != "1700000000" {
				t.Errorf("%s: status event %s", e.Name, raw)
			}
			if (st["status"] == "failed") != (st["errors"] != nil) {
				t.Errorf("%s: errors only on failed: %s", e.Name, raw)
			}
		case routeSend:
			if m["to"] != in.From || m["type"] != "text" || m["messaging_product"] != "whatsapp" {
				t.Errorf("%s: send body %s", e.Name, raw)
			}
		}
		if e.Replies && !strings.Contains(string(raw), in.Recent) {
			t.Errorf("%s: a reply that does not refer to the recent message: %s", e.Name, raw)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		rest []string
		from string
	}{
		{[]string{"message.text"}, []string{"message.text"}, ""},
		{[]string{"message.text", "--from", "1"}, []string{"message.text"}, "1"},
		{[]string{"--from", "1", "message.text"}, []string{"message.text"}, "1"},
		{[]string{"--from=1", "a", "b"}, []string{"a", "b"}, "1"},
		{nil, nil, ""},
		{[]string{"--from", "1", "--", "-a", "--from"}, []string{"-a", "--from"}, "1"},
		{[]string{"x", "--", "--from"}, []string{"x", "--from"}, ""},
	} {
		fs := newFlags("test", io.Discard)
		from := fs.String("from", "", "")
		rest, err := parseArgs(fs, tc.args)
		if err != nil || !slices.Equal(rest, tc.rest) || *from != tc.from {
			t.Errorf("parseArgs(%q) = %q, --from %q, %v; want %q, %q", tc.args, rest, *from, err, tc.rest, tc.from)
		}
	}
	fs := newFlags("test", io.Discard)
	if _, err := parseArgs(fs, []string{"a", "--bogus"}); err == nil || !errors.As(err, new(usageError)) {
		t.Errorf("an unknown flag after an argument: %v, want a usage error", err)
	}
}

// FuzzSet: any --set value either fails with a one-line usage error or
// applies to every event's body, leaving JSON that encodes.
func FuzzSet(f *testing.F) {
	for _, s := range []string{"text.body=hi", "a..b=1", "x:=[1,{\"a\":null}]", "status.errors.0.code=7", "list.1.a:=true",
		"=", ":=", "contacts.0.phones.1.wa_id=2547", "location.latitude=-1e3", "text.body.x=1"} {
		f.Add(s)
	}
	in := triggerInput{PhoneNumberID: "1", Display: "1", From: "254712345678", WAMID: "wamid.x", Recent: "wamid.y", ProducerID: "p", Now: time.Unix(0, 0)}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAssignment(s)
		if err != nil {
			if !errors.As(err, new(usageError)) {
				t.Fatalf("parseAssignment(%q): %v", s, err)
			}
			return
		}
		for _, e := range triggerEvents {
			v, err := applyAssignments(e.Body(in), []assignment{a})
			if err != nil {
				if !errors.As(err, new(usageError)) {
					t.Fatalf("%s --set %q: %v, want a usage error", e.Name, s, err)
				}
				continue
			}
			if _, err := json.Marshal(v); err != nil {
				t.Fatalf("%s --set %q: the body does not encode: %v", e.Name, s, err)
			}
		}
	})
}
