-- bahasha listen sessions are endpoints of kind 'listen': their lane is
-- sent over the CLI's connection to one node instead of over HTTP.
-- listen_node is the node holding that connection ('' while the CLI is
-- offline: the lane is then not claimed, and its work waits), and
-- last_seen_at when the session was last connected.
ALTER TABLE endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'http';
ALTER TABLE endpoints ADD COLUMN listen_node TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX endpoints_listen ON endpoints(account_id, url) WHERE kind = 'listen';
