package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// The documentation's receiver: the GET handshake and typed callbacks for
// delivery reports and customer replies.
func ExampleHandler() {
	h := &webhook.Handler{
		VerifyToken: "my-verify-token", // WEBHOOK_VERIFICATION_TOKEN
		AppSecret:   "my-app-secret",   // from Settings → Webhooks
		OnStatus: func(ctx context.Context, e whatsapp.StatusEvent) error {
			fmt.Printf("[%s] message %s\n", strings.ToUpper(string(e.Status.Status)), e.Status.ID)
			if err := e.Status.FirstError(); err != nil {
				fmt.Println("Delivery error:", err.Title)
			}
			return nil
		},
		OnMessage: func(ctx context.Context, e whatsapp.MessageEvent) error {
			fmt.Printf("Incoming %s from %s (%s)\n", e.Message.Type, e.Message.From, e.Contact.Profile.Name)
			return nil
		},
		OnText: func(ctx context.Context, e whatsapp.MessageEvent) error {
			fmt.Println("Body:", e.Message.Text.Body)
			return nil
		},
	}
	// In a program: http.Handle("/webhook", h). Here, the requests Bahasha sends:
	for _, req := range []*http.Request{
		webhooktest.NewVerifyRequest("/webhook", "my-verify-token", "1158201444"),
		webhooktest.NewRequest("/webhook", webhooktest.Status("wamid.HBgN", whatsapp.StatusDelivered), "my-app-secret"),
		webhooktest.NewRequest("/webhook", webhooktest.Status("wamid.HBgN", whatsapp.StatusFailed), "my-app-secret"),
		webhooktest.NewRequest("/webhook", webhooktest.Text("254712345678", "Thank you, I received my order!"), "my-app-secret"),
		webhooktest.NewRequest("/webhook", webhooktest.Text("254712345678", "forged"), "wrong-secret"),
	} {
		r := serve(h, req)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("→ %d %s", r.Code, r.Body)))
	}
	// Output:
	// → 200 1158201444
	// [DELIVERED] message wamid.HBgN
	// → 200
	// [FAILED] message wamid.HBgN
	// Delivery error: Message undeliverable
	// → 200
	// Incoming text from 254712345678 (Jane Smith)
	// Body: Thank you, I received my order!
	// → 200
	// → 401 unauthorized: webhook: signature does not match the body; check the app secret and that the body is verified exactly as received, before any parsing
}

func ExampleSign() {
	body := []byte(`{"object":"whatsapp_business_account"}`)
	fmt.Println(webhook.Sign("app-secret", body))
	// Output:
	// sha256=0bf7374433906636bed1653bc7c64affb42fa5da9a39e251ab95c2e3a9c06923
}

func ExampleVerifySignature() {
	body := []byte(`{"object":"whatsapp_business_account"}`)
	header := "sha256=0bf7374433906636bed1653bc7c64affb42fa5da9a39e251ab95c2e3a9c06923"
	fmt.Println(webhook.VerifySignature("app-secret", body, header))
	fmt.Println(webhook.VerifySignature("old-secret", body, header))
	fmt.Println(webhook.VerifySignature("app-secret", body, ""))
	// Output:
	// <nil>
	// webhook: signature does not match the body; check the app secret and that the body is verified exactly as received, before any parsing
	// webhook: missing X-Hub-Signature-256 header
}

// During a rotation, accept both the new and the old app secret.
func ExampleVerifySignatureAny() {
	body := []byte(`{"object":"whatsapp_business_account"}`)
	header := webhook.Sign("old-secret", body)
	err := webhook.VerifySignatureAny([]string{"new-secret", "old-secret"}, body, header)
	fmt.Println(err)
	// Output:
	// <nil>
}

// A receiver that serves its own HTTP verifies and parses a delivery in
// one call, with the exact bytes received.
func ExampleParse() {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA_ID","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"+254700000000","phone_number_id":"123456789"},
		"statuses":[{"id":"wamid.1","status":"delivered","timestamp":"1700000001","recipient_id":"254712345678"}]}}]}]}`)
	header := webhook.Sign("app-secret", body) // as Bahasha sends it in X-Hub-Signature-256

	n, err := webhook.Parse(body, header, "app-secret")
	if err != nil {
		fmt.Println(err) // answer 401 for a signature error, 400 otherwise
		return
	}
	for e := range n.Statuses() {
		fmt.Println(e.Status.ID, e.Status.Status, e.Metadata.PhoneNumberID)
	}
	_, err = webhook.Parse(body, header, "another-secret")
	fmt.Println(errors.Is(err, webhook.ErrSignatureMismatch))
	_, err = webhook.Parse([]byte(`{"object":"page","entry":[]}`), webhook.Sign("app-secret", []byte(`{"object":"page","entry":[]}`)), "app-secret")
	fmt.Println(errors.Is(err, whatsapp.ErrInvalidNotification))
	// Output:
	// wamid.1 delivered 123456789
	// true
	// true
}

// Answer 200 only after processing, and skip events already processed: a
// failed callback makes Bahasha retry, and the retry processes only what
// failed.
func ExampleHandler_ackAfter() {
	attempts := 0
	h := &webhook.Handler{
		Mode: webhook.AckAfter,
		Seen: webhook.NewMemorySeenSet(0),
		OnStatus: func(ctx context.Context, e whatsapp.StatusEvent) error {
			attempts++
			if attempts == 1 {
				return fmt.Errorf("database unavailable")
			}
			fmt.Println("stored", e.Status.ID, e.Status.Status)
			return nil
		},
		OnError: func(err error) { fmt.Println("error:", err) },
	}
	n := webhooktest.Status("wamid.1", whatsapp.StatusRead)
	fmt.Println(serve(h, webhooktest.NewRequest("/webhook", n, "")).Code)
	fmt.Println(serve(h, webhooktest.NewRequest("/webhook", n, "")).Code)
	fmt.Println(serve(h, webhooktest.NewRequest("/webhook", n, "")).Code)
	// Output:
	// error: webhook: OnStatus (status:wamid.1:read): database unavailable
	// 500
	// stored wamid.1 read
	// 200
	// 200
}

// Bahasha signs every delivery the Standard Webhooks way too; this is the
// reference libraries' published vector.
func ExampleSignStandard() {
	sig, err := webhook.SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	fmt.Println(sig, err)
	// Output:
	// v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= <nil>
}

func ExampleNewSigningSecret() {
	secret, err := webhook.NewSigningSecret(nil) // from crypto/rand
	fmt.Println(strings.HasPrefix(secret, webhook.SigningSecretPrefix), len(secret), err)
	// Output:
	// true 38 <nil>
}

// Verify the Standard Webhooks headers of a delivery: the signature, and a
// timestamp within five minutes of the receiver's clock.
func ExampleVerifyStandard() {
	secrets := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	body := []byte(`{"test": 2432232314}`)
	header := http.Header{}
	header.Set(webhook.HeaderWebhookID, "msg_p5jXN8AQM9LWM0D4loKWxJek")
	header.Set(webhook.HeaderWebhookTimestamp, "1614265330")
	header.Set(webhook.HeaderWebhookSignature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	sent := time.Unix(1614265330, 0)

	fmt.Println(webhook.VerifyStandard(secrets, header, body, sent.Add(2*time.Second), 0))
	fmt.Println(webhook.VerifyStandard(secrets, header, body, sent.Add(time.Hour), 0)) // a replay
	fmt.Println(webhook.VerifyStandard(secrets, header, []byte(`{"test": 1}`), sent, 0))
	header.Del(webhook.HeaderWebhookTimestamp)
	fmt.Println(webhook.VerifyStandard(secrets, header, body, sent, 0))
	// Output:
	// <nil>
	// webhook: webhook-timestamp is outside the tolerance: too old, sent 1h0m0s ago with a tolerance of 5m0s (a replayed delivery, or a wrong clock)
	// webhook: no v1 signature in the webhook-signature header matches; check the signing secret and that the body is verified exactly as received, before any parsing
	// webhook: missing Standard Webhooks headers: webhook-timestamp
}

// A receiver that serves its own HTTP checks both signatures and parses a
// delivery in one call. Keep one Verifier for the life of the program.
func ExampleVerifier_Parse() {
	v := &webhook.Verifier{
		AppSecrets:     []string{"app-secret"},                             // X-Hub-Signature-256
		SigningSecrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, // Standard Webhooks
	}
	handle := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.DefaultMaxBodyBytes))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		n, err := v.Parse(r.Header, body) // the exact bytes received
		switch {
		case errors.Is(err, whatsapp.ErrInvalidNotification):
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		for e := range n.Statuses() {
			fmt.Println(e.Status.ID, e.Status.Status)
		}
	}

	n := webhooktest.Status("wamid.HBgN", whatsapp.StatusRead)
	fresh := webhooktest.SignStandard(webhooktest.NewRequest("/webhook", n, "app-secret"),
		"msg_1", time.Now(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	replayed := webhooktest.SignStandard(webhooktest.NewRequest("/webhook", n, "app-secret"),
		"msg_1", time.Now().Add(-time.Hour), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	unsignedStandard := webhooktest.NewRequest("/webhook", n, "app-secret")
	for _, r := range []*http.Request{fresh, replayed, unsignedStandard} {
		rec := httptest.NewRecorder()
		handle(rec, r)
		fmt.Println(rec.Code, strings.Contains(rec.Body.String(), "too old"), strings.Contains(rec.Body.String(), "missing"))
	}
	// Output:
	// wamid.HBgN read
	// 200 false false
	// 401 true false
	// 401 false true
}

// Require the Standard Webhooks headers too: set the endpoint's signing
// secret, and during a rotation keep the old one in PreviousSigningSecrets.
func ExampleHandler_standardWebhooks() {
	now := time.Unix(1772000000, 0) // the clock, fixed for the example
	h := &webhook.Handler{
		AppSecret:              "my-app-secret",
		SigningSecret:          "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		PreviousSigningSecrets: []string{"whsec_YmFoYXNoYS1wcmV2aW91cy1rZXktMjRi"},
		OnText: func(ctx context.Context, e whatsapp.MessageEvent) error {
			fmt.Println("Body:", e.Message.Text.Body)
			return nil
		},
		Now: func() time.Time { return now },
	}
	n := webhooktest.Text("254712345678", "Habari")
	for _, r := range []*http.Request{
		webhooktest.SignStandard(webhooktest.NewRequest("/webhook", n, "my-app-secret"), "msg_1", now, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
		webhooktest.SignStandard(webhooktest.NewRequest("/webhook", n, "my-app-secret"), "msg_2", now, "whsec_YmFoYXNoYS1wcmV2aW91cy1rZXktMjRi"),
		webhooktest.SignStandard(webhooktest.NewRequest("/webhook", n, "my-app-secret"), "msg_3", now.Add(-10*time.Minute), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
		webhooktest.NewRequest("/webhook", n, "my-app-secret"),
	} {
		r := serve(h, r)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("→ %d %s", r.Code, r.Body)))
	}
	// Output:
	// Body: Habari
	// → 200
	// Body: Habari
	// → 200
	// → 401 unauthorized: webhook: webhook-timestamp is outside the tolerance: too old, sent 10m0s ago with a tolerance of 5m0s (a replayed delivery, or a wrong clock)
	// → 401 unauthorized: webhook: missing Standard Webhooks headers: webhook-id, webhook-timestamp, webhook-signature
}
