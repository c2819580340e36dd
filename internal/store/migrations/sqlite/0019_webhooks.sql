-- Webhooks (internal/webhook): outbound subscriptions with their signing
-- secret, one delivery per event and subscription (the unique index makes
-- a repeated event handler add nothing), the log of HTTP attempts, and
-- inbound hooks with the JSON they received. The installation's rules
-- (hosts allowed over http or on private addresses) are the settings row
-- "webhooks".

CREATE TABLE webhook_subscriptions (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    url          TEXT NOT NULL,
    event_types  TEXT NOT NULL,             -- space separated: contact.created deal.* …
    secret       TEXT NOT NULL,             -- kept to sign with; shown to people once
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    failures     INTEGER NOT NULL DEFAULT 0, -- failed deliveries in a row
    disabled_at  TIMESTAMP,                 -- switched off after repeated failures
    last_success TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_id        INTEGER,                -- NULL for a test ping
    event_type      TEXT NOT NULL,
    body            TEXT NOT NULL,          -- the JSON sent, the same bytes on every attempt
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    status_code     INTEGER NOT NULL DEFAULT 0,
    manual          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries(subscription_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX webhook_deliveries_sub ON webhook_deliveries(subscription_id, id);

CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    latency_ms   INTEGER NOT NULL,
    status_code  INTEGER NOT NULL,
    error        TEXT NOT NULL DEFAULT '',
    response     TEXT NOT NULL DEFAULT '',
    retry_at     TIMESTAMP
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);

CREATE TABLE webhook_inbound (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    token_prefix TEXT NOT NULL,
    token_hash   TEXT NOT NULL,             -- SHA-256 of the whole token, hex
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    received     INTEGER NOT NULL DEFAULT 0,
    last_at      TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX webhook_inbound_prefix ON webhook_inbound(token_prefix);

CREATE TABLE webhook_receipts (
    id          INTEGER PRIMARY KEY,
    hook_id     INTEGER NOT NULL REFERENCES webhook_inbound(id) ON DELETE CASCADE,
    event_id    INTEGER NOT NULL,
    received_at TIMESTAMP NOT NULL,
    remote_ip   TEXT NOT NULL DEFAULT '',
    size        INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX webhook_receipts_hook ON webhook_receipts(hook_id, id);
