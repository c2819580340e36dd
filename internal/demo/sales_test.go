package demo

import (
	"context"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestFillSales makes the demo's pipeline, catalogue and deals on both
// engines: deals about demo people and their companies, their counts on
// the board, won and lost ones with a reason, values from line items; a
// second run reuses the pipeline, products and reasons.
func TestFillSales(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := &crm.User{Email: "rep@example.com", Name: "Rep", Role: crm.RoleSales, Active: true, Preferences: crm.DefaultPreferences("en")}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, u, "x") }); err != nil {
			t.Fatal(err)
		}
		contacts := contact.New(db, contact.Options{})
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if _, err := Fill(ctx, db, contacts, activity.New(db), Options{Contacts: 300, Seed: 3, Now: now}); err != nil {
			t.Fatal(err)
		}
		sl := sales.New(db, sales.Options{})
		res, err := FillSales(ctx, db, contacts, sl, 60, 3, now)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Pipeline || res.Products != len(demoProducts) || res.LostReasons != len(demoLostReasons) || res.Deals != 60 || res.Won == 0 || res.Lost == 0 {
			t.Fatalf("%+v", res)
		}
		pipes, err := sl.Pipelines(ctx)
		if err != nil || len(pipes) != 1 {
			t.Fatalf("%d pipelines, %v", len(pipes), err)
		}
		b, err := sl.Board(ctx, pipes[0].ID, crm.DealFilter{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var open int64
		for _, c := range b.Columns {
			open += c.Count
		}
		if open != int64(res.Deals-res.Won-res.Lost) {
			t.Errorf("board: %d open deals, want %d", open, res.Deals-res.Won-res.Lost)
		}
		deals, _, _, err := sl.ListDeals(ctx, crm.DealFilter{Limit: 100})
		if err != nil || len(deals) != 60 {
			t.Fatalf("%d deals, %v", len(deals), err)
		}
		var withCompany, fromLines, lostWithReason int
		for _, d := range deals {
			if d.ContactID == 0 || d.OwnerID != u.ID || d.ExpectedClose == "" || d.Value <= 0 {
				t.Errorf("deal %+v", d)
			}
			if d.CompanyID != 0 {
				withCompany++
			}
			if d.ValueFromLines {
				fromLines++
			}
			if d.Status == crm.DealLost && d.LostReasonID != 0 {
				lostWithReason++
			}
		}
		if withCompany == 0 || fromLines == 0 || lostWithReason != res.Lost {
			t.Errorf("%d with a company, %d from lines, %d lost with a reason of %d", withCompany, fromLines, lostWithReason, res.Lost)
		}
		again, err := FillSales(ctx, db, contacts, sl, 5, 4, now)
		if err != nil || again.Pipeline || again.Products != 0 || again.LostReasons != 0 || again.Deals != 5 {
			t.Fatalf("second run: %+v %v", again, err)
		}
	})
}
