-- Tamper-evident audit log of the data exchange (crates/audit). Every exchange is one row of
-- a hash chain: entry_hash = SHA-256(prev_hash || encoding of every other column), the exact
-- encoding documented in crates/audit/src/lib.rs. Rows are only ever inserted.
-- `seq` is assigned by the writer under an advisory lock, not by a sequence.
CREATE TABLE audit_entries (
    seq            BIGINT PRIMARY KEY,
    message_id     TEXT NOT NULL,
    at             TEXT NOT NULL,
    client         TEXT NOT NULL,
    service        TEXT NOT NULL,
    method         TEXT NOT NULL,
    path           TEXT NOT NULL,
    user_id        TEXT,
    issue          TEXT,
    subject        TEXT,
    status         BIGINT NOT NULL,
    latency_micros BIGINT NOT NULL,
    request_hash   TEXT NOT NULL,
    response_hash  TEXT NOT NULL,
    prev_hash      TEXT NOT NULL,
    entry_hash     TEXT NOT NULL
);
-- The citizen's data tracker: what was exchanged about one person, newest first.
CREATE INDEX audit_entries_subject ON audit_entries (subject, seq) WHERE subject IS NOT NULL;
-- Exchanges per client per day (operations centre), answered from the index alone.
CREATE INDEX audit_entries_at_client ON audit_entries (at, client);

-- Ed25519 signatures over (seq, entry_hash): proof, without trusting the database, that the
-- chain up to `seq` was exactly this.
CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY,
    entry_hash TEXT NOT NULL,
    signed_at  TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    signature  TEXT NOT NULL
);
