package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"

	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := problem.Classify(err)
	if e.Status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, e.Status, errorBody{Error: errorObject{Code: e.Code, Message: e.Message, Details: e.Details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"could not encode the response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// decode reads a JSON request body into v, capped at limit bytes, and
// explains what is wrong with it in terms of the request. The Content-Type
// is not checked (curl -d sends a form type with a JSON body); a body that
// is not JSON gets an error that says so.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any, strict bool) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return describeJSONError(err) // too large (413), or the client went away
	}
	if te := checkText(body); te != nil {
		return te.apiError()
	}
	return decodeFrom(bytes.NewReader(body), v, strict)
}

// decodeFrom is decode of a body already capped (or already read).
func decodeFrom(body io.Reader, v any, strict bool) error {
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return problem.Invalid("the body has data after the JSON object; send exactly one object")
	}
	return nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// isTimeout: reading the body hit the server's deadline for it.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return err
	case isTimeout(err):
		return problem.New(http.StatusRequestTimeout, "body_timeout", "the request body did not arrive in time; send the whole body without pausing (see the README's limits)")
	case isEOF(err):
		return problem.Invalid("the request body is empty; send a JSON object")
	case errors.As(err, &syntax):
		return problem.Invalid("the body is not valid JSON (at byte %d: %s)", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return problem.Invalid("the body must be a JSON object, not %s", typ.Value)
		}
		return problem.Invalid("field %q must be %s, not %s", typ.Field, expectedKind(typ.Type), strings.TrimPrefix(typ.Value, "number "))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return problem.Invalid("the body has an unknown field %s; check its spelling", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem.Invalid("the body ends before the JSON object is complete")
	}
	return problem.Invalid("the body could not be read as JSON: %s", err.Error())
}

// expectedKind names what a field of type t must be, in JSON terms.
func expectedKind(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[whatsapp.Timestamp]():
		return "a Unix timestamp (a number, or a string of digits)"
	case reflect.TypeFor[whatsapp.Number]():
		return "a number (or a string holding one)"
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return kindName(t.Kind().String())
}

func kindName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "a number"
}
