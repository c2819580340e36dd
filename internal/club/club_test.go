package club_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestReferral: the referee's first purchase that clears the return
// window rewards both, once; nobody refers themselves.
func TestReferral(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.ReferrerPoints, in.RefereePoints = 200, 100 })
		ref := e.member(p, "Referrer")
		self, err := e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p.ID, ContactID: e.person("Self", "en", ""), ReferralCode: "nope"})
		if code(t, err) != crm.EINVALID || crm.ErrorFields(err)["referral_code"] == "" {
			t.Fatalf("unknown code: %v %v", self, err)
		}
		c := e.person("Friend", "fa", "")
		r, err := e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p.ID, ContactID: c, ReferralCode: " " + lower(ref.ReferralCode)})
		if err != nil {
			t.Fatal(err)
		}
		friend := r.Member
		if friend.ReferredBy != ref.ID {
			t.Fatalf("referred by %d", friend.ReferredBy)
		}
		// Self-referral: a person with a membership in another program
		// cannot use their own code either.
		p2 := e.program(func(in *club.ProgramInput) { in.Name = "Other" })
		if _, err := e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p2.ID, ContactID: ref.ContactID, ReferralCode: ref.ReferralCode}); code(t, err) != crm.EINVALID {
			t.Fatalf("own code in another program: %v", err)
		}
		if _, err := e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p.ID, ContactID: c}); code(t, err) != crm.ECONFLICT {
			t.Fatalf("enrolled twice: %v", err)
		}

		o := e.order(friend, 1000, time.Time{}) // 100 pending
		e.order(friend, 2000, time.Time{})      // 200 pending
		e.ret(o, 1000, 1000)                    // the first order fully returned
		e.clk.Advance(15 * 24 * time.Hour)
		e.sweep()
		e.balances(friend.ID, 200+100, 0, 0)
		e.balances(ref.ID, 200, 0, 0)
		// Another purchase: no second reward.
		e.order(friend, 1000, time.Time{})
		e.clk.Advance(15 * 24 * time.Hour)
		e.sweep()
		e.balances(friend.ID, 400, 0, 0)
		e.balances(ref.ID, 200, 0, 0)
		rs, err := e.svc.Referrals(e.ctx, ref.ID)
		if err != nil || len(rs) != 1 || rs[0].Status != "rewarded" {
			t.Fatalf("referrals %+v %v", rs, err)
		}
		e.check()
	})
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func tiers(t *testing.T, e *env, p *club.Program) map[string]*club.Tier {
	t.Helper()
	out := map[string]*club.Tier{}
	for _, in := range []club.TierInput{
		{Name: "Base", Threshold: 0, Multiplier: 200},
		{Name: "Silver", Threshold: 5_000_00, Multiplier: 400},
		{Name: "Gold", Threshold: 10_000_00, Multiplier: 600},
	} {
		tr, err := e.svc.SaveTier(e.ctx, p.ID, 0, in)
		if err != nil {
			t.Fatal(err)
		}
		out[in.Name] = tr
	}
	return out
}

// TestTierUpgradeSplit: through the service, a purchase that crosses a
// threshold is split and the member moves up at once.
func TestTierUpgradeSplit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.EarnPoints, in.EarnAmount = 1, 100 })
		ts := tiers(t, e, p)
		m := e.member(p, "Tiered")
		if m.TierID != ts["Base"].ID {
			t.Fatalf("enrolled at tier %d", m.TierID)
		}
		e.order(m, 4_000_00, time.Time{}) // 4000 × 2
		e.order(m, 2_000_00, time.Time{}) // 1000 × 2 + 1000 × 4
		got := e.get(m.ID)
		if got.Pending != 8000+6000 || got.TierID != ts["Silver"].ID {
			t.Fatalf("pending %d tier %d", got.Pending, got.TierID)
		}
		d, err := e.svc.Member(e.ctx, m.ID)
		if err != nil || d.Tier.Name != "Silver" || d.NextTier.Name != "Gold" || d.ToNextTier != 4_000_00 || d.Spend != 6_000_00 {
			t.Fatalf("detail %+v %v", d, err)
		}
		if evs := e.events(club.EventTierChanged); len(evs) != 1 || evs[0].ContactID != m.ContactID {
			t.Fatalf("tier events %+v", evs)
		}
		e.check()
	})
}

// TestTierDowngradeWindowEnd: with window_end and a grace period, a
// member whose year's spend fell short keeps the tier through the grace
// period, and then moves down; a purchase in grace that requalifies keeps
// it.
func TestTierDowngradeWindowEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) {
			in.EarnPoints, in.EarnAmount, in.Downgrade, in.GraceDays, in.PendingDays = 1, 100, club.DowngradeWindowEnd, 30, 0
		})
		ts := tiers(t, e, p)
		keep := e.member(p, "Keeper")
		drop := e.member(p, "Dropper")
		e.order(keep, 11_000_00, time.Time{}) // Gold in 2025
		e.order(drop, 11_000_00, time.Time{})
		if got := e.get(drop.ID); got.TierID != ts["Gold"].ID || got.TierReviewAt == nil || !got.TierReviewAt.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("gold until %v", got.TierReviewAt)
		}
		// Jan 1 2026: 2025's spend was 11,000 for both: they keep Gold to
		// the end of 2026.
		e.clk.Set(time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC))
		e.sweep()
		if got := e.get(drop.ID); got.TierID != ts["Gold"].ID || !got.TierReviewAt.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("after the 2026 review: tier %d until %v", got.TierID, got.TierReviewAt)
		}
		e.order(keep, 10_500_00, time.Time{}) // requalifies in 2026
		e.order(drop, 6_000_00, time.Time{})  // only Silver's worth
		e.clk.Set(time.Date(2027, 1, 1, 0, 5, 0, 0, time.UTC))
		e.sweep()
		if got := e.get(keep.ID); got.TierID != ts["Gold"].ID || got.GraceUntil != nil {
			t.Fatalf("keeper: tier %d grace %v", got.TierID, got.GraceUntil)
		}
		got := e.get(drop.ID)
		if got.TierID != ts["Gold"].ID || got.GraceUntil == nil || !got.GraceUntil.Equal(time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("dropper in grace: tier %d grace %v", got.TierID, got.GraceUntil)
		}
		// Grace ends without a purchase: down to what 2027's spend reaches.
		e.clk.Set(time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
		e.sweep()
		if got := e.get(drop.ID); got.TierID != ts["Base"].ID || got.GraceUntil != nil || got.TierReviewAt != nil {
			t.Fatalf("dropper after grace: tier %d grace %v review %v", got.TierID, got.GraceUntil, got.TierReviewAt)
		}
		var dirs []string
		for _, ev := range e.events(club.EventTierChanged) {
			if ev.SubjectID == drop.ID {
				dirs = append(dirs, string(ev.Payload))
			}
		}
		if len(dirs) != 3 { // up, grace, down
			t.Fatalf("dropper's tier events: %v", dirs)
		}
		e.check()
	})
}

// TestTierAfterDays: with after_days, a tier lasts N days after the last
// purchase that qualified for it.
func TestTierAfterDays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) {
			in.EarnPoints, in.EarnAmount, in.Downgrade, in.DowngradeDays, in.TierWindow, in.PendingDays = 1, 100, club.DowngradeAfterDays, 90, club.WindowRolling, 0
		})
		ts := tiers(t, e, p)
		m := e.member(p, "Rolling")
		e.order(m, 5_500_00, time.Time{})
		e.clk.Advance(80 * 24 * time.Hour)
		e.order(m, 10_00, time.Time{}) // still ≥ 5,000 in 12 months: the count starts again
		e.clk.Advance(20 * 24 * time.Hour)
		e.sweep()
		if got := e.get(m.ID); got.TierID != ts["Silver"].ID {
			t.Fatalf("tier %d after 100 days", got.TierID)
		}
		// A year on the spend has left the window: the next review drops it.
		e.clk.Advance(365 * 24 * time.Hour)
		e.sweep()
		if got := e.get(m.ID); got.TierID != ts["Base"].ID {
			t.Fatalf("tier %d after a year", got.TierID)
		}
		e.check()
	})
}

// TestMemberContact: the orders module resolves member numbers and card
// codes, typed any way, inside its transaction.
func TestMemberContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(nil)
		m := e.member(p, "Card")
		for _, typed := range []string{m.Number, club.FormatNumber(m.Number), m.CardCode, toPersian(club.FormatNumber(m.CardCode))} {
			var got int64
			err := db.Read(e.ctx, func(tx *store.Tx) error {
				var err error
				got, err = e.svc.MemberContact(e.ctx, tx, typed)
				return err
			})
			if err != nil || got != m.ContactID {
				t.Fatalf("MemberContact(%q) = %d, %v", typed, got, err)
			}
		}
		for _, bad := range []string{"", "123", "1234567897"} {
			err := db.Read(e.ctx, func(tx *store.Tx) error {
				_, err := e.svc.MemberContact(e.ctx, tx, bad)
				return err
			})
			if code(t, err) != crm.ENOTFOUND {
				t.Fatalf("MemberContact(%q): %v", bad, err)
			}
		}
	})
}

func toPersian(s string) string {
	var out []rune
	for _, r := range s {
		if r >= '0' && r <= '9' {
			r = '۰' + (r - '0')
		}
		out = append(out, r)
	}
	return string(out)
}

// TestPermissions: reading needs club:read, changing club:write, program
// settings settings:manage.
func TestPermissions(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	e := newEnv(t, db)
	p := e.program(nil)
	m := e.member(p, "Perm")
	marketing := crm.NewContextWithUser(e.ctx, &crm.User{ID: 99, Role: crm.RoleMarketing, Active: true})
	if _, err := e.svc.Member(marketing, m.ID); err != nil {
		t.Fatalf("marketing reads: %v", err)
	}
	if _, err := e.svc.Adjust(marketing, m.ID, club.Adjustment{Points: 5, Reason: "x"}); code(t, err) != crm.EFORBIDDEN {
		t.Fatalf("marketing adjusts: %v", err)
	}
	support := crm.NewContextWithUser(e.ctx, &crm.User{ID: 98, Role: crm.RoleSupport, Active: true})
	if _, err := e.svc.CreateProgram(support, club.ProgramInput{Name: "x"}); code(t, err) != crm.EFORBIDDEN {
		t.Fatalf("support creates a program: %v", err)
	}
	if _, err := e.svc.Adjust(e.ctx, m.ID, club.Adjustment{Points: 5}); code(t, err) != crm.EINVALID {
		t.Fatalf("adjust without a reason: %v", err)
	}
}

// TestInvariantsRandom drives a random mix of orders, returns (repeated),
// redemptions, captures, cancels, adjustments and time, and checks the
// invariants and the recomputation after every step.
func TestInvariantsRandom(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) {
			in.ExpiryMonths, in.PendingDays, in.Rounding, in.Downgrade, in.GraceDays = 2, 7, club.RoundNearest, club.DowngradeAfterDays, 10
			in.DowngradeDays, in.ReferrerPoints, in.RefereePoints, in.TierWindow = 45, 30, 20, club.WindowRolling
		})
		tiers(t, e, p)
		for _, rule := range []club.RuleInput{
			{Name: "Coffee", Kind: club.RuleBonus, Value: 5, Category: "coffee", Priority: 3},
			{Name: "Welcome", Kind: club.RuleFirstPurchase, Value: 50, Priority: 2},
			{Name: "Promo", Kind: club.RuleMultiplier, Value: 150, Priority: 1, MinSpend: 50_00},
		} {
			if _, err := e.svc.SaveRule(e.ctx, p.ID, 0, rule); err != nil {
				t.Fatal(err)
			}
		}
		reward, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "R", Kind: club.RewardGiftCard, Value: 100, Cost: 70})
		if err != nil {
			t.Fatal(err)
		}
		members := []*club.Member{e.member(p, "A"), e.member(p, "B")}
		r, err := e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p.ID, ContactID: e.person("C", "ar", "2000-03-15"), ReferralCode: members[0].ReferralCode})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, r.Member)
		type placed struct {
			o        crm.Order
			returned int64
		}
		var orders []*placed
		var reserved []int64
		rng := rand.New(rand.NewPCG(7, 11))
		steps := 160
		if testing.Short() {
			steps = 60
		}
		for step := range steps {
			m := members[rng.IntN(len(members))]
			switch k := rng.IntN(10); {
			case k < 4:
				total := int64(rng.IntN(300_00) + 1)
				lines := []crm.OrderLine{{SKU: "X", Category: []string{"coffee", "food"}[rng.IntN(2)], Quantity: int64(rng.IntN(3) + 1), Total: total}}
				orders = append(orders, &placed{o: e.order(m, total, time.Time{}, lines...)})
			case k < 6 && len(orders) > 0:
				po := orders[rng.IntN(len(orders))]
				if left := po.o.Total - po.returned; left > 0 {
					amt := int64(rng.IntN(int(left))) + 1
					po.returned += amt
					id := e.ret(po.o, amt, po.returned)
					if rng.IntN(3) == 0 { // delivered twice
						e.emit(crm.EventOrderReturned, id, po.o.ContactID, crm.OrderReturnedPayload{
							Return:     crm.OrderReturn{ID: id, OrderID: po.o.ID, Amount: amt},
							OrderTotal: po.o.Total, ReturnedTotal: po.returned, Currency: "USD"})
					}
				}
			case k == 6:
				d, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: reward.ID})
				if err == nil {
					reserved = append(reserved, d.ID)
				} else if crm.ErrorCode(err) != crm.ECONFLICT {
					t.Fatal(err)
				}
			case k == 7 && len(reserved) > 0:
				i := rng.IntN(len(reserved))
				var err error
				if rng.IntN(2) == 0 {
					_, err = e.svc.Capture(e.ctx, reserved[i])
				} else {
					_, err = e.svc.Cancel(e.ctx, reserved[i])
				}
				if err != nil {
					t.Fatal(err)
				}
				reserved = append(reserved[:i], reserved[i+1:]...)
			case k == 8:
				pts := int64(rng.IntN(200) - 100)
				if pts != 0 {
					if _, err := e.svc.Adjust(e.ctx, m.ID, club.Adjustment{Points: pts, Reason: "random"}); err != nil && crm.ErrorCode(err) != crm.ECONFLICT {
						t.Fatal(err)
					}
				}
			default:
				e.clk.Advance(time.Duration(rng.IntN(20*24)) * time.Hour)
				e.sweep()
			}
			probs, err := e.svc.Check(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(probs) > 0 {
				t.Fatalf("step %d: %v", step, probs)
			}
			for _, mm := range members {
				got := e.get(mm.ID)
				if got.Pending < 0 || got.Reserved < 0 || got.Available < -got.Debt {
					t.Fatalf("step %d: member %d balances %+v", step, mm.ID, got)
				}
			}
		}
		e.check()
	})
}

// TestReport: the monthly figures add up to the ledger, with the money
// value of what is outstanding.
func TestReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) {
			in.PendingDays, in.ExpiryMonths, in.PointValue, in.ValuePoints = 0, 1, 5, 100
		}) // 100 points = $0.05
		tiers(t, e, p)
		m := e.member(p, "Report")
		r, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "Mug", Kind: club.RewardFreeProduct, SKU: "MUG", Cost: 300})
		if err != nil {
			t.Fatal(err)
		}
		o := e.order(m, 10000, time.Time{}) // 2000 in March (base tier 2×)
		if _, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: r.ID, Capture: true}); err != nil {
			t.Fatal(err)
		}
		e.clk.Set(time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC))
		e.order(m, 6_000_00, time.Time{}) // 4900 × 2 × 10 + 1100 × 4 × 10 = 142000, tier up
		e.ret(o, 1000, 1000)              // 200 back
		e.clk.Set(time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC))
		e.sweep() // the 1500 left of March expire
		if _, err := e.svc.CreateCoupon(e.ctx, club.CouponInput{Code: "ONE", Kind: club.CouponPercent, Value: 5}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RedeemCoupon(e.ctx, club.CouponCheck{Code: "ONE", Amount: 100, Currency: "USD", Reference: "x"}); err != nil {
			t.Fatal(err)
		}
		rep, err := e.svc.Report(e.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Months) != 3 || rep.Months[0].Month != "2025-03" || rep.Months[0].Issued != 2000 || rep.Months[0].Redeemed != 300 ||
			rep.Months[0].Outstanding != 1700 || rep.Months[1].Issued != 142000 || rep.Months[1].Reversed != 200 || rep.Months[2].Expired != 1500 ||
			rep.Months[2].Outstanding != 142000 || rep.Months[2].Value != 7100 {
			t.Fatalf("months %+v", rep.Months)
		}
		if rep.Outstanding != e.get(m.ID).Available || rep.Value != rep.Outstanding*5/100 || rep.RateBP != 300*10000/rep.Issued {
			t.Fatalf("outstanding %d value %d rate %d", rep.Outstanding, rep.Value, rep.RateBP)
		}
		if len(rep.TopRewards) != 1 || rep.TopRewards[0].Redemptions != 1 || len(rep.Movements) != 1 || rep.Movements[0].Up != 1 {
			t.Fatalf("rewards %+v movements %+v", rep.TopRewards, rep.Movements)
		}
		if len(rep.Coupons) != 1 || rep.Coupons[0].Code != "ONE" || rep.Coupons[0].Uses != 1 || rep.Coupons[0].Discount != 5 {
			t.Fatalf("coupons %+v", rep.Coupons)
		}
		var members int64
		for _, tm := range rep.Tiers {
			members += tm.Members
		}
		if members != 1 {
			t.Fatalf("tiers %+v", rep.Tiers)
		}
	})
}
