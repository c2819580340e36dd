package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// --- Workflows (internal/workflow) ---
//
// Definitions are kept as JSON text; the workflow package owns their
// types. A run is unique while active per workflow and record (a partial
// unique index) and per trigger occurrence (trigger_key), so enrolling the
// same record twice at once adds one run.

// WorkflowRow is a workflow as stored.
type WorkflowRow struct {
	ID          int64
	Name        string
	Description string
	Status      string
	Draft       string // JSON
	PublishedID int64
	TriggerKind string
	Version     int64
	CreatedBy   int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Counts, filled by Workflow and Workflows.
	ActiveRuns int64
	FailedRuns int64
	LastRunAt  *time.Time
}

// WorkflowVersionRow is one published definition.
type WorkflowVersionRow struct {
	ID          int64
	WorkflowID  int64
	Number      int
	Definition  string // JSON
	PublishedBy int64
	PublishedAt time.Time
}

// WorkflowRunRow is one run.
type WorkflowRunRow struct {
	ID         int64
	WorkflowID int64
	Workflow   string // name, on reads
	VersionID  int64
	VersionNo  int // on reads
	Object     string
	RecordID   int64
	ContactID  int64
	Status     string
	Reason     string
	EventID    int64
	TriggerKey string // "" none
	NextStep   string
	Error      string
	Steps      int
	StartedAt  time.Time
	UpdatedAt  time.Time
	EndedAt    *time.Time
}

// WorkflowStepRow is one entry of a run's step log.
type WorkflowStepRow struct {
	RunID     int64
	Path      string
	Kind      string
	Status    string
	Detail    string
	Attempts  int
	Error     string
	StartedAt time.Time
	DoneAt    *time.Time
}

const workflowColumns = `w.id, w.name, w.description, w.status, w.draft, COALESCE(w.published_id, 0), w.trigger_kind, w.version,
	COALESCE(w.created_by, 0), w.created_at, w.updated_at,
	(SELECT COUNT(*) FROM workflow_runs r WHERE r.workflow_id = w.id AND r.status = 'active'),
	(SELECT COUNT(*) FROM workflow_runs r WHERE r.workflow_id = w.id AND r.status = 'failed'),
	(SELECT MAX(r.started_at) FROM workflow_runs r WHERE r.workflow_id = w.id)`

func scanWorkflow(row rowScanner) (*WorkflowRow, error) {
	var (
		w    WorkflowRow
		last sql.NullString
	)
	if err := row.Scan(&w.ID, &w.Name, &w.Description, &w.Status, &w.Draft, &w.PublishedID, &w.TriggerKind, &w.Version,
		&w.CreatedBy, &w.CreatedAt, &w.UpdatedAt, &w.ActiveRuns, &w.FailedRuns, &last); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	if last.Valid && last.String != "" {
		if t, ok := parseAnyTime(last.String); ok {
			w.LastRunAt = &t
		}
	}
	return &w, nil
}

// parseAnyTime reads a MAX(timestamp) that the drivers return as text.
func parseAnyTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// InsertWorkflow stores a new draft workflow.
func (tx *Tx) InsertWorkflow(ctx context.Context, w *WorkflowRow) error {
	w.CreatedAt, w.UpdatedAt, w.Version = tx.now, tx.now, 1
	id, err := tx.InsertID(ctx, `INSERT INTO workflows (name, description, status, draft, trigger_kind, version, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, '', 1, ?, ?, ?) RETURNING id`, w.Name, w.Description, w.Status, w.Draft, nullID(w.CreatedBy), tx.now, tx.now)
	if err != nil {
		return err
	}
	w.ID = id
	return nil
}

// UpdateWorkflow saves a workflow's name, description, draft, status,
// published version and trigger when its version is still version
// (ECONFLICT otherwise), and moves the version on.
func (tx *Tx) UpdateWorkflow(ctx context.Context, w *WorkflowRow, version int64) error {
	res, err := tx.Exec(ctx, `UPDATE workflows SET name = ?, description = ?, status = ?, draft = ?, published_id = ?, trigger_kind = ?,
		version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
		w.Name, w.Description, w.Status, w.Draft, nullID(w.PublishedID), w.TriggerKind, tx.now, w.ID, version)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return tx.db.wrap("update workflow", err)
	}
	if n == 0 {
		if _, err := tx.Workflow(ctx, w.ID); err != nil {
			return err
		}
		return &crm.Error{Code: crm.ECONFLICT, Message: "Someone else changed this workflow; reload it and try again.",
			Fields: map[string]string{"version": "The workflow changed since it was read."}}
	}
	w.Version = version + 1
	w.UpdatedAt = tx.now
	return nil
}

// Workflow returns a workflow or ENOTFOUND.
func (tx *Tx) Workflow(ctx context.Context, id int64) (*WorkflowRow, error) {
	w, err := scanWorkflow(tx.QueryRow(ctx, `SELECT `+workflowColumns+` FROM workflows w WHERE w.id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Workflow")
	}
	return w, nil
}

// Workflows lists workflows by id after the cursor id.
func (tx *Tx) Workflows(ctx context.Context, after int64, limit int) ([]*WorkflowRow, error) {
	rows, err := tx.Query(ctx, `SELECT `+workflowColumns+` FROM workflows w WHERE w.id > ? ORDER BY w.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*WorkflowRow
	for rows.Next() {
		w, err := scanWorkflow(rows)
		if err != nil {
			return nil, tx.db.wrap("scan workflows", err)
		}
		out = append(out, w)
	}
	return out, tx.db.wrap("list workflows", rows.Err())
}

// EnabledWorkflowVersions returns the published definitions of every
// enabled workflow, keyed by workflow id, with the version ids.
func (tx *Tx) EnabledWorkflowVersions(ctx context.Context) ([]*WorkflowVersionRow, error) {
	rows, err := tx.Query(ctx, `SELECT v.id, v.workflow_id, v.number, v.definition, COALESCE(v.published_by, 0), v.published_at
		FROM workflows w JOIN workflow_versions v ON v.id = w.published_id WHERE w.status = 'enabled' ORDER BY w.id`)
	if err != nil {
		return nil, err
	}
	return tx.scanVersions(rows)
}

func (tx *Tx) scanVersions(rows *sql.Rows) ([]*WorkflowVersionRow, error) {
	defer rows.Close()
	var out []*WorkflowVersionRow
	for rows.Next() {
		var v WorkflowVersionRow
		if err := rows.Scan(&v.ID, &v.WorkflowID, &v.Number, &v.Definition, &v.PublishedBy, &v.PublishedAt); err != nil {
			return nil, tx.db.wrap("scan workflow versions", err)
		}
		v.PublishedAt = v.PublishedAt.UTC()
		out = append(out, &v)
	}
	return out, tx.db.wrap("list workflow versions", rows.Err())
}

// DeleteWorkflow removes a workflow with its versions, runs and logs.
func (tx *Tx) DeleteWorkflow(ctx context.Context, id int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM workflow_run_steps WHERE run_id IN (SELECT id FROM workflow_runs WHERE workflow_id = ?)`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM workflow_runs WHERE workflow_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE workflows SET published_id = NULL WHERE id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM workflow_versions WHERE workflow_id = ?`, id); err != nil {
		return err
	}
	return tx.expectOneRow(ctx, "Workflow", `DELETE FROM workflows WHERE id = ?`, id)
}

// InsertWorkflowVersion stores the next published version of a workflow.
func (tx *Tx) InsertWorkflowVersion(ctx context.Context, v *WorkflowVersionRow) error {
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM workflow_versions WHERE workflow_id = ?`, v.WorkflowID).Scan(&v.Number); err != nil {
		return tx.db.wrap("next workflow version", err)
	}
	v.PublishedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO workflow_versions (workflow_id, number, definition, published_by, published_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, v.WorkflowID, v.Number, v.Definition, nullID(v.PublishedBy), tx.now)
	if err != nil {
		return err
	}
	v.ID = id
	return nil
}

// WorkflowVersion returns one version or ENOTFOUND.
func (tx *Tx) WorkflowVersion(ctx context.Context, id int64) (*WorkflowVersionRow, error) {
	var v WorkflowVersionRow
	err := tx.QueryRow(ctx, `SELECT id, workflow_id, number, definition, COALESCE(published_by, 0), published_at
		FROM workflow_versions WHERE id = ?`, id).Scan(&v.ID, &v.WorkflowID, &v.Number, &v.Definition, &v.PublishedBy, &v.PublishedAt)
	if err != nil {
		return nil, tx.NotFound(err, "Workflow version")
	}
	v.PublishedAt = v.PublishedAt.UTC()
	return &v, nil
}

// WorkflowVersions lists a workflow's versions, newest first.
func (tx *Tx) WorkflowVersions(ctx context.Context, workflowID int64) ([]*WorkflowVersionRow, error) {
	rows, err := tx.Query(ctx, `SELECT id, workflow_id, number, definition, COALESCE(published_by, 0), published_at
		FROM workflow_versions WHERE workflow_id = ? ORDER BY number DESC`, workflowID)
	if err != nil {
		return nil, err
	}
	return tx.scanVersions(rows)
}

// --- Runs ---

// EnrolWorkflowRun inserts an active run unless the record already has
// an active run of the workflow or a run for the same trigger key; it
// reports whether the run was added (r.ID is set then).
func (tx *Tx) EnrolWorkflowRun(ctx context.Context, r *WorkflowRunRow) (bool, error) {
	r.StartedAt, r.UpdatedAt, r.Status = tx.now, tx.now, "active"
	var key any
	if r.TriggerKey != "" {
		key = r.TriggerKey
	}
	rows, err := tx.Query(ctx, `INSERT INTO workflow_runs (workflow_id, version_id, object, record_id, contact_id, status, reason, event_id,
		trigger_key, next_step, error, steps, started_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, '', 0, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		r.WorkflowID, r.VersionID, r.Object, r.RecordID, r.ContactID, r.Reason, r.EventID, key, r.NextStep, tx.now, tx.now)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, tx.db.wrap("enrol workflow run", rows.Err())
	}
	if err := rows.Scan(&r.ID); err != nil {
		return false, tx.db.wrap("enrol workflow run", err)
	}
	return true, tx.db.wrap("enrol workflow run", rows.Close())
}

// WorkflowRunsOf counts a record's runs of a workflow: all of them, and
// those started at or after since.
func (tx *Tx) WorkflowRunsOf(ctx context.Context, workflowID int64, object string, recordID int64, since time.Time) (all, recent int64, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN started_at >= ? THEN 1 ELSE 0 END), 0)
		FROM workflow_runs WHERE workflow_id = ? AND object = ? AND record_id = ?`, since, workflowID, object, recordID).Scan(&all, &recent)
	return all, recent, tx.db.wrap("count workflow runs", err)
}

const runColumns = `r.id, r.workflow_id, w.name, r.version_id, v.number, r.object, r.record_id, r.contact_id, r.status, r.reason, r.event_id,
	COALESCE(r.trigger_key, ''), r.next_step, r.error, r.steps, r.started_at, r.updated_at, r.ended_at`

const runFrom = ` FROM workflow_runs r JOIN workflows w ON w.id = r.workflow_id JOIN workflow_versions v ON v.id = r.version_id`

func scanRun(row rowScanner) (*WorkflowRunRow, error) {
	var (
		r     WorkflowRunRow
		ended sql.NullTime
	)
	if err := row.Scan(&r.ID, &r.WorkflowID, &r.Workflow, &r.VersionID, &r.VersionNo, &r.Object, &r.RecordID, &r.ContactID, &r.Status,
		&r.Reason, &r.EventID, &r.TriggerKey, &r.NextStep, &r.Error, &r.Steps, &r.StartedAt, &r.UpdatedAt, &ended); err != nil {
		return nil, err
	}
	r.StartedAt, r.UpdatedAt = r.StartedAt.UTC(), r.UpdatedAt.UTC()
	if ended.Valid {
		t := ended.Time.UTC()
		r.EndedAt = &t
	}
	return &r, nil
}

// WorkflowRun returns a run or ENOTFOUND; lock takes the row for update
// on PostgreSQL (SQLite's writer is already alone).
func (tx *Tx) WorkflowRun(ctx context.Context, id int64, lock bool) (*WorkflowRunRow, error) {
	q := `SELECT ` + runColumns + runFrom + ` WHERE r.id = ?`
	if lock && tx.db.dialect == Postgres {
		q += ` FOR UPDATE OF r`
	}
	r, err := scanRun(tx.QueryRow(ctx, q, id))
	if err != nil {
		return nil, tx.NotFound(err, "Workflow run")
	}
	return r, nil
}

// WorkflowRunFilter narrows WorkflowRuns.
type WorkflowRunFilter struct {
	WorkflowID int64
	Status     string
	ContactID  int64
	Object     string
	RecordID   int64
	Before     int64 // cursor: runs with a smaller id
	Limit      int
}

// WorkflowRuns lists runs, newest first.
func (tx *Tx) WorkflowRuns(ctx context.Context, f WorkflowRunFilter) ([]*WorkflowRunRow, error) {
	var (
		where []string
		args  []any
	)
	if f.WorkflowID != 0 {
		where, args = append(where, "r.workflow_id = ?"), append(args, f.WorkflowID)
	}
	if f.Status != "" {
		where, args = append(where, "r.status = ?"), append(args, f.Status)
	}
	if f.ContactID != 0 {
		where, args = append(where, "r.contact_id = ?"), append(args, f.ContactID)
	}
	if f.Object != "" {
		where, args = append(where, "r.object = ? AND r.record_id = ?"), append(args, f.Object, f.RecordID)
	}
	if f.Before != 0 {
		where, args = append(where, "r.id < ?"), append(args, f.Before)
	}
	q := `SELECT ` + runColumns + runFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := tx.Query(ctx, q+` ORDER BY r.id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*WorkflowRunRow
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, tx.db.wrap("scan workflow runs", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("list workflow runs", rows.Err())
}

// SetWorkflowRun saves a run's status, next step, error and step count;
// an ended status sets ended_at.
func (tx *Tx) SetWorkflowRun(ctx context.Context, r *WorkflowRunRow) error {
	r.UpdatedAt = tx.now
	var ended any
	if r.Status != "active" && r.Status != "failed" {
		ended = tx.now
		r.EndedAt = &tx.now
	} else {
		r.EndedAt = nil
	}
	return tx.expectOneRow(ctx, "Workflow run", `UPDATE workflow_runs SET status = ?, next_step = ?, error = ?, steps = ?, updated_at = ?, ended_at = ?
		WHERE id = ?`, r.Status, r.NextStep, r.Error, r.Steps, tx.now, ended, r.ID)
}

// WorkflowStep returns a run's log entry for a step, or nil.
func (tx *Tx) WorkflowStep(ctx context.Context, runID int64, path string) (*WorkflowStepRow, error) {
	var (
		s    WorkflowStepRow
		done sql.NullTime
	)
	err := tx.QueryRow(ctx, `SELECT run_id, path, kind, status, detail, attempts, error, started_at, done_at
		FROM workflow_run_steps WHERE run_id = ? AND path = ?`, runID, path).Scan(&s.RunID, &s.Path, &s.Kind, &s.Status, &s.Detail,
		&s.Attempts, &s.Error, &s.StartedAt, &done)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, tx.db.wrap("workflow step", err)
	}
	s.StartedAt = s.StartedAt.UTC()
	if done.Valid {
		t := done.Time.UTC()
		s.DoneAt = &t
	}
	return &s, nil
}

// PutWorkflowStep inserts or replaces a run's log entry for a step.
func (tx *Tx) PutWorkflowStep(ctx context.Context, s *WorkflowStepRow) error {
	var done any
	if s.DoneAt != nil {
		done = *s.DoneAt
	}
	if s.StartedAt.IsZero() {
		s.StartedAt = tx.now
	}
	_, err := tx.Exec(ctx, `INSERT INTO workflow_run_steps (run_id, path, kind, status, detail, attempts, error, started_at, done_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, path) DO UPDATE SET status = excluded.status, detail = excluded.detail, attempts = excluded.attempts,
		error = excluded.error, done_at = excluded.done_at`,
		s.RunID, s.Path, s.Kind, s.Status, s.Detail, s.Attempts, s.Error, s.StartedAt, done)
	return tx.db.wrap("put workflow step", err)
}

// WorkflowSteps returns a run's log in the order the steps started.
func (tx *Tx) WorkflowSteps(ctx context.Context, runID int64) ([]*WorkflowStepRow, error) {
	rows, err := tx.Query(ctx, `SELECT run_id, path, kind, status, detail, attempts, error, started_at, done_at
		FROM workflow_run_steps WHERE run_id = ? ORDER BY started_at, path`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*WorkflowStepRow
	for rows.Next() {
		var (
			s    WorkflowStepRow
			done sql.NullTime
		)
		if err := rows.Scan(&s.RunID, &s.Path, &s.Kind, &s.Status, &s.Detail, &s.Attempts, &s.Error, &s.StartedAt, &done); err != nil {
			return nil, tx.db.wrap("scan workflow steps", err)
		}
		s.StartedAt = s.StartedAt.UTC()
		if done.Valid {
			t := done.Time.UTC()
			s.DoneAt = &t
		}
		out = append(out, &s)
	}
	return out, tx.db.wrap("list workflow steps", rows.Err())
}

// WorkflowRotate chooses the user after the last one chosen under key
// among users (in their order) and remembers it.
func (tx *Tx) WorkflowRotate(ctx context.Context, key string, users []int64) (int64, error) {
	if len(users) == 0 {
		return 0, nil
	}
	var last int64
	err := tx.QueryRow(ctx, `SELECT last_user_id FROM workflow_rotation WHERE rot_key = ?`, key).Scan(&last)
	if err != nil && err != sql.ErrNoRows {
		return 0, tx.db.wrap("workflow rotation", err)
	}
	next := users[0]
	for i, u := range users {
		if u == last {
			next = users[(i+1)%len(users)]
			break
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO workflow_rotation (rot_key, last_user_id) VALUES (?, ?)
		ON CONFLICT (rot_key) DO UPDATE SET last_user_id = excluded.last_user_id`, key, next)
	return next, tx.db.wrap("workflow rotation", err)
}

// ContactMatches reports whether the person contactID meets a compiled
// condition tree (the workflow engine checks one record at a time).
func (tx *Tx) ContactMatches(ctx context.Context, q CompiledRules, contactID int64) (bool, error) {
	args := append(append([]any{}, q.Args...), contactID)
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM contacts c WHERE (`+q.Where+`) AND c.id = ?`, args...).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, tx.db.wrap("match contact", err)
}

// WorkflowDateMatches calls fn for every record whose date field (a
// workflow date trigger's: contact.birthday, orders.last_date,
// deal.expected_close) falls on day (a calendar day; from and to bound
// it in UTC for timestamps). Birthdays match on month and day.
func (tx *Tx) WorkflowDateMatches(ctx context.Context, field string, day string, from, to time.Time, fn func(object string, id, contactID int64) error) error {
	var (
		q      string
		args   []any
		object string
	)
	switch field {
	case "contact.birthday":
		if len(day) != 10 {
			return crm.Errorf(crm.EINVALID, "bad day %q", day)
		}
		q, args, object = `SELECT id, id FROM contacts WHERE birthday LIKE ? ORDER BY id`, []any{"%-" + day[5:]}, "contact"
	case "orders.last_date":
		q, args, object = `SELECT contact_id, contact_id FROM orders WHERE contact_id IS NOT NULL AND contact_id <> 0
			GROUP BY contact_id HAVING MAX(placed_at) >= ? AND MAX(placed_at) < ? ORDER BY contact_id`, []any{from, to}, "contact"
	case "deal.expected_close":
		q, args, object = `SELECT id, contact_id FROM deals WHERE status = 'open' AND expected_close = ? ORDER BY id`, []any{day}, "deal"
	default:
		return crm.Errorf(crm.EINVALID, "unknown date field %q", field)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	type rec struct{ id, contact int64 }
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.id, &r.contact); err != nil {
			rows.Close()
			return tx.db.wrap("workflow dates", err)
		}
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return tx.db.wrap("workflow dates", err)
	}
	for _, r := range recs {
		if err := fn(object, r.id, r.contact); err != nil {
			return err
		}
	}
	return nil
}

// WorkflowName returns a workflow's name ("" when it is gone).
func (tx *Tx) WorkflowName(ctx context.Context, id int64) (string, error) {
	var name string
	err := tx.QueryRow(ctx, `SELECT name FROM workflows WHERE id = ?`, id).Scan(&name)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return name, tx.db.wrap("workflow name", err)
}

// AuditChange is the before and after JSON of one audit entry.
type AuditChange struct{ Before, After string }

// AuditChangesAt returns the audit entries about a record written at the
// instant at: those of the transaction that also wrote an event at that
// time (a transaction's entries and events share its time), oldest first.
func (tx *Tx) AuditChangesAt(ctx context.Context, entityType string, entityID int64, at time.Time) ([]AuditChange, error) {
	rows, err := tx.Query(ctx, `SELECT before_json, after_json FROM audit_log WHERE entity_type = ? AND entity_id = ? AND created_at = ? ORDER BY id`,
		entityType, entityID, at)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditChange
	for rows.Next() {
		var c AuditChange
		if err := rows.Scan(&c.Before, &c.After); err != nil {
			return nil, tx.db.wrap("audit changes", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("audit changes", rows.Err())
}

// WorkflowRef names a workflow (for another module's messages).
type WorkflowRef struct {
	ID   int64
	Name string
}

// LiveWorkflowDefinition is a definition that may still run.
type LiveWorkflowDefinition struct {
	Workflow   WorkflowRef
	Definition string // JSON
}

// LiveWorkflowDefinitions returns, for every workflow, its published
// definition (enabled or not: it may be switched on again) and those of
// the versions its active runs follow, ordered by workflow name.
func (tx *Tx) LiveWorkflowDefinitions(ctx context.Context) ([]LiveWorkflowDefinition, error) {
	rows, err := tx.Query(ctx, `SELECT w.id, w.name, v.definition FROM workflows w JOIN workflow_versions v ON v.workflow_id = w.id
		WHERE v.id = w.published_id OR v.id IN (SELECT r.version_id FROM workflow_runs r WHERE r.status = 'active' AND r.workflow_id = w.id)
		ORDER BY w.name, w.id, v.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LiveWorkflowDefinition
	for rows.Next() {
		var d LiveWorkflowDefinition
		if err := rows.Scan(&d.Workflow.ID, &d.Workflow.Name, &d.Definition); err != nil {
			return nil, tx.db.wrap("scan live workflow definitions", err)
		}
		out = append(out, d)
	}
	return out, tx.db.wrap("list live workflow definitions", rows.Err())
}
