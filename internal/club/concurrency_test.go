package club_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// race runs fn n times at once and counts the successes and the
// ECONFLICT refusals; any other error fails the test.
func race(t *testing.T, n int, fn func(i int) error) (ok, refused int) {
	t.Helper()
	var wg sync.WaitGroup
	var okN, refN atomic.Int64
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(i)
			switch crm.ErrorCode(err) {
			case "":
				okN.Add(1)
			case crm.ECONFLICT:
				refN.Add(1)
			default:
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(okN.Load()), int(refN.Load())
}

// TestConcurrentRedemptions: with balance B and a reward costing X, N > B/X
// redemptions at the same time succeed exactly ⌊B/X⌋ times, and the
// balance never goes below zero.
func TestConcurrentRedemptions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays = 0 })
		m := e.member(p, "Race")
		r, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "Voucher", Kind: club.RewardGiftCard, Value: 500, Cost: 300})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []int64{1000, 900, 299} {
			e.order(m, b*10, time.Time{}) // b points on top of what is left
			before := e.get(m.ID).Available
			n := 24
			ok, refused := race(t, n, func(i int) error {
				_, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: r.ID, Capture: i%2 == 0})
				return err
			})
			want := int(before / 300)
			if ok != want || refused != n-want {
				t.Fatalf("balance %d, cost 300, %d at once: %d succeeded, %d refused; want %d", before, n, ok, refused, want)
			}
			after := e.get(m.ID)
			if after.Available != before-int64(want)*300 || after.Available < 0 {
				t.Fatalf("available %d after %d redemptions from %d", after.Available, want, before)
			}
			e.check()
		}
	})
}

// TestConcurrentAdjustAndRedeem: negative adjustments and redemptions
// racing for the same points never take more than there is.
func TestConcurrentAdjustAndRedeem(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		p := e.program(func(in *club.ProgramInput) { in.PendingDays = 0 })
		m := e.member(p, "Mixed")
		r, err := e.svc.CreateReward(e.ctx, club.RewardInput{ProgramID: p.ID, Name: "Tea", Kind: club.RewardFreeProduct, SKU: "TEA", Cost: 100})
		if err != nil {
			t.Fatal(err)
		}
		e.order(m, 10000, time.Time{}) // 1000
		ok, _ := race(t, 30, func(i int) error {
			if i%3 == 0 {
				_, err := e.svc.Adjust(e.ctx, m.ID, club.Adjustment{Points: -100, Reason: "race " + strconv.Itoa(i)})
				return err
			}
			_, err := e.svc.Redeem(e.ctx, club.RedeemRequest{MemberID: m.ID, RewardID: r.ID})
			return err
		})
		if ok != 10 {
			t.Fatalf("%d of 30 took 100 points from 1000", ok)
		}
		e.balances(m.ID, 0, 0, e.get(m.ID).Reserved)
		e.check()
	})
}

// TestConcurrentCoupons: a code with a total limit of N admits exactly N
// uses however many try at once; a per-person limit holds the same way;
// the same reference used twice counts once.
func TestConcurrentCoupons(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		five, err := e.svc.CreateCoupon(e.ctx, club.CouponInput{Code: "spring-5", Kind: club.CouponPercent, Value: 10, MaxUses: 5})
		if err != nil {
			t.Fatal(err)
		}
		if five.Code != "SPRING-5" {
			t.Fatalf("code %q", five.Code)
		}
		ok, refused := race(t, 30, func(i int) error {
			_, err := e.svc.RedeemCoupon(e.ctx, club.CouponCheck{Code: "spring-5", Amount: 10000, Currency: "USD", Reference: "till:" + strconv.Itoa(i)})
			return err
		})
		if ok != 5 || refused != 25 {
			t.Fatalf("limit 5: %d used, %d refused", ok, refused)
		}
		perPerson, err := e.svc.CreateCoupon(e.ctx, club.CouponInput{Kind: club.CouponFixed, Value: 500, Currency: "USD", PerMemberLimit: 2})
		if err != nil {
			t.Fatal(err)
		}
		who := e.person("Coupon", "en", "")
		ok, refused = race(t, 20, func(i int) error {
			_, err := e.svc.RedeemCoupon(e.ctx, club.CouponCheck{Code: perPerson.Code, ContactID: who, Amount: 300, Currency: "USD", Reference: "web:" + strconv.Itoa(i)})
			return err
		})
		if ok != 2 || refused != 18 {
			t.Fatalf("per person 2: %d used, %d refused", ok, refused)
		}
		// The same reference again and again: one use.
		once, err := e.svc.CreateCoupon(e.ctx, club.CouponInput{Kind: club.CouponPercent, Value: 50, MaxUses: 100})
		if err != nil {
			t.Fatal(err)
		}
		ok, _ = race(t, 10, func(i int) error {
			u, err := e.svc.RedeemCoupon(e.ctx, club.CouponCheck{Code: once.Code, Amount: 1000, Currency: "USD", Reference: "pos:77"})
			if err == nil && u.Discount != 500 {
				t.Errorf("discount %d", u.Discount)
			}
			return err
		})
		cs, _, err := e.svc.Coupons(e.ctx, club.CouponFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			want := map[int64]int64{five.ID: 5, perPerson.ID: 2, once.ID: 1}[c.ID]
			if c.Uses != want {
				t.Errorf("coupon %s: %d uses, want %d", c.Code, c.Uses, want)
			}
		}
		if ok != 10 {
			t.Fatalf("replays of one reference: %d of 10 answered", ok)
		}
	})
}
