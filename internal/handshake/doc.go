// Package handshake is Bahasha's side of the webhook registration
// handshake: the one GET that proves a business controls the URL it
// registered before any event is delivered to it.
//
// # Contract
//
// The public documentation ("How verification works") promises this, and
// [Verifier.Verify] does exactly it:
//
//   - Bahasha sends one GET to the registered URL with three query
//     parameters added: hub.mode=subscribe, hub.verify_token=<the token the
//     business entered> and hub.challenge=<a fresh random string>. Query
//     parameters the URL already has are kept verbatim (except hub.mode,
//     hub.verify_token and hub.challenge themselves, which are replaced).
//     The request carries Accept: text/plain and the client's User-Agent.
//   - The webhook is verified only when the answer is HTTP 200 and the body
//     is exactly the challenge: no quotes, no JSON, no whitespace or
//     newline. Any other answer fails: 401 or 403 is [TokenRejected], any
//     other status (including a 3xx, since redirects are not followed) is
//     [WrongStatus], a 200 with another body is [BodyMismatch].
//   - The request goes through the SSRF-safe [safehttp.Client]: https only,
//     public addresses only (checked when dialling), bounded by the client's
//     timeout, and at most [MaxBodyBytes] of the answer is read.
//
// Every failure comes back as a [Result] whose Reason is machine-readable
// and whose Message tells the business, in one or two sentences, what its
// endpoint did and how to fix it (e.g. `return res.send(challenge)` rather
// than `res.json(challenge)`). [Diagnose] is the pure part of that: it turns
// a status code and body into a Reason and Message.
//
// The verification token is a secret. It is sent only in the request's
// query string; Result.Request shows it as hub.verify_token=*** and it is
// redacted from Result.Got and every Message. The package logs nothing.
package handshake
