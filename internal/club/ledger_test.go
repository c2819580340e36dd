package club_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

const day = 24 * time.Hour

// TestEarnPendingRelease: an order earns pending points, available once
// the return window closes; delivering the same order again changes
// nothing.
func TestEarnPendingRelease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(nil)
		m := e.member(p, "Sara")
		o := e.order(m, 12345, time.Time{}) // $123.45 → 1234 points, rounded down
		e.balances(m.ID, 0, 1234, 0)

		// The same order delivered again (a replay of the event).
		e.emit(crm.EventOrderCreated, o.ID, m.ContactID, o)
		e.balances(m.ID, 0, 1234, 0)
		e.check()

		// Not yet: 13 days later.
		e.clk.Advance(13 * day)
		if r := e.sweep(); r.Released != 0 {
			t.Fatalf("released %d lots before the window closed", r.Released)
		}
		e.balances(m.ID, 0, 1234, 0)
		e.clk.Advance(day)
		if r := e.sweep(); r.Released != 1 {
			t.Fatalf("released %d lots, want 1", r.Released)
		}
		e.balances(m.ID, 1234, 0, 0)
		if r := e.sweep(); r.Released != 0 {
			t.Fatal("a lot was released twice")
		}
		e.check()

		// An order placed long ago (an import) is available at once.
		e.order(m, 1000, e.now().AddDate(0, -1, 0))
		e.balances(m.ID, 1334, 0, 0)
		e.check()
	})
}

// TestNonMemberAndOtherCurrency: orders of people who are not members, or
// in another currency, earn nothing; with auto_enrol the first order
// enrols the buyer.
func TestNonMemberAndOtherCurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(nil)
		stranger := &club.Member{ContactID: e.person("Stranger", "en", "")}
		e.order(stranger, 5000, time.Time{})
		ms, err := e.svc.MembersOfContact(e.ctx, stranger.ContactID)
		if err != nil || len(ms) != 0 {
			t.Fatalf("members %v, %v", ms, err)
		}
		m := e.member(p, "Reza")
		e.nextID++
		o := crm.Order{ID: e.nextID, ContactID: m.ContactID, Currency: "EUR", Subtotal: 5000, Total: 5000, PlacedAt: e.now()}
		e.emit(crm.EventOrderCreated, o.ID, m.ContactID, o)
		e.balances(m.ID, 0, 0, 0)

		auto := e.program(func(in *club.ProgramInput) {
			in.Name, in.AutoEnrol, in.Currency = "Auto", true, "IRR"
			in.EarnPoints, in.EarnAmount = 1, 10000
		})
		buyer := e.person("Buyer", "ar", "")
		e.nextID++
		o = crm.Order{ID: e.nextID, ContactID: buyer, Currency: "IRR", Subtotal: 255_000, Total: 255_000, PlacedAt: e.now()}
		e.emit(crm.EventOrderCreated, o.ID, buyer, o)
		ms, err = e.svc.MembersOfContact(e.ctx, buyer)
		if err != nil || len(ms) != 1 || ms[0].ProgramID != auto.ID || ms[0].EnrolledVia != club.ViaOrder || ms[0].Pending != 25 {
			t.Fatalf("auto-enrolled: %+v, %v", ms, err)
		}
		e.check()
	})
}

// TestReturns: a return takes back the returned share of what the order
// earned, never more; each return once.
func TestReturns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(nil)
		m := e.member(p, "Nima")
		o := e.order(m, 10000, time.Time{}) // 1000 points
		e.ret(o, 3000, 3000)                // 30% → 300 back
		e.balances(m.ID, 0, 700, 0)
		r2 := e.ret(o, 3333, 6333) // 63.33% → 633 in all, 333 now
		e.balances(m.ID, 0, 367, 0)
		// The same return delivered again.
		p2 := crm.OrderReturnedPayload{Return: crm.OrderReturn{ID: r2, OrderID: o.ID, Amount: 3333}, OrderTotal: o.Total, ReturnedTotal: 6333, Currency: "USD"}
		e.emit(crm.EventOrderReturned, r2, m.ContactID, p2)
		e.balances(m.ID, 0, 367, 0)
		// A return that claims more than the order: capped at what it earned.
		e.ret(o, 9999, 99999)
		e.balances(m.ID, 0, 0, 0)
		e.ret(o, 1, 99999)
		e.balances(m.ID, 0, 0, 0)
		e.check()

		// Qualifying spend follows: the order counts for nothing now.
		d, err := e.svc.Member(e.ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Spend != 0 {
			t.Fatalf("spend after full return = %d", d.Spend)
		}
	})
}

// TestReturnAfterSpending: the documented policy. Points of a returned
// order that were already spent come from the member's other available
// points, and what is still missing is debt: the balance goes negative,
// and the next points released pay it off.
func TestReturnAfterSpending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(nil)
		m := e.member(p, "Leila")
		reward, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "Mug", Kind: club.RewardFreeProduct, SKU: "MUG", Cost: 800})
		if err != nil {
			t.Fatal(err)
		}
		o := e.order(m, 10000, time.Time{}) // 1000
		e.clk.Advance(15 * day)
		e.sweep()
		if _, err := e.svc.Adjust(e.ctx, m.ID, club.Adjustment{Points: 50, Reason: "goodwill"}); err != nil {
			t.Fatal(err)
		}
		e.balances(m.ID, 1050, 0, 0)
		if _, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: reward.ID, Capture: true}); err != nil {
			t.Fatal(err)
		}
		e.balances(m.ID, 250, 0, 0) // 200 left in the order's lot, 50 in the adjustment's
		o2 := e.order(m, 5000, time.Time{})
		e.balances(m.ID, 250, 500, 0)

		e.ret(o, 10000, 10000) // all 1000 back: 200 from its lot, 50 from the other, 750 debt
		e.balances(m.ID, -750, 500, 0)
		if got := e.get(m.ID).Debt; got != 750 {
			t.Fatalf("debt = %d, want 750", got)
		}
		e.check()
		// Debt blocks redemptions and negative adjustments.
		if _, err := e.svc.Adjust(e.ctx, m.ID, club.Adjustment{Points: -1, Reason: "test"}); code(t, err) != crm.ECONFLICT {
			t.Fatalf("adjust with debt: %v", err)
		}
		// The next release pays the debt first.
		e.clk.Advance(15 * day)
		e.sweep()
		e.balances(m.ID, -250, 0, 0)
		if got := e.get(m.ID).Debt; got != 250 {
			t.Fatalf("debt = %d, want 250", got)
		}
		e.check()
		// A return of the second order while in debt deepens it.
		e.ret(o2, 2500, 2500)
		e.balances(m.ID, -500, 0, 0)
		if _, err := e.svc.Adjust(e.ctx, m.ID, club.Adjustment{Points: 600, Reason: "settle"}); err != nil {
			t.Fatal(err)
		}
		e.balances(m.ID, 100, 0, 0)
		if got := e.get(m.ID).Debt; got != 0 {
			t.Fatalf("debt = %d, want 0", got)
		}
		e.check()
	})
}

// TestExpiryFIFO: points are spent from the lot that expires first,
// expire by lot, and a reminder is written before they do.
func TestExpiryFIFO(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays = 0 })
		m := e.member(p, "Omid")
		e.order(m, 10000, time.Time{}) // lot A: 1000, expires in 12 months
		e.clk.Advance(60 * day)
		e.order(m, 5000, time.Time{}) // lot B: 500, two months later
		e.balances(m.ID, 1500, 0, 0)
		if _, err := e.svc.Adjust(e.ctx, m.ID, club.Adjustment{Points: -600, Reason: "correction"}); err != nil {
			t.Fatal(err)
		}
		e.balances(m.ID, 900, 0, 0) // A has 400 left, B 500

		// 30 days before A expires: the reminder.
		e.clk.Set(time.Date(2026, 1, 30, 12, 0, 0, 0, time.UTC))
		r := e.sweep()
		if r.Reminded != 1 || r.Expired != 0 {
			t.Fatalf("sweep %+v, want one reminder", r)
		}
		if r := e.sweep(); r.Reminded != 0 {
			t.Fatal("reminded twice")
		}
		evs := e.events(club.EventPointsExpiring)
		var pl struct {
			Points int64 `json:"points"`
		}
		if len(evs) != 1 || evs[0].ContactID != m.ContactID || json.Unmarshal(evs[0].Payload, &pl) != nil || pl.Points != 400 {
			t.Fatalf("reminder events %+v", evs)
		}
		e.clk.Set(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) // A expires
		if r := e.sweep(); r.Expired != 1 {
			t.Fatalf("sweep %+v, want one expiry", r)
		}
		e.balances(m.ID, 500, 0, 0)
		e.clk.Set(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)) // B expires
		e.sweep()
		e.balances(m.ID, 0, 0, 0)
		e.check()
	})
}

// TestRedemptionReserveCaptureCancel: reserving takes points, capturing
// spends them and issues a voucher, cancelling gives them back to the
// lots they came from; stock and per-member limits hold.
func TestRedemptionReserveCaptureCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays = 0 })
		m := e.member(p, "Mina")
		stock := int64(2)
		gift, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "Gift card", Kind: club.RewardGiftCard, Value: 1000,
			Cost: 300, Stock: &stock, PerMemberLimit: 2, ValidDays: 90})
		if err != nil {
			t.Fatal(err)
		}
		e.order(m, 10000, time.Time{}) // 1000
		d, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: gift.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.balances(m.ID, 700, 0, 300)
		e.check()
		d2, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: gift.ID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: gift.ID}); code(t, err) != crm.ECONFLICT {
			t.Fatalf("third redemption of stock 2: %v", err)
		}
		if d, err = e.svc.Capture(e.ctx, d.ID); err != nil || d.Status != club.RedemptionCaptured || d.CouponCode == "" {
			t.Fatalf("capture: %+v %v", d, err)
		}
		if again, err := e.svc.Capture(e.ctx, d.ID); err != nil || again.CouponCode != d.CouponCode {
			t.Fatalf("capture twice: %+v %v", again, err)
		}
		if _, err := e.svc.Cancel(e.ctx, d.ID); code(t, err) != crm.ECONFLICT {
			t.Fatalf("cancel captured: %v", err)
		}
		e.balances(m.ID, 400, 0, 300)
		if d2, err = e.svc.Cancel(e.ctx, d2.ID); err != nil || d2.Status != club.RedemptionCancelled {
			t.Fatalf("cancel: %+v %v", d2, err)
		}
		e.balances(m.ID, 700, 0, 0)
		if _, err := e.svc.Cancel(e.ctx, d2.ID); err != nil {
			t.Fatalf("cancel twice: %v", err)
		}
		e.balances(m.ID, 700, 0, 0)
		// The stock came back; the per-member limit counts the captured one.
		if _, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: gift.ID, Capture: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: gift.ID}); code(t, err) != crm.ECONFLICT {
			t.Fatalf("over the per-member limit: %v", err)
		}
		e.balances(m.ID, 400, 0, 0)
		// The voucher is the member's, one use, for the gift card's value.
		v, err := e.svc.ValidateCoupon(e.ctx, club.CouponCheck{Code: d.CouponCode, ContactID: m.ContactID, Amount: 5000, Currency: "USD"})
		if err != nil || !v.Valid || v.Discount != 1000 {
			t.Fatalf("voucher: %+v %v", v, err)
		}
		other := e.person("Other", "en", "")
		if v, err := e.svc.ValidateCoupon(e.ctx, club.CouponCheck{Code: d.CouponCode, ContactID: other, Amount: 5000, Currency: "USD"}); err != nil || v.Valid || v.Reason != "not_yours" {
			t.Fatalf("someone else's voucher: %+v %v", v, err)
		}
		e.check()
	})
}

// TestCancelKeepsExpiry: cancelled points go back to their lots with the
// lots' expiry, and expire at the next sweep if that date passed.
func TestCancelKeepsExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays, in.ExpiryMonths = 0, 1 })
		m := e.member(p, "Kian")
		r, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "10%", Kind: club.RewardCoupon, Percent: 10, Cost: 100})
		if err != nil {
			t.Fatal(err)
		}
		e.order(m, 1000, time.Time{}) // 100, expires in a month
		d, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(40 * day)
		if r := e.sweep(); r.Expired != 0 {
			t.Fatal("reserved points expired")
		}
		if _, err := e.svc.Cancel(e.ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		e.balances(m.ID, 100, 0, 0)
		if r := e.sweep(); r.Expired != 1 {
			t.Fatalf("sweep %+v: the returned points should expire", r)
		}
		e.balances(m.ID, 0, 0, 0)
		e.check()
	})
}

// TestHoldExpires: a reservation not captured within hold_hours is
// cancelled by the sweep.
func TestHoldExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays, in.HoldHours = 0, 2 })
		m := e.member(p, "Aria")
		r, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "Coffee", Kind: club.RewardFreeProduct, SKU: "C1", Cost: 50})
		if err != nil {
			t.Fatal(err)
		}
		e.order(m, 1000, time.Time{})
		d, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(3 * time.Hour)
		if res := e.sweep(); res.Cancelled != 1 {
			t.Fatalf("sweep %+v", res)
		}
		if d, _ = e.svc.Redemption(e.ctx, d.ID); d.Status != club.RedemptionCancelled {
			t.Fatalf("status %s", d.Status)
		}
		e.balances(m.ID, 100, 0, 0)
		e.check()
	})
}

// events returns the events of a type, oldest first.
func (e *env) events(typ string) []crm.Event {
	e.t.Helper()
	var out []crm.Event
	err := e.db.Read(e.ctx, func(tx *store.Tx) error {
		evs, err := tx.EventsAfter(e.ctx, 0, 100000)
		for _, ev := range evs {
			if ev.Type == typ {
				out = append(out, ev)
			}
		}
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}
