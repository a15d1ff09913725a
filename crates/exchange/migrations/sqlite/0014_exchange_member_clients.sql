-- A member may be an X-Road client itself (PR-REST §4.2), not only one of its subsystems:
-- a right or a limit names a member or a subsystem. The exchange checks that the client is
-- registered when it writes one; the foreign keys to subsystems alone go. SQLite cannot drop
-- a constraint, so both tables are rebuilt with the same columns.
CREATE TABLE exchange_rights_new (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    service_id TEXT NOT NULL REFERENCES exchange_services (id),
    method     TEXT,
    path       TEXT,
    fields     TEXT,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
INSERT INTO exchange_rights_new SELECT id, client_id, service_id, method, path, fields, granted_by, granted_at, revoked_by, revoked_at FROM exchange_rights;
DROP TABLE exchange_rights;
ALTER TABLE exchange_rights_new RENAME TO exchange_rights;
CREATE INDEX exchange_rights_client ON exchange_rights (client_id, service_id);

CREATE TABLE exchange_limits_new (
    client_id  TEXT PRIMARY KEY,
    per_second BIGINT NOT NULL,
    per_day    BIGINT NOT NULL
);
INSERT INTO exchange_limits_new SELECT client_id, per_second, per_day FROM exchange_limits;
DROP TABLE exchange_limits;
ALTER TABLE exchange_limits_new RENAME TO exchange_limits;
