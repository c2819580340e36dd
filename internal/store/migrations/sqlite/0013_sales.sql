-- Sales: pipelines with ordered stages, lost reasons, deals with tags,
-- stage history and line items, the products catalogue, quotes, leads;
-- tasks become activities (task, call, meeting) that may name a deal.
--
-- deals.contact_id, deals.company_id and leads.contact_id have no foreign
-- key, as orders.contact_id: the sales module follows contact.merged,
-- contact.deleted, contact.erased and company.deleted events and moves or
-- detaches its rows itself (0: nobody).

CREATE TABLE pipelines (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A removed stage keeps its row (removed_at set): the stage history of
-- deals that went through it still names it.
CREATE TABLE pipeline_stages (
    id          INTEGER PRIMARY KEY,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    probability INTEGER NOT NULL,          -- percent, 0-100
    kind        TEXT NOT NULL,             -- open, won, lost
    removed_at  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX pipeline_stages_pipeline ON pipeline_stages(pipeline_id, position);

CREATE TABLE lost_reasons (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL DEFAULT 0,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE leads (
    id           INTEGER PRIMARY KEY,
    first_name   TEXT NOT NULL DEFAULT '',
    last_name    TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL DEFAULT '',
    company_name TEXT NOT NULL DEFAULT '',
    job_title    TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,            -- new, contacted, qualified, unqualified, converted
    owner_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    value        INTEGER NOT NULL DEFAULT 0,
    currency     TEXT NOT NULL DEFAULT '',
    notes        TEXT NOT NULL DEFAULT '',
    contact_id   INTEGER NOT NULL DEFAULT 0,
    company_id   INTEGER NOT NULL DEFAULT 0,
    deal_id      INTEGER NOT NULL DEFAULT 0,
    converted_at TIMESTAMP,
    created_by   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX leads_status ON leads(status, id);
CREATE INDEX leads_owner ON leads(owner_id, id);
CREATE INDEX leads_contact ON leads(contact_id) WHERE contact_id <> 0;

CREATE TABLE deals (
    id               INTEGER PRIMARY KEY,
    pipeline_id      INTEGER NOT NULL REFERENCES pipelines(id),
    stage_id         INTEGER NOT NULL REFERENCES pipeline_stages(id),
    status           TEXT NOT NULL,        -- open, won, lost (the kind of the stage)
    title            TEXT NOT NULL,
    value            INTEGER NOT NULL DEFAULT 0,
    currency         TEXT NOT NULL,
    value_from_lines BOOLEAN NOT NULL DEFAULT FALSE,
    contact_id       INTEGER NOT NULL DEFAULT 0,
    company_id       INTEGER NOT NULL DEFAULT 0,
    owner_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    expected_close   TEXT NOT NULL DEFAULT '', -- YYYY-MM-DD or ''
    source           TEXT NOT NULL DEFAULT '',
    custom           TEXT NOT NULL DEFAULT '{}',
    lost_reason_id   INTEGER REFERENCES lost_reasons(id) ON DELETE SET NULL,
    lost_note        TEXT NOT NULL DEFAULT '',
    lead_id          INTEGER NOT NULL DEFAULT 0,
    version          INTEGER NOT NULL DEFAULT 1,
    stage_entered_at TIMESTAMP NOT NULL,
    closed_at        TIMESTAMP,
    created_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
-- The board: open deals of a pipeline per stage, newest in the stage first.
CREATE INDEX deals_board ON deals(pipeline_id, status, stage_id, stage_entered_at, id);
-- The columns' counts and totals: read from this index alone, without a
-- visit to each deal's row.
CREATE INDEX deals_sums ON deals(pipeline_id, status, stage_id, currency, value);
CREATE INDEX deals_stage ON deals(stage_id);
CREATE INDEX deals_owner ON deals(owner_id, status);
CREATE INDEX deals_close ON deals(status, expected_close);
CREATE INDEX deals_closed ON deals(closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX deals_created ON deals(created_at);
CREATE INDEX deals_contact ON deals(contact_id) WHERE contact_id <> 0;
CREATE INDEX deals_company ON deals(company_id) WHERE company_id <> 0;

CREATE TABLE deal_tags (
    deal_id INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (deal_id, tag)
);
CREATE INDEX deal_tags_tag ON deal_tags(tag, deal_id);

-- Every stay of a deal in a stage; the stage's name and kind are kept as
-- they were, so renaming or removing a stage changes no history.
CREATE TABLE deal_stage_history (
    id          INTEGER PRIMARY KEY,
    deal_id     INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    pipeline_id INTEGER NOT NULL,
    stage_id    INTEGER NOT NULL,
    stage_name  TEXT NOT NULL,
    stage_kind  TEXT NOT NULL,
    entered_at  TIMESTAMP NOT NULL,
    left_at     TIMESTAMP,
    actor_id    INTEGER
);
CREATE INDEX deal_stage_history_deal ON deal_stage_history(deal_id, id);
CREATE INDEX deal_stage_history_stage ON deal_stage_history(stage_id, deal_id);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    sku         TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    price       INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    tax_rate    INTEGER NOT NULL DEFAULT 0, -- hundredths of a percent
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX products_sku ON products(sku) WHERE sku <> '';
CREATE INDEX products_name ON products(active, name);

CREATE TABLE deal_lines (
    id         INTEGER PRIMARY KEY,
    deal_id    INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    product_id INTEGER REFERENCES products(id) ON DELETE SET NULL,
    name       TEXT NOT NULL,
    sku        TEXT NOT NULL DEFAULT '',
    quantity   INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    discount   INTEGER NOT NULL DEFAULT 0,
    tax_rate   INTEGER NOT NULL DEFAULT 0,
    subtotal   INTEGER NOT NULL,
    tax        INTEGER NOT NULL,
    total      INTEGER NOT NULL
);
CREATE INDEX deal_lines_deal ON deal_lines(deal_id, position);
CREATE INDEX deal_lines_product ON deal_lines(product_id);

CREATE TABLE quotes (
    id          INTEGER PRIMARY KEY,
    deal_id     INTEGER NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL UNIQUE,
    status      TEXT NOT NULL,             -- draft, sent, accepted, declined
    title       TEXT NOT NULL,
    contact_id  INTEGER NOT NULL DEFAULT 0,
    company_id  INTEGER NOT NULL DEFAULT 0,
    currency    TEXT NOT NULL,
    lines       TEXT NOT NULL DEFAULT '[]', -- the deal's lines when made (JSON)
    subtotal    INTEGER NOT NULL,
    discount    INTEGER NOT NULL DEFAULT 0,
    tax         INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    valid_until TEXT NOT NULL DEFAULT '',
    notes       TEXT NOT NULL DEFAULT '',
    sent_at     TIMESTAMP,
    decided_at  TIMESTAMP,
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX quotes_deal ON quotes(deal_id, id);

-- Activities: a task is a to-do, a call or a meeting, and may be about a
-- deal (then it also shows on the deal's page).
ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'task';
ALTER TABLE tasks ADD COLUMN deal_id INTEGER REFERENCES deals(id) ON DELETE SET NULL;
CREATE INDEX tasks_deal ON tasks(deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX tasks_done ON tasks(done_at) WHERE done_at IS NOT NULL;
