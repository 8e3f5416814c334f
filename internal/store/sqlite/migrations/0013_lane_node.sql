-- The node holding a lane's lease (with lane_leased_until), for the
-- operator's view of which node delivers what.
ALTER TABLE endpoints ADD COLUMN lane_node TEXT NOT NULL DEFAULT '';
