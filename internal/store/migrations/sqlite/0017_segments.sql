-- Segments (docs/marketing.md): saved dynamic segments, whose members are
-- the people a condition tree matches now, and static lists, whose
-- members are kept in segment_members (picked by hand, imported from a
-- file of emails or phones, or added from the people list).
--
-- rules is the condition tree as JSON (crm.Rule), '' for a static list.
-- The count of the last time the members were counted is kept with its
-- time, for the list page; it is a figure, never the membership.

CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,               -- dynamic, static
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,               -- text.Normalize(name): one segment per name
    description TEXT NOT NULL DEFAULT '',
    rules       TEXT NOT NULL DEFAULT '',
    last_count  INTEGER,
    counted_at  TIMESTAMP,
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX segments_name_key ON segments(name_key);

CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    added_at   TIMESTAMP NOT NULL,
    added_by   INTEGER,
    PRIMARY KEY (segment_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_contact ON segment_members(contact_id);

-- For the conditions on order history (store/conditions.go). The counts,
-- sums and dates per person read only orders_contact_stats, with no
-- lookup into the table per order (at a million orders that is 8 s of
-- CPU against a fraction of a second; docs/performance.md, Segments);
-- "bought SKU" finds its order lines by SKU instead of reading them all.
CREATE INDEX orders_contact_stats ON orders(contact_id, status, placed_at, total, returned_total);
CREATE INDEX order_lines_sku ON order_lines(sku, order_id);
