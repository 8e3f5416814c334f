package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// sameAsSlow checks that Parse and, when it accepts body, the fast path give
// exactly what parseSlow gives: the same *Notification (reflect.DeepEqual,
// Raw fields included) or the same error. It reports whether the fast path
// accepted body.
func sameAsSlow(t testing.TB, body []byte) (fast bool) {
	t.Helper()
	want, wantErr, ok := fastMatchesSlow(t, body)
	got, err := Parse(body)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("Parse error %v, parseSlow error %v, on %q", err, wantErr, body)
	case err != nil && err.Error() != wantErr.Error():
		t.Fatalf("Parse error %q, parseSlow error %q, on %q", err, wantErr, body)
	case err != nil && (got != nil || !errors.Is(err, ErrInvalidNotification)):
		t.Fatalf("Parse(%q) = %v, %v", body, got, err)
	case !reflect.DeepEqual(got, want):
		t.Fatalf("Parse and parseSlow differ on %q\nParse: %s\nslow:  %s", body, dump(got), dump(want))
	}
	return ok
}

// fastMatchesSlow is the part of sameAsSlow that leaves Parse out: when the
// fast path accepts body, its result must be parseSlow's, which it returns.
func fastMatchesSlow(t testing.TB, body []byte) (want *Notification, wantErr error, fast bool) {
	t.Helper()
	panics := fastPanics.Load()
	got, ok := parseFast(body)
	if fastPanics.Load() != panics {
		t.Fatalf("the fast path panicked (and recovered) on %q", body)
	}
	want, wantErr = parseSlow(body)
	if ok {
		if wantErr != nil {
			t.Fatalf("fast path accepted what parseSlow rejects (%v):\n%q", wantErr, body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path and parseSlow differ on %q\nfast: %s\nslow: %s", body, dump(got), dump(want))
		}
	}
	return want, wantErr, ok
}

// dump shows a notification with its Raw fields, for failure messages.
func dump(n *Notification) string { return fmt.Sprintf("%+v", n) }

// fuzzSeeds returns the inputs stored in testdata/fuzz/<target>, each a
// file in the "go test fuzz v1" format holding one []byte.
func fuzzSeeds(t testing.TB, target string) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, arg, ok := strings.Cut(string(b), "\n")
		arg = strings.TrimSpace(arg)
		if !ok || !strings.HasPrefix(arg, "[]byte(") || !strings.HasSuffix(arg, ")") {
			t.Fatalf("%s: not a go test fuzz v1 file of one []byte", p)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(arg, "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		seeds[p] = []byte(s)
	}
	return seeds
}

// allSeeds returns every corpus body: testdata/valid, testdata/invalid and
// the stored fuzz inputs of both fuzz targets.
func allSeeds(t testing.TB) map[string][]byte {
	t.Helper()
	seeds := map[string][]byte{}
	for _, dir := range []string{"valid", "invalid"} {
		names, files := corpus(t, dir)
		for _, name := range names {
			seeds[dir+"/"+name] = files[name]
		}
	}
	for _, target := range []string{"FuzzParse", "FuzzParseFastMatchesSlow"} {
		for name, b := range fuzzSeeds(t, target) {
			seeds[name] = b
		}
	}
	return seeds
}

func TestParseFastMatchesSlowCorpus(t *testing.T) {
	for name, body := range allSeeds(t) {
		t.Run(name, func(t *testing.T) { sameAsSlow(t, body) })
	}
	for _, n := range []int{0, 1, 2, 100} {
		sameAsSlow(t, statusBatch(t, n))
	}
	sameAsSlow(t, messageBatch(t))
	sameAsSlow(t, fullNotification(t, 2))
}

// TestParseFastMatchesSlowVariants runs generated variants of every valid
// corpus file through both paths: other whitespace, escapes, null, a
// deleted, duplicated, renamed or retyped member, unknown members, odd
// strings and arrays.
func TestParseFastMatchesSlowVariants(t *testing.T) {
	names, files := corpus(t, "valid")
	bodies := map[string][]byte{"full": fullNotification(t, 1)}
	for _, name := range names {
		bodies[name] = files[name]
	}
	total, fast := 0, 0
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			// The full notification, the largest body, has every field and
			// would have many times as many variants as any corpus file:
			// it gets the lighter set, the corpus files the full one.
			seq := 0
			variants(t, body, name == "full", func(v []byte) {
				if seq++; raceEnabled && seq%8 != 0 {
					return // sampled: see raceEnabled
				}
				total++
				if _, _, ok := fastMatchesSlow(t, v); ok {
					fast++
				}
			})
		})
	}
	t.Logf("%d variants compared, %d of them on the fast path", total, fast)
}

// TestFastPathTaken: the shapes WhatsApp and Bahasha send stay on the fast
// path, whatever their whitespace, escapes and timestamp forms, and Parse
// does not fall back for them.
func TestFastPathTaken(t *testing.T) {
	names, files := corpus(t, "valid")
	bodies := map[string][]byte{
		"1 status":    statusBatch(t, 1),
		"100":         statusBatch(t, 100),
		"messages":    messageBatch(t),
		"full":        fullNotification(t, 2),
		"empty":       []byte(`{}`),
		"null entry":  []byte(" {\"entry\":null}\n"),
		"null value":  []byte(`{"entry":[{"changes":[{"value":null}]}]}`),
		"null status": []byte(`{"entry":[{"changes":[{"value":{"statuses":[null,{}]}}]}]}`),
	}
	for _, name := range names {
		tree := parseTree(t, files[name])
		bodies[name] = files[name]
		bodies[name+" compact"] = tree.json(style{})
		bodies[name+" spaced"] = tree.json(style{ws: " \t\r\n"})
		bodies[name+" escaped"] = tree.json(style{escape: true})
		bodies[name+" flipped numbers"] = flipNumbers(tree).json(style{})
	}
	for name, body := range bodies {
		if !sameAsSlow(t, body) {
			t.Errorf("%s: the fast path gave up on %s", name, body)
		}
		before := slowParses.Load()
		if _, err := Parse(body); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if slowParses.Load() != before {
			t.Errorf("%s: Parse fell back to encoding/json", name)
		}
	}
	// And an error does fall back, to word it.
	before := slowParses.Load()
	if _, err := Parse([]byte(`{"entry":{}}`)); err == nil || slowParses.Load() != before+1 {
		t.Errorf("an invalid body: err %v, fallbacks %d → %d", err, before, slowParses.Load())
	}
}

// TestFastPathEveryField fills every field of every wire-format type, and
// checks that the fast path decodes them all exactly as encoding/json does.
// A field added to a type but not to the fast decoder fails here.
func TestFastPathEveryField(t *testing.T) {
	body := fullNotification(t, 2)
	if !sameAsSlow(t, body) {
		t.Fatalf("the fast path gave up on %s", body)
	}
	// Each field is really set: none was dropped as unknown by both paths.
	n, _ := parseFast(body)
	var zero []string
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				zero = append(zero, path)
				return
			}
			walk(path, v.Elem())
		case reflect.Slice:
			if v.Len() == 0 {
				zero = append(zero, path)
			}
			for i := range v.Len() {
				walk(path+"[]", v.Index(i))
			}
		case reflect.Struct:
			if v.Type() == timestampType || v.Type() == numberType {
				if v.IsZero() {
					zero = append(zero, path)
				}
				return
			}
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		default:
			if v.IsZero() {
				zero = append(zero, path)
			}
		}
	}
	walk("Notification", reflect.ValueOf(n))
	if len(zero) > 0 {
		t.Errorf("fields left zero: %v", zero)
	}
}

// fullNotification returns a notification in which every field of every
// type is set, Timestamps and Numbers alternately in string and number form,
// with perSlice elements in every slice, marshalled.
func fullNotification(t testing.TB, perSlice int) []byte {
	t.Helper()
	seq := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		seq++
		switch {
		case v.Type() == timestampType:
			ts := UnixTimestamp(1700000000 + int64(seq))
			ts.number = seq%2 == 0
			v.Set(reflect.ValueOf(ts))
			return
		case v.Type() == numberType:
			n, _ := NumberOf(fmt.Sprintf("%d.25", seq))
			n.number = seq%2 == 0
			v.Set(reflect.ValueOf(n))
			return
		}
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("%s-%d", v.Type().Name(), seq))
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int:
			v.SetInt(int64(seq))
		case reflect.Pointer:
			v.Set(reflect.New(v.Type().Elem()))
			fill(v.Elem())
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return // a Raw field: json:"-"
			}
			v.Set(reflect.MakeSlice(v.Type(), perSlice, perSlice))
			for i := range perSlice {
				fill(v.Index(i))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					fill(v.Field(i))
				}
			}
		default:
			t.Fatalf("fullNotification: no filler for %s", v.Type())
		}
	}
	var n Notification
	fill(reflect.ValueOf(&n).Elem())
	b, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseFastMatchesSlow: whatever the body, Parse and the fast path (when
// it accepts the body) give exactly what parseSlow gives, and the fast path
// never panics.
func FuzzParseFastMatchesSlow(f *testing.F) {
	for _, body := range allSeeds(f) {
		f.Add(body)
	}
	names, files := corpus(f, "valid")
	for _, name := range names[:8] {
		tree := parseTree(f, files[name])
		f.Add(tree.json(style{escape: true, ws: " "}))
		f.Add(flipNumbers(tree).json(style{}))
	}
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"statuses":[{"id":"a\ud83d\ude00\ud800\u0041\"","timestamp":1e3}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsSlow(t, body)
	})
}

// jnode is a JSON value as a tree that keeps member order and duplicate
// keys, for generating variants of a body.
type jnode struct {
	kind byte     // '{', '[', '"' (string), '0' (number), 'l' (true, false or null)
	text string   // a string's value, a number's or a literal's text
	raw  string   // when set, written instead of the value (for invalid or odd strings)
	keys []string // an object's keys, each written verbatim when rawKey is set
	kids []*jnode // an object's values or an array's elements

	rawKey map[int]string
}

func parseTree(t testing.TB, body []byte) *jnode {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	token := func() json.Token {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("parseTree: %v", err)
		}
		return tok
	}
	var read func() *jnode
	read = func() *jnode {
		switch v := token().(type) {
		case json.Delim:
			n := &jnode{kind: byte(v)}
			for dec.More() {
				if v == '{' {
					n.keys = append(n.keys, token().(string))
				}
				n.kids = append(n.kids, read())
			}
			token()
			return n
		case string:
			return &jnode{kind: '"', text: v}
		case json.Number:
			return &jnode{kind: '0', text: string(v)}
		case bool:
			return &jnode{kind: 'l', text: strconv.FormatBool(v)}
		default:
			return &jnode{kind: 'l', text: "null"}
		}
	}
	return read()
}

func (n *jnode) clone() *jnode {
	c := *n
	c.keys = append([]string(nil), n.keys...)
	c.kids = make([]*jnode, len(n.kids))
	for i, k := range n.kids {
		c.kids[i] = k.clone()
	}
	if n.rawKey != nil {
		c.rawKey = map[int]string{}
		for k, v := range n.rawKey {
			c.rawKey[k] = v
		}
	}
	return &c
}

// style says how a tree is written: ws goes between all tokens; escape
// writes every non-ASCII character of string values as \u escapes (pairs
// beyond the BMP) and '/' as "\/".
type style struct {
	ws     string
	escape bool
}

func (n *jnode) json(st style) []byte {
	var b bytes.Buffer
	b.WriteString(st.ws)
	n.write(&b, st)
	b.WriteString(st.ws)
	return b.Bytes()
}

func (n *jnode) write(b *bytes.Buffer, st style) {
	if n.raw != "" {
		b.WriteString(n.raw)
		return
	}
	switch n.kind {
	case '"':
		quote(b, n.text, st.escape)
	case '0', 'l':
		b.WriteString(n.text)
	default:
		end := byte(']')
		if n.kind == '{' {
			end = '}'
		}
		b.WriteByte(n.kind)
		for i, k := range n.kids {
			b.WriteString(st.ws)
			if i > 0 {
				b.WriteByte(',')
				b.WriteString(st.ws)
			}
			if n.kind == '{' {
				if raw, ok := n.rawKey[i]; ok {
					b.WriteString(raw)
				} else {
					quote(b, n.keys[i], false)
				}
				b.WriteString(st.ws)
				b.WriteByte(':')
				b.WriteString(st.ws)
			}
			k.write(b, st)
		}
		b.WriteString(st.ws)
		b.WriteByte(end)
	}
}

func quote(b *bytes.Buffer, s string, escape bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		case escape && r == '/':
			b.WriteString(`\/`)
		case escape && r >= utf8.RuneSelf:
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				fmt.Fprintf(b, `\u%04x\u%04X`, r1, r2)
			} else {
				fmt.Fprintf(b, `\u%04X`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// flexFields are the JSON names of the Timestamp and Number fields.
var flexFields = map[string]bool{
	"time": true, "timestamp": true, "expiration_timestamp": true, "created_timestamp": true,
	"latitude": true, "longitude": true, "quantity": true, "item_price": true,
}

// flipNumbers returns a copy of n in which every Timestamp or Number given
// as a number is a string, and every one given as a string that holds a
// number is a number.
func flipNumbers(n *jnode) *jnode {
	c := n.clone()
	var walk func(n *jnode)
	walk = func(n *jnode) {
		for i, k := range n.kids {
			if n.kind == '{' && flexFields[n.keys[i]] {
				switch k.kind {
				case '0':
					k.kind = '"'
				case '"':
					if _, err := NumberOf(k.text); err == nil {
						k.kind = '0'
					}
				}
			}
			walk(k)
		}
	}
	walk(c)
	return c
}

// nodes returns the nodes of n in pre-order.
func (n *jnode) nodes() []*jnode {
	out := []*jnode{n}
	for _, k := range n.kids {
		out = append(out, k.nodes()...)
	}
	return out
}

// mutate calls yield with root changed by each change f returns for each
// node, one change at a time. A change modifies only the node it is given
// (not its children), and is undone after yield.
func mutate(root *jnode, f func(n *jnode) []func(n *jnode), yield func(*jnode)) {
	for _, n := range root.nodes() {
		for _, change := range f(n) {
			saved := *n
			saved.keys = append([]string(nil), n.keys...)
			saved.kids = append([]*jnode(nil), n.kids...)
			change(n)
			yield(root)
			*n = saved
		}
	}
}

func lit(s string) *jnode { return &jnode{kind: 'l', text: s, raw: s} }

// replacements are values of every kind that a member's value is swapped
// for, one at a time.
var replacements = []string{
	`null`, `""`, `"x"`, `"1700000009"`, `17`, `-1.5e3`, `0`, `true`, `false`,
	`{}`, `[]`, `[null]`, `{"a":1}`, `[{}]`, `"\u00e9\/"`, `1.0`,
	// Not JSON.
	`01`, `-`, `1.`, `.5`, `1e`, `+1`, `tru`, `nul`, `"x`, `[1,]`, `{"a"}`,
}

// lightReplacements are the replacements of a light set of variants: one
// value of each kind.
var lightReplacements = []string{`null`, `"x"`, `17`, `true`, `{}`, `[]`}

// variants calls yield with generated variants of body (a valid JSON
// document). A light set leaves out the odd strings and values that are not
// JSON, and swaps values for fewer others.
func variants(t testing.TB, body []byte, light bool, yield func([]byte)) {
	t.Helper()
	root := parseTree(t, body)
	for _, b := range [][]byte{
		root.json(style{}),
		root.json(style{ws: " \t\r\n"}),
		root.json(style{ws: "\n  "}),
		root.json(style{escape: true}),
		root.json(style{escape: true, ws: " "}),
		flipNumbers(root).json(style{}),
		append(root.json(style{}), " x"...),
		root.json(style{})[:len(root.json(style{}))-1],
	} {
		yield(b)
	}
	tree := func(n *jnode) { yield(n.json(style{})) }
	// An unknown member nested as deep as encoding/json allows, and deeper.
	if root.kind == '{' {
		for _, depth := range []int{9999, 10000, 10001} {
			c := root.clone()
			c.keys = append(c.keys, "deep")
			c.kids = append(c.kids, lit(strings.Repeat("[", depth)+strings.Repeat("]", depth)))
			tree(c)
		}
	}
	// Members: deleted, duplicated, renamed, retyped, with a neighbour.
	mutate(root, func(n *jnode) (fs []func(*jnode)) {
		for i := range n.keys {
			key := n.keys[i]
			fs = append(fs,
				func(n *jnode) { n.keys = delete1(n.keys, i); n.kids = delete1(n.kids, i) },
				func(n *jnode) { n.keys = insert1(n.keys, i, key); n.kids = insert1(n.kids, i, n.kids[i].clone()) },
				func(n *jnode) { n.keys = insert1(n.keys, i+1, key); n.kids = insert1(n.kids, i+1, lit("null")) },
				func(n *jnode) { n.keys[i] = strings.ToUpper(key[:1]) + key[1:] },
				func(n *jnode) { n.keys[i] = strings.ToUpper(key) },
				func(n *jnode) { n.keys[i] = key + " " },
				func(n *jnode) { n.keys[i] = strings.Replace(strings.Replace(key, "k", "\u212a", 1), "s", "ſ", 1) },
				func(n *jnode) {
					n.rawKey = map[int]string{i: fmt.Sprintf(`"\u%04x%s"`, key[0], key[1:])}
				},
				func(n *jnode) {
					n.keys = insert1(n.keys, i+1, "zz_unknown")
					n.kids = insert1(n.kids, i+1, lit(`{"a":[1,"b\n",null,true,{"c":{}}],"B":-0.5E+2}`))
				},
				func(n *jnode) {
					n.keys = insert1(n.keys, i, "Zz_Unknown")
					n.kids = insert1(n.kids, i, lit(`1`))
				},
				func(n *jnode) {
					n.keys = insert1(n.keys, i, "deep")
					n.kids = insert1(n.kids, i, lit(strings.Repeat("[", 70)+strings.Repeat("]", 70)))
				},
			)
			rs := replacements
			if light {
				rs = lightReplacements
			}
			for _, r := range rs {
				fs = append(fs, func(n *jnode) { n.kids[i] = lit(r) })
			}
		}
		return fs
	}, tree)
	if light {
		return
	}
	// Strings: invalid UTF-8, surrogates, escapes, a raw control byte.
	mutate(root, func(n *jnode) (fs []func(*jnode)) {
		if n.kind != '"' {
			return nil
		}
		var b bytes.Buffer
		quote(&b, n.text, false)
		q := b.String()
		for _, extra := range []string{"\xff", "\xed\xa0\x80", `\ud83d`, `\ud83d\u0041`, `\udc00\ud83d\ude00`, `\u0000\b\f\n\r\t\/\\\"`, "\t", `\x`, "é😀"} {
			fs = append(fs, func(n *jnode) { n.raw = q[:len(q)-1] + extra + `"` })
		}
		return fs
	}, tree)
	// Arrays: emptied, with a null or a duplicated first element; arrays
	// and objects with a trailing comma.
	mutate(root, func(n *jnode) (fs []func(*jnode)) {
		if n.kind == '{' || n.kind == '[' {
			fs = append(fs, func(n *jnode) {
				j := n.json(style{})
				n.raw = string(j[:len(j)-1]) + ",]"
				if n.kind == '{' {
					n.raw = string(j[:len(j)-1]) + ",}"
				}
			})
		}
		if n.kind != '[' {
			return fs
		}
		fs = append(fs,
			func(n *jnode) { n.kids = nil },
			func(n *jnode) { n.kids = append(n.kids, lit("null")) },
			func(n *jnode) { n.kids = append(n.kids, lit("1")) },
		)
		if len(n.kids) > 0 {
			fs = append(fs, func(n *jnode) { n.kids = append(n.kids, n.kids[0].clone()) })
		}
		return fs
	}, tree)
}

func delete1[T any](s []T, i int) []T { return append(s[:i:i], s[i+1:]...) }

func insert1[T any](s []T, i int, v T) []T {
	out := append(s[:i:i], v)
	return append(out, s[i:]...)
}
