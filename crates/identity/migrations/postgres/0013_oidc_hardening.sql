-- Client-assertion ids (`jti`) already accepted, per client, kept until the assertion can no
-- longer be accepted (its `exp` plus the clock skew allowed), so a replay is refused even
-- after a restart or on another node (RFC 7523 §3 item 7).
CREATE TABLE oidc_assertion_ids (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    forget_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX oidc_assertion_ids_forget_at ON oidc_assertion_ids (forget_at);
