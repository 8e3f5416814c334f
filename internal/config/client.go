package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// DefaultAPIURL is the platform the client commands talk to by default: a
// bahasha serve on this machine.
const DefaultAPIURL = "http://localhost:8080"

// Client configures the commands that are clients of a running platform's
// public HTTP API (bahasha trigger, bahasha listen): where the platform is
// and the account's API key.
type Client struct {
	// APIURL is the platform's base URL (http:// or https://, with a host,
	// optionally a path prefix). Default "http://localhost:8080". Flag
	// --api, env BAHASHA_API_URL.
	APIURL string
	// APIKey is the account's API key, sent as Authorization: Bearer.
	// Required; no default. Flag --api-key, env BAHASHA_API_KEY (prefer
	// the environment: a flag shows in the process list).
	APIKey string
}

// DefaultClient returns the defaults.
func DefaultClient() Client { return Client{APIURL: DefaultAPIURL} }

// Validate reports the first problem with c, in words that name the flag
// and the environment variable.
func (c Client) Validate() error {
	u, err := url.Parse(c.APIURL)
	switch {
	case strings.TrimSpace(c.APIURL) == "":
		return errors.New("--api (BAHASHA_API_URL) must not be empty; give the platform's URL, e.g. " + DefaultAPIURL)
	case err != nil:
		return fmt.Errorf("--api (BAHASHA_API_URL) %q is not a URL; give the platform's URL, e.g. %s", c.APIURL, DefaultAPIURL)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("--api (BAHASHA_API_URL) %q must start with http:// or https://, e.g. %s", c.APIURL, DefaultAPIURL)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("--api (BAHASHA_API_URL) %q has no host; give the platform's URL, e.g. %s", c.APIURL, DefaultAPIURL)
	case u.User != nil:
		return fmt.Errorf("--api (BAHASHA_API_URL) must not carry a user or password; the API key goes in BAHASHA_API_KEY")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("--api (BAHASHA_API_URL) %q must not have a query or fragment; give the platform's base URL, e.g. %s", c.APIURL, DefaultAPIURL)
	case strings.TrimSpace(c.APIKey) == "":
		return errors.New("no API key: set BAHASHA_API_KEY (or --api-key) to the key printed when the account was created")
	case strings.ContainsAny(c.APIKey, " \t\r\n"):
		return errors.New("the API key (BAHASHA_API_KEY or --api-key) must not contain spaces or line breaks")
	}
	return nil
}

// BaseURL is APIURL without a trailing slash, ready for "/v1/…" paths.
func (c Client) BaseURL() string { return strings.TrimRight(c.APIURL, "/") }
