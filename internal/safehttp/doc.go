// Package safehttp is the HTTP client Bahasha uses to reach businesses'
// webhook URLs: event deliveries and the registration handshake. It is built
// so that a URL entered by a customer cannot make Bahasha talk to anything
// but a public internet server (server-side request forgery).
//
// # Contract
//
//   - Every connection is checked at dial time, against the IP address
//     actually being connected to (net.Dialer.Control), so DNS rebinding and
//     names that resolve to internal addresses cannot get around the check.
//     Loopback, private, link-local (including cloud metadata), CGNAT,
//     unique-local, multicast, broadcast, documentation, benchmarking and
//     reserved ranges are refused with an error wrapping [ErrPrivateAddress];
//     see [CheckAddr] for the full list.
//   - Only https URLs are used; [ValidateURL] rejects anything else up front
//     with a message that tells the user how to fix the URL, and [Client.Do]
//     applies the same checks to every request.
//   - Environment proxies are never used, redirects are never followed (a 3xx
//     is returned to the caller as the response), TLS 1.2 is the minimum, and
//     each request is bounded by [Config.Timeout].
//   - Response bodies are read only up to [Config.MaxResponseBytes]
//     ([Client.ReadBody]); a bounded remainder is drained so connections are
//     reused.
//   - [Classify] maps any error from [Client.Do] to one of the [Reason]
//     values shown to users as details.reason.
//
// # Transport
//
// Requests go through one net/http Transport configured for these rules:
// the guarded dialer, no proxy, TLS 1.2 or later offering only http/1.1
// (HTTP/2 is off), response headers capped at 64 KiB, no compression, and
// kept-alive connections reused (at most [Config.MaxIdleConnsPerHost] idle
// per host, closed after 90s idle). When a kept-alive connection that the
// server closed while idle answers nothing, net/http sends a replayable
// request again on another connection (while the failures are on reused
// ones, then on a new one): a GET, or a request with an
// X-Idempotency-Key (or Idempotency-Key) header and a GetBody, as every
// delivery has.
//
// [Config.AllowPrivate] lifts the address and scheme restrictions (http://,
// loopback, private networks). It exists for local development and tests and
// must never be set in production.
package safehttp
