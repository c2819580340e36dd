package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// The sales reports' queries: the forecast, the funnel, outcomes per
// owner, outcomes by reason and activity per rep. Each sums in the
// database; the sales service buckets and divides.

// ForecastRow is the open deals expected to close on one date, for one
// pipeline, owner and currency: how many, their value and their weighted
// value (each deal's value × its stage's probability, rounded half up).
type ForecastRow struct {
	Close      string // YYYY-MM-DD, "" for deals without a date
	PipelineID int64
	OwnerID    int64
	Currency   string
	Count      int64
	Value      int64
	Weighted   int64
}

// ForecastFilter selects the open deals of a forecast.
type ForecastFilter struct {
	PipelineID int64
	OwnerID    int64
	CloseTo    string // expected close on or before (YYYY-MM-DD); "" no bound
}

// ForecastRows sums the open deals the scope shows by expected close date,
// pipeline, owner and currency.
func (tx *Tx) ForecastRows(ctx context.Context, f ForecastFilter, scope SalesScope) ([]ForecastRow, error) {
	var w conds
	w.add(`d.status = ?`, crm.DealOpen)
	if f.PipelineID != 0 {
		w.add(`d.pipeline_id = ?`, f.PipelineID)
	}
	if f.OwnerID != 0 {
		w.add(`d.owner_id = ?`, f.OwnerID)
	}
	if f.CloseTo != "" {
		w.add(`d.expected_close <= ?`, f.CloseTo)
	}
	scope.add(&w, "d.owner_id")
	rows, err := tx.Query(ctx, `SELECT d.expected_close, d.pipeline_id, COALESCE(d.owner_id, 0), d.currency, COUNT(*), SUM(d.value),
		SUM((d.value * s.probability + 50) / 100)
		FROM deals d JOIN pipeline_stages s ON s.id = d.stage_id`+w.sql()+`
		GROUP BY d.expected_close, d.pipeline_id, COALESCE(d.owner_id, 0), d.currency
		ORDER BY d.expected_close, d.pipeline_id, COALESCE(d.owner_id, 0), d.currency`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: forecast: %w", err)
	}
	var out []ForecastRow
	return out, tx.db.wrap("forecast", forEachRow(rows, func(r *sql.Rows) error {
		var fr ForecastRow
		err := r.Scan(&fr.Close, &fr.PipelineID, &fr.OwnerID, &fr.Currency, &fr.Count, &fr.Value, &fr.Weighted)
		out = append(out, fr)
		return err
	}))
}

// FunnelRow counts the deals of a pipeline by the furthest open stage
// position they reached (0: none recorded) and their status.
type FunnelRow struct {
	Reached int
	Status  string
	Count   int64
}

// FunnelRows counts the deals of a pipeline created in [from, to) that
// the scope shows, by the furthest position among the pipeline's open
// stages they were ever in (by the stages' current positions) and their
// status now.
func (tx *Tx) FunnelRows(ctx context.Context, pipelineID int64, from, to time.Time, scope SalesScope) ([]FunnelRow, error) {
	var w conds
	w.add(`d.pipeline_id = ?`, pipelineID)
	w.add(`d.created_at >= ?`, from.UTC())
	w.add(`d.created_at < ?`, to.UTC())
	scope.add(&w, "d.owner_id")
	rows, err := tx.Query(ctx, `SELECT reached, status, COUNT(*) FROM (
		SELECT d.id, d.status, COALESCE(MAX(CASE WHEN s.kind = 'open' THEN s.position END), 0) AS reached
		FROM deals d LEFT JOIN deal_stage_history h ON h.deal_id = d.id LEFT JOIN pipeline_stages s ON s.id = h.stage_id`+w.sql()+`
		GROUP BY d.id, d.status) x GROUP BY reached, status ORDER BY reached, status`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: funnel: %w", err)
	}
	var out []FunnelRow
	return out, tx.db.wrap("funnel", forEachRow(rows, func(r *sql.Rows) error {
		var fr FunnelRow
		err := r.Scan(&fr.Reached, &fr.Status, &fr.Count)
		out = append(out, fr)
		return err
	}))
}

// ClosedDeal is a won or lost deal, as the outcome reports read it.
type ClosedDeal struct {
	OwnerID      int64
	PipelineID   int64
	Status       string
	Currency     string
	Value        int64
	LostReasonID int64
	CreatedAt    time.Time
	ClosedAt     time.Time
}

// ClosedDeals calls fn with each deal won or lost in [from, to) that the
// scope shows (pipelineID 0: every pipeline).
func (tx *Tx) ClosedDeals(ctx context.Context, pipelineID int64, from, to time.Time, scope SalesScope, fn func(ClosedDeal) error) error {
	var w conds
	w.add(`d.status <> ?`, crm.DealOpen)
	w.add(`d.closed_at >= ?`, from.UTC())
	w.add(`d.closed_at < ?`, to.UTC())
	if pipelineID != 0 {
		w.add(`d.pipeline_id = ?`, pipelineID)
	}
	scope.add(&w, "d.owner_id")
	rows, err := tx.Query(ctx, `SELECT COALESCE(d.owner_id, 0), d.pipeline_id, d.status, d.currency, d.value, COALESCE(d.lost_reason_id, 0),
		d.created_at, d.closed_at FROM deals d`+w.sql()+` ORDER BY d.closed_at, d.id`, w.args...)
	if err != nil {
		return fmt.Errorf("store: closed deals: %w", err)
	}
	return tx.db.wrap("closed deals", forEachRow(rows, func(r *sql.Rows) error {
		var c ClosedDeal
		if err := r.Scan(&c.OwnerID, &c.PipelineID, &c.Status, &c.Currency, &c.Value, &c.LostReasonID, &c.CreatedAt, &c.ClosedAt); err != nil {
			return err
		}
		c.CreatedAt, c.ClosedAt = c.CreatedAt.UTC(), c.ClosedAt.UTC()
		return fn(c)
	}))
}

// ActivityRow counts one user's activities of one kind: done in the
// period, and open past their due time now.
type ActivityRow struct {
	UserID  int64
	Kind    string
	Done    int64
	Overdue int64
}

// ActivityPerRep counts activities done in [from, to) and those open and
// overdue at now, per assignee and kind; with a team scope, only the
// assignees the scope shows.
func (tx *Tx) ActivityPerRep(ctx context.Context, from, to, now time.Time, scope SalesScope) ([]ActivityRow, error) {
	var w conds
	w.add(`assignee_id IS NOT NULL`)
	w.add(`((done_at >= ? AND done_at < ?) OR (done_at IS NULL AND due_at < ?))`, from.UTC(), to.UTC(), now.UTC())
	scope.add(&w, "assignee_id")
	rows, err := tx.Query(ctx, `SELECT assignee_id, kind,
		SUM(CASE WHEN done_at IS NOT NULL THEN 1 ELSE 0 END), SUM(CASE WHEN done_at IS NULL THEN 1 ELSE 0 END)
		FROM tasks`+w.sql()+` GROUP BY assignee_id, kind ORDER BY assignee_id, kind`, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: activity per rep: %w", err)
	}
	var out []ActivityRow
	return out, tx.db.wrap("activity per rep", forEachRow(rows, func(r *sql.Rows) error {
		var a ActivityRow
		err := r.Scan(&a.UserID, &a.Kind, &a.Done, &a.Overdue)
		out = append(out, a)
		return err
	}))
}

// SalesUsers returns the users who own deals or leads, or are active and
// may sell, for owner filters: id and name.
func (tx *Tx) SalesUsers(ctx context.Context) ([]UserRef, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, email, active FROM users
		WHERE active = TRUE OR id IN (SELECT owner_id FROM deals WHERE owner_id IS NOT NULL)
		ORDER BY name, email, id`)
	if err != nil {
		return nil, fmt.Errorf("store: sales users: %w", err)
	}
	var out []UserRef
	return out, tx.db.wrap("sales users", forEachRow(rows, func(r *sql.Rows) error {
		var u UserRef
		err := r.Scan(&u.ID, &u.Name, &u.Email, &u.Active)
		out = append(out, u)
		return err
	}))
}
