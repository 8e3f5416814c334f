package mail_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/mail"
	"github.com/bahasha/bahasha/internal/mail/smtptest"
)

func TestParse(t *testing.T) {
	for _, bad := range []string{"", "http://x?from=a@b.c", "smtp://host", "smtp://host?from=not-an-address", "smtp://?from=a@b.c", "::"} {
		if _, err := mail.Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted it", bad)
		}
	}
	for _, good := range []string{"smtp://mail.example.com?from=a@example.com", "smtps://u:p@mail.example.com:2465?from=a@example.com"} {
		if _, err := mail.Parse(good); err != nil {
			t.Errorf("Parse(%q) = %v", good, err)
		}
	}
}

// A message reaches a real SMTP server (aiosmtpd) with its headers and
// body; a header with a line break is refused.
func TestSendToARealServer(t *testing.T) {
	srv := smtptest.Start(t)
	m, err := mail.Parse(srv.URL("bahasha@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Send(ctx, access.Message{To: "dev@example.com", Subject: "Welcome — café", Body: "Line one\nhttps://x.example/welcome#token=abc\n"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(ctx, access.Message{To: "dev@example.com\r\nBcc: evil@example.com", Subject: "x", Body: "x"}); err == nil {
		t.Fatal("a recipient with a line break was sent")
	}
	msgs := srv.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	got := msgs[0]
	body, _ := io.ReadAll(got.Body)
	if got.Header.Get("To") != "dev@example.com" || !strings.Contains(got.Header.Get("From"), "bahasha@example.com") ||
		!strings.Contains(string(body), "welcome#token=abc") {
		t.Fatalf("message: %v\n%s", got.Header, body)
	}
	if s, err := new(mimeDecoder).decode(got.Header.Get("Subject")); err != nil || s != "Welcome — café" {
		t.Fatalf("subject %q (%v)", s, err)
	}
}
