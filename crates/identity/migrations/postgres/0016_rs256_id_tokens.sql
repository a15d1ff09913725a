-- RS256 ID tokens (OpenID Connect Discovery §3, Dynamic Client Registration §2): RSA signing
-- keys sealed and rotated like the ES256 keys of `oidc_signing_keys` (private_key holds
-- sealed PKCS #8), and the algorithm each relying party's ID tokens are signed with.
CREATE TABLE oidc_rsa_signing_keys (
    kid         TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    retired_at  TEXT
);

ALTER TABLE oidc_clients ADD COLUMN id_token_alg TEXT NOT NULL DEFAULT 'ES256';
