-- The PostgreSQL twin of sqlite's 0014_events_operational.sql.
CREATE INDEX events_operational ON events(account_id, created_at) WHERE kind = 'operational';
