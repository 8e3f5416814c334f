-- People: an account's members, their one-time links, their sessions, the
-- account's named and scoped API keys, and its audit log.
CREATE TABLE users (
	id               TEXT PRIMARY KEY,
	account_id       TEXT NOT NULL REFERENCES accounts(id),
	email            TEXT NOT NULL UNIQUE,
	name             TEXT NOT NULL,
	role             TEXT NOT NULL,
	password_hash    TEXT NOT NULL,
	created_at       BIGINT NOT NULL,
	created_by       TEXT NOT NULL,
	password_set_at  BIGINT NOT NULL
);
CREATE INDEX users_account ON users(account_id, created_at);

-- One-time links (invitations, password resets): the URL holds the token,
-- this only its hash.
CREATE TABLE user_links (
	token_hash  BYTEA PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts(id),
	user_id     TEXT NOT NULL REFERENCES users(id),
	purpose     TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL
);
CREATE INDEX user_links_user ON user_links(user_id);
CREATE INDEX user_links_expiry ON user_links(expires_at);

-- A session names its member (NULL: opened with an API key, key_id).
-- The sessions opened before, all with the API key, end: sign-in is by
-- member now (the API key only behind --dashboard-key-signin).
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX sessions_id ON sessions(id);
ALTER TABLE sessions ADD COLUMN user_id TEXT REFERENCES users(id);
ALTER TABLE sessions ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN addr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_user ON sessions(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_key ON sessions(key_id) WHERE key_id <> '';

-- API keys get an id, a name, a scope, a hint, who made them, when they
-- were last used, and revocation. Existing keys are the accounts'
-- bootstrap keys, with every right.
ALTER TABLE api_keys ADD COLUMN id TEXT NOT NULL DEFAULT '';
UPDATE api_keys SET id = 'key_' || encode(substring(key_hash from 1 for 8), 'hex');
CREATE UNIQUE INDEX api_keys_id ON api_keys(id);
ALTER TABLE api_keys ADD COLUMN name TEXT NOT NULL DEFAULT 'Bootstrap key';
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
ALTER TABLE api_keys ADD COLUMN hint TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX api_keys_account ON api_keys(account_id, created_at);

CREATE TABLE audit_log (
	id          BIGSERIAL PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts(id),
	at          BIGINT NOT NULL,
	actor_kind  TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	actor       TEXT NOT NULL,
	addr        TEXT NOT NULL,
	action      TEXT NOT NULL,
	target      TEXT NOT NULL,
	details     TEXT NOT NULL
);
CREATE INDEX audit_log_account ON audit_log(account_id, id);
CREATE INDEX audit_log_at ON audit_log(at);
