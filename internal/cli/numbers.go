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
	"github.com/bahasha/bahasha/internal/tokenbox"
)

// runNumbers is bahasha numbers add: one of Meta's phone numbers attached
// to an account, in the database of a bahasha serve (also while it runs:
// Meta's webhooks for the number are routed to the account at once).
func runNumbers(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	const use = "usage: bahasha numbers add --account ACC --phone-number-id ID --waba-id ID --display-phone-number NUMBER [--access-token T] [--data DIR | --database URL] [--json], " +
		"or bahasha numbers set-token --account ACC --phone-number-id ID --access-token T"
	if len(args) == 0 || (args[0] != "add" && args[0] != "set-token") {
		return usagef(use)
	}
	setToken := args[0] == "set-token"
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
	token := fs.String("access-token", env("BAHASHA_ACCESS_TOKEN"), "the number's Graph API access token, kept encrypted with BAHASHA_TOKEN_KEY (prefer env BAHASHA_ACCESS_TOKEN: a flag shows in the process list)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	required := []struct{ flag, value string }{{"--account", *account}, {"--phone-number-id", *pnid}}
	if setToken {
		required = append(required, struct{ flag, value string }{"--access-token", *token})
	} else {
		required = append(required, struct{ flag, value string }{"--waba-id", *waba}, struct{ flag, value string }{"--display-phone-number", *display})
	}
	var box *tokenbox.Box
	if *token != "" {
		b, err := tokenbox.New(env("BAHASHA_TOKEN_KEY"))
		if err != nil {
			return usagef("an access token is kept encrypted: set BAHASHA_TOKEN_KEY, the same value as bahasha serve's (%v)", err)
		}
		box = b
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return usagef("%s is required; %s", f.flag, strings.TrimPrefix(use, "usage: "))
		}
	}
	st, err := openCLIStore(ctx, data, *database)
	if err != nil {
		return err
	}
	defer st.Close()
	if setToken {
		if err := tokenError(accounts.SetAccessToken(ctx, st, box, *account, *pnid, *token), *account, *pnid); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Set the access token of %s; it is used from the next request on.\n", *pnid)
		return nil
	}
	if *token != "" {
		if err := accounts.CheckAccessToken(*token); err != nil {
			return usagef("%s", strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": "))
		}
	}
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
	if *token != "" {
		if err := tokenError(accounts.SetAccessToken(ctx, st, box, n.AccountID, n.ID, *token), n.AccountID, n.ID); err != nil {
			return err
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"account_id": n.AccountID, "phone_number": map[string]any{"id": n.ID,
			"waba_id": n.WABAID, "display_phone_number": n.DisplayPhoneNumber, "sandbox": false}})
	}
	fmt.Fprintf(stdout, "Attached %s (phone_number_id %s, WABA %s) to account %s: Meta's webhooks for it go to that account.\n",
		n.DisplayPhoneNumber, n.ID, n.WABAID, n.AccountID)
	return nil
}

// tokenError words SetAccessToken's errors for the command line.
func tokenError(err error, account, pnid string) error {
	switch {
	case errors.Is(err, accounts.ErrInvalid):
		return usagef("%s", strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("account %s has no phone number %s; attach it with bahasha numbers add", account, pnid)
	}
	return err
}
