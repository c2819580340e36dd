-- Lead capture and scoring (internal/leadform, docs/marketing.md "Lead
-- capture forms" and "Lead scoring"). A form's fields are JSON (the
-- definitions leadform.ParseFields checks); its public address is
-- /f/<public_id>. A submission keeps what was typed, the person and the
-- lead it made, and the consent wording shown; a double opt-in submission
-- waits in status pending until its link is followed. Scoring rules give
-- points for attributes (a condition of the segment language) or for
-- behaviour (events of a type, optionally within N days); contact_scores
-- holds each person's total (no row: 0), recomputed by a job when the
-- rules change and per person when an event about them arrives.

CREATE TABLE lead_forms (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    public_id       TEXT NOT NULL UNIQUE,
    language        TEXT NOT NULL,
    fields          TEXT NOT NULL,
    consent_channel TEXT NOT NULL DEFAULT '',
    consent_text    TEXT NOT NULL DEFAULT '',
    double_opt_in   BOOLEAN NOT NULL DEFAULT FALSE,
    lead_source     TEXT NOT NULL DEFAULT '',
    owner_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    thanks_text     TEXT NOT NULL DEFAULT '',
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE lead_form_submissions (
    id           INTEGER PRIMARY KEY,
    form_id      INTEGER NOT NULL REFERENCES lead_forms(id) ON DELETE CASCADE,
    contact_id   INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
    lead_id      INTEGER REFERENCES leads(id) ON DELETE SET NULL,
    field_values TEXT NOT NULL,
    language     TEXT NOT NULL,
    consent_text TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,             -- received, pending (double opt-in), confirmed
    ip           TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP
);
CREATE INDEX lead_form_submissions_form ON lead_form_submissions(form_id, id);
CREATE INDEX lead_form_submissions_contact ON lead_form_submissions(contact_id);

CREATE TABLE lead_score_rules (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,              -- attribute or behaviour
    condition   TEXT NOT NULL DEFAULT '',   -- attribute: a condition tree (JSON)
    event_type  TEXT NOT NULL DEFAULT '',   -- behaviour: the event type counted
    within_days INTEGER NOT NULL DEFAULT 0, -- behaviour: only events this recent (0: all)
    points      INTEGER NOT NULL,
    max_points  INTEGER NOT NULL DEFAULT 0, -- behaviour: at most this many points (0: no cap)
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE contact_scores (
    contact_id  INTEGER PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    score       INTEGER NOT NULL,
    computed_at TIMESTAMP NOT NULL
);
CREATE INDEX contact_scores_score ON contact_scores(score);
