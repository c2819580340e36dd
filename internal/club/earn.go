package club

import (
	"math"
	"math/big"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Rule kinds.
const (
	RuleMultiplier    = "multiplier"     // (Value/100 − 1) more base-rate points on the matched amount
	RuleBonus         = "bonus"          // Value points per order, or per unit of matching lines
	RuleFirstPurchase = "first_purchase" // Value points on the member's first earning order
	RuleBirthday      = "birthday"       // Value points on orders in the person's birthday month
)

// RuleKinds lists the rule kinds.
var RuleKinds = []string{RuleMultiplier, RuleBonus, RuleFirstPurchase, RuleBirthday}

// Stacking of a rule: stack lets the rules after it apply too; stop ends
// the evaluation after it applies (rules before it still count).
const (
	StackingStack = "stack"
	StackingStop  = "stop"
)

// Rounding of money→points.
const (
	RoundDown    = "down"
	RoundNearest = "nearest"
	RoundUp      = "up"
)

// earnOrder is what the earn calculation reads of an order.
type earnOrder struct {
	Total    int64 // the amount paid, minor units
	Subtotal int64 // sum of line totals
	Lines    []crm.OrderLine
	PlacedAt time.Time
}

// earnState is what it reads of the member at the time of the order.
type earnState struct {
	Held        *Tier // the tier the member holds (by policy or paid); nil: none
	SpendBefore int64 // qualifying spend in the window before this order
	First       bool  // no order has earned for this member yet
	BirthMonth  int   // 1-12, 0 unknown
}

// segment is a part of an order's amount earned at one tier.
type segment struct {
	Amount     int64 `json:"amount"`
	TierID     int64 `json:"tier_id,omitempty"`
	Multiplier int64 `json:"multiplier"`
}

// appliedRule is a rule that added points.
type appliedRule struct {
	RuleID int64  `json:"rule_id"`
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Points int64  `json:"points,omitempty"` // fixed bonuses; multipliers are in the rounded total
}

// earnResult is the points of one order and how they came about.
type earnResult struct {
	Points    int64         `json:"points"`
	Segments  []segment     `json:"segments"`
	Rules     []appliedRule `json:"rules,omitempty"`
	Qualified *Tier         `json:"-"` // the tier the spend after the order qualifies for
}

// tierFor returns the highest tier whose threshold spend reaches, or nil.
func tierFor(tiers []*Tier, spend int64) *Tier {
	var out *Tier
	for _, t := range tiers {
		if t.Threshold <= spend {
			out = t
		}
	}
	return out
}

// higher returns the tier with the higher threshold (nil is lowest).
func higher(a, b *Tier) *Tier {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Threshold > a.Threshold:
		return b
	}
	return a
}

func multiplierOf(t *Tier) int64 {
	if t == nil {
		return 100
	}
	return t.Multiplier
}

// computeEarn works out the points of an order. It is pure: the live
// handler and the recomputation that checks the ledger both call it.
//
// The base is the order's total at the program's rate times the tier
// multiplier, the total split where the qualifying spend crosses a tier
// threshold (the part below at the old tier's multiplier, the part above
// at the new one's; never below the tier the member holds). Rules are
// then evaluated highest priority first: a multiplier rule adds
// (Value/100 − 1) times the base rate (without the tier multiplier) on
// the amount it matches; bonus, first-purchase and birthday rules add
// fixed points. A rule whose stacking is stop ends the evaluation. The
// rate-based parts are summed exactly and rounded once, by the program's
// rounding rule; fixed bonuses are added after.
func computeEarn(c *config, st earnState, o earnOrder) earnResult {
	var res earnResult
	p := c.prog
	res.Qualified = higher(st.Held, tierFor(c.tiers, st.SpendBefore+max(o.Total, 0)))
	if o.Total <= 0 || p.EarnAmount <= 0 {
		return res
	}
	raw := new(big.Int) // money × hundredths
	var tmp big.Int
	add := func(amount, hundredths int64) {
		tmp.SetInt64(amount)
		tmp.Mul(&tmp, big.NewInt(hundredths))
		raw.Add(raw, &tmp)
	}

	// Base, split at tier thresholds.
	s, left := max(st.SpendBefore, 0), o.Total
	for left > 0 {
		eff := higher(st.Held, tierFor(c.tiers, s))
		seg := left
		for _, t := range c.tiers {
			if t.Threshold > s {
				if d := t.Threshold - s; d < seg {
					seg = d
				}
				break
			}
		}
		m := multiplierOf(eff)
		add(seg, m)
		if n := len(res.Segments); n > 0 && res.Segments[n-1].Multiplier == m && res.Segments[n-1].TierID == tierID(eff) {
			res.Segments[n-1].Amount += seg
		} else {
			res.Segments = append(res.Segments, segment{Amount: seg, TierID: tierID(eff), Multiplier: m})
		}
		s += seg
		left -= seg
	}

	// Rules.
	startTier := higher(st.Held, tierFor(c.tiers, max(st.SpendBefore, 0)))
	var fixed int64
	for _, r := range c.rules {
		if !ruleApplies(r, st, o, startTier) {
			continue
		}
		amount, units, ok := matched(r, o)
		if !ok {
			continue
		}
		ap := appliedRule{RuleID: r.ID, Name: r.Name, Kind: r.Kind}
		switch r.Kind {
		case RuleMultiplier:
			add(amount, r.Value-100)
		case RuleBonus:
			pts := r.Value
			if r.SKU != "" || r.Category != "" {
				pts = satMul(r.Value, units)
			}
			ap.Points = pts
			fixed = satAdd(fixed, pts)
		case RuleFirstPurchase, RuleBirthday:
			ap.Points = r.Value
			fixed = satAdd(fixed, r.Value)
		}
		res.Rules = append(res.Rules, ap)
		if r.Stacking == StackingStop {
			break
		}
	}

	// raw × EarnPoints / (EarnAmount × 100), rounded.
	num := new(big.Int).Mul(raw, big.NewInt(p.EarnPoints))
	den := new(big.Int).Mul(big.NewInt(p.EarnAmount), big.NewInt(100))
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Sign() > 0 {
		switch p.Rounding {
		case RoundUp:
			q.Add(q, big.NewInt(1))
		case RoundNearest:
			if new(big.Int).Mul(r, big.NewInt(2)).Cmp(den) >= 0 {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	base := int64(math.MaxInt64)
	if q.IsInt64() {
		base = q.Int64()
	}
	res.Points = satAdd(base, fixed)
	return res
}

func tierID(t *Tier) int64 {
	if t == nil {
		return 0
	}
	return t.ID
}

// ruleApplies checks a rule's conditions other than the lines it matches.
func ruleApplies(r *Rule, st earnState, o earnOrder, tier *Tier) bool {
	switch {
	case !r.Active:
		return false
	case r.StartsAt != nil && o.PlacedAt.Before(*r.StartsAt):
		return false
	case r.EndsAt != nil && !o.PlacedAt.Before(*r.EndsAt):
		return false
	case r.TierID != 0 && tierID(tier) != r.TierID:
		return false
	case r.MinSpend > 0 && o.Total < r.MinSpend:
		return false
	case r.Kind == RuleFirstPurchase && !st.First:
		return false
	case r.Kind == RuleBirthday && (st.BirthMonth == 0 || int(o.PlacedAt.Month()) != st.BirthMonth):
		return false
	}
	return true
}

// matched returns the amount (the lines' share of the total paid) and
// the units of the order's lines a rule's SKU or category matches; a rule
// with neither matches the whole order. ok is false when nothing matches.
func matched(r *Rule, o earnOrder) (amount, units int64, ok bool) {
	if r.SKU == "" && r.Category == "" {
		return o.Total, 0, true
	}
	var lines int64
	for _, l := range o.Lines {
		if (r.SKU == "" || l.SKU == r.SKU) && (r.Category == "" || l.Category == r.Category) {
			lines = satAdd(lines, l.Total)
			units = satAdd(units, l.Quantity)
			ok = true
		}
	}
	if !ok {
		return 0, 0, false
	}
	// The order-level discount is shared over the lines in proportion.
	if o.Subtotal > 0 && o.Total < o.Subtotal {
		lines = mulDiv(lines, o.Total, o.Subtotal)
	}
	return lines, units, true
}

// mulDiv returns a×b/c rounded down, without overflow for the product.
func mulDiv(a, b, c int64) int64 {
	x := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	x.Quo(x, big.NewInt(c))
	if !x.IsInt64() {
		return math.MaxInt64
	}
	return x.Int64()
}

func satAdd(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

func satMul(a, b int64) int64 {
	x := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	if !x.IsInt64() {
		return math.MaxInt64
	}
	return x.Int64()
}

// windowStart returns where the qualification window containing t
// starts: January 1st (UTC) of t's year, 1 Farvardin (Nowruz, at
// midnight in Tehran) of its Jalali year, or a year before t.
func windowStart(p *Program, t time.Time) time.Time {
	t = t.UTC()
	switch p.TierWindow {
	case WindowRolling:
		return t.AddDate(-1, 0, 0)
	case WindowJalaliYear:
		return nowruz(text.ToJalali(t.In(tehran)).Year)
	}
	return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
}

// windowEnd returns where the calendar window containing t ends (the
// next one starts): the next January 1st or the next Nowruz.
func windowEnd(p *Program, t time.Time) time.Time {
	t = t.UTC()
	if p.TierWindow == WindowJalaliYear {
		return nowruz(text.ToJalali(t.In(tehran)).Year + 1)
	}
	return time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
}

// tehran is where the Jalali year begins; without the time zone
// database, Iran's standard offset (UTC+3:30, no daylight saving since
// 2022).
var tehran = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Tehran"); err == nil {
		return l
	}
	return time.FixedZone("IRST", 3*3600+1800)
}()

// nowruz is midnight in Tehran of 1 Farvardin of Jalali year jy, in UTC.
func nowruz(jy int) time.Time {
	t, err := text.FromJalali(jy, 1, 1, tehran)
	if err != nil { // outside the calendar's range: never for real dates
		return time.Time{}
	}
	return t.UTC()
}

// Tier windows and downgrade policies.
const (
	WindowCalendarYear = "calendar_year"
	WindowJalaliYear   = "jalali_year" // from Nowruz to Nowruz, as Iranian shops count
	WindowRolling      = "rolling_12m"

	DowngradeNever     = "never"
	DowngradeWindowEnd = "window_end"
	DowngradeAfterDays = "after_days"
)
