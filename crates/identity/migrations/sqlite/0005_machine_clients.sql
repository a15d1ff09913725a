-- Agency systems that call the exchange as themselves (OAuth 2.0 client_credentials), each
-- authenticating with a JWT signed by its own private key (private_key_jwt, RFC 7523 §2.2).
-- `subject` is the identity its access tokens carry: the exchange subsystem it acts as.
-- Only the public key is kept here.
CREATE TABLE oidc_machine_clients (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    disabled_at TEXT
);
CREATE INDEX oidc_machine_clients_subject ON oidc_machine_clients (subject);
