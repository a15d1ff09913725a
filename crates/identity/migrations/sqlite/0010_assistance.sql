-- Assisted use (MISSION S14, crates/identity/src/assistance): a citizen's recorded consent
-- (mandate) for a member of a community digital technology team to act for them, limited in
-- scope and time; which mandate a helper's session is acting under; and every action taken.
CREATE TABLE identity_mandates (
    id              TEXT PRIMARY KEY,
    citizen_account TEXT NOT NULL,
    helper_account  TEXT NOT NULL,
    -- The agency (team) in which the helper held assist.helper when the mandate was granted.
    helper_agency   TEXT NOT NULL,
    -- Space-separated, from the fixed list in assistance.rs.
    scopes          TEXT NOT NULL,
    granted_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX identity_mandates_citizen ON identity_mandates (citizen_account);
CREATE INDEX identity_mandates_helper ON identity_mandates (helper_account);

-- Kept on the server with the session, so a client cannot claim to act for anyone.
ALTER TABLE identity_sessions ADD COLUMN acting_mandate TEXT;

CREATE TABLE identity_assisted_actions (
    id              TEXT PRIMARY KEY,
    mandate_id      TEXT NOT NULL,
    citizen_account TEXT NOT NULL,
    helper_account  TEXT NOT NULL,
    action          TEXT NOT NULL,
    acted_at        TEXT NOT NULL
);
CREATE INDEX identity_assisted_actions_citizen ON identity_assisted_actions (citizen_account, acted_at);
