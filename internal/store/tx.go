package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Tx is one unit of work. Every store function is a method on *Tx so that
// several compose in one transaction.
type Tx struct {
	tx     *sql.Tx
	db     *DB
	now    time.Time
	after  []func()
	events int
	fts    *ftsSide // WriteBulk: where RestoreContactSchema builds the full-text index (bulk.go)
	read   bool     // on the reader pool: statements prepared on the writer do not apply
	marks  []int    // len(after) at each open savepoint, innermost last
}

// Now is the transaction's timestamp: UTC, microsecond precision.
func (tx *Tx) Now() time.Time { return tx.now }

// Dialect reports the SQL engine of the transaction.
func (tx *Tx) Dialect() Dialect { return tx.db.dialect }

// AfterCommit registers fn to run once the transaction has committed. It
// never runs after a rollback, nor when registered after a savepoint the
// transaction rolled back to.
func (tx *Tx) AfterCommit(fn func()) { tx.after = append(tx.after, fn) }

// Exec runs a statement written with ? placeholders.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query, args = tx.db.inlineLimit(query, args)
	res, err := tx.tx.ExecContext(ctx, tx.db.rebind(query), args...)
	if err != nil {
		return nil, tx.db.wrap("exec", err)
	}
	return res, nil
}

// Query runs a query written with ? placeholders.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query, args = tx.db.inlineLimit(query, args)
	rows, err := tx.tx.QueryContext(ctx, tx.db.rebind(query), args...)
	if err != nil {
		return nil, tx.db.wrap("query", err)
	}
	return rows, nil
}

// QueryRow runs a query expected to return at most one row. Scan errors
// pass through Scan; use ScanOne to map sql.ErrNoRows to ENOTFOUND.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query, args = tx.db.inlineLimit(query, args)
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(query), args...)
}

// InsertID runs an INSERT … RETURNING id and returns the new id.
func (tx *Tx) InsertID(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	if err := tx.tx.QueryRowContext(ctx, tx.db.rebind(query), args...).Scan(&id); err != nil {
		return 0, tx.db.wrap("insert", err)
	}
	return id, nil
}

// NotFound turns sql.ErrNoRows into an ENOTFOUND error naming what was
// looked for, and wraps any other error.
func (tx *Tx) NotFound(err error, what string) error {
	if err == sql.ErrNoRows {
		return crm.Errorf(crm.ENOTFOUND, "%s was not found.", what)
	}
	return tx.db.wrap("scan", err)
}

// Emit writes ev to the events table (the transactional outbox). The
// dispatcher delivers it to subscribers only after this transaction commits.
// ev.ID and ev.CreatedAt are filled in; the actor defaults to the context's user.
func (tx *Tx) Emit(ctx context.Context, ev *crm.Event) error {
	if ev.ActorID == 0 {
		ev.ActorID = crm.UserIDFromContext(ctx)
	}
	if len(ev.Payload) == 0 {
		ev.Payload = json.RawMessage("{}")
	}
	ev.CreatedAt = tx.now
	id, _, err := tx.hotInsert(ctx, qEmit, ev.Type, ev.SubjectType, ev.SubjectID, ev.ActorID, nullID(ev.ContactID), nullID(ev.CompanyID),
		string(ev.Payload), ev.CreatedAt)
	if err != nil {
		return fmt.Errorf("store: emit %s: %w", ev.Type, err)
	}
	ev.ID = id
	tx.events++
	return nil
}

// EmitJSON is Emit with a payload marshalled from v.
func (tx *Tx) EmitJSON(ctx context.Context, typ, subjectType string, subjectID int64, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: emit %s: %w", typ, err)
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: subjectType, SubjectID: subjectID, Payload: b})
}

// Audit appends an entry to the audit log. before and after are marshalled to
// JSON when not nil; the actor and IP come from the context.
func (tx *Tx) Audit(ctx context.Context, action, entityType string, entityID int64, before, after any) error {
	enc := func(v any) (string, error) {
		if v == nil {
			return "", nil
		}
		if r, ok := v.(json.RawMessage); ok {
			return string(r), nil // JSON the caller made (json.Marshal), not checked again
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("store: audit %s: %w", action, err)
	}
	var actor any
	if id := crm.UserIDFromContext(ctx); id != 0 {
		actor = id
	}
	_, err = tx.hotExec(ctx, qAudit, actor, action, entityType, entityID, b, a, crm.IPFromContext(ctx), tx.now)
	return err
}

// The INSERTs of Emit and Audit, prepared once on SQLite by the modules
// that write them for every record (see prepareHot in club.go).
const (
	qEmit = `INSERT INTO events (type, subject_type, subject_id, actor_id, contact_id, company_id, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	qAudit = `INSERT INTO audit_log (actor_id, action, entity_type, entity_id, before_json, after_json, ip, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
)

// nullID stores 0 as NULL, for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
