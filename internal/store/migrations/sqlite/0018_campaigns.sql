-- Campaigns (internal/campaign): email and SMS campaigns, one delivery row
-- per (campaign, contact), tracking events, and the addresses that bounced
-- or complained. Settings are rows of settings (key campaign.settings).
--
-- campaign_deliveries.contact_id has no foreign key: a delivery is a record
-- of what was sent; erasing a person erases their rows (store
-- EraseCampaignContact), merging moves them.

CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL,
    channel          TEXT NOT NULL,             -- email, sms
    status           TEXT NOT NULL,             -- draft, sending, paused, done, cancelled
    audience_kind    TEXT NOT NULL,             -- all, segment, list
    audience_id      INTEGER NOT NULL DEFAULT 0,
    from_name        TEXT NOT NULL DEFAULT '',
    from_address     TEXT NOT NULL DEFAULT '',
    default_language TEXT NOT NULL DEFAULT 'en',
    content          TEXT NOT NULL DEFAULT '{}', -- {"en": {"subject", "html", "text", "sms"}, "fa": …}
    coupon_batch_id  INTEGER NOT NULL DEFAULT 0,
    attribution_days INTEGER NOT NULL DEFAULT 7,
    audience_count   INTEGER NOT NULL DEFAULT 0,
    audience_ready   BOOLEAN NOT NULL DEFAULT FALSE,
    lease_token      TEXT NOT NULL DEFAULT '',  -- the sender holding the campaign
    lease_until      TIMESTAMP,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    created_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX campaigns_status ON campaigns(status, id);

CREATE TABLE campaign_deliveries (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    contact_id      INTEGER NOT NULL,
    status          TEXT NOT NULL,              -- queued, sending, sent, failed, skipped
    reason          TEXT NOT NULL DEFAULT '',
    address         TEXT NOT NULL DEFAULT '',
    language        TEXT NOT NULL DEFAULT '',
    coupon_id       INTEGER,
    coupon_code     TEXT NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    claim_token     TEXT NOT NULL DEFAULT '',
    next_at         TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    opened_at       TIMESTAMP,
    clicked_at      TIMESTAMP,
    unsubscribed_at TIMESTAMP,
    bounced_at      TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX campaign_deliveries_one ON campaign_deliveries(campaign_id, contact_id);
CREATE INDEX campaign_deliveries_queue ON campaign_deliveries(campaign_id, status, next_at, id);
CREATE INDEX campaign_deliveries_contact ON campaign_deliveries(contact_id, sent_at);
CREATE INDEX campaign_deliveries_sent ON campaign_deliveries(sent_at) WHERE sent_at IS NOT NULL;
CREATE UNIQUE INDEX campaign_deliveries_coupon ON campaign_deliveries(coupon_id) WHERE coupon_id IS NOT NULL;

-- Opens, clicks, unsubscribes, bounces: the results over time.
CREATE TABLE campaign_events (
    id          INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    delivery_id INTEGER NOT NULL,
    kind        TEXT NOT NULL,                  -- opened, clicked, unsubscribed, bounced
    url         TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX campaign_events_campaign ON campaign_events(campaign_id, kind, created_at);
CREATE INDEX campaign_events_delivery ON campaign_events(delivery_id);

-- Addresses never to send to again: hard bounces and complaints.
CREATE TABLE campaign_suppressions (
    channel    TEXT NOT NULL,                   -- email, sms
    address    TEXT NOT NULL,                   -- lower-cased email, E.164 phone
    reason     TEXT NOT NULL,                   -- hard_bounce, complaint
    detail     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (channel, address)
);
