-- The data-exchange platform (crates/exchange): members, their subsystems (information
-- systems), the services each provides, and access rights granted to client subsystems.
-- Identifiers are stored in their X-Road text form (INSTANCE/CLASS/MEMBER[/SUBSYSTEM[/SERVICE]]).
CREATE TABLE exchange_members (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE exchange_subsystems (
    id         TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL REFERENCES exchange_members (id),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- `base_url`: where requests are forwarded (http/https), or `lienthong:registry` for the
-- services this node provides itself. `openapi`: the provider's OpenAPI document, if any.
CREATE TABLE exchange_services (
    id           TEXT PRIMARY KEY,
    subsystem_id TEXT NOT NULL REFERENCES exchange_subsystems (id),
    base_url     TEXT NOT NULL,
    openapi      TEXT,
    timeout_ms   BIGINT NOT NULL,
    created_at   TEXT NOT NULL,
    disabled_at  TEXT
);

-- Endpoints a service declares (listMethods): method and path, `*` one segment, `**` any.
CREATE TABLE exchange_endpoints (
    service_id TEXT NOT NULL REFERENCES exchange_services (id),
    method     TEXT NOT NULL,
    path       TEXT NOT NULL,
    PRIMARY KEY (service_id, method, path)
);

-- Deny by default: a client may call a service only under a right that is not revoked.
-- `method`/`path` NULL: the whole service. `fields`: the registry fields released (NULL: all).
CREATE TABLE exchange_rights (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES exchange_subsystems (id),
    service_id TEXT NOT NULL REFERENCES exchange_services (id),
    method     TEXT,
    path       TEXT,
    fields     TEXT,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
CREATE INDEX exchange_rights_client ON exchange_rights (client_id, service_id);

-- Per client subsystem: requests per second (burst allowed up to one second's worth) and per
-- day (Vietnam time).
CREATE TABLE exchange_limits (
    client_id  TEXT PRIMARY KEY REFERENCES exchange_subsystems (id),
    per_second BIGINT NOT NULL,
    per_day    BIGINT NOT NULL
);
