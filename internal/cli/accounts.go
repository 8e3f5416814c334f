package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/api"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/postgres"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

func runAccounts(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "add-owner" {
		return runAddOwner(ctx, args[1:], env, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "create" {
		return usagef("usage: bahasha accounts create --name NAME [--owner-email EMAIL] [--data DIR | --database URL] [--json]\n" +
			"       bahasha accounts add-owner --account acc_… --email EMAIL [--name NAME] [--data DIR | --database URL]")
	}
	fs := newFlags("accounts create", stderr)
	data := env("BAHASHA_DATA")
	if data == "" {
		data = "./bahasha-data"
	}
	name := fs.String("name", "", "the business's name (required)")
	fs.StringVar(&data, "data", data, "data folder of the bahasha serve to add the account to (env BAHASHA_DATA)")
	asJSON := fs.Bool("json", false, "print the new account as JSON")
	ownerEmail := fs.String("owner-email", "", "email of the account's first owner, who gets a one-time link to set their password")
	ownerName := fs.String("owner-name", "", "name of the first owner")
	publicURL := fs.String("public-url", env("BAHASHA_PUBLIC_URL"), "the address users open serve at, for the owner's link (env BAHASHA_PUBLIC_URL)")
	database := fs.String("database", env("BAHASHA_DATABASE_URL"), "PostgreSQL URL of the bahasha serve nodes, instead of --data (env BAHASHA_DATABASE_URL)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usagef("--name is required: bahasha accounts create --name \"Acme Ltd\"")
	}
	owner := ""
	if *ownerEmail != "" {
		var err error
		if owner, err = access.NormalizeEmail(*ownerEmail); err != nil {
			return usagef("--owner-email: %s", strings.TrimPrefix(err.Error(), "invalid_request: "))
		}
	}
	st, err := openCLIStore(ctx, data, *database)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := accounts.Create(ctx, st, accounts.Params{Name: *name, OwnerEmail: owner, OwnerName: *ownerName, Now: time.Now()})
	if err != nil {
		return err
	}
	out := api.CreatedAccountJSON(c)
	link := ""
	if c.Owner.ID != "" {
		svc := access.New(access.Config{}, st, time.Now, nil, nil)
		token, err := svc.OwnerLink(ctx, c.Owner)
		if err != nil {
			return err
		}
		svc.Record(ctx, access.Operator, c.Account.ID, "member.invited", c.Owner.ID, map[string]any{"email": owner, "role": "owner"})
		link = access.LinkURL(cmp.Or(*publicURL, "http://localhost:8080"), nil, token)
		out["owner"] = map[string]any{"id": c.Owner.ID, "email": c.Owner.Email, "role": c.Owner.Role, "invite_url": link}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "Created account %s (%s) with sandbox number %s (phone_number_id %s).\nAPI key (shown once, store it now): %s\n",
		c.Account.ID, c.Account.Name, c.PhoneNumber.DisplayPhoneNumber, c.PhoneNumber.ID, c.APIKey)
	if link != "" {
		fmt.Fprintf(stdout, "Owner %s: set the password at %s (works once, for 7 days).\n", c.Owner.Email, link)
	}
	return nil
}

// openCLIStore opens the database of a bahasha serve for a short command:
// PostgreSQL at database, else the SQLite file in the data folder (which
// serve must have created).
func openCLIStore(ctx context.Context, data, database string) (store.Store, error) {
	if database != "" {
		pg, err := postgres.Open(ctx, postgres.Config{URL: database})
		if err != nil {
			return nil, fmt.Errorf("cannot use the PostgreSQL database: %w", err)
		}
		return pg, nil
	}
	path := filepath.Join(data, "bahasha.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("there is no Bahasha database in %s; check --data (or BAHASHA_DATA), or start bahasha serve --data %s once to create it", data, data)
	}
	lite, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		return nil, fmt.Errorf("cannot open the database in %s: %w", data, err)
	}
	return lite, nil
}

// runAddOwner adds an owner to an existing account (one made before
// members, or whose owners are all gone) and prints their one-time link.
func runAddOwner(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := newFlags("accounts add-owner", stderr)
	data := cmp.Or(env("BAHASHA_DATA"), "./bahasha-data")
	account := fs.String("account", "", "the account's id, acc_… (required)")
	email := fs.String("email", "", "the new owner's email (required)")
	name := fs.String("name", "", "the new owner's name")
	fs.StringVar(&data, "data", data, "data folder of the bahasha serve (env BAHASHA_DATA)")
	database := fs.String("database", env("BAHASHA_DATABASE_URL"), "PostgreSQL URL of the bahasha serve nodes, instead of --data (env BAHASHA_DATABASE_URL)")
	publicURL := fs.String("public-url", env("BAHASHA_PUBLIC_URL"), "the address users open serve at, for the link (env BAHASHA_PUBLIC_URL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *account == "" || *email == "" {
		return usagef("--account and --email are required: bahasha accounts add-owner --account acc_… --email ops@example.com")
	}
	st, err := openCLIStore(ctx, data, *database)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Account(ctx, *account); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("there is no account %s; bahasha accounts create makes one", *account)
		}
		return err
	}
	u, token, err := access.New(access.Config{}, st, time.Now, nil, nil).Invite(ctx, access.Operator,
		access.InviteParams{AccountID: *account, Email: *email, Name: *name, Role: bahasha.RoleOwner})
	if err != nil {
		return errors.New(problem.Classify(err).Message)
	}
	fmt.Fprintf(stdout, "Owner %s added to %s: set the password at %s (works once, for 7 days).\n", u.Email, *account,
		access.LinkURL(cmp.Or(*publicURL, "http://localhost:8080"), nil, token))
	return nil
}
