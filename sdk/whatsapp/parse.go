package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// ErrInvalidNotification is wrapped by every error [Parse] returns.
var ErrInvalidNotification = errors.New("whatsapp: invalid notification")

// Parse decodes a webhook request body with encoding/json.
//
// It accepts everything WhatsApp sends, including message types, status
// values and fields that this version does not know (kept in each level's
// Raw), timestamps and prices as strings or numbers, and text in raw UTF-8
// or \uXXXX escapes. It rejects, with an error wrapping
// [ErrInvalidNotification] that says what is wrong and where: an empty
// body, malformed JSON, bytes after the top-level object, a top-level value
// that is not an object, fields of the wrong JSON kind (for example "entry"
// or "statuses" that is not an array), and what would mislead a receiver:
// an "object" other than "whatsapp_business_account", a missing or null
// "entry", an empty or null entry, a null change or one without a
// "value", and a null among a value's "messages", "statuses" or
// "contacts". It never panics.
//
// The notification does not retain body.
func Parse(body []byte) (*Notification, error) {
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
	// Decoded as the plain type, not through Notification.UnmarshalJSON,
	// which would scan the whole body twice more (to skip it, then to
	// validate it again); the result is the same.
	type plain Notification
	var p plain
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, describe(err)
	}
	n := (*Notification)(&p)
	n.Raw = append(json.RawMessage(nil), bytes.Trim(body, " \t\r\n")...)
	if err := check(n); err != nil {
		return nil, err
	}
	return n, nil
}

// check refuses what decodes but would mislead a receiver.
func check(n *Notification) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidNotification}, args...)...)
	}
	if n.Object != ObjectWhatsAppBusinessAccount {
		if n.Object == "" {
			return fail("\"object\" is missing; a WhatsApp notification has \"object\":%q", ObjectWhatsAppBusinessAccount)
		}
		return fail("\"object\" is %q, not %q: this is not a WhatsApp Business Account notification", n.Object, ObjectWhatsAppBusinessAccount)
	}
	if n.Entry == nil {
		return fail("\"entry\" is missing or null; a notification has \"entry\":[…] (an empty array when it carries nothing)")
	}
	for i, e := range n.Entry {
		if e.ID == "" && e.Changes == nil && e.Time.IsZero() {
			return fail("entry[%d] is empty or null; an entry has the WhatsApp Business Account's \"id\" and its \"changes\"", i)
		}
		for j, c := range e.Changes {
			where := fmt.Sprintf("entry[%d].changes[%d]", i, j)
			if len(c.Value.Raw) == 0 || string(c.Value.Raw) == "null" {
				return fail("%s has no \"value\"; every change carries one", where)
			}
			for k, s := range c.Value.Statuses {
				if string(s.Raw) == "null" {
					return fail("%s.value.statuses[%d] is null; a status is an object", where, k)
				}
			}
			for k, m := range c.Value.Messages {
				if string(m.Raw) == "null" {
					return fail("%s.value.messages[%d] is null; a message is an object", where, k)
				}
			}
			for k, ct := range c.Value.Contacts {
				if string(ct.Raw) == "null" {
					return fail("%s.value.contacts[%d] is null; a contact is an object", where, k)
				}
			}
		}
	}
	return nil
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
