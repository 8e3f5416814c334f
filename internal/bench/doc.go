// Package bench is bahasha bench: it measures the real platform end to end.
//
// Run starts the platform as a child process of the bahasha binary (bahasha
// serve on 127.0.0.1:0 with a temporary data folder), starts loopback sink
// servers built with the public webhook SDK (so every delivery's signature is
// verified, as a customer's receiver would), creates one account per
// endpoint through the admin API and registers its sink with the real
// handshake. With Fanout N (--fanout) each account has N webhook endpoints,
// each with its own sink server: the first registered with PUT /v1/webhook,
// the others with POST /v1/webhooks, all of account scope and unfiltered, so
// that the platform delivers every event N times, once to each (one event,
// N deliveries). It then drives status events through the real ingest API,
// POST /v1/events, at a paced or unbounded rate — one POST per batch
// whatever N, so fan-out does not change what ingest is asked to do —
// waits for the healthy sinks to receive every acknowledged event, and
// reports:
//
//   - ingest events/s, deliveries/s ("delivered_per_s": copies received
//     over the time from the first acknowledgement to the last receipt) and
//     events/s ("events_per_s": events received by all N endpoints of
//     their account, over the time to the last receipt that completed
//     one); with N = 1 a delivery is an event and the two are equal;
//   - p50/p95/p99 latency from an event's ingest acknowledgement (its POST's
//     202) to each copy's first receipt at its sink, over every copy; an
//     event received before its acknowledgement returned counts as 0; and
//     with N > 1 the p50/p99 to the last copy ("complete_p50_ms",
//     "complete_p99_ms");
//   - the ingest POSTs' p50/p99 time to their 202 ("ingest_ack_p50_ms",
//     "ingest_ack_p99_ms");
//   - the platform process's CPU seconds per 1,000 deliveries
//     ("cpu_s_per_1k") and per 1,000 events ("cpu_s_per_1k_events"), and
//     its peak RSS, read from /proc before it is killed;
//   - duplicates received (a copy received again by the same sink),
//     misrouted events (received by a sink of another account) and
//     deliveries lost: acknowledged but never received by a healthy sink.
//     Lost must be 0; Run returns ErrLost otherwise.
//
// In the JSON result "fanout" is N, "endpoints" the accounts, "sinks" (in
// each set of figures) their webhook endpoints, "delivered" and
// "events_delivered" the deliveries and the events complete at all N, and
// "delivered_per_copy" how many events the k-th endpoints of the accounts
// received, for each k.
//
// Before the platform starts, Run measures the raw loopback POST ceiling of
// the machine (a trivial net/http server and 64 keep-alive clients), so each
// throughput figure is also reported as a ratio to the physical limit of the
// same machine at the same moment.
//
// Sinks come in four classes, chosen per endpoint (account) by Config's
// fractions: healthy (answers at once), slow (answers after 100 ms), hanging
// (never answers: the platform's attempt timeout ends each attempt) and
// failing (answers 500); with Fanout > 1 all the sinks of an account are of
// its class. In a mixed scenario the figures are reported for all
// endpoints and again for the healthy endpoints alone.
//
// With Hold (--hold), every sink holds each delivery POST, unanswered,
// until ingest ends, and serve's attempt timeout is raised to outlast ingest:
// the events pile up as pending deliveries in the platform's store, and the
// drain phase measures draining that backlog (backlog_peak and drain_per_s,
// both in deliveries, and peak RSS). Latencies then measure the hold, and
// the report says so.
//
// Every run is bounded in time (Duration for ingest, Drain for delivery) and
// in count (Events), and the child is killed and its data folder removed
// however Run ends.
package bench
