-- The latest operational events of an account, for the dashboard's
-- notices, without scanning its other events.
CREATE INDEX events_operational ON events(account_id, created_at) WHERE kind = 'operational';
