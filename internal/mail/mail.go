// Package mail sends the dashboard's e-mails (invitations, password resets)
// over SMTP with the standard library's net/smtp: STARTTLS when the server
// offers it (required for smtp:// to a host that is not loopback, unless
// ?insecure=1), implicit TLS for smtps://, PLAIN authentication from the
// URL's user information.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/access"
)

// SMTP sends through one server. Build it with Parse.
type SMTP struct {
	addr, host string
	implicit   bool
	insecure   bool
	auth       smtp.Auth
	from       string
	// Timeout bounds one message's delivery to the server. Default 30s.
	Timeout time.Duration
}

// Parse reads --smtp-url: smtp://[user:password@]host[:port]?from=address
// (port 587 by default; smtps:// port 465). ?insecure=1 allows plain text
// to a server that offers no STARTTLS.
func Parse(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("--smtp-url must look like smtp://user:password@mail.example.com:587?from=bahasha@example.com")
	}
	from := u.Query().Get("from")
	if a, err := mail.ParseAddress(from); err != nil || a.Address != from {
		return nil, errors.New("--smtp-url needs ?from=<address>: the sender of the e-mails, such as bahasha@example.com")
	}
	s := &SMTP{host: u.Hostname(), implicit: u.Scheme == "smtps", insecure: u.Query().Get("insecure") == "1", from: from, Timeout: 30 * time.Second}
	port := u.Port()
	if port == "" {
		port = "587"
		if s.implicit {
			port = "465"
		}
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.User != nil {
		pw, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, s.host)
	}
	return s, nil
}

// Send implements access.Mailer.
func (s *SMTP) Send(ctx context.Context, m access.Message) error {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return errors.New("mail: a header with a line break")
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	tlsConfig := &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	if s.implicit {
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %w", err)
	}
	defer c.Close()
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("mail: STARTTLS: %w", err)
			}
		} else if !s.insecure && !loopback(s.host) {
			return errors.New("mail: the server offers no STARTTLS; add ?insecure=1 to --smtp-url to send in plain text")
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return fmt.Errorf("mail: authentication: %w", err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	msg := "From: Bahasha <" + s.from + ">\r\nTo: " + m.To + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", m.Subject) +
		"\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\n" + strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := wc.Write([]byte(msg)); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return c.Quit()
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
