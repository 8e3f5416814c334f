-- The PostgreSQL twin of sqlite's 0007_endpoints.sql: many endpoints per
-- account. The account's one endpoint becomes its primary endpoint (PUT
-- /v1/webhook), at account scope, with no filter; its Standard Webhooks
-- secret is drawn when the store opens.
ALTER TABLE endpoints DROP CONSTRAINT endpoints_account_id_key;
ALTER TABLE endpoints
	ADD COLUMN scope_kind TEXT NOT NULL DEFAULT 'account',
	ADD COLUMN scope_id TEXT NOT NULL DEFAULT '',
	ADD COLUMN events TEXT NOT NULL DEFAULT '[]',
	ADD COLUMN headers TEXT NOT NULL DEFAULT '{}',
	ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 0,
	ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE,
	ADD COLUMN is_primary BOOLEAN NOT NULL DEFAULT FALSE,
	ADD COLUMN description TEXT NOT NULL DEFAULT '',
	ADD COLUMN secret TEXT NOT NULL DEFAULT '',
	ADD COLUMN prev_secret TEXT NOT NULL DEFAULT '',
	ADD COLUMN prev_secret_until BIGINT NOT NULL DEFAULT 0;
UPDATE endpoints SET is_primary = TRUE;
CREATE INDEX endpoints_account ON endpoints(account_id, id);
CREATE UNIQUE INDEX endpoints_primary ON endpoints(account_id) WHERE is_primary;
CREATE INDEX phone_numbers_waba ON phone_numbers(waba_id);
ALTER TABLE replays ADD COLUMN endpoint_id BIGINT NOT NULL DEFAULT 0;
UPDATE replays r SET endpoint_id = coalesce((SELECT e.id FROM endpoints e WHERE e.account_id = r.account_id AND e.is_primary), 0);
