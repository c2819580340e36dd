-- Contacts at scale (issue 3's import budget).
--
-- 1. The key, tag and company-link tables become WITHOUT ROWID tables: the
--    primary key is then the table itself (one B-tree instead of a rowid
--    table plus its primary-key index), which halves the pages an insert
--    touches. Each keeps its reverse index (by contact), which the foreign
--    key cascades and the per-person reads use.
-- 2. Two tables for bulk loads (store/bulk.go): while a large import runs
--    in bulk mode, the full-text triggers and the sort-name index are
--    dropped and the new people's keys go to contact_keys_load (appended in
--    id order); contact_bulk_loads records that, in the same transaction as
--    the schema change, so a crash always leaves a record from which the
--    next run (or RecoverBulkLoads) restores the schema.

CREATE TABLE contact_keys_new (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, contact_id)
) WITHOUT ROWID;
INSERT INTO contact_keys_new (kind, value, contact_id) SELECT kind, value, contact_id FROM contact_keys ORDER BY kind, value, contact_id;
DROP TABLE contact_keys;
ALTER TABLE contact_keys_new RENAME TO contact_keys;
CREATE INDEX contact_keys_contact ON contact_keys(contact_id);

CREATE TABLE contact_tags_new (
    tag        TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, contact_id)
) WITHOUT ROWID;
INSERT INTO contact_tags_new (tag, contact_id) SELECT tag, contact_id FROM contact_tags ORDER BY tag, contact_id;
DROP TABLE contact_tags;
ALTER TABLE contact_tags_new RENAME TO contact_tags;
CREATE INDEX contact_tags_contact ON contact_tags(contact_id);

CREATE TABLE contact_companies_new (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    company_id INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    role       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, company_id)
) WITHOUT ROWID;
INSERT INTO contact_companies_new (contact_id, company_id, role, created_at)
    SELECT contact_id, company_id, role, created_at FROM contact_companies ORDER BY contact_id, company_id;
DROP TABLE contact_companies;
ALTER TABLE contact_companies_new RENAME TO contact_companies;
CREATE INDEX contact_companies_company ON contact_companies(company_id, contact_id);

-- Keys of the people a bulk load wrote, until the load ends and moves them
-- to contact_keys in key order. Ordered by contact so that appending is
-- cheap and a person's keys can be found (and deleted) by id.
CREATE TABLE contact_keys_load (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (contact_id, kind, value)
) WITHOUT ROWID;

-- Imports running in bulk mode. No foreign key: the row must outlive
-- anything that happens to the import, since it is what restores the schema.
CREATE TABLE contact_bulk_loads (
    import_id    INTEGER PRIMARY KEY,
    first_id     INTEGER NOT NULL,          -- the first contact id the load wrote
    heartbeat_at TIMESTAMP NOT NULL          -- the load's last commit
);
