-- Operational events waiting to become events (Store.FlushNotices). A
-- lane's turn records them in its own write, beside the change they
-- report, so that none is lost to a crash; a later write routes them over
-- the account's endpoints like any event.
CREATE TABLE notices (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id  TEXT NOT NULL,
	producer_id TEXT NOT NULL,
	type        TEXT NOT NULL,
	payload     BLOB NOT NULL,
	created_at  INTEGER NOT NULL
);
