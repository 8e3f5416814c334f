-- Retention and replay find an event's delivery by its event id.
CREATE INDEX deliveries_event ON deliveries(event_id);
-- Replay finds an account's events by ingest time.
CREATE INDEX events_account_created ON events(account_id, created_at);

-- Replays: the events of an account ingested in [from_at, to_at) (event ids
-- first_event_id..last_event_id), queued in chunks after cursor.
CREATE TABLE replays (
	id              INTEGER PRIMARY KEY,
	account_id      TEXT NOT NULL,
	from_at         INTEGER NOT NULL,
	to_at           INTEGER NOT NULL,
	only_failed     INTEGER NOT NULL,
	first_event_id  INTEGER NOT NULL,
	last_event_id   INTEGER NOT NULL,
	cursor          INTEGER NOT NULL,
	total           INTEGER NOT NULL,
	queued          INTEGER NOT NULL DEFAULT 0,
	queuing_done    INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX replays_account ON replays(account_id, id);
CREATE INDEX replays_queuing ON replays(id) WHERE queuing_done = 0;
-- The replay that last queued a delivery, for its progress.
ALTER TABLE deliveries ADD COLUMN replay_id INTEGER;
CREATE INDEX deliveries_replay ON deliveries(replay_id, state) WHERE replay_id IS NOT NULL;

-- Delivery statistics per account and minute; l0..l18 is the latency
-- histogram over bahasha.LatencyBounds.
CREATE TABLE delivery_stats (
	account_id       TEXT NOT NULL,
	minute           INTEGER NOT NULL,
	delivered        INTEGER NOT NULL DEFAULT 0,
	failed           INTEGER NOT NULL DEFAULT 0,
	superseded       INTEGER NOT NULL DEFAULT 0,
	attempts_ok      INTEGER NOT NULL DEFAULT 0,
	attempts_failed  INTEGER NOT NULL DEFAULT 0,
	l0 INTEGER NOT NULL DEFAULT 0, l1 INTEGER NOT NULL DEFAULT 0, l2 INTEGER NOT NULL DEFAULT 0,
	l3 INTEGER NOT NULL DEFAULT 0, l4 INTEGER NOT NULL DEFAULT 0, l5 INTEGER NOT NULL DEFAULT 0,
	l6 INTEGER NOT NULL DEFAULT 0, l7 INTEGER NOT NULL DEFAULT 0, l8 INTEGER NOT NULL DEFAULT 0,
	l9 INTEGER NOT NULL DEFAULT 0, l10 INTEGER NOT NULL DEFAULT 0, l11 INTEGER NOT NULL DEFAULT 0,
	l12 INTEGER NOT NULL DEFAULT 0, l13 INTEGER NOT NULL DEFAULT 0, l14 INTEGER NOT NULL DEFAULT 0,
	l15 INTEGER NOT NULL DEFAULT 0, l16 INTEGER NOT NULL DEFAULT 0, l17 INTEGER NOT NULL DEFAULT 0,
	l18 INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, minute)
) STRICT, WITHOUT ROWID;
CREATE INDEX delivery_stats_minute ON delivery_stats(minute);

-- Dashboard sessions: the cookie holds the token, this only its hash.
CREATE TABLE sessions (
	token_hash  BLOB PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts(id),
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_expiry ON sessions(expires_at);

-- Due deliveries go out in ingest order, which is event order (a replay
-- creates new deliveries for old events).
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(endpoint_id, next_attempt_at, event_id) WHERE state = 'pending';
