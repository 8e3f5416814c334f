-- The PostgreSQL twin of sqlite's 0013_lane_node.sql.
ALTER TABLE endpoints ADD COLUMN lane_node TEXT NOT NULL DEFAULT '';
