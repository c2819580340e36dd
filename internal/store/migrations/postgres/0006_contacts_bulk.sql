-- Contacts at scale. On SQLite this version turns the key, tag and
-- company-link tables into WITHOUT ROWID tables (PostgreSQL's tables are
-- heaps with a primary-key index either way) and adds the bookkeeping of
-- bulk loads. PostgreSQL imports keep their indexes and triggers (its GIN
-- and B-tree maintenance is not what bounds an import there), but the
-- tables exist on both engines so that the schemas stay in step.

CREATE TABLE contact_keys_load (
    contact_id BIGINT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (contact_id, kind, value)
);

CREATE TABLE contact_bulk_loads (
    import_id    BIGINT PRIMARY KEY,
    first_id     BIGINT NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);
