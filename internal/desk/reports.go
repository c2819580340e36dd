package desk

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The service reports: the backlog now; for a period, the volume by
// channel and category, first-response and resolution times per agent
// and team, the SLA hit rate, satisfaction, and return reasons by
// product. Counts are grouped by the database; times are computed here
// from the solved tickets of the period (at most maxSolvedRows of them,
// the newest: Report.Capped says when a period had more).

// ReportPeriod is a stretch of time, [From, To).
type ReportPeriod struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// maxSolvedRows bounds the solved tickets one report reads for times.
const maxSolvedRows = 200_000

// ReportCount is a figure under a key.
type ReportCount struct {
	Key string `json:"key"`
	N   int64  `json:"n"`
}

// DurationStats summarises how long something took.
type DurationStats struct {
	N       int           `json:"n"`
	Median  time.Duration `json:"median_ns"`
	Average time.Duration `json:"average_ns"`
}

func summarise(ds []time.Duration) DurationStats {
	if len(ds) == 0 {
		return DurationStats{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	med := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		med = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	return DurationStats{N: len(ds), Median: med, Average: sum / time.Duration(len(ds))}
}

// AgentTimes are the response and resolution times of one agent or team.
type AgentTimes struct {
	ID            int64         `json:"id"`
	Name          string        `json:"name"`
	Solved        int           `json:"solved"`
	FirstResponse DurationStats `json:"first_response"`
	Resolution    DurationStats `json:"resolution"`
}

// SLARate is how the timers of one metric fared.
type SLARate struct {
	Metric   string  `json:"metric"`
	Hit      int64   `json:"hit"`
	Missed   int64   `json:"missed"`
	Breached int64   `json:"breached"` // past due, not yet met
	Open     int64   `json:"open"`     // not yet due
	Rate     float64 `json:"rate"`     // hit / (hit + missed + breached); -1 without any
}

// AgentRating is one agent's satisfaction.
type AgentRating struct {
	ID      int64   `json:"id"`
	Name    string  `json:"name"`
	Answers int64   `json:"answers"`
	Average float64 `json:"average"`
}

// CSAT is the satisfaction of a period.
type CSAT struct {
	Sent      int64         `json:"sent"`
	Answers   int64         `json:"answers"`
	Average   float64       `json:"average"`   // 1–5; 0 without answers
	Satisfied float64       `json:"satisfied"` // share of 4 and 5
	Ratings   [5]int64      `json:"ratings"`   // answers rating 1 … 5
	ByAgent   []AgentRating `json:"by_agent"`
}

// ProductReturns are the return requests of one product by reason.
type ProductReturns struct {
	Product string           `json:"product"`
	Total   int64            `json:"total"`
	Reasons map[string]int64 `json:"reasons"`
}

// Report is what the service dashboard shows.
type Report struct {
	Period     ReportPeriod                `json:"period"`
	Backlog    map[string]map[string]int64 `json:"backlog"` // status → priority → tickets, now
	Active     int64                       `json:"active"`
	Oldest     *time.Time                  `json:"oldest_active,omitempty"`
	Created    []time.Time                 `json:"-"`
	Solved     []time.Time                 `json:"-"`
	NewCount   int                         `json:"created"`
	SolvedN    int                         `json:"solved"`
	ByChannel  []ReportCount               `json:"by_channel"`
	ByCategory []ReportCount               `json:"by_category"`
	Agents     []AgentTimes                `json:"agents"`
	Teams      []AgentTimes                `json:"teams"`
	Overall    AgentTimes                  `json:"overall"`
	SLA        []SLARate                   `json:"sla"`
	CSAT       CSAT                        `json:"csat"`
	Returns    []ProductReturns            `json:"returns"`
	Capped     bool                        `json:"capped"`
}

// Report computes the service report of a period. Needs service:read.
func (s *Service) Report(ctx context.Context, p ReportPeriod) (*Report, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	r := &Report{Period: p, Backlog: map[string]map[string]int64{}}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		backlog, err := tx.DeskBacklog(ctx)
		if err != nil {
			return err
		}
		for _, c := range backlog {
			if r.Backlog[c.Key] == nil {
				r.Backlog[c.Key] = map[string]int64{}
			}
			r.Backlog[c.Key][c.Key2] += c.N
			r.Active += c.N
		}
		if r.Oldest, err = tx.DeskOldestActive(ctx); err != nil {
			return err
		}
		if r.Created, r.Solved, err = tx.DeskCreatedSolved(ctx, p.From, p.To); err != nil {
			return err
		}
		r.NewCount, r.SolvedN = len(r.Created), len(r.Solved)
		vol, err := tx.DeskVolume(ctx, p.From, p.To)
		if err != nil {
			return err
		}
		ch, cat := map[string]int64{}, map[string]int64{}
		for _, c := range vol {
			ch[c.Key] += c.N
			cat[c.Key2] += c.N
		}
		r.ByChannel, r.ByCategory = sortedCounts(ch), sortedCounts(cat)
		if err := s.times(ctx, tx, r); err != nil {
			return err
		}
		if err := s.slaRates(ctx, tx, r); err != nil {
			return err
		}
		if err := s.csat(ctx, tx, r); err != nil {
			return err
		}
		rr, err := tx.DeskReturnReasons(ctx, p.From, p.To)
		if err != nil {
			return err
		}
		byProduct := map[string]*ProductReturns{}
		for _, c := range rr {
			x := byProduct[c.Key]
			if x == nil {
				x = &ProductReturns{Product: c.Key, Reasons: map[string]int64{}}
				byProduct[c.Key] = x
			}
			x.Reasons[c.Key2] += c.N
			x.Total += c.N
		}
		for _, x := range byProduct {
			r.Returns = append(r.Returns, *x)
		}
		slices.SortFunc(r.Returns, func(a, b ProductReturns) int {
			return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Product, b.Product))
		})
		return nil
	})
	return r, err
}

func sortedCounts(m map[string]int64) []ReportCount {
	out := make([]ReportCount, 0, len(m))
	for k, n := range m {
		out = append(out, ReportCount{Key: k, N: n})
	}
	slices.SortFunc(out, func(a, b ReportCount) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Key, b.Key)) })
	return out
}

// times computes the first-response and resolution times of the tickets
// solved in the period, overall, per agent and per team (wall-clock
// time from creation).
func (s *Service) times(ctx context.Context, tx *store.Tx, r *Report) error {
	rows, err := tx.DeskSolvedTickets(ctx, r.Period.From, r.Period.To, maxSolvedRows+1)
	if err != nil {
		return err
	}
	if len(rows) > maxSolvedRows {
		rows, r.Capped = rows[:maxSolvedRows], true
	}
	type acc struct{ first, res []time.Duration }
	agents, teams, all := map[int64]*acc{}, map[int64]*acc{}, &acc{}
	add := func(m map[int64]*acc, id int64, first *time.Duration, res time.Duration) {
		if id == 0 {
			return
		}
		a := m[id]
		if a == nil {
			a = &acc{}
			m[id] = a
		}
		if first != nil {
			a.first = append(a.first, *first)
		}
		a.res = append(a.res, res)
	}
	for _, t := range rows {
		var first *time.Duration
		if t.FirstRespondedAt != nil {
			d := t.FirstRespondedAt.Sub(t.CreatedAt)
			first = &d
		}
		res := t.SolvedAt.Sub(t.CreatedAt)
		add(agents, t.AssigneeID, first, res)
		add(teams, t.TeamID, first, res)
		if first != nil {
			all.first = append(all.first, *first)
		}
		all.res = append(all.res, res)
	}
	var uids []int64
	for id := range agents {
		uids = append(uids, id)
	}
	names, err := tx.DeskUserNames(ctx, uids)
	if err != nil {
		return err
	}
	for id, a := range agents {
		r.Agents = append(r.Agents, AgentTimes{ID: id, Name: names[id], Solved: len(a.res), FirstResponse: summarise(a.first), Resolution: summarise(a.res)})
	}
	for id, a := range teams {
		name, err := teamName(ctx, tx, id)
		if err != nil {
			return err
		}
		r.Teams = append(r.Teams, AgentTimes{ID: id, Name: name, Solved: len(a.res), FirstResponse: summarise(a.first), Resolution: summarise(a.res)})
	}
	r.Overall = AgentTimes{Solved: len(all.res), FirstResponse: summarise(all.first), Resolution: summarise(all.res)}
	// Fastest first: the shortest median resolution.
	fastest := func(a, b AgentTimes) int {
		return cmp.Or(cmp.Compare(a.Resolution.Median, b.Resolution.Median), cmp.Compare(b.Solved, a.Solved), cmp.Compare(a.Name, b.Name))
	}
	slices.SortFunc(r.Agents, fastest)
	slices.SortFunc(r.Teams, fastest)
	return nil
}

func (s *Service) slaRates(ctx context.Context, tx *store.Tx, r *Report) error {
	outs, err := tx.DeskSLAOutcomes(ctx, r.Period.From, r.Period.To)
	if err != nil {
		return err
	}
	by := map[string]*SLARate{}
	for _, m := range crm.SLAMetrics {
		by[m] = &SLARate{Metric: m}
	}
	for _, c := range outs {
		x := by[c.Key]
		if x == nil {
			continue
		}
		switch c.Key2 {
		case "hit":
			x.Hit += c.N
		case "missed":
			x.Missed += c.N
		case "breached":
			x.Breached += c.N
		default:
			x.Open += c.N
		}
	}
	for _, m := range crm.SLAMetrics {
		x := by[m]
		if d := x.Hit + x.Missed + x.Breached; d > 0 {
			x.Rate = float64(x.Hit) / float64(d)
		} else {
			x.Rate = -1
		}
		r.SLA = append(r.SLA, *x)
	}
	return nil
}

func (s *Service) csat(ctx context.Context, tx *store.Tx, r *Report) error {
	var err error
	if r.CSAT.Sent, err = tx.DeskSurveysSent(ctx, r.Period.From, r.Period.To); err != nil {
		return err
	}
	rows, err := tx.DeskRatings(ctx, r.Period.From, r.Period.To)
	if err != nil {
		return err
	}
	type acc struct{ n, sum int64 }
	agents := map[int64]*acc{}
	var sum, good int64
	for _, c := range rows {
		id, _ := strconv.ParseInt(c.Key, 10, 64)
		rating, _ := strconv.Atoi(c.Key2)
		if rating < 1 || rating > 5 {
			continue
		}
		r.CSAT.Ratings[rating-1] += c.N
		r.CSAT.Answers += c.N
		sum += int64(rating) * c.N
		if rating >= 4 {
			good += c.N
		}
		a := agents[id]
		if a == nil {
			a = &acc{}
			agents[id] = a
		}
		a.n += c.N
		a.sum += int64(rating) * c.N
	}
	if r.CSAT.Answers > 0 {
		r.CSAT.Average = float64(sum) / float64(r.CSAT.Answers)
		r.CSAT.Satisfied = float64(good) / float64(r.CSAT.Answers)
	}
	var ids []int64
	for id := range agents {
		ids = append(ids, id)
	}
	names, err := tx.DeskUserNames(ctx, ids)
	if err != nil {
		return err
	}
	for id, a := range agents {
		r.CSAT.ByAgent = append(r.CSAT.ByAgent, AgentRating{ID: id, Name: names[id], Answers: a.n, Average: float64(a.sum) / float64(a.n)})
	}
	slices.SortFunc(r.CSAT.ByAgent, func(a, b AgentRating) int {
		return cmp.Or(cmp.Compare(b.Average, a.Average), cmp.Compare(b.Answers, a.Answers), cmp.Compare(a.Name, b.Name))
	})
	return nil
}
