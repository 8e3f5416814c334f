-- Delivery statistics per endpoint and minute, beside delivery_stats (per
-- account): the dashboard's Overview narrowed to one endpoint. Written by
-- the same lane completions and expiries; pruned with them.
CREATE TABLE endpoint_stats (
	endpoint_id      INTEGER NOT NULL,
	minute           INTEGER NOT NULL,
	account_id       TEXT NOT NULL,
	delivered        INTEGER NOT NULL DEFAULT 0,
	failed           INTEGER NOT NULL DEFAULT 0,
	superseded       INTEGER NOT NULL DEFAULT 0,
	attempts_ok      INTEGER NOT NULL DEFAULT 0,
	attempts_failed  INTEGER NOT NULL DEFAULT 0,
	l0 INTEGER NOT NULL DEFAULT 0, l1 INTEGER NOT NULL DEFAULT 0, l2 INTEGER NOT NULL DEFAULT 0,
	l3 INTEGER NOT NULL DEFAULT 0, l4 INTEGER NOT NULL DEFAULT 0, l5 INTEGER NOT NULL DEFAULT 0,
	l6 INTEGER NOT NULL DEFAULT 0, l7 INTEGER NOT NULL DEFAULT 0, l8 INTEGER NOT NULL DEFAULT 0,
	l9 INTEGER NOT NULL DEFAULT 0, l10 INTEGER NOT NULL DEFAULT 0, l11 INTEGER NOT NULL DEFAULT 0,
	l12 INTEGER NOT NULL DEFAULT 0, l13 INTEGER NOT NULL DEFAULT 0, l14 INTEGER NOT NULL DEFAULT 0,
	l15 INTEGER NOT NULL DEFAULT 0, l16 INTEGER NOT NULL DEFAULT 0, l17 INTEGER NOT NULL DEFAULT 0,
	l18 INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint_id, minute)
) STRICT, WITHOUT ROWID;
CREATE INDEX endpoint_stats_minute ON endpoint_stats(minute);
