-- Workflows (internal/workflow): a workflow with its editable draft, its
-- published immutable versions (a run keeps the version it started with),
-- runs of one record through one version, and each run's step log (one row
-- per run and step: the key that makes a step idempotent).

CREATE TABLE workflows (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'draft',  -- draft, enabled, disabled
    draft          TEXT NOT NULL,                  -- the definition being edited (JSON)
    published_id   INTEGER,                        -- workflow_versions.id new runs start with
    trigger_kind   TEXT NOT NULL DEFAULT '',       -- of the published version
    version        INTEGER NOT NULL DEFAULT 1,     -- optimistic lock
    created_by     INTEGER,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX workflows_trigger ON workflows(status, trigger_kind);

CREATE TABLE workflow_versions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id  INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    published_by INTEGER,
    published_at TIMESTAMP NOT NULL,
    UNIQUE (workflow_id, number)
);

CREATE TABLE workflow_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version_id  INTEGER NOT NULL REFERENCES workflow_versions(id),
    object      TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    contact_id  INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,             -- active, completed, exited, failed, cancelled
    reason      TEXT NOT NULL DEFAULT '',  -- why it started
    event_id    INTEGER NOT NULL DEFAULT 0,
    trigger_key TEXT,                      -- event:41, schedule:2026-12-05: one run per trigger occurrence
    next_step   TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    steps       INTEGER NOT NULL DEFAULT 0,
    started_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    ended_at    TIMESTAMP
);
-- A record is in at most one active run of a workflow.
CREATE UNIQUE INDEX workflow_runs_active ON workflow_runs(workflow_id, object, record_id) WHERE status = 'active';
CREATE UNIQUE INDEX workflow_runs_trigger ON workflow_runs(workflow_id, object, record_id, trigger_key) WHERE trigger_key IS NOT NULL;
CREATE INDEX workflow_runs_record ON workflow_runs(workflow_id, object, record_id, started_at);
CREATE INDEX workflow_runs_status ON workflow_runs(status, id);
CREATE INDEX workflow_runs_workflow ON workflow_runs(workflow_id, id);
CREATE INDEX workflow_runs_contact ON workflow_runs(contact_id, id);

CREATE TABLE workflow_run_steps (
    run_id     INTEGER NOT NULL REFERENCES workflow_runs(id) ON DELETE CASCADE,
    path       TEXT NOT NULL,              -- the step's place in the version: 0, 2.then.1
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,              -- pending, done, skipped, failed
    detail     TEXT NOT NULL DEFAULT '',
    attempts   INTEGER NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    started_at TIMESTAMP NOT NULL,
    done_at    TIMESTAMP,
    PRIMARY KEY (run_id, path)
);

-- Round-robin assignment: the last user chosen, per workflow step.
CREATE TABLE workflow_rotation (
    rot_key      TEXT PRIMARY KEY,
    last_user_id INTEGER NOT NULL
);
