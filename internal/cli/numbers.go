package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/store"
)

// runNumbers is bahasha numbers add: one of Meta's phone numbers attached
// to an account, in the database of a bahasha serve (also while it runs:
// Meta's webhooks for the number are routed to the account at once).
func runNumbers(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	const use = "usage: bahasha numbers add --account ACC --phone-number-id ID --waba-id ID --display-phone-number NUMBER [--data DIR | --database URL] [--json]"
	if len(args) == 0 || args[0] != "add" {
		return usagef(use)
	}
	fs := newFlags("numbers add", stderr)
	data := env("BAHASHA_DATA")
	if data == "" {
		data = "./bahasha-data"
	}
	account := fs.String("account", "", "the account (acc_…) the number is attached to (required)")
	pnid := fs.String("phone-number-id", "", "the number's phone_number_id, as Meta's WhatsApp Manager shows it (required)")
	waba := fs.String("waba-id", "", "the id of the WhatsApp Business Account the number is in (required)")
	display := fs.String("display-phone-number", "", "the number as customers see it, e.g. \"+1 555 078 3881\" (required)")
	fs.StringVar(&data, "data", data, "data folder of the bahasha serve (env BAHASHA_DATA)")
	database := fs.String("database", env("BAHASHA_DATABASE_URL"), "PostgreSQL URL of the bahasha serve nodes, instead of --data (env BAHASHA_DATABASE_URL)")
	asJSON := fs.Bool("json", false, "print the number as JSON")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	for _, f := range []struct{ flag, value string }{{"--account", *account}, {"--phone-number-id", *pnid}, {"--waba-id", *waba},
		{"--display-phone-number", *display}} {
		if strings.TrimSpace(f.value) == "" {
			return usagef("%s is required; %s", f.flag, strings.TrimPrefix(use, "usage: "))
		}
	}
	st, err := openCLIStore(ctx, data, *database)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := accounts.AddLiveNumber(ctx, st, accounts.LiveNumberParams{AccountID: *account, PhoneNumberID: *pnid, WABAID: *waba,
		DisplayPhoneNumber: *display, Now: time.Now()})
	switch {
	case errors.Is(err, accounts.ErrInvalid):
		return usagef("%s", strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("there is no account %s; create it with bahasha accounts create", *account)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("phone number %s is attached already, or WABA %s is another account's (a WABA's numbers belong to one account)", *pnid, *waba)
	case err != nil:
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"account_id": n.AccountID, "phone_number": map[string]any{"id": n.ID,
			"waba_id": n.WABAID, "display_phone_number": n.DisplayPhoneNumber, "sandbox": false}})
	}
	fmt.Fprintf(stdout, "Attached %s (phone_number_id %s, WABA %s) to account %s: Meta's webhooks for it go to that account.\n",
		n.DisplayPhoneNumber, n.ID, n.WABAID, n.AccountID)
	return nil
}
