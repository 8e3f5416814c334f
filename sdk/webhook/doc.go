// Package webhook is the receiver side of Bahasha's webhooks: everything a
// business needs to serve the webhook URL it registers, in a few lines of Go.
//
// [Handler] serves both methods at one path, as the documentation requires:
// the GET verification handshake (hub.mode, hub.verify_token, hub.challenge)
// and the POSTs that carry delivery reports and customer replies. It checks
// the X-Hub-Signature-256 signature over the exact bytes received, parses the
// body with [whatsapp.Parse], answers 200 as fast as possible and hands each
// status and message to typed callbacks. [Mode] says whether the 200 comes
// before the callbacks (the default), after them (so a failure makes Bahasha
// retry), or once the notification is on a bounded queue.
//
// [Sign] and [VerifySignature] are the signature scheme on their own; Bahasha
// signs every delivery with this same Sign. A [SeenSet] suppresses the
// duplicates an at-least-once delivery can produce.
//
// Bahasha also signs every delivery the Standard Webhooks v1 way
// (https://www.standardwebhooks.com/): a webhook-id that retries keep, a
// webhook-timestamp per attempt and a webhook-signature, an HMAC-SHA256
// over the id, the timestamp and the body keyed with the endpoint's
// "whsec_" signing secret. Set [Handler.SigningSecret] to require it; the
// timestamp must then be within [DefaultTolerance] (five minutes) of the
// receiver's clock, which bounds replays. [SignStandard],
// [SetStandardHeaders] and [VerifyStandard] are that scheme on its own, and
// a [Verifier] does the Handler's checks, of either scheme or both, for a
// receiver that serves its own HTTP.
//
// The package uses only the standard library and package whatsapp. The
// package webhooktest builds signed requests and sample events for a
// receiver's own tests.
package webhook
