-- The customer club (docs/club.md): programs, tiers, earn rules, members
-- with their balances, the append-only points ledger and the lots it
-- credits, referrals, rewards and redemptions, coupons and their uses,
-- and the log of tier movements.
--
-- club_ledger is append-only: the code only ever INSERTs into it. The
-- balance columns of club_members and the remaining points of club_lots
-- are projections of it kept in the same transactions; the invariant
-- tests recompute them from the ledger.
--
-- contact_id has no foreign key, as in orders: people are merged, deleted
-- and erased by the contact service, and the club follows their events.

CREATE TABLE club_programs (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    currency        TEXT NOT NULL,
    earn_points     INTEGER NOT NULL,            -- earn_points points …
    earn_amount     INTEGER NOT NULL,            -- … per earn_amount minor units
    rounding        TEXT NOT NULL,               -- down, nearest, up
    pending_days    INTEGER NOT NULL DEFAULT 0,  -- the return window
    expiry_months   INTEGER NOT NULL DEFAULT 0,  -- 0: points never expire
    reminder_days   INTEGER NOT NULL DEFAULT 0,  -- 0: no reminder
    tier_window     TEXT NOT NULL,               -- calendar_year, rolling_12m
    downgrade       TEXT NOT NULL,               -- never, window_end, after_days
    downgrade_days  INTEGER NOT NULL DEFAULT 0,
    grace_days      INTEGER NOT NULL DEFAULT 0,
    point_value     INTEGER NOT NULL DEFAULT 0,  -- money (minor units) that value_points points are worth
    value_points    INTEGER NOT NULL DEFAULT 1,
    referrer_points INTEGER NOT NULL DEFAULT 0,
    referee_points  INTEGER NOT NULL DEFAULT 0,
    auto_enrol      BOOLEAN NOT NULL DEFAULT FALSE,
    hold_hours      INTEGER NOT NULL DEFAULT 0,  -- reservations older than this are cancelled; 0: never
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    version         INTEGER NOT NULL DEFAULT 1,   -- bumped by every change to the program, its tiers or rules
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE club_tiers (
    id          INTEGER PRIMARY KEY,
    program_id  INTEGER NOT NULL REFERENCES club_programs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    threshold   INTEGER NOT NULL,            -- qualifying spend, minor units
    multiplier  INTEGER NOT NULL,            -- hundredths: 200 is 2x
    fee         INTEGER NOT NULL DEFAULT 0,  -- price of a paid year in the tier; 0: not for sale
    benefits    TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX club_tiers_threshold ON club_tiers(program_id, threshold);

CREATE TABLE club_rules (
    id          INTEGER PRIMARY KEY,
    program_id  INTEGER NOT NULL REFERENCES club_programs(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,               -- multiplier, bonus, first_purchase, birthday
    priority    INTEGER NOT NULL DEFAULT 0,  -- higher first
    stacking    TEXT NOT NULL,               -- stack, stop
    value       INTEGER NOT NULL,            -- hundredths (multiplier) or points
    sku         TEXT NOT NULL DEFAULT '',
    category    TEXT NOT NULL DEFAULT '',
    tier_id     INTEGER REFERENCES club_tiers(id) ON DELETE CASCADE,
    min_spend   INTEGER NOT NULL DEFAULT 0,
    starts_at   TIMESTAMP,
    ends_at     TIMESTAMP,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX club_rules_program ON club_rules(program_id, priority);

CREATE TABLE club_members (
    id             INTEGER PRIMARY KEY,
    program_id     INTEGER NOT NULL REFERENCES club_programs(id),
    contact_id     INTEGER NOT NULL,
    number         TEXT NOT NULL,
    card_code      TEXT NOT NULL,
    token_hash     TEXT NOT NULL,             -- SHA-256 of the member page token, hex
    referral_code  TEXT NOT NULL,
    referred_by    INTEGER REFERENCES club_members(id),
    tier_id        INTEGER REFERENCES club_tiers(id) ON DELETE SET NULL,
    tier_since     TIMESTAMP,
    tier_review_at TIMESTAMP,                 -- when the downgrade policy looks at the tier again
    grace_until    TIMESTAMP,                 -- in grace: the tier is kept until then
    paid_tier_id   INTEGER REFERENCES club_tiers(id) ON DELETE SET NULL,
    paid_until     TIMESTAMP,
    status         TEXT NOT NULL,             -- active, closed
    enrolled_via   TEXT NOT NULL,             -- staff, web, api, order
    available      INTEGER NOT NULL DEFAULT 0,
    pending        INTEGER NOT NULL DEFAULT 0,
    reserved       INTEGER NOT NULL DEFAULT 0,
    debt           INTEGER NOT NULL DEFAULT 0, -- points owed after a return took back spent points
    earned         INTEGER NOT NULL DEFAULT 0, -- lifetime points credited
    orders         INTEGER NOT NULL DEFAULT 0, -- orders that earned
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX club_members_contact ON club_members(program_id, contact_id);
CREATE UNIQUE INDEX club_members_number ON club_members(number);
CREATE UNIQUE INDEX club_members_card ON club_members(card_code);
CREATE UNIQUE INDEX club_members_token ON club_members(token_hash);
CREATE UNIQUE INDEX club_members_referral ON club_members(referral_code);
CREATE INDEX club_members_contact_id ON club_members(contact_id);
CREATE INDEX club_members_tier ON club_members(program_id, tier_id);
CREATE INDEX club_members_review ON club_members(tier_review_at) WHERE tier_review_at IS NOT NULL;
CREATE INDEX club_members_grace ON club_members(grace_until) WHERE grace_until IS NOT NULL;

-- A lot is one credit of points: an order's earn, a referral bonus, a
-- positive adjustment. Points are spent from lots first earned, first
-- spent (by expiry, then id), and expire by lot.
CREATE TABLE club_lots (
    id          INTEGER PRIMARY KEY,
    member_id   INTEGER NOT NULL REFERENCES club_members(id),
    kind        TEXT NOT NULL,                -- order, referral, adjust
    order_id    INTEGER NOT NULL DEFAULT 0,
    points      INTEGER NOT NULL,             -- credited
    remaining   INTEGER NOT NULL,             -- still in the balance (pending or available)
    pending     BOOLEAN NOT NULL,
    release_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,                    -- NULL: never
    reminded    BOOLEAN NOT NULL DEFAULT FALSE,
    earned_at   TIMESTAMP NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX club_lots_release ON club_lots(release_at) WHERE pending;
CREATE INDEX club_lots_spend ON club_lots(member_id, expires_at, id) WHERE remaining > 0 AND NOT pending;
CREATE INDEX club_lots_expiry ON club_lots(expires_at) WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL;
-- One lot per order and member: a second delivery of an order finds it.
CREATE UNIQUE INDEX club_lots_order ON club_lots(order_id, member_id) WHERE order_id <> 0;

CREATE TABLE club_ledger (
    id              INTEGER PRIMARY KEY,
    member_id       INTEGER NOT NULL REFERENCES club_members(id),
    kind            TEXT NOT NULL,  -- earn, release, reserve, capture, cancel, expire, reverse, adjust, referral
    points          INTEGER NOT NULL, -- net change of the member's total
    available_delta INTEGER NOT NULL DEFAULT 0,
    pending_delta   INTEGER NOT NULL DEFAULT 0,
    reserved_delta  INTEGER NOT NULL DEFAULT 0,
    spend           INTEGER NOT NULL DEFAULT 0, -- change of qualifying spend, minor units
    spend_at        TIMESTAMP NOT NULL,         -- when that spend counts (the order's time)
    lot_id          INTEGER NOT NULL DEFAULT 0,
    order_id        INTEGER NOT NULL DEFAULT 0,
    return_id       INTEGER NOT NULL DEFAULT 0,
    redemption_id   INTEGER NOT NULL DEFAULT 0,
    actor_id        INTEGER NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL DEFAULT '',
    idem_key        TEXT,                       -- one effect per key: earn:<program>:<order> …
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX club_ledger_idem ON club_ledger(idem_key);
CREATE INDEX club_ledger_member ON club_ledger(member_id, id);
CREATE INDEX club_ledger_spend ON club_ledger(member_id, spend_at) WHERE spend <> 0;
CREATE INDEX club_ledger_order ON club_ledger(order_id) WHERE order_id <> 0;
CREATE INDEX club_ledger_created ON club_ledger(created_at);

CREATE TABLE club_referrals (
    referee_id  INTEGER PRIMARY KEY REFERENCES club_members(id),
    referrer_id INTEGER NOT NULL REFERENCES club_members(id),
    status      TEXT NOT NULL,               -- pending, rewarded
    created_at  TIMESTAMP NOT NULL,
    rewarded_at TIMESTAMP
);
CREATE INDEX club_referrals_referrer ON club_referrals(referrer_id);

CREATE TABLE club_tier_changes (
    id          INTEGER PRIMARY KEY,
    program_id  INTEGER NOT NULL REFERENCES club_programs(id),
    member_id   INTEGER NOT NULL REFERENCES club_members(id),
    from_tier   INTEGER NOT NULL DEFAULT 0,
    to_tier     INTEGER NOT NULL DEFAULT 0,
    direction   TEXT NOT NULL,               -- up, down, grace
    reason      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX club_tier_changes_program ON club_tier_changes(program_id, created_at);
CREATE INDEX club_tier_changes_member ON club_tier_changes(member_id, id);

CREATE TABLE club_rewards (
    id               INTEGER PRIMARY KEY,
    program_id       INTEGER NOT NULL REFERENCES club_programs(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL,           -- gift_card, free_product, coupon
    cost             INTEGER NOT NULL,        -- points
    value            INTEGER NOT NULL DEFAULT 0, -- gift card or fixed discount, minor units
    percent          INTEGER NOT NULL DEFAULT 0, -- percent discount
    sku              TEXT NOT NULL DEFAULT '',
    stock            INTEGER,                 -- NULL: unlimited
    issued           INTEGER NOT NULL DEFAULT 0, -- redemptions reserved or captured
    per_member_limit INTEGER NOT NULL DEFAULT 0, -- 0: no limit
    valid_days       INTEGER NOT NULL DEFAULT 0, -- of the voucher it issues; 0: no end
    starts_at        TIMESTAMP,
    ends_at          TIMESTAMP,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX club_rewards_program ON club_rewards(program_id, id);

CREATE TABLE club_redemptions (
    id          INTEGER PRIMARY KEY,
    reward_id   INTEGER NOT NULL REFERENCES club_rewards(id),
    member_id   INTEGER NOT NULL REFERENCES club_members(id),
    points      INTEGER NOT NULL,
    status      TEXT NOT NULL,               -- reserved, captured, cancelled
    coupon_id   INTEGER NOT NULL DEFAULT 0,  -- the voucher issued at capture
    reference   TEXT NOT NULL DEFAULT '',
    hold_until  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX club_redemptions_member ON club_redemptions(member_id, id);
CREATE INDEX club_redemptions_reward ON club_redemptions(reward_id, member_id, status);
CREATE INDEX club_redemptions_hold ON club_redemptions(hold_until) WHERE status = 'reserved';

-- A reservation takes points from lots; cancelling gives them back to the
-- same lots.
CREATE TABLE club_redemption_lots (
    redemption_id INTEGER NOT NULL REFERENCES club_redemptions(id),
    lot_id        INTEGER NOT NULL REFERENCES club_lots(id),
    points        INTEGER NOT NULL,
    PRIMARY KEY (redemption_id, lot_id)
);

CREATE TABLE club_coupon_batches (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    prefix      TEXT NOT NULL DEFAULT '',
    count       INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE club_coupons (
    id               INTEGER PRIMARY KEY,
    code             TEXT NOT NULL,
    batch_id         INTEGER REFERENCES club_coupon_batches(id),
    kind             TEXT NOT NULL,             -- percent, fixed, product
    value            INTEGER NOT NULL,          -- percent, or minor units
    currency         TEXT NOT NULL DEFAULT '',
    sku              TEXT NOT NULL DEFAULT '',
    min_spend        INTEGER NOT NULL DEFAULT 0,
    max_uses         INTEGER NOT NULL DEFAULT 0, -- 0: no limit
    per_member_limit INTEGER NOT NULL DEFAULT 0, -- 0: no limit
    uses             INTEGER NOT NULL DEFAULT 0,
    member_id        INTEGER NOT NULL DEFAULT 0, -- only this member may use it (a reward's voucher)
    starts_at        TIMESTAMP,
    ends_at          TIMESTAMP,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX club_coupons_code ON club_coupons(code);
CREATE INDEX club_coupons_batch ON club_coupons(batch_id, id) WHERE batch_id IS NOT NULL;

CREATE TABLE club_coupon_uses (
    id          INTEGER PRIMARY KEY,
    coupon_id   INTEGER NOT NULL REFERENCES club_coupons(id),
    contact_id  INTEGER NOT NULL DEFAULT 0,
    order_id    INTEGER NOT NULL DEFAULT 0,
    reference   TEXT NOT NULL,               -- the order's source:external id, or order:<id>
    amount      INTEGER NOT NULL DEFAULT 0,  -- the order amount it was used on
    discount    INTEGER NOT NULL DEFAULT 0,
    over_limit  BOOLEAN NOT NULL DEFAULT FALSE, -- recorded from an order although a limit was reached
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX club_coupon_uses_ref ON club_coupon_uses(coupon_id, reference);
CREATE INDEX club_coupon_uses_contact ON club_coupon_uses(coupon_id, contact_id);
CREATE INDEX club_coupon_uses_created ON club_coupon_uses(created_at);
