-- The PostgreSQL twin of sqlite's 0009_listen.sql: bahasha listen
-- sessions, endpoints of kind 'listen' sent over the connection that
-- listen_node holds.
ALTER TABLE endpoints
	ADD COLUMN kind TEXT NOT NULL DEFAULT 'http',
	ADD COLUMN listen_node TEXT NOT NULL DEFAULT '',
	ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX endpoints_listen ON endpoints(account_id, url) WHERE kind = 'listen';
