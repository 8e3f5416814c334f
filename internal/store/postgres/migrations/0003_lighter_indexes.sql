-- Listing by state only needs an index for the rare states: delivered and
-- pending deliveries are found newest first through deliveries_account.
-- The happy path (ingest, delivery) no longer maintains an index entry per
-- state change.
DROP INDEX deliveries_account_state;
CREATE INDEX deliveries_account_failed ON deliveries(account_id, id) WHERE state = 'failed';
CREATE INDEX deliveries_account_superseded ON deliveries(account_id, id) WHERE state = 'superseded';
