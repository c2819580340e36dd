package report

import (
	"context"
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Query is what a report covers: a range of days in the business time
// zone, months of a calendar, and a currency ("" picks the one with the
// most orders).
type Query struct {
	Range    Range
	Calendar string
	Currency string
}

func (q Query) calendar() string {
	if q.Calendar == Jalali {
		return Jalali
	}
	return Gregorian
}

// Sales are the orders of a span: their number, what they cost, what was
// refunded for them and the net. Returns count against the day the order
// was placed, so a month's net is what its orders finally brought.
type Sales struct {
	Orders   int64 `json:"orders"`
	Gross    int64 `json:"gross"`
	Returned int64 `json:"returned"`
	Net      int64 `json:"net"`
	Discount int64 `json:"discount"`
}

func (s *Sales) add(d store.DayBucket) {
	s.Orders += d.Orders
	s.Gross += d.Gross
	s.Returned += d.Returned
	s.Net += d.Gross - d.Returned
	s.Discount += d.Discount
}

// AverageOrder is the mean net value of an order, 0 without orders.
func (s Sales) AverageOrder() int64 {
	if s.Orders == 0 {
		return 0
	}
	return s.Net / s.Orders
}

// MonthSales are the sales of a month, or of its part inside the range.
type MonthSales struct {
	Month Month `json:"month"`
	From  Day   `json:"from"`
	To    Day   `json:"to"`
	Sales
}

// ChannelSales are the sales of one channel in the range.
type ChannelSales struct {
	Channel string `json:"channel"`
	Sales
}

// Revenue is the revenue report of a range in one currency.
type Revenue struct {
	Currency   string         `json:"currency"`
	Currencies []string       `json:"currencies"` // every currency with orders, most orders first
	Months     []MonthSales   `json:"months"`
	Total      Sales          `json:"total"`
	Previous   Sales          `json:"previous"` // the same number of days just before the range
	Channels   []ChannelSales `json:"channels"` // most net first
}

// Revenue sums the orders of q's range by month of q's calendar.
func (s *Service) Revenue(ctx context.Context, q Query) (*Revenue, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	cal := q.calendar()
	prev := q.Range.Previous()
	out := &Revenue{Months: []MonthSales{}, Channels: []ChannelSales{}}
	for _, m := range q.Range.Months(cal) {
		c := q.Range.Clip(m, cal)
		out.Months = append(out.Months, MonthSales{Month: m, From: c.From, To: c.To})
	}
	err := s.read(ctx, func(tx *store.Tx) error {
		cur, err := currencies(ctx, tx)
		if err != nil {
			return err
		}
		out.Currencies = cur
		out.Currency = pickCurrency(q.Currency, cur)
		edges := make([]int, 0, len(out.Months)+1)
		for _, m := range out.Months {
			edges = append(edges, int(m.From))
		}
		edges = append(edges, int(q.Range.To.AddDays(1)))
		months, err := tx.SumReportDays(ctx, out.Currency, edges, false)
		if err != nil {
			return err
		}
		for _, b := range months {
			if b.Bucket >= 0 && b.Bucket < len(out.Months) {
				out.Months[b.Bucket].add(b)
				out.Total.add(b)
			}
		}
		before, err := tx.SumReportDays(ctx, out.Currency, []int{int(prev.From), int(prev.To.AddDays(1))}, false)
		if err != nil {
			return err
		}
		for _, b := range before {
			out.Previous.add(b)
		}
		channels, err := tx.SumReportDays(ctx, out.Currency, []int{int(q.Range.From), int(q.Range.To.AddDays(1))}, true)
		if err != nil {
			return err
		}
		for _, b := range channels {
			cs := ChannelSales{Channel: b.Key}
			cs.add(b)
			out.Channels = append(out.Channels, cs)
		}
		slices.SortFunc(out.Channels, func(a, b ChannelSales) int {
			if a.Net != b.Net {
				return cmpInt64(b.Net, a.Net)
			}
			return cmpString(a.Channel, b.Channel)
		})
		return nil
	})
	return out, err
}

// Currencies lists the currencies of the orders, most orders first.
func (s *Service) Currencies(ctx context.Context) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = currencies(ctx, tx)
		return err
	})
	return out, err
}

// currencies returns the currencies of the orders, most orders first, as
// the worker last listed them (it lists them again whenever a day
// changes).
func currencies(ctx context.Context, tx *store.Tx) ([]string, error) {
	v, err := tx.ReportStateValue(ctx, stateCurrencies)
	if err != nil || v == "" {
		return nil, err
	}
	return strings.Split(v, ","), nil
}

func pickCurrency(want string, have []string) string {
	if want != "" || len(have) == 0 {
		return want
	}
	return have[0]
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// MonthCustomers counts a month's customers: those who ordered in it,
// those whose first order ever was in it (new), and the others
// (returning). Customers are counted over whole months.
type MonthCustomers struct {
	Month     Month `json:"month"`
	Active    int64 `json:"active"`
	New       int64 `json:"new"`
	Returning int64 `json:"returning"`
}

// Customers counts new and returning customers by month.
type Customers struct {
	Months []MonthCustomers `json:"months"`
	New    int64            `json:"new"` // new customers in the months of the range
	// WholeMonths is false when the range starts or ends inside a month:
	// customers are still counted over the whole of those months.
	WholeMonths bool `json:"whole_months"`
}

// Customers counts the customers of each month q's range touches.
func (s *Service) Customers(ctx context.Context, q Query) (*Customers, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	cal := q.calendar()
	months := q.Range.Months(cal)
	out := &Customers{Months: []MonthCustomers{}, WholeMonths: q.Range.WholeMonths(cal)}
	if len(months) == 0 {
		return out, nil
	}
	err := s.read(ctx, func(tx *store.Tx) error {
		sums, err := tx.CohortMonths(ctx, cal, int(months[0]), int(months[len(months)-1]))
		if err != nil {
			return err
		}
		by := map[Month]*MonthCustomers{}
		for _, m := range months {
			out.Months = append(out.Months, MonthCustomers{Month: m})
		}
		for i := range out.Months {
			by[out.Months[i].Month] = &out.Months[i]
		}
		for _, c := range sums {
			if m := by[Month(c.Month)]; m != nil {
				m.Active, m.New = c.Active, c.New
			}
		}
		for i := range out.Months {
			m := &out.Months[i]
			m.Returning = m.Active - m.New
			out.New += m.New
		}
		return nil
	})
	return out, err
}

// CohortRow is a cohort: the customers whose first order was in Month
// (Size), and how many of them ordered k months later (Active[k];
// Active[0] is Size).
type CohortRow struct {
	Month  Month   `json:"month"`
	Size   int64   `json:"size"`
	Active []int64 `json:"active"`
}

// Rate is the share of the cohort active k months after its first.
func (r CohortRow) Rate(k int) float64 {
	if r.Size == 0 || k >= len(r.Active) {
		return math.NaN()
	}
	return float64(r.Active[k]) / float64(r.Size)
}

// Cohorts is the retention table of the cohorts of a range.
type Cohorts struct {
	Rows    []CohortRow `json:"rows"` // oldest first
	Offsets int         `json:"offsets"`
}

// MaxCohorts bounds the cohorts of a retention table (the newest are
// kept).
const MaxCohorts = 24

// Cohorts returns the retention of the customers whose first order was in
// a month of q's range, through the range's last month.
func (s *Service) Cohorts(ctx context.Context, q Query) (*Cohorts, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	cal := q.calendar()
	months := q.Range.Months(cal)
	if len(months) > MaxCohorts {
		months = months[len(months)-MaxCohorts:]
	}
	out := &Cohorts{Rows: []CohortRow{}}
	if len(months) == 0 {
		return out, nil
	}
	last := months[len(months)-1]
	out.Offsets = int(last-months[0]) + 1
	err := s.read(ctx, func(tx *store.Tx) error {
		cells, err := tx.CohortCells(ctx, cal, int(months[0]), int(last), true)
		if err != nil {
			return err
		}
		for _, m := range months {
			out.Rows = append(out.Rows, CohortRow{Month: m, Active: make([]int64, int(last-m)+1)})
		}
		for _, c := range cells {
			i := c.Cohort - int(months[0])
			k := c.Month - c.Cohort
			if i < 0 || i >= len(out.Rows) || k < 0 || k >= len(out.Rows[i].Active) {
				continue
			}
			out.Rows[i].Active[k] += c.Customers
		}
		for i := range out.Rows {
			out.Rows[i].Size = out.Rows[i].Active[0]
		}
		return nil
	})
	return out, err
}

// ReasonReturns are the returns made for one reason.
type ReasonReturns struct {
	Reason  string `json:"reason"`
	Returns int64  `json:"returns"`
	Amount  int64  `json:"amount"`
}

// MonthReturns are a month's returns by reason (in crm.ReturnReasons
// order, then any other reason).
type MonthReturns struct {
	Month   Month           `json:"month"`
	Reasons []ReasonReturns `json:"reasons"`
	Returns int64           `json:"returns"`
	Amount  int64           `json:"amount"`
}

// Returns is the returns report of a range in one currency, by the day
// the goods came back.
type Returns struct {
	Currency string          `json:"currency"`
	Reasons  []string        `json:"reasons"`
	Months   []MonthReturns  `json:"months"`
	Total    []ReasonReturns `json:"total"` // by reason
	Returns  int64           `json:"returns"`
	Amount   int64           `json:"amount"`
}

// Returns sums the returns made in q's range by month and reason. It
// needs the orders permission (the service desk sees returns).
func (s *Service) Returns(ctx context.Context, q Query) (*Returns, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	cal := q.calendar()
	out := &Returns{Months: []MonthReturns{}}
	err := s.read(ctx, func(tx *store.Tx) error {
		cur, err := currencies(ctx, tx)
		if err != nil {
			return err
		}
		out.Currency = pickCurrency(q.Currency, cur)
		months := q.Range.Months(cal)
		edges := make([]int, 0, len(months)+1)
		for _, m := range months {
			edges = append(edges, int(q.Range.Clip(m, cal).From))
		}
		edges = append(edges, int(q.Range.To.AddDays(1)))
		sums, err := tx.SumReturnBuckets(ctx, out.Currency, edges)
		if err != nil {
			return err
		}
		out.Reasons = slices.Clone(crm.ReturnReasons)
		for _, d := range sums {
			if !slices.Contains(out.Reasons, d.Key) {
				out.Reasons = append(out.Reasons, d.Key)
			}
		}
		idx := map[string]int{}
		for i, r := range out.Reasons {
			idx[r] = i
			out.Total = append(out.Total, ReasonReturns{Reason: r})
		}
		for _, m := range months {
			mr := MonthReturns{Month: m}
			for _, r := range out.Reasons {
				mr.Reasons = append(mr.Reasons, ReasonReturns{Reason: r})
			}
			out.Months = append(out.Months, mr)
		}
		for _, d := range sums {
			if d.Bucket < 0 || d.Bucket >= len(out.Months) {
				continue
			}
			m := &out.Months[d.Bucket]
			r := &m.Reasons[idx[d.Key]]
			r.Returns += d.Orders
			r.Amount += d.Gross
			m.Returns += d.Orders
			m.Amount += d.Gross
			t := &out.Total[idx[d.Key]]
			t.Returns += d.Orders
			t.Amount += d.Gross
			out.Returns += d.Orders
			out.Amount += d.Gross
		}
		return nil
	})
	return out, err
}

// --- Cached figures ---

// ParetoPoint is a point of the Pareto curve: the best CustomerShare of
// the customers bring RevenueShare of the revenue.
type ParetoPoint struct {
	CustomerShare float64 `json:"customer_share"`
	RevenueShare  float64 `json:"revenue_share"`
}

// Pareto is the concentration of net revenue among customers, over all
// time, in one currency: the customers with a positive net spend, ranked
// by it (as analytics.Pareto ranks them).
type Pareto struct {
	Currency     string        `json:"currency"`
	Customers    int64         `json:"customers"`
	Revenue      int64         `json:"revenue"`
	TopFraction  float64       `json:"top_fraction"`
	TopCustomers int64         `json:"top_customers"`
	TopShare     float64       `json:"top_share"`
	Gini         float64       `json:"gini"`
	Curve        []ParetoPoint `json:"curve"` // customer shares 0, 5%, … 100%
	ComputedAt   time.Time     `json:"computed_at"`
}

// ParetoSteps is the number of segments of the curve.
const ParetoSteps = 20

// ParetoTop is the top fraction of customers whose share is reported.
const ParetoTop = 0.2

func cacheKeyPareto(cur string) string { return "pareto:" + cur }

// Pareto returns the Pareto figures of currency ("" picks the one with
// the most orders) as last computed by the worker, or computes them now
// if it has not yet.
func (s *Service) Pareto(ctx context.Context, currency string) (*Pareto, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	var out *Pareto
	err := s.read(ctx, func(tx *store.Tx) error {
		cur, err := currencies(ctx, tx)
		if err != nil {
			return err
		}
		currency = pickCurrency(currency, cur)
		p, ok, err := cached[Pareto](ctx, tx, cacheKeyPareto(currency))
		if err != nil || ok {
			out = p
			return err
		}
		out, err = computePareto(ctx, tx, currency)
		if out != nil {
			out.ComputedAt = s.now().UTC()
		}
		return err
	})
	return out, err
}

// computePareto ranks the customers' net spend, largest first, in one
// pass: the top ⌈f·n⌉ customers are the top fraction f, and the Gini
// coefficient is 1 − 2 × the area under the Lorenz curve.
func computePareto(ctx context.Context, tx *store.Tx, currency string) (*Pareto, error) {
	p := &Pareto{Currency: currency, TopFraction: ParetoTop, Curve: []ParetoPoint{}}
	n, total, err := tx.CustomerNetTotals(ctx, currency)
	if err != nil {
		return nil, err
	}
	p.Customers, p.Revenue = n, total
	if n == 0 || total <= 0 {
		return p, nil
	}
	p.TopCustomers = int64(math.Ceil(ParetoTop*float64(n) - 1e-9))
	marks := make([]int64, ParetoSteps+1) // customers at each curve point
	for i := range marks {
		marks[i] = int64(math.Ceil(float64(i)/ParetoSteps*float64(n) - 1e-9))
	}
	var (
		seen, cum int64
		weighted  float64 // Σ rank·net, ranks ascending from the smallest
		next      = 1
	)
	p.Curve = append(p.Curve, ParetoPoint{})
	err = tx.StreamCustomerNets(ctx, currency, func(net int64) error {
		if net <= 0 || seen >= n {
			return nil
		}
		seen++
		cum += net
		weighted += float64(n+1-seen) * float64(net)
		if seen == p.TopCustomers {
			p.TopShare = float64(cum) / float64(total)
		}
		for next <= ParetoSteps && marks[next] == seen {
			p.Curve = append(p.Curve, ParetoPoint{CustomerShare: float64(next) / ParetoSteps, RevenueShare: float64(cum) / float64(total)})
			next++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	nf, tf := float64(n), float64(total)
	p.Gini = 2*weighted/(nf*tf) - (nf+1)/nf
	return p, nil
}

// Liability is one club program's outstanding points and their money
// value in the program's currency.
type Liability struct {
	store.ClubLiability
	Points int64 `json:"points"` // available + pending + reserved
	Value  int64 `json:"value"`  // minor units
}

// Club is the club's outstanding points, as last computed.
type Club struct {
	Programs   []Liability `json:"programs"`
	ComputedAt time.Time   `json:"computed_at"`
}

const cacheKeyClub = "club"

// Club returns every program's outstanding points, as last computed by
// the worker (or now, the first time). It needs the club permission.
func (s *Service) Club(ctx context.Context) (*Club, error) {
	if err := crm.Authorize(ctx, crm.PermClubRead, false); err != nil {
		return nil, err
	}
	var out *Club
	err := s.read(ctx, func(tx *store.Tx) error {
		c, ok, err := cached[Club](ctx, tx, cacheKeyClub)
		if err != nil || ok {
			out = c
			return err
		}
		out, err = computeClub(ctx, tx)
		if out != nil {
			out.ComputedAt = s.now().UTC()
		}
		return err
	})
	return out, err
}

func computeClub(ctx context.Context, tx *store.Tx) (*Club, error) {
	rows, err := tx.ClubLiabilities(ctx)
	if err != nil {
		return nil, err
	}
	out := &Club{Programs: []Liability{}}
	for _, r := range rows {
		l := Liability{ClubLiability: r, Points: r.Available + r.Pending + r.Reserved}
		l.Value = pointsValue(l.Points, r.PointValue, r.ValuePoints)
		out.Programs = append(out.Programs, l)
	}
	return out, nil
}

// pointsValue is the money value of points when valuePoints points are
// worth pointValue minor units, truncated as the club computes it.
func pointsValue(points, pointValue, valuePoints int64) int64 {
	if valuePoints <= 0 || pointValue <= 0 {
		return 0
	}
	x := new(big.Int).Mul(big.NewInt(points), big.NewInt(pointValue))
	x.Quo(x, big.NewInt(valuePoints))
	if !x.IsInt64() {
		return math.MaxInt64
	}
	return x.Int64()
}

// The analytics run's figures, as the store counts them.
type (
	SegmentSize = store.SegmentSize
	SegmentMove = store.SegmentMove
	BandCount   = store.BandCount
	CLVBucket   = store.CLVBucket
)

// Scores are the figures of the customer analytics run in use: segment
// sizes, moves between segments since the run before, churn bands and the
// CLV distribution (minor units of the run's currency).
type Scores struct {
	RunID       int64               `json:"run_id"`
	Currency    string              `json:"currency"`
	ObservedTo  string              `json:"observed_to"`
	FinishedAt  *time.Time          `json:"finished_at"`
	Customers   int64               `json:"customers"`
	ModelStatus string              `json:"model_status"`
	SpendStatus string              `json:"spend_status"`
	Segments    []store.SegmentSize `json:"segments"` // in analytics.RFMSegments order
	Moves       []store.SegmentMove `json:"moves"`
	Bands       []store.BandCount   `json:"bands"`
	CLV         []store.CLVBucket   `json:"clv"`
}

func cacheKeyScores(run int64) string { return "scores:" + strconv.FormatInt(run, 10) }

// Scores returns the figures of the analytics run in use; nil when no run
// has finished yet.
func (s *Service) Scores(ctx context.Context) (*Scores, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	var out *Scores
	err := s.read(ctx, func(tx *store.Tx) error {
		id, ok, err := tx.CurrentAnalyticsRunID(ctx)
		if err != nil || !ok {
			return err
		}
		sc, ok, err := cached[Scores](ctx, tx, cacheKeyScores(id))
		if err != nil || ok {
			out = sc
			return err
		}
		out, err = computeScores(ctx, tx, id)
		return err
	})
	return out, err
}

func computeScores(ctx context.Context, tx *store.Tx, id int64) (*Scores, error) {
	run, err := tx.FindAnalyticsRun(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &Scores{RunID: id, Currency: run.Currency, ObservedTo: run.ObservedTo, FinishedAt: run.FinishedAt, Customers: run.Customers,
		ModelStatus: run.ModelStatus, SpendStatus: run.SpendStatus}
	sizes, err := tx.ScoreSegmentSizes(ctx, id)
	if err != nil {
		return nil, err
	}
	out.Segments = []store.SegmentSize{}
	for _, name := range analytics.RFMSegments {
		sz := store.SegmentSize{Segment: name}
		for _, x := range sizes {
			if x.Segment == name {
				sz = x
			}
		}
		out.Segments = append(out.Segments, sz)
	}
	if out.Moves, err = tx.ScoreSegmentMoves(ctx, id); err != nil {
		return nil, err
	}
	if out.Bands, err = tx.ScoreBandCounts(ctx, id); err != nil {
		return nil, err
	}
	_, hi, ok, err := tx.ScoreCLVRange(ctx, id)
	if err != nil {
		return nil, err
	}
	out.CLV = []store.CLVBucket{}
	if ok {
		if out.CLV, err = tx.ScoreCLVHistogram(ctx, id, clvEdges(hi)); err != nil {
			return nil, err
		}
	}
	if out.Moves == nil {
		out.Moves = []store.SegmentMove{}
	}
	if out.Bands == nil {
		out.Bands = []store.BandCount{}
	}
	return out, nil
}

// clvEdges returns the lower edges of the CLV buckets: 0, then 1-2-5
// steps from about a thousandth of the largest value up to it, since
// lifetime values have a long tail (most customers are in the first
// thousandth of the range).
func clvEdges(hi int64) []int64 {
	edges := []int64{0}
	if hi <= 0 {
		return edges
	}
	lo := max(hi/1000, 1)
	step := int64(1)
	for step*10 <= lo {
		step *= 10
	}
	for e := step; e <= hi; e *= 10 {
		for _, k := range []int64{1, 2, 5} {
			if v := e * k; v >= lo && v <= hi {
				edges = append(edges, v)
			}
		}
		if e > math.MaxInt64/10 {
			break
		}
	}
	return edges
}

// AtRisk is a valuable customer the model thinks is slipping away.
type AtRisk struct {
	ContactID  int64    `json:"contact_id"`
	Name       string   `json:"name"`
	Segment    string   `json:"segment"`
	Orders     int64    `json:"orders"`
	TotalSpent int64    `json:"total_spent"`
	LastOrder  string   `json:"last_order"` // RFC 3339
	PAlive     *float64 `json:"p_alive"`
	ChurnRisk  *float64 `json:"churn_risk"`
	CLV        *int64   `json:"clv"`
}

// ChurnRisk lists the customers of the run in use in the high churn band,
// most spent first, at most limit. It needs the contacts permission too
// (it names people).
func (s *Service) ChurnRisk(ctx context.Context, limit int) ([]AtRisk, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	out := []AtRisk{}
	err := s.read(ctx, func(tx *store.Tx) error {
		id, ok, err := tx.CurrentAnalyticsRunID(ctx)
		if err != nil || !ok {
			return err
		}
		rows, err := tx.TopChurnRisk(ctx, id, analytics.RiskHigh.String(), limit)
		if err != nil {
			return err
		}
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ContactID
		}
		names, err := tx.ContactNames(ctx, ids)
		if err != nil {
			return err
		}
		for _, r := range rows {
			out = append(out, AtRisk{ContactID: r.ContactID, Name: names[r.ContactID], Segment: r.Segment, Orders: r.Orders,
				TotalSpent: r.TotalSpent, LastOrder: r.LastOrderAt.UTC().Format(time.RFC3339), PAlive: r.PAlive, ChurnRisk: r.ChurnRisk, CLV: r.CLV})
		}
		return nil
	})
	return out, err
}

// cached reads a cached figure.
func cached[T any](ctx context.Context, tx *store.Tx, key string) (*T, bool, error) {
	body, at, ok, err := tx.ReportCache(ctx, key)
	if err != nil || !ok {
		return nil, false, err
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return nil, false, nil // recomputed by the worker
	}
	if s, ok := any(&v).(interface{ setComputedAt(time.Time) }); ok {
		s.setComputedAt(at)
	}
	return &v, true, nil
}

func (p *Pareto) setComputedAt(t time.Time) { p.ComputedAt = t }
func (c *Club) setComputedAt(t time.Time)   { c.ComputedAt = t }

// refreshCaches recomputes the cached figures that are missing or stale
// (force: all of them).
func (s *Service) refreshCaches(ctx context.Context, force bool) error {
	var (
		currencies []string
		changed    time.Time
		stale      []string
		run        int64
		hasRun     bool
	)
	now := s.now().UTC()
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		if currencies, err = tx.NetCurrencies(ctx); err != nil {
			return err
		}
		v, err := tx.ReportStateValue(ctx, stateChanged)
		if err != nil {
			return err
		}
		changed, _ = time.Parse(time.RFC3339Nano, v)
		for _, c := range currencies {
			_, at, ok, err := tx.ReportCache(ctx, cacheKeyPareto(c))
			if err != nil {
				return err
			}
			if force || !ok || at.Before(changed) && now.Sub(at) >= s.ttl {
				stale = append(stale, cacheKeyPareto(c))
			}
		}
		_, at, ok, err := tx.ReportCache(ctx, cacheKeyClub)
		if err != nil {
			return err
		}
		if force || !ok || now.Sub(at) >= s.ttl {
			stale = append(stale, cacheKeyClub)
		}
		if run, hasRun, err = tx.CurrentAnalyticsRunID(ctx); err != nil || !hasRun {
			return err
		}
		if _, _, ok, err = tx.ReportCache(ctx, cacheKeyScores(run)); err != nil {
			return err
		}
		if force || !ok {
			stale = append(stale, cacheKeyScores(run))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, key := range stale {
		var v any
		started := time.Now()
		err := s.read(ctx, func(tx *store.Tx) error {
			var err error
			switch {
			case key == cacheKeyClub:
				v, err = computeClub(ctx, tx)
			case key == cacheKeyScores(run):
				v, err = computeScores(ctx, tx, run)
			default:
				v, err = computePareto(ctx, tx, key[len("pareto:"):])
			}
			return err
		})
		if err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return err
		}
		err = s.db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.PutReportCache(ctx, key, string(body)); err != nil {
				return err
			}
			if key == cacheKeyScores(run) {
				return tx.DeleteReportCacheExcept(ctx, "scores:", key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.log.Debug("report: cached figure recomputed", "key", key, "took", time.Since(started).Round(time.Millisecond))
	}
	return nil
}
