package analytics

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Cohort retention
//
// A customer's cohort is the calendar month of their first purchase. For
// each cohort and k = 0, 1, 2, …, Active[k] is the number of the cohort's
// customers with at least one purchase in the k-th month after the cohort
// month (Active[0] is the cohort size), and the retention rate is
// Active[k] / Active[0]. Months after the last observed month (the month
// of the end of observation) are not observed: Active stops there, so the
// table is a triangle and its last column may cover part of a month.
//
// Months are Gregorian or Jalali (Farvardin 1404 is 2025-03-21 to
// 2025-04-20), taken from each transaction's calendar date as written.

// CohortOptions control a cohort table.
type CohortOptions struct {
	// Calendar of the months: "gregorian" (the default) or "jalali".
	Calendar string
	// End is the last day observed (inclusive). Later transactions are
	// ignored. Zero means the date of the last transaction.
	End time.Time
}

// Cohorts accumulates the months in which each customer bought, from a
// stream of transactions in any order. Memory is per customer: the
// distinct months they bought in.
type Cohorts struct {
	jalali  bool
	end     int64
	hasEnd  bool
	lastDay int64
	seen    bool
	index   map[string]int32 // Add: customer id → slot
	indexed bool             // AddIndexed was used
	st      []cohortState    // slot → months of the customer's purchases
	ignored int

	cacheDay   int64
	cacheMonth int32
	cacheOK    bool
}

// cohortState is the set of months in which a customer bought: a 64-month
// window as bits (month base+k is bit k), and the rare months outside it.
// bits is 0 for an unused slot.
type cohortState struct {
	base  int32
	bits  uint64
	extra []int32
}

func (s *cohortState) add(mo int32) {
	if s.bits == 0 {
		s.base, s.bits = mo-32, 1<<32 // room for earlier months in unsorted input
		return
	}
	if off := mo - s.base; off >= 0 && off < 64 {
		s.bits |= 1 << off
		return
	}
	if !slices.Contains(s.extra, mo) {
		s.extra = append(s.extra, mo)
	}
}

// each calls fn for every month of the set.
func (s *cohortState) each(fn func(int32)) {
	for b := s.bits; b != 0; b &= b - 1 {
		fn(s.base + int32(bits.TrailingZeros64(b)))
	}
	for _, m := range s.extra {
		fn(m)
	}
}

func (s *cohortState) first() int32 {
	f := s.base + int32(bits.TrailingZeros64(s.bits))
	for _, m := range s.extra {
		f = min(f, m)
	}
	return f
}

// NewCohorts returns an empty cohort accumulator.
func NewCohorts(opt CohortOptions) (*Cohorts, error) {
	c := &Cohorts{index: make(map[string]int32)}
	switch strings.ToLower(strings.TrimSpace(opt.Calendar)) {
	case "", text.CalendarGregorian:
	case text.CalendarJalali:
		c.jalali = true
	default:
		return nil, crm.Errorf(crm.EINVALID, "calendar %q is not gregorian or jalali", opt.Calendar)
	}
	if !opt.End.IsZero() {
		c.end, c.hasEnd = civilDay(opt.End), true
	}
	return c, nil
}

// monthOf is the month number (year·12 + month − 1) of day d in the
// table's calendar.
func (c *Cohorts) monthOf(d int64) int32 {
	if c.cacheOK && d == c.cacheDay {
		return c.cacheMonth
	}
	t := time.Unix(d*86400, 0).UTC()
	y, m, dd := t.Date()
	var mo int32
	if c.jalali {
		jy, jm, _ := text.GregorianToJalali(y, int(m), dd)
		mo = int32(jy*12 + jm - 1)
	} else {
		mo = int32(y*12 + int(m) - 1)
	}
	c.cacheDay, c.cacheMonth, c.cacheOK = d, mo, true
	return mo
}

// Add counts one transaction. Its signature fits ReadTransactions.
func (c *Cohorts) Add(t Transaction) error {
	if c.indexed {
		return errMixedAdd
	}
	i, ok := c.index[t.Customer]
	if !ok {
		i = int32(len(c.st))
	}
	added, err := c.add(t, int(i))
	if added && !ok {
		c.index[t.Customer] = i
	}
	return err
}

// AddIndexed counts one transaction of customer number customer (as
// ReadCustomerTransactions gives them). Do not mix it with Add.
func (c *Cohorts) AddIndexed(t Transaction, customer int) error {
	if len(c.index) > 0 {
		return errMixedAdd
	}
	if customer < 0 || customer > math.MaxInt32 {
		return crm.Errorf(crm.EINVALID, "customer number %d is out of range", customer)
	}
	c.indexed = true
	_, err := c.add(t, customer)
	return err
}

func (c *Cohorts) add(t Transaction, i int) (bool, error) {
	if err := checkTransaction(t); err != nil {
		return false, err
	}
	d := civilDay(t.Time)
	if c.hasEnd && d > c.end {
		c.ignored++
		return false, nil
	}
	if !c.seen || d > c.lastDay {
		c.lastDay, c.seen = d, true
	}
	mo := c.monthOf(d)
	if i >= len(c.st) {
		c.st = slices.Grow(c.st, i+1-len(c.st))[:i+1]
	}
	s := &c.st[i]
	added := s.bits == 0
	s.add(mo)
	return added, nil
}

// Ignored is the number of transactions after the end of observation.
func (c *Cohorts) Ignored() int { return c.ignored }

// CohortTable is the retention table.
type CohortTable struct {
	Calendar string   `json:"calendar"`
	Cohorts  []Cohort `json:"cohorts"`
	// Offsets is the number of month columns (m0 … m(Offsets−1)).
	Offsets int `json:"offsets"`
	// LastMonth is the last observed month.
	LastMonth string `json:"last_month"`
}

// Cohort is one row of the table.
type Cohort struct {
	Month string    `json:"cohort"` // "2010-12", or "1404-01" in the Jalali calendar
	Start time.Time `json:"start"`  // first day of the month
	End   time.Time `json:"end"`    // last day of the month
	Size  int       `json:"size"`
	// Active[k] is the number of customers who bought in month k after
	// the cohort month, up to the last observed month.
	Active []int `json:"active"`
}

// Rate is Active[k] / Size; NaN when month k was not observed.
func (c Cohort) Rate(k int) float64 {
	if k < 0 || k >= len(c.Active) || c.Size == 0 {
		return math.NaN()
	}
	return float64(c.Active[k]) / float64(c.Size)
}

// Table builds the retention table, cohorts in month order.
func (c *Cohorts) Table() CohortTable {
	cal := text.CalendarGregorian
	if c.jalali {
		cal = text.CalendarJalali
	}
	tab := CohortTable{Calendar: cal}
	if !c.seen && !c.hasEnd {
		return tab
	}
	endDay := c.lastDay
	if c.hasEnd {
		endDay = c.end
	}
	last := c.monthOf(endDay)
	tab.LastMonth = c.monthName(last)
	first := last
	used := false
	for i := range c.st {
		if c.st[i].bits != 0 {
			first, used = min(first, c.st[i].first()), true
		}
	}
	if !used {
		return tab
	}
	n := int(last-first) + 1
	rows := make([][]int, n)
	for i := range c.st {
		s := &c.st[i]
		if s.bits == 0 {
			continue
		}
		co := s.first()
		r := rows[co-first]
		if r == nil {
			r = make([]int, int(last-co)+1)
			rows[co-first] = r
		}
		s.each(func(m int32) { r[m-co]++ })
	}
	for i, r := range rows {
		if r == nil {
			continue
		}
		mo := first + int32(i)
		start, end := c.monthRange(mo)
		tab.Cohorts = append(tab.Cohorts, Cohort{Month: c.monthName(mo), Start: start, End: end, Size: r[0], Active: r})
		tab.Offsets = max(tab.Offsets, len(r))
	}
	return tab
}

func (c *Cohorts) monthName(mo int32) string {
	return fmt.Sprintf("%04d-%02d", mo/12, mo%12+1)
}

// monthRange is the first and last Gregorian day of month mo.
func (c *Cohorts) monthRange(mo int32) (time.Time, time.Time) {
	y, m := int(mo/12), int(mo%12)+1
	if c.jalali {
		gy, gm, gd := text.JalaliToGregorian(y, m, 1)
		start := time.Date(gy, time.Month(gm), gd, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, text.JalaliMonthLength(y, m)-1)
	}
	start := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, -1)
}

// CohortRetention is Cohorts over a slice of transactions.
func CohortRetention(txs []Transaction, opt CohortOptions) (CohortTable, error) {
	c, err := NewCohorts(opt)
	if err != nil {
		return CohortTable{}, err
	}
	for _, t := range txs {
		if err := c.Add(t); err != nil {
			return CohortTable{}, err
		}
	}
	return c.Table(), nil
}

// WriteCSV writes the table as CSV: a header cohort,m0,m1,…, then one row
// per cohort with the active counts, or with rates rounded to six decimals
// (1.0, 0.366102) when rates is set; unobserved cells are empty. This is
// the layout of the Online Retail reference files.
func (t CohortTable) WriteCSV(w io.Writer, rates bool) error {
	var b strings.Builder
	b.WriteString("cohort")
	for k := 0; k < t.Offsets; k++ {
		fmt.Fprintf(&b, ",m%d", k)
	}
	b.WriteByte('\n')
	for _, c := range t.Cohorts {
		b.WriteString(c.Month)
		for k := 0; k < t.Offsets; k++ {
			b.WriteByte(',')
			if k >= len(c.Active) {
				continue
			}
			if rates {
				b.WriteString(FormatRate(c.Rate(k)))
			} else {
				b.WriteString(strconv.Itoa(c.Active[k]))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// FormatRate writes a share rounded to six decimals, always with a decimal
// point (1.0, 0.5, 0.366102), as pandas writes floats.
func FormatRate(r float64) string {
	s := strconv.FormatFloat(math.Round(r*1e6)/1e6, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEN") {
		s += ".0"
	}
	return s
}
