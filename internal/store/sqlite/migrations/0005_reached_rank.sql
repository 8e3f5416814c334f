-- reached_rank is the status rank that has, or may have, reached the
-- endpoint: the delivery's status_rank once it is delivered, or once its
-- POST may have reached the endpoint without a known answer (its worker
-- died mid-turn, or the request went out and no answer came); 0 before.
-- The ordering rule reads it through deliveries_wamid, which it replaces
-- in that index (a covering index: state is no longer read).
ALTER TABLE deliveries ADD COLUMN reached_rank INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET reached_rank = status_rank WHERE status_rank > 0 AND state = 'delivered';
DROP INDEX deliveries_wamid;
CREATE INDEX deliveries_wamid ON deliveries(endpoint_id, wamid, reached_rank) WHERE reached_rank > 0;
-- The extent of the lane's last claim: the key (next_attempt_at, event_id)
-- of the last delivery it handed out. When its lease runs out instead of
-- being released, the pending deliveries up to it are the ones its worker
-- may have sent.
ALTER TABLE endpoints ADD COLUMN claim_last_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN claim_last_event INTEGER NOT NULL DEFAULT 0;
-- An endpoint that answered 429 or 503 with Retry-After is not sent
-- anything before this time.
ALTER TABLE endpoints ADD COLUMN paused_until INTEGER NOT NULL DEFAULT 0;
