package sales

import (
	"context"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The sales reports: the stage-to-stage funnel, outcomes (win rate,
// sales cycle, won and lost value) per owner and by lost reason, and
// activity per rep. Each covers a period [From, To) and the deals the
// viewer sees.

// Period bounds a report: From inclusive, To exclusive.
type Period struct {
	From, To time.Time
}

func (p Period) check() error {
	if p.From.IsZero() || p.To.IsZero() || !p.To.After(p.From) {
		return fieldError("to", "The end of the period must come after its start.")
	}
	return nil
}

// FunnelStep is one open stage of the funnel: how many of the period's
// new deals reached it (were ever in it or a later stage, or won), and
// the share of those that reached the stage before it.
type FunnelStep struct {
	Stage      crm.Stage
	Reached    int64
	Conversion float64 // Reached / the previous step's Reached; NaN for the first step or an empty one
}

// Funnel is the stage-to-stage conversion of a pipeline's deals created in
// a period.
type Funnel struct {
	Pipeline *crm.Pipeline
	Deals    int64 // created in the period
	Steps    []FunnelStep
	Won      int64
	Lost     int64
	Open     int64
}

// Funnel counts, for the deals of a pipeline created in the period, how
// many reached each open stage and how many were won. A deal reached a
// stage when it was ever in it or in a later one (by the stages' order
// now), or was won. Needs sales:read.
func (s *Service) Funnel(ctx context.Context, pipelineID int64, p Period) (*Funnel, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	out := &Funnel{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		if out.Pipeline, err = tx.FindPipeline(ctx, pipelineID, false); err != nil {
			return err
		}
		rows, err := tx.FunnelRows(ctx, pipelineID, p.From, p.To, sc)
		if err != nil {
			return err
		}
		open := out.Pipeline.OpenStages()
		for _, st := range open {
			out.Steps = append(out.Steps, FunnelStep{Stage: st})
		}
		for _, r := range rows {
			out.Deals += r.Count
			switch r.Status {
			case crm.DealWon:
				out.Won += r.Count
			case crm.DealLost:
				out.Lost += r.Count
			default:
				out.Open += r.Count
			}
			for i := range out.Steps {
				if r.Status == crm.DealWon || r.Reached >= out.Steps[i].Stage.Position {
					out.Steps[i].Reached += r.Count
				}
			}
		}
		prev := int64(-1)
		for i := range out.Steps {
			out.Steps[i].Conversion = ratio(out.Steps[i].Reached, prev)
			prev = out.Steps[i].Reached
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ratio is a/b, NaN when b is not positive.
func ratio(a, b int64) float64 {
	if b <= 0 {
		return nan()
	}
	return float64(a) / float64(b)
}

// OwnerOutcome is what one owner closed in the period.
type OwnerOutcome struct {
	OwnerID  int64
	Won      int64
	Lost     int64
	WinRate  float64       // Won / (Won + Lost); NaN without either
	Cycle    time.Duration // average time from creation to winning, of the deals won
	WonValue []Amount
	LostVal  []Amount
}

// ReasonOutcome is the deals lost for one reason (ID 0: none given).
type ReasonOutcome struct {
	ReasonID int64
	Name     string
	Lost     int64
	Value    []Amount
}

// Outcomes is who won and lost what in a period, and why deals were lost.
type Outcomes struct {
	Owners   []OwnerOutcome
	Reasons  []ReasonOutcome
	Won      int64
	Lost     int64
	WonValue []Amount
	WinRate  float64
	Cycle    time.Duration
	Names    *store.SalesNames
}

// Outcomes sums the deals won and lost in the period (in one pipeline, or
// all with pipelineID 0) per owner and per lost reason. Needs sales:read.
func (s *Service) Outcomes(ctx context.Context, pipelineID int64, p Period) (*Outcomes, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	out := &Outcomes{WonValue: []Amount{}}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		owners := map[int64]*OwnerOutcome{}
		reasons := map[int64]*ReasonOutcome{}
		cycles := map[int64]time.Duration{}
		var total time.Duration
		err = tx.ClosedDeals(ctx, pipelineID, p.From, p.To, sc, func(c store.ClosedDeal) error {
			o := owners[c.OwnerID]
			if o == nil {
				o = &OwnerOutcome{OwnerID: c.OwnerID, WonValue: []Amount{}, LostVal: []Amount{}}
				owners[c.OwnerID] = o
			}
			if c.Status == crm.DealWon {
				o.Won++
				o.WonValue = addAmount(o.WonValue, c.Currency, 1, c.Value, 0)
				out.Won++
				out.WonValue = addAmount(out.WonValue, c.Currency, 1, c.Value, 0)
				d := max(0, c.ClosedAt.Sub(c.CreatedAt))
				cycles[c.OwnerID] += d
				total += d
				return nil
			}
			o.Lost++
			o.LostVal = addAmount(o.LostVal, c.Currency, 1, c.Value, 0)
			out.Lost++
			r := reasons[c.LostReasonID]
			if r == nil {
				r = &ReasonOutcome{ReasonID: c.LostReasonID, Value: []Amount{}}
				reasons[c.LostReasonID] = r
			}
			r.Lost++
			r.Value = addAmount(r.Value, c.Currency, 1, c.Value, 0)
			return nil
		})
		if err != nil {
			return err
		}
		var ids []int64
		for id, o := range owners {
			o.WinRate = ratio(o.Won, o.Won+o.Lost)
			if o.Won > 0 {
				o.Cycle = cycles[id] / time.Duration(o.Won)
			}
			out.Owners = append(out.Owners, *o)
			ids = append(ids, id)
		}
		out.WinRate = ratio(out.Won, out.Won+out.Lost)
		if out.Won > 0 {
			out.Cycle = total / time.Duration(out.Won)
		}
		if out.Names, err = tx.SalesNamesFor(ctx, nil, nil, ids, nil, nil); err != nil {
			return err
		}
		all, err := tx.ListLostReasons(ctx, false)
		if err != nil {
			return err
		}
		for _, lr := range all {
			if r := reasons[lr.ID]; r != nil {
				r.Name = lr.Name
				out.Reasons = append(out.Reasons, *r)
			}
		}
		if r := reasons[0]; r != nil {
			out.Reasons = append(out.Reasons, *r)
		}
		slices.SortStableFunc(out.Reasons, func(a, b ReasonOutcome) int { return int(b.Lost - a.Lost) })
		slices.SortFunc(out.Owners, func(a, b OwnerOutcome) int {
			if c := compareStr(out.Names.Users[a.OwnerID], out.Names.Users[b.OwnerID]); c != 0 {
				return c
			}
			return int(a.OwnerID - b.OwnerID)
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RepActivity is one user's activities: done in the period by kind, and
// open past their due time now.
type RepActivity struct {
	UserID   int64
	Name     string
	Calls    int64
	Meetings int64
	Tasks    int64
	Overdue  int64
}

// Done is every activity done in the period.
func (r RepActivity) Done() int64 { return r.Calls + r.Meetings + r.Tasks }

// ActivityPerRep counts each user's calls, meetings and tasks done in the
// period, and their overdue ones now. Needs sales:read.
func (s *Service) ActivityPerRep(ctx context.Context, p Period) ([]RepActivity, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	var out []RepActivity
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := tx.ActivityPerRep(ctx, p.From, p.To, tx.Now(), sc)
		if err != nil {
			return err
		}
		by := map[int64]*RepActivity{}
		var ids []int64
		for _, r := range rows {
			a := by[r.UserID]
			if a == nil {
				a = &RepActivity{UserID: r.UserID}
				by[r.UserID] = a
				ids = append(ids, r.UserID)
			}
			switch r.Kind {
			case crm.ActivityCall:
				a.Calls += r.Done
			case crm.ActivityMeeting:
				a.Meetings += r.Done
			default:
				a.Tasks += r.Done
			}
			a.Overdue += r.Overdue
		}
		names, err := tx.SalesNamesFor(ctx, nil, nil, ids, nil, nil)
		if err != nil {
			return err
		}
		for _, id := range ids {
			a := by[id]
			a.Name = names.Users[id]
			out = append(out, *a)
		}
		slices.SortFunc(out, func(a, b RepActivity) int {
			if c := int(b.Done() - a.Done()); c != 0 {
				return c
			}
			return compareStr(a.Name, b.Name)
		})
		return nil
	})
	return out, err
}
