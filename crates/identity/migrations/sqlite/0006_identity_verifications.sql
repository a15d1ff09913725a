-- Checks of an account holder's identity by banks (seed 001: bank accounts verified against
-- the population database). Each check is kept with its per-field outcome; the record itself
-- is never returned to the bank.
CREATE TABLE identity_verifications (
    id                TEXT PRIMARY KEY,
    client_id         TEXT NOT NULL,
    subject           TEXT NOT NULL,
    personal_id       TEXT NOT NULL,
    personal_id_match BIGINT NOT NULL,
    full_name_match   BIGINT NOT NULL,
    birth_date_match  BIGINT NOT NULL,
    living_match      BIGINT NOT NULL,
    reference         TEXT,
    checked_at        TEXT NOT NULL
);
CREATE INDEX identity_verifications_client ON identity_verifications (client_id, checked_at);
CREATE INDEX identity_verifications_person ON identity_verifications (personal_id, checked_at);
