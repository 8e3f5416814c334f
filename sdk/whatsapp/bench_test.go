package whatsapp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// statusBatch returns the body of a notification with n delivered statuses,
// shaped as WhatsApp sends them (string timestamps, pricing).
func statusBatch(tb testing.TB, n int) []byte {
	tb.Helper()
	v := Value{
		MessagingProduct: MessagingProductWhatsApp,
		Metadata:         Metadata{DisplayPhoneNumber: "+254700000000", PhoneNumberID: "123456789"},
	}
	for i := range n {
		v.Statuses = append(v.Statuses, Status{
			ID:          fmt.Sprintf("wamid.HBgMMjU0NzEyMzQ1Njc4FQIAERgS%016d", i),
			Status:      StatusDelivered,
			Timestamp:   UnixTimestamp(1700000001 + int64(i)),
			RecipientID: fmt.Sprintf("2547%08d", i),
			Pricing:     &Pricing{Billable: true, PricingModel: "PMP", Category: "utility", Type: "regular"},
		})
	}
	b, err := json.Marshal(Notification{
		Object: ObjectWhatsAppBusinessAccount,
		Entry:  []Entry{{ID: "WABA_ID", Changes: []Change{{Field: FieldMessages, Value: v}}}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchmarkParse(b *testing.B, body []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse1Status(b *testing.B)   { benchmarkParse(b, statusBatch(b, 1)) }
func BenchmarkParse100Status(b *testing.B) { benchmarkParse(b, statusBatch(b, 100)) }

// BenchmarkParseMessages parses every customer message of the valid corpus
// (text, media, interactive, order, …) in one notification.
func BenchmarkParseMessages(b *testing.B) { benchmarkParse(b, messageBatch(b)) }

// messageBatch returns the body of a notification whose one change carries
// every message (and contact) of the files of testdata/valid named msg_*.
func messageBatch(tb testing.TB) []byte {
	tb.Helper()
	names, files := corpus(tb, "valid")
	v := Value{MessagingProduct: MessagingProductWhatsApp,
		Metadata: Metadata{DisplayPhoneNumber: "+254700000000", PhoneNumberID: "123456789"}}
	for _, name := range names {
		if !strings.HasPrefix(name, "msg_") {
			continue
		}
		n, err := Parse(files[name])
		if err != nil {
			tb.Fatal(err)
		}
		for ev := range n.Messages() {
			v.Messages = append(v.Messages, *ev.Message)
		}
		for _, e := range n.Entry {
			for _, c := range e.Changes {
				v.Contacts = append(v.Contacts, c.Value.Contacts...)
			}
		}
	}
	b, err := json.Marshal(Notification{
		Object: ObjectWhatsAppBusinessAccount,
		Entry:  []Entry{{ID: "WABA_ID", Changes: []Change{{Field: FieldMessages, Value: v}}}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchmarkMarshalParsed(b *testing.B, body []byte) {
	n, err := Parse(body)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := json.Marshal(n); err != nil {
			b.Fatal(err)
		}
	}
}

// Marshalling a parsed notification merges Raw back in (a relay's cost);
// marshalling one built in code does not.
func BenchmarkMarshalParsed100Status(b *testing.B) { benchmarkMarshalParsed(b, statusBatch(b, 100)) }

func BenchmarkMarshalBuilt100Status(b *testing.B) {
	n, err := Parse(statusBatch(b, 100))
	if err != nil {
		b.Fatal(err)
	}
	built := withoutRaw(n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(built); err != nil {
			b.Fatal(err)
		}
	}
}
