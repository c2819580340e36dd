-- Orders: purchases with their lines, returns of whole orders or lines,
-- the customer numbers of order sources, and order imports from CSV.
--
-- orders.contact_id has no foreign key on purpose: merging people deletes
-- the merged ones in the contact service's transaction, and the orders
-- module then moves their orders to the survivor (contact.merged); a
-- deleted or erased person's orders stay, detached (contact_id 0), as
-- sales figures.

CREATE TABLE orders (
    id             INTEGER PRIMARY KEY,
    source         TEXT NOT NULL DEFAULT '',
    external_id    TEXT NOT NULL DEFAULT '',   -- the source's own order id; '' when it has none
    fingerprint    TEXT NOT NULL DEFAULT '',   -- hash of the request, to tell a replay from a conflict
    contact_id     INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL,              -- placed, partially_returned, returned
    currency       TEXT NOT NULL,
    subtotal       INTEGER NOT NULL,
    discount       INTEGER NOT NULL DEFAULT 0,
    total          INTEGER NOT NULL,
    returned_total INTEGER NOT NULL DEFAULT 0,
    channel        TEXT NOT NULL,
    store          TEXT NOT NULL DEFAULT '',
    coupon_code    TEXT NOT NULL DEFAULT '',
    placed_at      TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX orders_source_external ON orders(source, external_id) WHERE external_id <> '';
CREATE INDEX orders_contact ON orders(contact_id, id);
CREATE INDEX orders_placed ON orders(placed_at, id);
CREATE INDEX orders_status ON orders(status, id);
CREATE INDEX orders_channel ON orders(channel, id);
CREATE INDEX orders_store ON orders(store, id) WHERE store <> '';

CREATE TABLE order_lines (
    id                INTEGER PRIMARY KEY,
    order_id          INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    sku               TEXT NOT NULL DEFAULT '',
    name              TEXT NOT NULL DEFAULT '',
    category          TEXT NOT NULL DEFAULT '',
    quantity          INTEGER NOT NULL,
    unit_price        INTEGER NOT NULL,
    discount          INTEGER NOT NULL DEFAULT 0,
    total             INTEGER NOT NULL,
    returned_quantity INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX order_lines_order ON order_lines(order_id, id);

CREATE TABLE order_returns (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    contact_id  INTEGER NOT NULL DEFAULT 0,
    source      TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    amount      INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX order_returns_source_external ON order_returns(source, external_id) WHERE external_id <> '';
CREATE INDEX order_returns_order ON order_returns(order_id, id);
CREATE INDEX order_returns_contact ON order_returns(contact_id, id);

CREATE TABLE return_lines (
    return_id INTEGER NOT NULL REFERENCES order_returns(id) ON DELETE CASCADE,
    line_id   INTEGER NOT NULL REFERENCES order_lines(id) ON DELETE CASCADE,
    quantity  INTEGER NOT NULL,
    amount    INTEGER NOT NULL,
    PRIMARY KEY (return_id, line_id)
);

-- The customer numbers of order sources (a till's or a shop's own
-- customer id): which person each one is.
CREATE TABLE order_customers (
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    contact_id  INTEGER NOT NULL,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX order_customers_contact ON order_customers(contact_id);

-- Order imports from CSV: where each one is in its file, so that an
-- interrupted import resumes at the last committed batch.
CREATE TABLE order_imports (
    id          INTEGER PRIMARY KEY,
    file_path   TEXT NOT NULL,
    file_size   INTEGER NOT NULL,
    source      TEXT NOT NULL,
    options     TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL,             -- running, done, failed
    byte_offset INTEGER NOT NULL DEFAULT 0,
    line        INTEGER NOT NULL DEFAULT 1,
    rows_read   INTEGER NOT NULL DEFAULT 0,
    orders_new  INTEGER NOT NULL DEFAULT 0,
    orders_old  INTEGER NOT NULL DEFAULT 0,
    returns_new INTEGER NOT NULL DEFAULT 0,
    skipped_n   INTEGER NOT NULL DEFAULT 0,
    error_n     INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX order_imports_file ON order_imports(file_path, status);

CREATE TABLE order_import_problems (
    import_id INTEGER NOT NULL REFERENCES order_imports(id) ON DELETE CASCADE,
    line      INTEGER NOT NULL,
    field     TEXT NOT NULL DEFAULT '',
    message   TEXT NOT NULL,
    PRIMARY KEY (import_id, line, field)
);
