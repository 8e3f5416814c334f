package whatsapp

import (
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is Parse's fast path: a single-pass decoder, without reflection,
// for the wire-format types. Its one rule is that it either returns exactly
// what encoding/json (parseSlow) returns for the same body, Raw fields,
// Timestamp and Number forms, nil and empty slices and pointers included, or
// gives up and lets parseSlow decide. It gives up on every error (so error
// messages stay parseSlow's) and on anything encoding/json treats in a way
// that is easy to get subtly wrong:
//
//   - a key that is not an exact, lower-case match of a field's name
//     (encoding/json matches names case-insensitively, with Unicode folding:
//     "Status", "ſtatus"), a key with an escape or a non-ASCII byte, and an
//     unknown key with an upper-case letter;
//   - a field named twice in one object (encoding/json merges or overwrites);
//   - a value of the wrong JSON kind for its field (an error);
//   - unknown values nested deeper than maxSkipDepth.
//
// Unknown keys are skipped, their values still checked to be valid JSON, as
// encoding/json skips them. A JSON null is handled as encoding/json handles
// it: a field keeps its zero value, and a Value, Status, Message or Contact
// (whose UnmarshalJSON encoding/json calls with "null") gets Raw "null".
// Strings are decoded with a copy of encoding/json's unquoting, so escapes,
// invalid surrogates and invalid UTF-8 come out the same.
//
// Memory: the body is copied twice, once as bytes that every Raw is a
// sub-slice of (capacity-limited, so appending to one Raw cannot overwrite
// another) and once as a string that every string field without escapes is
// a substring of. The notification does not retain body.

// maxSkipDepth bounds the nesting of unknown values the fast path skips;
// deeper ones are left to encoding/json, which allows 10000 levels and words
// the error when there are more.
const maxSkipDepth = 64

// fastPanics counts panics the fast path recovered from (falling back to
// parseSlow, so Parse keeps its promise never to panic). A panic is a bug:
// the tests fail when it is not zero.
var fastPanics atomic.Uint64

// parseFast decodes body into the Notification parseSlow would return, and
// reports false when it cannot be certain to (see the top of this file).
func parseFast(body []byte) (n *Notification, ok bool) {
	i := 0
	for i < len(body) && isSpace(body[i]) {
		i++
	}
	if i == len(body) || body[i] != '{' {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			fastPanics.Add(1)
			n, ok = nil, false
		}
	}()
	buf := make([]byte, len(body))
	copy(buf, body)
	d := decoder{buf: buf, str: string(buf), off: i}
	n = new(Notification)
	if !d.notification(n) {
		return nil, false
	}
	d.ws()
	if d.off != len(d.buf) {
		return nil, false
	}
	return n, true
}

// decoder is the state of one parseFast call. Every decoding method is
// called with off at the first byte of the value to decode (whitespace
// skipped), leaves off just after it, and returns false to give up.
type decoder struct {
	buf     []byte // a private copy of the body; Raw fields slice into it
	str     string // the same bytes; string fields slice into it
	off     int
	scratch []byte // reused by unquote
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ws skips JSON whitespace.
func (d *decoder) ws() {
	for d.off < len(d.buf) && isSpace(d.buf[d.off]) {
		d.off++
	}
}

// cur returns the byte at off, or 0 at the end of the body.
func (d *decoder) cur() byte {
	if d.off < len(d.buf) {
		return d.buf[d.off]
	}
	return 0
}

// lit consumes the literal s (true, false or null).
func (d *decoder) lit(s string) bool {
	if !strings.HasPrefix(d.str[d.off:], s) {
		return false
	}
	d.off += len(s)
	return true
}

func (d *decoder) null() bool { return d.lit("null") }

// object consumes the '{' of an object (obj is true) or a null (obj is
// false, ok is true); ok is false for anything else.
func (d *decoder) object() (obj, ok bool) {
	switch d.cur() {
	case '{':
		d.off++
		return true, true
	case 'n':
		return false, d.null()
	}
	return false, false
}

// fieldFunc decodes the value of key into its field and returns the field's
// bit (distinct for each field of a struct, 0 for an unknown key) and
// whether it succeeded.
type fieldFunc func(key string) (bit uint32, ok bool)

// obj decodes an object, or a null that leaves every field as it is, with
// field for each member.
func (d *decoder) obj(field fieldFunc) bool {
	obj, ok := d.object()
	if obj {
		ok = d.members(field)
	}
	return ok
}

// rawObj is obj for a type with a Raw field: raw gets the exact bytes of the
// value, "null" included.
func (d *decoder) rawObj(raw *[]byte, field fieldFunc) bool {
	start := d.off
	if !d.obj(field) {
		return false
	}
	*raw = d.buf[start:d.off:d.off]
	return true
}

// members decodes the members of an object whose '{' was consumed, up to
// and including its '}', giving up on a field named twice.
func (d *decoder) members(field fieldFunc) bool {
	var seen uint32
	for i := 0; ; i++ {
		key, more, ok := d.member(i)
		if !more {
			return ok
		}
		bit, ok := field(key)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// member reads the key of the next member of an object (i members were
// read before) and the ':' after it. At the object's end it consumes the
// '}' and returns more false with ok true. A key with an escape or a
// non-ASCII byte gives up: it could fold onto a field's name.
func (d *decoder) member(i int) (key string, more, ok bool) {
	d.ws()
	c := d.cur()
	if c == '}' {
		d.off++
		return "", false, true
	}
	if i > 0 {
		if c != ',' {
			return "", false, false
		}
		d.off++
		d.ws()
		c = d.cur()
	}
	if c != '"' {
		return "", false, false
	}
	start, end, flags, ok := d.scanString()
	if !ok || flags != 0 {
		return "", false, false
	}
	d.ws()
	if d.cur() != ':' {
		return "", false, false
	}
	d.off++
	d.ws()
	return d.str[start:end], true, true
}

// unknown skips the value of a key that names no field. encoding/json would
// decode a key that differs from a field's name only in case into that
// field; the fields' names are lower case, so a key with an upper-case
// letter gives up (non-ASCII keys never get here).
func (d *decoder) unknown(key string) (uint32, bool) {
	for i := 0; i < len(key); i++ {
		if 'A' <= key[i] && key[i] <= 'Z' {
			return 0, false
		}
	}
	return 0, d.skip(0)
}

// skip consumes any JSON value, checking that it is valid.
func (d *decoder) skip(depth int) bool {
	switch c := d.cur(); {
	case c == '"':
		_, _, _, ok := d.scanString()
		return ok
	case c == '{':
		if depth >= maxSkipDepth {
			return false
		}
		d.off++
		for i := 0; ; i++ {
			d.ws()
			c := d.cur()
			if c == '}' {
				d.off++
				return true
			}
			if i > 0 {
				if c != ',' {
					return false
				}
				d.off++
				d.ws()
				c = d.cur()
			}
			if c != '"' {
				return false
			}
			if _, _, _, ok := d.scanString(); !ok {
				return false
			}
			d.ws()
			if d.cur() != ':' {
				return false
			}
			d.off++
			d.ws()
			if !d.skip(depth + 1) {
				return false
			}
		}
	case c == '[':
		if depth >= maxSkipDepth {
			return false
		}
		d.off++
		for i := 0; ; i++ {
			d.ws()
			c := d.cur()
			if c == ']' {
				d.off++
				return true
			}
			if i > 0 {
				if c != ',' {
					return false
				}
				d.off++
				d.ws()
			}
			if !d.skip(depth + 1) {
				return false
			}
		}
	case c == 't':
		return d.lit("true")
	case c == 'f':
		return d.lit("false")
	case c == 'n':
		return d.null()
	case c == '-' || isDigit(c):
		_, ok := d.number()
		return ok
	}
	return false
}

// Flags of scanString.
const (
	strEscape   = 1 << iota // the string holds a backslash escape
	strNonASCII             // the string holds a byte >= 0x80
)

// plainByte[c] is true for the bytes a JSON string holds verbatim and that
// need no attention: printable ASCII but '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString consumes the JSON string at off (at its opening quote) and
// returns the offsets of its contents, between the quotes, with flags
// saying whether they hold escapes or non-ASCII bytes. ok is false for an
// invalid string: unterminated, with a control byte or a malformed escape.
func (d *decoder) scanString() (start, end int, flags uint8, ok bool) {
	buf := d.buf
	i := d.off + 1
	start = i
	for {
		for i < len(buf) && plainByte[buf[i]] {
			i++
		}
		if i >= len(buf) {
			return 0, 0, 0, false
		}
		switch c := buf[i]; {
		case c == '"':
			d.off = i + 1
			return start, i, flags, true
		case c == '\\':
			flags |= strEscape
			if i+1 >= len(buf) {
				return 0, 0, 0, false
			}
			switch buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(buf) || getu4(buf[i:]) < 0 {
					return 0, 0, 0, false
				}
				i += 6
			default:
				return 0, 0, 0, false
			}
		case c >= utf8.RuneSelf:
			flags |= strNonASCII
			i++
		default: // a control byte
			return 0, 0, 0, false
		}
	}
}

// string decodes a JSON string, or a null that leaves *p as it is.
func (d *decoder) string(p *string) bool {
	switch d.cur() {
	case '"':
	case 'n':
		return d.null()
	default:
		return false
	}
	start, end, flags, ok := d.scanString()
	if !ok {
		return false
	}
	*p, ok = d.stringAt(start, end, flags)
	return ok
}

// stringAt returns the value of the string whose contents scanString found
// at buf[start:end]: a substring of str when it needs no decoding.
func (d *decoder) stringAt(start, end int, flags uint8) (string, bool) {
	if flags == 0 || (flags == strNonASCII && utf8.Valid(d.buf[start:end])) {
		return d.str[start:end], true
	}
	return d.unquote(d.buf[start:end])
}

// unquote decodes the contents of a JSON string exactly as encoding/json's
// unquoteBytes (Go 1.26) does, of which it is a copy: escapes are decoded, a
// \u escape of a surrogate that is not part of a valid pair becomes U+FFFD,
// and so does each byte of invalid UTF-8.
func (d *decoder) unquote(s []byte) (string, bool) {
	b := d.scratch[:0]
	defer func() { d.scratch = b }()
	for r := 0; r < len(s); {
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return "", false
			}
			switch s[r] {
			default:
				return "", false
			case '"', '\\', '/', '\'':
				b = append(b, s[r])
				r++
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				r--
				rr := getu4(s[r:])
				if rr < 0 {
					return "", false
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					rr1 := getu4(s[r:])
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						// A valid pair; consume.
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					// Invalid surrogate; fall back to replacement rune.
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
			}
		case c == '"', c < ' ':
			return "", false
		case c < utf8.RuneSelf:
			b = append(b, c)
			r++
		default:
			// Coerce to well-formed UTF-8.
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return string(b), true
}

// getu4 decodes \uXXXX from the beginning of s, returning the hex value, or
// it returns -1 (a copy of encoding/json's).
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// number consumes a JSON number and returns its text.
func (d *decoder) number() (string, bool) {
	buf, i := d.buf, d.off
	if i < len(buf) && buf[i] == '-' {
		i++
	}
	switch {
	case i >= len(buf):
		return "", false
	case buf[i] == '0':
		i++
	case '1' <= buf[i] && buf[i] <= '9':
		for i < len(buf) && isDigit(buf[i]) {
			i++
		}
	default:
		return "", false
	}
	if i < len(buf) && buf[i] == '.' {
		i++
		if i >= len(buf) || !isDigit(buf[i]) {
			return "", false
		}
		for i < len(buf) && isDigit(buf[i]) {
			i++
		}
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		if i >= len(buf) || !isDigit(buf[i]) {
			return "", false
		}
		for i < len(buf) && isDigit(buf[i]) {
			i++
		}
	}
	s := d.str[d.off:i]
	d.off = i
	return s, true
}

// bool decodes true or false, or a null that leaves *p as it is.
func (d *decoder) bool(p *bool) bool {
	switch d.cur() {
	case 't':
		*p = true
		return d.lit("true")
	case 'f':
		*p = false
		return d.lit("false")
	case 'n':
		return d.null()
	}
	return false
}

// int decodes an integer, or a null that leaves *p as it is. A fraction or
// an exponent (1.0, 1e3) is an error for encoding/json too.
func (d *decoder) int(p *int) bool {
	switch c := d.cur(); {
	case c == 'n':
		return d.null()
	case c == '-' || isDigit(c):
		s, ok := d.number()
		if !ok {
			return false
		}
		v, err := strconv.ParseInt(s, 10, strconv.IntSize)
		*p = int(v)
		return err == nil
	}
	return false
}

// flex decodes a Timestamp or Number: a JSON string, a JSON number, or a
// null that makes it zero (what their UnmarshalJSON does).
func (d *decoder) flex(f *flexNumber) bool {
	switch c := d.cur(); {
	case c == '"':
		start, end, flags, ok := d.scanString()
		if !ok {
			return false
		}
		s, ok := d.stringAt(start, end, flags)
		*f = flexNumber{text: s}
		return ok
	case c == 'n':
		*f = flexNumber{}
		return d.null()
	case c == '-' || isDigit(c):
		s, ok := d.number()
		*f = flexNumber{text: s, number: true}
		return ok
	}
	return false
}

// stringFields decodes an object whose fields are all strings: names[i] is the
// JSON name of the field dst[i] points to.
func (d *decoder) stringFields(names []string, dst ...*string) bool {
	return d.obj(func(key string) (uint32, bool) {
		for i, name := range names {
			if name == key {
				return 1 << i, d.string(dst[i])
			}
		}
		return d.unknown(key)
	})
}

// slice decodes a JSON array into a new slice with elem for each element
// (each decodes null as encoding/json does for its type), or a null that
// leaves *s nil. An empty array is an empty slice, not nil, as with
// encoding/json.
func slice[T any](d *decoder, s *[]T, elem func(*decoder, *T) bool) bool {
	switch d.cur() {
	case '[':
		d.off++
	case 'n':
		return d.null()
	default:
		return false
	}
	var out []T
	for i := 0; ; i++ {
		d.ws()
		c := d.cur()
		if c == ']' {
			d.off++
			break
		}
		if i > 0 {
			if c != ',' {
				return false
			}
			d.off++
			d.ws()
		}
		var zero T
		out = append(out, zero)
		if !elem(d, &out[len(out)-1]) {
			return false
		}
	}
	if out == nil {
		out = []T{}
	}
	*s = out
	return true
}

// pointer decodes an object into a new T that *p points to with fields, or
// a null that leaves *p nil.
func pointer[T any](d *decoder, p **T, fields func(*decoder, *T) bool) bool {
	if d.cur() == 'n' {
		return d.null()
	}
	v := new(T)
	*p = v
	return fields(d, v)
}

// The decoders of the wire-format types, one per type, in the order of the
// types' declarations. Each handles exactly the fields its type has (a test
// fills every field of every type and compares with encoding/json), each
// with a distinct bit.

func (d *decoder) notification(n *Notification) bool {
	if d.cur() != '{' {
		return false
	}
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "object":
			return 1 << 0, d.string(&n.Object)
		case "entry":
			return 1 << 1, slice(d, &n.Entry, (*decoder).entry)
		}
		return d.unknown(key)
	})
}

func (d *decoder) entry(e *Entry) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "id":
			return 1 << 0, d.string(&e.ID)
		case "time":
			return 1 << 1, d.flex(&e.Time.flexNumber)
		case "changes":
			return 1 << 2, slice(d, &e.Changes, (*decoder).change)
		}
		return d.unknown(key)
	})
}

func (d *decoder) change(c *Change) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "field":
			return 1 << 0, d.string(&c.Field)
		case "value":
			return 1 << 1, d.value(&c.Value)
		}
		return d.unknown(key)
	})
}

func (d *decoder) value(v *Value) bool {
	return d.rawObj((*[]byte)(&v.Raw), func(key string) (uint32, bool) {
		switch key {
		case "messaging_product":
			return 1 << 0, d.string(&v.MessagingProduct)
		case "metadata":
			return 1 << 1, d.stringFields([]string{"display_phone_number", "phone_number_id"},
				&v.Metadata.DisplayPhoneNumber, &v.Metadata.PhoneNumberID)
		case "contacts":
			return 1 << 2, slice(d, &v.Contacts, (*decoder).contact)
		case "messages":
			return 1 << 3, slice(d, &v.Messages, (*decoder).message)
		case "statuses":
			return 1 << 4, slice(d, &v.Statuses, (*decoder).status)
		case "errors":
			return 1 << 5, slice(d, &v.Errors, (*decoder).apiError)
		}
		return d.unknown(key)
	})
}

func (d *decoder) contact(c *Contact) bool {
	return d.rawObj((*[]byte)(&c.Raw), func(key string) (uint32, bool) {
		switch key {
		case "profile":
			return 1 << 0, d.stringFields([]string{"name", "username"}, &c.Profile.Name, &c.Profile.Username)
		case "wa_id":
			return 1 << 1, d.string(&c.WaID)
		case "user_id":
			return 1 << 2, d.string(&c.UserID)
		case "parent_user_id":
			return 1 << 3, d.string(&c.ParentUserID)
		case "identity_key_hash":
			return 1 << 4, d.string(&c.IdentityKeyHash)
		}
		return d.unknown(key)
	})
}

func (d *decoder) apiError(e *Error) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "code":
			return 1 << 0, d.int(&e.Code)
		case "title":
			return 1 << 1, d.string(&e.Title)
		case "message":
			return 1 << 2, d.string(&e.Message)
		case "error_data":
			return 1 << 3, d.stringFields([]string{"details"}, &e.ErrorData.Details)
		case "href":
			return 1 << 4, d.string(&e.Href)
		}
		return d.unknown(key)
	})
}

func (d *decoder) status(s *Status) bool {
	return d.rawObj((*[]byte)(&s.Raw), func(key string) (uint32, bool) {
		switch key {
		case "id":
			return 1 << 0, d.string(&s.ID)
		case "status":
			return 1 << 1, d.string((*string)(&s.Status))
		case "timestamp":
			return 1 << 2, d.flex(&s.Timestamp.flexNumber)
		case "recipient_id":
			return 1 << 3, d.string(&s.RecipientID)
		case "recipient_user_id":
			return 1 << 4, d.string(&s.RecipientUserID)
		case "recipient_parent_user_id":
			return 1 << 5, d.string(&s.RecipientParentUserID)
		case "recipient_type":
			return 1 << 6, d.string(&s.RecipientType)
		case "recipient_participant_id":
			return 1 << 7, d.string(&s.RecipientParticipantID)
		case "conversation":
			return 1 << 8, pointer(d, &s.Conversation, (*decoder).conversation)
		case "pricing":
			return 1 << 9, pointer(d, &s.Pricing, (*decoder).pricing)
		case "errors":
			return 1 << 10, slice(d, &s.Errors, (*decoder).apiError)
		case "biz_opaque_callback_data":
			return 1 << 11, d.string(&s.BizOpaqueCallbackData)
		}
		return d.unknown(key)
	})
}

func (d *decoder) conversation(c *Conversation) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "id":
			return 1 << 0, d.string(&c.ID)
		case "expiration_timestamp":
			return 1 << 1, d.flex(&c.ExpirationTimestamp.flexNumber)
		case "origin":
			return 1 << 2, d.stringFields([]string{"type"}, &c.Origin.Type)
		}
		return d.unknown(key)
	})
}

func (d *decoder) pricing(p *Pricing) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "billable":
			return 1 << 0, d.bool(&p.Billable)
		case "pricing_model":
			return 1 << 1, d.string(&p.PricingModel)
		case "category":
			return 1 << 2, d.string(&p.Category)
		case "type":
			return 1 << 3, d.string(&p.Type)
		}
		return d.unknown(key)
	})
}

func (d *decoder) message(m *Message) bool {
	return d.rawObj((*[]byte)(&m.Raw), func(key string) (uint32, bool) {
		switch key {
		case "from":
			return 1 << 0, d.string(&m.From)
		case "from_user_id":
			return 1 << 1, d.string(&m.FromUserID)
		case "from_parent_user_id":
			return 1 << 2, d.string(&m.FromParentUserID)
		case "group_id":
			return 1 << 3, d.string(&m.GroupID)
		case "id":
			return 1 << 4, d.string(&m.ID)
		case "timestamp":
			return 1 << 5, d.flex(&m.Timestamp.flexNumber)
		case "type":
			return 1 << 6, d.string((*string)(&m.Type))
		case "context":
			return 1 << 7, pointer(d, &m.Context, (*decoder).context)
		case "referral":
			return 1 << 8, pointer(d, &m.Referral, (*decoder).referral)
		case "identity":
			return 1 << 9, pointer(d, &m.Identity, (*decoder).identity)
		case "errors":
			return 1 << 10, slice(d, &m.Errors, (*decoder).apiError)
		case "text":
			return 1 << 11, pointer(d, &m.Text, (*decoder).text)
		case "image":
			return 1 << 12, pointer(d, &m.Image, (*decoder).media)
		case "audio":
			return 1 << 13, pointer(d, &m.Audio, (*decoder).media)
		case "video":
			return 1 << 14, pointer(d, &m.Video, (*decoder).media)
		case "document":
			return 1 << 15, pointer(d, &m.Document, (*decoder).media)
		case "sticker":
			return 1 << 16, pointer(d, &m.Sticker, (*decoder).media)
		case "location":
			return 1 << 17, pointer(d, &m.Location, (*decoder).location)
		case "contacts":
			return 1 << 18, slice(d, &m.Contacts, (*decoder).sharedContact)
		case "interactive":
			return 1 << 19, pointer(d, &m.Interactive, (*decoder).interactive)
		case "button":
			return 1 << 20, pointer(d, &m.Button, (*decoder).button)
		case "reaction":
			return 1 << 21, pointer(d, &m.Reaction, (*decoder).reaction)
		case "order":
			return 1 << 22, pointer(d, &m.Order, (*decoder).order)
		case "system":
			return 1 << 23, pointer(d, &m.System, (*decoder).system)
		}
		return d.unknown(key)
	})
}

func (d *decoder) context(c *Context) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "from":
			return 1 << 0, d.string(&c.From)
		case "id":
			return 1 << 1, d.string(&c.ID)
		case "forwarded":
			return 1 << 2, d.bool(&c.Forwarded)
		case "frequently_forwarded":
			return 1 << 3, d.bool(&c.FrequentlyForwarded)
		case "referred_product":
			return 1 << 4, pointer(d, &c.ReferredProduct, (*decoder).referredProduct)
		}
		return d.unknown(key)
	})
}

func (d *decoder) referredProduct(p *ReferredProduct) bool {
	return d.stringFields([]string{"catalog_id", "product_retailer_id"}, &p.CatalogID, &p.ProductRetailerID)
}

func (d *decoder) referral(r *Referral) bool {
	return d.stringFields([]string{"source_url", "source_id", "source_type", "headline", "body",
		"media_type", "image_url", "video_url", "thumbnail_url", "ctwa_clid"},
		&r.SourceURL, &r.SourceID, &r.SourceType, &r.Headline, &r.Body,
		&r.MediaType, &r.ImageURL, &r.VideoURL, &r.ThumbnailURL, &r.CTWAClid)
}

func (d *decoder) identity(id *Identity) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "acknowledged":
			return 1 << 0, d.bool(&id.Acknowledged)
		case "created_timestamp":
			return 1 << 1, d.flex(&id.CreatedTimestamp.flexNumber)
		case "hash":
			return 1 << 2, d.string(&id.Hash)
		}
		return d.unknown(key)
	})
}

func (d *decoder) text(t *Text) bool {
	return d.stringFields([]string{"body"}, &t.Body)
}

func (d *decoder) media(m *Media) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "id":
			return 1 << 0, d.string(&m.ID)
		case "mime_type":
			return 1 << 1, d.string(&m.MimeType)
		case "sha256":
			return 1 << 2, d.string(&m.SHA256)
		case "url":
			return 1 << 3, d.string(&m.URL)
		case "caption":
			return 1 << 4, d.string(&m.Caption)
		case "filename":
			return 1 << 5, d.string(&m.Filename)
		case "voice":
			return 1 << 6, d.bool(&m.Voice)
		case "animated":
			return 1 << 7, d.bool(&m.Animated)
		}
		return d.unknown(key)
	})
}

func (d *decoder) location(l *Location) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "latitude":
			return 1 << 0, d.flex(&l.Latitude.flexNumber)
		case "longitude":
			return 1 << 1, d.flex(&l.Longitude.flexNumber)
		case "name":
			return 1 << 2, d.string(&l.Name)
		case "address":
			return 1 << 3, d.string(&l.Address)
		case "url":
			return 1 << 4, d.string(&l.URL)
		}
		return d.unknown(key)
	})
}

func (d *decoder) sharedContact(c *SharedContact) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "addresses":
			return 1 << 0, slice(d, &c.Addresses, (*decoder).contactAddress)
		case "birthday":
			return 1 << 1, d.string(&c.Birthday)
		case "emails":
			return 1 << 2, slice(d, &c.Emails, (*decoder).contactEmail)
		case "name":
			n := &c.Name
			return 1 << 3, d.stringFields([]string{"formatted_name", "first_name", "last_name", "middle_name", "suffix", "prefix"},
				&n.FormattedName, &n.FirstName, &n.LastName, &n.MiddleName, &n.Suffix, &n.Prefix)
		case "org":
			return 1 << 4, pointer(d, &c.Org, (*decoder).contactOrg)
		case "phones":
			return 1 << 5, slice(d, &c.Phones, (*decoder).contactPhone)
		case "urls":
			return 1 << 6, slice(d, &c.URLs, (*decoder).contactURL)
		case "vcard":
			return 1 << 7, d.string(&c.Vcard)
		}
		return d.unknown(key)
	})
}

func (d *decoder) contactAddress(a *ContactAddress) bool {
	return d.stringFields([]string{"street", "city", "state", "zip", "country", "country_code", "type"},
		&a.Street, &a.City, &a.State, &a.Zip, &a.Country, &a.CountryCode, &a.Type)
}

func (d *decoder) contactEmail(e *ContactEmail) bool {
	return d.stringFields([]string{"email", "type"}, &e.Email, &e.Type)
}

func (d *decoder) contactOrg(o *ContactOrg) bool {
	return d.stringFields([]string{"company", "department", "title"}, &o.Company, &o.Department, &o.Title)
}

func (d *decoder) contactPhone(p *ContactPhone) bool {
	return d.stringFields([]string{"phone", "wa_id", "type"}, &p.Phone, &p.WaID, &p.Type)
}

func (d *decoder) contactURL(u *ContactURL) bool {
	return d.stringFields([]string{"url", "type"}, &u.URL, &u.Type)
}

func (d *decoder) interactive(in *Interactive) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "type":
			return 1 << 0, d.string(&in.Type)
		case "button_reply":
			return 1 << 1, pointer(d, &in.ButtonReply, (*decoder).buttonReply)
		case "list_reply":
			return 1 << 2, pointer(d, &in.ListReply, (*decoder).listReply)
		case "nfm_reply":
			return 1 << 3, pointer(d, &in.NFMReply, (*decoder).nfmReply)
		}
		return d.unknown(key)
	})
}

func (d *decoder) buttonReply(r *ButtonReply) bool {
	return d.stringFields([]string{"id", "title"}, &r.ID, &r.Title)
}

func (d *decoder) listReply(r *ListReply) bool {
	return d.stringFields([]string{"id", "title", "description"}, &r.ID, &r.Title, &r.Description)
}

func (d *decoder) nfmReply(r *NFMReply) bool {
	return d.stringFields([]string{"name", "body", "response_json"}, &r.Name, &r.Body, &r.ResponseJSON)
}

func (d *decoder) button(b *Button) bool {
	return d.stringFields([]string{"payload", "text"}, &b.Payload, &b.Text)
}

func (d *decoder) reaction(r *Reaction) bool {
	return d.stringFields([]string{"message_id", "emoji"}, &r.MessageID, &r.Emoji)
}

func (d *decoder) order(o *Order) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "catalog_id":
			return 1 << 0, d.string(&o.CatalogID)
		case "text":
			return 1 << 1, d.string(&o.Text)
		case "product_items":
			return 1 << 2, slice(d, &o.ProductItems, (*decoder).productItem)
		}
		return d.unknown(key)
	})
}

func (d *decoder) productItem(p *ProductItem) bool {
	return d.obj(func(key string) (uint32, bool) {
		switch key {
		case "product_retailer_id":
			return 1 << 0, d.string(&p.ProductRetailerID)
		case "quantity":
			return 1 << 1, d.flex(&p.Quantity.flexNumber)
		case "item_price":
			return 1 << 2, d.flex(&p.ItemPrice.flexNumber)
		case "currency":
			return 1 << 3, d.string(&p.Currency)
		}
		return d.unknown(key)
	})
}

func (d *decoder) system(s *System) bool {
	return d.stringFields([]string{"type", "body", "identity", "wa_id", "new_wa_id", "customer", "user_id"},
		&s.Type, &s.Body, &s.Identity, &s.WaID, &s.NewWaID, &s.Customer, &s.UserID)
}
