package analytics

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// RFM scoring
//
// For each customer, over the transactions up to the end of observation:
//
//   - Recency is the number of days from the calendar date of the last
//     purchase to the snapshot, the day after the end of observation (so a
//     purchase on the last day has recency 1);
//   - Frequency is the number of transactions (orders);
//   - Monetary is the sum of their amounts, rounded to cents;
//   - Tenure is the number of days from the first purchase to the snapshot.
//
// Each of R, F and M gets a quintile score 1–5 with SQL NTILE(5) semantics:
// customers are put in a total order and cut into five buckets whose sizes
// differ by at most one, the larger buckets first (4,338 customers give
// 868, 868, 868, 867, 867). The orders, ties broken by customer id:
//
//	R: recency descending, id ascending  (the most recent get 5)
//	F: frequency ascending, id ascending
//	M: monetary (in cents) ascending, id ascending
//
// Customer ids are ordered by idOrder: ids that are decimal numbers first,
// by value, then the others as byte strings. This is the order of SQLite's
// ORDER BY on an integer id column, which the references use.

// RFMOptions control an RFM computation.
type RFMOptions struct {
	// End is the last day observed (inclusive; only its calendar date
	// counts). Later transactions are ignored. Zero means the date of the
	// last transaction seen. The snapshot from which recency is counted is
	// the day after.
	End time.Time
}

// RFMScore is one customer's RFM values, scores, cell and segment.
type RFMScore struct {
	Customer  string  `json:"customer_id"`
	Recency   int     `json:"recency_days"`
	Frequency int     `json:"frequency"`
	Monetary  float64 `json:"monetary"`
	Tenure    int     `json:"tenure_days"`
	R         int     `json:"r_score"`
	F         int     `json:"f_score"`
	M         int     `json:"m_score"`
	Cell      string  `json:"rfm_cell"` // "555"
	Segment   string  `json:"segment"`  // see RFMSegmentRules
}

// RFM accumulates per-customer recency, frequency and monetary value from
// a stream of transactions in any order. Memory is one small record per
// customer, whatever the number of transactions.
type RFM struct {
	end     int64
	hasEnd  bool
	last    int64 // latest day seen
	seen    bool
	index   map[string]int32 // Add: customer id → slot
	indexed bool             // AddIndexed was used
	ids     []string         // slot → customer id
	st      []rfmState       // slot → state; n == 0 for an unused slot
	ignored int
}

type rfmState struct {
	first, last int64
	n           int64
	sum         float64
}

// NewRFM returns an empty RFM accumulator.
func NewRFM(opt RFMOptions) *RFM {
	r := &RFM{index: make(map[string]int32)}
	if !opt.End.IsZero() {
		r.end, r.hasEnd = civilDay(opt.End), true
	}
	return r
}

// civilDay is t's calendar date, in t's own location, as days since
// 1970-01-01.
func civilDay(t time.Time) int64 {
	if t.Location() == time.UTC {
		s := t.Unix()
		if s >= 0 {
			return s / 86400
		}
		return -((-s + 86399) / 86400)
	}
	y, m, d := t.Date()
	return daysFromCivil(int64(y), int64(m), int64(d))
}

// daysFromCivil is the day number of a proleptic Gregorian date (Howard
// Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// checkTransaction rejects what no analysis can use.
func checkTransaction(t Transaction) error {
	switch {
	case t.Customer == "":
		return crm.Errorf(crm.EINVALID, "a transaction has no customer")
	case t.Time.IsZero():
		return crm.Errorf(crm.EINVALID, "a transaction of customer %q has no date", t.Customer)
	case math.IsNaN(t.Amount) || math.IsInf(t.Amount, 0):
		return crm.Errorf(crm.EINVALID, "a transaction of customer %q has amount %v", t.Customer, t.Amount)
	}
	return nil
}

// Add counts one transaction. Its signature fits ReadTransactions.
func (r *RFM) Add(t Transaction) error {
	if r.indexed {
		return errMixedAdd
	}
	i, ok := r.index[t.Customer]
	if !ok {
		i = int32(len(r.st))
	}
	added, err := r.add(t, int(i))
	if added && !ok {
		r.index[t.Customer] = i
	}
	return err
}

// AddIndexed counts one transaction of customer number customer (0, 1, 2 …
// as ReadCustomerTransactions gives them), keeping the customer's state in
// a slice slot instead of a map. Do not mix it with Add.
func (r *RFM) AddIndexed(t Transaction, customer int) error {
	if len(r.index) > 0 {
		return errMixedAdd
	}
	if customer < 0 || customer > math.MaxInt32 {
		return crm.Errorf(crm.EINVALID, "customer number %d is out of range", customer)
	}
	r.indexed = true
	_, err := r.add(t, customer)
	return err
}

var errMixedAdd = crm.Errorf(crm.EINVALID, "Add and AddIndexed cannot be mixed on one accumulator")

// add counts t in slot i; added reports whether the slot was new.
func (r *RFM) add(t Transaction, i int) (added bool, err error) {
	if err := checkTransaction(t); err != nil {
		return false, err
	}
	d := civilDay(t.Time)
	if r.hasEnd && d > r.end {
		r.ignored++
		return false, nil
	}
	if !r.seen || d > r.last {
		r.last, r.seen = d, true
	}
	if i >= len(r.st) {
		r.st = slices.Grow(r.st, i+1-len(r.st))[:i+1]
		r.ids = slices.Grow(r.ids, i+1-len(r.ids))[:i+1]
	}
	s := &r.st[i]
	if s.n == 0 {
		*s = rfmState{first: d, last: d, n: 1, sum: t.Amount}
		r.ids[i] = t.Customer
		return true, nil
	}
	s.n++
	s.sum += t.Amount
	if d < s.first {
		s.first = d
	}
	if d > s.last {
		s.last = d
	}
	return false, nil
}

// Customers is the number of customers seen.
func (r *RFM) Customers() int {
	n := 0
	for _, s := range r.st {
		if s.n > 0 {
			n++
		}
	}
	return n
}

// Ignored is the number of transactions after the end of observation.
func (r *RFM) Ignored() int { return r.ignored }

// End is the last day observed: RFMOptions.End, or the date of the last
// transaction. ok is false when there is neither.
func (r *RFM) End() (time.Time, bool) {
	e, ok := r.end, r.hasEnd
	if !ok {
		e, ok = r.last, r.seen
	}
	return time.Unix(e*86400, 0).UTC(), ok
}

// Scores computes every customer's scores, ordered by customer id.
func (r *RFM) Scores() []RFMScore {
	out := make([]RFMScore, 0, r.Customers())
	r.EachScore(func(s RFMScore) error {
		out = append(out, s)
		return nil
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// EachScore computes every customer's scores and calls fn with each, in
// customer id order (the order of Scores), stopping at fn's first error.
// It holds about 33 bytes per customer besides the accumulator (Scores
// holds a whole RFMScore per customer, twice): for scoring millions of
// customers in a job that writes the scores out as they come.
func (r *RFM) EachScore(fn func(RFMScore) error) error {
	// The customers seen (AddIndexed may leave unused slots).
	st, ids := r.st, r.ids
	if r.Customers() != len(st) {
		st, ids = nil, nil
		for i, s := range r.st {
			if s.n > 0 {
				st = append(st, s)
				ids = append(ids, r.ids[i])
			}
		}
	}
	n := len(st)
	if n == 0 {
		return nil
	}
	end, _ := r.End()
	snapshot := civilDay(end) + 1
	keys := newIDKeys(ids)
	cents := make([]int64, n)
	for i, s := range st {
		cents[i] = int64(math.Round(s.sum * 100))
	}
	// The customers in id order; idRank[i] is customer i's place in it.
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, keys.compare)
	idRank := make([]int32, n)
	for k, i := range order {
		idRank[i] = int32(k)
	}
	// Each score: sort (value, id rank) pairs, cut into NTILE buckets;
	// cell[i] holds customer i's (R−1)·25 + (F−1)·5 + (M−1).
	type keyed struct {
		v    int64
		rank int32
		i    int32
	}
	ks := make([]keyed, n)
	cell := make([]uint8, n)
	score := func(value func(i int) int64, weight uint8) {
		for i := range ks {
			ks[i] = keyed{value(i), idRank[i], int32(i)}
		}
		slices.SortFunc(ks, func(a, b keyed) int {
			if a.v != b.v {
				return compareInt64(a.v, b.v)
			}
			return int(a.rank - b.rank)
		})
		for pos, k := range ks {
			cell[k.i] += uint8(ntile(pos, n, 5)-1) * weight
		}
	}
	score(func(i int) int64 { return st[i].last }, 25) // recency descending = last day ascending
	score(func(i int) int64 { return st[i].n }, 5)
	score(func(i int) int64 { return cents[i] }, 1)
	ks, idRank = nil, nil
	for _, i := range order {
		s, c := &st[i], int(cell[i])
		o := RFMScore{Customer: ids[i], Recency: int(snapshot - s.last), Frequency: int(s.n), Monetary: float64(cents[i]) / 100,
			Tenure: int(snapshot - s.first), R: c/25 + 1, F: c/5%5 + 1, M: c%5 + 1, Cell: rfmCells[c]}
		o.Segment = RFMSegment(o.R, o.F, o.M)
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// rfmCells are the 125 cells "111" … "555".
var rfmCells = func() (c [125]string) {
	for i := range c {
		c[i] = string([]byte{byte('1' + i/25), byte('1' + i/5%5), byte('1' + i%5)})
	}
	return c
}()

func compareInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ntile is the 1-based NTILE(k) bucket of the row at 0-based position pos
// among n rows: the first n mod k buckets hold one row more.
func ntile(pos, n, k int) int {
	q, rem := n/k, n%k
	if q == 0 {
		return pos + 1 // fewer rows than buckets: one row each
	}
	big := rem * (q + 1)
	if pos < big {
		return pos/(q+1) + 1
	}
	return rem + (pos-big)/q + 1
}

// idKeys orders customer ids (see the package comment on RFM scoring):
// numeric ids first by value, then by string; then the rest by string.
type idKeys struct {
	ids     []string
	num     []float64
	numeric []bool
}

func newIDKeys(ids []string) idKeys {
	k := idKeys{ids: ids, num: make([]float64, len(ids)), numeric: make([]bool, len(ids))}
	for i, id := range ids {
		if isDecimal(id) {
			if f, err := strconv.ParseFloat(id, 64); err == nil {
				k.num[i], k.numeric[i] = f, true
			}
		}
	}
	return k
}

// isDecimal: optional sign, digits, optional fraction (no exponents,
// no hex, no inf or nan).
func isDecimal(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

func (k idKeys) compare(a, b int32) int {
	na, nb := k.numeric[a], k.numeric[b]
	switch {
	case na && nb:
		if k.num[a] < k.num[b] {
			return -1
		}
		if k.num[a] > k.num[b] {
			return 1
		}
	case na:
		return -1
	case nb:
		return 1
	}
	switch {
	case k.ids[a] < k.ids[b]:
		return -1
	case k.ids[a] > k.ids[b]:
		return 1
	}
	return 0
}

// CompareCustomerIDs is the total order RFM, cohorts and Pareto use for
// customer ids: decimal numbers first by value (then as strings), then
// everything else as byte strings.
func CompareCustomerIDs(a, b string) int {
	k := newIDKeys([]string{a, b})
	return k.compare(0, 1)
}

// RFM segments.
const (
	SegmentChampions          = "champions"
	SegmentLoyal              = "loyal"
	SegmentPotentialLoyalists = "potential_loyalists"
	SegmentNew                = "new"
	SegmentPromising          = "promising"
	SegmentNeedAttention      = "need_attention"
	SegmentAboutToSleep       = "about_to_sleep"
	SegmentAtRisk             = "at_risk"
	SegmentCannotLoseThem     = "cannot_lose_them"
	SegmentHibernating        = "hibernating"
	SegmentLost               = "lost"
)

// SegmentRule assigns Segment to the customers whose R score is in
// [RMin, RMax] and whose FM score is in [FMMin, FMMax] (inclusive).
type SegmentRule struct {
	Segment string `json:"segment"`
	RMin    int    `json:"r_min"`
	RMax    int    `json:"r_max"`
	FMMin   int    `json:"fm_min"`
	FMMax   int    `json:"fm_max"`
}

// RFMSegmentRules is the segment map, as data so the UI can show it: the
// first rule that matches a customer's R and FM scores gives the segment.
// It is the grid of Putler's RFM segment chart (R on one axis, FM on the
// other, eleven named regions), read with each score s covering the
// interval (s−1, s] of the chart's 0–5 axes, so "R 4–5" there is score 5
// here. The small regions drawn on top of larger ones come first. Every
// one of the 25 (R, FM) cells gets exactly one segment:
//
//	FM\R   1               2            3               4                    5
//	 5   cannot lose    at risk      loyal           loyal                champions
//	 4   at risk        at risk      loyal           loyal                loyal
//	 3   at risk        at risk      need attention  potential loyalists  potential loyalists
//	 2   lost           hibernating  about to sleep  potential loyalists  potential loyalists
//	 1   lost           lost         about to sleep  promising            new
var RFMSegmentRules = []SegmentRule{
	{SegmentChampions, 5, 5, 5, 5},
	{SegmentCannotLoseThem, 1, 1, 5, 5},
	{SegmentNew, 5, 5, 1, 1},
	{SegmentPromising, 4, 4, 1, 1},
	{SegmentNeedAttention, 3, 3, 3, 3},
	{SegmentHibernating, 2, 2, 2, 2},
	{SegmentLoyal, 3, 5, 4, 5},
	{SegmentPotentialLoyalists, 4, 5, 2, 3},
	{SegmentAboutToSleep, 3, 3, 1, 2},
	{SegmentAtRisk, 1, 2, 3, 5},
	{SegmentLost, 1, 2, 1, 2},
}

// RFMSegments lists the segments from the best customers to the lost ones
// (the order for legends and reports).
var RFMSegments = []string{SegmentChampions, SegmentLoyal, SegmentPotentialLoyalists, SegmentNew, SegmentPromising,
	SegmentNeedAttention, SegmentAboutToSleep, SegmentAtRisk, SegmentCannotLoseThem, SegmentHibernating, SegmentLost}

// FMScore combines the F and M scores: their mean, rounded down, so
// both must be high for a high FM.
func FMScore(f, m int) int { return (f + m) / 2 }

// RFMSegment is the segment of scores r, f, m (1–5) by RFMSegmentRules;
// "" when a score is out of range.
func RFMSegment(r, f, m int) string {
	if r < 1 || r > 5 || f < 1 || f > 5 || m < 1 || m > 5 {
		return ""
	}
	fm := FMScore(f, m)
	for _, rule := range RFMSegmentRules {
		if r >= rule.RMin && r <= rule.RMax && fm >= rule.FMMin && fm <= rule.FMMax {
			return rule.Segment
		}
	}
	return ""
}

// ScoreRFM is RFM over a slice of transactions.
func ScoreRFM(txs []Transaction, opt RFMOptions) ([]RFMScore, error) {
	r := NewRFM(opt)
	for _, t := range txs {
		if err := r.Add(t); err != nil {
			return nil, err
		}
	}
	return r.Scores(), nil
}
