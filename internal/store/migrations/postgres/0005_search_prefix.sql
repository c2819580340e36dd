-- SQLite's full-text tables gain prefix indexes in this version. PostgreSQL's
-- GIN index on the tsvector already serves prefix queries (to_tsquery 'x':*),
-- so there is nothing to change here; the file keeps both migration trees in step.
SELECT 1;
