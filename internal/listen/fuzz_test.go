package listen_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/bahasha/bahasha/internal/listen"
)

// FuzzDecodePost: the CLI reads any frame without panicking, and what it
// reads encodes back to a frame that reads the same.
func FuzzDecodePost(f *testing.F) {
	frame, _ := listen.EncodePost(listen.Message{ID: 7, TimeoutMS: 9000, Header: map[string][]string{"X-Hub-Signature-256": {"sha256=ab"}}}, []byte(`{"object":"whatsapp_business_account"}`))
	f.Add(frame)
	f.Add([]byte(`{"type":"post","id":1}` + "\n"))
	f.Add([]byte(`{"type":"post","id":0}` + "\nbody"))
	f.Add([]byte("no newline"))
	f.Add([]byte("{\"type\":\"ready\"}\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, body, err := listen.DecodePost(b)
		if err != nil {
			return
		}
		if m.Type != listen.TypePost || m.ID == 0 {
			t.Fatalf("decoded a post of type %q, id %d", m.Type, m.ID)
		}
		again, err := listen.EncodePost(m, body)
		if err != nil {
			t.Fatal(err)
		}
		m2, body2, err := listen.DecodePost(again)
		if len(m.Header) == 0 { // omitted when empty
			m.Header, m2.Header = nil, nil
		}
		if err != nil || !bytes.Equal(body, body2) || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip: %+v %q → %+v %q, %v", m, body, m2, body2, err)
		}
	})
}

// FuzzDecodeResult: the platform reads any message from a CLI without
// panicking, and takes only a result for a post with a real status.
func FuzzDecodeResult(f *testing.F) {
	f.Add([]byte(`{"type":"result","id":3,"status":200,"body":"ok","duration_ms":1.5}`))
	f.Add([]byte(`{"type":"result","id":3,"status":0,"error":"refused","maybe_delivered":true}`))
	f.Add([]byte(`{"type":"result","id":0,"status":200}`))
	f.Add([]byte(`{"type":"result","id":3,"status":1000}`))
	f.Add([]byte(`{"type":"hello"}`))
	f.Add([]byte(`[1,2`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok, err := listen.DecodeResult(b)
		if ok && (err != nil || m.ID == 0 || m.Type != listen.TypeResult || m.Status != 0 && (m.Status < 100 || m.Status > 599)) {
			t.Fatalf("took %+v, %v", m, err)
		}
	})
}
