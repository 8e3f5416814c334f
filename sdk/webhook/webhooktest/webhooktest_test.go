package webhooktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// Every sample survives the wire: marshalled, parsed back, equal, and with
// the typed field of its type set.
func TestSamplesSurviveTheWire(t *testing.T) {
	for _, ty := range whatsapp.KnownMessageTypes {
		t.Run(string(ty), func(t *testing.T) {
			n := webhooktest.Messages(webhooktest.SampleMessage(ty))
			body, err := json.Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			back, err := whatsapp.Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			m := back.Entry[0].Changes[0].Value.Messages[0]
			m.Raw = nil
			want := n.Entry[0].Changes[0].Value.Messages[0]
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("after the wire\n got %+v\nwant %+v", m, want)
			}
			field := reflect.ValueOf(m).FieldByNameFunc(func(name string) bool {
				f, _ := reflect.TypeFor[whatsapp.Message]().FieldByName(name)
				tag := f.Tag.Get("json")
				return len(tag) > len(ty) && tag[:len(ty)+1] == string(ty)+","
			})
			switch ty {
			case whatsapp.MessageUnsupported, whatsapp.MessageUnknown, whatsapp.MessageRequestWelcome:
				return // these carry no content object
			}
			if !field.IsValid() || field.IsZero() {
				t.Fatalf("the %s sample has no %s content", ty, ty)
			}
		})
	}
}

func TestStatusSamples(t *testing.T) {
	for _, st := range []whatsapp.StatusValue{whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead, whatsapp.StatusFailed} {
		n := webhooktest.Status("wamid.X", st)
		var got []whatsapp.StatusEvent
		for e := range n.Statuses() {
			got = append(got, e)
		}
		if len(got) != 1 || got[0].Status.Status != st || got[0].WABAID != webhooktest.WABAID ||
			got[0].Metadata.PhoneNumberID != webhooktest.PhoneNumberID {
			t.Fatalf("%s: %+v", st, got)
		}
		if failed := st == whatsapp.StatusFailed; failed != (got[0].Status.FirstError() != nil) {
			t.Fatalf("%s: errors %v", st, got[0].Status.Errors)
		}
	}
}

func TestMessagesPairsContacts(t *testing.T) {
	n := webhooktest.Messages(
		whatsapp.Message{From: "111", Type: "text", Text: &whatsapp.Text{Body: "a"}},
		whatsapp.Message{From: "222", Type: "text", Text: &whatsapp.Text{Body: "b"}},
		whatsapp.Message{From: "111", Type: "text", Text: &whatsapp.Text{Body: "c"}},
	)
	if c := n.Entry[0].Changes[0].Value.Contacts; len(c) != 2 {
		t.Fatalf("contacts %+v, want one per sender", c)
	}
	for e := range n.Messages() {
		if e.Contact == nil || e.Contact.WaID != e.Message.From {
			t.Fatalf("message from %s paired with %+v", e.Message.From, e.Contact)
		}
	}
}

func TestRequestsAreSignedAndVerify(t *testing.T) {
	h := &webhook.Handler{VerifyToken: "t", AppSecret: "s"}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, webhooktest.NewRequest("/webhook", webhooktest.Text("1", "x"), "s"))
	if rec.Code != 200 {
		t.Fatalf("signed request: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, webhooktest.NewRequest("/webhook", webhooktest.Text("1", "x"), ""))
	if rec.Code != 401 {
		t.Fatalf("unsigned request: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, webhooktest.NewVerifyRequest("/webhook?x=1", "t", "c"))
	if rec.Code != 200 || rec.Body.String() != "c" {
		t.Fatalf("verify request: %d %q", rec.Code, rec.Body)
	}
}

// Test a receiver's handler with requests exactly like Bahasha's.
func ExampleNewRequest() {
	var got []string
	h := &webhook.Handler{
		AppSecret: "test-secret",
		OnText: func(_ context.Context, e whatsapp.MessageEvent) error {
			got = append(got, e.Contact.Profile.Name+": "+e.Message.Text.Body)
			return nil
		},
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, webhooktest.NewRequest("/webhook", webhooktest.Text(webhooktest.CustomerWaID, "Habari"), "test-secret"))
	fmt.Println(rec.Code, got)
	// Output:
	// 200 [Jane Smith: Habari]
}

func TestSignStandard(t *testing.T) {
	const signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(webhooktest.Timestamp, 0)
	h := &webhook.Handler{AppSecret: "s", SigningSecret: signing, Now: func() time.Time { return now }}
	r := webhooktest.SignStandard(webhooktest.NewRequest("/webhook", webhooktest.Text("1", "x"), "s"), "msg_1", now, signing)
	if r.Header.Get(webhook.HeaderWebhookID) != "msg_1" || r.Header.Get(webhook.HeaderWebhookTimestamp) != "1700000001" {
		t.Fatalf("headers %v", r.Header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("signed both ways: %d %s", rec.Code, rec.Body)
	}
	// Two secrets, as during a rotation: two signatures.
	r = webhooktest.SignStandard(webhooktest.NewRequest("/webhook", webhooktest.Text("1", "x"), "s"), "msg_1", now, "whsec_b2xkLXNpZ25pbmcta2V5", signing)
	if n := len(strings.Fields(r.Header.Get(webhook.HeaderWebhookSignature))); n != 2 {
		t.Fatalf("%d signatures for two secrets", n)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("signed with two secrets: %d %s", rec.Code, rec.Body)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a request signed with no secret")
		}
	}()
	webhooktest.SignStandard(webhooktest.NewRequest("/webhook", webhooktest.Text("1", "x"), "s"), "msg_1", now)
}
