package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// The service desk's report queries: counts grouped by the database and
// the few rows (solved tickets of a period) the desk turns into times.

// DeskCount is a count of tickets (or surveys, or returns) under one or
// two keys.
type DeskCount struct {
	Key, Key2 string
	N         int64
}

func (tx *Tx) deskCounts(ctx context.Context, what, q string, args ...any) ([]DeskCount, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []DeskCount
	err = forEachRow(rows, func(r *sql.Rows) error {
		var c DeskCount
		if err := r.Scan(&c.Key, &c.Key2, &c.N); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, tx.db.wrap(what, err)
}

// DeskBacklog counts the tickets that still need work by status and
// priority.
func (tx *Tx) DeskBacklog(ctx context.Context) ([]DeskCount, error) {
	return tx.deskCounts(ctx, "desk backlog", `SELECT status, priority, COUNT(*) FROM desk_tickets WHERE status IN (?, ?, ?, ?)
		GROUP BY status, priority`, stringArgs(crm.ActiveTicketStatuses)...)
}

// DeskOldestActive returns when the oldest ticket still needing work was
// opened (nil with none).
func (tx *Tx) DeskOldestActive(ctx context.Context) (*time.Time, error) {
	var t time.Time
	err := tx.QueryRow(ctx, `SELECT created_at FROM desk_tickets WHERE status IN (?, ?, ?, ?) ORDER BY created_at LIMIT 1`,
		stringArgs(crm.ActiveTicketStatuses)...).Scan(&t)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, tx.db.wrap("desk oldest", err)
	}
	t = t.UTC()
	return &t, nil
}

// DeskVolume counts the tickets created in [from, to) by channel and
// category.
func (tx *Tx) DeskVolume(ctx context.Context, from, to time.Time) ([]DeskCount, error) {
	return tx.deskCounts(ctx, "desk volume", `SELECT channel, category, COUNT(*) FROM desk_tickets WHERE created_at >= ? AND created_at < ?
		GROUP BY channel, category`, from.UTC(), to.UTC())
}

// DeskCreatedSolved returns when the tickets created in [from, to) were
// created, and when tickets were solved in it (every solve, reopened
// ones too); the caller counts them by day of its calendar.
func (tx *Tx) DeskCreatedSolved(ctx context.Context, from, to time.Time) (created, solved []time.Time, err error) {
	rows, err := tx.Query(ctx, `SELECT created_at FROM desk_tickets WHERE created_at >= ? AND created_at < ?`, from.UTC(), to.UTC())
	if err != nil {
		return nil, nil, err
	}
	if err := forEachRow(rows, func(r *sql.Rows) error {
		var t time.Time
		if err := r.Scan(&t); err != nil {
			return err
		}
		created = append(created, t.UTC())
		return nil
	}); err != nil {
		return nil, nil, tx.db.wrap("desk created", err)
	}
	rows, err = tx.Query(ctx, `SELECT created_at FROM desk_ticket_history WHERE field = 'status' AND new_value = ? AND created_at >= ? AND created_at < ?`,
		crm.TicketSolved, from.UTC(), to.UTC())
	if err != nil {
		return nil, nil, err
	}
	err = forEachRow(rows, func(r *sql.Rows) error {
		var t time.Time
		if err := r.Scan(&t); err != nil {
			return err
		}
		solved = append(solved, t.UTC())
		return nil
	})
	return created, solved, tx.db.wrap("desk solved", err)
}

// DeskSolvedTicket is a ticket solved in a period, for response and
// resolution times.
type DeskSolvedTicket struct {
	ID               int64
	AssigneeID       int64
	TeamID           int64
	Channel          string
	CreatedAt        time.Time
	FirstRespondedAt *time.Time
	SolvedAt         time.Time
}

// DeskSolvedTickets returns the tickets solved (now solved or closed) in
// [from, to), at most limit of them, newest first.
func (tx *Tx) DeskSolvedTickets(ctx context.Context, from, to time.Time, limit int) ([]DeskSolvedTicket, error) {
	rows, err := tx.Query(ctx, `SELECT id, COALESCE(assignee_id, 0), COALESCE(team_id, 0), channel, created_at, first_responded_at, solved_at
		FROM desk_tickets WHERE solved_at >= ? AND solved_at < ? AND status IN (?, ?) ORDER BY solved_at DESC LIMIT ?`,
		from.UTC(), to.UTC(), crm.TicketSolved, crm.TicketClosed, limit)
	if err != nil {
		return nil, err
	}
	var out []DeskSolvedTicket
	err = forEachRow(rows, func(r *sql.Rows) error {
		var (
			s     DeskSolvedTicket
			first sql.NullTime
		)
		if err := r.Scan(&s.ID, &s.AssigneeID, &s.TeamID, &s.Channel, &s.CreatedAt, &first, &s.SolvedAt); err != nil {
			return err
		}
		s.CreatedAt, s.SolvedAt, s.FirstRespondedAt = s.CreatedAt.UTC(), s.SolvedAt.UTC(), nullTimePtr(first)
		out = append(out, s)
		return nil
	})
	return out, tx.db.wrap("desk solved tickets", err)
}

// DeskSLAOutcomes counts the SLA timers of the tickets created in [from,
// to) by metric (Key) and outcome (Key2: hit, missed, breached, open) as
// of now.
func (tx *Tx) DeskSLAOutcomes(ctx context.Context, from, to time.Time) ([]DeskCount, error) {
	return tx.deskCounts(ctx, "desk sla outcomes", `SELECT s.metric,
		CASE WHEN s.satisfied_at IS NOT NULL AND s.due_at IS NOT NULL AND s.satisfied_at > s.due_at THEN 'missed'
		     WHEN s.satisfied_at IS NOT NULL THEN 'hit'
		     WHEN s.breached_at IS NOT NULL OR s.due_at < ? THEN 'breached'
		     ELSE 'open' END,
		COUNT(*)
		FROM desk_sla_timers s JOIN desk_tickets t ON t.id = s.ticket_id
		WHERE t.created_at >= ? AND t.created_at < ? GROUP BY 1, 2`, tx.now, from.UTC(), to.UTC())
}

// DeskRatings counts the survey answers of [from, to) by the agent who
// solved the ticket (Key, an id) and rating (Key2).
func (tx *Tx) DeskRatings(ctx context.Context, from, to time.Time) ([]DeskCount, error) {
	return tx.deskCounts(ctx, "desk ratings", `SELECT CAST(agent_id AS TEXT), CAST(rating AS TEXT), COUNT(*) FROM desk_surveys
		WHERE answered_at >= ? AND answered_at < ? GROUP BY agent_id, rating`, from.UTC(), to.UTC())
}

// DeskSurveysSent counts the surveys made in [from, to).
func (tx *Tx) DeskSurveysSent(ctx context.Context, from, to time.Time) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM desk_surveys WHERE created_at >= ? AND created_at < ?`, from.UTC(), to.UTC()).Scan(&n)
	return n, tx.db.wrap("desk surveys", err)
}

// DeskReturnReasons counts the return requests of [from, to) by product
// (Key) and reason (Key2), in quantities.
func (tx *Tx) DeskReturnReasons(ctx context.Context, from, to time.Time) ([]DeskCount, error) {
	return tx.deskCounts(ctx, "desk return reasons", `SELECT product, reason, SUM(quantity) FROM desk_returns
		WHERE created_at >= ? AND created_at < ? GROUP BY product, reason`, from.UTC(), to.UTC())
}
