package cli_test

import (
	"encoding/json"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// triggerEnv is the environment of bahasha trigger against s.
func triggerEnv(s *server) map[string]string {
	return map[string]string{"BAHASHA_API_URL": s.URL, "BAHASHA_API_KEY": s.Key}
}

// wamidRE finds the wamid in trigger's line.
var wamidRE = regexp.MustCompile(`message (wamid\.[^\s,;]+)`)

// trigger runs bahasha trigger with args against s, expects success and one
// line, and returns the wamid the line names.
func trigger(t *testing.T, s *server, args ...string) (wamid, line string) {
	t.Helper()
	code, out, errOut := runCLI(t, t.Context(), triggerEnv(s), append([]string{"trigger"}, args...)...)
	if code != 0 || errOut != "" || len(lines(out)) != 1 {
		t.Fatalf("trigger %q: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	m := wamidRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trigger %q: no wamid in %q", args, out)
	}
	return m[1], strings.TrimSpace(out)
}

// messageOf waits until rcv got the message wamid and returns it.
func messageOf(t *testing.T, rcv *receiver, wamid string) whatsapp.MessageEvent {
	t.Helper()
	var got whatsapp.MessageEvent
	rcv.Wait(t, "message "+wamid, func() bool {
		for _, m := range rcv.messages {
			if m.Message.ID == wamid {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// statusOf waits until rcv got a status of wamid and returns the first.
func statusOf(t *testing.T, rcv *receiver, wamid string) whatsapp.StatusEvent {
	t.Helper()
	var got whatsapp.StatusEvent
	rcv.Wait(t, "a status of "+wamid, func() bool {
		for _, s := range rcv.statuses {
			if s.Status.ID == wamid {
				got = s
				return true
			}
		}
		return false
	})
	return got
}

// triggerList runs bahasha trigger --list (with no API settings at all) and
// returns the event names.
func triggerList(t *testing.T) []string {
	t.Helper()
	code, out, errOut := runCLI(t, t.Context(), nil, "trigger", "--list")
	if code != 0 || errOut != "" {
		t.Fatalf("trigger --list: exit %d stderr %q", code, errOut)
	}
	var names []string
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) < 2 {
			t.Fatalf("trigger --list: line %q has no description", l)
		}
		names = append(names, f[0])
	}
	return names
}

// TestTriggerEveryEvent fires every event of --list through a real serve:
// each reaches the registered webhook, signed, as the message type or status
// it names; message.sent plays out sent, delivered, read.
func TestTriggerEveryEvent(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	phone := s.Phone()
	names := triggerList(t)
	want := []string{"message.text", "message.image", "message.audio", "message.video", "message.document", "message.sticker",
		"message.location", "message.contacts", "message.interactive.button_reply", "message.interactive.list_reply",
		"message.button", "message.reaction", "message.order", "status.sent", "status.delivered", "status.read", "status.failed",
		"message.sent"}
	if !slices.Equal(names, want) {
		t.Fatalf("trigger --list = %q, want %q", names, want)
	}
	for _, name := range names {
		wamid, line := trigger(t, s, name)
		if name != "message.sent" && !regexp.MustCompile(`event evt_\d+, delivery dlv_\d+$`).MatchString(line) {
			t.Errorf("%s: the line does not name the event and its one delivery: %q", name, line)
		}
		if !strings.Contains(line, phone.ID) {
			t.Errorf("%s: the line does not name the phone number %s: %q", name, phone.ID, line)
		}
		kind, rest, _ := strings.Cut(name, ".")
		switch {
		case name == "message.sent":
			rcv.Wait(t, "sent, delivered, read of "+wamid, func() bool {
				return slices.Equal(rcv.statusesOfLocked(wamid), []whatsapp.StatusValue{"sent", "delivered", "read"})
			})
			if st := statusOf(t, rcv, wamid); st.Status.RecipientID != "254712345678" || st.Metadata.PhoneNumberID != phone.ID {
				t.Errorf("message.sent: status %+v", st.Status)
			}
		case kind == "status":
			st := statusOf(t, rcv, wamid)
			if string(st.Status.Status) != rest || st.Status.RecipientID != "254712345678" || st.Metadata.PhoneNumberID != phone.ID {
				t.Errorf("%s: got status %q for %q on %s", name, st.Status.Status, st.Status.RecipientID, st.Metadata.PhoneNumberID)
			}
			if rest == "failed" && (len(st.Status.Errors) != 1 || st.Status.Errors[0].Code != 131026) {
				t.Errorf("status.failed: errors %+v, want 131026", st.Status.Errors)
			}
			if rest != "failed" && (st.Status.Conversation == nil || st.Status.Pricing == nil) {
				t.Errorf("%s: no conversation or pricing: %+v", name, st.Status)
			}
		default:
			m := messageOf(t, rcv, wamid)
			typ, sub, _ := strings.Cut(rest, ".")
			if string(m.Message.Type) != typ || m.Message.From != "254712345678" || m.Metadata.PhoneNumberID != phone.ID {
				t.Errorf("%s: got a %s message from %s on %s", name, m.Message.Type, m.Message.From, m.Metadata.PhoneNumberID)
			}
			if m.Contact == nil || m.Contact.Profile.Name == "" {
				t.Errorf("%s: no contact with the customer's name", name)
			}
			if typ == "interactive" && m.Message.Interactive.Type != sub {
				t.Errorf("%s: interactive type %q", name, m.Message.Interactive.Type)
			}
			if typ == "reaction" && !strings.HasPrefix(m.Message.Reaction.MessageID, "wamid.") {
				t.Errorf("message.reaction: reacts to %q", m.Message.Reaction.MessageID)
			}
		}
	}
	if errs := rcv.Errs(); len(errs) > 0 {
		t.Errorf("receiver errors: %q", errs)
	}
}

// TestTriggerOptions: --phone-number-id, --from, --set and --format json
// change what is sent and printed.
func TestTriggerOptions(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	first := s.Phone()

	t.Run("phone_number_id", func(t *testing.T) {
		r := s.Do("POST", "/v1/phone_numbers", map[string]any{})
		second := r.Str("id")
		if r.Status != 201 || second == "" || second == first.ID {
			t.Fatalf("POST /v1/phone_numbers: %s", r)
		}
		wamid, _ := trigger(t, s, "message.text", "--phone-number-id", second)
		if m := messageOf(t, rcv, wamid); m.Metadata.PhoneNumberID != second {
			t.Errorf("--phone-number-id %s: the message came on %s", second, m.Metadata.PhoneNumberID)
		}
		wamid, _ = trigger(t, s, "--phone-number-id", second, "status.delivered")
		if st := statusOf(t, rcv, wamid); st.Metadata.PhoneNumberID != second {
			t.Errorf("--phone-number-id %s: the status came on %s", second, st.Metadata.PhoneNumberID)
		}
		wamid, _ = trigger(t, s, "message.sent", "--phone-number-id", second)
		if st := statusOf(t, rcv, wamid); st.Metadata.PhoneNumberID != second {
			t.Errorf("--phone-number-id %s: message.sent's status came on %s", second, st.Metadata.PhoneNumberID)
		}
		// Without it, the account's first number.
		wamid, _ = trigger(t, s, "message.text")
		if m := messageOf(t, rcv, wamid); m.Metadata.PhoneNumberID != first.ID {
			t.Errorf("the default number: the message came on %s, want %s", m.Metadata.PhoneNumberID, first.ID)
		}
	})

	t.Run("from_and_set", func(t *testing.T) {
		wamid, _ := trigger(t, s, "message.text", "--from", "+254700111222", "--set", "text.body=Habari, is it in stock?",
			"--set", "name=Otieno")
		m := messageOf(t, rcv, wamid)
		if m.Message.From != "254700111222" || m.Message.Text.Body != "Habari, is it in stock?" || m.Contact == nil || m.Contact.Profile.Name != "Otieno" {
			t.Errorf("--from/--set: got %q from %s (%+v)", m.Message.Text.Body, m.Message.From, m.Contact)
		}

		// A number stays a number; a path that does not exist is created.
		wamid, _ = trigger(t, s, "message.location", "--set", "location.latitude=-4.0435", "--set", "location.name=Fort Jesus",
			"--set", "context.id=wamid.PREVIOUS")
		m = messageOf(t, rcv, wamid)
		if m.Message.Location.Latitude.String() != "-4.0435" || m.Message.Location.Name != "Fort Jesus" ||
			m.Message.Context == nil || m.Message.Context.ID != "wamid.PREVIOUS" {
			t.Errorf("--set on a location: %+v context %+v", m.Message.Location, m.Message.Context)
		}
		var raw map[string]any
		if err := json.Unmarshal(m.Message.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		if _, isNumber := raw["location"].(map[string]any)["latitude"].(float64); !isNumber {
			t.Errorf("--set location.latitude=-4.0435 did not send a number: %s", m.Message.Raw)
		}

		// --set wins over --from; a status gets a field it did not have.
		wamid, line := trigger(t, s, "status.read", "--from", "254700111222", "--set", "status.recipient_id=254733444555",
			"--set", "status.biz_opaque_callback_data=order-1042")
		st := statusOf(t, rcv, wamid)
		if st.Status.RecipientID != "254733444555" || st.Status.BizOpaqueCallbackData != "order-1042" || st.Status.Status != "read" {
			t.Errorf("--set on a status: %+v", st.Status)
		}
		if !strings.Contains(line, "254733444555") {
			t.Errorf("the line does not name the recipient set: %q", line)
		}
		// The status's own wamid can be set too.
		_, _ = trigger(t, s, "status.delivered", "--set", "status.id=wamid.CHOSEN")
		if st := statusOf(t, rcv, "wamid.CHOSEN"); st.Status.Status != "delivered" {
			t.Errorf("--set status.id: %+v", st.Status)
		}

		// message.sent goes to --from, with --set's body.
		wamid, _ = trigger(t, s, "message.sent", "--from", "254700111222", "--set", "text.body=Your code is 1234")
		rcv.Wait(t, "message.sent to --from read", func() bool {
			return slices.Equal(rcv.statusesOfLocked(wamid), []whatsapp.StatusValue{"sent", "delivered", "read"})
		})
		if st := statusOf(t, rcv, wamid); st.Status.RecipientID != "254700111222" {
			t.Errorf("message.sent --from: recipient %q", st.Status.RecipientID)
		}
	})

	t.Run("format_json", func(t *testing.T) {
		for _, tc := range []struct{ event, path string }{
			{"message.image", "message.id"}, {"status.sent", "results.0.event_id"}, {"message.sent", "messages.0.id"},
		} {
			code, out, errOut := runCLI(t, t.Context(), triggerEnv(s), "trigger", tc.event, "--format", "json")
			var v any
			if code != 0 || errOut != "" || len(lines(out)) != 1 || json.Unmarshal([]byte(out), &v) != nil {
				t.Fatalf("%s --format json: exit %d stdout %q stderr %q, want one JSON line", tc.event, code, out, errOut)
			}
			if r := (&apiResp{JSON: v}); r.Str(tc.path) == "" {
				t.Errorf("%s --format json: %s has no %s", tc.event, out, tc.path)
			}
		}
	})
}

// TestTriggerReactsToRecent: a reaction refers to the latest message the
// business sent from the number.
func TestTriggerReactsToRecent(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	phone := s.Phone()
	sent := s.Send(s.Key, phone.ID, "254712345678")
	rcv.Wait(t, "the message read", func() bool { return len(rcv.statusesOfLocked(sent)) == 3 })
	wamid, _ := trigger(t, s, "message.reaction")
	if m := messageOf(t, rcv, wamid); m.Message.Reaction.MessageID != sent {
		t.Errorf("the reaction is to %q, want the message sent %q", m.Message.Reaction.MessageID, sent)
	}
	wamid, _ = trigger(t, s, "message.button")
	if m := messageOf(t, rcv, wamid); m.Message.Context == nil || m.Message.Context.ID != sent {
		t.Errorf("the button reply's context is %+v, want the message sent %q", m.Message.Context, sent)
	}
}

// TestTriggerBadInput: each mistake is one line on stderr, nothing on
// stdout, exit 2 for usage and 1 for failures, and nothing is sent.
func TestTriggerBadInput(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	env := triggerEnv(s)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()
	with := func(kv ...string) map[string]string {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  []string // every one appears in the line
	}{
		{"unknown_flag", env, []string{"message.text", "--bogus"}, 2, []string{"bogus"}},
		{"unknown_flag_first", env, []string{"--colour", "red", "message.text"}, 2, []string{"colour"}},
		{"unknown_event", env, []string{"message.telegram"}, 2, []string{`"message.telegram"`, "message.text", "status.failed", "message.sent", "--list"}},
		{"no_event", env, nil, 2, []string{"EVENT", "--list"}},
		{"two_events", env, []string{"message.text", "status.read"}, 2, []string{"one EVENT"}},
		{"list_with_event", env, []string{"--list", "message.text"}, 2, []string{"--list"}},
		{"set_no_equals", env, []string{"message.text", "--set", "text.body"}, 2, []string{"--set", "field=value"}},
		{"set_empty_part", env, []string{"message.text", "--set", "text..body=x"}, 2, []string{"--set", "empty part"}},
		{"set_empty_field", env, []string{"message.text", "--set", "=x"}, 2, []string{"--set", "empty"}},
		{"set_into_text", env, []string{"message.text", "--set", "text.body.size=3"}, 2, []string{"--set", "text.body is text"}},
		{"set_number", env, []string{"message.location", "--set", "location.latitude=north"}, 2, []string{"--set", "number"}},
		{"set_bad_json", env, []string{"status.read", "--set", "status.errors:=[oops"}, 2, []string{"--set", "not JSON"}},
		{"bad_format", env, []string{"message.text", "--format", "yaml"}, 2, []string{"--format"}},
		{"bad_from", env, []string{"message.text", "--from", "jane"}, 2, []string{"--from"}},
		{"no_key", with("BAHASHA_API_KEY", ""), []string{"message.text"}, 2, []string{"BAHASHA_API_KEY"}},
		{"bad_url", with("BAHASHA_API_URL", "ftp://example.com"), []string{"message.text"}, 2, []string{"BAHASHA_API_URL"}},
		{"bad_url_flag", env, []string{"message.text", "--api", "localhost:8080"}, 2, []string{"--api"}},
		{"wrong_key", with("BAHASHA_API_KEY", "bh_wrong_key_0123456789abcdefghijklmnopqrst"), []string{"message.text"}, 1,
			[]string{"the API key is not valid", "BAHASHA_API_KEY"}},
		{"wrong_key_flag", env, []string{"status.read", "--api-key", "bh_wrong_key_0123456789abcdefghijklmnopqrst"}, 1,
			[]string{"the API key is not valid"}},
		{"unreachable", with("BAHASHA_API_URL", closedURL), []string{"message.text"}, 1, []string{"cannot reach the platform at " + closedURL}},
		{"unreachable_flag", env, []string{"message.sent", "--api", closedURL}, 1, []string{"cannot reach the platform at " + closedURL, "BAHASHA_API_URL"}},
		{"not_bahasha", with("BAHASHA_API_URL", s.URL+"/elsewhere"), []string{"message.text"}, 1, []string{"404", "--api"}},
		{"unknown_number", env, []string{"message.text", "--phone-number-id", "999999"}, 1, []string{"--phone-number-id", "999999"}},
		{"api_refuses", env, []string{"message.text", "--set", "text.body="}, 1, []string{"text.body"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, t.Context(), tc.env, append([]string{"trigger"}, tc.args...)...)
			if code != tc.code || out != "" || len(lines(errOut)) != 1 || !strings.HasPrefix(errOut, "bahasha: ") {
				t.Fatalf("trigger %q: exit %d stdout %q stderr %q, want %d and one line on stderr", tc.args, code, out, errOut, tc.code)
			}
			for _, m := range tc.msg {
				if !strings.Contains(errOut, m) {
					t.Errorf("trigger %q: stderr %q does not say %q", tc.args, errOut, m)
				}
			}
			if strings.Contains(errOut, "bh_wrong_key") || strings.Contains(errOut, testAPIKey) {
				t.Errorf("trigger %q: stderr shows a key: %q", tc.args, errOut)
			}
		})
	}
	if n := len(s.Deliveries(s.Key, "")); n != 0 {
		t.Errorf("bad input made %d deliveries", n)
	}
	if p := rcv.Posts(); len(p) != 0 {
		t.Errorf("bad input reached the webhook %d times", len(p))
	}
}
