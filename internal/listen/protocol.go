package listen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Message is one message of the protocol, either way (see the package
// documentation).
type Message struct {
	Type string `json:"type"`
	// ready
	EndpointID    string `json:"endpoint_id,omitempty"`
	Name          string `json:"name,omitempty"`
	SigningSecret string `json:"signing_secret,omitempty"`
	AppSecret     string `json:"app_secret,omitempty"`
	// AttemptTimeoutMS is the platform's attempt timeout; Disabled says
	// that the session is disabled (its events wait until it is enabled).
	AttemptTimeoutMS int64 `json:"attempt_timeout_ms,omitempty"`
	Disabled         bool  `json:"disabled,omitempty"`
	// post and result
	ID uint64 `json:"id,omitempty"`
	// post: the headers (the body follows the JSON in the frame), and
	// how long the CLI has to report the local answer.
	Header    http.Header `json:"header,omitempty"`
	TimeoutMS int64       `json:"timeout_ms,omitempty"`
	// result
	Status         int     `json:"status,omitempty"`
	Body           string  `json:"body,omitempty"`
	DurationMS     float64 `json:"duration_ms,omitempty"`
	Error          string  `json:"error,omitempty"`
	MaybeDelivered bool    `json:"maybe_delivered,omitempty"`
}

// The message types.
const (
	TypeReady     = "ready"
	TypePost      = "post"
	TypeResult    = "result"
	TypeTakenOver = "taken_over"
	TypeRemoved   = "removed"
)

// MaxResultBytes caps a result message from the CLI (its body excerpt is
// 4 KB; the rest is small).
const MaxResultBytes = 64 << 10

// EncodePost is a post's binary frame: the message as JSON (which holds no
// raw newline), a newline, then the body's bytes as they are, so that a
// body of any size and content costs no escaping.
func EncodePost(m Message, body []byte) ([]byte, error) {
	m.Type = TypePost
	head, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	frame := make([]byte, 0, len(head)+1+len(body))
	frame = append(append(append(frame, head...), '\n'), body...)
	return frame, nil
}

// DecodePost reads a post's binary frame (EncodePost).
func DecodePost(frame []byte) (Message, []byte, error) {
	head, body, ok := bytes.Cut(frame, []byte{'\n'})
	if !ok {
		return Message{}, nil, errors.New("a post frame without its body")
	}
	var m Message
	if err := json.Unmarshal(head, &m); err != nil {
		return Message{}, nil, fmt.Errorf("a post frame's header: %w", err)
	}
	if m.Type != TypePost || m.ID == 0 {
		return Message{}, nil, fmt.Errorf("a post frame of type %q, id %d", m.Type, m.ID)
	}
	return m, body, nil
}

// DecodeResult reads a result message from the CLI; a message of another
// type (a newer CLI's) is ok false, not an error.
func DecodeResult(b []byte) (m Message, ok bool, err error) {
	if len(b) > MaxResultBytes {
		return Message{}, false, fmt.Errorf("a result of %d bytes (at most %d)", len(b), MaxResultBytes)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, false, err
	}
	if m.Type != TypeResult {
		return Message{}, false, nil
	}
	if m.ID == 0 {
		return Message{}, false, errors.New("a result without the id of its post")
	}
	if m.Status != 0 && (m.Status < 100 || m.Status > 599) {
		return Message{}, false, fmt.Errorf("a result with status %d", m.Status)
	}
	return m, true, nil
}
