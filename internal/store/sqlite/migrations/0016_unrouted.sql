-- Changes of Meta's webhooks for a phone number or WABA that no account
-- owns: answered 200 (so Meta does not retry them for days), kept here for
-- the operator (GET /admin/v1/unrouted) until they are routed again or
-- pruned with the retention. digest is the change's deduplication key, so
-- a change Meta sends twice is kept once.
CREATE TABLE unrouted (
	id                    INTEGER PRIMARY KEY AUTOINCREMENT,
	digest                TEXT NOT NULL UNIQUE,
	received_at           INTEGER NOT NULL,
	field                 TEXT NOT NULL,
	entry_id              TEXT NOT NULL,
	phone_number_id       TEXT NOT NULL,
	display_phone_number  TEXT NOT NULL,
	reason                TEXT NOT NULL,
	body                  BLOB NOT NULL
) STRICT;
CREATE INDEX unrouted_received ON unrouted(received_at);
