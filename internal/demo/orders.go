package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
)

// OrdersResult counts what FillOrders added.
type OrdersResult struct {
	Program bool // a club program was made (there was none)
	Tiers   int
	Rules   int
	Rewards int
	Members int // people enrolled
	Buyers  int // people with at least one of the new orders
	Orders  int
	Returns int
}

// menuItem is a line a café's till sends.
type menuItem struct {
	sku, name, category string
	price               int64 // rials
}

// demoMenu is what the café sells; BEAN-AR is also the sales catalogue's.
var demoMenu = []menuItem{
	{"ESP", "Espresso", "coffee", 1_200_000},
	{"LAT", "Latte", "coffee", 1_800_000},
	{"CAP", "Cappuccino", "coffee", 1_700_000},
	{"TEA", "Saffron tea", "tea", 900_000},
	{"CAKE", "Carrot cake", "food", 2_500_000},
	{"SAND", "Halloumi sandwich", "food", 3_900_000},
	{"BEAN-AR", "Arabica beans, 1 kg", "beans", 9_500_000},
}

var demoBranches = []string{"Tajrish", "Vanak", "Enghelab"}

// DemoOrdersMaxAge is how far back FillOrders places orders.
const DemoOrdersMaxAge = 730 * 24 * time.Hour

// FillOrders gives the orders, club and analytics pages something to
// show: a café's customer club (when there is no program: 1 point per
// 100,000 rials, a 14-day return window, 12-month expiry, three tiers,
// a welcome, a coffee and a birthday rule, three rewards), some of the
// people enrolled (regulars more often), and n orders over the last two
// years from the people already stored. Each buyer has habits: how often
// they come (most once or twice, a few weekly), the period they buy in
// (most stop after a while) and how much they take; about one order in
// forty is returned. Everything goes through the order and club
// services, as a till or the API would: orders, returns and enrolments
// are audited and write their events, from which the club's subscriber
// awards the points (in the server, or in `pivand demo` right after).
// progress, when not nil, is called as orders are added.
func FillOrders(ctx context.Context, contacts *contact.Service, orders *order.Service, cl *club.Service, n int, seed int64, now time.Time, progress func(done, total int)) (OrdersResult, error) {
	var res OrdersResult
	if n <= 0 {
		return res, nil
	}
	if now.IsZero() {
		now = time.Now()
	}
	prog, err := demoProgram(ctx, cl, &res)
	if err != nil {
		return res, err
	}

	// The buyers: up to two in five orders' worth of the people stored.
	want := max(1, n*2/5)
	var buyers []int64
	for after := ""; len(buyers) < want; {
		cs, next, err := contacts.ListContacts(ctx, crm.ContactFilter{Limit: 500, After: after})
		if err != nil {
			return res, err
		}
		for _, c := range cs {
			if len(buyers) < want {
				buyers = append(buyers, c.ID)
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(buyers) == 0 {
		return res, crm.Errorf(crm.EINVALID, "There are no people to place orders: add people first.")
	}

	// Each buyer's habits: how often they come (lognormal, so most buy
	// once or twice and a few regulars weekly), the period they buy in
	// (most stop after a while, as real customers do, which the churn
	// model then sees) and how much they take. Members: the regulars more
	// often.
	g := New(seed, 0)
	habits := make([]buyerHabit, len(buyers))
	cum := make([]float64, len(buyers))
	total := 0.0
	for i, id := range buyers {
		r := g.rng(4, uint64(id))
		h := buyerHabit{ref: crm.CustomerRef{ContactID: id}, basket: math.Exp(0.5 * r.NormFloat64())}
		w := math.Exp(1.2 * r.NormFloat64())
		h.first = time.Duration(math.Pow(r.Float64(), 0.7) * float64(DemoOrdersMaxAge))
		h.last = max(0, h.first-time.Duration(r.ExpFloat64()*300*24*float64(time.Hour)))
		if r.IntN(4) == 0 {
			h.last = 0 // still buying
		}
		// The rate is per day of the buyer's period: a short period
		// with the same rate has fewer orders.
		total += w * (h.first - h.last).Hours()
		cum[i] = total
		habits[i] = h
		if prog == nil || r.Float64() > 0.25+0.5*min(1, w/4) {
			continue
		}
		e, err := cl.Enrol(ctx, club.Enrolment{ProgramID: prog.ID, ContactID: id})
		if err != nil {
			if crm.ErrorCode(err) == crm.ECONFLICT {
				continue // already a member
			}
			return res, fmt.Errorf("enrol person %d: %w", id, err)
		}
		habits[i].ref = crm.CustomerRef{MemberNumber: e.Member.Number}
		res.Members++
	}
	for i := range cum {
		cum[i] /= total
	}
	var bought sync.Map

	// Orders, from a few tills at once (the order service commits
	// concurrent orders together). Each order's content depends only on
	// the seed and its number.
	run := now.Unix()
	var (
		next, done, returns atomic.Int64
		once                sync.Once
		ferr                error
		wg                  sync.WaitGroup
		mu                  sync.Mutex
	)
	for range 8 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) || ctx.Err() != nil {
					return
				}
				r := g.rng(5, uint64(i))
				b, _ := slices.BinarySearch(cum, r.Float64())
				b = min(b, len(habits)-1)
				bought.Store(b, true)
				in := demoOrder(r, habits[b], run, i, now)
				o, _, err := orders.Create(ctx, in)
				if err == nil && r.IntN(40) == 0 {
					_, _, err = orders.Return(ctx, o.ID, order.ReturnInput{Source: "demo", ExternalID: in.ExternalID + "-r",
						Reason: pick(r, crm.ReturnReasons)})
					if err == nil {
						returns.Add(1)
					}
				}
				if err != nil {
					once.Do(func() { ferr = fmt.Errorf("order %d: %w", i, err) })
					return
				}
				d := done.Add(1)
				if progress != nil && (d%100 == 0 || d == int64(n)) {
					mu.Lock()
					progress(int(d), n)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	res.Orders, res.Returns = int(done.Load()), int(returns.Load())
	bought.Range(func(any, any) bool { res.Buyers++; return true })
	if ferr == nil {
		ferr = ctx.Err()
	}
	return res, ferr
}

// buyerHabit is how one buyer shops: who, when they first and last buy
// (ages before now), and a basket size factor around 1.
type buyerHabit struct {
	ref         crm.CustomerRef
	first, last time.Duration
	basket      float64
}

// demoOrder is order number i of buyer h: a time in their period, in
// opening hours; channel, branch and lines.
func demoOrder(r *rand.Rand, h buyerHabit, run, i int64, now time.Time) order.Input {
	buyer := h.ref
	age := h.last + time.Duration(r.Float64()*float64(h.first-h.last))
	at := now.Add(-age)
	at = time.Date(at.Year(), at.Month(), at.Day(), 8+r.IntN(13), r.IntN(60), r.IntN(60), 0, time.UTC)
	if at.After(now) {
		at = at.AddDate(0, 0, -1)
	}
	in := order.Input{Source: "demo", ExternalID: fmt.Sprintf("demo-%d-%d", run, i), Customer: buyer,
		Currency: "IRR", PlacedAt: &at}
	switch c := r.IntN(20); {
	case c < 14:
		in.Channel, in.Store = crm.ChannelInStore, pick(r, demoBranches)
	case c < 17:
		in.Channel, in.Store = crm.ChannelWeb, "Online shop"
	case c < 19:
		in.Channel = crm.ChannelTelegram
	default:
		in.Channel = crm.ChannelPhone
	}
	seen := map[string]bool{}
	for range 1 + r.IntN(1+int(2*h.basket+0.5)) {
		m := demoMenu[r.IntN(len(demoMenu))]
		if in.Channel == crm.ChannelWeb && r.IntN(2) == 0 {
			m = demoMenu[len(demoMenu)-1] // the web shop sells beans
		}
		if seen[m.sku] {
			continue
		}
		seen[m.sku] = true
		in.Lines = append(in.Lines, order.LineInput{SKU: m.sku, Name: m.name, Category: m.category,
			Quantity: int64(1 + r.IntN(1+int(2*h.basket))), UnitPrice: m.price})
	}
	return in
}

// demoProgram returns the first active program in rials, or makes the
// café's club when there is no program at all (nil when there are
// programs but none in rials: orders are then not enrolled).
func demoProgram(ctx context.Context, cl *club.Service, res *OrdersResult) (*club.Program, error) {
	ps, err := cl.Programs(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Active && p.Currency == "IRR" {
			return p, nil
		}
	}
	if len(ps) > 0 {
		return nil, nil
	}
	p, err := cl.CreateProgram(ctx, club.ProgramInput{Name: "Café club", Currency: "IRR", EarnPoints: 1, EarnAmount: 100_000,
		PendingDays: 14, ExpiryMonths: 12, ReminderDays: 30, TierWindow: club.WindowRolling, Downgrade: club.DowngradeWindowEnd,
		GraceDays: 30, PointValue: 5_000, ValuePoints: 1, ReferrerPoints: 200, RefereePoints: 100, Signup: true})
	if err != nil {
		return nil, fmt.Errorf("club program: %w", err)
	}
	res.Program = true
	for _, t := range []club.TierInput{{Name: "Bronze", Threshold: 0, Multiplier: 100}, {Name: "Silver", Threshold: 150_000_000, Multiplier: 150},
		{Name: "Gold", Threshold: 500_000_000, Multiplier: 200}} {
		if _, err := cl.SaveTier(ctx, p.ID, 0, t); err != nil {
			return nil, fmt.Errorf("tier %s: %w", t.Name, err)
		}
		res.Tiers++
	}
	for _, r := range []club.RuleInput{{Name: "Welcome", Kind: club.RuleFirstPurchase, Value: 50, Priority: 10},
		{Name: "Coffee lovers", Kind: club.RuleBonus, Value: 2, Category: "coffee", Priority: 5},
		{Name: "Birthday month", Kind: club.RuleBirthday, Value: 100, Priority: 1}} {
		if _, err := cl.SaveRule(ctx, p.ID, 0, r); err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		res.Rules++
	}
	for _, in := range []club.RewardInput{
		{ProgramID: p.ID, Name: "Free latte", Kind: club.RewardFreeProduct, SKU: "LAT", Cost: 360, ValidDays: 30},
		{ProgramID: p.ID, Name: "15% off your next order", Kind: club.RewardCoupon, Percent: 15, Cost: 500, ValidDays: 30, PerMemberLimit: 2},
		{ProgramID: p.ID, Name: "Gift card, 10,000,000 rials", Kind: club.RewardGiftCard, Value: 10_000_000, Cost: 2_000, ValidDays: 90},
	} {
		if _, err := cl.CreateReward(ctx, in); err != nil {
			return nil, fmt.Errorf("reward %s: %w", in.Name, err)
		}
		res.Rewards++
	}
	return p, nil
}
