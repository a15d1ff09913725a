-- OpenID Connect provider (crates/identity/src/oidc): signing keys (published until
-- retired), registered relying parties, authorization codes, access tokens, and consents
-- remembered per client and scope set. Codes and tokens are kept only as SHA-256 hashes.
CREATE TABLE oidc_signing_keys (
    kid         TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    retired_at  TEXT
);

CREATE TABLE oidc_clients (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    secret_hash   TEXT,
    created_at    TEXT NOT NULL
);

CREATE TABLE oidc_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
);

-- `family`: the hash of the authorization code the token descends from (see refresh tokens).
CREATE TABLE oidc_access_tokens (
    token_hash TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    account_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE oidc_consents (
    account_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (account_id, client_id, scope)
);

-- Refresh tokens rotate: each use returns a new one. A family is everything descended from
-- one authorization code; presenting a used token revokes the whole family.
CREATE TABLE oidc_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family     TEXT NOT NULL,
    account_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    revoked_at TEXT
);
CREATE INDEX oidc_refresh_tokens_family ON oidc_refresh_tokens (family);
