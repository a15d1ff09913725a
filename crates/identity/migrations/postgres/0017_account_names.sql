-- The account holder's name as the registry gave it through the exchange, read once and
-- kept, so pages and mandate lists do not read the registry on every request.
ALTER TABLE identity_accounts ADD COLUMN full_name TEXT;
