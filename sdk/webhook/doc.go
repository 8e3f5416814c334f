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
// The package uses only the standard library and package whatsapp. The
// package webhooktest builds signed requests and sample events for a
// receiver's own tests.
package webhook
