// Package analytics provides customer analytics as pure functions over
// streamed data: purchase summaries, BG/NBD and Gamma-Gamma models, customer
// lifetime value and churn risk, RFM, cohorts, Pareto and basket analysis.
// It never touches the store; callers feed it transactions or summaries.
package analytics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Transaction is one purchase by one customer: the unit every analysis in
// this package streams over. Amount is in major currency units (e.g. 12.50).
type Transaction struct {
	Customer string
	Time     time.Time
	Amount   float64
}

// Period is a time grain: the grouping of transactions into purchases and
// the unit in which recency and T are counted.
type Period int

const (
	Days  Period = iota + 1 // calendar days
	Weeks                   // Monday-first calendar weeks (pandas "W" = W-SUN periods)
)

// ParsePeriod accepts days|day|d and weeks|week|w.
func ParsePeriod(s string) (Period, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "days", "day", "d":
		return Days, nil
	case "weeks", "week", "w":
		return Weeks, nil
	}
	return 0, crm.Errorf(crm.EINVALID, "period %q is not days or weeks", s)
}

func (p Period) String() string {
	switch p {
	case Days:
		return "days"
	case Weeks:
		return "weeks"
	}
	return "Period(" + strconv.Itoa(int(p)) + ")"
}

// Days is the length of one period in days.
func (p Period) Days() float64 {
	if p == Weeks {
		return 7
	}
	return 1
}

// PerMonth is the number of periods in a month as lifetimes'
// customer_lifetime_value counts them: 30 days or 4.345 weeks.
func (p Period) PerMonth() float64 {
	if p == Weeks {
		return 4.345
	}
	return 30
}

// Summary is one customer's purchase history reduced to what the BG/NBD and
// Gamma-Gamma models need, with the conventions of the Python lifetimes
// library (summary_data_from_transaction_data):
//
//   - all transactions of a customer in one period (day or week) are one
//     purchase, whose value is their sum;
//   - Frequency is the number of purchase periods after the first one;
//   - Recency is the time from the first to the last purchase period;
//   - T is the time from the first purchase period to the end of observation;
//   - MonetaryValue is the mean value of the repeat purchases (the first one
//     excluded), 0 when Frequency is 0.
//
// Recency and T are in units of the summary's unit period.
type Summary struct {
	Customer      string
	Frequency     int
	Recency       float64
	T             float64
	MonetaryValue float64
}

// SummaryOptions control Summarize.
type SummaryOptions struct {
	// Period groups transactions into purchases: Days (the default) or
	// Weeks (Monday to Sunday, as pandas to_period("W")).
	Period Period
	// Unit is the unit of Recency and T; zero means Period. Period Days with
	// Unit Weeks is the Fader–Hardie CDNOW convention (lifetimes freq="D",
	// freq_multiplier=7): purchases are days, time is counted in weeks.
	Unit Period
	// End is the end of observation. Transactions in later periods are
	// ignored. Zero means the period of the last transaction seen. Only its
	// calendar date counts.
	End time.Time
}

// dayNumber is the calendar date of t (in t's own location) as days since
// 1970-01-01.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// periodStart is the first day of the period holding day n.
func (p Period) start(n int64) int64 {
	if p != Weeks {
		return n
	}
	// 1970-01-01 was a Thursday: Monday-based offset of day n is (n+3) mod 7.
	off := (n + 3) % 7
	if off < 0 {
		off += 7
	}
	return n - off
}

// purchase is one purchase period of one customer.
type purchase struct {
	day    int64 // first day of the period
	amount float64
}

type customerAcc struct {
	id        string
	purchases []purchase
	sorted    bool // purchases strictly increasing by day
}

// Summarizer builds per-customer summaries from a stream of transactions in
// any order. Memory is one entry per customer purchase period.
type Summarizer struct {
	period, unit Period
	end          int64 // first day of the last observed period; -1<<62 when unset
	hasEnd       bool
	last         int64 // latest period seen
	seen         bool
	index        map[string]int
	customers    []customerAcc
}

// NewSummarizer returns a Summarizer with the given options.
func NewSummarizer(opt SummaryOptions) *Summarizer {
	s := &Summarizer{period: opt.Period, unit: opt.Unit, index: map[string]int{}}
	if s.period != Weeks {
		s.period = Days
	}
	if s.unit == 0 {
		s.unit = s.period
	}
	if !opt.End.IsZero() {
		s.hasEnd = true
		s.end = s.period.start(dayNumber(opt.End))
	}
	return s
}

// Add adds one transaction. A transaction after the end of observation is
// ignored. The amount must be a finite number ≥ 0 and the customer not
// empty.
func (s *Summarizer) Add(t Transaction) error {
	switch {
	case t.Customer == "":
		return crm.Errorf(crm.EINVALID, "the customer is empty")
	case math.IsNaN(t.Amount) || math.IsInf(t.Amount, 0):
		return crm.Errorf(crm.EINVALID, "the amount %v is not a number", t.Amount)
	case t.Amount < 0:
		return crm.Errorf(crm.EINVALID, "the amount %v is negative", t.Amount)
	case t.Time.IsZero():
		return crm.Errorf(crm.EINVALID, "the date is missing")
	}
	day := s.period.start(dayNumber(t.Time))
	if s.hasEnd && day > s.end {
		return nil
	}
	if !s.seen || day > s.last {
		s.last, s.seen = day, true
	}
	i, ok := s.index[t.Customer]
	if !ok {
		i = len(s.customers)
		s.index[t.Customer] = i
		s.customers = append(s.customers, customerAcc{id: t.Customer, sorted: true})
	}
	c := &s.customers[i]
	if n := len(c.purchases); n > 0 {
		lastDay := c.purchases[n-1].day
		switch {
		case day == lastDay:
			c.purchases[n-1].amount += t.Amount
			return nil
		case day < lastDay:
			c.sorted = false
		}
	}
	c.purchases = append(c.purchases, purchase{day, t.Amount})
	return nil
}

// End is the first day of the end-of-observation period, and whether any
// transaction (or an explicit end) fixed it.
func (s *Summarizer) End() (time.Time, bool) {
	switch {
	case s.hasEnd:
		return time.Unix(s.end*86400, 0).UTC(), true
	case s.seen:
		return time.Unix(s.last*86400, 0).UTC(), true
	}
	return time.Time{}, false
}

// Summaries returns one summary per customer, ordered by customer id
// (numerically when both ids are numbers). It may be called once.
func (s *Summarizer) Summaries() []Summary {
	end := s.last
	if s.hasEnd {
		end = s.end
	}
	unit := s.unit.Days()
	out := make([]Summary, 0, len(s.customers))
	for i := range s.customers {
		c := &s.customers[i]
		ps := c.purchases
		if !c.sorted {
			slices.SortStableFunc(ps, func(a, b purchase) int { return cmp.Compare(a.day, b.day) })
			merged := ps[:1]
			for _, p := range ps[1:] {
				if last := &merged[len(merged)-1]; p.day == last.day {
					last.amount += p.amount
				} else {
					merged = append(merged, p)
				}
			}
			ps = merged
		}
		first, last := ps[0].day, ps[len(ps)-1].day
		sm := Summary{
			Customer:  c.id,
			Frequency: len(ps) - 1,
			Recency:   float64(last-first) / unit,
			T:         float64(end-first) / unit,
		}
		if sm.Frequency > 0 {
			sum := 0.0
			for _, p := range ps[1:] {
				sum += p.amount
			}
			sm.MonetaryValue = sum / float64(sm.Frequency)
		}
		out = append(out, sm)
		c.purchases = nil
	}
	slices.SortFunc(out, func(a, b Summary) int { return CompareIDs(a.Customer, b.Customer) })
	return out
}

// CompareIDs orders customer ids: ids that are decimal numbers first, by
// value (so "9" < "10" and "12346.0" < "12347.0"), then by string; then
// every other id, by string. It is a total order.
func CompareIDs(a, b string) int {
	fa, na := numericID(a)
	fb, nb := numericID(b)
	switch {
	case na && nb:
		if c := cmp.Compare(fa, fb); c != 0 {
			return c
		}
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}

func numericID(s string) (float64, bool) {
	if s == "" || !(s[0] >= '0' && s[0] <= '9' || s[0] == '-' || s[0] == '+' || s[0] == '.') {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// Summarize is Summarizer over a slice.
func Summarize(txs []Transaction, opt SummaryOptions) ([]Summary, error) {
	s := NewSummarizer(opt)
	for i, t := range txs {
		if err := s.Add(t); err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i+1, err)
		}
	}
	return s.Summaries(), nil
}
