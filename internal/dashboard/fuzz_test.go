package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

// fuzzRoutes are the dashboard's routes that parse a query or a form; the
// handshake (it dials the URL) and the never-ending streams are left out.
var fuzzRoutes = []struct{ method, path string }{
	{"GET", "/deliveries"},
	{"GET", "/deliveries/"},
	{"POST", "/deliveries/retry/"},
	{"GET", "/replay"},
	{"POST", "/replay"},
	{"GET", "/replay/"},
	{"POST", "/sandbox/send"},
	{"POST", "/sandbox/inbound"},
	{"POST", "/settings/webhooks/remove"},
	{"POST", "/signin"},
	{"GET", "/signin"},
	{"GET", "/settings/webhooks/endpoints/"},
	{"POST", "/settings/webhooks/endpoints/remove/"},
	{"POST", "/settings/webhooks/endpoints/disable/"},
	{"POST", "/operator/signin"},
	{"GET", "/operator"},
	{"POST", "/operator/signout"},
	{"POST", "/welcome"},
	{"GET", "/welcome"},
	{"POST", "/signin/reset"},
	{"POST", "/settings/members"},
	{"POST", "/settings/members/{id}/role"},
	{"POST", "/settings/members/{id}/link"},
	{"POST", "/settings/api-keys"},
	{"POST", "/settings/api-keys/{id}/revoke"},
	{"GET", "/settings/audit-log"},
	{"POST", "/settings/account/password"},
	{"POST", "/settings/account/sessions/{id}/revoke"},
}

// FuzzForms sends arbitrary queries, path ids and form bodies to every
// form of a signed-in dashboard: none may panic or answer 500.
func FuzzForms(f *testing.F) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(f.TempDir(), "fuzz.db")})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	now := func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	acc, err := accounts.Create(context.Background(), st, accounts.Params{Name: "Fuzz", Now: now()})
	if err != nil {
		f.Fatal(err)
	}
	const token = "fuzz-session-token-0123456789"
	// A session of the account's bootstrap key (--dashboard-key-signin): an
	// owner's rights.
	keys, err := st.APIKeys(context.Background(), acc.Account.ID)
	if err != nil || len(keys) != 1 {
		f.Fatal(err)
	}
	if err := st.CreateSession(context.Background(), store.Session{TokenHash: accounts.HashKey(token), AccountID: acc.Account.ID, KeyID: keys[0].ID,
		CreatedAt: now(), ExpiresAt: now().Add(time.Hour)}); err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const opToken = "fuzz-operator-token-0123456789"
	if err := st.CreateOperatorSession(context.Background(), store.OperatorSession{TokenHash: accounts.HashKey(opToken),
		KeyHash: accounts.HashKey(testAdminKey), CreatedAt: now(), ExpiresAt: now().Add(time.Hour)}); err != nil {
		f.Fatal(err)
	}
	p, err := server.Build(st, server.Options{Now: now, Waker: nopWaker{}, Log: log, Dashboard: dashboard.Config{AdminKey: testAdminKey, KeySignin: true}})
	if err != nil {
		f.Fatal(err)
	}
	h := p.Handler
	phone := acc.PhoneNumber.ID

	for i := range fuzzRoutes {
		f.Add(uint8(i), "", "", "")
	}
	f.Add(uint8(0), "state=failed&range=custom&since=2026-11-25T10:00&until=2026-11-25T09:00&before=dlv_9", "", "")
	f.Add(uint8(0), "range=1h&since=%ff&until=&before=dlv_-1", "", "")
	f.Add(uint8(1), "", "dlv_99999999999999999999", "")
	f.Add(uint8(4), "", "", "from=2026-11-24T12:00&to=2026-11-25T12:00&only_failed=on&confirm=yes")
	f.Add(uint8(4), "", "", "from=9999-99-99T99:99&to=")
	f.Add(uint8(6), "", "", "phone_number_id="+phone+"&to=254712340000&text=hi")
	f.Add(uint8(7), "", "", "phone_number_id="+phone+"&from=254712345678&name=Jane&type=interactive&reply_kind=list_reply&reply_id=a&reply_title=b")
	f.Add(uint8(7), "", "", "phone_number_id="+phone+"&from=254712345678&type=location&latitude=abc&longitude=1e999")
	f.Add(uint8(9), "next=//evil.example", "", "api_key="+strings.Repeat("k", 5000))
	f.Add(uint8(11), "flash=created", "wh_1", "")
	f.Add(uint8(12), "", "wh_99999999999999999999", "confirm=yes")
	f.Add(uint8(13), "", "wh_1", "return=endpoint")
	f.Add(uint8(14), "", "", "admin_key="+testAdminKey)
	f.Add(uint8(14), "", "", "admin_key=%zz&admin_key=x")
	f.Add(uint8(17), "", "", "token=abc&password=a+long+password&password_again=a+long+password")
	f.Add(uint8(17), "", "", "token="+strings.Repeat("t", 500)+"&password=%00%ff")
	f.Add(uint8(9), "", "", "email=a%40b.c&password=x&next=/settings")
	f.Add(uint8(9), "", "", "email="+strings.Repeat("e", 300)+"%40x.y&password=")
	f.Add(uint8(20), "", "", "email=new%40example.com&name=N&role=viewer")
	f.Add(uint8(20), "", "", "email=%22a%20b%22%40example.com&name=%0a&role=root")
	f.Add(uint8(21), "", "usr_0000000000000000", "role=owner")
	f.Add(uint8(23), "", "", "name=CI&scope=send")
	f.Add(uint8(25), "action=endpoint&actor=usr_1&before=-5", "", "")
	f.Add(uint8(26), "", "", "current_password=x&new_password=yyyyyyyyyyyy&new_password_again=yyyyyyyyyyyy")
	f.Fuzz(func(t *testing.T, route uint8, query, id, body string) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		path := rt.path
		if strings.HasSuffix(path, "/") {
			path += id
		}
		if strings.Contains(path, "{id}") {
			path = strings.Replace(path, "{id}", url.PathEscape(id), 1)
		}
		if rt.path == "/deliveries/retry/" {
			path = "/deliveries/" + id + "/retry"
		}
		if action, ok := strings.CutPrefix(rt.path, "/settings/webhooks/endpoints/"); ok && action != "" {
			path = "/settings/webhooks/endpoints/" + id + "/" + strings.TrimSuffix(action, "/")
		}
		req, err := http.NewRequest(rt.method, "http://dashboard.test"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: token})
		req.AddCookie(&http.Cookie{Name: dashboard.OperatorCookieName, Value: opToken})
		rec := httptest.NewRecorder()
		stuck := time.AfterFunc(5*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			panic(fmt.Sprintf("%s %s?%s with %q hangs:\n%s", rt.method, path, query, body, buf[:n]))
		})
		h.ServeHTTP(rec, req)
		stuck.Stop()
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s with %q: %d\n%s", rt.method, path, query, body, rec.Code, rec.Body.String())
		}
	})
}

type nopWaker struct{}

func (nopWaker) Wake() {}
