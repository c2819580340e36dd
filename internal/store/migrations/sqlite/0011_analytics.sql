-- Customer analytics results (docs/analytics.md, "Stored results"): one
-- row per recompute run, the per-customer scores of each run, and the
-- basket analysis (items, often-bought-together pairs, association rules)
-- of each run. A run writes its rows under its own run_id while the
-- previous results stay in use; analytics_current names the run readers
-- use, and is switched in one transaction when a run has finished, so a
-- run that fails or is killed half way leaves the results in use intact.
-- The rows of runs no longer current are deleted afterwards, in batches.
--
-- contact_id has no foreign key, as in orders: people are merged, deleted
-- and erased by the contact service, and the analytics service deletes
-- their rows when it hears of it (contact.merged, contact.deleted,
-- contact.erased). Money is integer minor units of the run's currency.

CREATE TABLE analytics_runs (
    id               INTEGER PRIMARY KEY,
    status           TEXT NOT NULL,              -- queued, running, done, failed
    via              TEXT NOT NULL,              -- how it was asked for: nightly, web, api, cli
    requested_by     INTEGER,                    -- the user who asked; NULL for the nightly run and the CLI
    params           TEXT NOT NULL DEFAULT '{}', -- the settings the run used (JSON)
    currency         TEXT NOT NULL DEFAULT '',   -- the currency scored; '' until chosen
    observed_to      TEXT NOT NULL DEFAULT '',   -- last day observed, YYYY-MM-DD in the run's time zone
    phase            TEXT NOT NULL DEFAULT '',   -- reading, fitting, scoring, writing, baskets, switching
    done_n           INTEGER NOT NULL DEFAULT 0, -- progress of the phase: done_n of total_n
    total_n          INTEGER NOT NULL DEFAULT 0,
    orders_n         INTEGER NOT NULL DEFAULT 0, -- orders scored (in the currency, not fully returned)
    customers_n      INTEGER NOT NULL DEFAULT 0,
    repeat_n         INTEGER NOT NULL DEFAULT 0, -- customers with a repeat purchase (frequency > 0)
    skipped          TEXT NOT NULL DEFAULT '{}', -- what was left out and why (JSON; see docs)
    model_status     TEXT NOT NULL DEFAULT '',   -- ok, too_few, not_converged, failed
    spend_status     TEXT NOT NULL DEFAULT '',   -- ok, too_few, not_converged, infinite_mean, failed, skipped
    bgnbd            TEXT NOT NULL DEFAULT '',   -- the BG/NBD fit (JSON), '' when not fitted
    gamma_gamma      TEXT NOT NULL DEFAULT '',   -- the Gamma-Gamma fit (JSON), '' when not fitted
    log_likelihood   REAL,                       -- of the BG/NBD fit
    basket_status    TEXT NOT NULL DEFAULT '',   -- ok, too_few, too_many, failed
    baskets_n        INTEGER NOT NULL DEFAULT 0,
    itemsets_n       INTEGER NOT NULL DEFAULT 0,
    rules_n          INTEGER NOT NULL DEFAULT 0,
    timings          TEXT NOT NULL DEFAULT '{}', -- milliseconds per phase (JSON)
    message          TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    cleared          BOOLEAN NOT NULL DEFAULT FALSE, -- its result rows were deleted (no longer current)
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX analytics_runs_status ON analytics_runs(status, id);

-- The run whose results are in use: one row, or none before the first
-- run has finished.
CREATE TABLE analytics_current (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    run_id    INTEGER NOT NULL
);

CREATE TABLE customer_scores (
    run_id             INTEGER NOT NULL,
    contact_id         INTEGER NOT NULL,
    currency           TEXT NOT NULL,
    orders_n           INTEGER NOT NULL,   -- orders counted
    total_spent        INTEGER NOT NULL,   -- net of returns
    first_order_at     TIMESTAMP NOT NULL,
    last_order_at      TIMESTAMP NOT NULL,
    frequency          INTEGER NOT NULL,   -- repeat purchase periods (lifetimes)
    recency            REAL NOT NULL,      -- first to last purchase, in the run's unit
    age                REAL NOT NULL,      -- T: first purchase to the end of observation
    monetary_value     INTEGER NOT NULL,   -- mean value of the repeat purchases
    recency_days       INTEGER NOT NULL,   -- RFM: days from the last purchase to the snapshot
    r_score            INTEGER NOT NULL,
    f_score            INTEGER NOT NULL,
    m_score            INTEGER NOT NULL,
    rfm_cell           TEXT NOT NULL,
    segment            TEXT NOT NULL,
    prev_segment       TEXT,               -- the segment in the run before; NULL when not scored then
    p_alive            REAL,               -- NULL when the BG/NBD model was not fitted
    churn_risk         REAL,
    churn_band         TEXT,               -- low, medium, high
    expected_purchases REAL,               -- in the next predict_periods periods
    expected_value     INTEGER,            -- E[M]: the expected value of a future purchase
    clv                INTEGER,            -- NULL when the spend model was not fitted
    PRIMARY KEY (run_id, contact_id)
);
CREATE INDEX customer_scores_segment ON customer_scores(run_id, segment, contact_id);
CREATE INDEX customer_scores_churn ON customer_scores(run_id, churn_band, total_spent);
CREATE INDEX customer_scores_clv ON customer_scores(run_id, clv);

-- Basket analysis: an item is a SKU ("sku:T1"), or a line's name when it
-- has no SKU ("name:Tea").
CREATE TABLE analytics_items (
    run_id    INTEGER NOT NULL,
    item      TEXT NOT NULL,
    sku       TEXT NOT NULL DEFAULT '',
    name      TEXT NOT NULL DEFAULT '',
    baskets_n INTEGER NOT NULL,   -- orders holding it
    PRIMARY KEY (run_id, item)
);
CREATE INDEX analytics_items_count ON analytics_items(run_id, baskets_n);

-- Often bought together: the frequent pairs of each item, as item ⇒ other.
CREATE TABLE analytics_pairs (
    run_id     INTEGER NOT NULL,
    item       TEXT NOT NULL,
    other      TEXT NOT NULL,
    rank_n     INTEGER NOT NULL,  -- 1 = best (by lift, then count)
    count_n    INTEGER NOT NULL,
    confidence REAL NOT NULL,
    lift       REAL NOT NULL,
    PRIMARY KEY (run_id, item, rank_n)
);

-- Association rules lhs ⇒ rhs (one item), ranked by lift, confidence,
-- count; analytics_rule_items lists the items of each left-hand side, to
-- find the rules that apply to what a customer (or a deal) already has.
CREATE TABLE analytics_rules (
    run_id     INTEGER NOT NULL,
    rank_n     INTEGER NOT NULL,
    lhs        TEXT NOT NULL,      -- JSON array of items
    lhs_n      INTEGER NOT NULL,
    rhs        TEXT NOT NULL,
    count_n    INTEGER NOT NULL,
    support    REAL NOT NULL,
    confidence REAL NOT NULL,
    lift       REAL NOT NULL,
    PRIMARY KEY (run_id, rank_n)
);
CREATE TABLE analytics_rule_items (
    run_id INTEGER NOT NULL,
    item   TEXT NOT NULL,
    rank_n INTEGER NOT NULL,
    PRIMARY KEY (run_id, item, rank_n)
);
