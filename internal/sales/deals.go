package sales

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// DealInput is a new deal. PipelineID 0 is the first pipeline; StageID 0
// its first open stage; Currency "" the pipeline's; OwnerID nil the
// acting user (0: nobody). With ValueFromLines the value is the sum of
// Lines (before tax) and Value must be absent.
type DealInput struct {
	Title          string
	PipelineID     int64
	StageID        int64
	Value          *int64
	Currency       string
	ValueFromLines bool
	ContactID      int64
	CompanyID      int64
	OwnerID        *int64
	ExpectedClose  string // YYYY-MM-DD
	Source         string
	Tags           []string
	Custom         map[string]any
	Lines          []LineInput
	LeadID         int64 // set by lead conversion
	// LostReasonID and LostNote are for a deal created in a lost stage,
	// as a move there takes them (the reason required when the settings
	// say so and there are reasons); other stages ignore them.
	LostReasonID int64
	LostNote     string
}

// ConflictError is returned (code conflict, 409) when a move or update
// names a version of the deal that is no longer current: someone changed
// it since. Deal is the deal as it is now, so the caller can show the
// final state.
type ConflictError struct {
	Deal *crm.Deal
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("conflict: deal %d changed meanwhile (now version %d)", e.Deal.ID, e.Deal.Version)
}

// Unwrap gives the crm.Error form, so ErrorCode and the HTTP mapping treat
// it as any conflict.
func (e *ConflictError) Unwrap() error {
	return &crm.Error{Code: crm.ECONFLICT, Key: "sales.error.changed_meanwhile",
		Message: "Someone changed this deal since you saw it; it is shown as it is now."}
}

// checkVersion refuses a stale version (0: the caller did not say).
func checkVersion(d *crm.Deal, version int64) error {
	if version != 0 && version != d.Version {
		return &ConflictError{Deal: d}
	}
	return nil
}

// CreateDeal validates and stores a deal, its tags and line items, its
// first stage visit, an audit entry and deal.created (on the person's and
// company's timelines). A deal created in a won or lost stage is closed
// as a move there would close it: a lost stage takes (and may require) a
// lost reason, and deal.won or deal.lost follows deal.created, so reports
// and automations count it. Needs sales:write.
func (s *Service) CreateDeal(ctx context.Context, in DealInput) (*crm.Deal, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var d *crm.Deal
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		d, err = s.createDealTx(ctx, tx, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Service) createDealTx(ctx context.Context, tx *store.Tx, in DealInput) (*crm.Deal, error) {
	var v crm.Validation
	d := &crm.Deal{Title: checkText(&v, "title", in.Title, MaxTitle), Source: checkText(&v, "source", in.Source, MaxShort),
		ContactID: in.ContactID, CompanyID: in.CompanyID, ValueFromLines: in.ValueFromLines, LeadID: in.LeadID,
		ExpectedClose: checkDate(&v, "expected_close", in.ExpectedClose), Tags: checkTags(&v, in.Tags),
		CreatedBy: crm.UserIDFromContext(ctx)}
	fields, err := listDealFields(ctx, tx)
	if err != nil {
		return nil, err
	}
	// A deal made from a lead cannot ask for values nobody typed: required
	// fields are required of deals people add.
	d.Custom = s.checkCustom(&v, in.Custom, fields, in.LeadID == 0)
	if d.Title == "" {
		v.Add("title", "A deal needs a title.")
	}
	if d.Source == "" {
		d.Source = sourceFromContext(ctx)
	}
	d.OwnerID = d.CreatedBy
	if in.OwnerID != nil {
		d.OwnerID = *in.OwnerID
	}
	p, stage, err := s.placeNew(ctx, tx, &v, in.PipelineID, in.StageID)
	if err != nil {
		return nil, err
	}
	if p != nil {
		d.PipelineID, d.StageID, d.Status = p.ID, stage.ID, statusOf(stage)
		d.Currency = p.Currency
	}
	if in.Currency != "" {
		d.Currency = checkCurrency(&v, "currency", in.Currency)
	}
	if in.Value != nil {
		if in.ValueFromLines {
			v.Add("value", "This deal's value comes from its line items; leave value out, or set value_from_lines false.")
		}
		checkAmount(&v, "value", *in.Value)
		d.Value = *in.Value
	}
	if err := checkParties(ctx, tx, &v, d.ContactID, d.CompanyID); err != nil {
		return nil, err
	}
	if err := checkOwner(ctx, tx, &v, "owner_id", d.OwnerID); err != nil {
		return nil, err
	}
	lines, err := s.prepareLines(ctx, tx, &v, d.Currency, in.Lines, "lines")
	if err != nil {
		return nil, err
	}
	reason := ""
	if p != nil {
		var lost lostClose
		if lost, err = s.checkClose(ctx, tx, &v, stage, in.LostReasonID, in.LostNote, 0); err != nil {
			return nil, err
		}
		d.LostReasonID, d.LostNote, reason = lost.reasonID, lost.note, lost.reason
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if d.Status != crm.DealOpen {
		now := tx.Now()
		d.ClosedAt = &now
	}
	if d.ValueFromLines {
		d.Value = linesValue(lines)
	}
	if err := tx.InsertDeal(ctx, d); err != nil {
		return nil, err
	}
	if err := tx.EnterStage(ctx, d, stage); err != nil {
		return nil, err
	}
	if len(lines) > 0 {
		if err := tx.ReplaceDealLines(ctx, d.ID, lines); err != nil {
			return nil, err
		}
	}
	d.Lines = lines
	if err := tx.Audit(ctx, "deal.create", "deal", d.ID, nil, d); err != nil {
		return nil, err
	}
	pl, err := dealPayload(ctx, tx, d)
	if err != nil {
		return nil, err
	}
	if err := emitDeal(ctx, tx, crm.EventDealCreated, d, pl); err != nil {
		return nil, err
	}
	// Created closed: closed as a move from an open stage closes it.
	return d, emitStatusChange(ctx, tx, d, crm.DealOpen, pl, reason)
}

// placeNew finds the pipeline and stage of a new deal.
func (s *Service) placeNew(ctx context.Context, tx *store.Tx, v *crm.Validation, pipelineID, stageID int64) (*crm.Pipeline, crm.Stage, error) {
	if pipelineID == 0 && stageID != 0 {
		st, err := tx.FindStage(ctx, stageID)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			v.Add("stage_id", "Stage %d does not exist.", stageID)
			return nil, crm.Stage{}, nil
		}
		if err != nil {
			return nil, crm.Stage{}, err
		}
		pipelineID = st.PipelineID
	}
	if pipelineID == 0 {
		all, err := tx.ListPipelines(ctx)
		if err != nil {
			return nil, crm.Stage{}, err
		}
		if len(all) == 0 {
			v.Add("pipeline_id", "There is no pipeline yet; an admin creates one first.")
			return nil, crm.Stage{}, nil
		}
		pipelineID = all[0].ID
	}
	p, err := tx.FindPipeline(ctx, pipelineID, false)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		v.Add("pipeline_id", "Pipeline %d does not exist.", pipelineID)
		return nil, crm.Stage{}, nil
	}
	if err != nil {
		return nil, crm.Stage{}, err
	}
	if stageID == 0 {
		open := p.OpenStages()
		if len(open) == 0 {
			v.Add("pipeline_id", "Pipeline %q has no open stage.", p.Name)
			return nil, crm.Stage{}, nil
		}
		return p, open[0], nil
	}
	st, ok := stageIn(p, stageID)
	if !ok {
		v.Add("stage_id", "%s", stageNotInPipeline(ctx, tx, stageID, p))
		return nil, crm.Stage{}, nil
	}
	return p, st, nil
}

func stageIn(p *crm.Pipeline, id int64) (crm.Stage, bool) {
	for _, st := range p.Stages {
		if st.ID == id {
			return st, true
		}
	}
	return crm.Stage{}, false
}

// stageNotInPipeline explains why stage id cannot hold a deal of p.
func stageNotInPipeline(ctx context.Context, tx *store.Tx, id int64, p *crm.Pipeline) string {
	st, err := tx.FindStage(ctx, id)
	switch {
	case err != nil:
		return fmt.Sprintf("Stage %d does not exist.", id)
	case st.RemovedAt != nil:
		return fmt.Sprintf("Stage %q was removed from its pipeline.", st.Name)
	case st.PipelineID != p.ID:
		other, err := tx.FindPipeline(ctx, st.PipelineID, false)
		name := fmt.Sprint(st.PipelineID)
		if err == nil {
			name = fmt.Sprintf("%q", other.Name)
		}
		return fmt.Sprintf("Stage %q belongs to pipeline %s, not to this deal's pipeline %q; change the deal's pipeline to move it there.", st.Name, name, p.Name)
	}
	return fmt.Sprintf("Stage %d is not a stage of pipeline %q.", id, p.Name)
}

func statusOf(st crm.Stage) string {
	switch st.Kind {
	case crm.StageWon:
		return crm.DealWon
	case crm.StageLost:
		return crm.DealLost
	}
	return crm.DealOpen
}

// DealView is one deal with what its page shows: the names around it,
// its pipeline, stage history with the time spent in each stage, and its
// quotes.
type DealView struct {
	Deal       *crm.Deal
	Pipeline   *crm.Pipeline
	Names      *store.SalesNames
	LostReason string
	History    []crm.StageVisit
	Durations  []StageTime
	Quotes     []*crm.Quote
}

// StageTime is the time a deal spent in one stage, over all its visits.
type StageTime struct {
	StageID int64
	Name    string
	Kind    string
	Removed bool
	Visits  int
	Time    time.Duration
	Current bool
}

// Deal returns one deal with its line items. Needs sales:read; a deal the
// user does not see is ENOTFOUND.
func (s *Service) Deal(ctx context.Context, id int64) (*crm.Deal, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var d *crm.Deal
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		d, err = s.findDeal(ctx, tx, id, false)
		if err != nil {
			return err
		}
		d.Lines, err = tx.DealLines(ctx, id)
		return err
	})
	return d, err
}

func (s *Service) findDeal(ctx context.Context, tx *store.Tx, id int64, lock bool) (*crm.Deal, error) {
	sc, err := s.scope(ctx, tx)
	if err != nil {
		return nil, err
	}
	return tx.FindDeal(ctx, id, sc, lock)
}

// DealPage returns a deal with everything its page shows. Needs
// sales:read.
func (s *Service) DealPage(ctx context.Context, id int64) (*DealView, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	out := &DealView{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		d, err := s.findDeal(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if d.Lines, err = tx.DealLines(ctx, id); err != nil {
			return err
		}
		out.Deal = d
		if out.Pipeline, err = tx.FindPipeline(ctx, d.PipelineID, false); err != nil {
			return err
		}
		if out.History, err = tx.StageVisits(ctx, id); err != nil {
			return err
		}
		var stageIDs, actors []int64
		for _, h := range out.History {
			stageIDs = append(stageIDs, h.StageID)
			actors = append(actors, h.ActorID)
		}
		if out.Quotes, err = tx.DealQuotes(ctx, id); err != nil {
			return err
		}
		if out.Names, err = tx.SalesNamesFor(ctx, []int64{d.ContactID}, []int64{d.CompanyID}, append(actors, d.OwnerID),
			append(stageIDs, d.StageID), []int64{d.PipelineID}); err != nil {
			return err
		}
		if d.LostReasonID != 0 {
			if r, err := tx.FindLostReason(ctx, d.LostReasonID); err == nil {
				out.LostReason = r.Name
			}
		}
		out.Durations = stageTimes(out.History, out.Names.Stages, tx.Now())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// stageTimes adds up the time spent in each stage, in the order the deal
// first entered them; an open visit counts until now.
func stageTimes(history []crm.StageVisit, stages map[int64]crm.Stage, now time.Time) []StageTime {
	var out []StageTime
	idx := map[int64]int{}
	for _, h := range history {
		end := now
		if h.LeftAt != nil {
			end = *h.LeftAt
		}
		i, ok := idx[h.StageID]
		if !ok {
			st := stages[h.StageID]
			name := h.StageName
			if st.ID != 0 && st.RemovedAt == nil {
				name = st.Name
			}
			out = append(out, StageTime{StageID: h.StageID, Name: name, Kind: h.StageKind, Removed: st.ID == 0 || st.RemovedAt != nil})
			i = len(out) - 1
			idx[h.StageID] = i
		}
		out[i].Visits++
		if d := end.Sub(h.EnteredAt); d > 0 {
			out[i].Time += d
		}
		if h.LeftAt == nil {
			out[i].Current = true
		}
	}
	return out
}

// History returns a deal's stage history, oldest first. Needs sales:read.
func (s *Service) History(ctx context.Context, id int64) ([]crm.StageVisit, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []crm.StageVisit
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := s.findDeal(ctx, tx, id, false); err != nil {
			return err
		}
		var err error
		out, err = tx.StageVisits(ctx, id)
		return err
	})
	return out, err
}

// ListDeals lists deals matching f, newest first, with the names the list
// shows. Needs sales:read.
func (s *Service) ListDeals(ctx context.Context, f crm.DealFilter) ([]*crm.Deal, *store.SalesNames, string, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, nil, "", err
	}
	if err := checkFilter(&f); err != nil {
		return nil, nil, "", err
	}
	var (
		out   []*crm.Deal
		names *store.SalesNames
		next  string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.fieldConds(ctx, tx, &f); err != nil {
			return err
		}
		if out, next, err = tx.FindDeals(ctx, f, sc); err != nil {
			return err
		}
		names, err = tx.SalesNamesOf(ctx, out)
		return err
	})
	return out, names, next, err
}

// StreamDeals calls fn with every deal matching f and the names it needs,
// newest first, one page of names at a time (CSV exports). Needs
// sales:read.
func (s *Service) StreamDeals(ctx context.Context, f crm.DealFilter, fn func(*crm.Deal, *store.SalesNames) error) error {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return err
	}
	if err := checkFilter(&f); err != nil {
		return err
	}
	return s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.fieldConds(ctx, tx, &f); err != nil {
			return err
		}
		f.Limit, f.After = crm.MaxLimit, ""
		for {
			page, next, err := tx.FindDeals(ctx, f, sc)
			if err != nil {
				return err
			}
			names, err := tx.SalesNamesOf(ctx, page)
			if err != nil {
				return err
			}
			for _, d := range page {
				if err := fn(d, names); err != nil {
					return err
				}
			}
			if next == "" {
				return nil
			}
			f.After = next
		}
	})
}

// checkFilter validates a deal filter, naming the bad parameter.
func checkFilter(f *crm.DealFilter) error {
	var v crm.Validation
	if f.Status != "" && !slices.Contains(crm.DealStatuses, f.Status) {
		v.Add("status", "Use open, won or lost.")
	}
	f.CloseFrom = checkDate(&v, "close_from", f.CloseFrom)
	f.CloseTo = checkDate(&v, "close_to", f.CloseTo)
	if f.CloseFrom != "" && f.CloseTo != "" && f.CloseTo < f.CloseFrom && !v.Has("close_to") {
		v.Add("close_to", "The end comes before the start.")
	}
	if f.OwnerID != nil && *f.OwnerID < 0 {
		v.Add("owner_id", "Use a user id, or 0 for deals without an owner.")
	}
	return v.Err()
}

// DealTags lists the tags in use on deals, most used first. Needs
// sales:read.
func (s *Service) DealTags(ctx context.Context) ([]string, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.DealTags(ctx, 200)
		return err
	})
	return out, err
}

// Users lists the users a sales owner filter offers: the active ones and
// those who own deals. Needs sales:read.
func (s *Service) Users(ctx context.Context) ([]store.UserRef, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []store.UserRef
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.SalesUsers(ctx)
		return err
	})
	return out, err
}

// DealUpdate changes a deal; nil fields stay. OwnerID 0 leaves the deal
// without an owner; Tags replace the whole list; Custom changes the keys
// it has (nil or "" removes a value) and keeps the others. PipelineID
// moves the deal to another pipeline, into StageID (which must be one of
// that pipeline's; its first open stage when 0). With MoveStage, StageID
// may also name another stage of the deal's own pipeline: the deal is
// moved there as Move moves it, after the other changes (without it, such
// a StageID is refused: moves are made with Move). LostReasonID and
// LostNote go with a move into a lost stage (either way), as a move takes
// them; otherwise they are ignored. Version, when not 0, must be the
// deal's current version.
type DealUpdate struct {
	Title          *string
	Value          *int64
	Currency       *string
	ValueFromLines *bool
	ContactID      *int64
	CompanyID      *int64
	OwnerID        *int64
	ExpectedClose  *string
	Source         *string
	Tags           *[]string
	Custom         map[string]any
	PipelineID     *int64
	StageID        *int64
	MoveStage      bool
	LostReasonID   int64
	LostNote       string
	Version        int64
}

// UpdateDeal changes a deal. Changing the pipeline moves it into the new
// pipeline's stage (a stage change in its history); changing the currency
// of a deal with line items is refused (the lines are priced in the old
// one). Writes deal.updated listing the changed fields. A move (a new
// pipeline, or MoveStage) writes what Move writes, and a lost stage takes
// the lost reason as Move does; everything happens in one transaction, so
// a refused move (no required reason) changes nothing. Needs sales:write.
func (s *Service) UpdateDeal(ctx context.Context, id int64, up DealUpdate) (*crm.Deal, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var d *crm.Deal
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = s.findDeal(ctx, tx, id, true); err != nil {
			return err
		}
		if err := checkVersion(d, up.Version); err != nil {
			return err
		}
		before := *d
		before.Tags = slices.Clone(d.Tags)
		before.Custom = maps.Clone(d.Custom)
		lines, err := tx.DealLines(ctx, id)
		if err != nil {
			return err
		}
		var v crm.Validation
		var changed []string
		mark := func(field string, differs bool) {
			if differs && !slices.Contains(changed, field) {
				changed = append(changed, field)
			}
		}
		if up.Title != nil {
			if d.Title = checkText(&v, "title", *up.Title, MaxTitle); d.Title == "" {
				v.Add("title", "A deal needs a title.")
			}
			mark("title", d.Title != before.Title)
		}
		if up.Source != nil {
			d.Source = checkText(&v, "source", *up.Source, MaxShort)
			mark("source", d.Source != before.Source)
		}
		if up.ExpectedClose != nil {
			d.ExpectedClose = checkDate(&v, "expected_close", *up.ExpectedClose)
			mark("expected_close", d.ExpectedClose != before.ExpectedClose)
		}
		if up.Tags != nil {
			d.Tags = checkTags(&v, *up.Tags)
			mark("tags", !slices.Equal(d.Tags, before.Tags))
		}
		if up.Custom != nil {
			fields, err := listDealFields(ctx, tx)
			if err != nil {
				return err
			}
			d.Custom = s.updateCustom(&v, before.Custom, up.Custom, fields)
			mark("custom", fmt.Sprint(d.Custom) != fmt.Sprint(before.Custom))
		}
		if up.ContactID != nil {
			d.ContactID = *up.ContactID
			mark("contact_id", d.ContactID != before.ContactID)
		}
		if up.CompanyID != nil {
			d.CompanyID = *up.CompanyID
			mark("company_id", d.CompanyID != before.CompanyID)
		}
		if d.ContactID != before.ContactID || d.CompanyID != before.CompanyID {
			c, co := d.ContactID, d.CompanyID
			if c == before.ContactID {
				c = 0
			}
			if co == before.CompanyID {
				co = 0
			}
			if err := checkParties(ctx, tx, &v, c, co); err != nil {
				return err
			}
		}
		if up.OwnerID != nil {
			d.OwnerID = *up.OwnerID
			if d.OwnerID != before.OwnerID {
				mark("owner_id", true)
				if err := checkOwner(ctx, tx, &v, "owner_id", d.OwnerID); err != nil {
					return err
				}
			}
		}
		if up.Currency != nil {
			d.Currency = checkCurrency(&v, "currency", *up.Currency)
			if d.Currency != before.Currency && len(lines) > 0 && !v.Has("currency") {
				v.Add("currency", "This deal's line items are priced in %s; remove them before changing its currency.", before.Currency)
			}
			mark("currency", d.Currency != before.Currency)
		}
		if up.ValueFromLines != nil {
			d.ValueFromLines = *up.ValueFromLines
			mark("value_from_lines", d.ValueFromLines != before.ValueFromLines)
		}
		if up.Value != nil {
			if d.ValueFromLines {
				v.Add("value", "This deal's value comes from its line items; set value_from_lines false to type it.")
			}
			checkAmount(&v, "value", *up.Value)
			d.Value = *up.Value
		}
		if d.ValueFromLines {
			d.Value = linesValue(lines)
		}
		mark("value", d.Value != before.Value)
		var newStage *crm.Stage
		var newPipeline *crm.Pipeline
		stageMove := false // a move within the deal's pipeline (MoveStage)
		if up.PipelineID != nil && *up.PipelineID != d.PipelineID {
			p, st, err := s.placeNew(ctx, tx, &v, *up.PipelineID, ptrOr(up.StageID))
			if err != nil {
				return err
			}
			if p != nil {
				newPipeline, newStage = p, &st
				mark("pipeline_id", true)
			}
		} else if up.StageID != nil && *up.StageID != d.StageID {
			if !up.MoveStage {
				v.Add("stage_id", "Move a deal between stages with a move (POST /deals/{id}/move); here stage_id goes with a new pipeline_id.")
			} else {
				p, err := tx.FindPipeline(ctx, d.PipelineID, false)
				if err != nil {
					return err
				}
				if st, ok := stageIn(p, *up.StageID); ok {
					newPipeline, newStage, stageMove = p, &st, true
				} else {
					v.Add("stage_id", "%s", stageNotInPipeline(ctx, tx, *up.StageID, p))
				}
			}
		}
		if newStage != nil {
			// What the move takes (a lost reason) is checked with the rest;
			// moveTx checks it again as it moves.
			if _, err := s.checkClose(ctx, tx, &v, *newStage, up.LostReasonID, up.LostNote, before.LostReasonID); err != nil {
				return err
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		move := moveInput{lostReasonID: up.LostReasonID, lostNote: up.LostNote}
		if newStage != nil && !stageMove {
			// A new pipeline: the deal enters the new stage now.
			move.changed, move.before = changed, &before
			return s.moveTx(ctx, tx, d, newPipeline, *newStage, move)
		}
		if len(changed) > 0 {
			ok, err := tx.UpdateDeal(ctx, d)
			if err != nil {
				return err
			}
			if !ok {
				return s.conflictNow(ctx, tx, id)
			}
			if err := tx.Audit(ctx, "deal.update", "deal", d.ID, &before, d); err != nil {
				return err
			}
			pl, err := dealPayload(ctx, tx, d)
			if err != nil {
				return err
			}
			if err := emitDeal(ctx, tx, crm.EventDealUpdated, d, DealUpdatedPayload{DealPayload: pl, Changed: changed}); err != nil {
				return err
			}
		}
		if stageMove {
			// A stage of its own pipeline: then the move, as Move makes it
			// (its own version, audit entry and events), in this transaction.
			return s.moveTx(ctx, tx, d, newPipeline, *newStage, move)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func ptrOr(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// conflictNow reads the deal as it is now for a ConflictError.
func (s *Service) conflictNow(ctx context.Context, tx *store.Tx, id int64) error {
	d, err := tx.FindDeal(ctx, id, store.SalesScope{}, false)
	if err != nil {
		return err
	}
	return &ConflictError{Deal: d}
}

// DeleteDeal removes a deal with its line items, quotes and history; its
// events stay on the timelines, and deal.deleted (off the timeline) and an
// audit entry record it. Needs sales:write and, for a deal someone else
// owns, contacts:delete.
func (s *Service) DeleteDeal(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		d, err := s.findDeal(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if u := crm.UserFromContext(ctx); u != nil && d.OwnerID != u.ID {
			if err := crm.Authorize(ctx, crm.PermContactsDelete, true); err != nil {
				return crm.Errorf(crm.EFORBIDDEN, "Only the deal's owner, or a user who may delete records, may delete it.")
			}
		}
		pl, err := dealPayload(ctx, tx, d)
		if err != nil {
			return err
		}
		if err := tx.DeleteDeal(ctx, id); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "deal.delete", "deal", id, d, nil); err != nil {
			return err
		}
		off := *d
		off.ContactID, off.CompanyID = 0, 0
		return emitDeal(ctx, tx, crm.EventDealDeleted, &off, pl)
	})
}

// --- Moves ---

// MoveInput moves a deal to a stage of its pipeline. Version, when not 0,
// must be the deal's current version (else a *ConflictError). Moving to
// the lost stage takes a lost reason (required when the settings say so
// and there are reasons) and a note.
type MoveInput struct {
	StageID      int64
	Version      int64
	LostReasonID int64
	LostNote     string
}

// moveInput carries what an update adds to a move (pipeline changes).
type moveInput struct {
	lostReasonID int64
	lostNote     string
	changed      []string
	before       *crm.Deal
}

// Move moves a deal to another stage of its pipeline: its status follows
// the stage (won, lost, open), its history gets the visit, and
// deal.stage_changed is written, with deal.won, deal.lost or
// deal.reopened when the status changes. A stage of another pipeline is
// refused (422 naming stage_id); moving to the stage the deal is in
// changes nothing. Needs sales:write.
func (s *Service) Move(ctx context.Context, id int64, in MoveInput) (*crm.Deal, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var d *crm.Deal
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = s.findDeal(ctx, tx, id, true); err != nil {
			return err
		}
		if in.StageID == d.StageID {
			return nil // already there: whoever moved it first, the result is the one asked for
		}
		if err := checkVersion(d, in.Version); err != nil {
			return err
		}
		p, err := tx.FindPipeline(ctx, d.PipelineID, false)
		if err != nil {
			return err
		}
		var v crm.Validation
		st, ok := stageIn(p, in.StageID)
		if !ok {
			if in.StageID == 0 {
				v.Add("stage_id", "Say which stage the deal moves to.")
			} else {
				v.Add("stage_id", "%s", stageNotInPipeline(ctx, tx, in.StageID, p))
			}
			return v.Err()
		}
		return s.moveTx(ctx, tx, d, p, st, moveInput{lostReasonID: in.LostReasonID, lostNote: in.LostNote})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// Win moves a deal to its pipeline's won stage. Needs sales:write.
func (s *Service) Win(ctx context.Context, id, version int64) (*crm.Deal, error) {
	return s.toEnd(ctx, id, crm.StageWon, MoveInput{Version: version})
}

// Lose moves a deal to its pipeline's lost stage with a reason and a
// note. Needs sales:write.
func (s *Service) Lose(ctx context.Context, id int64, in MoveInput) (*crm.Deal, error) {
	return s.toEnd(ctx, id, crm.StageLost, in)
}

func (s *Service) toEnd(ctx context.Context, id int64, kind string, in MoveInput) (*crm.Deal, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var stageID int64
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		d, err := s.findDeal(ctx, tx, id, false)
		if err != nil {
			return err
		}
		p, err := tx.FindPipeline(ctx, d.PipelineID, false)
		if err != nil {
			return err
		}
		st, _ := p.StageOfKind(kind)
		stageID = st.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	in.StageID = stageID
	return s.Move(ctx, id, in)
}

// Reopen moves a won or lost deal back to an open stage: stageID, or the
// last open stage it was in (the first open stage when none is left).
// Needs sales:write.
func (s *Service) Reopen(ctx context.Context, id, stageID, version int64) (*crm.Deal, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	if stageID == 0 {
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			d, err := s.findDeal(ctx, tx, id, false)
			if err != nil {
				return err
			}
			if d.Status == crm.DealOpen {
				stageID = d.StageID
				return nil
			}
			p, err := tx.FindPipeline(ctx, d.PipelineID, false)
			if err != nil {
				return err
			}
			hist, err := tx.StageVisits(ctx, id)
			if err != nil {
				return err
			}
			for i := len(hist) - 1; i >= 0 && stageID == 0; i-- {
				if st, ok := stageIn(p, hist[i].StageID); ok && st.Kind == crm.StageOpen {
					stageID = st.ID
				}
			}
			if open := p.OpenStages(); stageID == 0 && len(open) > 0 {
				stageID = open[0].ID
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return s.Move(ctx, id, MoveInput{StageID: stageID, Version: version})
}

// moveTx puts deal d (read in tx, locked) into stage st of pipeline p.
func (s *Service) moveTx(ctx context.Context, tx *store.Tx, d *crm.Deal, p *crm.Pipeline, st crm.Stage, in moveInput) error {
	before := *d
	if in.before != nil {
		before = *in.before
	}
	from := before.StageID
	var v crm.Validation
	lost, err := s.checkClose(ctx, tx, &v, st, in.lostReasonID, in.lostNote, before.LostReasonID)
	if err != nil {
		return err
	}
	d.LostReasonID, d.LostNote = lost.reasonID, lost.note
	if err := v.Err(); err != nil {
		return err
	}
	now := tx.Now()
	d.PipelineID, d.StageID, d.Status = p.ID, st.ID, statusOf(st)
	d.StageEnteredAt = now
	switch {
	case d.Status == crm.DealOpen:
		d.ClosedAt = nil
	case before.Status != d.Status || d.ClosedAt == nil:
		d.ClosedAt = &now
	}
	ok, err := tx.UpdateDeal(ctx, d)
	if err != nil {
		return err
	}
	if !ok {
		return s.conflictNow(ctx, tx, d.ID)
	}
	if err := tx.EnterStage(ctx, d, st); err != nil {
		return err
	}
	if err := tx.Audit(ctx, "deal.move", "deal", d.ID, &before, d); err != nil {
		return err
	}
	pl, err := dealPayload(ctx, tx, d)
	if err != nil {
		return err
	}
	if len(in.changed) > 0 {
		if err := emitDeal(ctx, tx, crm.EventDealUpdated, d, DealUpdatedPayload{DealPayload: pl, Changed: in.changed}); err != nil {
			return err
		}
	}
	fromName := ""
	if names, err := tx.StagesByID(ctx, []int64{from}); err == nil {
		fromName = names[from].Name
	}
	secs := int64(now.Sub(before.StageEnteredAt) / time.Second)
	if err := emitDeal(ctx, tx, crm.EventDealStageChanged, d, StageChangedPayload{DealPayload: pl, FromStageID: from, FromStage: fromName, Seconds: secs}); err != nil {
		return err
	}
	return emitStatusChange(ctx, tx, d, before.Status, pl, lost.reason)
}

// lostClose is what a deal entering a stage keeps of a lost reason: the
// reason (its id and name) and note for a lost stage, nothing otherwise.
type lostClose struct {
	reasonID int64
	reason   string
	note     string
}

// checkClose checks what entering stage st takes, for a move and for a
// deal created there alike: a lost stage takes a lost reason (an active
// one, or keep, the one the deal already has), required when the
// settings say so and there are reasons, and a note; other stages take
// neither (both are dropped). Problems go to v under lost_reason_id and
// lost_note.
func (s *Service) checkClose(ctx context.Context, tx *store.Tx, v *crm.Validation, st crm.Stage, reasonID int64, note string, keep int64) (lostClose, error) {
	if st.Kind != crm.StageLost {
		return lostClose{}, nil
	}
	out := lostClose{reasonID: reasonID, note: checkText(v, "lost_note", note, 2000)}
	reasons, err := tx.ListLostReasons(ctx, false)
	if err != nil {
		return out, err
	}
	if reasonID != 0 {
		found := false
		for _, r := range reasons {
			if r.ID == reasonID {
				found = r.Active || r.ID == keep
				out.reason = r.Name
			}
		}
		if !found {
			v.Add("lost_reason_id", "Choose one of the lost reasons.")
		}
	} else if len(reasons) > 0 {
		set, err := s.settings(ctx, tx)
		if err != nil {
			return out, err
		}
		if set.RequireLostReason {
			v.Add("lost_reason_id", "Say why the deal was lost: choose one of the lost reasons.")
		}
	}
	return out, nil
}

// emitStatusChange writes deal.won, deal.lost (with reason, the lost
// reason's name) or deal.reopened when deal d's status is no longer was.
func emitStatusChange(ctx context.Context, tx *store.Tx, d *crm.Deal, was string, pl DealPayload, reason string) error {
	switch {
	case d.Status == crm.DealWon && was != crm.DealWon:
		return emitDeal(ctx, tx, crm.EventDealWon, d, pl)
	case d.Status == crm.DealLost && was != crm.DealLost:
		return emitDeal(ctx, tx, crm.EventDealLost, d, DealLostPayload{DealPayload: pl, ReasonID: d.LostReasonID, Reason: reason, Note: d.LostNote})
	case d.Status == crm.DealOpen && was != crm.DealOpen:
		return emitDeal(ctx, tx, crm.EventDealReopened, d, pl)
	}
	return nil
}

// DealEvents returns the newest events about a deal and its quotes (at
// most 100), newest first. Needs sales:read.
func (s *Service) DealEvents(ctx context.Context, id int64) ([]crm.Event, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []crm.Event
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := s.findDeal(ctx, tx, id, false); err != nil {
			return err
		}
		var err error
		out, err = tx.DealEvents(ctx, id, 100)
		return err
	})
	return out, err
}

// StageOf returns the stage of pipeline p with id (removed stages are not
// in p).
func StageOf(p *crm.Pipeline, id int64) (crm.Stage, bool) { return stageIn(p, id) }
