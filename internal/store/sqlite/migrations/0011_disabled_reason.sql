-- Why an endpoint is disabled: it answered 410 Gone, it failed
-- continuously for --disable-after, or someone disabled it from the API
-- or the dashboard ('' while enabled).
ALTER TABLE endpoints ADD COLUMN disabled_reason TEXT NOT NULL DEFAULT '';
UPDATE endpoints SET disabled_reason = 'disabled from the API or the dashboard' WHERE enabled = 0;
