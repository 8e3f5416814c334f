-- Many endpoints per account. The table is rebuilt without the UNIQUE
-- (account_id) of 0001 (SQLite cannot drop a constraint), keeping every
-- column, lane and breaker state; the account's one endpoint becomes its
-- primary endpoint (PUT /v1/webhook), at account scope, with no filter.
-- Its Standard Webhooks secret is drawn when the store opens (SQL has no
-- source of secure randomness to encode one).
--
-- scope_kind is 'account', 'waba' or 'phone_number' and scope_id the WABA
-- or phone number id ('' for the account). events is a JSON array of
-- filter names ([] for everything), headers a JSON object of custom
-- headers. rate_limit is events per second (0 for none). secret signs the
-- Standard Webhooks headers; prev_secret too, until prev_secret_until.
CREATE TABLE endpoints_new (
	id                    INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id            TEXT NOT NULL REFERENCES accounts(id),
	url                   TEXT NOT NULL,
	verify_token          TEXT NOT NULL,
	verified_at           INTEGER NOT NULL,
	created_at            INTEGER NOT NULL,
	lane_due_at           INTEGER,
	lane_leased_until     INTEGER NOT NULL DEFAULT 0,
	last_served_at        INTEGER NOT NULL DEFAULT 0,
	consecutive_failures  INTEGER NOT NULL DEFAULT 0,
	probe_at              INTEGER NOT NULL DEFAULT 0,
	failing_since         INTEGER NOT NULL DEFAULT 0,
	retry_requested_at    INTEGER NOT NULL DEFAULT 0,
	claim_last_due        INTEGER NOT NULL DEFAULT 0,
	claim_last_event      INTEGER NOT NULL DEFAULT 0,
	paused_until          INTEGER NOT NULL DEFAULT 0,
	scope_kind            TEXT NOT NULL DEFAULT 'account',
	scope_id              TEXT NOT NULL DEFAULT '',
	events                TEXT NOT NULL DEFAULT '[]',
	headers               TEXT NOT NULL DEFAULT '{}',
	rate_limit            INTEGER NOT NULL DEFAULT 0,
	enabled               INTEGER NOT NULL DEFAULT 1,
	is_primary            INTEGER NOT NULL DEFAULT 0,
	description           TEXT NOT NULL DEFAULT '',
	secret                TEXT NOT NULL DEFAULT '',
	prev_secret           TEXT NOT NULL DEFAULT '',
	prev_secret_until     INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO endpoints_new (id, account_id, url, verify_token, verified_at, created_at, lane_due_at, lane_leased_until,
	last_served_at, consecutive_failures, probe_at, failing_since, retry_requested_at, claim_last_due, claim_last_event,
	paused_until, is_primary)
SELECT id, account_id, url, verify_token, verified_at, created_at, lane_due_at, lane_leased_until,
	last_served_at, consecutive_failures, probe_at, failing_since, retry_requested_at, claim_last_due, claim_last_event,
	paused_until, 1
FROM endpoints;
DROP TABLE endpoints;
ALTER TABLE endpoints_new RENAME TO endpoints;
CREATE INDEX endpoints_lane_fair ON endpoints(last_served_at, id) WHERE lane_due_at IS NOT NULL;
CREATE INDEX endpoints_account ON endpoints(account_id, id);
CREATE UNIQUE INDEX endpoints_primary ON endpoints(account_id) WHERE is_primary = 1;
-- Which WABA a phone number is in, for WABA scopes and new numbers.
CREATE INDEX phone_numbers_waba ON phone_numbers(waba_id);
-- A replay targets one endpoint (0: the account's primary, for replays
-- made before this version).
ALTER TABLE replays ADD COLUMN endpoint_id INTEGER NOT NULL DEFAULT 0;
UPDATE replays SET endpoint_id = coalesce((SELECT e.id FROM endpoints e WHERE e.account_id = replays.account_id AND e.is_primary = 1), 0);
