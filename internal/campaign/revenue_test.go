package campaign_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestRevenue: the orders of recipients placed from the send until the
// attribution window ends (7 days from the send, moved by a click),
// net of returns, fully returned ones left out, per currency; a return
// made later lowers it at once.
func TestRevenue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, campaign.Options{})
		ana := f.person("Ana", "ana@example.com", "", "en", nil, "email")
		ben := f.person("Ben", "ben@example.com", "", "en", nil, "email")
		carl := f.person("Carl", "carl@example.com", "", "en", nil) // no consent: skipped
		c, err := f.svc.Create(sys, campaign.Input{Name: "Rev", Channel: campaign.ChannelEmail, Content: welcome, AttributionDays: 7})
		if err != nil {
			t.Fatal(err)
		}
		f.svc.Start(sys, c.ID)
		f.drain(5)
		sent := f.now
		exec := func(q string, args ...any) {
			t.Helper()
			if err := db.Write(sys, func(tx *store.Tx) error { _, err := tx.Exec(sys, q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		order := func(id, contact int64, status, cur string, total, returned int64, placed time.Time) {
			exec(`INSERT INTO orders (id, contact_id, status, currency, subtotal, total, returned_total, channel, placed_at, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, 'web', ?, ?, ?)`, id, contact, status, cur, total, total, returned, placed.UTC(), placed.UTC(), placed.UTC())
		}
		day := 24 * time.Hour
		order(1, ana, "placed", "IRR", 100000, 0, sent.Add(time.Hour))
		order(2, ana, "partially_returned", "IRR", 200000, 50000, sent.Add(2*day))
		order(3, ana, "returned", "IRR", 900000, 900000, sent.Add(day))
		order(4, ana, "placed", "IRR", 70000, 0, sent.Add(8*day)) // after the window
		order(5, ben, "placed", "USD", 500, 0, sent.Add(3*day))
		order(6, ben, "placed", "USD", 300, 0, sent.Add(-time.Hour))  // before the send
		order(7, carl, "placed", "IRR", 1000, 0, sent.Add(time.Hour)) // not sent the campaign
		check := func(step string, irr, usd, orders int64) {
			t.Helper()
			r, err := f.svc.Results(sys, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if r.Revenue["IRR"] != irr || r.Revenue["USD"] != usd || r.Orders != orders || len(r.Revenue) > 2 {
				t.Errorf("%s: revenue %v, %d orders; want IRR %d, USD %d, %d orders", step, r.Revenue, r.Orders, irr, usd, orders)
			}
			// Both ways into the join give the same rows.
			db.Read(sys, func(tx *store.Tx) error {
				a, err1 := tx.CampaignRevenueVia(sys, c.ID, true)
				b, err2 := tx.CampaignRevenueVia(sys, c.ID, false)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) || len(a) != len(r.Revenue) {
					t.Errorf("%s: from orders %+v %v, from deliveries %+v %v", step, a, err1, b, err2)
				}
				return nil
			})
		}
		check("after the send", 250000, 500, 3)
		// Ana clicks on day 5: her window runs to day 12 and takes in order 4.
		f.advance(5 * day)
		ds := f.deliveries(c.ID)
		if err := db.Write(sys, func(tx *store.Tx) error {
			_, err := tx.RecordCampaignEvent(sys, ds[ana], "clicked", "https://shop.example/")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		check("after the click", 320000, 500, 4)
		// Order 1 is returned in full.
		exec(`UPDATE orders SET status = 'returned', returned_total = total WHERE id = 1`)
		check("after a return", 220000, 500, 3)
	})
}
