-- One listen session per name and account, whatever the races between
-- two bahasha listen starting at once (the index 0009 made was a plain
-- one). A duplicate that such a race might have made keeps its work under
-- a name of its own ("listen://laptop#17").
UPDATE endpoints SET url = url || '#' || id
	WHERE kind = 'listen' AND id NOT IN (SELECT min(id) FROM endpoints WHERE kind = 'listen' GROUP BY account_id, url);
DROP INDEX endpoints_listen;
CREATE UNIQUE INDEX endpoints_listen ON endpoints(account_id, url) WHERE kind = 'listen';
