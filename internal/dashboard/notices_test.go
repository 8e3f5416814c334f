package dashboard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// The Overview and Settings → Webhooks show the account's latest
// operational events as notices, newest first, and only its own.
func TestNotices(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	for _, path := range []string{"/", "/settings/webhooks"} {
		if r := f.get(path, token); strings.Contains(r.Body, `id="notices"`) {
			t.Fatalf("%s shows notices before there are any", path)
		}
	}
	at := f.clock.Now()
	failing, _ := bahasha.NewNotice(f.acc.Account.ID, bahasha.NoticeEndpointFailing, at, map[string]any{"endpoint_id": "wh_1", "last_error": "the endpoint answered 500"})
	disabled, _ := bahasha.NewNotice(f.acc.Account.ID, bahasha.NoticeEndpointDisabled, at.Add(time.Second), map[string]any{"endpoint_id": "wh_1", "reason": "the endpoint answered 410 Gone"})
	theirs, _ := bahasha.NewNotice(f.other.Account.ID, bahasha.NoticeEndpointRecovered, at, map[string]any{"endpoint_id": "wh_9"})
	ctx := context.Background()
	if err := f.st.AddNotices(ctx, []bahasha.Event{failing, disabled, theirs}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.FlushNotices(ctx, store.FlushNoticesParams{Limit: 10, Now: at}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/settings/webhooks"} {
		r := f.get(path, token)
		expect(t, r, http.StatusOK, `id="notices"`, `data-type="endpoint.disabled"`, "the endpoint answered 410 Gone",
			`data-type="endpoint.failing"`, "Last error: the endpoint answered 500", `href="/settings/webhooks/endpoints/wh_1"`)
		if strings.Index(r.Body, "endpoint.disabled") > strings.Index(r.Body, "endpoint.failing") {
			t.Errorf("%s: the notices are not newest first", path)
		}
		if strings.Contains(r.Body, "wh_9") || strings.Contains(r.Body, "endpoint.recovered") {
			t.Errorf("%s shows another account's notice", path)
		}
	}
}
