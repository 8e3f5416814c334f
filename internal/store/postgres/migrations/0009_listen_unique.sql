-- The PostgreSQL twin of sqlite's 0010_listen_unique.sql: one listen
-- session per name and account.
UPDATE endpoints SET url = url || '#' || id
	WHERE kind = 'listen' AND id NOT IN (SELECT min(id) FROM endpoints WHERE kind = 'listen' GROUP BY account_id, url);
DROP INDEX endpoints_listen;
CREATE UNIQUE INDEX endpoints_listen ON endpoints(account_id, url) WHERE kind = 'listen';
