-- The service desk (internal/desk): tickets and their conversation,
-- attachments, SLA policies on business calendars with one timer row per
-- ticket and metric, status and field history, escalations, agents'
-- capacity and teams' assignment modes, canned replies, satisfaction
-- surveys and return requests. The desk's settings are rows of settings
-- (keys desk and desk.*).
--
-- desk_tickets.contact_id has no foreign key, as orders.contact_id: the
-- desk follows contact.merged, contact.deleted and contact.erased events
-- and moves or detaches its rows itself (0: nobody).

CREATE TABLE desk_calendars (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    time_zone  TEXT NOT NULL,
    hours      TEXT NOT NULL DEFAULT '[]',  -- [{"day":6,"start":"08:00","end":"16:00"}, …]
    holidays   TEXT NOT NULL DEFAULT '[]',  -- [{"date":"2026-03-21","name":"Nowruz"}, …]
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE desk_sla_policies (
    id                     INTEGER PRIMARY KEY,
    name                   TEXT NOT NULL,
    position               INTEGER NOT NULL,
    active                 BOOLEAN NOT NULL DEFAULT TRUE,
    conditions             TEXT NOT NULL DEFAULT '{}',
    calendar_id            INTEGER REFERENCES desk_calendars(id),
    first_response_minutes INTEGER NOT NULL,
    resolution_minutes     INTEGER NOT NULL,
    warn_minutes           INTEGER NOT NULL DEFAULT 0,
    pause_on_hold          BOOLEAN NOT NULL DEFAULT FALSE,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);

CREATE TABLE desk_tickets (
    id                 INTEGER PRIMARY KEY,
    ref                TEXT NOT NULL,           -- the code of the subject token [#42-K7Q2M]
    subject            TEXT NOT NULL,
    contact_id         INTEGER NOT NULL DEFAULT 0,
    channel            TEXT NOT NULL,
    category           TEXT NOT NULL DEFAULT '',
    priority           TEXT NOT NULL,
    tier               TEXT NOT NULL,
    status             TEXT NOT NULL,
    assignee_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    team_id            INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    custom             TEXT NOT NULL DEFAULT '{}',
    sla_policy_id      INTEGER REFERENCES desk_sla_policies(id) ON DELETE SET NULL,
    first_responded_at TIMESTAMP,
    solved_at          TIMESTAMP,
    closed_at          TIMESTAMP,
    last_customer_at   TIMESTAMP,
    last_agent_at      TIMESTAMP,
    rating             INTEGER NOT NULL DEFAULT 0,
    follow_up_of       INTEGER NOT NULL DEFAULT 0,
    version            INTEGER NOT NULL DEFAULT 1,
    created_by         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX desk_tickets_status ON desk_tickets(status, id);
CREATE INDEX desk_tickets_assignee ON desk_tickets(assignee_id, status, id);
CREATE INDEX desk_tickets_team ON desk_tickets(team_id, status, id);
CREATE INDEX desk_tickets_contact ON desk_tickets(contact_id, id) WHERE contact_id <> 0;
CREATE INDEX desk_tickets_created ON desk_tickets(created_at);
CREATE INDEX desk_tickets_solved ON desk_tickets(solved_at) WHERE solved_at IS NOT NULL;

CREATE TABLE desk_ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (ticket_id, tag)
);
CREATE INDEX desk_ticket_tags_tag ON desk_ticket_tags(tag, ticket_id);

-- Every change of status, assignee, team, tier, priority or category; the
-- SLA timers are recomputed from the status rows.
CREATE TABLE desk_ticket_history (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    old_value  TEXT NOT NULL DEFAULT '',
    new_value  TEXT NOT NULL DEFAULT '',
    actor_id   INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX desk_ticket_history_ticket ON desk_ticket_history(ticket_id, id);

CREATE TABLE desk_messages (
    id             INTEGER PRIMARY KEY,
    ticket_id      INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL,              -- public, note
    direction      TEXT NOT NULL,              -- in, out
    author_id      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    contact_id     INTEGER NOT NULL DEFAULT 0,
    body           TEXT NOT NULL,
    from_address   TEXT NOT NULL DEFAULT '',
    to_address     TEXT NOT NULL DEFAULT '',
    message_id     TEXT NOT NULL DEFAULT '',   -- the email's Message-ID, without brackets
    in_reply_to    TEXT NOT NULL DEFAULT '',
    refs           TEXT NOT NULL DEFAULT '[]', -- References, oldest first
    delivery       TEXT NOT NULL DEFAULT '',
    delivery_error TEXT NOT NULL DEFAULT '',
    auto           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX desk_messages_ticket ON desk_messages(ticket_id, id);
-- Threading and inbound dedupe: each Message-ID is stored once.
CREATE UNIQUE INDEX desk_messages_message_id ON desk_messages(message_id) WHERE message_id <> '';

CREATE TABLE desk_attachments (
    id           INTEGER PRIMARY KEY,
    message_id   INTEGER NOT NULL REFERENCES desk_messages(id) ON DELETE CASCADE,
    ticket_id    INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,                -- sniffed from the bytes
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    data         BLOB NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX desk_attachments_message ON desk_attachments(message_id);
CREATE INDEX desk_attachments_ticket ON desk_attachments(ticket_id);

-- One timer per ticket and metric. A warning and a breach are written
-- once each: the job that fires them sets warned_at / breached_at only
-- where they are still NULL.
CREATE TABLE desk_sla_timers (
    id           INTEGER PRIMARY KEY,
    ticket_id    INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    metric       TEXT NOT NULL,
    policy_id    INTEGER,
    due_at       TIMESTAMP,                    -- NULL while paused
    warn_at      TIMESTAMP,
    remaining    INTEGER NOT NULL DEFAULT 0,   -- business minutes left, while paused
    paused       BOOLEAN NOT NULL DEFAULT FALSE,
    satisfied_at TIMESTAMP,
    warned_at    TIMESTAMP,
    breached_at  TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, metric)
);
CREATE INDEX desk_sla_timers_due ON desk_sla_timers(due_at) WHERE satisfied_at IS NULL AND due_at IS NOT NULL;

CREATE TABLE desk_escalation_rules (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    position   INTEGER NOT NULL,
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    fires_on   TEXT NOT NULL,                  -- created, warning, breach
    conditions TEXT NOT NULL DEFAULT '{}',     -- metrics, priorities, categories
    to_tier    TEXT NOT NULL DEFAULT '',
    to_team_id INTEGER REFERENCES teams(id) ON DELETE SET NULL,
    raise_priority BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE desk_escalations (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    from_tier  TEXT NOT NULL,
    to_tier    TEXT NOT NULL,
    from_team  INTEGER NOT NULL DEFAULT 0,
    to_team    INTEGER NOT NULL DEFAULT 0,
    rule_id    INTEGER NOT NULL DEFAULT 0,
    reason     TEXT NOT NULL DEFAULT '',
    actor_id   INTEGER,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX desk_escalations_ticket ON desk_escalations(ticket_id, id);

-- Agents' capacity and presence; a row is made the first time an agent
-- is assigned or edits their settings. The row is also the lock that
-- keeps concurrent assignments within capacity.
CREATE TABLE desk_agents (
    user_id          INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    capacity         INTEGER NOT NULL DEFAULT 20,
    away             BOOLEAN NOT NULL DEFAULT FALSE,
    last_assigned_at TIMESTAMP,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE desk_teams (
    team_id    INTEGER PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    assignment TEXT NOT NULL,                  -- manual, round_robin, least_busy
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE desk_canned_replies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    bodies     TEXT NOT NULL DEFAULT '{}',     -- {"en": …, "fa": …, "ar": …}
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE desk_surveys (
    id          INTEGER PRIMARY KEY,
    ticket_id   INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    contact_id  INTEGER NOT NULL DEFAULT 0,
    agent_id    INTEGER NOT NULL DEFAULT 0,
    resolution  INTEGER NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,          -- SHA-256 of the link's token, hex
    rating      INTEGER NOT NULL DEFAULT 0,
    comment     TEXT NOT NULL DEFAULT '',
    sent_at     TIMESTAMP,
    answered_at TIMESTAMP,
    expires_at  TIMESTAMP NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (ticket_id, resolution)
);
CREATE INDEX desk_surveys_answered ON desk_surveys(answered_at) WHERE answered_at IS NOT NULL;

CREATE TABLE desk_returns (
    id            INTEGER PRIMARY KEY,
    ticket_id     INTEGER NOT NULL REFERENCES desk_tickets(id) ON DELETE CASCADE,
    contact_id    INTEGER NOT NULL DEFAULT 0,
    order_id      INTEGER NOT NULL DEFAULT 0,
    order_line_id INTEGER NOT NULL DEFAULT 0,
    product       TEXT NOT NULL,
    sku           TEXT NOT NULL DEFAULT '',
    quantity      INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    resolution    TEXT NOT NULL DEFAULT '',
    notes         TEXT NOT NULL DEFAULT '',
    created_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMP NOT NULL,
    resolved_at   TIMESTAMP,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX desk_returns_ticket ON desk_returns(ticket_id, id);
CREATE INDEX desk_returns_created ON desk_returns(created_at);
