-- The PostgreSQL twin of sqlite's 0011_disabled_reason.sql.
ALTER TABLE endpoints ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';
UPDATE endpoints SET disabled_reason = 'disabled from the API or the dashboard' WHERE NOT enabled;
