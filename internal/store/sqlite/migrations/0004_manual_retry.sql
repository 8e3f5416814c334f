-- When a delivery of the endpoint was last retried by hand: a lane turn in
-- flight at that moment must not push the breaker's next probe past it.
ALTER TABLE endpoints ADD COLUMN retry_requested_at INTEGER NOT NULL DEFAULT 0;
