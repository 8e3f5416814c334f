// Package problem is the platform's one vocabulary of errors a client can
// act on, and the one table that turns any error into what a client is
// shown: an HTTP status, a stable code and a message that says how to fix
// the problem. The operations return its errors; the API and the dashboard
// both classify through Classify, so a cause is answered the same way
// everywhere, and internal causes are logged, never shown.
package problem

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bahasha/bahasha/internal/store"
)

// Error is a problem a client can act on: an HTTP status, a stable
// machine-readable code, a message saying how to fix it, and optional
// details (rendered as JSON by the API).
type Error struct {
	Status  int
	Code    string
	Message string
	Details any
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// New returns an Error.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is the error of a request body, form or parameter that is not
// valid: 400 invalid_request.
func Invalid(format string, args ...any) *Error {
	return New(http.StatusBadRequest, "invalid_request", format, args...)
}

// NotFound is a 404 with a message naming what is missing.
func NotFound(code, format string, args ...any) *Error {
	return New(http.StatusNotFound, code, format, args...)
}

// ErrNoWebhook: the account has no webhook, so there is nowhere to deliver
// to; the API and the dashboard answer it alike (404 no_webhook).
var ErrNoWebhook = New(http.StatusNotFound, "no_webhook",
	`no webhook is registered; register one with PUT /v1/webhook {"url":"https://…","verify_token":"…"} or in Settings → Webhooks`)

// Classify maps any error to the Error shown to the client: the one table
// of the API and the dashboard.
func Classify(err error) *Error {
	var e *Error
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &tooLarge):
		return New(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than %d bytes; send less at once", tooLarge.Limit)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went away, or the request ran out of time: nothing
		// is half-done that a retry would not finish.
		return New(http.StatusServiceUnavailable, "interrupted", "the request was interrupted before it finished; retry it")
	case errors.Is(err, store.ErrNotFound):
		return New(http.StatusNotFound, "not_found", "no such resource for this account; check the id")
	case errors.Is(err, store.ErrConflict):
		return New(http.StatusConflict, "conflict", "that already exists")
	case errors.Is(err, store.ErrTooMany):
		return New(http.StatusConflict, "too_many_endpoints", "this account has %d endpoints, the most it may have; remove one first", store.MaxEndpoints)
	case errors.Is(err, store.ErrLastOwner):
		return New(http.StatusConflict, "last_owner", "this is the account's only owner who can sign in; make another member owner first")
	case errors.Is(err, store.ErrClosed):
		return New(http.StatusServiceUnavailable, "unavailable", "Bahasha is shutting down; retry in a moment")
	case errors.Is(err, store.ErrUnavailable):
		return New(http.StatusServiceUnavailable, "unavailable", "Bahasha's database is unavailable right now; nothing was stored, retry in a moment")
	}
	return New(http.StatusInternalServerError, "internal", "something went wrong on our side; retry, and contact support if it persists")
}
