package analytics

import (
	"math"
	"runtime"
	"sync"

	"gonum.org/v1/gonum/mathext"

	"github.com/pivand/pivand/internal/crm"
)

// CLVOptions set the customer-lifetime-value horizon the way lifetimes'
// customer_lifetime_value does: Months monthly steps of PeriodsPerMonth
// periods, each month's expected revenue discounted at DiscountRate per
// month.
type CLVOptions struct {
	Months          int     // horizon in months (lifetimes' time), e.g. 12
	DiscountRate    float64 // per month, e.g. 0.01
	PeriodsPerMonth float64 // 30 for days, 4.345 for weeks (Period.PerMonth)
}

func (o CLVOptions) check() error {
	switch {
	case o.Months < 0 || o.Months > 1200:
		return crm.Errorf(crm.EINVALID, "the CLV horizon %d is not between 0 and 1200 months", o.Months)
	case !(o.DiscountRate > -1) || math.IsInf(o.DiscountRate, 0):
		return crm.Errorf(crm.EINVALID, "the discount rate %v is not above −1", o.DiscountRate)
	case !(o.PeriodsPerMonth > 0) || math.IsInf(o.PeriodsPerMonth, 0):
		return crm.Errorf(crm.EINVALID, "periods per month %v is not above 0", o.PeriodsPerMonth)
	}
	return nil
}

// CLV is a customer's lifetime value over the horizon, exactly as
// lifetimes' GammaGammaFitter.customer_lifetime_value computes it:
//
//	CLV = Σ_{i=1..Months} E[M] · (E[Y(i·f)] − E[Y((i−1)·f)]) / (1+d)^i
//
// where f is PeriodsPerMonth, d the monthly discount rate, E[Y(t)] the
// BG/NBD conditional expected purchases in the next t periods and E[M] the
// Gamma-Gamma expected average value given (x, m̄). Revenue expected in
// month i is discounted as if received at the end of month i.
func CLV(m BGNBD, gg GammaGamma, s Summary, opt CLVOptions) float64 {
	disc, _ := m.discountedSecond(s.Frequency, s.T, opt)
	return gg.ExpectedAverageValue(s.Frequency, s.MonetaryValue) * m.firstTerm(s.Frequency) * disc * m.ProbabilityAlive(s.Frequency, s.Recency, s.T)
}

// The conditional expectation factors as
//
//	E[Y(t) | x, t_x, T] = first(x) · second(x, T, t) · P(alive | x, t_x, T)
//
// with first = (a+b+x−1)/(a−1) and second = 1 − ₂F₁(r+x, b+x; a+b+x−1;
// z)·((α+T)/(α+T+t))^(r+x), z = t/(α+T+t): lifetimes' numerator/denominator
// with the denominator 1 + [x>0]·a/(b+x−1)·((α+T)/(α+t_x))^(r+x) =
// 1/P(alive). Only second needs ₂F₁, and it does not depend on t_x, so
// scoring evaluates it once per distinct (x, T).

func (m BGNBD) firstTerm(x int) float64 { return (m.A + m.B + float64(x) - 1) / (m.A - 1) }

// secondTerms sets out[i] = second(x, T, ts[i]).
func (m BGNBD) secondTerms(x int, T float64, ts, out []float64) {
	var zbuf [24]float64
	zs := zbuf[:0]
	for _, t := range ts {
		zs = append(zs, t/(m.Alpha+T+t))
	}
	m.lnHypConditional(x, zs, out)
	rx := m.R + float64(x)
	for i, t := range ts {
		out[i] = 1 - math.Exp(out[i]+rx*math.Log((m.Alpha+T)/(m.Alpha+t+T)))
	}
}

// discountedSecond is Σ_i (second(i·f) − second((i−1)·f)) / (1+d)^i over
// the CLV horizon, and second(Months·f).
func (m BGNBD) discountedSecond(x int, T float64, opt CLVOptions) (sum, last float64) {
	n := opt.Months
	if n == 0 {
		return 0, 0
	}
	var buf [2 * 24]float64
	ts, sec := buf[:0:24], buf[24:24]
	if n > 24 {
		ts, sec = make([]float64, 0, n), make([]float64, 0, n)
	}
	for i := 1; i <= n; i++ {
		ts = append(ts, float64(i)*opt.PeriodsPerMonth)
	}
	sec = sec[:n]
	m.secondTerms(x, T, ts, sec)
	prev, disc := 0.0, 1.0
	for _, v := range sec {
		disc *= 1 + opt.DiscountRate
		sum += (v - prev) / disc
		prev = v
	}
	return sum, prev
}

// lnHypConditional sets out[i] to ln ₂F₁(r+x, b+x; a+b+x−1; zs[i]) with
// lifetimes' fallback to the Euler transformation when the log is
// infinite.
func (m BGNBD) lnHypConditional(x int, zs, out []float64) {
	xf := float64(x)
	aa, bb, cc := m.R+xf, m.B+xf, m.A+m.B+xf-1
	hyp2f1Many(aa, bb, cc, zs, out)
	for i, h := range out {
		if l := math.Log(h); !math.IsInf(l, 0) {
			out[i] = l
		} else {
			out[i] = math.Log(mathext.Hypergeo(cc-aa, cc-bb, cc, zs[i])) + (cc-aa-bb)*math.Log1p(-zs[i])
		}
	}
}

// hyp2f1Many sets out[i] = ₂F₁(a, b; c; zs[i]). Where Cephes (and so
// scipy.special.hyp2f1, which lifetimes calls, and gonum's
// mathext.Hypergeo) would sum the defining power series — a, b, c > 0, not
// a = c or b = c, 0 ≤ z ≤ 0.9 — the series for every z are summed together,
// sharing each term's coefficient (a)ₖ(b)ₖ/((c)ₖ k!), with Cephes'
// stopping rule per z (|term/sum| ≤ 2⁻⁵³). Other arguments go to
// mathext.Hypergeo one by one.
func hyp2f1Many(a, b, c float64, zs, out []float64) {
	const machEp = 1.11022302462515654042e-16
	const eps = 1e-13
	series := a > 0 && b > 0 && c > 0 && math.Abs(b-c) >= eps && math.Abs(a-c) >= eps
	var ubuf [24]float64
	u := ubuf[:0]
	if len(zs) > len(ubuf) {
		u = make([]float64, 0, len(zs))
	}
	live := 0
	for i, z := range zs {
		out[i] = 1
		u = append(u, 1)
		switch {
		case z == 0:
			u[i] = 0
		case series && z > 0 && z <= 0.9:
			live++
		default:
			out[i] = mathext.Hypergeo(a, b, c, z)
			u[i] = 0
		}
	}
	for k := 0.0; live > 0 && k < 10000; k++ {
		m := k + 1
		ratio := (a + k) * (b + k) / ((c + k) * m)
		for i, ui := range u {
			if ui == 0 {
				continue
			}
			ui *= ratio * zs[i]
			out[i] += ui
			if math.Abs(ui) <= machEp*math.Abs(out[i]) {
				ui = 0
				live--
			}
			u[i] = ui
		}
	}
}

// Score is what the models say about one customer.
type Score struct {
	// ExpectedPurchases is E[Y(t)], the expected number of purchases in the
	// next ScoreOptions.Periods periods.
	ExpectedPurchases float64  `json:"expected_purchases"`
	PAlive            float64  `json:"p_alive"`
	ChurnRisk         float64  `json:"churn_risk"`
	RiskBand          RiskBand `json:"risk_band"`
	// ExpectedValue is E[M | x, m̄], the expected value of a future
	// purchase, and CLV the lifetime value over the CLV horizon; both are
	// NaN when no Gamma-Gamma model was given.
	ExpectedValue float64 `json:"expected_value"`
	CLV           float64 `json:"clv"`
}

// ScoreOptions control ScoreCustomers.
type ScoreOptions struct {
	Periods float64 // horizon of ExpectedPurchases, in periods
	CLV     CLVOptions
	Bands   ChurnBands // zero value: DefaultChurnBands
}

// ScoreCustomers scores every row: E[Y(Periods)], P(alive), churn risk
// and band, and, with a Gamma-Gamma model, E[M] and CLV. The
// hypergeometric part is computed once per distinct (x, T); the work is
// spread over all cores.
func ScoreCustomers(m BGNBD, gg *GammaGamma, rows []Summary, opt ScoreOptions) ([]Score, error) {
	if err := opt.CLV.check(); err != nil {
		return nil, err
	}
	if !(opt.Periods >= 0) || math.IsInf(opt.Periods, 0) {
		return nil, crm.Errorf(crm.EINVALID, "the prediction horizon %v is not a time ≥ 0", opt.Periods)
	}
	bands := opt.Bands
	if bands == (ChurnBands{}) {
		bands = DefaultChurnBands
	}
	if err := bands.check(); err != nil {
		return nil, err
	}
	for i, s := range rows {
		if err := checkSummary(s); err != nil {
			return nil, crm.Errorf(crm.EINVALID, "customer %d (%s): %s", i+1, s.Customer, crm.ErrorMessage(err))
		}
	}
	keys, of := uniqueXT(rows)
	// The expected-purchases horizon usually equals the CLV horizon; then
	// its second term comes with the CLV sums at no extra cost.
	sameT := gg != nil && opt.CLV.Months > 0 && opt.Periods == float64(opt.CLV.Months)*opt.CLV.PeriodsPerMonth
	sec := make([]float64, len(keys))  // second(x, T, Periods)
	dsec := make([]float64, len(keys)) // discounted CLV sum of second
	parallelFor(len(keys), func(lo, hi int) {
		ts, out := []float64{opt.Periods}, []float64{0}
		for j := lo; j < hi; j++ {
			k := keys[j]
			if gg != nil {
				var last float64
				dsec[j], last = m.discountedSecond(k.x, k.t, opt.CLV)
				if sameT {
					sec[j] = last
					continue
				}
			}
			m.secondTerms(k.x, k.t, ts, out)
			sec[j] = out[0]
		}
	})
	out := make([]Score, len(rows))
	parallelFor(len(rows), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			s := rows[i]
			j := of[i]
			pa := m.ProbabilityAlive(s.Frequency, s.Recency, s.T)
			first := m.firstTerm(s.Frequency)
			sc := Score{ExpectedPurchases: first * sec[j] * pa, PAlive: pa, ChurnRisk: 1 - pa, ExpectedValue: math.NaN(), CLV: math.NaN()}
			sc.RiskBand = bands.Band(sc.ChurnRisk)
			if gg != nil {
				sc.ExpectedValue = gg.ExpectedAverageValue(s.Frequency, s.MonetaryValue)
				sc.CLV = sc.ExpectedValue * first * dsec[j] * pa
			}
			out[i] = sc
		}
	})
	return out, nil
}

// xtKey is a distinct (frequency, T) pair.
type xtKey struct {
	x int
	t float64
}

// uniqueXT numbers the distinct (x, T) pairs: keys[of[i]] is row i's.
func uniqueXT(rows []Summary) (keys []xtKey, of []int32) {
	of = make([]int32, len(rows))
	idx := make(map[[2]uint64]int32)
	for i, s := range rows {
		k := [2]uint64{uint64(s.Frequency), math.Float64bits(s.T + 0)}
		j, ok := idx[k]
		if !ok {
			j = int32(len(keys))
			idx[k] = j
			keys = append(keys, xtKey{s.Frequency, s.T})
		}
		of[i] = j
	}
	return keys, of
}

// parallelFor runs fn over [0,n) in pieces on all cores.
func parallelFor(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 4096 || workers == 1 {
		fn(0, n)
		return
	}
	const piece = 2048
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				lo := next
				next += piece
				mu.Unlock()
				if lo >= int64(n) {
					return
				}
				fn(int(lo), min(int(lo)+piece, n))
			}
		})
	}
	wg.Wait()
}
