-- Accounts, their API keys (hashed) and phone numbers.
CREATE TABLE accounts (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	app_secret  TEXT NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
	key_hash    BLOB PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts(id),
	created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE phone_numbers (
	id                    TEXT PRIMARY KEY,
	account_id            TEXT NOT NULL REFERENCES accounts(id),
	waba_id               TEXT NOT NULL,
	display_phone_number  TEXT NOT NULL,
	sandbox               INTEGER NOT NULL,
	created_at            INTEGER NOT NULL
) STRICT;
CREATE INDEX phone_numbers_account ON phone_numbers(account_id, created_at);

-- One webhook endpoint per account. The lane_* columns make it a delivery
-- lane: lane_due_at is the earliest next attempt of its pending deliveries
-- (NULL when none), lane_leased_until the lease of the node working on it,
-- last_served_at the fairness order. The breaker: consecutive_failures
-- since the last success, and probe_at (0 when closed), before which an
-- open lane is not claimed.
CREATE TABLE endpoints (
	id                    INTEGER PRIMARY KEY,
	account_id            TEXT NOT NULL UNIQUE REFERENCES accounts(id),
	url                   TEXT NOT NULL,
	verify_token          TEXT NOT NULL,
	verified_at           INTEGER NOT NULL,
	created_at            INTEGER NOT NULL,
	lane_due_at           INTEGER,
	lane_leased_until     INTEGER NOT NULL DEFAULT 0,
	last_served_at        INTEGER NOT NULL DEFAULT 0,
	consecutive_failures  INTEGER NOT NULL DEFAULT 0,
	probe_at              INTEGER NOT NULL DEFAULT 0,
	failing_since         INTEGER NOT NULL DEFAULT 0
) STRICT;
-- Lanes with work, least recently served first: a claim walks this index.
CREATE INDEX endpoints_lane_fair ON endpoints(last_served_at, id) WHERE lane_due_at IS NOT NULL;

CREATE TABLE events (
	id                    INTEGER PRIMARY KEY,
	account_id            TEXT NOT NULL,
	producer_id           TEXT NOT NULL,
	kind                  TEXT NOT NULL,
	waba_id               TEXT NOT NULL,
	phone_number_id       TEXT NOT NULL,
	display_phone_number  TEXT NOT NULL,
	wamid                 TEXT NOT NULL,
	status                TEXT NOT NULL,
	message_type          TEXT NOT NULL,
	payload               BLOB NOT NULL,
	contact               BLOB,
	created_at            INTEGER NOT NULL,
	available_at          INTEGER NOT NULL,
	UNIQUE (account_id, producer_id)
) STRICT;

CREATE TABLE deliveries (
	id                INTEGER PRIMARY KEY,
	account_id        TEXT NOT NULL,
	endpoint_id       INTEGER NOT NULL,
	event_id          INTEGER NOT NULL REFERENCES events(id),
	wamid             TEXT NOT NULL DEFAULT '',
	status_rank       INTEGER NOT NULL DEFAULT 0,
	state             TEXT NOT NULL,
	attempts          INTEGER NOT NULL DEFAULT 0,
	next_attempt_at   INTEGER,
	window_start      INTEGER NOT NULL DEFAULT 0,
	last_status_code  INTEGER NOT NULL DEFAULT 0,
	last_error        TEXT NOT NULL DEFAULT '',
	last_attempt_at   INTEGER NOT NULL DEFAULT 0,
	last_duration_us  INTEGER NOT NULL DEFAULT 0,
	last_response     TEXT NOT NULL DEFAULT '',
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	delivered_at      INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX deliveries_due ON deliveries(endpoint_id, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_account ON deliveries(account_id, id);
CREATE INDEX deliveries_account_state ON deliveries(account_id, state, id);
-- The statuses of a message delivered to an endpoint, for the superseded rule.
CREATE INDEX deliveries_wamid ON deliveries(endpoint_id, wamid, status_rank) WHERE status_rank > 0 AND state = 'delivered';
-- Pending deliveries by window, for expiry.
CREATE INDEX deliveries_window ON deliveries(window_start) WHERE state = 'pending';
-- Finished deliveries by age, for retention.
CREATE INDEX deliveries_finished ON deliveries(updated_at) WHERE state != 'pending';

-- Every attempt but a first one that succeeded (the delivery row records
-- that one: most deliveries need no attempt row at all).
CREATE TABLE attempts (
	delivery_id    INTEGER NOT NULL REFERENCES deliveries(id),
	number         INTEGER NOT NULL,
	started_at     INTEGER NOT NULL,
	duration_us    INTEGER NOT NULL,
	status_code    INTEGER NOT NULL,
	error          TEXT NOT NULL,
	response_body  TEXT NOT NULL,
	PRIMARY KEY (delivery_id, number)
) STRICT, WITHOUT ROWID;
