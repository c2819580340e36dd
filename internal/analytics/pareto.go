package analytics

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Pareto analysis
//
// Customers are ranked by revenue, largest first (ties by customer id).
// The top fraction f of the n customers is the first ⌈f·n⌉ of them, and
// its share is their revenue over the total. The Pareto curve plots the
// share of revenue against the share of customers, best customers first;
// the Lorenz curve is the same data from the smallest customers up, and
// the Gini coefficient is 1 − 2 × the area under the Lorenz curve (0 when
// all customers spend the same, towards 1 when one customer brings all the
// revenue).

// ParetoPoint is a point of the Pareto curve: the top Customers customers
// (a CustomerShare of all) bring RevenueShare of the revenue.
type ParetoPoint struct {
	Customers     int     `json:"customers"`
	CustomerShare float64 `json:"customer_share"`
	RevenueShare  float64 `json:"revenue_share"`
}

// ParetoResult is the concentration of revenue among customers.
type ParetoResult struct {
	Period       string        `json:"period,omitempty"` // "2011", "2011-Q1", "2011-03", "1404-01", or "" for all time
	Customers    int           `json:"customers"`
	Revenue      float64       `json:"revenue"`
	TopFraction  float64       `json:"top_fraction"`  // 0.2
	TopCustomers int           `json:"top_customers"` // ⌈TopFraction·Customers⌉
	TopShare     float64       `json:"top_share"`     // their share of the revenue
	Gini         float64       `json:"gini"`
	Curve        []ParetoPoint `json:"curve"`
}

// ParetoOptions control Pareto.
type ParetoOptions struct {
	// TopFraction is the top share of customers whose revenue share is
	// reported; 0 means 0.2.
	TopFraction float64
	// Points is the number of curve segments: the curve has Points+1
	// points at customer shares 0, 1/Points, …, 1 (rounded up to whole
	// customers); 0 means 100.
	Points int
}

// CustomerRevenue is one customer's revenue.
type CustomerRevenue struct {
	Customer string
	Revenue  float64
}

// Pareto computes revenue concentration over per-customer revenues. The
// slice is sorted in place (largest first).
func Pareto(revs []CustomerRevenue, opt ParetoOptions) ParetoResult {
	top := opt.TopFraction
	if top <= 0 || top > 1 {
		top = 0.2
	}
	points := opt.Points
	if points <= 0 {
		points = 100
	}
	n := len(revs)
	res := ParetoResult{Customers: n, TopFraction: top}
	ids := make([]string, n)
	for i, r := range revs {
		ids[i] = r.Customer
	}
	keys := newIDKeys(ids)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(revs[b].Revenue, revs[a].Revenue); c != 0 {
			return c
		}
		return keys.compare(a, b)
	})
	sorted := make([]CustomerRevenue, n)
	for k, i := range order {
		sorted[k] = revs[i]
	}
	copy(revs, sorted)
	cum := make([]float64, n+1) // cum[k] = revenue of the top k
	for i, r := range revs {
		cum[i+1] = cum[i] + r.Revenue
	}
	total := cum[n]
	res.Revenue = total
	share := func(k int) float64 {
		if total == 0 {
			return 0
		}
		return cum[k] / total
	}
	if n == 0 {
		return res
	}
	res.TopCustomers = ceilShare(top, n)
	res.TopShare = share(res.TopCustomers)
	for j := 0; j <= points; j++ {
		k := (j*n + points - 1) / points
		res.Curve = append(res.Curve, ParetoPoint{Customers: k, CustomerShare: float64(k) / float64(n), RevenueShare: share(k)})
	}
	// Gini from the Lorenz curve (ascending order): 1 − Σ (L(i−1)+L(i))/n.
	if total != 0 {
		var area float64
		prev := 0.0
		for i := n - 1; i >= 0; i-- {
			l := (total - cum[i]) / total // revenue of the bottom n−i customers
			area += (prev + l) / 2
			prev = l
		}
		res.Gini = 1 - 2*area/float64(n)
	}
	return res
}

// ceilShare is ⌈f·n⌉ with f rounded to a billionth first, so 0.2·4338 is
// 868 however 0.2 is stored.
func ceilShare(f float64, n int) int {
	num := int64(f*1e9 + 0.5)
	k := (num*int64(n) + 1e9 - 1) / 1e9
	return int(min(k, int64(n)))
}

// Grain is the period of a by-period Pareto analysis.
type Grain string

// Grains.
const (
	GrainAll     Grain = "all"
	GrainYear    Grain = "year"
	GrainQuarter Grain = "quarter"
	GrainMonth   Grain = "month"
)

// ParetoByPeriod accumulates revenue per customer and period from a stream
// of transactions. Memory is one entry per customer and period with
// purchases.
type ParetoByPeriod struct {
	grain   Grain
	jalali  bool
	periods map[int32]map[string]float64

	cacheDay int64
	cacheKey int32
	cacheOK  bool
}

// NewParetoByPeriod returns an accumulator for one grain (all, year,
// quarter or month) in a calendar (gregorian or jalali).
func NewParetoByPeriod(grain Grain, calendar string) (*ParetoByPeriod, error) {
	p := &ParetoByPeriod{grain: grain, periods: map[int32]map[string]float64{}}
	switch grain {
	case GrainAll, GrainYear, GrainQuarter, GrainMonth:
	case "":
		p.grain = GrainAll
	default:
		return nil, crm.Errorf(crm.EINVALID, "period %q is not all, year, quarter or month", grain)
	}
	switch strings.ToLower(strings.TrimSpace(calendar)) {
	case "", text.CalendarGregorian:
	case text.CalendarJalali:
		p.jalali = true
	default:
		return nil, crm.Errorf(crm.EINVALID, "calendar %q is not gregorian or jalali", calendar)
	}
	return p, nil
}

// key is the period number of day d: year·12 + month − 1 for months,
// year·4 + quarter − 1 for quarters, the year for years, 0 for all.
func (p *ParetoByPeriod) key(d int64) int32 {
	if p.grain == GrainAll {
		return 0
	}
	if p.cacheOK && p.cacheDay == d {
		return p.cacheKey
	}
	y, mo, dd := time.Unix(d*86400, 0).UTC().Date()
	m := int(mo)
	if p.jalali {
		y, m, _ = text.GregorianToJalali(y, m, dd)
	}
	var k int32
	switch p.grain {
	case GrainYear:
		k = int32(y)
	case GrainQuarter:
		k = int32(y*4 + (m-1)/3)
	case GrainMonth:
		k = int32(y*12 + m - 1)
	}
	p.cacheDay, p.cacheKey, p.cacheOK = d, k, true
	return k
}

func (p *ParetoByPeriod) name(k int32) string {
	switch p.grain {
	case GrainYear:
		return fmt.Sprintf("%04d", k)
	case GrainQuarter:
		return fmt.Sprintf("%04d-Q%d", k/4, k%4+1)
	case GrainMonth:
		return fmt.Sprintf("%04d-%02d", k/12, k%12+1)
	}
	return ""
}

// Add counts one transaction. Its signature fits ReadTransactions.
func (p *ParetoByPeriod) Add(t Transaction) error {
	if err := checkTransaction(t); err != nil {
		return err
	}
	k := p.key(civilDay(t.Time))
	m := p.periods[k]
	if m == nil {
		m = map[string]float64{}
		p.periods[k] = m
	}
	m[t.Customer] += t.Amount
	return nil
}

// Results computes Pareto per period, in period order.
func (p *ParetoByPeriod) Results(opt ParetoOptions) []ParetoResult {
	keys := make([]int32, 0, len(p.periods))
	for k := range p.periods {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]ParetoResult, 0, len(keys))
	for _, k := range keys {
		m := p.periods[k]
		revs := make([]CustomerRevenue, 0, len(m))
		for c, r := range m {
			revs = append(revs, CustomerRevenue{c, r})
		}
		res := Pareto(revs, opt)
		res.Period = p.name(k)
		out = append(out, res)
	}
	return out
}
