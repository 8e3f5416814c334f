package whatsapp_test

import (
	"testing"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func TestStatusRank(t *testing.T) {
	order := []whatsapp.StatusValue{whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead, whatsapp.StatusPlayed}
	for i := 1; i < len(order); i++ {
		if order[i-1].Rank() >= order[i].Rank() {
			t.Errorf("%s (%d) does not rank below %s (%d)", order[i-1], order[i-1].Rank(), order[i], order[i].Rank())
		}
	}
	for _, final := range []whatsapp.StatusValue{whatsapp.StatusFailed, whatsapp.StatusDeleted} {
		if final.Rank() <= whatsapp.StatusPlayed.Rank() {
			t.Errorf("%s is not final: rank %d", final, final.Rank())
		}
	}
	for _, outside := range []whatsapp.StatusValue{whatsapp.StatusWarning, "", "future_status"} {
		if outside.Rank() != 0 {
			t.Errorf("%q ranks %d, want 0", outside, outside.Rank())
		}
	}
}
