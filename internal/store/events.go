package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// IDsCommitInOrder reports whether identity values become visible in the
// order they were handed out. SQLite has one writer, so an event with id N+1
// never commits before N and a gap in the ids is permanent. On PostgreSQL a
// sequence value is taken at INSERT time and the transaction may commit
// later than one that took a higher value, so a gap may still fill in; the
// event dispatcher waits a little before it treats a gap as rolled back.
func (d Dialect) IDsCommitInOrder() bool { return d != Postgres }

const eventColumns = `id, type, subject_type, subject_id, actor_id, COALESCE(contact_id, 0), COALESCE(company_id, 0), payload, created_at`

// EventsAfter returns up to limit events with an id greater than afterID,
// in id order. It is the dispatcher's read of the outbox.
func (tx *Tx) EventsAfter(ctx context.Context, afterID int64, limit int) ([]crm.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := tx.Query(ctx, qEventsAfter, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", afterID, err)
	}
	return scanEvents(rows)
}

// EventsAfter is Tx.EventsAfter outside a transaction, with a statement
// prepared once per reader connection: the event dispatcher's read, which
// runs after every commit that wrote events.
func (db *DB) EventsAfter(ctx context.Context, afterID int64, limit int) ([]crm.Event, error) {
	if limit <= 0 {
		limit = 100
	}
	q, args := db.inlineLimit(qEventsAfter, []any{afterID, limit})
	st, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(db.short(ctx), args...)
	if err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", afterID, db.wrap("query", err))
	}
	return scanEvents(rows)
}

const qEventsAfter = `SELECT ` + eventColumns + ` FROM events WHERE id > ? ORDER BY id LIMIT ?`

// FindEventsBySubject lists the events about one subject (for example
// "contact", 42), newest first, with keyset paging: page.After is the
// cursor returned as next by the previous page; next is "" on the last page.
func (tx *Tx) FindEventsBySubject(ctx context.Context, subjectType string, subjectID int64, page crm.Page) (evs []crm.Event, next string, err error) {
	before, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(page.Limit)
	where := []string{"subject_type = ?", "subject_id = ?"}
	args := []any{subjectType, subjectID}
	if before > 0 {
		where = append(where, "id < ?")
		args = append(args, before)
	}
	args = append(args, limit+1)
	rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: find events of %s %d: %w", subjectType, subjectID, err)
	}
	evs, err = scanEvents(rows)
	if err != nil {
		return nil, "", err
	}
	if len(evs) > limit {
		evs = evs[:limit]
		next = crm.EncodeIDCursor(evs[limit-1].ID)
	}
	return evs, next, nil
}

// MaxEventID returns the highest event id, 0 when there are no events.
func (tx *Tx) MaxEventID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := tx.QueryRow(ctx, `SELECT MAX(id) FROM events`).Scan(&id); err != nil {
		return 0, tx.db.wrap("max event id", err)
	}
	return id.Int64, nil
}

func scanEvents(rows *sql.Rows) ([]crm.Event, error) {
	defer rows.Close()
	var out []crm.Event
	for rows.Next() {
		var (
			ev      crm.Event
			payload string
		)
		if err := rows.Scan(&ev.ID, &ev.Type, &ev.SubjectType, &ev.SubjectID, &ev.ActorID, &ev.ContactID, &ev.CompanyID, &payload, &ev.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: scan event: %w", err)
		}
		ev.Payload = []byte(payload)
		ev.CreatedAt = ev.CreatedAt.UTC()
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: scan events: %w", err)
	}
	return out, nil
}

// EventCursor returns the id of the last event the subscriber has handled,
// ENOTFOUND when the subscriber has no cursor yet.
func (tx *Tx) EventCursor(ctx context.Context, subscriber string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT last_id FROM event_cursors WHERE subscriber = ?`, subscriber).Scan(&id)
	if err != nil {
		return 0, tx.NotFound(err, "Event cursor")
	}
	return id, nil
}

// InitEventCursor creates the subscriber's cursor at lastID unless it
// exists already, and returns the cursor's value.
func (tx *Tx) InitEventCursor(ctx context.Context, subscriber string, lastID int64) (int64, error) {
	_, err := tx.Exec(ctx, `INSERT INTO event_cursors (subscriber, last_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (subscriber) DO NOTHING`, subscriber, lastID, tx.now)
	if err != nil {
		return 0, fmt.Errorf("store: init event cursor %s: %w", subscriber, err)
	}
	return tx.EventCursor(ctx, subscriber)
}

// SetEventCursor moves the subscriber's cursor to lastID, creating it when
// missing. Use it for administration (replay, skip); the dispatcher uses
// AdvanceEventCursor.
func (tx *Tx) SetEventCursor(ctx context.Context, subscriber string, lastID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO event_cursors (subscriber, last_id, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (subscriber) DO UPDATE SET last_id = excluded.last_id, updated_at = excluded.updated_at`,
		subscriber, lastID, tx.now)
	if err != nil {
		return fmt.Errorf("store: set event cursor %s: %w", subscriber, err)
	}
	return nil
}

// AdvanceEventCursor moves the subscriber's cursor from `from` to `to` and
// reports false when the cursor was not at `from` (another dispatcher moved
// it). On PostgreSQL the UPDATE locks the cursor row until the transaction
// ends, so two dispatchers with the same subscriber name never both handle
// one event: the second waits, then finds the cursor moved.
func (tx *Tx) AdvanceEventCursor(ctx context.Context, subscriber string, from, to int64) (bool, error) {
	res, err := tx.hotExec(ctx, qAdvanceCursor, to, tx.now, subscriber, from)
	if err != nil {
		return false, fmt.Errorf("store: advance event cursor %s: %w", subscriber, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: advance event cursor %s: %w", subscriber, err)
	}
	return n == 1, nil
}

const qAdvanceCursor = `UPDATE event_cursors SET last_id = ?, updated_at = ? WHERE subscriber = ? AND last_id = ?`

// PrepareEvents prepares the event dispatcher's cursor update on the
// writer (SQLite only; a no-op elsewhere). Call it outside a transaction.
func (db *DB) PrepareEvents(ctx context.Context) error {
	return db.prepareHot(ctx, []string{qAdvanceCursor})
}

// EventCursors returns every subscriber's cursor, for diagnostics (lag).
func (tx *Tx) EventCursors(ctx context.Context) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT subscriber, last_id FROM event_cursors`)
	if err != nil {
		return nil, fmt.Errorf("store: event cursors: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			name string
			id   int64
		)
		if err := rows.Scan(&name, &id); err != nil {
			return nil, fmt.Errorf("store: event cursors: %w", err)
		}
		out[name] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: event cursors: %w", err)
	}
	return out, nil
}

// errNoRows reports whether err is (or wraps) sql.ErrNoRows.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// FindTimeline lists the events shown on a person's or a company's
// timeline (entity "contact" or "company"), newest first, with keyset paging.
func (tx *Tx) FindTimeline(ctx context.Context, entity string, id int64, page crm.Page) (evs []crm.Event, next string, err error) {
	col := "contact_id"
	switch entity {
	case "contact":
	case "company":
		col = "company_id"
	default:
		return nil, "", crm.Errorf(crm.EINVALID, "timeline of %q: use contact or company", entity)
	}
	before, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(page.Limit)
	q := `SELECT ` + eventColumns + ` FROM events WHERE ` + col + ` = ?`
	args := []any{id}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: timeline of %s %d: %w", entity, id, err)
	}
	if evs, err = scanEvents(rows); err != nil {
		return nil, "", err
	}
	if len(evs) > limit {
		evs = evs[:limit]
		next = crm.EncodeIDCursor(evs[limit-1].ID)
	}
	return evs, next, nil
}
