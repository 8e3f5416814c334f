// Command receiver is the webhook receiver of Bahasha's documentation, the
// Express program, written in Go with the webhook SDK.
//
//	WEBHOOK_VERIFICATION_TOKEN=my-token WEBHOOK_APP_SECRET=… go run ./examples/receiver
//
// It serves /webhook on PORT (default 3000): the GET verification handshake
// and the POSTs that carry delivery reports and customer replies, and prints
// what arrives.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout, nil); err != nil {
		log.Fatal(err)
	}
}

// newHandler is the whole receiver: the handshake, and a line printed for
// each status and message, as in the documentation's example.
func newHandler(verifyToken, appSecret string, out io.Writer) *webhook.Handler {
	return &webhook.Handler{
		VerifyToken: verifyToken,
		AppSecret:   appSecret,
		OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
			fmt.Fprintf(out, "[%s] message %s\n", strings.ToUpper(string(e.Status.Status)), e.Status.ID)
			if e.Status.Status == whatsapp.StatusFailed {
				title := ""
				if err := e.Status.FirstError(); err != nil {
					title = err.Title
				}
				fmt.Fprintln(out, "Delivery error:", title)
			}
			return nil
		},
		OnMessage: func(_ context.Context, e whatsapp.MessageEvent) error {
			fmt.Fprintf(out, "Incoming %s from %s\n", e.Message.Type, e.Message.From)
			return nil
		},
		OnText: func(_ context.Context, e whatsapp.MessageEvent) error {
			fmt.Fprintln(out, "Body:", e.Message.Text.Body)
			return nil
		},
		OnInteractive: func(_ context.Context, e whatsapp.MessageEvent) error {
			var reply any = e.Message.Interactive.ButtonReply
			if e.Message.Interactive.ButtonReply == nil {
				reply = e.Message.Interactive.ListReply
			}
			b, _ := json.Marshal(reply)
			fmt.Fprintln(out, "Reply:", string(b))
			return nil
		},
		OnButton: func(_ context.Context, e whatsapp.MessageEvent) error {
			fmt.Fprintln(out, "Button:", e.Message.Button.Text)
			return nil
		},
		OnError: func(err error) { fmt.Fprintln(out, "error:", err) },
	}
}

// run serves until ctx is done. ready, if not nil, receives the address the
// server listens on.
func run(ctx context.Context, getenv func(string) string, out io.Writer, ready chan<- string) error {
	token := getenv("WEBHOOK_VERIFICATION_TOKEN")
	if token == "" {
		return errors.New("WEBHOOK_VERIFICATION_TOKEN is not set: set it to the verification token you enter when registering the webhook")
	}
	port := getenv("PORT")
	if port == "" {
		port = "3000"
	}
	secret := getenv("WEBHOOK_APP_SECRET")
	mux := http.NewServeMux()
	mux.Handle("/webhook", newHandler(token, secret, out))
	ln, err := net.Listen("tcp", net.JoinHostPort(getenv("HOST"), port))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if secret == "" {
		fmt.Fprintln(out, "warning: WEBHOOK_APP_SECRET is not set, so signatures are not checked")
	}
	fmt.Fprintf(out, "Webhook receiver running on port %d\n", ln.Addr().(*net.TCPAddr).Port)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}
