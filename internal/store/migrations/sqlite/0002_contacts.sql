-- Contacts: people, companies, their links, custom fields, consent,
-- suppression, the activity timeline (interactions, notes, tasks,
-- notifications), imports, and full-text search.

ALTER TABLE events ADD COLUMN contact_id INTEGER;
ALTER TABLE events ADD COLUMN company_id INTEGER;
CREATE INDEX events_contact ON events(contact_id, id) WHERE contact_id IS NOT NULL;
CREATE INDEX events_company ON events(company_id, id) WHERE company_id IS NOT NULL;

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    prefix       TEXT NOT NULL DEFAULT '',
    first_name   TEXT NOT NULL DEFAULT '',
    middle_name  TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    suffix       TEXT NOT NULL DEFAULT '',
    sort_name    TEXT NOT NULL DEFAULT '',
    emails       TEXT NOT NULL DEFAULT '[]',
    phones       TEXT NOT NULL DEFAULT '[]',
    addresses    TEXT NOT NULL DEFAULT '[]',
    birthday     TEXT NOT NULL DEFAULT '',
    language     TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    owner_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    tags         TEXT NOT NULL DEFAULT '[]',
    notes        TEXT NOT NULL DEFAULT '',
    custom       TEXT NOT NULL DEFAULT '{}',
    search_text  TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX contacts_owner ON contacts(owner_id, id);
CREATE INDEX contacts_created ON contacts(created_at, id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);
CREATE INDEX contacts_sort_name ON contacts(sort_name, id);

-- Normalised keys for duplicate detection and exact lookups:
-- kind 'email' (lower-cased), 'phone' (E.164), 'name' (text.Normalize of the full name).
CREATE TABLE contact_keys (
    kind       TEXT NOT NULL,
    value      TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value, contact_id)
);
CREATE INDEX contact_keys_contact ON contact_keys(contact_id);

CREATE TABLE contact_tags (
    tag        TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, contact_id)
);
CREATE INDEX contact_tags_contact ON contact_tags(contact_id);

CREATE TABLE companies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL DEFAULT '',
    domain      TEXT NOT NULL DEFAULT '',
    industry    TEXT NOT NULL DEFAULT '',
    size        TEXT NOT NULL DEFAULT '',
    emails      TEXT NOT NULL DEFAULT '[]',
    phones      TEXT NOT NULL DEFAULT '[]',
    addresses   TEXT NOT NULL DEFAULT '[]',
    owner_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    notes       TEXT NOT NULL DEFAULT '',
    custom      TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX companies_name_key ON companies(name_key, id);
CREATE INDEX companies_domain ON companies(domain) WHERE domain <> '';
CREATE INDEX companies_owner ON companies(owner_id, id);

CREATE TABLE company_tags (
    tag        TEXT NOT NULL,
    company_id INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, company_id)
);
CREATE INDEX company_tags_company ON company_tags(company_id);

CREATE TABLE contact_companies (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    company_id INTEGER NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
    role       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, company_id)
);
CREATE INDEX contact_companies_company ON contact_companies(company_id, contact_id);

CREATE TABLE custom_fields (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,            -- 'contact' or 'company'
    key        TEXT NOT NULL,            -- the JSON key in custom, [a-z][a-z0-9_]*
    label      TEXT NOT NULL,
    type       TEXT NOT NULL,            -- text, long_text, number, money, date, boolean, select, multi_select, email, phone, url
    options    TEXT NOT NULL DEFAULT '[]',
    currency   TEXT NOT NULL DEFAULT '', -- for money
    required   BOOLEAN NOT NULL DEFAULT FALSE,
    show_in_list BOOLEAN NOT NULL DEFAULT FALSE,
    position   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (entity, key)
);

-- The current consent per person and channel; every change is also an
-- event (consent.changed), which is the history.
CREATE TABLE contact_consents (
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel    TEXT NOT NULL,            -- email, sms, phone, telegram, whatsapp
    status     TEXT NOT NULL,            -- granted, withdrawn
    source     TEXT NOT NULL,            -- form, import, manual, api
    note       TEXT NOT NULL DEFAULT '',
    changed_by INTEGER,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, channel)
);

-- Hashes of erased people's emails and phones: never contact them again.
CREATE TABLE suppressions (
    hash       TEXT PRIMARY KEY,         -- hex SHA-256 of 'email:' or 'phone:' + normalised value
    kind       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE interactions (
    id               INTEGER PRIMARY KEY,
    contact_id       INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    company_id       INTEGER REFERENCES companies(id) ON DELETE CASCADE,
    channel          TEXT NOT NULL,      -- phone, email, sms, chat, telegram, whatsapp, in_store, web, social, other
    direction        TEXT NOT NULL,      -- inbound, outbound
    subject          TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL DEFAULT '',
    user_id          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    occurred_at      TIMESTAMP NOT NULL,
    duration_seconds INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX interactions_contact ON interactions(contact_id, occurred_at);
CREATE INDEX interactions_company ON interactions(company_id, occurred_at);

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    company_id INTEGER REFERENCES companies(id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    author_id  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX notes_contact ON notes(contact_id, id);
CREATE INDEX notes_company ON notes(company_id, id);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    notes       TEXT NOT NULL DEFAULT '',
    contact_id  INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    company_id  INTEGER REFERENCES companies(id) ON DELETE CASCADE,
    assignee_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    due_at      TIMESTAMP,
    remind_at   TIMESTAMP,
    done_at     TIMESTAMP,
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX tasks_assignee_open ON tasks(assignee_id, due_at) WHERE done_at IS NULL;
CREATE INDEX tasks_contact ON tasks(contact_id);
CREATE INDEX tasks_company ON tasks(company_id);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,            -- mention, task_assigned, task_reminder, import_done
    title      TEXT NOT NULL,
    link       TEXT NOT NULL DEFAULT '',
    actor_id   INTEGER,
    read_at    TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, id);

CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    entity      TEXT NOT NULL DEFAULT 'contact',
    file_path   TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_size   INTEGER NOT NULL DEFAULT 0,
    mapping     TEXT NOT NULL DEFAULT '{}',
    options     TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL DEFAULT 'pending', -- pending, running, done, failed, cancelled
    dry_run     BOOLEAN NOT NULL DEFAULT FALSE,
    byte_offset INTEGER NOT NULL DEFAULT 0,
    line        INTEGER NOT NULL DEFAULT 1,
    rows_read   INTEGER NOT NULL DEFAULT 0,
    created_n   INTEGER NOT NULL DEFAULT 0,
    updated_n   INTEGER NOT NULL DEFAULT 0,
    skipped_n   INTEGER NOT NULL DEFAULT 0,
    duplicate_n INTEGER NOT NULL DEFAULT 0,
    error_n     INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    started_at  TIMESTAMP,
    finished_at TIMESTAMP
);

CREATE TABLE import_problems (
    import_id  INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    line       INTEGER NOT NULL,
    kind       TEXT NOT NULL,            -- error, duplicate
    field      TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL,
    contact_id INTEGER,
    PRIMARY KEY (import_id, line, kind, field)
);

-- Full-text search over normalised names, emails, phones and companies
-- (search_text is built in Go with internal/text, the same at index and
-- query time). PostgreSQL keeps a tsvector column instead.
CREATE VIRTUAL TABLE contacts_fts USING fts5(search_text, content='contacts', content_rowid='id', tokenize='unicode61 remove_diacritics 0');
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF search_text ON contacts BEGIN
    INSERT INTO contacts_fts(contacts_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO contacts_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE VIRTUAL TABLE companies_fts USING fts5(search_text, content='companies', content_rowid='id', tokenize='unicode61 remove_diacritics 0');
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts(companies_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF search_text ON companies BEGIN
    INSERT INTO companies_fts(companies_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO companies_fts(rowid, search_text) VALUES (new.id, new.search_text);
END;
