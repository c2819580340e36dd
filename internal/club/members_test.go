package club_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestEnrolByCustomer: staff and the API enrol a person named by phone,
// email or name: found when known, created otherwise, in the enrolment's
// transaction.
func TestEnrolByCustomer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(nil)
		known, err := e.contacts.CreateContact(e.ctx, &crm.Contact{FirstName: "Sara", LastName: "Rezaei",
			Phones: []crm.Labeled{{Value: "09121234567"}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p.ID, Customer: &crm.CustomerRef{Phone: "۰۹۱۲ ۱۲۳ ۴۵۶۷"}})
		if err != nil || r.Member.ContactID != known.ID || r.NewPerson {
			t.Fatalf("known by phone: %+v %v", r, err)
		}
		r, err = e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p.ID, Customer: &crm.CustomerRef{Phone: "09351112233", FirstName: "Nima", LastName: "Ahmadi"}})
		if err != nil || !r.NewPerson || r.Member.ContactID == known.ID {
			t.Fatalf("new person: %+v %v", r, err)
		}
		d, err := e.svc.Member(e.ctx, r.Member.ID)
		if err != nil || d.Name != "Nima Ahmadi" {
			t.Fatalf("new person's member: %+v %v", d, err)
		}
		for _, bad := range []struct {
			in    club.Enrolment
			field string
		}{
			{club.Enrolment{ProgramID: p.ID, Customer: &crm.CustomerRef{Phone: "12"}}, "customer.phone"},
			{club.Enrolment{ProgramID: p.ID, Customer: &crm.CustomerRef{}}, "customer"},
			{club.Enrolment{ProgramID: p.ID, ContactID: known.ID, Customer: &crm.CustomerRef{Phone: "09121234567"}}, "customer"},
			{club.Enrolment{ProgramID: p.ID}, "contact_id"},
		} {
			_, err := e.svc.Enrol(e.ctx, bad.in)
			if crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)[bad.field] == "" {
				t.Errorf("%+v: %v (fields %v), want an error on %s", bad.in.Customer, err, crm.ErrorFields(err), bad.field)
			}
		}
	})
}

// TestJoin: the public join form works only for a program with signup
// on; it shows the private page only to a person new to the CRM, and
// answers a known phone or a member the same neutral way.
func TestJoin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		closed := e.program(nil)
		open := e.program(func(in *club.ProgramInput) { in.Name, in.Signup, in.RefereePoints = "Open", true, 10 })
		if _, err := e.svc.PublicProgram(e.ctx, closed.ID); code(t, err) != crm.ENOTFOUND {
			t.Fatalf("closed program's form: %v", err)
		}
		if _, err := e.svc.Join(e.ctx, club.JoinRequest{ProgramID: closed.ID, FirstName: "A", Phone: "09121110000"}); code(t, err) != crm.ENOTFOUND {
			t.Fatalf("join a closed program: %v", err)
		}
		if _, err := e.svc.Join(e.ctx, club.JoinRequest{ProgramID: open.ID}); code(t, err) != crm.EINVALID ||
			crm.ErrorFields(err)["phone"] == "" || crm.ErrorFields(err)["first_name"] == "" {
			t.Fatalf("empty form: %v", err)
		}
		if _, err := e.svc.Join(e.ctx, club.JoinRequest{ProgramID: open.ID, FirstName: "A", Phone: "not a phone"}); code(t, err) != crm.EINVALID ||
			crm.ErrorFields(err)["phone"] == "" {
			t.Fatalf("bad phone: %v %v", err, crm.ErrorFields(err))
		}
		ref := e.member(open, "Referrer")
		j, err := e.svc.Join(e.ctx, club.JoinRequest{ProgramID: open.ID, FirstName: "Laleh", LastName: "Moradi", Phone: "09127778899",
			Email: "laleh@example.com", ReferralCode: ref.ReferralCode})
		if err != nil || j.Token == "" {
			t.Fatalf("a new person joins: %+v %v", j, err)
		}
		d, err := e.svc.MemberByToken(e.ctx, j.Token)
		if err != nil || d.Name != "Laleh Moradi" || d.Member.EnrolledVia != club.ViaWeb || d.Member.ReferredBy != ref.ID {
			t.Fatalf("joined member: %+v %v", d, err)
		}
		// The same phone again (a member now), and a known person's phone:
		// no page, no error.
		if j, err := e.svc.Join(e.ctx, club.JoinRequest{ProgramID: open.ID, FirstName: "X", Phone: "0912 777 8899"}); err != nil || j.Token != "" {
			t.Fatalf("member joins again: %+v %v", j, err)
		}
		known := e.person("Known", "fa", "")
		if _, err := e.contacts.UpdateContact(e.ctx, known, crm.ContactUpdate{Phones: &[]crm.Labeled{{Value: "09125554433"}}}); err != nil {
			t.Fatal(err)
		}
		j, err = e.svc.Join(e.ctx, club.JoinRequest{ProgramID: open.ID, FirstName: "Someone", Phone: "09125554433"})
		if err != nil || j.Token != "" {
			t.Fatalf("a known person's phone: %+v %v", j, err)
		}
		ms, err := e.svc.MembersOfContact(e.ctx, known)
		if err != nil || len(ms) != 1 || ms[0].EnrolledVia != club.ViaWeb {
			t.Fatalf("the known person is enrolled (staff give the link): %+v %v", ms, err)
		}
	})
}

// TestPaidTier: a paid year in a tier with a fee makes the member earn
// at it; a renewal adds a year; the recomputation follows the sales.
func TestPaidTier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.EarnPoints, in.EarnAmount, in.PendingDays = 1, 100, 0 })
		ts := tiers(t, e, p)
		gold, err := e.svc.SaveTier(e.ctx, p.ID, ts["Gold"].ID, club.TierInput{Name: "Gold", Threshold: 10_000_00, Multiplier: 600, Fee: 50_00})
		if err != nil {
			t.Fatal(err)
		}
		m := e.member(p, "Paid")
		e.order(m, 100_00, time.Time{}) // Base: 100 × 2
		if _, err := e.svc.SellPaidTier(e.ctx, m.ID, ts["Silver"].ID); code(t, err) != crm.EINVALID {
			t.Fatalf("a tier without a fee: %v", err)
		}
		got, err := e.svc.SellPaidTier(e.ctx, m.ID, gold.ID)
		if err != nil || got.PaidTierID != gold.ID || !got.PaidUntil.Equal(e.now().AddDate(1, 0, 0)) {
			t.Fatalf("sold: %+v %v", got, err)
		}
		e.order(m, 100_00, time.Time{}) // Gold while paid: 100 × 6
		e.balances(m.ID, 200+600, 0, 0)
		d, err := e.svc.Member(e.ctx, m.ID)
		if err != nil || d.Tier.ID != gold.ID {
			t.Fatalf("effective tier: %+v %v", d.Tier, err)
		}
		e.clk.Advance(200 * day)
		if got, err = e.svc.SellPaidTier(e.ctx, m.ID, gold.ID); err != nil || !got.PaidUntil.Equal(time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)) {
			t.Fatalf("renewed: %+v %v", got, err)
		}
		e.clk.Set(time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC)) // both years over
		e.order(m, 100_00, time.Time{})                        // Base again: 100 × 2
		e.balances(m.ID, 200+600+200, 0, 0)
		e.check()
	})
}

// TestCouponMinSpendCurrency: a minimum spend needs its currency.
func TestCouponMinSpendCurrency(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	e := newEnv(t, db)
	_, err := e.svc.CreateCoupon(e.ctx, club.CouponInput{Code: "TWENTY", Kind: club.CouponPercent, Value: 20, MinSpend: 2_000_000})
	if crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)["currency"] == "" {
		t.Fatalf("min spend without a currency: %v", err)
	}
	c, err := e.svc.CreateCoupon(e.ctx, club.CouponInput{Code: "TWENTY", Kind: club.CouponPercent, Value: 20, MinSpend: 2_000_000, Currency: "irr"})
	if err != nil || c.Currency != "IRR" {
		t.Fatalf("with IRR: %+v %v", c, err)
	}
	v, err := e.svc.ValidateCoupon(e.ctx, club.CouponCheck{Code: "twenty", Amount: 2_500_000, Currency: "IRR"})
	if err != nil || !v.Valid || v.Discount != 500_000 {
		t.Fatalf("2,500,000 IRR: %+v %v", v, err)
	}
}

// TestAdjustAudited: a manual adjustment needs a reason; the reason and
// the user are kept in the ledger entry and in the audit log.
func TestAdjustAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays = 0 })
		m := e.member(p, "Audited")
		staff := crm.NewContextWithUser(e.ctx, &crm.User{ID: 42, Role: crm.RoleManager, Active: true})
		if _, err := e.svc.Adjust(staff, m.ID, club.Adjustment{Points: 250, Reason: "  "}); code(t, err) != crm.EINVALID || crm.ErrorFields(err)["reason"] == "" {
			t.Fatalf("a blank reason: %v", err)
		}
		if _, err := e.svc.Adjust(staff, m.ID, club.Adjustment{Points: 250, Reason: "paper card moved over"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Adjust(staff, m.ID, club.Adjustment{Points: -50, Reason: "typo at the till"}); err != nil {
			t.Fatal(err)
		}
		es, _, err := e.svc.History(e.ctx, m.ID, crm.Page{})
		if err != nil || len(es) != 2 || es[0].Reason != "typo at the till" || es[0].ActorID != 42 || es[0].Points != -50 || es[1].Points != 250 {
			t.Fatalf("ledger %+v %v", es, err)
		}
		var audit []*crm.AuditEntry
		if err := db.Read(e.ctx, func(tx *store.Tx) error {
			var err error
			audit, _, err = tx.ListAudit(e.ctx, crm.AuditFilter{Action: "club.adjust", EntityType: "club_member", EntityID: m.ID})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(audit) != 2 || audit[0].ActorID != 42 || !strings.Contains(string(audit[0].After), "typo at the till") {
			t.Fatalf("audit %+v", audit)
		}
		e.balances(m.ID, 200, 0, 0)
		e.check()
	})
}

// TestCouponTerms: each term of a code refuses with its reason, and the
// discount is the percent of the amount or the fixed value (at most the
// amount).
func TestCouponTerms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		now := e.now()
		later, past := now.Add(48*time.Hour), now.Add(-time.Hour)
		for _, in := range []club.CouponInput{
			{Code: "SOON", Kind: club.CouponPercent, Value: 10, StartsAt: &later},
			{Code: "OVER", Kind: club.CouponPercent, Value: 10, EndsAt: &past},
			{Code: "BIG", Kind: club.CouponPercent, Value: 15, MinSpend: 100_00, Currency: "USD"},
			{Code: "FIX", Kind: club.CouponFixed, Value: 30_00, Currency: "USD"},
			{Code: "OFF", Kind: club.CouponPercent, Value: 10},
		} {
			if _, err := e.svc.CreateCoupon(e.ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		cs, _, err := e.svc.Coupons(e.ctx, club.CouponFilter{Single: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Code == "OFF" {
				if _, err := e.svc.SetCouponActive(e.ctx, c.ID, false); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tc := range []struct {
			code     string
			amount   int64
			currency string
			reason   string
			discount int64
		}{
			{"SOON", 50_00, "USD", "not_started", 0},
			{"OVER", 50_00, "USD", "ended", 0},
			{"BIG", 99_99, "USD", "min_spend", 0},
			{"BIG", 200_00, "EUR", "currency", 0},
			{"BIG", 200_00, "USD", "", 30_00},
			{"FIX", 20_00, "USD", "", 20_00},
			{"FIX", 50_00, "USD", "", 30_00},
			{"OFF", 50_00, "USD", "inactive", 0},
			{"NONE", 50_00, "USD", "unknown", 0},
		} {
			v, err := e.svc.ValidateCoupon(e.ctx, club.CouponCheck{Code: tc.code, Amount: tc.amount, Currency: tc.currency})
			if err != nil || v.Reason != tc.reason || v.Valid != (tc.reason == "") || v.Discount != tc.discount {
				t.Errorf("%s on %d %s: %+v %v, want reason %q discount %d", tc.code, tc.amount, tc.currency, v, err, tc.reason, tc.discount)
			}
			if tc.reason != "" {
				_, err := e.svc.RedeemCoupon(e.ctx, club.CouponCheck{Code: tc.code, Amount: tc.amount, Currency: tc.currency})
				if crm.ErrorCode(err) != crm.ECONFLICT || crm.ErrorFields(err)["code"] != tc.reason {
					t.Errorf("redeem %s: %v, want a refusal for %s", tc.code, err, tc.reason)
				}
			}
		}
	})
}

// TestRewardValidity: a reward outside its dates, or switched off, cannot
// be redeemed; the voucher a captured reward issues ends valid_days later.
func TestRewardValidity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays = 0 })
		m := e.member(p, "Valid")
		e.order(m, 100_00, time.Time{}) // 1000 points
		later, past := e.now().Add(24*time.Hour), e.now().Add(-time.Hour)
		off := false
		for _, in := range []club.RewardInput{
			{ProgramID: p.ID, Name: "Soon", Kind: club.RewardGiftCard, Value: 100, Cost: 10, StartsAt: &later},
			{ProgramID: p.ID, Name: "Over", Kind: club.RewardGiftCard, Value: 100, Cost: 10, EndsAt: &past},
			{ProgramID: p.ID, Name: "Off", Kind: club.RewardGiftCard, Value: 100, Cost: 10, Active: &off},
		} {
			r, err := e.svc.CreateReward(e.ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: r.ID}); code(t, err) != crm.ECONFLICT {
				t.Errorf("%s: %v", in.Name, err)
			}
		}
		r, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "Now", Kind: club.RewardCoupon, Percent: 20, Cost: 10, ValidDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: r.ID, Capture: true})
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.svc.ValidateCoupon(e.ctx, club.CouponCheck{Code: d.CouponCode, ContactID: m.ContactID, Amount: 50_00, Currency: "USD"})
		if err != nil || !v.Valid || v.Discount != 10_00 || v.Coupon.EndsAt == nil || !v.Coupon.EndsAt.Equal(e.now().AddDate(0, 0, 30)) {
			t.Fatalf("voucher %+v %v", v, err)
		}
		e.clk.Advance(31 * day)
		if v, err := e.svc.ValidateCoupon(e.ctx, club.CouponCheck{Code: d.CouponCode, ContactID: m.ContactID, Amount: 50_00, Currency: "USD"}); err != nil || v.Reason != "ended" {
			t.Fatalf("voucher after 31 days: %+v %v", v, err)
		}
		e.balances(m.ID, 990, 0, 0)
		e.check()
	})
}

// TestCouponUnknownPerson: a check or use for a person who does not exist
// (a mistyped member number read as a contact number at the till) is
// refused on contact_id, not judged as a stranger with no uses, which let
// a per-person limit pass.
func TestCouponUnknownPerson(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		if _, err := e.svc.CreateCoupon(e.ctx, club.CouponInput{Code: "ONCE", Kind: club.CouponPercent, Value: 10, PerMemberLimit: 1}); err != nil {
			t.Fatal(err)
		}
		in := club.CouponCheck{Code: "ONCE", Amount: 50_00, Currency: "USD", ContactID: 5628577397}
		if v, err := e.svc.ValidateCoupon(e.ctx, in); crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)["contact_id"] == "" {
			t.Errorf("validate for nobody: %+v %v, want 422 on contact_id", v, err)
		}
		if u, err := e.svc.RedeemCoupon(e.ctx, in); crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)["contact_id"] == "" {
			t.Errorf("redeem for nobody: %+v %v, want 422 on contact_id", u, err)
		}
		// A real person still can, once.
		in.ContactID = e.person("Real", "fa", "")
		if v, err := e.svc.ValidateCoupon(e.ctx, in); err != nil || !v.Valid {
			t.Fatalf("validate: %+v %v", v, err)
		}
		if _, err := e.svc.RedeemCoupon(e.ctx, in); err != nil {
			t.Fatal(err)
		}
	})
}
