package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestAnalyticsStore writes two runs of results and reads them back on
// both engines: the switch of the current run, the reads the dashboards
// use, the people list filter, basket rules, and clearing a run's rows.
func TestAnalyticsStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var people []int64
		actWrite(t, db, func(tx *store.Tx) error {
			for _, n := range []string{"A", "B", "C", "D"} {
				id, err := actPerson(ctx, tx, n)
				if err != nil {
					return err
				}
				people = append(people, id)
			}
			return nil
		})
		f := func(v float64) *float64 { return &v }
		i := func(v int64) *int64 { return &v }
		when := time.Date(2025, 3, 21, 10, 0, 0, 0, time.UTC)
		score := func(run, contact int64, seg, band string, clv *int64) store.CustomerScore {
			s := store.CustomerScore{RunID: run, ContactID: contact, Currency: "IRR", Orders: 3, TotalSpent: 300000 * contact,
				FirstOrderAt: when, LastOrderAt: when.AddDate(0, 1, 0), Frequency: 2, Recency: 30, Age: 60, MonetaryValue: 1000,
				RecencyDays: 31, R: 4, F: 3, M: 5, Cell: "435", Segment: seg, ChurnBand: band, CLV: clv}
			if band != "" {
				s.PAlive, s.ChurnRisk, s.ExpectedPurchases, s.ExpectedValue = f(0.25), f(0.75), f(1.5), i(12000)
			}
			return s
		}

		var run1, run2 store.AnalyticsRun
		actWrite(t, db, func(tx *store.Tx) error {
			if _, ok, err := tx.CurrentAnalyticsRunID(ctx); ok || err != nil {
				t.Errorf("current before any run: %v %v", ok, err)
			}
			run1 = store.AnalyticsRun{Status: store.RunRunning, Via: "cli"}
			if err := tx.InsertAnalyticsRun(ctx, &run1); err != nil {
				return err
			}
			if err := tx.CreateScoreTable(ctx, run1.ID); err != nil {
				return err
			}
			if err := tx.InsertCustomerScores(ctx, []store.CustomerScore{
				score(run1.ID, people[0], "champions", "low", i(500000)),
				score(run1.ID, people[1], "at_risk", "high", i(20000)),
				score(run1.ID, people[2], "new", "", nil),
			}); err != nil {
				return err
			}
			if err := tx.IndexScoreTable(ctx, run1.ID); err != nil {
				return err
			}
			ll := -123.5
			run1.Status, run1.LogLikelihood, run1.BGNBD = store.RunDone, &ll, `{"r":0.2}`
			now := tx.Now()
			run1.FinishedAt = &now
			if err := tx.SaveAnalyticsRun(ctx, &run1); err != nil {
				return err
			}
			return tx.SetCurrentAnalyticsRun(ctx, run1.ID)
		})
		actRead(t, db, func(tx *store.Tx) error {
			cur, ok, err := tx.CurrentAnalyticsRunID(ctx)
			if err != nil || !ok || cur != run1.ID {
				t.Errorf("current %d %v %v, want %d", cur, ok, err, run1.ID)
			}
			r, err := tx.FindAnalyticsRun(ctx, run1.ID)
			if err != nil {
				return err
			}
			if r.Status != store.RunDone || r.LogLikelihood == nil || *r.LogLikelihood != -123.5 || r.BGNBD != `{"r":0.2}` || r.FinishedAt == nil {
				t.Errorf("run read back %+v", r)
			}
			s, err := tx.CustomerScoreOf(ctx, run1.ID, people[1])
			if err != nil {
				return err
			}
			if s.Segment != "at_risk" || s.ChurnBand != "high" || s.PAlive == nil || *s.PAlive != 0.25 || *s.CLV != 20000 ||
				!s.FirstOrderAt.Equal(when) || s.Cell != "435" || s.PrevSegment != "" {
				t.Errorf("score read back %+v", s)
			}
			s, err = tx.CustomerScoreOf(ctx, run1.ID, people[2])
			if err != nil {
				return err
			}
			if s.PAlive != nil || s.CLV != nil || s.ChurnBand != "" {
				t.Errorf("unfitted score has model values: %+v", s)
			}
			if _, err := tx.CustomerScoreOf(ctx, run1.ID, people[3]); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Errorf("unscored person: %v", err)
			}
			sizes, err := tx.ScoreSegmentSizes(ctx, run1.ID)
			if err != nil {
				return err
			}
			if len(sizes) != 3 || sizes[0].Segment != "at_risk" || sizes[0].Customers != 1 {
				t.Errorf("segment sizes %+v", sizes)
			}
			hist, err := tx.ScoreCLVHistogram(ctx, run1.ID, []int64{0, 100000, 1000000})
			if err != nil {
				return err
			}
			if hist[0].Customers != 1 || hist[1].Customers != 1 || hist[2].Customers != 0 || hist[1].To != 1000000 {
				t.Errorf("histogram %+v", hist)
			}
			top, err := tx.TopChurnRisk(ctx, run1.ID, "high", 10)
			if err != nil {
				return err
			}
			if len(top) != 1 || top[0].ContactID != people[1] {
				t.Errorf("churn list %+v", top)
			}
			cells, err := tx.ScoreCellCounts(ctx, run1.ID)
			if err != nil {
				return err
			}
			if len(cells) != 1 || cells[0].R != 4 || cells[0].FM != 4 || cells[0].Customers != 3 {
				t.Errorf("cells %+v", cells)
			}
			return nil
		})

		// The people list filters by the current run.
		list := func(sf *crm.ScoreFilter) []int64 {
			var ids []int64
			actRead(t, db, func(tx *store.Tx) error {
				cs, _, err := tx.FindContacts(ctx, crm.ContactFilter{Scores: sf, Limit: 50}, "", nil)
				for _, c := range cs {
					ids = append(ids, c.ID)
				}
				return err
			})
			slices.Sort(ids)
			return ids
		}
		if got := list(&crm.ScoreFilter{Segment: "champions"}); !slices.Equal(got, people[:1]) {
			t.Errorf("segment filter: %v", got)
		}
		if got := list(&crm.ScoreFilter{ChurnBand: "high"}); !slices.Equal(got, people[1:2]) {
			t.Errorf("band filter: %v", got)
		}
		if got := list(&crm.ScoreFilter{CLVMin: i(10000), CLVMax: i(100000)}); !slices.Equal(got, people[1:2]) {
			t.Errorf("clv filter: %v", got)
		}
		if got := list(&crm.ScoreFilter{}); len(got) != 4 {
			t.Errorf("empty filter: %v", got)
		}

		// A second run: written beside the first, then switched to.
		actWrite(t, db, func(tx *store.Tx) error {
			run2 = store.AnalyticsRun{Status: store.RunRunning, Via: "web"}
			if err := tx.InsertAnalyticsRun(ctx, &run2); err != nil {
				return err
			}
			prev, err := tx.ScoreSegments(ctx, run1.ID, people[0], people[3])
			if err != nil {
				return err
			}
			s := score(run2.ID, people[0], "loyal", "medium", i(1))
			s.PrevSegment = prev[people[0]]
			if err := tx.CreateScoreTable(ctx, run2.ID); err != nil {
				return err
			}
			if err := tx.InsertCustomerScores(ctx, []store.CustomerScore{s}); err != nil {
				return err
			}
			if err := tx.IndexScoreTable(ctx, run2.ID); err != nil {
				return err
			}
			if err := tx.InsertAnalyticsItems(ctx, run2.ID, []store.AnalyticsItem{{Item: "sku:T1", SKU: "T1", Name: "Tea", Baskets: 10},
				{Item: "name:Cup", Name: "Cup", Baskets: 4}, {Item: "sku:S", SKU: "S", Name: "Sugar", Baskets: 6}}); err != nil {
				return err
			}
			if err := tx.InsertAnalyticsPairs(ctx, run2.ID, []store.AnalyticsPair{{Item: "sku:T1", Other: "sku:S", Rank: 1, Count: 5, Confidence: 0.5, Lift: 1.2}}); err != nil {
				return err
			}
			if err := tx.InsertAnalyticsRules(ctx, run2.ID, []store.AnalyticsRule{
				{Rank: 1, LHS: []string{"name:Cup", "sku:T1"}, RHS: "sku:S", Count: 3, Support: 0.1, Confidence: 0.9, Lift: 3},
				{Rank: 2, LHS: []string{"sku:T1"}, RHS: "sku:S", Count: 5, Support: 0.2, Confidence: 0.5, Lift: 1.2},
				{Rank: 3, LHS: []string{"sku:S"}, RHS: "sku:T1", Count: 5, Support: 0.2, Confidence: 0.8, Lift: 1.1},
			}); err != nil {
				return err
			}
			run2.Status = store.RunDone
			if err := tx.SaveAnalyticsRun(ctx, &run2); err != nil {
				return err
			}
			return tx.SetCurrentAnalyticsRun(ctx, run2.ID)
		})
		actRead(t, db, func(tx *store.Tx) error {
			s, err := tx.CustomerScoreOf(ctx, run2.ID, people[0])
			if err != nil {
				return err
			}
			if s.PrevSegment != "champions" {
				t.Errorf("previous segment %q", s.PrevSegment)
			}
			moves, err := tx.ScoreSegmentMoves(ctx, run2.ID)
			if err != nil {
				return err
			}
			if len(moves) != 1 || moves[0] != (store.SegmentMove{From: "champions", To: "loyal", Customers: 1}) {
				t.Errorf("moves %+v", moves)
			}
			rules, err := tx.AnalyticsRulesFor(ctx, run2.ID, []string{"sku:T1"}, 10)
			if err != nil {
				return err
			}
			if len(rules) != 1 || rules[0].Rank != 2 {
				t.Errorf("rules for T1: %+v", rules)
			}
			rules, err = tx.AnalyticsRulesFor(ctx, run2.ID, []string{"sku:T1", "name:Cup"}, 10)
			if err != nil {
				return err
			}
			if len(rules) != 2 || rules[0].Rank != 1 || !slices.Equal(rules[0].LHS, []string{"name:Cup", "sku:T1"}) {
				t.Errorf("rules for T1+Cup: %+v", rules)
			}
			items, err := tx.TopAnalyticsItems(ctx, run2.ID, "te", 10)
			if err != nil {
				return err
			}
			if len(items) != 1 || items[0].Name != "Tea" {
				t.Errorf("items matching te: %+v", items)
			}
			pairs, err := tx.AnalyticsPairsOf(ctx, run2.ID, "sku:T1", 10)
			if err != nil {
				return err
			}
			if len(pairs) != 1 || pairs[0].Other != "sku:S" {
				t.Errorf("pairs %+v", pairs)
			}
			stale, err := tx.UnclearedAnalyticsRuns(ctx)
			if err != nil {
				return err
			}
			if len(stale) != 0 {
				t.Errorf("the run before the current one is to be cleared: %v", stale)
			}
			// Through the view, customer_scores is the current run.
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM customer_scores WHERE run_id = ?`, run2.ID).Scan(&n); err != nil || n != 1 {
				t.Errorf("the view: %d rows, %v", n, err)
			}
			return nil
		})
		if got := list(&crm.ScoreFilter{Segment: "champions"}); len(got) != 0 {
			t.Errorf("the old run still filters: %v", got)
		}
		if got := list(&crm.ScoreFilter{Segment: "loyal"}); !slices.Equal(got, people[:1]) {
			t.Errorf("segment filter on the new run: %v", got)
		}

		// Clearing the old run in batches leaves the current one alone.
		for {
			var n int64
			actWrite(t, db, func(tx *store.Tx) error {
				var err error
				n, err = tx.DeleteAnalyticsRunRows(ctx, run1.ID, 2)
				return err
			})
			if n == 0 {
				break
			}
		}
		actWrite(t, db, func(tx *store.Tx) error {
			if err := tx.MarkAnalyticsRunCleared(ctx, run1.ID); err != nil {
				return err
			}
			if err := tx.DeleteContactScores(ctx, []int64{people[0]}); err != nil {
				return err
			}
			return nil
		})
		db.Read(ctx, func(tx *store.Tx) error {
			if _, err := tx.CustomerScoresOf(ctx, run1.ID, people); err == nil {
				t.Errorf("the old run's table is still there")
			}
			return nil
		})
		actRead(t, db, func(tx *store.Tx) error {
			if _, err := tx.CustomerScoreOf(ctx, run2.ID, people[0]); crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Errorf("deleted person's score: %v", err)
			}
			if _, err := tx.FindAnalyticsItem(ctx, run2.ID, "sku:T1"); err != nil {
				t.Errorf("current run's items: %v", err)
			}
			if stale, err := tx.UnclearedAnalyticsRuns(ctx); err != nil || len(stale) != 0 {
				t.Errorf("uncleared after clearing: %v %v", stale, err)
			}
			runs, more, err := tx.AnalyticsRuns(ctx, 1, 0)
			if err != nil || len(runs) != 1 || !more || runs[0].ID != run2.ID {
				t.Errorf("runs page: %d %v %v", len(runs), more, err)
			}
			return nil
		})
	})
}
