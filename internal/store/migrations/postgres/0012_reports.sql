-- Reports (docs/analytics.md, "Dashboards"): aggregates the dashboards
-- read instead of the orders, so that a dashboard costs the same at a
-- thousand orders and at ten million. They are projections of the orders
-- table, kept by the reports service (internal/report):
--
-- * its event subscriber marks what an order, a return or a merge of
--   people changed (report_dirty) in the same transaction as its cursor;
-- * its worker recomputes each marked day and customer from the orders
--   themselves (so a mark handled twice does no harm) and applies the
--   change of each customer to the cohort counts;
-- * it rebuilds everything from the orders when the business time zone
--   changes, when someone asks, and the first time it runs.
--
-- Days are local dates in the business time zone (report_state
-- 'time_zone'), written yyyymmdd. Months are numbered year*12 + month - 1
-- in their calendar (gregorian or jalali) of those local dates.

CREATE TABLE report_state (
    key        TEXT PRIMARY KEY,   -- time_zone, zone, built_at, rebuild, lease …
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Orders placed on a day, by currency and channel: their number, what
-- they cost (orders.total, after discounts), the money refunded for them
-- so far (orders.returned_total, whenever the return was made) and the
-- order-level discounts.
CREATE TABLE report_days (
    day      BIGINT NOT NULL,
    currency TEXT NOT NULL,
    channel  TEXT NOT NULL,
    orders   BIGINT NOT NULL,
    gross    BIGINT NOT NULL,
    returned BIGINT NOT NULL,
    discount BIGINT NOT NULL,
    PRIMARY KEY (day, currency, channel)
);

-- Returns made on a day, by the order's currency and the reason.
CREATE TABLE report_return_days (
    day      BIGINT NOT NULL,
    currency TEXT NOT NULL,
    reason   TEXT NOT NULL,
    returns  BIGINT NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (day, currency, reason)
);

-- Each customer's months with an order, in both calendars, ascending and
-- comma-separated: what the customer adds to report_cohorts, so that a
-- change is applied as a difference.
CREATE TABLE report_customers (
    contact_id BIGINT PRIMARY KEY,
    months_g   TEXT NOT NULL,
    months_j   TEXT NOT NULL
);

-- Each customer's orders and net spend (total − returned) per currency,
-- for the Pareto curve.
CREATE TABLE report_customer_net (
    contact_id BIGINT NOT NULL,
    currency   TEXT NOT NULL,
    orders     BIGINT NOT NULL,
    net        BIGINT NOT NULL,
    PRIMARY KEY (contact_id, currency)
);
CREATE INDEX report_customer_net_rank ON report_customer_net(currency, net);

-- Customers whose first order was in month cohort and who ordered in
-- month (cohort itself: the cohort's size, and its new customers; the
-- sum over cohorts for a month: the customers active in it).
CREATE TABLE report_cohorts (
    calendar  TEXT NOT NULL,
    cohort    BIGINT NOT NULL,
    month     BIGINT NOT NULL,
    customers BIGINT NOT NULL,
    PRIMARY KEY (calendar, cohort, month)
);
CREATE INDEX report_cohorts_month ON report_cohorts(calendar, month);

-- What the worker must recompute: kind day (a day of report_days),
-- return_day, or contact. after_event: not before the orders module has
-- handled that event (a merge moves orders after it).
CREATE TABLE report_dirty (
    kind        TEXT NOT NULL,
    id          BIGINT NOT NULL,
    after_event BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, id)
);

-- Figures that take a scan of a big table (the Pareto curve over every
-- customer, the club's outstanding points), computed by the worker when
-- stale and kept as JSON.
CREATE TABLE report_cache (
    key         TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL
);

-- Recomputing a day of returns reads them by when they were made.
CREATE INDEX report_order_returns_created ON order_returns(created_at);
