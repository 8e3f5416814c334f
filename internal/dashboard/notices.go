package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// maxNotices is how many operational events the pages show.
const maxNotices = 5

// noticeView is an operational event as the pages show it.
type noticeView struct {
	Type     string
	At       time.Time
	Endpoint string
	// Text says what happened, in a sentence.
	Text string
	// Bad: a problem (failing, disabled, exhausted, verification failed)
	// rather than good news.
	Bad bool
}

// notices are the account's latest operational events, newest first.
func (d *Dashboard) notices(ctx context.Context, accountID string) ([]noticeView, error) {
	evs, err := d.store.RecentNotices(ctx, accountID, maxNotices)
	if err != nil {
		return nil, err
	}
	var out []noticeView
	for _, e := range evs {
		var n struct {
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(e.Payload, &n) // stored by Bahasha; a bad one shows its type alone
		str := func(k string) string { s, _ := n.Data[k].(string); return s }
		v := noticeView{Type: e.MessageType, At: e.CreatedAt, Endpoint: str("endpoint_id"), Bad: true}
		switch e.MessageType {
		case bahasha.NoticeEndpointFailing:
			v.Text = "is failing: its breaker opened, one request at a time probes it. Last error: " + str("last_error")
		case bahasha.NoticeEndpointRecovered:
			v.Text, v.Bad = "recovered: its deliveries flow again.", false
		case bahasha.NoticeEndpointDisabled:
			v.Text = "was disabled (" + str("reason") + "): its pending deliveries wait until you enable it."
		case bahasha.NoticeEndpointEnabled:
			v.Text, v.Bad = "was enabled again: its waiting deliveries flow, in order.", false
		case bahasha.NoticeDeliveryExhausted:
			count, _ := n.Data["count"].(float64)
			v.Text = fmt.Sprintf("gave up %d deliveries at the end of their retry window. Last error: %s", int(count), str("last_error"))
		case bahasha.NoticeEndpointVerificationFailed:
			v.Text = "failed its verification handshake: " + str("message")
		default:
			v.Text = e.MessageType
		}
		out = append(out, v)
	}
	return out, nil
}
