-- A live number's Graph API access token, sealed by internal/tokenbox
-- (AES-256-GCM with BAHASHA_TOKEN_KEY); empty for sandbox numbers and
-- numbers without one.
ALTER TABLE phone_numbers ADD COLUMN access_token BYTEA NOT NULL DEFAULT ''::bytea;
