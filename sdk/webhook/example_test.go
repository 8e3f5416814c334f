package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
