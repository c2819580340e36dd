package club

import (
	"math"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

func testConfig(mod func(*Program)) *config {
	p := &Program{ID: 1, Currency: "USD", EarnPoints: 1, EarnAmount: 100, Rounding: RoundDown, TierWindow: WindowCalendarYear}
	if mod != nil {
		mod(p)
	}
	return &config{prog: p}
}

// TestRounding: money → points with int64 minor units and each rounding
// rule; 1 point per 10,000 rials and 10 points per dollar.
func TestRounding(t *testing.T) {
	tests := []struct {
		currency       string
		points, amount int64
		total          int64
		down, near, up int64
	}{
		{"IRR", 1, 10_000, 25_000, 2, 3, 3},
		{"IRR", 1, 10_000, 24_999, 2, 2, 3},
		{"IRR", 1, 10_000, 20_000, 2, 2, 2},
		{"IRR", 1, 10_000, 9_999, 0, 1, 1},
		{"USD", 10, 100, 12_345, 1234, 1235, 1235}, // $123.45
		{"USD", 10, 100, 12_344, 1234, 1234, 1235},
		{"KWD", 1, 1000, 1_500, 1, 2, 2}, // 1.500 dinar, 3 decimals
	}
	for _, tt := range tests {
		for _, r := range []struct {
			mode string
			want int64
		}{{RoundDown, tt.down}, {RoundNearest, tt.near}, {RoundUp, tt.up}} {
			c := testConfig(func(p *Program) {
				p.Currency, p.EarnPoints, p.EarnAmount, p.Rounding = tt.currency, tt.points, tt.amount, r.mode
			})
			got := computeEarn(c, earnState{}, earnOrder{Total: tt.total, Subtotal: tt.total}).Points
			if got != r.want {
				t.Errorf("%d %s at %d per %d, %s: %d points, want %d (exponent %d)", tt.total, tt.currency, tt.points, tt.amount, r.mode, got, r.want,
					crm.CurrencyExponent(tt.currency))
			}
		}
	}
}

// saks is the example: under 5,000 → 2×, 5,000–10,000 → 4×,
// 10,000–25,000 → 6×, over 25,000 → diamond (8× here), in dollars, at 1
// point per dollar.
func saks() *config {
	c := testConfig(func(p *Program) { p.EarnPoints, p.EarnAmount = 1, 100 })
	c.tiers = []*Tier{
		{ID: 1, Name: "Base", Threshold: 0, Multiplier: 200},
		{ID: 2, Name: "Silver", Threshold: 5_000_00, Multiplier: 400},
		{ID: 3, Name: "Gold", Threshold: 10_000_00, Multiplier: 600},
		{ID: 4, Name: "Diamond", Threshold: 25_000_00, Multiplier: 800},
	}
	return c
}

// TestTierSplit: a purchase that crosses thresholds is split between the
// tiers, never below the tier the member holds.
func TestTierSplit(t *testing.T) {
	c := saks()
	tests := []struct {
		name   string
		held   int64 // tier id held, 0 none
		before int64
		total  int64
		want   int64
		tier   int64
	}{
		{"within base", 1, 0, 1_000_00, 2_000, 1},
		{"crosses silver", 1, 4_000_00, 2_000_00, 1_000*2 + 1_000*4, 2},
		{"crosses two", 1, 4_000_00, 7_000_00, 1_000*2 + 5_000*4 + 1_000*6, 3},
		{"crosses all", 0, 0, 30_000_00, 5_000*2 + 5_000*4 + 15_000*6 + 5_000*8, 4},
		{"held gold, low spend", 3, 0, 1_000_00, 6_000, 3},
		{"held gold crossing diamond", 3, 24_000_00, 2_000_00, 1_000*6 + 1_000*8, 4},
		{"no tier at all", 0, 0, 1_000_00, 2_000, 1}, // the base tier starts at 0
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := computeEarn(c, earnState{Held: c.tier(tt.held), SpendBefore: tt.before}, earnOrder{Total: tt.total, Subtotal: tt.total})
			if res.Points != tt.want || tierID(res.Qualified) != tt.tier {
				t.Fatalf("points %d tier %d, want %d tier %d; segments %+v", res.Points, tierID(res.Qualified), tt.want, tt.tier, res.Segments)
			}
			var sum int64
			for _, s := range res.Segments {
				sum += s.Amount
			}
			if sum != tt.total {
				t.Fatalf("segments sum to %d, not the total %d", sum, tt.total)
			}
		})
	}
}

// TestRules: priority order, stacking, and each kind's conditions.
func TestRules(t *testing.T) {
	week := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)
	weekEnd := week.AddDate(0, 0, 7)
	c := testConfig(func(p *Program) { p.EarnPoints, p.EarnAmount = 10, 100 }) // 10 per dollar
	c.tiers = []*Tier{{ID: 1, Threshold: 0, Multiplier: 100}, {ID: 2, Threshold: 1_000_00, Multiplier: 200}}
	double := &Rule{ID: 1, Name: "Double week", Kind: RuleMultiplier, Priority: 10, Stacking: StackingStack, Value: 200, StartsAt: &week, EndsAt: &weekEnd, Active: true}
	coffee := &Rule{ID: 2, Name: "Coffee bonus", Kind: RuleBonus, Priority: 5, Stacking: StackingStack, Value: 15, Category: "coffee", Active: true}
	first := &Rule{ID: 3, Name: "Welcome", Kind: RuleFirstPurchase, Priority: 1, Stacking: StackingStack, Value: 100, Active: true}
	birthday := &Rule{ID: 4, Name: "Birthday", Kind: RuleBirthday, Priority: 0, Stacking: StackingStack, Value: 50, Active: true}
	goldOnly := &Rule{ID: 5, Name: "Gold triple", Kind: RuleMultiplier, Priority: 20, Stacking: StackingStop, Value: 300, TierID: 2, Active: true}
	big := &Rule{ID: 6, Name: "Big basket", Kind: RuleBonus, Priority: -5, Stacking: StackingStack, Value: 7, MinSpend: 100_00, Active: true}
	c.rules = []*Rule{goldOnly, double, coffee, first, birthday, big}

	lines := []crm.OrderLine{
		{SKU: "ESP", Category: "coffee", Quantity: 2, Total: 6_00},
		{SKU: "CAKE", Category: "food", Quantity: 1, Total: 4_00},
	}
	in := week.AddDate(0, 0, 2)
	out := weekEnd.AddDate(0, 0, 1)
	tests := []struct {
		name string
		st   earnState
		o    earnOrder
		want int64
	}{
		// $10: base 100; double +100; coffee 2 units × 15.
		{"promotion week", earnState{Held: c.tiers[0]}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: in}, 100 + 100 + 30},
		{"after the week", earnState{Held: c.tiers[0]}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: out}, 100 + 30},
		{"first purchase", earnState{Held: c.tiers[0], First: true}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: out}, 100 + 30 + 100},
		{"birthday month", earnState{Held: c.tiers[0], BirthMonth: int(out.Month())}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: out}, 100 + 30 + 50},
		{"other month", earnState{Held: c.tiers[0], BirthMonth: int(out.Month())%12 + 1}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: out}, 130},
		// Gold: base at 2× = 200, the triple adds 2× base = 200, and stops
		// the rest (no double week, no coffee bonus).
		{"gold stops the rest", earnState{Held: c.tiers[1]}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: in}, 200 + 200},
		// An order-level discount shares out over the lines: $8 paid of
		// $10, coffee lines worth $4.80; double week adds 80 on $8.
		{"discounted", earnState{Held: c.tiers[0]}, earnOrder{Total: 8_00, Subtotal: 10_00, Lines: lines, PlacedAt: in}, 80 + 80 + 30},
		{"min spend", earnState{Held: c.tiers[0]}, earnOrder{Total: 150_00, Subtotal: 150_00, PlacedAt: out}, 1500 + 7},
		{"nothing paid", earnState{Held: c.tiers[0], First: true}, earnOrder{Total: 0, Subtotal: 0, PlacedAt: in}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := computeEarn(c, tt.st, tt.o)
			if res.Points != tt.want {
				t.Fatalf("points %d, want %d; rules %+v", res.Points, tt.want, res.Rules)
			}
		})
	}

	// A category multiplier counts only the matching lines.
	c.rules = []*Rule{{ID: 7, Name: "Coffee 3x", Kind: RuleMultiplier, Priority: 1, Stacking: StackingStack, Value: 300, Category: "coffee", Active: true}}
	res := computeEarn(c, earnState{Held: c.tiers[0]}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: in})
	if res.Points != 100+120 { // base 100 + 2 × $6 × 10
		t.Fatalf("category multiplier: %d points", res.Points)
	}
	// An inactive rule is ignored.
	c.rules[0].Active = false
	if res := computeEarn(c, earnState{Held: c.tiers[0]}, earnOrder{Total: 10_00, Subtotal: 10_00, Lines: lines, PlacedAt: in}); res.Points != 100 {
		t.Fatalf("inactive rule applied: %d", res.Points)
	}
}

// TestEarnHuge: no overflow with the largest amounts and rates.
func TestEarnHuge(t *testing.T) {
	c := testConfig(func(p *Program) { p.EarnPoints, p.EarnAmount = 1_000_000, 1 })
	c.tiers = []*Tier{{ID: 1, Threshold: 0, Multiplier: 100_000}}
	res := computeEarn(c, earnState{}, earnOrder{Total: math.MaxInt64, Subtotal: math.MaxInt64})
	if res.Points != math.MaxInt64 {
		t.Fatalf("points %d, want the int64 ceiling", res.Points)
	}
}

// FuzzComputeEarn: points are never negative, more money never earns
// fewer points (same member state, no rules), and the segments always
// add up to the total.
func FuzzComputeEarn(f *testing.F) {
	f.Add(int64(12345), int64(0), int64(400_000), uint8(0))
	f.Add(int64(1), int64(499_999), int64(2), uint8(1))
	f.Add(int64(10_000_000), int64(0), int64(0), uint8(2))
	f.Fuzz(func(t *testing.T, total, before, extra int64, mode uint8) {
		if total < 0 || before < 0 || extra < 0 || total > 1<<50 || before > 1<<50 || extra > 1<<50 {
			t.Skip()
		}
		c := saks()
		c.prog.Rounding = []string{RoundDown, RoundNearest, RoundUp}[mode%3]
		a := computeEarn(c, earnState{SpendBefore: before}, earnOrder{Total: total, Subtotal: total})
		b := computeEarn(c, earnState{SpendBefore: before}, earnOrder{Total: total + extra, Subtotal: total + extra})
		if a.Points < 0 || b.Points < a.Points {
			t.Fatalf("total %d → %d points, %d → %d", total, a.Points, total+extra, b.Points)
		}
		var sum int64
		for _, s := range a.Segments {
			sum += s.Amount
		}
		if total > 0 && sum != total {
			t.Fatalf("segments %d of %d", sum, total)
		}
	})
}

// TestMemberNumbers: numbers and card codes carry a Luhn check digit;
// what a till types is normalised.
func TestMemberNumbers(t *testing.T) {
	for range 200 {
		n, c := newMemberNumber(), newCardCode()
		if len(n) != numberLen || len(c) != cardLen || n[0] == '0' || c[0] != '9' {
			t.Fatalf("number %q card %q", n, c)
		}
		if got, ok := NormalizeNumber(FormatNumber(n)); !ok || got != n {
			t.Fatalf("NormalizeNumber(%q) = %q, %v", FormatNumber(n), got, ok)
		}
		if _, ok := NormalizeNumber(c); !ok {
			t.Fatalf("card %q does not check", c)
		}
		// One wrong digit is caught.
		b := []byte(n)
		b[3] = '0' + (b[3]-'0'+1)%10
		if _, ok := NormalizeNumber(string(b)); ok {
			t.Fatalf("%q with a wrong digit passed", b)
		}
	}
	n := newMemberNumber()
	typed := text.ToPersianDigits(n[:4]) + " " + text.ToArabicDigits(n[4:8]) + "-" + n[8:]
	if got, ok := NormalizeNumber(typed); !ok || got != n {
		t.Fatalf("NormalizeNumber(%q) = %q %v, want %s", typed, got, ok, n)
	}
	wrong := n[:9] + string('0'+(n[9]-'0'+1)%10)
	for _, bad := range []string{"", "1234", n + "0", wrong, n[:9] + "a", text.ToPersianDigits(wrong)} {
		if _, ok := NormalizeNumber(bad); ok {
			t.Errorf("NormalizeNumber(%q) passed", bad)
		}
	}
}

// FuzzNormalizeNumber: whatever is typed, a result is 10 or 16 ASCII
// digits with a valid check digit, and normalising it again is the same.
func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"7992739871", "۷۹۹۲ ۷۳۹۸-۷۱", "4992739871", "9000 0000 0000 0009", "", "abc", "12-34"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := NormalizeNumber(s)
		if !ok {
			return
		}
		if (len(n) != numberLen && len(n) != cardLen) || !luhnValid(n) {
			t.Fatalf("NormalizeNumber(%q) = %q", s, n)
		}
		if again, ok := NormalizeNumber(n); !ok || again != n {
			t.Fatalf("not stable: %q → %q → %q", s, n, again)
		}
	})
}

// TestJalaliWindow: with the Jalali year, the window starts at Nowruz
// (midnight in Tehran) and a window_end review falls on the next one.
func TestJalaliWindow(t *testing.T) {
	p := &Program{TierWindow: WindowJalaliYear}
	// 1404-01-01 is 21 March 2025; midnight in Tehran is 20:30 UTC on the 20th.
	start := time.Date(2025, 3, 20, 20, 30, 0, 0, time.UTC)
	for _, at := range []time.Time{start, start.Add(time.Hour), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 20, 0, 0, 0, time.UTC)} {
		if got := windowStart(p, at); !got.Equal(start) {
			t.Errorf("windowStart(%v) = %v, want %v", at, got, start)
		}
	}
	if got := windowStart(p, start.Add(-time.Minute)); !got.Before(start) || got.Year() != 2024 {
		t.Errorf("a minute before Nowruz: %v", got)
	}
	if got, want := windowEnd(p, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)), time.Date(2026, 3, 20, 20, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("windowEnd = %v, want %v", got, want)
	}
}
