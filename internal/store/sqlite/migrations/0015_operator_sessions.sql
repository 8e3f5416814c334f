-- The operator's dashboard sessions, signed in with the admin key. A
-- session is bound to the hash of the key it was opened with, so changing
-- BAHASHA_ADMIN_KEY ends every one of them.
CREATE TABLE operator_sessions (
	token_hash  BLOB PRIMARY KEY,
	key_hash    BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX operator_sessions_expiry ON operator_sessions(expires_at);
