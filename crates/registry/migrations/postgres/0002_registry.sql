-- Population registry (crates/registry). The current version and search keys of each
-- citizen, every version with its record, the numbers ever issued, households, residence
-- history and record views. The record itself is stored once, in its version.
CREATE TABLE registry_citizens (
    personal_id  TEXT PRIMARY KEY,
    version      BIGINT NOT NULL,
    full_name    TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    household_id TEXT,
    updated_at   TEXT NOT NULL
);
CREATE INDEX registry_citizens_name ON registry_citizens (name_key, birth_date);
CREATE INDEX registry_citizens_household ON registry_citizens (household_id);

CREATE TABLE registry_citizen_versions (
    personal_id TEXT NOT NULL,
    version     BIGINT NOT NULL,
    record      TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    basis       TEXT NOT NULL,
    change      TEXT NOT NULL,
    PRIMARY KEY (personal_id, version)
);

-- A number, once issued, is never issued again, even if its record were withdrawn.
CREATE TABLE registry_issued_ids (
    personal_id TEXT PRIMARY KEY,
    issued_at   TEXT NOT NULL
);

CREATE TABLE registry_households (
    id            TEXT PRIMARY KEY,
    head_id       TEXT NOT NULL,
    province_code TEXT NOT NULL,
    address       TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE registry_residence_events (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    personal_id    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    province_code  TEXT,
    address        TEXT,
    effective_from TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    basis          TEXT NOT NULL
);
CREATE INDEX registry_residence_events_citizen ON registry_residence_events (personal_id, effective_from);

-- Who looked at a record, so the citizen can see it (data tracker).
CREATE TABLE registry_record_views (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    personal_id TEXT NOT NULL,
    viewer      TEXT NOT NULL,
    agency      TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    viewed_at   TEXT NOT NULL
);
CREATE INDEX registry_record_views_citizen ON registry_record_views (personal_id, viewed_at);
