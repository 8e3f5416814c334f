-- From this version on every connection enforces the foreign keys the
-- schema has always declared (PRAGMA foreign_keys, set per connection). A
-- database written before may hold rows that refer to missing ones: the
-- store checks it (PRAGMA foreign_key_check) when it applies this
-- migration, and refuses to open it, naming them, rather than drop them.
SELECT 1;
