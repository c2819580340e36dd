package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// This file holds the activity timeline's tables: interactions, notes,
// tasks and notifications, plus the privacy and merge helpers the contact
// service calls inside its own transactions. The timeline itself is the
// events table (events.go, FindTimeline).

// UserRef is the little of a user that lists and timelines show.
type UserRef struct {
	ID     int64
	Name   string
	Email  string
	Active bool
}

// UserRefs returns the users with the given ids, in one query. Unknown ids
// are left out of the map.
func (tx *Tx) UserRefs(ctx context.Context, ids []int64) (map[int64]UserRef, error) {
	out := make(map[int64]UserRef, len(ids))
	ids = nonZeroUnique(ids)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, name, email, active FROM users WHERE id IN (`+Placeholders(len(ids))+`)`, anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: user refs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var u UserRef
		if err := rows.Scan(&u.ID, &u.Name, &u.Email, &u.Active); err != nil {
			return nil, tx.db.wrap("scan user refs", err)
		}
		out[u.ID] = u
	}
	return out, tx.db.wrap("user refs", rows.Err())
}

// ActiveUserRefs returns every active user, ordered by id. Teams are small
// (tens to a few thousand users), so @mention matching by normalised name
// happens in Go over this list.
func (tx *Tx) ActiveUserRefs(ctx context.Context) ([]UserRef, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, email, active FROM users WHERE active = TRUE ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: active user refs: %w", err)
	}
	defer rows.Close()
	var out []UserRef
	for rows.Next() {
		var u UserRef
		if err := rows.Scan(&u.ID, &u.Name, &u.Email, &u.Active); err != nil {
			return nil, tx.db.wrap("scan user refs", err)
		}
		out = append(out, u)
	}
	return out, tx.db.wrap("active user refs", rows.Err())
}

// TimelineEntityExists reports whether the person ("contact") or company
// ("company") with id exists.
func (tx *Tx) TimelineEntityExists(ctx context.Context, entity string, id int64) (bool, error) {
	table := ""
	switch entity {
	case "contact":
		table = "contacts"
	case "company":
		table = "companies"
	default:
		return false, crm.Errorf(crm.EINVALID, "%q has no timeline: use contact or company", entity)
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = ?`, id).Scan(&n)
	return n > 0, tx.db.wrap(entity+" exists", err)
}

// --- Interactions ---

const interactionColumns = `id, COALESCE(contact_id, 0), COALESCE(company_id, 0), channel, direction, subject, body,
	COALESCE(user_id, 0), occurred_at, duration_seconds, created_at`

func scanInteraction(row interface{ Scan(...any) error }) (*crm.Interaction, error) {
	var in crm.Interaction
	err := row.Scan(&in.ID, &in.ContactID, &in.CompanyID, &in.Channel, &in.Direction, &in.Subject, &in.Body,
		&in.UserID, &in.OccurredAt, &in.DurationSeconds, &in.CreatedAt)
	if err != nil {
		return nil, err
	}
	in.OccurredAt, in.CreatedAt = in.OccurredAt.UTC(), in.CreatedAt.UTC()
	return &in, nil
}

// InsertInteraction writes in and fills in its ID and CreatedAt.
func (tx *Tx) InsertInteraction(ctx context.Context, in *crm.Interaction) error {
	in.CreatedAt = tx.now
	in.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
	id, err := tx.InsertID(ctx, `INSERT INTO interactions (contact_id, company_id, channel, direction, subject, body, user_id, occurred_at, duration_seconds, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		nullID(in.ContactID), nullID(in.CompanyID), in.Channel, in.Direction, in.Subject, in.Body, nullID(in.UserID),
		in.OccurredAt, in.DurationSeconds, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert interaction: %w", err)
	}
	in.ID = id
	return nil
}

// FindInteraction returns one interaction or ENOTFOUND.
func (tx *Tx) FindInteraction(ctx context.Context, id int64) (*crm.Interaction, error) {
	in, err := scanInteraction(tx.QueryRow(ctx, `SELECT `+interactionColumns+` FROM interactions WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Interaction")
	}
	return in, nil
}

// --- Notes ---

const noteColumns = `id, COALESCE(contact_id, 0), COALESCE(company_id, 0), body, COALESCE(author_id, 0), created_at, updated_at`

func scanNote(row interface{ Scan(...any) error }) (*crm.Note, error) {
	var n crm.Note
	if err := row.Scan(&n.ID, &n.ContactID, &n.CompanyID, &n.Body, &n.AuthorID, &n.CreatedAt, &n.UpdatedAt); err != nil {
		return nil, err
	}
	n.CreatedAt, n.UpdatedAt = n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	n.Mentions = []int64{}
	return &n, nil
}

// InsertNote writes n and fills in its ID and times. Mentions are not a
// column: they live in the note's timeline event.
func (tx *Tx) InsertNote(ctx context.Context, n *crm.Note) error {
	n.CreatedAt, n.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO notes (contact_id, company_id, body, author_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		nullID(n.ContactID), nullID(n.CompanyID), n.Body, nullID(n.AuthorID), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert note: %w", err)
	}
	n.ID = id
	return nil
}

// FindNote returns one note (Mentions empty) or ENOTFOUND.
func (tx *Tx) FindNote(ctx context.Context, id int64) (*crm.Note, error) {
	n, err := scanNote(tx.QueryRow(ctx, `SELECT `+noteColumns+` FROM notes WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Note")
	}
	return n, nil
}

// UpdateNoteBody replaces a note's text and sets UpdatedAt.
func (tx *Tx) UpdateNoteBody(ctx context.Context, n *crm.Note) error {
	n.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Note", `UPDATE notes SET body = ?, updated_at = ? WHERE id = ?`, n.Body, tx.now, n.ID)
}

// DeleteNote removes a note, ENOTFOUND when there is none.
func (tx *Tx) DeleteNote(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Note", `DELETE FROM notes WHERE id = ?`, id)
}

// --- Tasks ---

const taskColumns = `id, kind, title, notes, COALESCE(contact_id, 0), COALESCE(company_id, 0), COALESCE(deal_id, 0), COALESCE(assignee_id, 0),
	due_at, remind_at, done_at, COALESCE(created_by, 0), created_at, updated_at`

func scanTask(row interface{ Scan(...any) error }) (*crm.Task, error) {
	var (
		t                  crm.Task
		due, remind, doneT sql.NullTime
	)
	err := row.Scan(&t.ID, &t.Kind, &t.Title, &t.Notes, &t.ContactID, &t.CompanyID, &t.DealID, &t.AssigneeID,
		&due, &remind, &doneT, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return nil, err
	}
	t.DueAt, t.RemindAt, t.DoneAt = nullTimePtr(due), nullTimePtr(remind), nullTimePtr(doneT)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

func scanTasks(rows *sql.Rows) ([]*crm.Task, error) {
	defer rows.Close()
	var out []*crm.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan task: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: scan tasks: %w", err)
	}
	return out, nil
}

// InsertTask writes t and fills in its ID and times.
func (tx *Tx) InsertTask(ctx context.Context, t *crm.Task) error {
	t.CreatedAt, t.UpdatedAt = tx.now, tx.now
	t.DueAt, t.RemindAt, t.DoneAt = utcMicroPtr(t.DueAt), utcMicroPtr(t.RemindAt), utcMicroPtr(t.DoneAt)
	if t.Kind == "" {
		t.Kind = crm.ActivityTask
	}
	id, err := tx.InsertID(ctx, `INSERT INTO tasks (kind, title, notes, contact_id, company_id, deal_id, assignee_id, due_at, remind_at, done_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Kind, t.Title, t.Notes, nullID(t.ContactID), nullID(t.CompanyID), nullID(t.DealID), nullID(t.AssigneeID),
		nullableTime(t.DueAt), nullableTime(t.RemindAt), nullableTime(t.DoneAt), nullID(t.CreatedBy), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert task: %w", err)
	}
	t.ID = id
	return nil
}

// FindTask returns one task or ENOTFOUND.
func (tx *Tx) FindTask(ctx context.Context, id int64) (*crm.Task, error) {
	t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskColumns+` FROM tasks WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Task")
	}
	return t, nil
}

// UpdateTask writes the changeable fields of t (kind, title, notes,
// assignee, due, remind, done) and sets UpdatedAt. The links to a person,
// company or deal stay as they are.
func (tx *Tx) UpdateTask(ctx context.Context, t *crm.Task) error {
	t.UpdatedAt = tx.now
	t.DueAt, t.RemindAt, t.DoneAt = utcMicroPtr(t.DueAt), utcMicroPtr(t.RemindAt), utcMicroPtr(t.DoneAt)
	if t.Kind == "" {
		t.Kind = crm.ActivityTask
	}
	return tx.expectOneRow(ctx, "Task", `UPDATE tasks SET kind = ?, title = ?, notes = ?, assignee_id = ?, due_at = ?, remind_at = ?, done_at = ?, updated_at = ?
		WHERE id = ?`, t.Kind, t.Title, t.Notes, nullID(t.AssigneeID), nullableTime(t.DueAt), nullableTime(t.RemindAt), nullableTime(t.DoneAt), tx.now, t.ID)
}

// DeleteTask removes a task, ENOTFOUND when there is none.
func (tx *Tx) DeleteTask(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Task", `DELETE FROM tasks WHERE id = ?`, id)
}

// ListTasks returns tasks ordered by due date (tasks without one last),
// then id, with keyset paging: f.After is the next cursor of the previous
// page; next is "" on the last page.
func (tx *Tx) ListTasks(ctx context.Context, f crm.TaskFilter) (tasks []*crm.Task, next string, err error) {
	key, afterID, err := crm.DecodeCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(f.Limit)
	var w conds
	if f.AssigneeID != 0 {
		w.add(`assignee_id = ?`, f.AssigneeID)
	}
	if f.ContactID != 0 {
		w.add(`contact_id = ?`, f.ContactID)
	}
	if f.CompanyID != 0 {
		w.add(`company_id = ?`, f.CompanyID)
	}
	if f.DealID != 0 {
		w.add(`deal_id = ?`, f.DealID)
	}
	if f.Kind != "" {
		w.add(`kind = ?`, f.Kind)
	}
	if f.Open != nil {
		if *f.Open {
			w.add(`done_at IS NULL`)
		} else {
			w.add(`done_at IS NOT NULL`)
		}
	}
	if f.DueBefore != nil {
		w.add(`due_at < ?`, f.DueBefore.UTC())
	}
	if afterID > 0 {
		if key == "" {
			w.add(`due_at IS NULL AND id > ?`, afterID)
		} else {
			micros, err := strconv.ParseInt(key, 10, 64)
			if err != nil {
				return nil, "", crm.Errorf(crm.EINVALID, "The cursor is not valid.")
			}
			due := time.UnixMicro(micros).UTC()
			w.add(`(due_at > ? OR (due_at = ? AND id > ?) OR due_at IS NULL)`, due, due, afterID)
		}
	}
	q := `SELECT ` + taskColumns + ` FROM tasks` + w.sql() + ` ORDER BY due_at ASC NULLS LAST, id ASC LIMIT ?`
	args := append(w.args, limit+1)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list tasks: %w", err)
	}
	if tasks, err = scanTasks(rows); err != nil {
		return nil, "", err
	}
	if len(tasks) > limit {
		tasks = tasks[:limit]
		last := tasks[limit-1]
		k := ""
		if last.DueAt != nil {
			k = strconv.FormatInt(last.DueAt.UnixMicro(), 10)
		}
		next = crm.EncodeCursor(k, last.ID)
	}
	return tasks, next, nil
}

// DueReminders returns a user's open tasks whose reminder time has come
// (remind_at <= now), oldest reminder first.
func (tx *Tx) DueReminders(ctx context.Context, userID int64, limit int) ([]*crm.Task, error) {
	rows, err := tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks
		WHERE assignee_id = ? AND done_at IS NULL AND remind_at <= ?
		ORDER BY remind_at, id LIMIT ?`, userID, tx.now, crm.ClampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: due reminders: %w", err)
	}
	return scanTasks(rows)
}

// --- Notifications ---

const notificationColumns = `id, user_id, kind, title, link, COALESCE(actor_id, 0), read_at, created_at`

// InsertNotification writes n and fills in its ID and CreatedAt.
func (tx *Tx) InsertNotification(ctx context.Context, n *crm.Notification) error {
	n.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO notifications (user_id, kind, title, link, actor_id, read_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		n.UserID, n.Kind, n.Title, n.Link, nullID(n.ActorID), nullableTime(utcMicroPtr(n.ReadAt)), tx.now)
	if err != nil {
		return fmt.Errorf("store: insert notification: %w", err)
	}
	n.ID = id
	return nil
}

// ListNotifications returns a user's notifications newest first, only the
// unread ones when unreadOnly, with keyset paging on the id.
func (tx *Tx) ListNotifications(ctx context.Context, userID int64, unreadOnly bool, page crm.Page) (ns []*crm.Notification, next string, err error) {
	before, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(page.Limit)
	q := `SELECT ` + notificationColumns + ` FROM notifications WHERE user_id = ?`
	args := []any{userID}
	if unreadOnly {
		q += ` AND read_at IS NULL`
	}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, before)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list notifications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			n    crm.Notification
			read sql.NullTime
		)
		if err := rows.Scan(&n.ID, &n.UserID, &n.Kind, &n.Title, &n.Link, &n.ActorID, &read, &n.CreatedAt); err != nil {
			return nil, "", tx.db.wrap("scan notification", err)
		}
		n.ReadAt, n.CreatedAt = nullTimePtr(read), n.CreatedAt.UTC()
		ns = append(ns, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, "", tx.db.wrap("list notifications", err)
	}
	if len(ns) > limit {
		ns = ns[:limit]
		next = crm.EncodeIDCursor(ns[limit-1].ID)
	}
	return ns, next, nil
}

// CountUnreadNotifications counts a user's unread notifications, stopping
// at max (a badge shows "99+"; there is no unbounded count).
func (tx *Tx) CountUnreadNotifications(ctx context.Context, userID int64, max int) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM notifications WHERE user_id = ? AND read_at IS NULL LIMIT ?) u`,
		userID, max).Scan(&n)
	return n, tx.db.wrap("count unread notifications", err)
}

// MarkNotificationsRead marks the user's notifications with the given ids
// as read (every unread one when ids is nil) and returns how many changed.
// Ids of other users' notifications are ignored.
func (tx *Tx) MarkNotificationsRead(ctx context.Context, userID int64, ids []int64) (int, error) {
	q := `UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL`
	args := []any{tx.now, userID}
	if ids != nil {
		ids = nonZeroUnique(ids)
		if len(ids) == 0 {
			return 0, nil
		}
		q += ` AND id IN (` + Placeholders(len(ids)) + `)`
		args = append(args, anyArgs(ids)...)
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("store: mark notifications read: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), tx.db.wrap("mark notifications read", err)
}

// NotificationExists reports whether the user already has a notification
// of kind with link created at or after since (a job handler that runs
// twice checks this so it notifies once).
func (tx *Tx) NotificationExists(ctx context.Context, userID int64, kind, link string, since time.Time) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = ? AND kind = ? AND link = ? AND created_at >= ?`,
		userID, kind, link, since.UTC()).Scan(&n)
	return n > 0, tx.db.wrap("notification exists", err)
}

// DeleteNotificationsByLink removes every notification pointing at link
// (for example the mentions of a deleted note).
func (tx *Tx) DeleteNotificationsByLink(ctx context.Context, link string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM notifications WHERE link = ?`, link); err != nil {
		return fmt.Errorf("store: delete notifications: %w", err)
	}
	return nil
}

// --- Timeline cards ---

// FindSubjectEvent returns the newest event of type typ about a subject
// (for a note or a task: its creation event, which is its timeline card),
// or ENOTFOUND. Newest, because SQLite may hand a deleted row's id to a
// new row, and the deleted one's (detached) events stay behind.
func (tx *Tx) FindSubjectEvent(ctx context.Context, typ, subjectType string, subjectID int64) (*crm.Event, error) {
	rows, err := tx.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE subject_type = ? AND subject_id = ? AND type = ?
		ORDER BY id DESC LIMIT 1`, subjectType, subjectID, typ)
	if err != nil {
		return nil, fmt.Errorf("store: find %s event of %s %d: %w", typ, subjectType, subjectID, err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, crm.Errorf(crm.ENOTFOUND, "The %s event of %s %d was not found.", typ, subjectType, subjectID)
	}
	return &evs[0], nil
}

// SetEventPayload replaces the payload of one event. The activity service
// keeps the creation event of a note or task (its timeline card) showing
// the current state; other events are never rewritten.
func (tx *Tx) SetEventPayload(ctx context.Context, eventID int64, payload []byte) error {
	return tx.expectOneRow(ctx, "Event", `UPDATE events SET payload = ? WHERE id = ?`, string(payload), eventID)
}

// DetachSubjectEvents takes every event about a subject off the timelines
// (contact_id and company_id cleared) and replaces its payload, so a
// deleted note's text does not linger in the events table. The rows stay
// so the outbox has no gap; subscribers that have not yet seen them get the
// replaced payload. It returns how many events changed.
func (tx *Tx) DetachSubjectEvents(ctx context.Context, subjectType string, subjectID int64, payload []byte) (int, error) {
	res, err := tx.Exec(ctx, `UPDATE events SET contact_id = NULL, company_id = NULL, payload = ?
		WHERE subject_type = ? AND subject_id = ?`, string(payload), subjectType, subjectID)
	if err != nil {
		return 0, fmt.Errorf("store: detach events of %s %d: %w", subjectType, subjectID, err)
	}
	n, err := res.RowsAffected()
	return int(n), tx.db.wrap("detach events", err)
}

// --- Privacy and merges ---

// ActivityCounts counts a person's activity rows, for merge previews and
// results.
type ActivityCounts struct {
	Interactions int `json:"interactions"`
	Notes        int `json:"notes"`
	Tasks        int `json:"tasks"`
	Events       int `json:"timeline"` // events on the person's timeline
}

// Moves returns the counts keyed as crm.MergePlan.Moves expects.
func (c ActivityCounts) Moves() map[string]int {
	return map[string]int{"interactions": c.Interactions, "notes": c.Notes, "tasks": c.Tasks, "timeline": c.Events}
}

// activityTables are the tables with a contact_id whose rows belong to the
// person, with the subject_type of their events.
var activityTables = []struct{ table, subject string }{
	{"interactions", "interaction"},
	{"notes", "note"},
	{"tasks", "task"},
}

// contactLink is the link of notifications about a person; notifications
// about something on the person's page add "#note-7" and the like.
func contactLink(id int64) string { return "/contacts/" + strconv.FormatInt(id, 10) }

// CountContactActivity counts the activity of the given people, for a
// merge preview (dry run).
func (tx *Tx) CountContactActivity(ctx context.Context, contactIDs []int64) (ActivityCounts, error) {
	var c ActivityCounts
	ids := nonZeroUnique(contactIDs)
	if len(ids) == 0 {
		return c, nil
	}
	in := ` IN (` + Placeholders(len(ids)) + `)`
	targets := []struct {
		table string
		n     *int
	}{{"interactions", &c.Interactions}, {"notes", &c.Notes}, {"tasks", &c.Tasks}, {"events", &c.Events}}
	for _, t := range targets {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+t.table+` WHERE contact_id`+in, anyArgs(ids)...).Scan(t.n); err != nil {
			return c, tx.db.wrap("count "+t.table, err)
		}
	}
	return c, nil
}

// MoveContactActivity moves the interactions, notes, tasks and timeline
// events of the people fromIDs to the person toID (a merge), and points
// their notification links at the survivor. It returns what moved.
func (tx *Tx) MoveContactActivity(ctx context.Context, fromIDs []int64, toID int64) (ActivityCounts, error) {
	var c ActivityCounts
	var ids []int64
	for _, id := range nonZeroUnique(fromIDs) {
		if id != toID {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return c, nil
	}
	in := ` IN (` + Placeholders(len(ids)) + `)`
	args := append([]any{toID}, anyArgs(ids)...)
	targets := []struct {
		table string
		n     *int
	}{{"interactions", &c.Interactions}, {"notes", &c.Notes}, {"tasks", &c.Tasks}, {"events", &c.Events}}
	for _, t := range targets {
		res, err := tx.Exec(ctx, `UPDATE `+t.table+` SET contact_id = ? WHERE contact_id`+in, args...)
		if err != nil {
			return c, fmt.Errorf("store: move %s: %w", t.table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return c, tx.db.wrap("move "+t.table, err)
		}
		*t.n = int(n)
	}
	to := contactLink(toID)
	for _, id := range ids {
		from := contactLink(id)
		if _, err := tx.Exec(ctx, `UPDATE notifications SET link = CAST(? AS TEXT) || substr(link, CAST(? AS INTEGER))
			WHERE link = ? OR link LIKE ?`, to, len(from)+1, from, from+"#%"); err != nil {
			return c, fmt.Errorf("store: move notification links: %w", err)
		}
	}
	return c, nil
}

// EraseContactActivity deletes everything the activity timeline holds
// about a person: interactions, notes and tasks (also those shared with a
// company), the events of those records and every event on the person's
// timeline, and the notifications that link to the person. The contact
// service calls it inside its erase transaction, before it emits its own
// contact.erased event (which must not carry ContactID).
func (tx *Tx) EraseContactActivity(ctx context.Context, contactID int64) error {
	link := contactLink(contactID)
	if _, err := tx.Exec(ctx, `DELETE FROM notifications WHERE link = ? OR link LIKE ?`, link, link+"#%"); err != nil {
		return fmt.Errorf("store: erase notifications of contact %d: %w", contactID, err)
	}
	for _, t := range activityTables {
		if _, err := tx.Exec(ctx, `DELETE FROM events WHERE subject_type = ? AND subject_id IN (SELECT id FROM `+t.table+` WHERE contact_id = ?)`,
			t.subject, contactID); err != nil {
			return fmt.Errorf("store: erase %s events of contact %d: %w", t.subject, contactID, err)
		}
	}
	if _, err := tx.Exec(ctx, `DELETE FROM events WHERE contact_id = ?`, contactID); err != nil {
		return fmt.Errorf("store: erase timeline of contact %d: %w", contactID, err)
	}
	for _, t := range activityTables {
		if _, err := tx.Exec(ctx, `DELETE FROM `+t.table+` WHERE contact_id = ?`, contactID); err != nil {
			return fmt.Errorf("store: erase %s of contact %d: %w", t.table, contactID, err)
		}
	}
	return nil
}

// ContactActivity is everything the activity timeline holds about one
// person, for the privacy export. Lists are oldest first.
type ContactActivity struct {
	Interactions []*crm.Interaction `json:"interactions"`
	Notes        []*crm.Note        `json:"notes"`
	Tasks        []*crm.Task        `json:"tasks"`
	Timeline     []crm.Event        `json:"timeline"`
}

// ContactActivityExport reads a person's interactions, notes, tasks and
// timeline events. It reads them whole: one person's history is small
// enough, and the export is one document.
func (tx *Tx) ContactActivityExport(ctx context.Context, contactID int64) (*ContactActivity, error) {
	out := &ContactActivity{Interactions: []*crm.Interaction{}, Notes: []*crm.Note{}, Tasks: []*crm.Task{}, Timeline: []crm.Event{}}

	rows, err := tx.Query(ctx, `SELECT `+interactionColumns+` FROM interactions WHERE contact_id = ? ORDER BY occurred_at, id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("store: export interactions: %w", err)
	}
	err = forEachRow(rows, func(r *sql.Rows) error {
		in, err := scanInteraction(r)
		if err == nil {
			out.Interactions = append(out.Interactions, in)
		}
		return err
	})
	if err != nil {
		return nil, tx.db.wrap("export interactions", err)
	}

	if rows, err = tx.Query(ctx, `SELECT `+noteColumns+` FROM notes WHERE contact_id = ? ORDER BY id`, contactID); err != nil {
		return nil, fmt.Errorf("store: export notes: %w", err)
	}
	err = forEachRow(rows, func(r *sql.Rows) error {
		n, err := scanNote(r)
		if err == nil {
			out.Notes = append(out.Notes, n)
		}
		return err
	})
	if err != nil {
		return nil, tx.db.wrap("export notes", err)
	}

	if rows, err = tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE contact_id = ? ORDER BY id`, contactID); err != nil {
		return nil, fmt.Errorf("store: export tasks: %w", err)
	}
	if out.Tasks, err = scanTasks(rows); err != nil {
		return nil, err
	}
	if out.Tasks == nil {
		out.Tasks = []*crm.Task{}
	}

	if rows, err = tx.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE contact_id = ? ORDER BY id`, contactID); err != nil {
		return nil, fmt.Errorf("store: export timeline: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, err
	}
	if evs != nil {
		out.Timeline = evs
	}
	return out, nil
}

// --- helpers ---

// expectOneRow runs a statement that must change exactly one row; no row is
// ENOTFOUND naming what.
func (tx *Tx) expectOneRow(ctx context.Context, what, query string, args ...any) error {
	res, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", strings.ToLower(what), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return tx.db.wrap(strings.ToLower(what), err)
	}
	if n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "%s was not found.", what)
	}
	return nil
}

func forEachRow(rows *sql.Rows, fn func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func nonZeroUnique(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// anyArgs is xs as statement arguments (an IN list's values).
func anyArgs[T any](xs []T) []any {
	args := make([]any, len(xs))
	for i, x := range xs {
		args[i] = x
	}
	return args
}

func nullTimePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func utcMicroPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func nullableTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}
