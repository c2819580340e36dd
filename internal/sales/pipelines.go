package sales

import (
	"context"
	"fmt"
	"slices"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Pipelines, their stages and the lost reasons: read by every sales user,
// changed by admins (settings:manage).

// StageInput is a stage to add or change. Probability is a percent (0–100);
// nil keeps the stored one (or, for a new stage, guesses from its place).
type StageInput struct {
	Name        string `json:"name"`
	Probability *int   `json:"probability,omitempty"`
}

// PipelineInput is a new pipeline: its name, the currency its deals start
// in, its open stages in order, and the names of its won and lost stages
// ("Won" and "Lost" when empty).
type PipelineInput struct {
	Name      string       `json:"name"`
	Currency  string       `json:"currency"`
	Stages    []StageInput `json:"stages"`
	WonStage  string       `json:"won_stage,omitempty"`
	LostStage string       `json:"lost_stage,omitempty"`
}

// Pipelines returns every pipeline with its stages. Needs sales:read.
func (s *Service) Pipelines(ctx context.Context) ([]*crm.Pipeline, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []*crm.Pipeline
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListPipelines(ctx)
		return err
	})
	return out, err
}

// Pipeline returns one pipeline with its stages. Needs sales:read.
func (s *Service) Pipeline(ctx context.Context, id int64) (*crm.Pipeline, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out *crm.Pipeline
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.FindPipeline(ctx, id, false)
		return err
	})
	return out, err
}

func checkStage(v *crm.Validation, field string, in StageInput) (string, int) {
	name := checkText(v, field+".name", in.Name, MaxShort)
	if name == "" {
		v.Add(field+".name", "A stage needs a name.")
	}
	p := 0
	if in.Probability != nil {
		p = *in.Probability
		if p < 0 || p > 100 {
			v.Add(field+".probability", "Use a percent from 0 to 100.")
		}
	}
	return name, p
}

// CreatePipeline adds a pipeline with its open stages and its won and lost
// stages. A stage without a probability gets one from its place (evenly
// from 10% towards 90%). Needs settings:manage.
func (s *Service) CreatePipeline(ctx context.Context, in PipelineInput) (*crm.Pipeline, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	p := &crm.Pipeline{Name: checkText(&v, "name", in.Name, MaxName), Currency: checkCurrency(&v, "currency", in.Currency)}
	if p.Name == "" {
		v.Add("name", "A pipeline needs a name.")
	}
	switch {
	case len(in.Stages) == 0:
		v.Add("stages", "Give at least one open stage.")
	case len(in.Stages) > MaxStages:
		v.Add("stages", "A pipeline has at most %d stages.", MaxStages)
	}
	for i, st := range in.Stages {
		name, prob := checkStage(&v, fmt.Sprintf("stages[%d]", i), st)
		if st.Probability == nil {
			prob = 10 + 80*i/max(1, len(in.Stages))
		}
		p.Stages = append(p.Stages, crm.Stage{Name: name, Probability: prob, Kind: crm.StageOpen})
	}
	won, lost := checkText(&v, "won_stage", in.WonStage, MaxShort), checkText(&v, "lost_stage", in.LostStage, MaxShort)
	if won == "" {
		won = "Won"
	}
	if lost == "" {
		lost = "Lost"
	}
	p.Stages = append(p.Stages, crm.Stage{Name: won, Probability: 100, Kind: crm.StageWon}, crm.Stage{Name: lost, Probability: 0, Kind: crm.StageLost})
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		all, err := tx.ListPipelines(ctx)
		if err != nil {
			return err
		}
		if len(all) >= MaxPipelines {
			return conflict("There are already %d pipelines, the most Pivand keeps.", MaxPipelines)
		}
		if err := tx.InsertPipeline(ctx, p); err != nil {
			return err
		}
		return tx.Audit(ctx, "pipeline.create", "pipeline", p.ID, nil, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// PipelineUpdate changes a pipeline; nil fields stay.
type PipelineUpdate struct {
	Name     *string `json:"name,omitempty"`
	Currency *string `json:"currency,omitempty"`
	Position *int    `json:"position,omitempty"`
}

// UpdatePipeline renames a pipeline, changes the currency new deals start
// in, or its place in the list. Needs settings:manage.
func (s *Service) UpdatePipeline(ctx context.Context, id int64, up PipelineUpdate) (*crm.Pipeline, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var p *crm.Pipeline
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = tx.FindPipeline(ctx, id, true); err != nil {
			return err
		}
		before := *p
		var v crm.Validation
		if up.Name != nil {
			if p.Name = checkText(&v, "name", *up.Name, MaxName); p.Name == "" {
				v.Add("name", "A pipeline needs a name.")
			}
		}
		if up.Currency != nil {
			p.Currency = checkCurrency(&v, "currency", *up.Currency)
		}
		if up.Position != nil {
			if *up.Position < 1 || *up.Position > 1000 {
				v.Add("position", "Use a position from 1 to 1000.")
			}
			p.Position = *up.Position
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.UpdatePipeline(ctx, p); err != nil {
			return err
		}
		return tx.Audit(ctx, "pipeline.update", "pipeline", p.ID, before, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeletePipeline removes a pipeline that has no deals (its deals would
// lose their history otherwise: move or delete them first). Needs
// settings:manage.
func (s *Service) DeletePipeline(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		p, err := tx.FindPipeline(ctx, id, true)
		if err != nil {
			return err
		}
		n, err := tx.CountDeals(ctx, id, 0, "")
		if err != nil {
			return err
		}
		if n > 0 {
			return conflict("Pipeline %q has %d deals; move or delete them first.", p.Name, n)
		}
		if err := tx.DeletePipeline(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "pipeline.delete", "pipeline", id, p, nil)
	})
}

// AddStage adds an open stage to a pipeline at position (1 is first; 0 or
// past the end puts it last among the open stages). Needs settings:manage.
func (s *Service) AddStage(ctx context.Context, pipelineID int64, in StageInput, position int) (*crm.Stage, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	name, prob := checkStage(&v, "stage", in)
	v = renameFields(v, "stage.", "")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var st crm.Stage
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		p, err := tx.FindPipeline(ctx, pipelineID, true)
		if err != nil {
			return err
		}
		open := p.OpenStages()
		if len(open)+2 >= MaxStages {
			return conflict("Pipeline %q already has %d stages, the most it may have.", p.Name, len(p.Stages))
		}
		if in.Probability == nil {
			prob = 50
			if len(open) > 0 {
				prob = min(95, open[len(open)-1].Probability+10)
			}
		}
		st = crm.Stage{PipelineID: p.ID, Name: name, Probability: prob, Kind: crm.StageOpen}
		if err := tx.InsertStage(ctx, &st); err != nil {
			return err
		}
		if position < 1 || position > len(open)+1 {
			position = len(open) + 1
		}
		order := slices.Insert(open, position-1, st)
		if err := renumber(ctx, tx, order); err != nil {
			return err
		}
		st.Position = position
		return tx.Audit(ctx, "stage.create", "stage", st.ID, nil, st)
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// renumber gives the stages positions 1, 2, … in order.
func renumber(ctx context.Context, tx *store.Tx, stages []crm.Stage) error {
	for i := range stages {
		if stages[i].Position == i+1 {
			continue
		}
		stages[i].Position = i + 1
		if err := tx.UpdateStage(ctx, &stages[i]); err != nil {
			return err
		}
	}
	return nil
}

// renameFields moves the problems under prefix from to prefix to.
func renameFields(v crm.Validation, from, to string) crm.Validation {
	err := v.Err()
	if err == nil {
		return v
	}
	var out crm.Validation
	for k, msg := range crm.ErrorFields(err) {
		if len(k) >= len(from) && k[:len(from)] == from {
			k = to + k[len(from):]
		}
		out.Add(k, "%s", msg)
	}
	return out
}

// StageUpdate changes a stage; nil fields stay. Position reorders the
// open stages (1 is first); won and lost stages keep their places and
// probabilities.
type StageUpdate struct {
	Name        *string `json:"name,omitempty"`
	Probability *int    `json:"probability,omitempty"`
	Position    *int    `json:"position,omitempty"`
}

// UpdateStage renames a stage, changes its probability or moves it among
// the open stages. Deals keep their history: it names stages as they were.
// Needs settings:manage.
func (s *Service) UpdateStage(ctx context.Context, id int64, up StageUpdate) (*crm.Stage, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var st *crm.Stage
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if st, err = tx.FindStage(ctx, id); err != nil {
			return err
		}
		if st.RemovedAt != nil {
			return crm.Errorf(crm.ENOTFOUND, "Stage was not found.")
		}
		p, err := tx.FindPipeline(ctx, st.PipelineID, true)
		if err != nil {
			return err
		}
		before := *st
		var v crm.Validation
		if up.Name != nil {
			if st.Name = checkText(&v, "name", *up.Name, MaxShort); st.Name == "" {
				v.Add("name", "A stage needs a name.")
			}
		}
		if up.Probability != nil {
			switch {
			case st.Kind != crm.StageOpen:
				v.Add("probability", "Won stages are 100%% and lost stages 0%%.")
			case *up.Probability < 0 || *up.Probability > 100:
				v.Add("probability", "Use a percent from 0 to 100.")
			default:
				st.Probability = *up.Probability
			}
		}
		if up.Position != nil && st.Kind != crm.StageOpen {
			v.Add("position", "Won and lost stages stay at the end.")
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.UpdateStage(ctx, st); err != nil {
			return err
		}
		if up.Position != nil {
			open := slices.DeleteFunc(p.OpenStages(), func(o crm.Stage) bool { return o.ID == st.ID })
			pos := max(1, min(*up.Position, len(open)+1))
			if err := renumber(ctx, tx, slices.Insert(open, pos-1, *st)); err != nil {
				return err
			}
			st.Position = pos
		}
		return tx.Audit(ctx, "stage.update", "stage", st.ID, before, st)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// RemoveStage removes an open stage. Its open deals move to stage moveTo
// (an open stage of the same pipeline), each with a stage change in its
// history; a stage with open deals and no moveTo is refused. Deals that
// passed through the stage keep it in their history, by its name then.
// Won and lost stages cannot be removed. Needs settings:manage.
func (s *Service) RemoveStage(ctx context.Context, id, moveTo int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		st, err := tx.FindStage(ctx, id)
		if err != nil {
			return err
		}
		if st.RemovedAt != nil {
			return crm.Errorf(crm.ENOTFOUND, "Stage was not found.")
		}
		if st.Kind != crm.StageOpen {
			return conflict("The won and lost stages of a pipeline cannot be removed; rename them instead.")
		}
		p, err := tx.FindPipeline(ctx, st.PipelineID, true)
		if err != nil {
			return err
		}
		open := p.OpenStages()
		if len(open) == 1 {
			return conflict("A pipeline needs at least one open stage.")
		}
		deals, err := tx.OpenDealsInStage(ctx, id)
		if err != nil {
			return err
		}
		var target crm.Stage
		if len(deals) > 0 {
			found := false
			for _, o := range open {
				if o.ID == moveTo && o.ID != id {
					target, found = o, true
				}
			}
			if !found {
				if moveTo == 0 {
					return fieldError("move_to", "Stage %q has %d deals: choose the open stage of %q they move to.", st.Name, len(deals), p.Name)
				}
				return fieldError("move_to", "Choose another open stage of pipeline %q.", p.Name)
			}
		}
		for _, d := range deals {
			if err := s.moveTx(ctx, tx, d, p, target, moveInput{}); err != nil {
				return err
			}
		}
		if err := tx.RemoveStage(ctx, id); err != nil {
			return err
		}
		rest := slices.DeleteFunc(open, func(o crm.Stage) bool { return o.ID == id })
		if err := renumber(ctx, tx, rest); err != nil {
			return err
		}
		return tx.Audit(ctx, "stage.remove", "stage", id, st, map[string]any{"moved_deals": len(deals), "move_to": moveTo})
	})
}

// --- Lost reasons ---

// LostReasons lists the lost reasons (only the active ones with
// activeOnly). Needs sales:read.
func (s *Service) LostReasons(ctx context.Context, activeOnly bool) ([]*crm.LostReason, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []*crm.LostReason
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListLostReasons(ctx, activeOnly)
		return err
	})
	return out, err
}

// CreateLostReason adds a lost reason at the end of the list. Needs
// settings:manage.
func (s *Service) CreateLostReason(ctx context.Context, name string) (*crm.LostReason, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	r := &crm.LostReason{Name: checkText(&v, "name", name, MaxShort), Active: true}
	if r.Name == "" {
		v.Add("name", "A reason needs a name.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertLostReason(ctx, r); err != nil {
			return err
		}
		return tx.Audit(ctx, "lost_reason.create", "lost_reason", r.ID, nil, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// LostReasonUpdate changes a lost reason; nil fields stay.
type LostReasonUpdate struct {
	Name     *string `json:"name,omitempty"`
	Active   *bool   `json:"active,omitempty"`
	Position *int    `json:"position,omitempty"`
}

// UpdateLostReason renames a reason, retires it (active false: deals lost
// for it keep it, new ones cannot choose it) or moves it in the list.
// Needs settings:manage.
func (s *Service) UpdateLostReason(ctx context.Context, id int64, up LostReasonUpdate) (*crm.LostReason, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var r *crm.LostReason
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if r, err = tx.FindLostReason(ctx, id); err != nil {
			return err
		}
		before := *r
		var v crm.Validation
		if up.Name != nil {
			if r.Name = checkText(&v, "name", *up.Name, MaxShort); r.Name == "" {
				v.Add("name", "A reason needs a name.")
			}
		}
		if up.Active != nil {
			r.Active = *up.Active
		}
		if up.Position != nil {
			if *up.Position < 1 || *up.Position > 1000 {
				v.Add("position", "Use a position from 1 to 1000.")
			}
			r.Position = *up.Position
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.UpdateLostReason(ctx, r); err != nil {
			return err
		}
		return tx.Audit(ctx, "lost_reason.update", "lost_reason", r.ID, before, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// DeleteLostReason removes a reason no deal was lost for; one in use is
// a conflict (retire it instead, so the reports keep it). Needs
// settings:manage.
func (s *Service) DeleteLostReason(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.FindLostReason(ctx, id)
		if err != nil {
			return err
		}
		n, err := tx.LostReasonUses(ctx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return conflict("%d deals were lost for %q; retire the reason (active false) instead of deleting it.", n, r.Name)
		}
		if err := tx.DeleteLostReason(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "lost_reason.delete", "lost_reason", id, r, nil)
	})
}
