-- Campaigns: A/B tests and revenue attribution (docs/marketing.md).
--
-- campaigns.ab_test holds the test's settings as JSON ('' when the campaign
-- is not a test): the variants other than A (A is the campaign's own
-- content), the test share of the audience, the metric and the wait.
-- ab_winner is the chosen variant (-1 until chosen), ab_decide_at when the
-- decision job runs, ab_decided_at when it ran.
ALTER TABLE campaigns ADD COLUMN ab_test TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN ab_winner INTEGER NOT NULL DEFAULT -1;
ALTER TABLE campaigns ADD COLUMN ab_decide_at TIMESTAMPTZ;
ALTER TABLE campaigns ADD COLUMN ab_decided_at TIMESTAMPTZ;

-- A delivery's variant (0 = A). The rest of a test's audience waits as
-- status 'held' with variant -1 until the winner is sent to it; ab_rest
-- marks those rows so results per variant compare the test groups only.
ALTER TABLE campaign_deliveries ADD COLUMN variant INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaign_deliveries ADD COLUMN ab_rest BOOLEAN NOT NULL DEFAULT FALSE;

-- The end of the delivery's attribution window: sent_at + the campaign's
-- attribution days, moved to the first click + those days on a click.
-- Orders of the person placed in [sent_at, attribution_until) count as the
-- campaign's revenue (read at query time, net of returns).
ALTER TABLE campaign_deliveries ADD COLUMN attribution_until TIMESTAMPTZ;

-- Campaign engagement conditions of segments (campaigns.opened …) group
-- deliveries by person.
CREATE INDEX campaign_deliveries_opened ON campaign_deliveries(contact_id, opened_at) WHERE opened_at IS NOT NULL;
CREATE INDEX campaign_deliveries_clicked ON campaign_deliveries(contact_id, clicked_at) WHERE clicked_at IS NOT NULL;

-- Attributed orders are looked up by person and time.
CREATE INDEX orders_contact_placed ON orders(contact_id, placed_at);

-- Messages sent before this migration: their window from the send or the
-- first click.
UPDATE campaign_deliveries d SET attribution_until = COALESCE(d.clicked_at, d.sent_at) + make_interval(days => c.attribution_days::int)
FROM campaigns c WHERE c.id = d.campaign_id AND d.sent_at IS NOT NULL;
