package smtptest

import (
	"bytes"
	"io"
	"net/mail"
	"sync"
)

func readAll(m *mail.Message) (io.Reader, error) {
	b, err := io.ReadAll(m.Body)
	return bytes.NewReader(b), err
}

type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
