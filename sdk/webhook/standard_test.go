package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// The Standard Webhooks reference libraries' published vector (see
// testdata/standard-webhooks-vectors.json for its sources), and a second
// key for rotations.
const (
	stdSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	stdMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	stdTimestamp = 1614265330
	stdPayload   = `{"test": 2432232314}`
	stdSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	stdPrevious  = "whsec_YmFoYXNoYS1wcmV2aW91cy1rZXktMjRi"
)

var stdWant = map[string]error{
	"valid":     nil,
	"missing":   webhook.ErrMissingStandardHeaders,
	"malformed": webhook.ErrMalformedStandardHeader,
	"too_old":   webhook.ErrTimestampOutOfTolerance,
	"too_new":   webhook.ErrTimestampOutOfTolerance,
	"mismatch":  webhook.ErrStandardSignatureMismatch,
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil && err != nil || !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}

// TestStandardWebhooksVectors runs the vectors of the Standard Webhooks
// reference libraries through VerifyStandard, a Verifier and SignStandard.
func TestStandardWebhooksVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/standard-webhooks-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name    string            `json:"name"`
			Source  string            `json:"source"`
			Secrets []string          `json:"secrets"`
			Headers map[string]string `json:"headers"`
			Payload string            `json:"payload"`
			Now     int64             `json:"now"`
			Want    string            `json:"want"`
			Sign    bool              `json:"sign"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) < 20 {
		t.Fatalf("only %d vectors", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			if v.Source == "" {
				t.Fatal("a vector without its source")
			}
			want, ok := stdWant[v.Want]
			if !ok {
				t.Fatalf("unknown want %q", v.Want)
			}
			header := http.Header{}
			for k, val := range v.Headers {
				header.Set(k, val)
			}
			now := time.Unix(v.Now, 0)
			err := webhook.VerifyStandard(v.Secrets, header, []byte(v.Payload), now, 0)
			wantErr(t, "VerifyStandard", err, want)
			switch v.Want {
			case "too_old":
				if !strings.Contains(err.Error(), "too old") {
					t.Fatalf("error %q does not say too old", err)
				}
			case "too_new":
				if !strings.Contains(err.Error(), "in the future") {
					t.Fatalf("error %q does not say in the future", err)
				}
			}
			vf := &webhook.Verifier{SigningSecrets: v.Secrets, Now: func() time.Time { return now }}
			wantErr(t, "Verifier.Verify", vf.Verify(header, []byte(v.Payload)), want)
			if v.Sign {
				ts, err := strconv.ParseInt(v.Headers[webhook.HeaderWebhookTimestamp], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				sig, err := webhook.SignStandard(v.Secrets[0], v.Headers[webhook.HeaderWebhookID], time.Unix(ts, 0), []byte(v.Payload))
				if err != nil || sig != v.Headers[webhook.HeaderWebhookSignature] {
					t.Fatalf("SignStandard = %q, %v; want %q", sig, err, v.Headers[webhook.HeaderWebhookSignature])
				}
			}
		})
	}
}

// stdHeader returns the headers of a delivery of body at ts, signed with
// each of secrets.
func stdHeader(t testing.TB, id string, ts time.Time, body string, secrets ...string) http.Header {
	t.Helper()
	h := http.Header{}
	if err := webhook.SetStandardHeaders(h, secrets, id, ts, []byte(body)); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestVerifyStandard(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	current, err := webhook.NewSigningSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	previous, err := webhook.NewSigningSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	const body = `{"object":"whatsapp_business_account","entry":[]}`
	signed := func(secrets ...string) http.Header { return stdHeader(t, "msg_1", now, body, secrets...) }
	with := func(h http.Header, key, value string) http.Header {
		h = h.Clone()
		if value == "" {
			h.Del(key)
		} else {
			h.Set(key, value)
		}
		return h
	}
	sigOf := func(secret string, ts time.Time) string {
		sig, err := webhook.SignStandard(secret, "msg_1", ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	at := func(ts time.Time) http.Header { return stdHeader(t, "msg_1", ts, body, current) }
	tests := []struct {
		name      string
		secrets   []string
		header    http.Header
		body      string
		tolerance time.Duration
		want      error
		inError   string
	}{
		{name: "valid", secrets: []string{current}, header: signed(current), want: nil},
		{name: "valid without the whsec_ prefix", secrets: []string{strings.TrimPrefix(current, "whsec_")}, header: signed(current)},
		{name: "rotation: two signatures, the current secret", secrets: []string{current}, header: signed(current, previous)},
		{name: "rotation: two signatures, the previous secret", secrets: []string{previous}, header: signed(current, previous)},
		{name: "rotation: one signature, either secret accepted", secrets: []string{current, previous}, header: signed(previous)},
		{name: "rotation: signatures in separate header values", secrets: []string{previous},
			header: http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)},
				"Webhook-Signature": {sigOf(current, now), sigOf(previous, now)}}},
		{name: "extra spaces between signatures", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookSignature, "  v1,x  "+sigOf(current, now)+"  ")},
		{name: "empty secrets ignored", secrets: []string{"", current}, header: signed(current)},
		{name: "wrong secret", secrets: []string{previous}, header: signed(current), want: webhook.ErrStandardSignatureMismatch},
		{name: "tampered body", secrets: []string{current}, header: signed(current), body: body + " ", want: webhook.ErrStandardSignatureMismatch},
		{name: "tampered id", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookID, "msg_2"), want: webhook.ErrStandardSignatureMismatch},
		{name: "tampered timestamp", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix()-1, 10)), want: webhook.ErrStandardSignatureMismatch},
		{name: "uppercase version", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookSignature, "V1,"+sigOf(current, now)[3:]), want: webhook.ErrStandardSignatureMismatch},
		{name: "unknown version only", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookSignature, "v1a,"+sigOf(current, now)[3:]), want: webhook.ErrStandardSignatureMismatch},
		{name: "no comma", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookSignature, "v1"+sigOf(current, now)[3:]), want: webhook.ErrStandardSignatureMismatch},
		{name: "old timestamp", secrets: []string{current}, header: at(now.Add(-webhook.DefaultTolerance - time.Second)), want: webhook.ErrTimestampOutOfTolerance, inError: "too old"},
		{name: "future timestamp", secrets: []string{current}, header: at(now.Add(webhook.DefaultTolerance + time.Second)), want: webhook.ErrTimestampOutOfTolerance, inError: "in the future"},
		{name: "a year old, however well signed", secrets: []string{current}, header: at(now.AddDate(-1, 0, 0)), want: webhook.ErrTimestampOutOfTolerance},
		{name: "old within a longer tolerance", secrets: []string{current}, header: at(now.Add(-9 * time.Minute)), tolerance: 10 * time.Minute},
		{name: "old beyond a shorter tolerance", secrets: []string{current}, header: at(now.Add(-2 * time.Second)), tolerance: time.Second, want: webhook.ErrTimestampOutOfTolerance},
		{name: "missing webhook-id", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookID, ""), want: webhook.ErrMissingStandardHeaders, inError: "missing Standard Webhooks headers: webhook-id"},
		{name: "missing webhook-timestamp", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookTimestamp, ""), want: webhook.ErrMissingStandardHeaders, inError: "headers: webhook-timestamp"},
		{name: "missing webhook-signature", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookSignature, ""), want: webhook.ErrMissingStandardHeaders, inError: "headers: webhook-signature"},
		{name: "blank webhook-signature", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookSignature, "   "), want: webhook.ErrMissingStandardHeaders, inError: "headers: webhook-signature"},
		{name: "no headers at all", secrets: []string{current}, header: http.Header{}, want: webhook.ErrMissingStandardHeaders, inError: "webhook-id, webhook-timestamp, webhook-signature"},
		{name: "nil header", secrets: []string{current}, header: nil, want: webhook.ErrMissingStandardHeaders},
		{name: "malformed timestamp: words", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookTimestamp, "hello"), want: webhook.ErrMalformedStandardHeader},
		{name: "malformed timestamp: fraction", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10)+".5"), want: webhook.ErrMalformedStandardHeader},
		{name: "malformed timestamp: sign", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookTimestamp, "+"+strconv.FormatInt(now.Unix(), 10)), want: webhook.ErrMalformedStandardHeader},
		{name: "malformed timestamp: milliseconds overflow", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookTimestamp, "99999999999999999999"), want: webhook.ErrMalformedStandardHeader},
		{name: "timestamp in milliseconds", secrets: []string{current}, header: with(signed(current), webhook.HeaderWebhookTimestamp, strconv.FormatInt(now.UnixMilli(), 10)), want: webhook.ErrTimestampOutOfTolerance, inError: "in the future"},
		{name: "no secret", secrets: nil, header: signed(current), want: webhook.ErrNoSigningSecret},
		{name: "only empty secrets", secrets: []string{""}, header: signed(current), want: webhook.ErrNoSigningSecret},
		{name: "secret not base64", secrets: []string{"whsec_not base64!"}, header: signed(current), want: webhook.ErrInvalidSigningSecret},
		{name: "secret with an empty key", secrets: []string{"whsec_"}, header: signed(current), want: webhook.ErrInvalidSigningSecret},
		{name: "an invalid secret beside a valid one", secrets: []string{current, "whsec_%%%"}, header: signed(current), want: webhook.ErrInvalidSigningSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := body
			if tt.body != "" {
				b = tt.body
			}
			err := webhook.VerifyStandard(tt.secrets, tt.header, []byte(b), now, tt.tolerance)
			wantErr(t, "VerifyStandard", err, tt.want)
			if tt.inError != "" && !strings.Contains(err.Error(), tt.inError) {
				t.Fatalf("error %q does not contain %q", err, tt.inError)
			}
		})
	}
}

func TestVerifyStandardZeroNowIsTheClock(t *testing.T) {
	h := stdHeader(t, "msg_1", time.Now(), "{}", stdSecret)
	if err := webhook.VerifyStandard([]string{stdSecret}, h, []byte("{}"), time.Time{}, 0); err != nil {
		t.Fatal(err)
	}
	h = stdHeader(t, "msg_1", time.Now().Add(-time.Hour), "{}", stdSecret)
	wantErr(t, "VerifyStandard", webhook.VerifyStandard([]string{stdSecret}, h, []byte("{}"), time.Time{}, 0), webhook.ErrTimestampOutOfTolerance)
}

func TestSignStandardErrors(t *testing.T) {
	ts := time.Unix(stdTimestamp, 0)
	for _, c := range []struct {
		name, secret, id string
		ts               time.Time
		want             error
	}{
		{"empty secret", "", stdMsgID, ts, webhook.ErrInvalidSigningSecret},
		{"prefix only", "whsec_", stdMsgID, ts, webhook.ErrInvalidSigningSecret},
		{"not base64", "whsec_???", stdMsgID, ts, webhook.ErrInvalidSigningSecret},
		{"unpadded base64", "whsec_" + base64.RawStdEncoding.EncodeToString([]byte("ab")), stdMsgID, ts, webhook.ErrInvalidSigningSecret},
		{"empty id", stdSecret, "", ts, webhook.ErrInvalidMessageID},
		{"id with a full stop", stdSecret, "msg.1", ts, webhook.ErrInvalidMessageID},
		{"id with a space", stdSecret, "msg 1", ts, webhook.ErrInvalidMessageID},
		{"id with a newline", stdSecret, "msg\n1", ts, webhook.ErrInvalidMessageID},
		{"id not ASCII", stdSecret, "msg_é", ts, webhook.ErrInvalidMessageID},
		{"before 1970", stdSecret, stdMsgID, time.Unix(-1, 0), webhook.ErrMalformedStandardHeader},
	} {
		sig, err := webhook.SignStandard(c.secret, c.id, c.ts, []byte(stdPayload))
		if sig != "" || !errors.Is(err, c.want) {
			t.Errorf("%s: SignStandard = %q, %v; want %v", c.name, sig, err, c.want)
		}
	}
	// Sub-second precision is dropped: the header carries whole seconds.
	sig, err := webhook.SignStandard(stdSecret, stdMsgID, ts.Add(999*time.Millisecond), []byte(stdPayload))
	if err != nil || sig != stdSignature {
		t.Fatalf("SignStandard with a fraction of a second = %q, %v", sig, err)
	}
}

func TestSetStandardHeaders(t *testing.T) {
	h := http.Header{"Keep": {"me"}}
	if err := webhook.SetStandardHeaders(h, []string{"", stdSecret, stdPrevious}, stdMsgID, time.Unix(stdTimestamp, 0), []byte(stdPayload)); err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Keep":              {"me"},
		"Webhook-Id":        {stdMsgID},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {stdSignature + " v1,6NT1sJkE+A82IqdYNHbXtJOtA6UCiDmFfcX2UV4aBPE="},
	}
	if len(h) != len(want) {
		t.Fatalf("headers %v, want %v", h, want)
	}
	for k, v := range want {
		if got := h[k]; len(got) != 1 || got[0] != v[0] {
			t.Fatalf("%s = %q, want %q", k, got, v)
		}
	}
	for _, c := range []struct {
		secrets []string
		id      string
		want    error
	}{
		{nil, stdMsgID, webhook.ErrNoSigningSecret},
		{[]string{""}, stdMsgID, webhook.ErrNoSigningSecret},
		{[]string{stdSecret, "whsec_!"}, stdMsgID, webhook.ErrInvalidSigningSecret},
		{[]string{stdSecret}, "a.b", webhook.ErrInvalidMessageID},
	} {
		h := http.Header{}
		err := webhook.SetStandardHeaders(h, c.secrets, c.id, time.Unix(stdTimestamp, 0), nil)
		if !errors.Is(err, c.want) || len(h) != 0 {
			t.Errorf("SetStandardHeaders(%q, %q) = %v leaving %v; want %v and no header", c.secrets, c.id, err, h, c.want)
		}
	}
}

func TestNewSigningSecret(t *testing.T) {
	s, err := webhook.NewSigningSecret(bytes.NewReader(bytes.Repeat([]byte{0xfb}, 32)))
	if err != nil || s != "whsec_+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7" {
		t.Fatalf("NewSigningSecret = %q, %v", s, err)
	}
	a, err1 := webhook.NewSigningSecret(nil)
	b, err2 := webhook.NewSigningSecret(nil)
	if err1 != nil || err2 != nil || a == b {
		t.Fatalf("two secrets from crypto/rand: %q %v, %q %v", a, err1, b, err2)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, webhook.SigningSecretPrefix))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(key) != 24 {
		t.Fatalf("secret %q: %d bytes, %v", a, len(key), err)
	}
	if _, err := webhook.SignStandard(a, "msg_1", time.Now(), nil); err != nil {
		t.Fatalf("a new secret does not sign: %v", err)
	}
	if s, err := webhook.NewSigningSecret(bytes.NewReader(make([]byte, 23))); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || s != "" {
		t.Fatalf("short random source: %q, %v", s, err)
	}
	boom := errors.New("boom")
	if _, err := webhook.NewSigningSecret(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Fatalf("failing random source: %v", err)
	}
}

// stdRequest is a POST of n signed with the app secret (none when empty)
// and, unless signing is empty, the Standard Webhooks way at ts.
func stdRequest(n *whatsapp.Notification, appSecret string, ts time.Time, signing ...string) *http.Request {
	r := webhooktest.NewRequest("/webhook", n, appSecret)
	if len(signing) > 0 {
		webhooktest.SignStandard(r, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, signing...)
	}
	return r
}

func TestHandlerStandardWebhooks(t *testing.T) {
	now := time.Unix(1_772_000_000, 0)
	clock := func() time.Time { return now }
	n := webhooktest.Status("wamid.1", whatsapp.StatusDelivered)
	tests := []struct {
		name    string
		handler *webhook.Handler
		req     *http.Request
		code    int
		inBody  string
	}{
		{"signed both ways", &webhook.Handler{AppSecret: secret, SigningSecret: stdSecret},
			stdRequest(n, secret, now, stdSecret), 200, ""},
		{"standard only", &webhook.Handler{SigningSecret: stdSecret},
			stdRequest(n, "", now, stdSecret), 200, ""},
		{"rotation: previous signing secret", &webhook.Handler{SigningSecret: stdSecret, PreviousSigningSecrets: []string{stdPrevious}},
			stdRequest(n, "", now, stdPrevious), 200, ""},
		{"rotation: only PreviousSigningSecrets set still requires the headers", &webhook.Handler{PreviousSigningSecrets: []string{stdPrevious}},
			stdRequest(n, "", now), 401, "missing Standard Webhooks headers"},
		{"replayed after the tolerance", &webhook.Handler{AppSecret: secret, SigningSecret: stdSecret},
			stdRequest(n, secret, now.Add(-webhook.DefaultTolerance-time.Second), stdSecret), 401, "too old"},
		{"replayed within a longer tolerance", &webhook.Handler{AppSecret: secret, SigningSecret: stdSecret, Tolerance: time.Hour},
			stdRequest(n, secret, now.Add(-30*time.Minute), stdSecret), 200, ""},
		{"from the future", &webhook.Handler{SigningSecret: stdSecret},
			stdRequest(n, "", now.Add(time.Hour), stdSecret), 401, "in the future"},
		{"missing standard headers", &webhook.Handler{AppSecret: secret, SigningSecret: stdSecret},
			stdRequest(n, secret, now), 401, "missing Standard Webhooks headers: webhook-id, webhook-timestamp, webhook-signature"},
		{"wrong signing secret", &webhook.Handler{AppSecret: secret, SigningSecret: stdSecret},
			stdRequest(n, secret, now, stdPrevious), 401, "no v1 signature"},
		{"standard valid but X-Hub-Signature-256 wrong", &webhook.Handler{AppSecret: secret, SigningSecret: stdSecret},
			stdRequest(n, "other", now, stdSecret), 401, "signature does not match the body"},
		{"standard valid but X-Hub-Signature-256 missing", &webhook.Handler{AppSecret: secret, SigningSecret: stdSecret},
			stdRequest(n, "", now, stdSecret), 401, "missing X-Hub-Signature-256"},
		{"invalid signing secret configured", &webhook.Handler{SigningSecret: "whsec_not base64"},
			stdRequest(n, "", now, stdSecret), 401, "invalid signing secret"},
		{"SigningSecret unset: no standard headers needed", &webhook.Handler{AppSecret: secret},
			stdRequest(n, secret, now), 200, ""},
		{"SigningSecret unset: bad standard headers ignored", &webhook.Handler{AppSecret: secret},
			stdRequest(n, secret, now.Add(-time.Hour), stdPrevious), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := 0
			h := tt.handler
			h.Now = clock
			h.OnStatus = func(context.Context, whatsapp.StatusEvent) error { ran++; return nil }
			rec := serve(h, tt.req)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.inBody) {
				t.Fatalf("got %d %q, want %d containing %q", rec.Code, rec.Body, tt.code, tt.inBody)
			}
			if wantRan := map[bool]int{true: 1, false: 0}[tt.code == 200]; ran != wantRan {
				t.Fatalf("OnStatus ran %d times", ran)
			}
		})
	}
}

// The default clock is time.Now.
func TestHandlerStandardWebhooksRealClock(t *testing.T) {
	h := &webhook.Handler{SigningSecret: stdSecret}
	n := webhooktest.Text(webhooktest.CustomerWaID, "hi")
	if rec := serve(h, stdRequest(n, "", time.Now(), stdSecret)); rec.Code != 200 {
		t.Fatalf("fresh delivery: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(h, stdRequest(n, "", time.Now().Add(-time.Hour), stdSecret)); rec.Code != 401 {
		t.Fatalf("hour-old delivery: %d %s", rec.Code, rec.Body)
	}
}

func TestVerifier(t *testing.T) {
	now := time.Unix(1_772_000_000, 0)
	clock := func() time.Time { return now }
	body, _ := io.ReadAll(webhooktest.NewRequest("/", webhooktest.Status("wamid.1", whatsapp.StatusRead), "").Body)
	both := func(appSecret string, ts time.Time, signing ...string) http.Header {
		h := http.Header{}
		if appSecret != "" {
			h.Set(webhook.SignatureHeader, webhook.Sign(appSecret, body))
		}
		if len(signing) > 0 {
			if err := webhook.SetStandardHeaders(h, signing, "msg_1", ts, body); err != nil {
				t.Fatal(err)
			}
		}
		return h
	}
	for _, c := range []struct {
		name   string
		v      *webhook.Verifier
		header http.Header
		body   []byte
		want   error
	}{
		{"both schemes", &webhook.Verifier{AppSecrets: []string{secret}, SigningSecrets: []string{stdSecret}, Now: clock}, both(secret, now, stdSecret), body, nil},
		{"app secret only", &webhook.Verifier{AppSecrets: []string{secret}}, both(secret, now), body, nil},
		{"signing secret only", &webhook.Verifier{SigningSecrets: []string{stdSecret}, Now: clock}, both("", now, stdSecret), body, nil},
		{"rotation of both", &webhook.Verifier{AppSecrets: []string{"new", secret}, SigningSecrets: []string{stdPrevious, stdSecret}, Now: clock}, both(secret, now, stdSecret), body, nil},
		{"standard missing", &webhook.Verifier{AppSecrets: []string{secret}, SigningSecrets: []string{stdSecret}, Now: clock}, both(secret, now), body, webhook.ErrMissingStandardHeaders},
		{"X-Hub missing", &webhook.Verifier{AppSecrets: []string{secret}, SigningSecrets: []string{stdSecret}, Now: clock}, both("", now, stdSecret), body, webhook.ErrMissingSignature},
		{"replay", &webhook.Verifier{AppSecrets: []string{secret}, SigningSecrets: []string{stdSecret}, Now: clock}, both(secret, now.Add(-6*time.Minute), stdSecret), body, webhook.ErrTimestampOutOfTolerance},
		{"replay within the tolerance", &webhook.Verifier{SigningSecrets: []string{stdSecret}, Tolerance: 10 * time.Minute, Now: clock}, both("", now.Add(-6*time.Minute), stdSecret), body, nil},
		{"no secrets", &webhook.Verifier{}, both(secret, now, stdSecret), body, webhook.ErrNoSecret},
		{"only empty secrets", &webhook.Verifier{AppSecrets: []string{""}, SigningSecrets: []string{""}}, both(secret, now, stdSecret), body, webhook.ErrNoSecret},
		{"signed, not a notification", &webhook.Verifier{SigningSecrets: []string{stdSecret}, Now: clock}, stdHeader(t, "msg_1", now, "[]", stdSecret), []byte("[]"), whatsapp.ErrInvalidNotification},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := c.v.Parse(c.header, c.body)
			wantErr(t, "Parse", err, c.want)
			if (n != nil) != (err == nil) {
				t.Fatalf("Parse returned %v with error %v", n, err)
			}
			if n != nil && n.Entry[0].Changes[0].Value.Statuses[0].ID != "wamid.1" {
				t.Fatalf("parsed %+v", n)
			}
			if !errors.Is(c.want, whatsapp.ErrInvalidNotification) {
				wantErr(t, "Verify", c.v.Verify(c.header, c.body), c.want)
			}
		})
	}
}

// One Verifier serves concurrent requests (run with -race).
func TestVerifierConcurrent(t *testing.T) {
	v := &webhook.Verifier{AppSecrets: []string{secret}, SigningSecrets: []string{stdPrevious, stdSecret}}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
				h := stdHeader(t, "msg_"+strconv.Itoa(i*100+j), time.Now(), string(body), stdSecret)
				h.Set(webhook.SignatureHeader, webhook.Sign(secret, body))
				if j%2 == 1 {
					body = append(body, ' ')
				}
				err := v.Verify(h, body)
				if (j%2 == 0) != (err == nil) {
					t.Errorf("request %d/%d: %v", i, j, err)
				}
			}
		})
	}
	wg.Wait()
}

// Verifying a well-signed delivery allocates nothing once the HMACs are
// pooled (the race detector empties pools at random, so not under -race).
func TestVerifyStandardDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	now := time.Unix(stdTimestamp, 0)
	v := &webhook.Verifier{AppSecrets: []string{secret}, SigningSecrets: []string{stdPrevious, stdSecret}, Now: func() time.Time { return now }}
	body := []byte(stdPayload)
	h := stdHeader(t, stdMsgID, now, stdPayload, stdSecret)
	h.Set(webhook.SignatureHeader, webhook.Sign(secret, body))
	if err := v.Verify(h, body); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		if err := v.Verify(h, body); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("Verify allocates %v times per call", allocs)
	}
}
