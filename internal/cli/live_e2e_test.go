package cli_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/metatest"
)

const testTokenKey = "token-key-0123456789abcdefghijklmnop"

// A live number sends through Meta's Graph API: the request goes to Meta
// as it came, with the number's access token (never the API key), and
// Meta's answer — success or error — comes back verbatim; media uploads
// and template listing pass through the same way; a rotated token is
// used at once; Meta unreachable is a 502, Meta too slow a 504, both in
// Graph's error shape; the token is never shown or logged.
func TestLiveNumberSends(t *testing.T) {
	t.Parallel()
	g := metatest.NewGraph()
	defer g.Close()
	env := map[string]string{"BAHASHA_TOKEN_KEY": testTokenKey}
	for k, v := range metaEnv {
		env[k] = v
	}
	s := startServe(t, serveOpts{Env: env, Args: []string{"--meta-graph-url", g.URL, "--meta-graph-timeout", "500ms"}})
	accountID := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts", map[string]string{"name": "Live Ltd"})
	key, id := accountID.Str("api_key"), accountID.Str("account.id")
	const token1, token2 = "EAAGm0PX4ZCpsBAliveToken1", "EAAGm0PX4ZCpsBAliveToken2"
	if r := s.DoAs(testAdminKey, "POST", "/admin/v1/phone_numbers", map[string]string{"account_id": id, "phone_number_id": "106540352242922",
		"waba_id": "102290129340398", "display_phone_number": "+1 555 078 3881", "access_token": token1}); r.Status != 201 || strings.Contains(r.String(), token1) {
		t.Fatalf("attaching the live number: %s", r)
	}
	if r := s.DoAs(key, "GET", "/v1/phone_numbers", nil); strings.Contains(r.String(), token1) || !strings.Contains(r.String(), `"sandbox":false`) {
		t.Fatalf("the numbers: %s", r)
	}

	send := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"text","text":{"preview_url":false,"body":"Habari"},"biz_opaque_callback_data":"order-7"}`)
	r := s.DoAs(key, "POST", "/v1/106540352242922/messages", send)
	if r.Status != 200 || !strings.HasPrefix(r.Str("messages.0.id"), "wamid.HBgL") || r.Str("contacts.0.wa_id") != "16505551234" {
		t.Fatalf("the send: %s", r)
	}
	reqs := g.Requests()
	if len(reqs) != 1 {
		t.Fatalf("Meta got %d requests", len(reqs))
	}
	got := reqs[0]
	if got.Method != "POST" || got.Path != "/v26.0/106540352242922/messages" || got.Authorization != "Bearer "+token1 || !bytes.Equal(got.Body, send) {
		t.Fatalf("what Meta got: %+v", got)
	}
	for name, vs := range got.Header {
		if strings.Contains(strings.Join(vs, ","), key) {
			t.Errorf("the API key went to Meta in %s", name)
		}
	}
	// The sandbox carrier played nothing out for a live number.
	if ds := s.Deliveries(key, ""); len(ds) != 0 {
		t.Fatalf("a live send queued sandbox statuses: %v", ds)
	}

	// Meta's error comes back verbatim.
	g.Answer(func(w http.ResponseWriter, r *http.Request) bool {
		metatest.GraphError(w, http.StatusBadRequest, 131030, "(#131030) Recipient phone number not in allowed list")
		return true
	})
	r = s.DoAs(key, "POST", "/v1/106540352242922/messages", send)
	if r.Status != 400 || r.Num("error.code") != 131030 || r.Str("error.fbtrace_id") != "AbCdEfGhIjK" {
		t.Fatalf("Meta's error relayed: %s", r)
	}
	g.Answer(nil)

	// A rotated token is used from the next request on.
	if r := s.DoAs(testAdminKey, "PUT", "/admin/v1/phone_numbers/106540352242922/access_token", map[string]string{"account_id": id, "access_token": token2}); r.Status != 200 || strings.Contains(r.String(), token2) {
		t.Fatalf("rotating the token: %s", r)
	}
	s.DoAs(key, "POST", "/v1/106540352242922/messages", send)
	if last := g.Requests()[len(g.Requests())-1]; last.Authorization != "Bearer "+token2 {
		t.Fatalf("after the rotation Meta got %q", last.Authorization)
	}

	// A media upload, streamed as it came.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("messaging_product", "whatsapp")
	fw, _ := mw.CreateFormFile("file", "receipt.png")
	fw.Write([]byte("\x89PNG fake image bytes"))
	mw.Close()
	mr := s.DoAs(key, "POST", "/v1/106540352242922/media", form.Bytes(), "Content-Type", mw.FormDataContentType())
	if mr.Status != 200 || mr.Str("id") == "" {
		t.Fatalf("the media upload: %s", mr)
	}
	if last := g.Requests()[len(g.Requests())-1]; last.Path != "/v26.0/106540352242922/media" || last.ContentType != mw.FormDataContentType() || !bytes.Equal(last.Body, form.Bytes()) {
		t.Fatalf("the upload Meta got: %s %s %d bytes", last.Path, last.ContentType, len(last.Body))
	}
	// Templates, with the query passed on.
	tr := s.DoAs(key, "GET", "/v1/102290129340398/message_templates?limit=10&status=APPROVED", nil)
	if tr.Status != 200 || tr.Str("data.0.name") != "order_update" {
		t.Fatalf("the templates: %s", tr)
	}
	if last := g.Requests()[len(g.Requests())-1]; last.Method != "GET" || last.Query != "limit=10&status=APPROVED" || last.Authorization != "Bearer "+token2 {
		t.Fatalf("the template listing Meta got: %+v", last)
	}
	if r := s.DoAs(s.Key, "GET", "/v1/102290129340398/message_templates", nil); r.Status != 404 {
		t.Fatalf("another account's WABA: %s", r)
	}
	if r := s.DoAs(s.Key, "POST", "/v1/"+s.Phone().ID+"/media", form.Bytes(), "Content-Type", mw.FormDataContentType()); r.Status != 400 {
		t.Fatalf("media for a sandbox number: %s", r)
	}

	// Meta too slow: 504; unreachable: 502 — both in Graph's shape.
	g.Answer(func(w http.ResponseWriter, r *http.Request) bool { <-r.Context().Done(); return true })
	if r := s.DoAs(key, "POST", "/v1/106540352242922/messages", send); r.Status != 504 || r.Num("error.code") != 2 || r.Str("error.type") != "OAuthException" {
		t.Fatalf("Meta too slow: %s", r)
	}
	g.Close()
	if r := s.DoAs(key, "POST", "/v1/106540352242922/messages", send); r.Status != 502 || r.Num("error.code") != 2 {
		t.Fatalf("Meta unreachable: %s", r)
	}

	// A live number without a token says so.
	s.DoAs(testAdminKey, "POST", "/admin/v1/phone_numbers", map[string]string{"account_id": id, "phone_number_id": "106540352242923",
		"waba_id": "102290129340398", "display_phone_number": "+1 555 078 3882"})
	if r := s.DoAs(key, "POST", "/v1/106540352242923/messages", send); r.Status != 400 || r.Num("error.code") != 190 {
		t.Fatalf("a live number without a token: %s", r)
	}
	for _, secret := range []string{token1, token2} {
		if strings.Contains(s.Stderr.String(), secret) || strings.Contains(s.Stdout.String(), secret) {
			t.Fatalf("an access token is in serve's output")
		}
	}
}
