-- Passkeys (WebAuthn Level 3, crates/identity/src/passkeys): the credentials each account
-- registered, and the ceremonies in progress. A ceremony row holds the challenge and the
-- state the relying party needs to check the answer; it lives five minutes and is deleted
-- when used, so a challenge is good for one answer only (WebAuthn L3 §13.4.3), on any node.
CREATE TABLE identity_passkeys (
    -- The credential ID, base64url; unique across all accounts (WebAuthn L3 §7.1 step 26).
    credential_id TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    name          TEXT NOT NULL,
    -- The public key, signature counter and flags, as the webauthn-rs library serialises them.
    credential    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);
CREATE INDEX identity_passkeys_account ON identity_passkeys (account_id);

CREATE TABLE identity_webauthn_ceremonies (
    id         TEXT PRIMARY KEY,
    -- 'register', 'sign_in' (credentials of one account allowed) or 'discoverable'.
    purpose    TEXT NOT NULL,
    account_id TEXT,
    -- For 'register': the name the person gave the new passkey.
    name       TEXT,
    state      TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX identity_webauthn_ceremonies_expiry ON identity_webauthn_ceremonies (expires_at);

-- How a session was opened: 'password', 'password_totp' or 'passkey'.
ALTER TABLE identity_sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password';
