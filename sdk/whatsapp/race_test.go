//go:build race

package whatsapp

// raceEnabled says that the tests run with the race detector, which slows
// encoding/json about tenfold; the variant tests then sample their inputs
// (the decoder shares no state between calls, so the race detector has
// nothing to find in them).
const raceEnabled = true
