package demo

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/app"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestFillOrders makes the demo's club and orders on both engines: the
// program with its tiers, rules and rewards; n orders from the stored
// people over the last two years, some by member number; the returns it
// counts; points awarded from the events to members who bought. A second
// run reuses the program and adds orders without clashing with the first
// run's.
func TestFillOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		contacts := contact.New(db, contact.Options{})
		now := time.Now().UTC()
		if _, err := Fill(ctx, db, contacts, activity.New(db), Options{Contacts: 150, Seed: 5, Now: now}); err != nil {
			t.Fatal(err)
		}
		quiet := slog.New(slog.DiscardHandler)
		cl := club.New(db, club.Options{Logger: quiet})
		orders := order.New(db, order.Options{Resolve: app.CustomerResolver(contacts, cl)})
		var calls int
		res, err := FillOrders(ctx, contacts, orders, cl, 240, 5, now, func(done, total int) { calls++ })
		if err != nil {
			t.Fatal(err)
		}
		if !res.Program || res.Tiers != 3 || res.Rules != 3 || res.Rewards != 3 || res.Orders != 240 || res.Members == 0 || res.Buyers == 0 || res.Buyers > 96 {
			t.Fatalf("%+v", res)
		}
		if calls == 0 {
			t.Error("progress was never called")
		}

		// The orders as stored: the count, their times, their buyers, the returns.
		var n, returned int
		buyers := map[int64]bool{}
		for after := ""; ; {
			os, next, err := orders.List(ctx, crm.OrderFilter{Limit: 100, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range os {
				n++
				buyers[o.ContactID] = true
				if o.ContactID == 0 || o.Currency != "IRR" || o.Total <= 0 {
					t.Errorf("order %d: %+v", o.ID, o)
				}
				if o.PlacedAt.After(now) || o.PlacedAt.Before(now.Add(-DemoOrdersMaxAge-24*time.Hour)) {
					t.Errorf("order %d placed at %s, outside the last two years", o.ID, o.PlacedAt)
				}
				if o.Status == crm.OrderReturned {
					returned++
				}
			}
			if next == "" {
				break
			}
			after = next
		}
		if n != 240 || returned != res.Returns || len(buyers) != res.Buyers {
			t.Errorf("stored %d orders, %d returned, %d buyers; result %+v", n, returned, len(buyers), res)
		}

		// Points come from the events, as in the server.
		d := event.NewDispatcher(db, quiet)
		cl.Subscribe(d)
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		ps, err := cl.Programs(ctx)
		if err != nil || len(ps) != 1 {
			t.Fatalf("%d programs, %v", len(ps), err)
		}
		ms, _, err := cl.Members(ctx, club.MemberFilter{ProgramID: ps[0].ID, Limit: 500})
		if err != nil || len(ms) != res.Members {
			t.Fatalf("%d members, want %d (%v)", len(ms), res.Members, err)
		}
		var earning int
		for _, m := range ms {
			if m.Earned > 0 {
				earning++
				if !buyers[m.ContactID] {
					t.Errorf("member %d earned %d points without an order", m.ID, m.Earned)
				}
			}
		}
		if earning == 0 {
			t.Error("no member earned points")
		}

		// Again: the same program, more orders.
		res2, err := FillOrders(ctx, contacts, orders, cl, 30, 5, now.Add(time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res2.Program || res2.Orders != 30 {
			t.Errorf("second run: %+v", res2)
		}
	})
}
