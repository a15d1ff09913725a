-- Client certificates the platform's exchange CA issued to subsystems (ADR 0009). The
-- gateway recognises a certificate by `fingerprint` (lowercase hex SHA-256 of the DER) while
-- `revoked_at` is NULL and `not_after` has not passed. Several may be current for one
-- subsystem at once: rotation issues a new one and lets the old one run out or be revoked.
-- `serial`: hex. Timestamps: RFC 3339 text in UTC.
CREATE TABLE exchange_certificates (
    serial       TEXT PRIMARY KEY,
    subsystem_id TEXT NOT NULL REFERENCES exchange_subsystems (id),
    fingerprint  TEXT NOT NULL UNIQUE,
    certificate  TEXT NOT NULL,
    not_before   TEXT NOT NULL,
    not_after    TEXT NOT NULL,
    issued_by    TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_by   TEXT
);

CREATE INDEX exchange_certificates_subsystem ON exchange_certificates (subsystem_id);
