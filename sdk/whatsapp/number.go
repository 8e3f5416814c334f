package whatsapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// flexNumber is a numeric value that WhatsApp sends either as a JSON string
// ("1700000001", "7.99") or as a JSON number. It remembers which form it
// arrived in so that marshalling gives back the same JSON value.
type flexNumber struct {
	text   string // the digits, without quotes
	number bool   // true when it arrived (or should be sent) as a JSON number
}

func (f flexNumber) String() string { return f.text }

// IsZero reports whether the value is absent (or was JSON null).
func (f flexNumber) IsZero() bool { return f.text == "" && !f.number }

func (f flexNumber) marshal() ([]byte, error) {
	if f.number {
		return []byte(f.text), nil
	}
	return json.Marshal(f.text)
}

func (f *flexNumber) unmarshal(data []byte, t reflect.Type) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return &json.UnmarshalTypeError{Value: "nothing", Type: t}
	}
	switch c := data[0]; {
	case c == 'n' && string(data) == "null":
		*f = flexNumber{}
	case c == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*f = flexNumber{text: s}
	case c == '-' || (c >= '0' && c <= '9'):
		*f = flexNumber{text: string(data), number: true}
	default:
		kind := "value"
		switch c {
		case 't', 'f':
			kind = "bool"
		case '{':
			kind = "object"
		case '[':
			kind = "array"
		}
		return &json.UnmarshalTypeError{Value: kind, Type: t}
	}
	return nil
}

// Timestamp is a Unix time in seconds as WhatsApp sends it: usually a JSON
// string such as "1700000001", sometimes a JSON number. Both forms are
// accepted, and the form a value arrived in is the form it is marshalled in.
// A string that is not a number is kept verbatim rather than rejected, so one
// odd field never loses a whole batch; [Timestamp.Unix] reports it.
//
// The zero Timestamp means "absent" and is omitted by `omitzero`.
type Timestamp struct{ flexNumber }

var timestampType = reflect.TypeFor[Timestamp]()

// TimestampOf returns the Timestamp for t, in WhatsApp's string form.
func TimestampOf(t time.Time) Timestamp {
	return UnixTimestamp(t.Unix())
}

// UnixTimestamp returns the Timestamp of sec seconds since the Unix epoch, in
// WhatsApp's string form.
func UnixTimestamp(sec int64) Timestamp {
	return Timestamp{flexNumber{text: strconv.FormatInt(sec, 10)}}
}

// Unix returns the timestamp in seconds since the Unix epoch, and false when
// it is absent or not an integer.
func (t Timestamp) Unix() (int64, bool) {
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		// Some producers send "1700000001.0"; accept an integral float.
		f, ferr := strconv.ParseFloat(t.text, 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	}
	return n, true
}

// Time returns the timestamp as a UTC time, or the zero time.Time when it is
// absent or not a number.
func (t Timestamp) Time() time.Time {
	n, ok := t.Unix()
	if !ok {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) { return t.marshal() }

// UnmarshalJSON implements json.Unmarshaler. It accepts a JSON string, a JSON
// number or null.
func (t *Timestamp) UnmarshalJSON(data []byte) error { return t.unmarshal(data, timestampType) }

// Number is a decimal value such as an order's item price or quantity, which
// WhatsApp sends as a JSON number (7.99) and some producers as a string
// ("7.99"). Both forms are accepted, and the form a value arrived in is the
// form it is marshalled in. Its exact decimal text is kept, so prices never
// pass through binary floating point unless [Number.Float64] is asked for.
//
// The zero Number means "absent" and is omitted by `omitzero`.
type Number struct{ flexNumber }

var numberType = reflect.TypeFor[Number]()

// NumberOf returns the Number whose exact decimal text is s, sent as a JSON
// number. It returns an error when s is not a valid JSON number.
func NumberOf(s string) (Number, error) {
	// A JSON number starts with '-' or a digit and ends with a digit; the
	// checks on both ends also refuse the whitespace json.Valid allows.
	if !json.Valid([]byte(s)) || len(s) == 0 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) ||
		s[len(s)-1] < '0' || s[len(s)-1] > '9' {
		return Number{}, fmt.Errorf("whatsapp: %q is not a decimal number", s)
	}
	return Number{flexNumber{text: s, number: true}}, nil
}

// IntNumber returns the Number n, sent as a JSON number.
func IntNumber(n int64) Number {
	return Number{flexNumber{text: strconv.FormatInt(n, 10), number: true}}
}

// Float64 returns the value as a float64.
func (n Number) Float64() (float64, error) { return strconv.ParseFloat(n.text, 64) }

// Int64 returns the value as an int64; it fails for a fractional value.
func (n Number) Int64() (int64, error) { return strconv.ParseInt(n.text, 10, 64) }

// MarshalJSON implements json.Marshaler.
func (n Number) MarshalJSON() ([]byte, error) { return n.marshal() }

// UnmarshalJSON implements json.Unmarshaler. It accepts a JSON number, a JSON
// string or null.
func (n *Number) UnmarshalJSON(data []byte) error { return n.unmarshal(data, numberType) }
