-- Prefix indexes for 1- to 3-character prefixes in the full-text tables:
-- a short prefix ("ر", "رض", "ali") then reads one index term instead of
-- expanding to every word that starts with it. The tables are rebuilt
-- from their content tables.

DROP TRIGGER contacts_fts_insert;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_update;
DROP TABLE contacts_fts;
CREATE VIRTUAL TABLE contacts_fts USING fts5(search_text, content='contacts', content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='1 2 3');
INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild');
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

DROP TRIGGER companies_fts_insert;
DROP TRIGGER companies_fts_delete;
DROP TRIGGER companies_fts_update;
DROP TABLE companies_fts;
CREATE VIRTUAL TABLE companies_fts USING fts5(search_text, content='companies', content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='1 2 3');
INSERT INTO companies_fts(companies_fts) VALUES ('rebuild');
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
