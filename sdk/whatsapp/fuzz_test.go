package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts marshals, parses again and
// marshals to the same bytes; what it rejects is an ErrInvalidNotification.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		names, files := corpus(f, dir)
		for _, name := range names {
			f.Add(files[name])
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := Parse(body)
		if err != nil {
			if n != nil {
				t.Fatalf("Parse returned a notification and an error %v", err)
			}
			if !errors.Is(err, ErrInvalidNotification) {
				t.Fatalf("error %v does not wrap ErrInvalidNotification", err)
			}
			return
		}

		// Use what was parsed the way a receiver would.
		for ev := range n.Statuses() {
			_, _ = ev.Status.Timestamp.Unix()
			_ = ev.Status.Timestamp.Time()
			_ = ev.Status.FirstError()
		}
		for ev := range n.Messages() {
			m := ev.Message
			_ = m.Known()
			_, _ = m.Timestamp.Unix()
			_, _, _ = m.Interactive.Reply()
			if m.Reaction != nil {
				_ = m.Reaction.Removed()
			}
			if m.Order != nil {
				for _, it := range m.Order.ProductItems {
					_, _ = it.ItemPrice.Float64()
					_, _ = it.Quantity.Int64()
				}
			}
		}

		out, err := json.Marshal(n)
		if err != nil {
			t.Fatalf("Marshal(Parse(%q)): %v", body, err)
		}
		n2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(x)) = %v\ninput: %q\nmarshalled: %s", err, body, out)
		}
		out2, err := json.Marshal(n2)
		if err != nil {
			t.Fatalf("Marshal(Parse(Marshal(x))): %v", err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("marshalling is not idempotent\ninput: %q\nfirst:  %s\nsecond: %s", body, out, out2)
		}
	})
}
