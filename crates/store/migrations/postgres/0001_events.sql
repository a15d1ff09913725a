-- Domain events, written in the same transaction as the change they record (the outbox).
CREATE TABLE events (
    position    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stream      TEXT NOT NULL,
    stream_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);
CREATE INDEX events_stream ON events (stream, stream_id, position);

-- How far each consumer has read; consumers resume from here after a restart.
CREATE TABLE event_cursors (
    consumer   TEXT PRIMARY KEY,
    position   BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
