package insight

import (
	"cmp"
	"context"
	"slices"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Score is one person's results in a run (store.CustomerScore).
type Score = store.CustomerScore

// Item is an item of the basket analysis: a SKU, or a line name without
// one.
type Item = store.AnalyticsItem

// current returns the run in use, nil before the first has finished.
func current(ctx context.Context, tx *store.Tx) (*Run, error) {
	id, ok, err := tx.CurrentAnalyticsRunID(ctx)
	if err != nil || !ok {
		return nil, err
	}
	r, err := tx.FindAnalyticsRun(ctx, id)
	if err != nil {
		return nil, err
	}
	return toRun(r, id), nil
}

// CurrentRun returns the run whose results are in use, nil before the
// first has finished, and the run queued or going now, nil when none is.
// Needs orders:read (every role has it: the people list and the person's
// page show when their figures are from).
func (s *Service) CurrentRun(ctx context.Context) (cur, active *Run, err error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, nil, err
	}
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if cur, err = current(ctx, tx); err != nil {
			return err
		}
		a, err := tx.ActiveAnalyticsRun(ctx)
		switch {
		case err == nil:
			id := int64(0)
			if cur != nil {
				id = cur.ID
			}
			active = toRun(a, id)
		case crm.ErrorCode(err) != crm.ENOTFOUND:
			return err
		}
		return nil
	})
	return cur, active, err
}

// Suggestion is an item to offer: the rule Because ⇒ Item, with its
// confidence and lift, and how many orders held both sides.
type Suggestion struct {
	Item       Item    `json:"item"`
	Because    []Item  `json:"because"`
	Count      int64   `json:"count"`
	Confidence float64 `json:"confidence"`
	Lift       float64 `json:"lift"`
}

// CustomerInsight is what the analytics know of one person.
type CustomerInsight struct {
	// Run is the run in use; nil before the first has finished.
	Run *Run `json:"run"`
	// Score is the person's results in it; nil when it did not score them
	// (no purchase in its currency up to its last day).
	Score *Score `json:"score"`
	// Rule is the rule of the person's segment.
	Rule *analytics.SegmentRule `json:"segment_rule,omitempty"`
	// CrossSell lists items bought together with what the person bought,
	// that they have not bought, best first.
	CrossSell []Suggestion `json:"cross_sell"`
}

// crossSellCandidates bounds the rules read for one suggestion list.
const crossSellCandidates = 2000

// Customer returns a person's results in the run in use and cross-sell
// suggestions (at most k). Needs orders:read.
func (s *Service) Customer(ctx context.Context, contactID int64, k int) (*CustomerInsight, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	out := &CustomerInsight{CrossSell: []Suggestion{}}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if out.Run, err = current(ctx, tx); err != nil || out.Run == nil {
			return err
		}
		sc, err := tx.CustomerScoreOf(ctx, out.Run.ID, contactID)
		switch {
		case err == nil:
			out.Score = sc
			out.Rule = segmentRule(sc.Segment)
		case crm.ErrorCode(err) != crm.ENOTFOUND:
			return err
		}
		have, err := tx.ContactItems(ctx, contactID, 500)
		if err != nil {
			return err
		}
		out.CrossSell, err = crossSell(ctx, tx, out.Run.ID, have, k)
		return err
	})
	return out, err
}

func segmentRule(seg string) *analytics.SegmentRule {
	for _, r := range analytics.RFMSegmentRules {
		if r.Segment == seg {
			return &r
		}
	}
	return nil
}

// CrossSell suggests at most k items to offer whoever already has the
// items have (ItemKey form: "sku:T1", "name:Tea"), from the rules of the
// run in use: a customer's purchases, or, later, the lines of a deal (the
// sales module calls this with the deal's items). Needs orders:read.
func (s *Service) CrossSell(ctx context.Context, have []string, k int) ([]Suggestion, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	out := []Suggestion{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		id, ok, err := tx.CurrentAnalyticsRunID(ctx)
		if err != nil || !ok {
			return err
		}
		out, err = crossSell(ctx, tx, id, have, k)
		return err
	})
	return out, err
}

func crossSell(ctx context.Context, tx *store.Tx, runID int64, have []string, k int) ([]Suggestion, error) {
	out := []Suggestion{}
	if len(have) == 0 || k <= 0 {
		return out, nil
	}
	stored, err := tx.AnalyticsRulesFor(ctx, runID, have, crossSellCandidates)
	if err != nil || len(stored) == 0 {
		return out, err
	}
	rules := make([]analytics.Rule, len(stored))
	for i, r := range stored {
		rules[i] = analytics.Rule{Antecedent: r.LHS, Consequent: []string{r.RHS}, Count: int(r.Count), Support: r.Support,
			Confidence: r.Confidence, Lift: r.Lift}
	}
	picked := analytics.Suggest(rules, have, k)
	var keys []string
	for _, r := range picked {
		keys = append(keys, r.Consequent[0])
		keys = append(keys, r.Antecedent...)
	}
	items, err := tx.AnalyticsItemsOf(ctx, runID, keys)
	if err != nil {
		return nil, err
	}
	item := func(k string) Item {
		if it := items[k]; it != nil {
			return *it
		}
		return Item{Item: k}
	}
	for _, r := range picked {
		sg := Suggestion{Item: item(r.Consequent[0]), Count: int64(r.Count), Confidence: r.Confidence, Lift: r.Lift}
		for _, a := range r.Antecedent {
			sg.Because = append(sg.Because, item(a))
		}
		out = append(out, sg)
	}
	return out, nil
}

// ScoresOf returns the results in the run in use of those of ids it
// scored, and that run (nil before the first). Needs orders:read.
func (s *Service) ScoresOf(ctx context.Context, ids []int64) (map[int64]*Score, *Run, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, nil, err
	}
	out := map[int64]*Score{}
	var run *Run
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = current(ctx, tx); err != nil || run == nil {
			return err
		}
		out, err = tx.CustomerScoresOf(ctx, run.ID, ids)
		return err
	})
	return out, run, err
}

// SegmentRow is a segment with its rule and its size in a run.
type SegmentRow struct {
	analytics.SegmentRule
	Customers int64   `json:"customers"`
	Share     float64 `json:"share"` // of the customers scored
	Spent     int64   `json:"total_spent"`
}

// Cell is one (R, FM) cell of the segment grid.
type Cell struct {
	R, FM     int
	Segment   string
	Customers int64
}

// Overview is the analytics page: the run in use and its results.
type Overview struct {
	Run      *Run              `json:"run"`    // nil before the first run
	Active   *Run              `json:"active"` // queued or running now
	Recent   []*Run            `json:"recent"`
	Segments []SegmentRow      `json:"segments"` // in analytics.RFMSegments order
	Grid     [][]Cell          `json:"grid"`     // Grid[5-FM][R-1]: rows from FM 5 down, columns R 1..5
	Bands    []store.BandCount `json:"churn_bands"`
	AtRisk   []*Score          `json:"at_risk"` // high churn risk, most spent first
}

// Overview gathers the analytics page. Needs reports:read.
func (s *Service) Overview(ctx context.Context, atRisk int) (*Overview, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	out := &Overview{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if out.Run, err = current(ctx, tx); err != nil {
			return err
		}
		curID := int64(0)
		if out.Run != nil {
			curID = out.Run.ID
		}
		if a, err := tx.ActiveAnalyticsRun(ctx); err == nil {
			out.Active = toRun(a, curID)
		} else if crm.ErrorCode(err) != crm.ENOTFOUND {
			return err
		}
		runs, _, err := tx.AnalyticsRuns(ctx, 8, 0)
		if err != nil {
			return err
		}
		for _, r := range runs {
			out.Recent = append(out.Recent, toRun(r, curID))
		}
		sizes := map[string]store.SegmentSize{}
		var total int64
		var cells []store.CellCount
		if out.Run != nil {
			ss, err := tx.ScoreSegmentSizes(ctx, curID)
			if err != nil {
				return err
			}
			for _, sz := range ss {
				sizes[sz.Segment] = sz
				total += sz.Customers
			}
			if cells, err = tx.ScoreCellCounts(ctx, curID); err != nil {
				return err
			}
			if out.Bands, err = tx.ScoreBandCounts(ctx, curID); err != nil {
				return err
			}
			rank := map[string]int{"low": 1, "medium": 2, "high": 3}
			slices.SortFunc(out.Bands, func(a, b store.BandCount) int { return cmp.Compare(rank[a.Band], rank[b.Band]) })
			if out.AtRisk, err = tx.TopChurnRisk(ctx, curID, analytics.RiskHigh.String(), atRisk); err != nil {
				return err
			}
		}
		for _, seg := range analytics.RFMSegments {
			row := SegmentRow{SegmentRule: *segmentRule(seg), Customers: sizes[seg].Customers, Spent: sizes[seg].Spent}
			if total > 0 {
				row.Share = float64(row.Customers) / float64(total)
			}
			out.Segments = append(out.Segments, row)
		}
		for fm := 5; fm >= 1; fm-- {
			var line []Cell
			for r := 1; r <= 5; r++ {
				c := Cell{R: r, FM: fm, Segment: segmentOf(r, fm)}
				for _, cc := range cells {
					if cc.R == r && cc.FM == fm {
						c.Customers = cc.Customers
					}
				}
				line = append(line, c)
			}
			out.Grid = append(out.Grid, line)
		}
		return nil
	})
	return out, err
}

// segmentOf is the segment of an (R, FM) cell.
func segmentOf(r, fm int) string {
	for _, rule := range analytics.RFMSegmentRules {
		if r >= rule.RMin && r <= rule.RMax && fm >= rule.FMMin && fm <= rule.FMMax {
			return rule.Segment
		}
	}
	return ""
}

// --- For dashboards and reports ---

// SegmentSizes returns the run in use (nil before the first) and the size
// of each segment in it, in analytics.RFMSegments order with their rules.
// Needs reports:read.
func (s *Service) SegmentSizes(ctx context.Context) (*Run, []SegmentRow, error) {
	o, err := s.Overview(ctx, 0)
	if err != nil {
		return nil, nil, err
	}
	return o.Run, o.Segments, nil
}

// SegmentMoves returns how many customers moved between segments from the
// run before the one in use to it. Needs reports:read.
func (s *Service) SegmentMoves(ctx context.Context) (*Run, []store.SegmentMove, error) {
	return readCurrent(ctx, s, func(tx *store.Tx, run *Run) ([]store.SegmentMove, error) {
		return tx.ScoreSegmentMoves(ctx, run.ID)
	})
}

// CLVDistribution counts the customers of the run in use by CLV in about
// buckets bars of equal, round width from 0 (minor units of the run's
// currency); CLVBars bars are counted by the run, other counts query its
// table. Empty when the run has no CLV. Needs reports:read.
func (s *Service) CLVDistribution(ctx context.Context, buckets int) (*Run, []store.CLVBucket, error) {
	return readCurrent(ctx, s, func(tx *store.Tx, run *Run) ([]store.CLVBucket, error) {
		_, hi, ok, err := tx.ScoreCLVRange(ctx, run.ID)
		if err != nil || !ok {
			return nil, err
		}
		return tx.ScoreCLVHistogram(ctx, run.ID, store.RoundEdges(hi, buckets))
	})
}

// ChurnRisk lists the customers of the run in use with a high churn risk,
// most spent first, at most limit. Needs reports:read.
func (s *Service) ChurnRisk(ctx context.Context, limit int) (*Run, []*Score, error) {
	return readCurrent(ctx, s, func(tx *store.Tx, run *Run) ([]*Score, error) {
		return tx.TopChurnRisk(ctx, run.ID, analytics.RiskHigh.String(), limit)
	})
}

func readCurrent[T any](ctx context.Context, s *Service, fn func(tx *store.Tx, run *Run) (T, error)) (*Run, T, error) {
	var (
		run *Run
		out T
	)
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, out, err
	}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if run, err = current(ctx, tx); err != nil || run == nil {
			return err
		}
		out, err = fn(tx, run)
		return err
	})
	return run, out, err
}

// --- Items ---

// Items lists the items of the run in use bought in the most orders
// first; q keeps those whose SKU or name contains it. Needs reports:read.
func (s *Service) Items(ctx context.Context, q string, limit int) (*Run, []Item, error) {
	return readCurrent(ctx, s, func(tx *store.Tx, run *Run) ([]Item, error) {
		return tx.TopAnalyticsItems(ctx, run.ID, q, limit)
	})
}

// Together is an item often bought with another, with the other's name.
type Together struct {
	Item       Item    `json:"item"`
	Count      int64   `json:"count"`      // orders holding both
	Confidence float64 `json:"confidence"` // share of the first item's orders holding this one
	Lift       float64 `json:"lift"`
}

// ItemDetail is one item with what is bought with it.
type ItemDetail struct {
	Run      *Run       `json:"run"`
	Item     Item       `json:"item"`
	Together []Together `json:"bought_together"`
	Rules    []RuleView `json:"rules"` // rules whose left-hand side holds the item
}

// RuleView is a rule with its items named.
type RuleView struct {
	LHS        []Item  `json:"lhs"`
	RHS        Item    `json:"rhs"`
	Count      int64   `json:"count"`
	Support    float64 `json:"support"`
	Confidence float64 `json:"confidence"`
	Lift       float64 `json:"lift"`
}

// Item returns an item of the run in use (ItemKey form) with the items
// most often bought with it (at most k). ENOTFOUND when the run has no
// such item. Needs orders:read.
func (s *Service) Item(ctx context.Context, key string, k int) (*ItemDetail, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	out := &ItemDetail{Together: []Together{}, Rules: []RuleView{}}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if out.Run, err = current(ctx, tx); err != nil {
			return err
		}
		if out.Run == nil {
			return crm.Errorf(crm.ENOTFOUND, "Item was not found: the analytics have not been computed yet.")
		}
		it, err := tx.FindAnalyticsItem(ctx, out.Run.ID, key)
		if err != nil {
			return err
		}
		out.Item = *it
		pairs, err := tx.AnalyticsPairsOf(ctx, out.Run.ID, key, k)
		if err != nil {
			return err
		}
		rules, err := tx.AnalyticsRulesFor(ctx, out.Run.ID, []string{key}, k)
		if err != nil {
			return err
		}
		var keys []string
		for _, p := range pairs {
			keys = append(keys, p.Other)
		}
		for _, r := range rules {
			keys = append(keys, r.RHS)
			keys = append(keys, r.LHS...)
		}
		items, err := tx.AnalyticsItemsOf(ctx, out.Run.ID, keys)
		if err != nil {
			return err
		}
		name := func(k string) Item {
			if it := items[k]; it != nil {
				return *it
			}
			return Item{Item: k}
		}
		for _, p := range pairs {
			out.Together = append(out.Together, Together{Item: name(p.Other), Count: p.Count, Confidence: p.Confidence, Lift: p.Lift})
		}
		for _, r := range rules {
			v := RuleView{RHS: name(r.RHS), Count: r.Count, Support: r.Support, Confidence: r.Confidence, Lift: r.Lift}
			for _, l := range r.LHS {
				v.LHS = append(v.LHS, name(l))
			}
			out.Rules = append(out.Rules, v)
		}
		return nil
	})
	return out, err
}

// Rules lists the best rules of the run in use (at most limit) with their
// items named. Needs reports:read.
func (s *Service) Rules(ctx context.Context, limit int) (*Run, []RuleView, error) {
	return readCurrent(ctx, s, func(tx *store.Tx, run *Run) ([]RuleView, error) {
		rules, err := tx.TopAnalyticsRules(ctx, run.ID, limit)
		if err != nil {
			return nil, err
		}
		var keys []string
		for _, r := range rules {
			keys = append(keys, r.RHS)
			keys = append(keys, r.LHS...)
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		items, err := tx.AnalyticsItemsOf(ctx, run.ID, keys)
		if err != nil {
			return nil, err
		}
		name := func(k string) Item {
			if it := items[k]; it != nil {
				return *it
			}
			return Item{Item: k}
		}
		out := []RuleView{}
		for _, r := range rules {
			v := RuleView{RHS: name(r.RHS), Count: r.Count, Support: r.Support, Confidence: r.Confidence, Lift: r.Lift}
			for _, l := range r.LHS {
				v.LHS = append(v.LHS, name(l))
			}
			out = append(out, v)
		}
		return out, nil
	})
}
