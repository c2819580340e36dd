package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pivand/pivand/internal/crm"
)

// Sales: pipelines and their stages, lost reasons, the sales settings and
// who sees which deals (SalesScope). Deals are in sales_deals.go, products,
// line items and quotes in sales_lines.go, leads in sales_leads.go and the
// report queries in sales_reports.go. The sales service (internal/sales)
// validates and decides; these methods only store.

// SalesScope limits the deals and leads a user sees: everything (TeamOf
// 0), or those owned by user TeamOf and by the members of TeamOf's teams.
type SalesScope struct {
	TeamOf int64
}

// cond returns the scope's condition on an owner column, or "".
func (s SalesScope) cond(col string) (string, []any) {
	if s.TeamOf == 0 {
		return "", nil
	}
	return "(" + col + " = ? OR " + col + ` IN (SELECT m2.user_id FROM team_members m1
		JOIN team_members m2 ON m2.team_id = m1.team_id WHERE m1.user_id = ?))`, []any{s.TeamOf, s.TeamOf}
}

// add puts the scope's condition on c.
func (s SalesScope) add(c *conds, col string) {
	if q, args := s.cond(col); q != "" {
		c.add(q, args...)
	}
}

// --- Pipelines and stages ---

const stageColumns = `id, pipeline_id, name, position, probability, kind, removed_at`

func scanStage(row rowScanner) (crm.Stage, error) {
	var (
		s       crm.Stage
		removed sql.NullTime
	)
	err := row.Scan(&s.ID, &s.PipelineID, &s.Name, &s.Position, &s.Probability, &s.Kind, &removed)
	s.RemovedAt = nullTimePtr(removed)
	return s, err
}

// InsertPipeline writes p and its stages (in the order given, positions
// 1, 2, …) and fills in their ids and times.
func (tx *Tx) InsertPipeline(ctx context.Context, p *crm.Pipeline) error {
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	if p.Position == 0 {
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM pipelines`).Scan(&p.Position); err != nil {
			return tx.db.wrap("pipeline position", err)
		}
	}
	id, err := tx.InsertID(ctx, `INSERT INTO pipelines (name, currency, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		p.Name, p.Currency, p.Position, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert pipeline: %w", err)
	}
	p.ID = id
	for i := range p.Stages {
		s := &p.Stages[i]
		s.PipelineID, s.Position = id, i+1
		if err := tx.InsertStage(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// UpdatePipeline writes p's name, currency and position.
func (tx *Tx) UpdatePipeline(ctx context.Context, p *crm.Pipeline) error {
	p.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Pipeline", `UPDATE pipelines SET name = ?, currency = ?, position = ?, updated_at = ? WHERE id = ?`,
		p.Name, p.Currency, p.Position, tx.now, p.ID)
}

// DeletePipeline removes a pipeline and its stages. The caller makes
// sure no deal is in it (the foreign key refuses otherwise).
func (tx *Tx) DeletePipeline(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Pipeline", `DELETE FROM pipelines WHERE id = ?`, id)
}

// FindPipeline returns a pipeline with its stages in order (removed ones
// left out). With lock the row stays locked until the transaction ends.
func (tx *Tx) FindPipeline(ctx context.Context, id int64, lock bool) (*crm.Pipeline, error) {
	q := `SELECT id, name, currency, position, created_at, updated_at FROM pipelines WHERE id = ?`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	var p crm.Pipeline
	if err := tx.QueryRow(ctx, q, id).Scan(&p.ID, &p.Name, &p.Currency, &p.Position, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, tx.NotFound(err, "Pipeline")
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if err := tx.fillStages(ctx, []*crm.Pipeline{&p}); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListPipelines returns every pipeline with its stages, by position.
func (tx *Tx) ListPipelines(ctx context.Context) ([]*crm.Pipeline, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, currency, position, created_at, updated_at FROM pipelines ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list pipelines: %w", err)
	}
	var out []*crm.Pipeline
	err = forEachRow(rows, func(r *sql.Rows) error {
		var p crm.Pipeline
		if err := r.Scan(&p.ID, &p.Name, &p.Currency, &p.Position, &p.CreatedAt, &p.UpdatedAt); err != nil {
			return err
		}
		p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
		out = append(out, &p)
		return nil
	})
	if err != nil {
		return nil, tx.db.wrap("list pipelines", err)
	}
	return out, tx.fillStages(ctx, out)
}

// stageOrder sorts stages: open ones by position, then won, then lost.
const stageOrder = ` ORDER BY CASE kind WHEN 'open' THEN 0 WHEN 'won' THEN 1 ELSE 2 END, position, id`

func (tx *Tx) fillStages(ctx context.Context, ps []*crm.Pipeline) error {
	if len(ps) == 0 {
		return nil
	}
	byID := map[int64]*crm.Pipeline{}
	ids := make([]int64, len(ps))
	for i, p := range ps {
		byID[p.ID] = p
		ids[i] = p.ID
		p.Stages = []crm.Stage{}
	}
	rows, err := tx.Query(ctx, `SELECT `+stageColumns+` FROM pipeline_stages WHERE removed_at IS NULL AND pipeline_id IN (`+
		Placeholders(len(ids))+`)`+stageOrder, anyArgs(ids)...)
	if err != nil {
		return fmt.Errorf("store: stages: %w", err)
	}
	return tx.db.wrap("stages", forEachRow(rows, func(r *sql.Rows) error {
		s, err := scanStage(r)
		if err != nil {
			return err
		}
		if p := byID[s.PipelineID]; p != nil {
			p.Stages = append(p.Stages, s)
		}
		return nil
	}))
}

// InsertStage writes s and fills in its id.
func (tx *Tx) InsertStage(ctx context.Context, s *crm.Stage) error {
	id, err := tx.InsertID(ctx, `INSERT INTO pipeline_stages (pipeline_id, name, position, probability, kind, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, s.PipelineID, s.Name, s.Position, s.Probability, s.Kind, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert stage: %w", err)
	}
	s.ID = id
	return nil
}

// UpdateStage writes s's name, position and probability.
func (tx *Tx) UpdateStage(ctx context.Context, s *crm.Stage) error {
	return tx.expectOneRow(ctx, "Stage", `UPDATE pipeline_stages SET name = ?, position = ?, probability = ?, updated_at = ? WHERE id = ?`,
		s.Name, s.Position, s.Probability, tx.now, s.ID)
}

// RemoveStage marks a stage removed; its row stays for the history.
func (tx *Tx) RemoveStage(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Stage", `UPDATE pipeline_stages SET removed_at = ?, updated_at = ? WHERE id = ? AND removed_at IS NULL`, tx.now, tx.now, id)
}

// FindStage returns a stage, removed or not.
func (tx *Tx) FindStage(ctx context.Context, id int64) (*crm.Stage, error) {
	s, err := scanStage(tx.QueryRow(ctx, `SELECT `+stageColumns+` FROM pipeline_stages WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Stage")
	}
	return &s, nil
}

// StagesByID returns the stages with the given ids, removed ones too.
func (tx *Tx) StagesByID(ctx context.Context, ids []int64) (map[int64]crm.Stage, error) {
	out := map[int64]crm.Stage{}
	ids = nonZeroUnique(ids)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT `+stageColumns+` FROM pipeline_stages WHERE id IN (`+Placeholders(len(ids))+`)`, anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: stages: %w", err)
	}
	return out, tx.db.wrap("stages", forEachRow(rows, func(r *sql.Rows) error {
		s, err := scanStage(r)
		out[s.ID] = s
		return err
	}))
}

// CountDeals counts the deals in a pipeline (stageID 0) or in one stage,
// of status ("" any).
func (tx *Tx) CountDeals(ctx context.Context, pipelineID, stageID int64, status string) (int64, error) {
	var w conds
	if pipelineID != 0 {
		w.add(`pipeline_id = ?`, pipelineID)
	}
	if stageID != 0 {
		w.add(`stage_id = ?`, stageID)
	}
	if status != "" {
		w.add(`status = ?`, status)
	}
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM deals`+w.sql(), w.args...).Scan(&n)
	return n, tx.db.wrap("count deals", err)
}

// --- Lost reasons ---

// InsertLostReason writes r (at the end of the list) and fills in its id.
func (tx *Tx) InsertLostReason(ctx context.Context, r *crm.LostReason) error {
	r.CreatedAt = tx.now
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(position), 0) + 1 FROM lost_reasons`).Scan(&r.Position); err != nil {
		return tx.db.wrap("lost reason position", err)
	}
	id, err := tx.InsertID(ctx, `INSERT INTO lost_reasons (name, position, active, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		r.Name, r.Position, r.Active, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert lost reason: %w", err)
	}
	r.ID = id
	return nil
}

// UpdateLostReason writes r's name, position and active flag.
func (tx *Tx) UpdateLostReason(ctx context.Context, r *crm.LostReason) error {
	return tx.expectOneRow(ctx, "Lost reason", `UPDATE lost_reasons SET name = ?, position = ?, active = ? WHERE id = ?`,
		r.Name, r.Position, r.Active, r.ID)
}

// DeleteLostReason removes a lost reason no deal names.
func (tx *Tx) DeleteLostReason(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Lost reason", `DELETE FROM lost_reasons WHERE id = ?`, id)
}

// LostReasonUses counts the deals lost for a reason.
func (tx *Tx) LostReasonUses(ctx context.Context, id int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM deals WHERE lost_reason_id = ?`, id).Scan(&n)
	return n, tx.db.wrap("lost reason uses", err)
}

// FindLostReason returns one lost reason.
func (tx *Tx) FindLostReason(ctx context.Context, id int64) (*crm.LostReason, error) {
	var r crm.LostReason
	err := tx.QueryRow(ctx, `SELECT id, name, position, active, created_at FROM lost_reasons WHERE id = ?`, id).
		Scan(&r.ID, &r.Name, &r.Position, &r.Active, &r.CreatedAt)
	if err != nil {
		return nil, tx.NotFound(err, "Lost reason")
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return &r, nil
}

// ListLostReasons returns the lost reasons by position (only the active
// ones with activeOnly).
func (tx *Tx) ListLostReasons(ctx context.Context, activeOnly bool) ([]*crm.LostReason, error) {
	q := `SELECT id, name, position, active, created_at FROM lost_reasons`
	if activeOnly {
		q += ` WHERE active = TRUE`
	}
	rows, err := tx.Query(ctx, q+` ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("store: lost reasons: %w", err)
	}
	out := []*crm.LostReason{}
	return out, tx.db.wrap("lost reasons", forEachRow(rows, func(r *sql.Rows) error {
		var lr crm.LostReason
		if err := r.Scan(&lr.ID, &lr.Name, &lr.Position, &lr.Active, &lr.CreatedAt); err != nil {
			return err
		}
		lr.CreatedAt = lr.CreatedAt.UTC()
		out = append(out, &lr)
		return nil
	}))
}

// --- Settings ---

// SalesSetting returns the stored value of a sales setting ("sales",
// "sales.logo"); ok is false when none was saved.
func (tx *Tx) SalesSetting(ctx context.Context, key string) (string, bool, error) {
	return tx.moduleSetting(ctx, "sales", key)
}

// SaveSalesSetting stores a sales setting; an empty value removes it.
func (tx *Tx) SaveSalesSetting(ctx context.Context, key, value string) error {
	if value == "" {
		if err := checkSettingKey("sales", key); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM settings WHERE key = ?`, key)
		return err
	}
	return tx.saveModuleSetting(ctx, "sales", key, value)
}
