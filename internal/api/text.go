package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/bahasha/bahasha/internal/problem"
)

// checkText refuses a JSON body that is not text every JSON parser
// accepts: RFC 8259 requires UTF-8, and a \u escape of half a surrogate
// pair encodes no character (strict parsers reject both; others would turn
// them into U+FFFD or pass them on). Every JSON body of the API, and every
// event ingested, goes through it, so that nothing Bahasha stores, signs
// and sends on is anything but valid UTF-8 JSON.
//
// It returns nil for a valid body, and for one with another syntax error
// (the decoder reports that one); otherwise a *textError naming the field.
func checkText(body []byte) *textError {
	if utf8.Valid(body) && !bytes.Contains(body, []byte(`\ud`)) && !bytes.Contains(body, []byte(`\uD`)) {
		return nil // the usual body: no scan needed (surrogates are \uD800-\uDFFF)
	}
	// Duplicate names are encoding/json's business (it takes the last):
	// jsontext's refusal of them must not hide the text behind them.
	dups := jsontext.AllowDuplicateNames(true)
	strict := scanJSON(body, dups)
	if strict == nil {
		return nil
	}
	if scanJSON(body, dups, jsontext.AllowInvalidUTF8(true)) != nil {
		return nil // another syntax error: the decoder explains it
	}
	return &textError{pointer: strict.JSONPointer}
}

// scanJSON reads body's tokens and returns the first syntax error.
func scanJSON(body []byte, opts ...jsontext.Options) *jsontext.SyntacticError {
	dec := jsontext.NewDecoder(bytes.NewReader(body), opts...)
	for {
		_, err := dec.ReadToken()
		if err == nil {
			continue
		}
		var se *jsontext.SyntacticError
		if errors.Is(err, io.EOF) || !errors.As(err, &se) {
			return nil
		}
		return se
	}
}

// textError is a string of a JSON body that is not valid UTF-8 text.
type textError struct {
	pointer jsontext.Pointer // of the string's value (of its object for a key)
}

// path is the field's path as the API's errors name fields:
// events[3].status.recipient_id.
func (e *textError) path() string {
	var b strings.Builder
	for tok := range e.pointer.Tokens() {
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// message says what is wrong, for the field at path (relative to whatever
// the caller reports it against).
func textMessage(path string) string {
	where := "field " + strconv.Quote(path)
	if path == "" {
		where = "a field name"
	}
	return where + " is not valid UTF-8 text (or holds a \\u escape of half a surrogate pair); " +
		"JSON must be UTF-8 (RFC 8259): send the text as UTF-8, or escape each character as \\uXXXX"
}

// apiError is the 422 answer for a body with e.
func (e *textError) apiError() *problem.Error {
	p := e.path()
	return &problem.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_text", Message: textMessage(p),
		Details: map[string]any{"field": p}}
}

// eventField splits a text error inside an ingest body's events into the
// event's index and the field's path within it.
func (e *textError) eventField() (index int, field string, ok bool) {
	p := e.path()
	rest, found := strings.CutPrefix(p, "events[")
	if !found {
		return 0, "", false
	}
	n, rest, found := strings.Cut(rest, "]")
	if index, err := strconv.Atoi(n); err == nil && found {
		return index, strings.TrimPrefix(rest, "."), true
	}
	return 0, "", false
}
