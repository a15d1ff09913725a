-- Electronic identity (crates/identity): accounts bound to a registry record, the roles
-- officials hold in their agencies, and login sessions (only a hash of each token is kept).
CREATE TABLE identity_accounts (
    id                TEXT PRIMARY KEY,
    personal_id       TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    assurance_level   BIGINT NOT NULL,
    level2_by         TEXT,
    level2_at         TEXT,
    phone             TEXT,
    email             TEXT,
    failed_logins     BIGINT NOT NULL,
    locked_until      TEXT,
    -- TOTP second factor (RFC 6238): the shared secret, when it was confirmed, and the last
    -- time step accepted, so a code cannot be replayed.
    totp_secret       TEXT,
    totp_confirmed_at TEXT,
    totp_last_step    BIGINT,
    created_at        TEXT NOT NULL
);

CREATE TABLE identity_roles (
    account_id TEXT NOT NULL,
    agency     TEXT NOT NULL,
    role       TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (account_id, agency, role)
);

CREATE TABLE identity_sessions (
    token_hash   TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    user_agent   TEXT NOT NULL,
    -- 1 while the password was right but the second factor is still to come.
    pending_code BIGINT NOT NULL,
    revoked_at   TEXT
);
CREATE INDEX identity_sessions_account ON identity_sessions (account_id);

-- One-time recovery codes, issued by an official after checking the person in person.
CREATE TABLE identity_recovery_codes (
    code_hash  TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
