package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/config"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/sandbox"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// bahasha trigger is a client of the platform's public API: it fires one
// realistic sandbox event for the account through the real pipeline, so
// that every endpoint that would get such an event gets it. Customer
// messages go through POST /v1/{phone_number_id}/sandbox/inbound, delivery
// reports through the producer ingest API (POST /v1/events), and
// message.sent through the Messages API, whose sandbox carrier then plays
// out the message's statuses.

// Defaults of the simulated customer.
const (
	triggerFrom = "254712345678"
	triggerName = "Jane Smith"
)

// triggerRoute is the API a trigger event goes through.
type triggerRoute int

const (
	routeInbound triggerRoute = iota // POST /v1/{phone_number_id}/sandbox/inbound
	routeStatus                      // POST /v1/events, one status event
	routeSend                        // POST /v1/{phone_number_id}/messages
)

// triggerInput is what an event's body is built from.
type triggerInput struct {
	PhoneNumberID string
	Display       string // the business number, digits only
	From          string // the customer, digits only
	WAMID         string // a fresh wamid, for a status
	Recent        string // a wamid the business sent, or a made-up one: what a reply refers to
	ProducerID    string // the status event's id
	Now           time.Time
}

// triggerEvent is one event bahasha trigger fires.
type triggerEvent struct {
	Name  string
	Help  string
	Route triggerRoute
	// Replies: the body refers to a message the business sent (Recent).
	Replies bool
	// Body returns the JSON body sent: the inbound request, the status
	// event (sent as {"events":[…]}) or the send request.
	Body func(in triggerInput) any
}

// triggerEvents lists what bahasha trigger fires, in --list's order.
var triggerEvents = []triggerEvent{
	triggerInbound("message.text", "a customer's text message", false, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageText, Text: &whatsapp.Text{Body: "Hi! Has my order shipped yet?"}}
	}),
	triggerInbound("message.image", "a customer's photo, with a caption", false, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageImage, Image: &whatsapp.Media{ID: "1479537139650973", MimeType: "image/jpeg",
			SHA256: "a3f1c3e8a6b0e3b8f7d94b0f8d0f5ac3b4e9dc2d1f6a7b8c9d0e1f2a3b4c5d6e", Caption: "Here is my receipt"}}
	}),
	triggerInbound("message.audio", "a customer's voice note", false, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageAudio, Audio: &whatsapp.Media{ID: "1022395685629542", MimeType: "audio/ogg; codecs=opus",
			SHA256: "5a2b7c9d0e1f3a4b6c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", Voice: true}}
	}),
	triggerInbound("message.video", "a customer's video, with a caption", false, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageVideo, Video: &whatsapp.Media{ID: "1168430551062393", MimeType: "video/mp4",
			SHA256: "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0", Caption: "The parcel arrived like this"}}
	}),
	triggerInbound("message.document", "a customer's PDF document", false, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageDocument, Document: &whatsapp.Media{ID: "1287463920184756", MimeType: "application/pdf",
			SHA256: "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d", Filename: "invoice-1042.pdf", Caption: "Invoice 1042"}}
	}),
	triggerInbound("message.sticker", "a customer's animated sticker", false, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageSticker, Sticker: &whatsapp.Media{ID: "1350286573928174", MimeType: "image/webp",
			SHA256: "7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6", Animated: true}}
	}),
	triggerInbound("message.location", "a customer's shared location", false, func(in triggerInput) whatsapp.Message {
		lat, _ := whatsapp.NumberOf("-1.2864")
		lng, _ := whatsapp.NumberOf("36.8172")
		return whatsapp.Message{Type: whatsapp.MessageLocation, Location: &whatsapp.Location{Latitude: lat, Longitude: lng,
			Name: "Kenyatta International Convention Centre", Address: "Harambee Ave, Nairobi"}}
	}),
	triggerInbound("message.contacts", "a customer's shared contact card", false, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageContacts, Contacts: []whatsapp.SharedContact{{
			Name:   whatsapp.ContactName{FormattedName: "Wanjiru Kamau", FirstName: "Wanjiru", LastName: "Kamau"},
			Phones: []whatsapp.ContactPhone{{Phone: "+254 722 000111", WaID: "254722000111", Type: "CELL"}},
			Emails: []whatsapp.ContactEmail{{Email: "wanjiru@example.com", Type: "WORK"}},
		}}}
	}),
	triggerInbound("message.interactive.button_reply", "a customer's tap on a reply button", true, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageInteractive, Context: &whatsapp.Context{From: in.Display, ID: in.Recent},
			Interactive: &whatsapp.Interactive{Type: "button_reply", ButtonReply: &whatsapp.ButtonReply{ID: "confirm", Title: "Confirm order"}}}
	}),
	triggerInbound("message.interactive.list_reply", "a customer's choice from a list message", true, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageInteractive, Context: &whatsapp.Context{From: in.Display, ID: in.Recent},
			Interactive: &whatsapp.Interactive{Type: "list_reply", ListReply: &whatsapp.ListReply{ID: "express",
				Title: "Express delivery", Description: "Arrives tomorrow"}}}
	}),
	triggerInbound("message.button", "a customer's tap on a template's quick-reply button", true, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageButton, Context: &whatsapp.Context{From: in.Display, ID: in.Recent},
			Button: &whatsapp.Button{Payload: "TRACK_ORDER", Text: "Track my order"}}
	}),
	triggerInbound("message.reaction", "a customer's emoji reaction to the latest message sent (or a made-up one)", true, func(in triggerInput) whatsapp.Message {
		return whatsapp.Message{Type: whatsapp.MessageReaction, Reaction: &whatsapp.Reaction{MessageID: in.Recent, Emoji: "\U0001F44D"}}
	}),
	triggerInbound("message.order", "a customer's order from the catalog", false, func(in triggerInput) whatsapp.Message {
		price, _ := whatsapp.NumberOf("1250")
		return whatsapp.Message{Type: whatsapp.MessageOrder, Order: &whatsapp.Order{CatalogID: "194836987003835", Text: "Please deliver before 5pm",
			ProductItems: []whatsapp.ProductItem{{ProductRetailerID: "SKU-1042", Quantity: whatsapp.IntNumber(2), ItemPrice: price, Currency: "KES"}}}}
	}),
	triggerStatus("status.sent", "a delivery report: a message was sent", whatsapp.StatusSent),
	triggerStatus("status.delivered", "a delivery report: a message was delivered", whatsapp.StatusDelivered),
	triggerStatus("status.read", "a delivery report: a message was read", whatsapp.StatusRead),
	triggerStatus("status.failed", "a delivery report: a message failed (error 131026, undeliverable)", whatsapp.StatusFailed),
	{Name: "message.sent", Help: "a sandbox text message to the customer, whose statuses follow: sent, delivered, read", Route: routeSend,
		Body: func(in triggerInput) any {
			return map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": in.From, "type": "text",
				"text": map[string]any{"preview_url": false, "body": "Your order #1042 has shipped and arrives tomorrow."}}
		}},
}

// triggerInbound is a customer message event: the message is sent as
// POST /v1/{phone_number_id}/sandbox/inbound's body with the customer's
// number and name.
func triggerInbound(name, help string, replies bool, msg func(triggerInput) whatsapp.Message) triggerEvent {
	return triggerEvent{Name: name, Help: help, Route: routeInbound, Replies: replies, Body: func(in triggerInput) any {
		return inboundBody{From: in.From, Name: triggerName, Message: msg(in)}
	}}
}

// inboundBody is POST /v1/{phone_number_id}/sandbox/inbound's body: the
// customer and the message's fields beside them.
type inboundBody struct {
	From    string
	Name    string
	Message whatsapp.Message
}

func (b inboundBody) MarshalJSON() ([]byte, error) {
	m, err := json.Marshal(b.Message)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(m, &fields); err != nil {
		return nil, err
	}
	fields["from"], _ = json.Marshal(b.From)
	fields["name"], _ = json.Marshal(b.Name)
	return json.Marshal(fields)
}

// triggerStatus is a delivery report event, as a producer sends it to
// POST /v1/events: a failed one carries the sandbox's 131026 error, the
// others the conversation and pricing of a service conversation.
func triggerStatus(name, help string, value whatsapp.StatusValue) triggerEvent {
	return triggerEvent{Name: name, Help: help, Route: routeStatus, Body: func(in triggerInput) any {
		st := whatsapp.Status{ID: in.WAMID, Status: value, Timestamp: whatsapp.TimestampOf(in.Now), RecipientID: in.From,
			RecipientType: "individual"}
		if value == whatsapp.StatusFailed {
			st.Errors = []whatsapp.Error{sandbox.UndeliverableError()}
		} else {
			st.Conversation = &whatsapp.Conversation{ID: conversationOf(in.WAMID),
				ExpirationTimestamp: whatsapp.TimestampOf(in.Now.Add(24 * time.Hour)), Origin: whatsapp.Origin{Type: "service"}}
			st.Pricing = &whatsapp.Pricing{Billable: true, PricingModel: "PMP", Category: "service", Type: "regular"}
		}
		return map[string]any{"id": in.ProducerID, "phone_number_id": in.PhoneNumberID, "status": st}
	}}
}

// conversationOf makes a conversation id out of a wamid, as the sandbox does.
func conversationOf(wamid string) string {
	id := strings.NewReplacer("+", "", "/", "", "=", "").Replace(strings.TrimPrefix(wamid, "wamid."))
	if len(id) > 32 {
		id = id[:32]
	}
	return strings.ToLower(id)
}

func triggerEventNamed(name string) (triggerEvent, bool) {
	for _, e := range triggerEvents {
		if e.Name == name {
			return e, true
		}
	}
	return triggerEvent{}, false
}

func triggerEventNames() []string {
	names := make([]string, len(triggerEvents))
	for i, e := range triggerEvents {
		names[i] = e.Name
	}
	return names
}

// assignment is one --set field=value: a dotted path into the body sent,
// and the value to put there.
type assignment struct {
	Path []string
	// Text is the value of field=value: a string, unless the field holds
	// a number or true/false, which it then must be too.
	Text string
	// JSON is the value of field:=json, when Raw.
	JSON any
	Raw  bool
}

// parseAssignment reads a --set value: field=value sets a string (or a
// number or boolean where the field holds one), field:=json any JSON value.
// The field is a dotted path such as text.body or contacts.0.name; a number
// indexes a list.
func parseAssignment(s string) (assignment, error) {
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return assignment{}, usagef("--set %q: want field=value, e.g. --set text.body=hi (or field:=json, e.g. --set 'location.latitude:=-1.3')", oneLineValue(s))
	}
	a := assignment{Text: value}
	if k, isRaw := strings.CutSuffix(key, ":"); isRaw {
		key, a.Raw = k, true
		dec := json.NewDecoder(strings.NewReader(value))
		dec.UseNumber()
		if err := dec.Decode(&a.JSON); err != nil {
			return assignment{}, usagef("--set %q: %q is not JSON (field:=json takes a JSON value; use field=value for text)", oneLineValue(s), oneLineValue(value))
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return assignment{}, usagef("--set %q: %q is more than one JSON value", oneLineValue(s), oneLineValue(value))
		}
	}
	if key == "" {
		return assignment{}, usagef("--set %q: the field before = is empty; want field=value, e.g. --set text.body=hi", oneLineValue(s))
	}
	a.Path = strings.Split(key, ".")
	for _, p := range a.Path {
		if strings.TrimSpace(p) == "" {
			return assignment{}, usagef("--set %q: the field %q has an empty part; separate names with single dots, e.g. status.recipient_id", oneLineValue(s), key)
		}
	}
	return a, nil
}

// apply sets a's value in body (decoded JSON), creating the objects on its
// path that do not exist, and returns the new body.
func (a assignment) apply(body any) (any, error) {
	return a.setIn(body, 0)
}

func (a assignment) setIn(cur any, i int) (any, error) {
	if i == len(a.Path) {
		return a.value(cur)
	}
	seg := a.Path[i]
	where := func() string { return strings.Join(a.Path[:i], ".") }
	switch c := cur.(type) {
	case nil:
		v, err := a.setIn(nil, i+1)
		if err != nil {
			return nil, err
		}
		return map[string]any{seg: v}, nil
	case map[string]any:
		v, err := a.setIn(c[seg], i+1)
		if err != nil {
			return nil, err
		}
		c[seg] = v
		return c, nil
	case []any:
		n, err := strconv.Atoi(seg)
		if err != nil || n < 0 || n > len(c) {
			return nil, usagef("--set %s: %s is a list of %d; index it with a number from 0 to %d (%d adds one)",
				strings.Join(a.Path, "."), where(), len(c), len(c), len(c))
		}
		if n == len(c) {
			c = append(c, nil)
		}
		v, err := a.setIn(c[n], i+1)
		if err != nil {
			return nil, err
		}
		c[n] = v
		return c, nil
	default:
		return nil, usagef("--set %s: %s is %s, not an object; set %s itself or a field that is one", strings.Join(a.Path, "."), where(), kindOf(cur), where())
	}
}

// value is the value a puts where old was.
func (a assignment) value(old any) (any, error) {
	if a.Raw {
		return a.JSON, nil
	}
	switch old.(type) {
	case json.Number:
		if !isJSONNumber(a.Text) {
			return nil, usagef("--set %s=%s: %s is a number; give one (or field:=json to set another kind)", strings.Join(a.Path, "."), oneLineValue(a.Text), strings.Join(a.Path, "."))
		}
		return json.Number(a.Text), nil
	case bool:
		switch a.Text {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, usagef("--set %s=%s: %s is true or false (or field:=json to set another kind)", strings.Join(a.Path, "."), oneLineValue(a.Text), strings.Join(a.Path, "."))
	}
	return a.Text, nil
}

// isJSONNumber: s is exactly one JSON number.
func isJSONNumber(s string) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return false
	}
	n, ok := v.(json.Number)
	return ok && string(n) == s
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "text"
	case json.Number:
		return "a number"
	case bool:
		return "true or false"
	}
	return "a value"
}

// applyAssignments turns body into decoded JSON and applies sets to it in
// order.
func applyAssignments(body any, sets []assignment) (any, error) {
	if len(sets) == 0 {
		return body, nil
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the event: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("cannot decode the event: %w", err)
	}
	for _, s := range sets {
		if v, err = s.apply(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// triggerOptions are bahasha trigger's own flags.
type triggerOptions struct {
	list          bool
	phoneNumberID string
	from          string
	sets          []assignment
	format        string
}

func runTrigger(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	cfg := config.DefaultClient()
	fs := newFlags("trigger", stderr)
	if err := bindSettings(fs, clientSettings(&cfg), env); err != nil {
		return err
	}
	var opt triggerOptions
	var rawSets []string
	fs.BoolVar(&opt.list, "list", false, "print the events trigger fires, and exit")
	fs.StringVar(&opt.phoneNumberID, "phone-number-id", "", "the account's phone number the event is for (default: its first, from GET /v1/phone_numbers)")
	fs.StringVar(&opt.from, "from", triggerFrom, "the customer's number: who sends a message, whom a status or message.sent is for")
	fs.Func("set", "`field=value` to set in the body sent, a dotted JSON path such as text.body=hi (field:=json for a JSON value); repeatable", func(v string) error {
		rawSets = append(rawSets, v)
		return nil
	})
	fs.StringVar(&opt.format, "format", "text", "output: text (one line) or json (the API's answer)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if opt.list {
		if len(rest) > 0 {
			return usagef("--list takes no EVENT; run bahasha trigger --list, then bahasha trigger EVENT")
		}
		printTriggerList(stdout)
		return nil
	}
	if len(rest) == 0 {
		return usagef("name the EVENT to fire: bahasha trigger EVENT (bahasha trigger --list shows them)")
	}
	if len(rest) > 1 {
		return usagef("one EVENT at a time: %q, then %q; run bahasha trigger once for each", rest[0], rest[1])
	}
	ev, ok := triggerEventNamed(rest[0])
	if !ok {
		return usagef("unknown event %q; the events are %s (bahasha trigger --list describes them)", oneLineValue(rest[0]), strings.Join(triggerEventNames(), ", "))
	}
	if opt.format != "text" && opt.format != "json" {
		return usagef("--format must be text or json, not %q", oneLineValue(opt.format))
	}
	if !messaging.ValidPhone(opt.from) {
		return usagef("--from %q must be the customer's phone number, digits only with the country code, e.g. %s", oneLineValue(opt.from), triggerFrom)
	}
	opt.from = strings.TrimPrefix(opt.from, "+")
	for _, s := range rawSets {
		a, err := parseAssignment(s)
		if err != nil {
			return err
		}
		opt.sets = append(opt.sets, a)
	}
	// Bodies have the same shape whatever the ids: a --set that does not
	// fit is a usage error before anything is sent.
	if _, err := applyAssignments(ev.Body(triggerInput{PhoneNumberID: "1", Display: "1", From: opt.from, WAMID: "wamid.x",
		Recent: "wamid.x", ProducerID: "x", Now: time.Unix(0, 0)}), opt.sets); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	c := newAPIClient(cfg)
	defer c.close()
	return trigger(ctx, c, ev, opt, time.Now(), stdout)
}

func printTriggerList(w io.Writer) {
	width := 0
	for _, e := range triggerEvents {
		width = max(width, len(e.Name))
	}
	for _, e := range triggerEvents {
		fmt.Fprintf(w, "%-*s  %s\n", width, e.Name, e.Help)
	}
}

// phoneNumberAnswer is a number of GET /v1/phone_numbers.
type phoneNumberAnswer struct {
	ID      string `json:"id"`
	Display string `json:"display_phone_number"`
}

// trigger fires ev through the API and prints what was sent.
func trigger(ctx context.Context, c *apiClient, ev triggerEvent, opt triggerOptions, now time.Time, stdout io.Writer) error {
	number, err := choosePhoneNumber(ctx, c, opt.phoneNumberID)
	if err != nil {
		return err
	}
	in := triggerInput{PhoneNumberID: number.ID, Display: digits(number.Display), From: opt.from, Now: now,
		ProducerID: "trigger-" + rand.Text()}
	if in.WAMID, err = sandbox.NewWAMID(nil); err != nil {
		return err
	}
	if ev.Replies {
		if in.Recent, err = recentWAMID(ctx, c, number.ID); err != nil {
			return err
		}
		if in.Recent == "" {
			in.Recent = in.WAMID
		}
	}
	body, err := applyAssignments(ev.Body(in), opt.sets)
	if err != nil {
		return err
	}
	pid := url.PathEscape(number.ID)
	var answer []byte
	var line string
	switch ev.Route {
	case routeInbound:
		var res struct {
			Message struct {
				ID   string `json:"id"`
				From string `json:"from"`
			} `json:"message"`
			EventID     string   `json:"event_id"`
			DeliveryIDs []string `json:"delivery_ids"`
		}
		if answer, err = c.do(ctx, "POST", "/v1/"+pid+"/sandbox/inbound", body, &res); err != nil {
			return err
		}
		line = fmt.Sprintf("Triggered %s from %s to %s (phone_number_id %s): message %s, event %s, %s",
			ev.Name, res.Message.From, number.Display, number.ID, res.Message.ID, res.EventID, deliveriesText(res.DeliveryIDs))
	case routeStatus:
		var res struct {
			Results []struct {
				EventID     string   `json:"event_id"`
				Duplicate   bool     `json:"duplicate"`
				DeliveryIDs []string `json:"delivery_ids"`
			} `json:"results"`
		}
		if answer, err = c.do(ctx, "POST", "/v1/events", map[string]any{"events": []any{body}}, &res); err != nil {
			return err
		}
		if len(res.Results) != 1 {
			return fmt.Errorf("the platform answered POST /v1/events with %d results for one event", len(res.Results))
		}
		r := res.Results[0]
		wamid, recipient := statusFields(body)
		dup := ""
		if r.Duplicate {
			dup = " (a duplicate id: already ingested, not delivered again)"
		}
		line = fmt.Sprintf("Triggered %s of message %s for %s on phone_number_id %s: event %s%s, %s",
			ev.Name, wamid, recipient, number.ID, r.EventID, dup, deliveriesText(r.DeliveryIDs))
	case routeSend:
		var res struct {
			Contacts []struct {
				WaID string `json:"wa_id"`
			} `json:"contacts"`
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
		}
		if answer, err = c.do(ctx, "POST", "/v1/"+pid+"/messages", body, &res); err != nil {
			return err
		}
		if len(res.Messages) == 0 {
			return errors.New("the platform answered the Messages API with no message id")
		}
		to := opt.from
		if len(res.Contacts) > 0 {
			to = res.Contacts[0].WaID
		}
		line = fmt.Sprintf("Triggered %s to %s from %s (phone_number_id %s): message %s; the sandbox carrier reports its statuses (sent, delivered, read) to every endpoint that gets them",
			ev.Name, to, number.Display, number.ID, res.Messages[0].ID)
	}
	if opt.format == "json" {
		answer = bytes.TrimSpace(answer)
		_, err = fmt.Fprintf(stdout, "%s\n", answer)
		return err
	}
	_, err = fmt.Fprintln(stdout, line)
	return err
}

// choosePhoneNumber returns the account's number id, or its first.
func choosePhoneNumber(ctx context.Context, c *apiClient, id string) (phoneNumberAnswer, error) {
	var res struct {
		Data []phoneNumberAnswer `json:"data"`
	}
	if _, err := c.do(ctx, "GET", "/v1/phone_numbers", nil, &res); err != nil {
		return phoneNumberAnswer{}, err
	}
	if len(res.Data) == 0 {
		return phoneNumberAnswer{}, errors.New("the account has no phone number; add one with POST /v1/phone_numbers")
	}
	if id == "" {
		return res.Data[0], nil
	}
	ids := make([]string, len(res.Data))
	for i, n := range res.Data {
		if n.ID == id {
			return n, nil
		}
		ids[i] = n.ID
	}
	return phoneNumberAnswer{}, fmt.Errorf("--phone-number-id %s is not one of the account's phone numbers (%s)", oneLineValue(id), strings.Join(ids, ", "))
}

// recentWAMID returns the wamid of the latest message the business sent
// from the number that the account's deliveries show, or "".
func recentWAMID(ctx context.Context, c *apiClient, phoneNumberID string) (string, error) {
	var res struct {
		Data []struct {
			Kind          string `json:"kind"`
			WAMID         string `json:"wamid"`
			PhoneNumberID string `json:"phone_number_id"`
		} `json:"data"`
	}
	if _, err := c.do(ctx, "GET", "/v1/webhook/deliveries?limit=100", nil, &res); err != nil {
		return "", err
	}
	for _, d := range res.Data {
		if d.Kind == "status" && d.PhoneNumberID == phoneNumberID && d.WAMID != "" {
			return d.WAMID, nil
		}
	}
	return "", nil
}

// statusFields reads the wamid and recipient of a status event body (as
// --set may have changed them).
func statusFields(body any) (wamid, recipient string) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", ""
	}
	var ev struct {
		Status struct {
			ID          any `json:"id"`
			RecipientID any `json:"recipient_id"`
		} `json:"status"`
	}
	if json.Unmarshal(raw, &ev) != nil {
		return "", ""
	}
	return fmt.Sprint(ev.Status.ID), fmt.Sprint(ev.Status.RecipientID)
}

func deliveriesText(ids []string) string {
	switch len(ids) {
	case 0:
		return "no delivery (no endpoint of the account gets this event: register one with PUT /v1/webhook or POST /v1/webhooks)"
	case 1:
		return "delivery " + ids[0]
	}
	return "deliveries " + strings.Join(ids, ", ")
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
