package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/pivand/pivand/internal/crm"
)

// The service desk's configuration: business calendars, SLA policies,
// escalation rules and the escalations made, canned replies, agents'
// capacity and presence, and teams' assignment modes.

// --- Calendars ---

const calendarColumns = `id, name, time_zone, hours, holidays, created_at, updated_at`

func scanCalendar(row rowScanner) (*crm.BusinessCalendar, error) {
	var (
		c               crm.BusinessCalendar
		hours, holidays string
	)
	if err := row.Scan(&c.ID, &c.Name, &c.TimeZone, &hours, &holidays, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(hours), &c.Hours); err != nil {
		return nil, fmt.Errorf("calendar %d hours: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(holidays), &c.Holidays); err != nil {
		return nil, fmt.Errorf("calendar %d holidays: %w", c.ID, err)
	}
	if c.Hours == nil {
		c.Hours = []crm.WorkingSpan{}
	}
	if c.Holidays == nil {
		c.Holidays = []crm.Holiday{}
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// InsertCalendar writes c and fills in its id and times.
func (tx *Tx) InsertCalendar(ctx context.Context, c *crm.BusinessCalendar) error {
	c.CreatedAt, c.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO desk_calendars (name, time_zone, hours, holidays, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Name, c.TimeZone, mustJSON(c.Hours), mustJSON(c.Holidays), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert calendar: %w", err)
	}
	c.ID = id
	return nil
}

// UpdateCalendar writes c's name, zone, hours and holidays.
func (tx *Tx) UpdateCalendar(ctx context.Context, c *crm.BusinessCalendar) error {
	c.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Calendar", `UPDATE desk_calendars SET name = ?, time_zone = ?, hours = ?, holidays = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.TimeZone, mustJSON(c.Hours), mustJSON(c.Holidays), tx.now, c.ID)
}

// DeleteCalendar removes a calendar no policy uses.
func (tx *Tx) DeleteCalendar(ctx context.Context, id int64) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM desk_sla_policies WHERE calendar_id = ?`, id).Scan(&n); err != nil {
		return tx.db.wrap("delete calendar", err)
	}
	if n > 0 {
		return crm.Errorf(crm.ECONFLICT, "%d SLA policies use this calendar; give them another first.", n)
	}
	return tx.expectOneRow(ctx, "Calendar", `DELETE FROM desk_calendars WHERE id = ?`, id)
}

// FindCalendar returns a calendar.
func (tx *Tx) FindCalendar(ctx context.Context, id int64) (*crm.BusinessCalendar, error) {
	c, err := scanCalendar(tx.QueryRow(ctx, `SELECT `+calendarColumns+` FROM desk_calendars WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Calendar")
	}
	return c, nil
}

// ListCalendars returns every calendar by name.
func (tx *Tx) ListCalendars(ctx context.Context) ([]*crm.BusinessCalendar, error) {
	rows, err := tx.Query(ctx, `SELECT `+calendarColumns+` FROM desk_calendars ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	var out []*crm.BusinessCalendar
	err = forEachRow(rows, func(r *sql.Rows) error {
		c, err := scanCalendar(r)
		if err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, tx.db.wrap("list calendars", err)
}

// --- SLA policies ---

const policyColumns = `id, name, position, active, conditions, COALESCE(calendar_id, 0), first_response_minutes, resolution_minutes,
	warn_minutes, pause_on_hold, created_at, updated_at`

func scanPolicy(row rowScanner) (*crm.SLAPolicy, error) {
	var (
		p    crm.SLAPolicy
		cond string
	)
	err := row.Scan(&p.ID, &p.Name, &p.Position, &p.Active, &cond, &p.CalendarID, &p.FirstResponseMinutes, &p.ResolutionMinutes,
		&p.WarnMinutes, &p.PauseOnHold, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(cond), &p.Conditions); err != nil {
		return nil, fmt.Errorf("policy %d conditions: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// InsertSLAPolicy writes p (last in order unless it has a position) and
// fills in its id and times.
func (tx *Tx) InsertSLAPolicy(ctx context.Context, p *crm.SLAPolicy) error {
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	if p.Position == 0 {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM desk_sla_policies`).Scan(&p.Position); err != nil {
			return tx.db.wrap("policy position", err)
		}
	}
	id, err := tx.InsertID(ctx, `INSERT INTO desk_sla_policies (name, position, active, conditions, calendar_id, first_response_minutes,
		resolution_minutes, warn_minutes, pause_on_hold, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		p.Name, p.Position, p.Active, mustJSON(p.Conditions), nullID(p.CalendarID), p.FirstResponseMinutes, p.ResolutionMinutes,
		p.WarnMinutes, p.PauseOnHold, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert sla policy: %w", err)
	}
	p.ID = id
	return nil
}

// UpdateSLAPolicy writes every field of p.
func (tx *Tx) UpdateSLAPolicy(ctx context.Context, p *crm.SLAPolicy) error {
	p.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "SLA policy", `UPDATE desk_sla_policies SET name = ?, position = ?, active = ?, conditions = ?, calendar_id = ?,
		first_response_minutes = ?, resolution_minutes = ?, warn_minutes = ?, pause_on_hold = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Position, p.Active, mustJSON(p.Conditions), nullID(p.CalendarID), p.FirstResponseMinutes, p.ResolutionMinutes,
		p.WarnMinutes, p.PauseOnHold, tx.now, p.ID)
}

// DeleteSLAPolicy removes a policy; its tickets keep their timers until
// they are recomputed.
func (tx *Tx) DeleteSLAPolicy(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "SLA policy", `DELETE FROM desk_sla_policies WHERE id = ?`, id)
}

// FindSLAPolicy returns a policy.
func (tx *Tx) FindSLAPolicy(ctx context.Context, id int64) (*crm.SLAPolicy, error) {
	p, err := scanPolicy(tx.QueryRow(ctx, `SELECT `+policyColumns+` FROM desk_sla_policies WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "SLA policy")
	}
	return p, nil
}

// ListSLAPolicies returns every policy in the order they are tried.
func (tx *Tx) ListSLAPolicies(ctx context.Context) ([]*crm.SLAPolicy, error) {
	rows, err := tx.Query(ctx, `SELECT `+policyColumns+` FROM desk_sla_policies ORDER BY position, id`)
	if err != nil {
		return nil, err
	}
	var out []*crm.SLAPolicy
	err = forEachRow(rows, func(r *sql.Rows) error {
		p, err := scanPolicy(r)
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, tx.db.wrap("list sla policies", err)
}

// --- Escalation rules and escalations ---

type ruleConditions struct {
	Metrics    []string `json:"metrics,omitempty"`
	Priorities []string `json:"priorities,omitempty"`
	Categories []string `json:"categories,omitempty"`
}

const ruleColumns = `id, name, position, active, fires_on, conditions, to_tier, COALESCE(to_team_id, 0), raise_priority, created_at, updated_at`

func scanRule(row rowScanner) (*crm.EscalationRule, error) {
	var (
		r    crm.EscalationRule
		cond string
		c    ruleConditions
	)
	if err := row.Scan(&r.ID, &r.Name, &r.Position, &r.Active, &r.Trigger, &cond, &r.ToTier, &r.ToTeamID, &r.Raise, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(cond), &c); err != nil {
		return nil, fmt.Errorf("rule %d conditions: %w", r.ID, err)
	}
	r.Metrics, r.Priorities, r.Categories = c.Metrics, c.Priorities, c.Categories
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// InsertEscalationRule writes r and fills in its id and times.
func (tx *Tx) InsertEscalationRule(ctx context.Context, r *crm.EscalationRule) error {
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	if r.Position == 0 {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM desk_escalation_rules`).Scan(&r.Position); err != nil {
			return tx.db.wrap("rule position", err)
		}
	}
	id, err := tx.InsertID(ctx, `INSERT INTO desk_escalation_rules (name, position, active, fires_on, conditions, to_tier, to_team_id, raise_priority,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Name, r.Position, r.Active, r.Trigger, mustJSON(ruleConditions{r.Metrics, r.Priorities, r.Categories}), r.ToTier, nullID(r.ToTeamID), r.Raise,
		tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert escalation rule: %w", err)
	}
	r.ID = id
	return nil
}

// UpdateEscalationRule writes every field of r.
func (tx *Tx) UpdateEscalationRule(ctx context.Context, r *crm.EscalationRule) error {
	r.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Escalation rule", `UPDATE desk_escalation_rules SET name = ?, position = ?, active = ?, fires_on = ?, conditions = ?,
		to_tier = ?, to_team_id = ?, raise_priority = ?, updated_at = ? WHERE id = ?`,
		r.Name, r.Position, r.Active, r.Trigger, mustJSON(ruleConditions{r.Metrics, r.Priorities, r.Categories}), r.ToTier, nullID(r.ToTeamID), r.Raise,
		tx.now, r.ID)
}

// DeleteEscalationRule removes a rule.
func (tx *Tx) DeleteEscalationRule(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Escalation rule", `DELETE FROM desk_escalation_rules WHERE id = ?`, id)
}

// FindEscalationRule returns a rule.
func (tx *Tx) FindEscalationRule(ctx context.Context, id int64) (*crm.EscalationRule, error) {
	r, err := scanRule(tx.QueryRow(ctx, `SELECT `+ruleColumns+` FROM desk_escalation_rules WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Escalation rule")
	}
	return r, nil
}

// ListEscalationRules returns every rule in order.
func (tx *Tx) ListEscalationRules(ctx context.Context) ([]*crm.EscalationRule, error) {
	rows, err := tx.Query(ctx, `SELECT `+ruleColumns+` FROM desk_escalation_rules ORDER BY position, id`)
	if err != nil {
		return nil, err
	}
	var out []*crm.EscalationRule
	err = forEachRow(rows, func(r *sql.Rows) error {
		x, err := scanRule(r)
		if err != nil {
			return err
		}
		out = append(out, x)
		return nil
	})
	return out, tx.db.wrap("list escalation rules", err)
}

// InsertEscalation records an escalation and fills in its id and time.
func (tx *Tx) InsertEscalation(ctx context.Context, e *crm.Escalation) error {
	e.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO desk_escalations (ticket_id, from_tier, to_tier, from_team, to_team, rule_id, reason, actor_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.TicketID, e.FromTier, e.ToTier, e.FromTeam, e.ToTeam, e.RuleID, e.Reason, nullID(e.ActorID), tx.now)
	if err != nil {
		return fmt.Errorf("store: insert escalation: %w", err)
	}
	e.ID = id
	return nil
}

// TicketEscalations returns a ticket's escalations, oldest first.
func (tx *Tx) TicketEscalations(ctx context.Context, ticketID int64) ([]crm.Escalation, error) {
	rows, err := tx.Query(ctx, `SELECT id, ticket_id, from_tier, to_tier, from_team, to_team, rule_id, reason, COALESCE(actor_id, 0), created_at
		FROM desk_escalations WHERE ticket_id = ? ORDER BY id`, ticketID)
	if err != nil {
		return nil, err
	}
	var out []crm.Escalation
	err = forEachRow(rows, func(r *sql.Rows) error {
		var e crm.Escalation
		if err := r.Scan(&e.ID, &e.TicketID, &e.FromTier, &e.ToTier, &e.FromTeam, &e.ToTeam, &e.RuleID, &e.Reason, &e.ActorID, &e.CreatedAt); err != nil {
			return err
		}
		e.CreatedAt = e.CreatedAt.UTC()
		out = append(out, e)
		return nil
	})
	return out, tx.db.wrap("escalations", err)
}

// --- Canned replies ---

const cannedColumns = `id, name, bodies, COALESCE(created_by, 0), created_at, updated_at`

func scanCanned(row rowScanner) (*crm.CannedReply, error) {
	var (
		c      crm.CannedReply
		bodies string
	)
	if err := row.Scan(&c.ID, &c.Name, &bodies, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(bodies), &c.Bodies); err != nil {
		return nil, fmt.Errorf("canned reply %d: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// InsertCannedReply writes c and fills in its id and times.
func (tx *Tx) InsertCannedReply(ctx context.Context, c *crm.CannedReply) error {
	c.CreatedAt, c.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO desk_canned_replies (name, bodies, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		c.Name, mustJSON(c.Bodies), nullID(c.CreatedBy), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert canned reply: %w", err)
	}
	c.ID = id
	return nil
}

// UpdateCannedReply writes c's name and texts.
func (tx *Tx) UpdateCannedReply(ctx context.Context, c *crm.CannedReply) error {
	c.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Canned reply", `UPDATE desk_canned_replies SET name = ?, bodies = ?, updated_at = ? WHERE id = ?`,
		c.Name, mustJSON(c.Bodies), tx.now, c.ID)
}

// DeleteCannedReply removes a canned reply.
func (tx *Tx) DeleteCannedReply(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Canned reply", `DELETE FROM desk_canned_replies WHERE id = ?`, id)
}

// FindCannedReply returns a canned reply.
func (tx *Tx) FindCannedReply(ctx context.Context, id int64) (*crm.CannedReply, error) {
	c, err := scanCanned(tx.QueryRow(ctx, `SELECT `+cannedColumns+` FROM desk_canned_replies WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Canned reply")
	}
	return c, nil
}

// ListCannedReplies returns every canned reply by name.
func (tx *Tx) ListCannedReplies(ctx context.Context) ([]*crm.CannedReply, error) {
	rows, err := tx.Query(ctx, `SELECT `+cannedColumns+` FROM desk_canned_replies ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	var out []*crm.CannedReply
	err = forEachRow(rows, func(r *sql.Rows) error {
		c, err := scanCanned(r)
		if err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, tx.db.wrap("list canned replies", err)
}

// --- Agents and teams ---

// EnsureAgents makes the desk_agents rows of users that have none, with
// the default capacity.
func (tx *Tx) EnsureAgents(ctx context.Context, userIDs []int64) error {
	for _, id := range nonZeroUnique(userIDs) {
		if _, err := tx.Exec(ctx, `INSERT INTO desk_agents (user_id, updated_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING`, id, tx.now); err != nil {
			return fmt.Errorf("store: ensure agent: %w", err)
		}
	}
	return nil
}

// LockAgents locks the desk_agents rows of users (made first when
// missing) in id order, so assignments to the same agents queue up and
// each sees the load the one before it left: capacity is never exceeded.
func (tx *Tx) LockAgents(ctx context.Context, userIDs []int64) error {
	ids := nonZeroUnique(userIDs)
	if len(ids) == 0 {
		return nil
	}
	if err := tx.EnsureAgents(ctx, ids); err != nil {
		return err
	}
	if tx.Dialect() != Postgres {
		return nil // SQLite's one writer already serialises the transactions
	}
	rows, err := tx.Query(ctx, `SELECT user_id FROM desk_agents WHERE user_id IN (`+Placeholders(len(ids))+`) ORDER BY user_id FOR UPDATE`, anyArgs(ids)...)
	if err != nil {
		return err
	}
	return tx.db.wrap("lock agents", forEachRow(rows, func(r *sql.Rows) error { var id int64; return r.Scan(&id) }))
}

// Agents returns the desk settings and current load of users (all active
// users who may work tickets when ids is nil), by name.
func (tx *Tx) Agents(ctx context.Context, ids []int64) ([]*crm.Agent, error) {
	q := `SELECT u.id, u.name, u.email, COALESCE(a.capacity, 20), COALESCE(a.away, FALSE), a.last_assigned_at,
		(SELECT COUNT(*) FROM desk_tickets t WHERE t.assignee_id = u.id AND t.status IN (?, ?, ?, ?))
		FROM users u LEFT JOIN desk_agents a ON a.user_id = u.id WHERE u.active = TRUE`
	args := stringArgs(crm.ActiveTicketStatuses)
	if ids != nil {
		ids = nonZeroUnique(ids)
		if len(ids) == 0 {
			return nil, nil
		}
		q += ` AND u.id IN (` + Placeholders(len(ids)) + `)`
		args = append(args, anyArgs(ids)...)
	} else {
		q += ` AND u.role IN ('admin', 'manager', 'support')`
	}
	rows, err := tx.Query(ctx, q+` ORDER BY u.name, u.id`, args...)
	if err != nil {
		return nil, err
	}
	var out []*crm.Agent
	err = forEachRow(rows, func(r *sql.Rows) error {
		var (
			a    crm.Agent
			last sql.NullTime
		)
		if err := r.Scan(&a.UserID, &a.Name, &a.Email, &a.Capacity, &a.Away, &last, &a.Load); err != nil {
			return err
		}
		a.LastAssignedAt = nullTimePtr(last)
		out = append(out, &a)
		return nil
	})
	return out, tx.db.wrap("agents", err)
}

// SaveAgent writes an agent's capacity and presence.
func (tx *Tx) SaveAgent(ctx context.Context, userID int64, capacity int, away bool) error {
	_, err := tx.Exec(ctx, `INSERT INTO desk_agents (user_id, capacity, away, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET capacity = excluded.capacity, away = excluded.away, updated_at = excluded.updated_at`,
		userID, capacity, away, tx.now)
	if err != nil {
		return fmt.Errorf("store: save agent: %w", err)
	}
	return nil
}

// TouchAgentAssigned records that an agent was just given a ticket (round
// robin picks the one given a ticket longest ago).
func (tx *Tx) TouchAgentAssigned(ctx context.Context, userID int64) error {
	_, err := tx.Exec(ctx, `UPDATE desk_agents SET last_assigned_at = ? WHERE user_id = ?`, tx.now, userID)
	return err
}

// DeskTeams returns every team with its assignment mode and members.
func (tx *Tx) DeskTeams(ctx context.Context) ([]*crm.DeskTeam, error) {
	teams, err := tx.ListTeams(ctx)
	if err != nil {
		return nil, err
	}
	modes := map[int64]string{}
	rows, err := tx.Query(ctx, `SELECT team_id, assignment FROM desk_teams`)
	if err != nil {
		return nil, err
	}
	if err := forEachRow(rows, func(r *sql.Rows) error {
		var (
			id int64
			m  string
		)
		if err := r.Scan(&id, &m); err != nil {
			return err
		}
		modes[id] = m
		return nil
	}); err != nil {
		return nil, tx.db.wrap("desk teams", err)
	}
	out := make([]*crm.DeskTeam, 0, len(teams))
	for _, t := range teams {
		m := modes[t.ID]
		if m == "" {
			m = crm.AssignManual
		}
		out = append(out, &crm.DeskTeam{TeamID: t.ID, Name: t.Name, Assignment: m, MemberIDs: t.MemberIDs})
	}
	return out, nil
}

// SaveDeskTeam writes a team's assignment mode.
func (tx *Tx) SaveDeskTeam(ctx context.Context, teamID int64, mode string) error {
	_, err := tx.Exec(ctx, `INSERT INTO desk_teams (team_id, assignment, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (team_id) DO UPDATE SET assignment = excluded.assignment, updated_at = excluded.updated_at`, teamID, mode, tx.now)
	if err != nil {
		return fmt.Errorf("store: save desk team: %w", err)
	}
	return nil
}

// DeskTeamMode returns a team's assignment mode (manual when unset).
func (tx *Tx) DeskTeamMode(ctx context.Context, teamID int64) (string, error) {
	var m string
	err := tx.QueryRow(ctx, `SELECT assignment FROM desk_teams WHERE team_id = ?`, teamID).Scan(&m)
	if err == sql.ErrNoRows {
		return crm.AssignManual, nil
	}
	return m, tx.db.wrap("desk team", err)
}

// DeskUserNames returns user names by id, in one query.
func (tx *Tx) DeskUserNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	refs, err := tx.UserRefs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(refs))
	for id, r := range refs {
		out[id] = r.Name
		if out[id] == "" {
			out[id] = r.Email
		}
	}
	return out, nil
}
