package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is an io.Writer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReceiverPrintsTheDocumentedLines runs the real program on a loopback
// port and sends it what Bahasha sends.
func TestReceiverPrintsTheDocumentedLines(t *testing.T) {
	env := map[string]string{"WEBHOOK_VERIFICATION_TOKEN": "tok", "WEBHOOK_APP_SECRET": "sec", "PORT": "0", "HOST": "127.0.0.1"}
	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, out, ready) }()
	addr := "http://" + <-ready + "/webhook"

	resp, err := http.DefaultClient.Do(webhooktest.NewVerifyRequest(addr, "tok", "challenge-42").WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "challenge-42" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, body)
	}

	post := func(n *whatsapp.Notification, secret string) int {
		r := webhooktest.NewRequest(addr, n, secret)
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	interactive := webhooktest.SampleMessage(whatsapp.MessageInteractive)
	button := webhooktest.SampleMessage(whatsapp.MessageButton)
	for _, n := range []*whatsapp.Notification{
		webhooktest.Status("wamid.A", whatsapp.StatusSent),
		webhooktest.Status("wamid.A", whatsapp.StatusDelivered),
		webhooktest.Status("wamid.B", whatsapp.StatusFailed),
		webhooktest.Text("254712345678", "Thank you, I received my order!"),
		webhooktest.Messages(interactive, button),
	} {
		if code := post(n, "sec"); code != 200 {
			t.Fatalf("POST answered %d", code)
		}
	}
	if code := post(webhooktest.Text("1", "forged"), "wrong"); code != 401 {
		t.Fatalf("forged POST answered %d, want 401", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
	want := `Webhook receiver running on port
[SENT] message wamid.A
[DELIVERED] message wamid.A
[FAILED] message wamid.B
Delivery error: Message undeliverable
Incoming text from 254712345678
Body: Thank you, I received my order!
Incoming interactive from 254712345678
Reply: {"id":"track","title":"Track order"}
Incoming button from 254712345678
Button: Stop promotions
`
	got := out.String()
	// The first line names the port, which varies.
	got = got[:strings.Index(got, " port ")+5] + got[strings.Index(got, "\n"):]
	if got != want {
		t.Fatalf("output\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, "forged") {
		t.Fatal("a forged request was processed")
	}
}

func TestReceiverRequiresToken(t *testing.T) {
	err := run(context.Background(), func(string) string { return "" }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "WEBHOOK_VERIFICATION_TOKEN") {
		t.Fatalf("err = %v", err)
	}
}
