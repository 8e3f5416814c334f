package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
)

// ErrInvalidNotification is wrapped by every error [Parse] returns.
var ErrInvalidNotification = errors.New("whatsapp: invalid notification")

// Parse decodes a webhook request body.
//
// It accepts everything WhatsApp sends, including message types, status
// values and fields that this version does not know, timestamps and prices as
// strings or numbers, and text in raw UTF-8 or \uXXXX escapes. It rejects, with
// an error wrapping [ErrInvalidNotification] that says what is wrong and where:
// an empty body, malformed JSON, bytes after the top-level object, a top-level
// value that is not an object, and fields of the wrong JSON kind (for example
// "entry" or "statuses" that is not an array). It never panics.
//
// The notification does not retain body.
func Parse(body []byte) (*Notification, error) {
	// The hand-written decoder handles what WhatsApp and Bahasha send; for
	// anything it is not certain to decode exactly as encoding/json does,
	// and for every error, parseSlow decides (and words the error).
	if n, ok := parseFast(body); ok {
		return n, nil
	}
	slowParses.Add(1)
	return parseSlow(body)
}

// slowParses counts the calls of Parse that the fast path handed to
// parseSlow; tests read it to check that common shapes stay on the fast path.
var slowParses atomic.Uint64

// parseSlow is Parse with encoding/json: the reference the fast path must
// match, and the path that reports every error.
func parseSlow(body []byte) (*Notification, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: the body is empty; expected a JSON object such as {\"object\":\"whatsapp_business_account\",\"entry\":[…]}", ErrInvalidNotification)
	}
	if trimmed[0] != '{' {
		kind := "not a JSON object"
		switch trimmed[0] {
		case '[':
			kind = "a JSON array"
		case '"':
			kind = "a JSON string"
		case 'n':
			kind = "null"
		}
		if !json.Valid(trimmed) {
			return nil, describe(json.Unmarshal(trimmed, new(any)))
		}
		return nil, fmt.Errorf("%w: the body is %s; a notification is a JSON object {\"object\":…,\"entry\":[…]}", ErrInvalidNotification, kind)
	}
	n := new(Notification)
	if err := json.Unmarshal(body, n); err != nil {
		return nil, describe(err)
	}
	return n, nil
}

// describe turns an encoding/json error into one that names the field and
// what was expected.
func describe(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		msg := strings.TrimPrefix(syntax.Error(), "json: ")
		if strings.Contains(msg, "after top-level value") {
			return fmt.Errorf("%w: unexpected data after the JSON object at byte %d (%s)", ErrInvalidNotification, syntax.Offset, msg)
		}
		return fmt.Errorf("%w: malformed JSON at byte %d: %s", ErrInvalidNotification, syntax.Offset, msg)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		got := typ.Value
		if strings.HasPrefix(got, "number ") {
			got = "number"
		}
		return fmt.Errorf("%w: field %q must be %s, got %s", ErrInvalidNotification, field, expected(typ.Type), got)
	}
	return fmt.Errorf("%w: %s", ErrInvalidNotification, strings.TrimPrefix(err.Error(), "json: "))
}

func expected(t reflect.Type) string {
	if t == nil {
		return "a different kind of value"
	}
	switch t {
	case timestampType:
		return "a Unix timestamp (a string or a number)"
	case numberType:
		return "a number (or a string holding one)"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	}
	return "a " + t.Kind().String()
}
