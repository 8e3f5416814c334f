package cli

import (
	"context"
	"io"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/config"
	"github.com/bahasha/bahasha/internal/listen"
)

// runListen runs bahasha listen: a listen session forwarding the
// account's events to a local server, until ctx ends.
func runListen(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	cfg := config.DefaultClient()
	fs := newFlags("listen", stderr)
	if err := bindSettings(fs, clientSettings(&cfg), env); err != nil {
		return err
	}
	host, _ := os.Hostname()
	c := listen.Client{Out: stdout}
	var events, format string
	fs.StringVar(&c.ForwardTo, "forward-to", "", "the local receiver's URL, e.g. http://localhost:3000/webhook (required)")
	fs.StringVar(&c.Name, "name", sessionName(host), "the session's name: the next listen with the same name receives what arrived meanwhile")
	fs.StringVar(&events, "events", "", "only these events: statuses, messages (comma-separated; default all)")
	fs.StringVar(&c.PhoneNumberID, "phone-number-id", "", "only the events of this phone number")
	fs.StringVar(&c.VerifyToken, "verify-token", "", "run the GET verification handshake against --forward-to with this token first")
	fs.StringVar(&format, "format", "text", "output: text, or json (one object per line)")
	fs.BoolVar(&c.PrintSecret, "print-secret", false, "print the app secret (and the session's signing secret) for your receiver")
	fs.DurationVar(&c.Timeout, "timeout", 0, "how long the local server may take to answer a POST (default and at most: what the platform's attempt timeout leaves, about 9s)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("bahasha listen takes no arguments (got %q); use --forward-to URL", oneLineValue(rest[0]))
	}
	if c.ForwardTo == "" {
		return usagef("--forward-to is required: the URL of your local webhook handler, e.g. --forward-to http://localhost:3000/webhook")
	}
	if u, err := url.Parse(c.ForwardTo); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--forward-to %q must be an http:// or https:// URL, e.g. http://localhost:3000/webhook", oneLineValue(c.ForwardTo))
	}
	if events != "" {
		c.Events = strings.Split(events, ",")
		if err := bahasha.ValidateEvents(c.Events); err != nil {
			return usagef("--events: %v", err)
		}
	}
	switch format {
	case "text":
	case "json":
		c.JSON = true
	default:
		return usagef("--format must be text or json, not %q", oneLineValue(format))
	}
	if !listen.ValidName(c.Name) {
		return usagef("--name must be %s", listen.NameRule)
	}
	if c.Timeout < 0 {
		return usagef("--timeout must be positive")
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	c.APIURL, c.APIKey = strings.TrimSuffix(cfg.APIURL, "/"), cfg.APIKey
	return c.Run(ctx)
}

// sessionName is the default --name: the host name, as a session name
// may hold it.
func sessionName(host string) string {
	name := strings.Map(func(r rune) rune {
		if !listen.ValidName(string(r)) {
			return '-'
		}
		return r
	}, host)
	if name == "" {
		name = "local"
	}
	for len(name) > 1 && (len(name) > listen.MaxNameLength || !utf8.ValidString(name)) {
		name = name[:min(len(name), listen.MaxNameLength)-1]
	}
	return name
}
