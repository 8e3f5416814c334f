// Package smtptest runs a real SMTP server for tests: Debian's aiosmtpd
// (python3-aiosmtpd), storing what it receives in a maildir.
package smtptest

import (
	"context"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Server is a running aiosmtpd.
type Server struct {
	// Addr is its host:port.
	Addr string
	dir  string
}

// python finds a Python that has aiosmtpd.
func python() string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import aiosmtpd").Run() == nil {
			return p
		}
	}
	return ""
}

// Start runs aiosmtpd on a loopback port for the test's life. Without it
// the test is skipped, or fails when BAHASHA_REQUIRE_SMTPD=1 (the README's
// test command sets it, having installed the package).
func Start(t testing.TB) *Server {
	t.Helper()
	py := python()
	if py == "" {
		if os.Getenv("BAHASHA_REQUIRE_SMTPD") == "1" {
			t.Fatal("aiosmtpd is not installed: apt-get install -y python3-aiosmtpd")
		}
		t.Skip("aiosmtpd is not installed (apt-get install -y python3-aiosmtpd)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: filepath.Join(t.TempDir(), "maildir")}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, py, "-m", "aiosmtpd", "-n", "-l", s.Addr, "-c", "aiosmtpd.handlers.Mailbox", s.dir)
	out := &lockedLog{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	// Ready when it accepts a connection.
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-exited:
			t.Fatalf("aiosmtpd exited: %s", out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiosmtpd did not listen on %s: %s", s.Addr, out)
		}
	}
}

// URL is a --smtp-url for the server.
func (s *Server) URL(from string) string { return "smtp://" + s.Addr + "?from=" + from }

// Messages reads what the server received so far.
func (s *Server) Messages(t testing.TB) []*mail.Message {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.dir, "new", "*"))
	var out []*mail.Message
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(fh)
		if err != nil {
			fh.Close()
			t.Fatalf("%s: %v", f, err)
		}
		body, _ := readAll(m) // read now: the file closes

		fh.Close()
		m.Body = body
		out = append(out, m)
	}
	return out
}
