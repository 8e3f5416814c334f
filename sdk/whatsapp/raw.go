package whatsapp

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// marshalKeepingRaw marshals typed and, when raw is not nil, adds back every
// key of raw that the typed output lacks, recursively into objects and into
// arrays of the same length. This is how a parsed value round-trips fields
// that the types do not know (tomorrow's message types) and values that
// `omitempty` drops (false, "", 0) without the types needing pointers.
func marshalKeepingRaw(typed any, raw json.RawMessage) ([]byte, error) {
	out, err := json.Marshal(typed)
	if err != nil || len(raw) == 0 {
		return out, err
	}
	var have, had any
	if err := decodeNumbers(out, &have); err != nil {
		return nil, err
	}
	if err := decodeNumbers(raw, &had); err != nil {
		// Raw was set by hand to something that is not JSON; ignore it.
		return out, nil
	}
	return json.Marshal(mergeMissing(have, had, reflect.TypeOf(typed)))
}

func decodeNumbers(data []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	return d.Decode(v)
}

// mergeMissing returns have with the keys of had that it lacks. t is the Go
// type have was marshalled from, or nil where that is not known. A key of had
// that differs from a field's JSON name only in case (encoding/json matches
// names case-insensitively, "Status" or "ſtatus" for "status") was decoded
// into that field, so it is not carried over: the result names each field
// once, and marshalling what it parses to gives the same bytes.
func mergeMissing(have, had any, t reflect.Type) any {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch h := have.(type) {
	case map[string]any:
		old, ok := had.(map[string]any)
		if !ok {
			return have
		}
		fields := jsonFields(t)
		for k, ov := range old {
			if nv, present := h[k]; present {
				h[k] = mergeMissing(nv, ov, fields[k])
			} else if !fields.foldsOnto(k) {
				h[k] = ov
			}
		}
		return h
	case []any:
		old, ok := had.([]any)
		if !ok || len(old) != len(h) {
			return have
		}
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := range h {
			h[i] = mergeMissing(h[i], old[i], elem)
		}
		return h
	}
	return have
}

// fieldTypes maps the JSON names of a struct's fields to their types.
type fieldTypes map[string]reflect.Type

// foldsOnto reports whether key is not a field's name but encoding/json
// would decode it into one.
func (f fieldTypes) foldsOnto(key string) bool {
	if _, exact := f[key]; exact {
		return false
	}
	for name := range f {
		if strings.EqualFold(name, key) {
			return true
		}
	}
	return false
}

var fieldCache sync.Map // reflect.Type → fieldTypes

// jsonFields returns the JSON fields of struct type t, or nil.
func jsonFields(t reflect.Type) fieldTypes {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.(fieldTypes)
	}
	f := fieldTypes{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f[name] = sf.Type
	}
	fieldCache.Store(t, f)
	return f
}
