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

// salesRows writes users, a team, a pipeline and deals straight through
// the store, as the sales service would, and returns them.
type salesRows struct {
	users []*crm.User
	pipe  *crm.Pipeline
}

func seedSales(t *testing.T, db *store.DB) salesRows {
	t.Helper()
	ctx := context.Background()
	var s salesRows
	err := db.Write(ctx, func(tx *store.Tx) error {
		for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			u := &crm.User{Email: e, Name: e, Role: crm.RoleSales, Active: true, Preferences: crm.DefaultPreferences("en")}
			if err := tx.CreateUser(ctx, u, "x"); err != nil {
				return err
			}
			s.users = append(s.users, u)
		}
		team := &crm.Team{Name: "T"}
		if err := tx.CreateTeam(ctx, team); err != nil {
			return err
		}
		if err := tx.SetTeamMembers(ctx, team.ID, []int64{s.users[0].ID, s.users[1].ID}); err != nil {
			return err
		}
		s.pipe = &crm.Pipeline{Name: "Main", Currency: "IRR", Stages: []crm.Stage{
			{Name: "One", Probability: 10, Kind: crm.StageOpen}, {Name: "Two", Probability: 33, Kind: crm.StageOpen},
			{Name: "Won", Probability: 100, Kind: crm.StageWon}, {Name: "Lost", Probability: 0, Kind: crm.StageLost}}}
		return tx.InsertPipeline(ctx, s.pipe)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSalesStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		s := seedSales(t, db)
		one, two := s.pipe.Stages[0], s.pipe.Stages[1]
		var deals []*crm.Deal
		err := db.Write(ctx, func(tx *store.Tx) error {
			for i, v := range []int64{1000, 2001, 3003, 5} {
				d := &crm.Deal{PipelineID: s.pipe.ID, StageID: one.ID, Status: crm.DealOpen, Title: []string{"Alpha", "Beta 50%", "Gamma", "Delta"}[i],
					Value: v, Currency: "IRR", OwnerID: s.users[i%3].ID, ExpectedClose: []string{"2025-05-10", "2025-06-01", "", "2025-05-31"}[i],
					Tags: []string{[]string{"x", "y"}[i%2]}, Custom: map[string]any{"n": float64(i)}, StageEnteredAt: now.Add(time.Duration(i) * time.Minute)}
				if err := tx.InsertDeal(ctx, d); err != nil {
					return err
				}
				if err := tx.EnterStage(ctx, d, one); err != nil {
					return err
				}
				deals = append(deals, d)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// The pipeline comes back with its stages in order.
		var p *crm.Pipeline
		db.Read(ctx, func(tx *store.Tx) error { p, err = tx.FindPipeline(ctx, s.pipe.ID, false); return err })
		if len(p.Stages) != 4 || p.Stages[1].Name != "Two" || p.Stages[3].Kind != crm.StageLost {
			t.Fatalf("pipeline %+v %v", p, err)
		}

		// An update with a stale version changes nothing.
		err = db.Write(ctx, func(tx *store.Tx) error {
			d, err := tx.FindDeal(ctx, deals[0].ID, store.SalesScope{}, true)
			if err != nil {
				return err
			}
			stale := *d
			d.StageID, d.StageEnteredAt = two.ID, now.Add(time.Hour)
			if ok, err := tx.UpdateDeal(ctx, d); err != nil || !ok || d.Version != 2 {
				t.Fatalf("update: %v %v %d", ok, err, d.Version)
			}
			if err := tx.EnterStage(ctx, d, two); err != nil {
				return err
			}
			stale.Title = "lost update"
			if ok, err := tx.UpdateDeal(ctx, &stale); err != nil || ok {
				t.Fatalf("a stale update went through: %v %v", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Read(ctx, func(tx *store.Tx) error {
			d, err := tx.FindDeal(ctx, deals[0].ID, store.SalesScope{}, false)
			if err != nil || d.Title != "Alpha" || d.StageID != two.ID || d.Custom["n"] != float64(0) || !slices.Equal(d.Tags, []string{"x"}) {
				t.Errorf("deal after updates: %+v %v", d, err)
			}
			h, err := tx.StageVisits(ctx, deals[0].ID)
			if err != nil || len(h) != 2 || h[0].LeftAt == nil || !h[0].LeftAt.Equal(now.Add(time.Hour)) || h[1].LeftAt != nil || h[1].StageName != "Two" {
				t.Errorf("history %+v %v", h, err)
			}
			return nil
		})

		// Filters, the team scope and LIKE wildcards typed by users.
		count := func(f crm.DealFilter, sc store.SalesScope) int {
			var n int
			db.Read(ctx, func(tx *store.Tx) error {
				ds, _, err := tx.FindDeals(ctx, f, sc)
				n = len(ds)
				return err
			})
			return n
		}
		owner := s.users[1].ID
		for name, c := range map[string]struct {
			f    crm.DealFilter
			sc   store.SalesScope
			want int
		}{
			"all":               {crm.DealFilter{}, store.SalesScope{}, 4},
			"tag":               {crm.DealFilter{Tag: "y"}, store.SalesScope{}, 2},
			"owner":             {crm.DealFilter{OwnerID: &owner}, store.SalesScope{}, 1},
			"close range":       {crm.DealFilter{CloseFrom: "2025-05-10", CloseTo: "2025-05-31"}, store.SalesScope{}, 2},
			"close to excludes": {crm.DealFilter{CloseTo: "2025-12-31"}, store.SalesScope{}, 3},
			"percent literal":   {crm.DealFilter{Q: "50%"}, store.SalesScope{}, 1},
			"underscore":        {crm.DealFilter{Q: "a_"}, store.SalesScope{}, 0},
			"case":              {crm.DealFilter{Q: "gAmMa"}, store.SalesScope{}, 1},
			"team of a":         {crm.DealFilter{}, store.SalesScope{TeamOf: s.users[0].ID}, 3},
			"team of c":         {crm.DealFilter{}, store.SalesScope{TeamOf: s.users[2].ID}, 1},
			"stage":             {crm.DealFilter{StageID: two.ID}, store.SalesScope{}, 1},
		} {
			if got := count(c.f, c.sc); got != c.want {
				t.Errorf("%s: %d deals, want %d", name, got, c.want)
			}
		}

		// The board: sums per stage with each deal's weighted value rounded
		// half up (2001 × 10% = 200.1 → 200; 3003 × 10% → 300; 5 × 10% = 0.5 → 1).
		db.Read(ctx, func(tx *store.Tx) error {
			cols, err := tx.BoardColumns(ctx, s.pipe.ID, crm.DealFilter{}, store.SalesScope{})
			if err != nil || len(cols) != 2 {
				t.Fatalf("columns %+v %v", cols, err)
			}
			if c := cols[0]; c.StageID != one.ID || c.Count != 3 || c.Value != 5009 || c.Weighted != 200+300+1 {
				t.Errorf("first column %+v", c)
			}
			if c := cols[1]; c.Count != 1 || c.Value != 1000 || c.Weighted != 330 {
				t.Errorf("second column %+v", c)
			}
			// Cards, newest in the stage first, a page at a time.
			page, next, err := tx.BoardCards(ctx, one.ID, crm.DealFilter{}, store.SalesScope{}, 2, "")
			if err != nil || len(page) != 2 || page[0].Title != "Delta" || next == "" {
				t.Fatalf("first cards %v %q %v", page, next, err)
			}
			rest, next, err := tx.BoardCards(ctx, one.ID, crm.DealFilter{}, store.SalesScope{}, 2, next)
			if err != nil || len(rest) != 1 || rest[0].Title != "Beta 50%" || next != "" {
				t.Fatalf("more cards %v %q %v", rest, next, err)
			}
			// The forecast's rows: by date, with the same rounding.
			rows, err := tx.ForecastRows(ctx, store.ForecastFilter{CloseTo: "2025-05-31"}, store.SalesScope{})
			if err != nil || len(rows) != 3 || rows[0].Close != "" || rows[0].Weighted != 300 || rows[2].Close != "2025-05-31" || rows[2].Weighted != 1 {
				t.Errorf("forecast rows %+v %v", rows, err)
			}
			fu, err := tx.FunnelRows(ctx, s.pipe.ID, now.Add(-time.Hour), now.Add(time.Hour), store.SalesScope{})
			if err != nil || len(fu) != 2 || fu[0].Reached != 1 || fu[0].Count != 3 || fu[1].Reached != 2 || fu[1].Count != 1 {
				t.Errorf("funnel rows %+v %v", fu, err)
			}
			return nil
		})

		// Quote numbers grow; deal events; people merged and companies deleted.
		err = db.Write(ctx, func(tx *store.Tx) error {
			for want := int64(1); want <= 2; want++ {
				n, err := tx.NextQuoteNumber(ctx)
				if err != nil || n != want {
					t.Fatalf("quote number %d, want %d (%v)", n, want, err)
				}
				q := &crm.Quote{DealID: deals[1].ID, Number: n, Status: crm.QuoteDraft, Title: "q", Currency: "IRR", Lines: []crm.DealLine{{Name: "x", Quantity: 1}}}
				if err := tx.InsertQuote(ctx, q); err != nil {
					return err
				}
				if err := tx.Emit(ctx, &crm.Event{Type: crm.EventQuoteCreated, SubjectType: "quote", SubjectID: q.ID}); err != nil {
					return err
				}
			}
			if err := tx.Emit(ctx, &crm.Event{Type: crm.EventDealCreated, SubjectType: "deal", SubjectID: deals[1].ID}); err != nil {
				return err
			}
			evs, err := tx.DealEvents(ctx, deals[1].ID, 10)
			if err != nil || len(evs) != 3 || evs[0].Type != crm.EventDealCreated {
				t.Fatalf("deal events %+v %v", evs, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE deals SET contact_id = 7, company_id = 9 WHERE id = ?`, deals[2].ID); err != nil {
				return err
			}
			n, err := tx.MoveDealsAndLeads(ctx, []int64{7, 8}, 3)
			if err != nil || n != 1 {
				t.Fatalf("move deals: %d %v", n, err)
			}
			return tx.DetachCompanyDeals(ctx, 9)
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Read(ctx, func(tx *store.Tx) error {
			d, _ := tx.FindDeal(ctx, deals[2].ID, store.SalesScope{}, false)
			if d.ContactID != 3 || d.CompanyID != 0 {
				t.Errorf("after merge and company deletion: %+v", d)
			}
			c, co, ok, err := tx.DealParties(ctx, deals[2].ID)
			if !ok || err != nil || c != 3 || co != 0 {
				t.Errorf("deal parties %d %d %v %v", c, co, ok, err)
			}
			return nil
		})

		// Settings keep only sales keys.
		err = db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.SaveSalesSetting(ctx, "analytics", "{}"); crm.ErrorCode(err) != crm.EINVALID {
				t.Errorf("a non-sales key: %v", err)
			}
			if err := tx.SaveSalesSetting(ctx, "sales", `{"visibility":"team"}`); err != nil {
				return err
			}
			return tx.SaveSalesSetting(ctx, "sales", `{"visibility":"all"}`)
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Read(ctx, func(tx *store.Tx) error {
			v, ok, err := tx.SalesSetting(ctx, "sales")
			if !ok || err != nil || v != `{"visibility":"all"}` {
				t.Errorf("setting %q %v %v", v, ok, err)
			}
			return nil
		})
	})
}
