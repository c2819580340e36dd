package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// The service desk (internal/desk): tickets, their tags and history, SLA
// timers, the conversation and its attachments. Calendars, policies,
// rules, agents, teams and canned replies are in desk_config.go; surveys
// and returns in desk_surveys.go; the reports in desk_reports.go. The
// desk service validates and decides; these methods only store.

const ticketColumns = `t.id, t.ref, t.subject, t.contact_id, t.channel, t.category, t.priority, t.tier, t.status,
	COALESCE(t.assignee_id, 0), COALESCE(t.team_id, 0), t.custom, COALESCE(t.sla_policy_id, 0), t.first_responded_at, t.solved_at, t.closed_at,
	t.last_customer_at, t.last_agent_at, t.rating, t.follow_up_of, t.version, COALESCE(t.created_by, 0), t.created_at, t.updated_at`

func scanTicket(row rowScanner) (*crm.Ticket, error) {
	var (
		t                                  crm.Ticket
		custom                             string
		first, solved, closed, lastC, last sql.NullTime
	)
	err := row.Scan(&t.ID, &t.Ref, &t.Subject, &t.ContactID, &t.Channel, &t.Category, &t.Priority, &t.Tier, &t.Status,
		&t.AssigneeID, &t.TeamID, &custom, &t.SLAPolicyID, &first, &solved, &closed,
		&lastC, &last, &t.Rating, &t.FollowUpOf, &t.Version, &t.CreatedBy, &t.CreatedAt, &t.UpdatedAt)
	if err != nil {
		return nil, err
	}
	t.Custom = map[string]any{}
	if custom != "" && custom != "{}" {
		if err := json.Unmarshal([]byte(custom), &t.Custom); err != nil {
			return nil, fmt.Errorf("ticket %d custom: %w", t.ID, err)
		}
	}
	t.FirstRespondedAt, t.SolvedAt, t.ClosedAt = nullTimePtr(first), nullTimePtr(solved), nullTimePtr(closed)
	t.LastCustomerAt, t.LastAgentAt = nullTimePtr(lastC), nullTimePtr(last)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	t.Tags = []string{}
	t.SLA = []crm.SLATimer{}
	return &t, nil
}

// InsertTicket writes t with its tags and fills in its id, version and
// times.
func (tx *Tx) InsertTicket(ctx context.Context, t *crm.Ticket) error {
	t.CreatedAt, t.UpdatedAt, t.Version = tx.now, tx.now, 1
	id, err := tx.InsertID(ctx, `INSERT INTO desk_tickets (ref, subject, contact_id, channel, category, priority, tier, status, assignee_id, team_id,
		custom, sla_policy_id, first_responded_at, solved_at, closed_at, last_customer_at, last_agent_at, rating, follow_up_of, version,
		created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		t.Ref, t.Subject, t.ContactID, t.Channel, t.Category, t.Priority, t.Tier, t.Status, nullID(t.AssigneeID), nullID(t.TeamID),
		mustJSON(t.Custom), nullID(t.SLAPolicyID), nullableTime(utcMicroPtr(t.FirstRespondedAt)), nullableTime(utcMicroPtr(t.SolvedAt)),
		nullableTime(utcMicroPtr(t.ClosedAt)), nullableTime(utcMicroPtr(t.LastCustomerAt)), nullableTime(utcMicroPtr(t.LastAgentAt)),
		t.Rating, t.FollowUpOf, t.Version, nullID(t.CreatedBy), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert ticket: %w", err)
	}
	t.ID = id
	return tx.writeTicketTags(ctx, id, t.Tags, false)
}

// UpdateTicket writes every changeable field of t and its tags when the
// stored version is still t.Version, then increments t.Version; updated is
// false (and nothing changed) when someone changed the ticket since.
func (tx *Tx) UpdateTicket(ctx context.Context, t *crm.Ticket) (updated bool, err error) {
	res, err := tx.Exec(ctx, `UPDATE desk_tickets SET subject = ?, contact_id = ?, channel = ?, category = ?, priority = ?, tier = ?, status = ?,
		assignee_id = ?, team_id = ?, custom = ?, sla_policy_id = ?, first_responded_at = ?, solved_at = ?, closed_at = ?,
		last_customer_at = ?, last_agent_at = ?, rating = ?, follow_up_of = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`,
		t.Subject, t.ContactID, t.Channel, t.Category, t.Priority, t.Tier, t.Status,
		nullID(t.AssigneeID), nullID(t.TeamID), mustJSON(t.Custom), nullID(t.SLAPolicyID), nullableTime(utcMicroPtr(t.FirstRespondedAt)),
		nullableTime(utcMicroPtr(t.SolvedAt)), nullableTime(utcMicroPtr(t.ClosedAt)), nullableTime(utcMicroPtr(t.LastCustomerAt)),
		nullableTime(utcMicroPtr(t.LastAgentAt)), t.Rating, t.FollowUpOf, tx.now, t.ID, t.Version)
	if err != nil {
		return false, fmt.Errorf("store: update ticket: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, tx.db.wrap("update ticket", err)
	}
	if n == 0 {
		return false, nil
	}
	t.Version++
	t.UpdatedAt = tx.now
	return true, tx.writeTicketTags(ctx, t.ID, t.Tags, true)
}

func (tx *Tx) writeTicketTags(ctx context.Context, id int64, tags []string, replace bool) error {
	if replace {
		if _, err := tx.Exec(ctx, `DELETE FROM desk_ticket_tags WHERE ticket_id = ?`, id); err != nil {
			return fmt.Errorf("store: ticket tags: %w", err)
		}
	}
	for _, tag := range tags {
		if _, err := tx.Exec(ctx, `INSERT INTO desk_ticket_tags (ticket_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, tag); err != nil {
			return fmt.Errorf("store: ticket tags: %w", err)
		}
	}
	return nil
}

// FindTicket returns a ticket with its tags and SLA timers. With lock the
// row stays locked until the transaction ends.
func (tx *Tx) FindTicket(ctx context.Context, id int64, lock bool) (*crm.Ticket, error) {
	q := `SELECT ` + ticketColumns + ` FROM desk_tickets t WHERE t.id = ?`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	t, err := scanTicket(tx.QueryRow(ctx, q, id))
	if err != nil {
		return nil, tx.NotFound(err, "Ticket")
	}
	if err := tx.fillTicketTags(ctx, []*crm.Ticket{t}); err != nil {
		return nil, err
	}
	timers, err := tx.SLATimers(ctx, id)
	if err != nil {
		return nil, err
	}
	t.SLA = timers
	return t, nil
}

func (tx *Tx) fillTicketTags(ctx context.Context, ts []*crm.Ticket) error {
	if len(ts) == 0 {
		return nil
	}
	byID := make(map[int64]*crm.Ticket, len(ts))
	ids := make([]int64, len(ts))
	for i, t := range ts {
		byID[t.ID] = t
		ids[i] = t.ID
	}
	rows, err := tx.Query(ctx, `SELECT ticket_id, tag FROM desk_ticket_tags WHERE ticket_id IN (`+Placeholders(len(ids))+`) ORDER BY ticket_id, tag`, anyArgs(ids)...)
	if err != nil {
		return fmt.Errorf("store: ticket tags: %w", err)
	}
	return tx.db.wrap("ticket tags", forEachRow(rows, func(r *sql.Rows) error {
		var (
			id  int64
			tag string
		)
		if err := r.Scan(&id, &tag); err != nil {
			return err
		}
		if t := byID[id]; t != nil {
			t.Tags = append(t.Tags, tag)
		}
		return nil
	}))
}

// fillTicketTimers reads the timers of tickets in one query.
func (tx *Tx) fillTicketTimers(ctx context.Context, ts []*crm.Ticket) error {
	if len(ts) == 0 {
		return nil
	}
	byID := make(map[int64]*crm.Ticket, len(ts))
	ids := make([]int64, len(ts))
	for i, t := range ts {
		byID[t.ID] = t
		ids[i] = t.ID
	}
	rows, err := tx.Query(ctx, `SELECT ticket_id, `+timerColumns+` FROM desk_sla_timers WHERE ticket_id IN (`+Placeholders(len(ids))+`) ORDER BY ticket_id, metric`, anyArgs(ids)...)
	if err != nil {
		return fmt.Errorf("store: ticket timers: %w", err)
	}
	now := tx.now
	return tx.db.wrap("ticket timers", forEachRow(rows, func(r *sql.Rows) error {
		var id int64
		st, err := scanTimer(scanPrefix{r, &id}, now)
		if err != nil {
			return err
		}
		if t := byID[id]; t != nil {
			t.SLA = append(t.SLA, st.SLATimer)
		}
		return nil
	}))
}

// scanPrefix scans one leading column (an id) before a row's own.
type scanPrefix struct {
	row   rowScanner
	first any
}

func (s scanPrefix) Scan(dst ...any) error { return s.row.Scan(append([]any{s.first}, dst...)...) }

// ticketConds turns a filter into WHERE conditions on desk_tickets t.
func ticketConds(f crm.TicketFilter) conds {
	var w conds
	if len(f.Statuses) > 0 {
		w.add(`t.status IN (`+Placeholders(len(f.Statuses))+`)`, stringArgs(f.Statuses)...)
	}
	if f.Active {
		w.add(`t.status IN (?, ?, ?, ?)`, stringArgs(crm.ActiveTicketStatuses)...)
	}
	if f.AssigneeID != nil {
		if *f.AssigneeID == 0 {
			w.add(`t.assignee_id IS NULL`)
		} else {
			w.add(`t.assignee_id = ?`, *f.AssigneeID)
		}
	}
	if f.TeamID != 0 {
		w.add(`t.team_id = ?`, f.TeamID)
	}
	if f.TeamOf != 0 {
		w.add(`t.team_id IN (SELECT team_id FROM team_members WHERE user_id = ?)`, f.TeamOf)
	}
	if f.ContactID != 0 {
		w.add(`t.contact_id = ? AND t.contact_id <> 0`, f.ContactID) // the partial index desk_tickets_contact
	}
	if f.Priority != "" {
		w.add(`t.priority = ?`, f.Priority)
	}
	if f.Channel != "" {
		w.add(`t.channel = ?`, f.Channel)
	}
	if f.Category != "" {
		w.add(`t.category = ?`, f.Category)
	}
	if f.Tier != "" {
		w.add(`t.tier = ?`, f.Tier)
	}
	if f.Tag != "" {
		w.add(`EXISTS (SELECT 1 FROM desk_ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ?)`, f.Tag)
	}
	if f.DueBefore != nil {
		w.add(`EXISTS (SELECT 1 FROM desk_sla_timers s WHERE s.ticket_id = t.id AND s.satisfied_at IS NULL AND s.due_at IS NOT NULL AND s.due_at < ?)`,
			f.DueBefore.UTC())
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		if id, err := strconv.ParseInt(strings.TrimPrefix(q, "#"), 10, 64); err == nil {
			w.add(`t.id = ?`, id)
		} else {
			w.add(`LOWER(t.subject) LIKE ?`, "%"+likeEscape(strings.ToLower(q))+"%")
		}
	}
	return w
}

func stringArgs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// likeEscape drops LIKE's wildcards from user text, so a subject search
// for "50%" looks for "50" rather than matching everything.
func likeEscape(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

// FindTickets lists tickets newest first with keyset paging, with their
// tags and timers.
func (tx *Tx) FindTickets(ctx context.Context, f crm.TicketFilter) ([]*crm.Ticket, string, error) {
	limit := crm.ClampLimit(f.Limit)
	w := ticketConds(f)
	if f.After != "" {
		after, err := crm.DecodeIDCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		w.add(`t.id < ?`, after)
	}
	q := `SELECT ` + ticketColumns + ` FROM desk_tickets t` + w.sql() + ` ORDER BY t.id DESC LIMIT ?`
	out, err := pageRows(ctx, tx, q, w.args, limit, "tickets", scanTicket)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	if err := tx.fillTicketTags(ctx, out); err != nil {
		return nil, "", err
	}
	if err := tx.fillTicketTimers(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// CountTickets counts the tickets of a filter, stopping at max (queue
// badges need no exact count beyond it).
func (tx *Tx) CountTickets(ctx context.Context, f crm.TicketFilter, max int) (int, error) {
	w := ticketConds(f)
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM desk_tickets t`+w.sql()+` LIMIT ?) x`, append(w.args, max)...).Scan(&n)
	return n, tx.db.wrap("count tickets", err)
}

// ActiveTicketIDs returns up to limit ids of tickets that still need
// work, above after, in id order; with policyID, only those of that
// policy (SLA recomputation walks them in batches).
func (tx *Tx) ActiveTicketIDs(ctx context.Context, after int64, policyID int64, limit int) ([]int64, error) {
	q := `SELECT id FROM desk_tickets WHERE id > ? AND status IN (?, ?, ?, ?, ?)`
	args := []any{after, crm.TicketNew, crm.TicketOpen, crm.TicketPending, crm.TicketOnHold, crm.TicketSolved}
	if policyID != 0 {
		q += ` AND sla_policy_id = ?`
		args = append(args, policyID)
	}
	q += ` ORDER BY id LIMIT ?`
	rows, err := tx.Query(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	var out []int64
	err = forEachRow(rows, func(r *sql.Rows) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		out = append(out, id)
		return nil
	})
	return out, tx.db.wrap("active tickets", err)
}

// --- History ---

// TicketChange is one row of a ticket's history.
type TicketChange struct {
	ID        int64     `json:"id"`
	TicketID  int64     `json:"ticket_id"`
	Field     string    `json:"field"` // status, assignee, team, tier, priority, category
	Old       string    `json:"old"`
	New       string    `json:"new"`
	ActorID   int64     `json:"actor_id"`
	CreatedAt time.Time `json:"created_at"`
}

// InsertTicketChange appends a row to a ticket's history.
func (tx *Tx) InsertTicketChange(ctx context.Context, ticketID int64, field, old, new string, actorID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO desk_ticket_history (ticket_id, field, old_value, new_value, actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		ticketID, field, old, new, nullID(actorID), tx.now)
	if err != nil {
		return fmt.Errorf("store: ticket history: %w", err)
	}
	return nil
}

// TicketHistory returns a ticket's history, oldest first; with field,
// only that field's changes.
func (tx *Tx) TicketHistory(ctx context.Context, ticketID int64, field string) ([]TicketChange, error) {
	q := `SELECT id, ticket_id, field, old_value, new_value, COALESCE(actor_id, 0), created_at FROM desk_ticket_history WHERE ticket_id = ?`
	args := []any{ticketID}
	if field != "" {
		q += ` AND field = ?`
		args = append(args, field)
	}
	rows, err := tx.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	var out []TicketChange
	err = forEachRow(rows, func(r *sql.Rows) error {
		var c TicketChange
		if err := r.Scan(&c.ID, &c.TicketID, &c.Field, &c.Old, &c.New, &c.ActorID, &c.CreatedAt); err != nil {
			return err
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
		return nil
	})
	return out, tx.db.wrap("ticket history", err)
}

// --- SLA timers ---

// SLATimerRow is a stored timer with the columns the desk needs beyond
// crm.SLATimer.
type SLATimerRow struct {
	crm.SLATimer
	ID       int64
	TicketID int64
	PolicyID int64
}

const timerColumns = `id, metric, COALESCE(policy_id, 0), due_at, warn_at, remaining, paused, satisfied_at, warned_at, breached_at`

func scanTimer(row rowScanner, now time.Time) (SLATimerRow, error) {
	var (
		t                                SLATimerRow
		due, warn, sat, warned, breached sql.NullTime
		paused                           bool
	)
	err := row.Scan(&t.ID, &t.Metric, &t.PolicyID, &due, &warn, &t.Remaining, &paused, &sat, &warned, &breached)
	if err != nil {
		return t, err
	}
	t.DueAt, t.WarnAt, t.SatisfiedAt = nullTimePtr(due), nullTimePtr(warn), nullTimePtr(sat)
	t.WarnedAt, t.BreachedAt = nullTimePtr(warned), nullTimePtr(breached)
	t.Status = crm.TimerStatus(t.DueAt, t.SatisfiedAt, paused, now)
	return t, nil
}

// SLATimers returns a ticket's timers, first response first.
func (tx *Tx) SLATimers(ctx context.Context, ticketID int64) ([]crm.SLATimer, error) {
	rows, err := tx.SLATimerRows(ctx, ticketID, false)
	if err != nil {
		return nil, err
	}
	out := make([]crm.SLATimer, len(rows))
	for i, r := range rows {
		out[i] = r.SLATimer
	}
	return out, nil
}

// SLATimerRows returns a ticket's stored timers; with lock they stay
// locked until the transaction ends.
func (tx *Tx) SLATimerRows(ctx context.Context, ticketID int64, lock bool) ([]SLATimerRow, error) {
	q := `SELECT ` + timerColumns + ` FROM desk_sla_timers WHERE ticket_id = ? ORDER BY metric`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	rows, err := tx.Query(ctx, q, ticketID)
	if err != nil {
		return nil, err
	}
	var out []SLATimerRow
	err = forEachRow(rows, func(r *sql.Rows) error {
		t, err := scanTimer(r, tx.now)
		if err != nil {
			return err
		}
		t.TicketID = ticketID
		out = append(out, t)
		return nil
	})
	return out, tx.db.wrap("sla timers", err)
}

// SaveSLATimer writes what the history makes of a timer (policy, due and
// warning times, pause, met time), keeping whether its warning and breach
// have fired.
func (tx *Tx) SaveSLATimer(ctx context.Context, ticketID int64, t SLATimerRow) error {
	paused := t.Status == crm.SLAPaused
	_, err := tx.Exec(ctx, `INSERT INTO desk_sla_timers (ticket_id, metric, policy_id, due_at, warn_at, remaining, paused, satisfied_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (ticket_id, metric) DO UPDATE SET policy_id = excluded.policy_id, due_at = excluded.due_at, warn_at = excluded.warn_at,
		remaining = excluded.remaining, paused = excluded.paused, satisfied_at = excluded.satisfied_at, updated_at = excluded.updated_at`,
		ticketID, t.Metric, nullID(t.PolicyID), nullableTime(utcMicroPtr(t.DueAt)), nullableTime(utcMicroPtr(t.WarnAt)), t.Remaining, paused,
		nullableTime(utcMicroPtr(t.SatisfiedAt)), tx.now)
	if err != nil {
		return fmt.Errorf("store: save sla timer: %w", err)
	}
	return nil
}

// DeleteSLATimers removes a ticket's timers (no policy applies any more).
func (tx *Tx) DeleteSLATimers(ctx context.Context, ticketID int64) error {
	_, err := tx.Exec(ctx, `DELETE FROM desk_sla_timers WHERE ticket_id = ?`, ticketID)
	return err
}

// MarkSLAWarned records that a timer's warning fired; fired is false when
// it had fired before (so the warning goes out once).
func (tx *Tx) MarkSLAWarned(ctx context.Context, timerID int64) (fired bool, err error) {
	return tx.markTimer(ctx, "warned_at", timerID)
}

// MarkSLABreached records that a timer was breached; fired is false when
// it had been recorded before.
func (tx *Tx) MarkSLABreached(ctx context.Context, timerID int64) (fired bool, err error) {
	return tx.markTimer(ctx, "breached_at", timerID)
}

func (tx *Tx) markTimer(ctx context.Context, col string, id int64) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE desk_sla_timers SET `+col+` = ? WHERE id = ? AND `+col+` IS NULL`, tx.now, id)
	if err != nil {
		return false, fmt.Errorf("store: mark sla timer: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, tx.db.wrap("mark sla timer", err)
}

// --- Messages and attachments ---

const messageColumns = `m.id, m.ticket_id, m.kind, m.direction, COALESCE(m.author_id, 0), m.contact_id, m.body, m.from_address, m.to_address,
	m.message_id, m.in_reply_to, m.refs, m.delivery, m.delivery_error, m.auto, m.created_at`

func scanMessage(row rowScanner) (*crm.TicketMessage, error) {
	var (
		m    crm.TicketMessage
		refs string
	)
	err := row.Scan(&m.ID, &m.TicketID, &m.Kind, &m.Direction, &m.AuthorID, &m.ContactID, &m.Body, &m.FromAddress, &m.ToAddress,
		&m.MessageID, &m.InReplyTo, &refs, &m.Delivery, &m.DeliveryError, &m.Auto, &m.CreatedAt)
	if err != nil {
		return nil, err
	}
	if refs != "" && refs != "[]" {
		if err := json.Unmarshal([]byte(refs), &m.References); err != nil {
			return nil, fmt.Errorf("message %d refs: %w", m.ID, err)
		}
	}
	m.CreatedAt = m.CreatedAt.UTC()
	m.Attachments = []crm.Attachment{}
	return &m, nil
}

// InsertTicketMessage writes m and fills in its id and time. A message
// whose Message-ID is already stored is not inserted: inserted is false
// (an email delivered twice).
func (tx *Tx) InsertTicketMessage(ctx context.Context, m *crm.TicketMessage) (inserted bool, err error) {
	m.CreatedAt = tx.now
	refs := m.References
	if refs == nil {
		refs = []string{}
	}
	rows, err := tx.Query(ctx, `INSERT INTO desk_messages (ticket_id, kind, direction, author_id, contact_id, body, from_address, to_address,
		message_id, in_reply_to, refs, delivery, delivery_error, auto, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (message_id) WHERE message_id <> '' DO NOTHING RETURNING id`,
		m.TicketID, m.Kind, m.Direction, nullID(m.AuthorID), m.ContactID, m.Body, m.FromAddress, m.ToAddress,
		m.MessageID, m.InReplyTo, mustJSON(refs), m.Delivery, m.DeliveryError, m.Auto, tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert message: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return false, tx.db.wrap("insert message", rows.Err())
	}
	if err := rows.Scan(&m.ID); err != nil {
		return false, tx.db.wrap("insert message", err)
	}
	rows.Close()
	return true, tx.db.wrap("insert message", rows.Err())
}

// TicketMessages returns a ticket's conversation, oldest first, with the
// attachments' metadata; notes are left out unless notes is true.
func (tx *Tx) TicketMessages(ctx context.Context, ticketID int64, notes bool) ([]*crm.TicketMessage, error) {
	q := `SELECT ` + messageColumns + ` FROM desk_messages m WHERE m.ticket_id = ?`
	if !notes {
		q += ` AND m.kind = 'public'`
	}
	rows, err := tx.Query(ctx, q+` ORDER BY m.id`, ticketID)
	if err != nil {
		return nil, err
	}
	var out []*crm.TicketMessage
	byID := map[int64]*crm.TicketMessage{}
	err = forEachRow(rows, func(r *sql.Rows) error {
		m, err := scanMessage(r)
		if err != nil {
			return err
		}
		out = append(out, m)
		byID[m.ID] = m
		return nil
	})
	if err != nil {
		return nil, tx.db.wrap("ticket messages", err)
	}
	atts, err := tx.TicketAttachments(ctx, ticketID)
	if err != nil {
		return nil, err
	}
	for _, a := range atts {
		if m := byID[a.MessageID]; m != nil {
			m.Attachments = append(m.Attachments, a)
		}
	}
	return out, nil
}

// FindTicketMessage returns one message (without attachments).
func (tx *Tx) FindTicketMessage(ctx context.Context, id int64) (*crm.TicketMessage, error) {
	m, err := scanMessage(tx.QueryRow(ctx, `SELECT `+messageColumns+` FROM desk_messages m WHERE m.id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Message")
	}
	return m, nil
}

// TicketByMessageIDs returns the ticket of the first stored message whose
// Message-ID is among ids (threading an email by In-Reply-To and
// References); 0 when none is.
func (tx *Tx) TicketByMessageIDs(ctx context.Context, ids []string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var id int64
	// "message_id <> ''" lets both engines use the partial unique index.
	err := tx.QueryRow(ctx, `SELECT ticket_id FROM desk_messages WHERE message_id IN (`+Placeholders(len(ids))+`) AND message_id <> '' ORDER BY id DESC LIMIT 1`,
		stringArgs(ids)...).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, tx.db.wrap("ticket by message id", err)
}

// MessageIDStored reports whether an email with this Message-ID is stored.
func (tx *Tx) MessageIDStored(ctx context.Context, messageID string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM desk_messages WHERE message_id = ? AND message_id <> ''`, messageID).Scan(&n)
	return n > 0, tx.db.wrap("message id", err)
}

// SetMessageDelivery records what became of an outgoing email.
func (tx *Tx) SetMessageDelivery(ctx context.Context, id int64, delivery, errText string) error {
	return tx.expectOneRow(ctx, "Message", `UPDATE desk_messages SET delivery = ?, delivery_error = ? WHERE id = ?`, delivery, truncateText(errText, 500), id)
}

// InsertAttachment stores an attachment's bytes and fills in its id.
func (tx *Tx) InsertAttachment(ctx context.Context, a *crm.Attachment, data []byte) error {
	a.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO desk_attachments (message_id, ticket_id, filename, content_type, size, sha256, data, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.MessageID, a.TicketID, a.Filename, a.ContentType, a.Size, a.SHA256, data, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert attachment: %w", err)
	}
	a.ID = id
	return nil
}

const attachmentColumns = `id, message_id, ticket_id, filename, content_type, size, sha256, created_at`

func scanAttachment(row rowScanner) (crm.Attachment, error) {
	var a crm.Attachment
	err := row.Scan(&a.ID, &a.MessageID, &a.TicketID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.CreatedAt)
	a.CreatedAt = a.CreatedAt.UTC()
	return a, err
}

// TicketAttachments lists a ticket's attachments (metadata), oldest first.
func (tx *Tx) TicketAttachments(ctx context.Context, ticketID int64) ([]crm.Attachment, error) {
	rows, err := tx.Query(ctx, `SELECT `+attachmentColumns+` FROM desk_attachments WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	var out []crm.Attachment
	err = forEachRow(rows, func(r *sql.Rows) error {
		a, err := scanAttachment(r)
		if err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, tx.db.wrap("attachments", err)
}

// FindAttachment returns an attachment's metadata and bytes.
func (tx *Tx) FindAttachment(ctx context.Context, id int64) (crm.Attachment, []byte, error) {
	var data []byte
	a, err := scanAttachment(scanTail{tx.QueryRow(ctx, `SELECT `+attachmentColumns+`, data FROM desk_attachments WHERE id = ?`, id), &data})
	if err != nil {
		return a, nil, tx.NotFound(err, "Attachment")
	}
	return a, data, nil
}

// scanTail scans a row followed by one extra column of any type.
type scanTail struct {
	row   rowScanner
	extra any
}

func (s scanTail) Scan(dst ...any) error { return s.row.Scan(append(dst, s.extra)...) }

// --- Customers ---

// DeskContact is what the desk needs of a person: a name to greet, the
// addresses to write to, the language they speak, and what SLA policies
// look at (their tags and club tiers).
type DeskContact struct {
	ID       int64
	Name     string
	Emails   []string
	Language string
	Tags     []string
	Tiers    []string // names of the club tiers they hold now (paid or earned)
}

// FindDeskContact returns a person as the desk sees them; ok is false
// when there is no such person.
func (tx *Tx) FindDeskContact(ctx context.Context, id int64) (DeskContact, bool, error) {
	c := DeskContact{ID: id}
	var first, last, emails string
	err := tx.QueryRow(ctx, `SELECT first_name, last_name, emails, language FROM contacts WHERE id = ?`, id).Scan(&first, &last, &emails, &c.Language)
	if err == sql.ErrNoRows {
		return c, false, nil
	}
	if err != nil {
		return c, false, tx.db.wrap("desk contact", err)
	}
	c.Name = strings.TrimSpace(first + " " + last)
	var ls []crm.Labeled
	if emails != "" && emails != "[]" {
		if err := json.Unmarshal([]byte(emails), &ls); err != nil {
			return c, false, fmt.Errorf("store: contact %d emails: %w", id, err)
		}
	}
	for _, l := range ls {
		c.Emails = append(c.Emails, l.Value)
	}
	rows, err := tx.Query(ctx, `SELECT tag FROM contact_tags WHERE contact_id = ? ORDER BY tag`, id)
	if err != nil {
		return c, false, err
	}
	if err := forEachRow(rows, func(r *sql.Rows) error {
		var t string
		if err := r.Scan(&t); err != nil {
			return err
		}
		c.Tags = append(c.Tags, t)
		return nil
	}); err != nil {
		return c, false, tx.db.wrap("desk contact tags", err)
	}
	// The club's tiers, read from its tables (the desk does not import
	// the club): a paid tier while it lasts, else the earned one.
	rows, err = tx.Query(ctx, `SELECT t.name FROM club_members m JOIN club_tiers t
		ON t.id = CASE WHEN m.paid_tier_id IS NOT NULL AND m.paid_until > ? THEN m.paid_tier_id ELSE m.tier_id END
		WHERE m.contact_id = ? AND m.status = 'active' ORDER BY t.name`, tx.now, id)
	if err != nil {
		return c, false, err
	}
	err = forEachRow(rows, func(r *sql.Rows) error {
		var t string
		if err := r.Scan(&t); err != nil {
			return err
		}
		c.Tiers = append(c.Tiers, t)
		return nil
	})
	return c, true, tx.db.wrap("desk contact tiers", err)
}

// DeskContactNames returns the display names of people, in one query.
func (tx *Tx) DeskContactNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	ids = nonZeroUnique(ids)
	out := make(map[int64]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, first_name, last_name, emails FROM contacts WHERE id IN (`+Placeholders(len(ids))+`)`, anyArgs(ids)...)
	if err != nil {
		return nil, err
	}
	err = forEachRow(rows, func(r *sql.Rows) error {
		var (
			id                  int64
			first, last, emails string
		)
		if err := r.Scan(&id, &first, &last, &emails); err != nil {
			return err
		}
		name := strings.TrimSpace(first + " " + last)
		if name == "" {
			var ls []crm.Labeled
			if json.Unmarshal([]byte(emails), &ls) == nil && len(ls) > 0 {
				name = ls[0].Value
			}
		}
		out[id] = name
		return nil
	})
	return out, tx.db.wrap("contact names", err)
}

// MoveTickets moves the tickets, messages, surveys and returns of people
// to another (0: detach them), when people are merged, deleted or erased.
func (tx *Tx) MoveTickets(ctx context.Context, fromIDs []int64, toID int64) (int, error) {
	if len(fromIDs) == 0 {
		return 0, nil
	}
	in := `(` + Placeholders(len(fromIDs)) + `)`
	args := append([]any{toID}, anyArgs(fromIDs)...)
	res, err := tx.Exec(ctx, `UPDATE desk_tickets SET contact_id = ? WHERE contact_id IN `+in, args...)
	if err != nil {
		return 0, fmt.Errorf("store: move tickets: %w", err)
	}
	n, _ := res.RowsAffected()
	for _, table := range []string{"desk_messages", "desk_surveys", "desk_returns"} {
		if _, err := tx.Exec(ctx, `UPDATE `+table+` SET contact_id = ? WHERE contact_id IN `+in, args...); err != nil {
			return 0, fmt.Errorf("store: move %s: %w", table, err)
		}
	}
	return int(n), nil
}

// EraseTicketsOf removes what a person wrote from the desk: their
// messages' text, addresses and attachments, survey comments and return
// notes. The tickets stay as figures for the reports, detached.
func (tx *Tx) EraseTicketsOf(ctx context.Context, contactID int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM desk_attachments WHERE message_id IN (SELECT id FROM desk_messages WHERE contact_id = ? AND direction = 'in')`,
		contactID); err != nil {
		return fmt.Errorf("store: erase attachments: %w", err)
	}
	for _, q := range []string{
		`UPDATE desk_messages SET body = '', from_address = '', to_address = '' WHERE contact_id = ?`,
		`UPDATE desk_surveys SET comment = '' WHERE contact_id = ?`,
		`UPDATE desk_returns SET notes = '' WHERE contact_id = ?`,
		`UPDATE desk_tickets SET subject = '…' WHERE contact_id = ?`,
	} {
		if _, err := tx.Exec(ctx, q, contactID); err != nil {
			return fmt.Errorf("store: erase desk data: %w", err)
		}
	}
	return nil
}

// --- Settings ---

// DeskSetting returns a desk setting (key desk or desk.*).
func (tx *Tx) DeskSetting(ctx context.Context, key string) (string, bool, error) {
	return tx.moduleSetting(ctx, "desk", key)
}

// SaveDeskSetting stores a desk setting.
func (tx *Tx) SaveDeskSetting(ctx context.Context, key, value string) error {
	return tx.saveModuleSetting(ctx, "desk", key, value)
}
