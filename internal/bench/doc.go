// Package bench is bahasha bench: it measures the real platform end to end.
//
// Run starts the platform as a child process of the bahasha binary (bahasha
// serve on 127.0.0.1:0 with a temporary data folder), starts loopback sink
// servers built with the public webhook SDK (so every delivery's signature is
// verified, as a customer's receiver would), creates one account per sink
// through the admin API and registers each sink with the real handshake. It
// then drives status events through the real ingest API, POST /v1/events, at
// a paced or unbounded rate, waits for the healthy sinks to receive every
// acknowledged event, and reports:
//
//   - ingest events/s and delivered events/s (delivered events over the time
//     from the first acknowledgement to the last receipt);
//   - p50/p95/p99 latency from an event's ingest acknowledgement (its POST's
//     202) to its first receipt at the sink; an event received before its
//     acknowledgement returned counts as 0;
//   - the platform process's CPU seconds per 1,000 delivered events and its
//     peak RSS, read from /proc before it is killed;
//   - duplicates received, and events lost: acknowledged but never received
//     by a healthy sink. Lost must be 0; Run returns ErrLost otherwise.
//
// Before the platform starts, Run measures the raw loopback POST ceiling of
// the machine (a trivial net/http server and 64 keep-alive clients), so each
// throughput figure is also reported as a ratio to the physical limit of the
// same machine at the same moment.
//
// Sinks come in four classes, chosen per endpoint by Config's fractions:
// healthy (answers at once), slow (answers after 100 ms), hanging (never
// answers: the platform's attempt timeout ends each attempt) and failing
// (answers 500). In a mixed scenario the figures are reported for all
// endpoints and again for the healthy endpoints alone.
//
// With Hold (--hold), every sink holds each delivery POST, unanswered,
// until ingest ends, and serve's attempt timeout is raised to outlast ingest:
// the events pile up as pending deliveries in the platform's store, and the
// drain phase measures draining that backlog (backlog_peak, drain_per_s,
// and peak RSS). Latencies then measure the hold, and the report says so.
//
// Every run is bounded in time (Duration for ingest, Drain for delivery) and
// in count (Events), and the child is killed and its data folder removed
// however Run ends.
package bench
