package analytics

import (
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/pivand/pivand/internal/crm"
)

// BGNBD is the beta-geometric/negative-binomial model of repeat buying
// (Fader, Hardie & Lee 2005, "Counting your customers the easy way",
// Marketing Science 24(2)): while alive a customer buys at a Poisson rate
// λ ~ Gamma(R, Alpha); after every purchase they drop out with probability
// p ~ Beta(A, B). Alpha is in units of the summary's time unit.
type BGNBD struct {
	R     float64 `json:"r"`
	Alpha float64 `json:"alpha"`
	A     float64 `json:"a"`
	B     float64 `json:"b"`
}

// BGNBDFit is a fitted BG/NBD model.
type BGNBDFit struct {
	BGNBD
	// LogLikelihood is Σ log L over the customers, in natural units (the
	// figure papers, BTYD and lifetimes' −n·LL report).
	LogLikelihood float64 `json:"log_likelihood"`
	// StdErr holds the asymptotic standard errors of r, α, a, b (from the
	// observed information); nil if the Hessian was not positive definite.
	StdErr    []float64 `json:"std_err,omitempty"`
	Customers int       `json:"customers"`
	// UniqueRows is the number of distinct (x, t_x, T) rows the likelihood
	// was evaluated over (identical rows are weighted).
	UniqueRows int      `json:"unique_rows"`
	Fit        FitStats `json:"fit"`
}

// bgnbdData is the likelihood's input: unique (x, t_x, T) rows of the
// repeat buyers with weights, the weights of the one-time buyers by T, and
// the tables of distinct x, t_x and T values the rows index, so that per
// evaluation each log and log-gamma is taken once per distinct value
// rather than once per customer.
type bgnbdData struct {
	xs        []float64 // distinct frequencies
	wx        []float64 // total weight per distinct frequency
	txs, ts   []float64 // distinct recencies and ages, in scaled time
	w0        []float64 // weight of customers with x = 0, by index into ts
	xi        []int32   // repeat buyers: unique rows
	txi, ti   []int32
	w         []float64
	weight    float64 // Σ w
	sumWX     float64 // Σ w·x
	scale     float64 // time scale applied to t_x and T
	customers int
}

// valueIndex numbers distinct float64 values in order of appearance.
type valueIndex struct {
	m    map[uint64]int32
	vals []float64
}

func (v *valueIndex) index(x float64) int32 {
	if x == 0 {
		x = 0 // -0 → +0
	}
	k := math.Float64bits(x)
	j, ok := v.m[k]
	if !ok {
		j = int32(len(v.vals))
		v.m[k] = j
		v.vals = append(v.vals, x)
	}
	return j
}

func newBGNBDData(rows []Summary) (*bgnbdData, error) {
	if len(rows) == 0 {
		return nil, crm.Errorf(crm.EINVALID, "no customers to fit")
	}
	d := &bgnbdData{customers: len(rows)}
	txIdx := valueIndex{m: map[uint64]int32{}}
	tIdx := valueIndex{m: map[uint64]int32{}}
	xIdx := map[int]int32{}
	// Repeat buyers' rows keyed by (x index, t_x index, T index) packed in
	// 64 bits when the indexes fit, which they do unless a file has more
	// than two million distinct recencies.
	uniq := map[uint64]int32{}
	uniqWide := map[[3]int32]int32{}
	maxT := 0.0
	for i, s := range rows {
		if err := checkSummary(s); err != nil {
			return nil, crm.Errorf(crm.EINVALID, "customer %d (%s): %s", i+1, s.Customer, crm.ErrorMessage(err))
		}
		maxT = max(maxT, s.T)
		ti := tIdx.index(s.T)
		if int(ti) >= len(d.w0) {
			d.w0 = append(d.w0, 0)
		}
		xj, ok := xIdx[s.Frequency]
		if !ok {
			xj = int32(len(d.xs))
			xIdx[s.Frequency] = xj
			d.xs = append(d.xs, float64(s.Frequency))
			d.wx = append(d.wx, 0)
		}
		d.wx[xj]++
		d.weight++
		d.sumWX += float64(s.Frequency)
		if s.Frequency == 0 {
			d.w0[ti]++
			continue
		}
		txi := txIdx.index(s.Recency)
		var j int32
		if xj < 1<<20 && txi < 1<<22 && ti < 1<<22 {
			key := uint64(xj)<<44 | uint64(txi)<<22 | uint64(ti)
			j, ok = uniq[key]
			if !ok {
				j = int32(len(d.w))
				uniq[key] = j
			}
		} else {
			key := [3]int32{xj, txi, ti}
			j, ok = uniqWide[key]
			if !ok {
				j = int32(len(d.w))
				uniqWide[key] = j
			}
		}
		if !ok {
			d.xi = append(d.xi, xj)
			d.txi = append(d.txi, txi)
			d.ti = append(d.ti, ti)
			d.w = append(d.w, 0)
		}
		d.w[j]++
	}
	if len(d.w) == 0 {
		return nil, crm.Errorf(crm.EINVALID, "cannot fit the BG/NBD model: no customer has a repeat purchase")
	}
	if maxT <= 0 {
		return nil, crm.Errorf(crm.EINVALID, "cannot fit the BG/NBD model: every T is 0")
	}
	d.scale = 10 / maxT
	d.ts, d.txs = tIdx.vals, txIdx.vals
	for i := range d.ts {
		d.ts[i] *= d.scale
	}
	for i := range d.txs {
		d.txs[i] *= d.scale
	}
	return d, nil
}

// uniqueRows is the number of distinct (x, t_x, T) rows.
func (d *bgnbdData) uniqueRows() int {
	n := len(d.w)
	for _, w := range d.w0 {
		if w > 0 {
			n++
		}
	}
	return n
}

func checkSummary(s Summary) error {
	switch {
	case s.Frequency < 0:
		return crm.Errorf(crm.EINVALID, "frequency %d is negative", s.Frequency)
	case !(s.Recency >= 0) || math.IsInf(s.Recency, 0):
		return crm.Errorf(crm.EINVALID, "recency %v is not a time ≥ 0", s.Recency)
	case !(s.T >= s.Recency) || math.IsInf(s.T, 0):
		return crm.Errorf(crm.EINVALID, "T %v is not a time ≥ recency %v", s.T, s.Recency)
	case s.Frequency == 0 && s.Recency != 0:
		return crm.Errorf(crm.EINVALID, "recency %v with frequency 0", s.Recency)
	}
	return nil
}

// negLL is the negative mean log-likelihood at log-parameters
// lp = log(r, α_scaled, a, b) and its gradient with respect to lp.
//
// Per customer, with A₁…A₄ as in lifetimes' BetaGeoFitter:
//
//	A₁ = lnΓ(r+x) − lnΓ(r) + r·ln α
//	A₂ = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//	A₃ = −(r+x)·ln(α+T)
//	A₄ = ln a − ln(b+max(x,1)−1) − (r+x)·ln(α+t_x)
//	ln L = A₁ + A₂ + ln(e^A₃ + [x>0]·e^A₄)
//
// The last term is max(A₃,A₄) + ln(1+e^−|A₃−A₄|), written as
// max(A₃,A₄) − ln(max(w₃,w₄)) with w₃ = 1/(1+e^(A₄−A₃)) and w₄ = 1−w₃
// (w₃ and w₄ are also the weights of the two terms in the gradient), so
// that each repeat buyer costs one exp and almost no branches.
func (d *bgnbdData) negLL(lp, grad []float64) float64 {
	r, alpha, a, b := math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2]), math.Exp(lp[3])
	nx := len(d.xs)
	rx := make([]float64, nx)
	kx := make([]float64, nx)  // ln a − ln(b+x−1), x > 0
	dkb := make([]float64, nx) // ∂kx/∂b
	var ll, gr, ga, gaa, gb float64
	lgr, lab, lb := lgamma(r), lgamma(a+b), lgamma(b)
	psr, psab, psb := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	la := math.Log(alpha)
	for k, x := range d.xs {
		W := d.wx[k]
		rx[k] = r + x
		ll += W * (lgamma(r+x) - lgr + r*la)
		gr += W * (mathext.Digamma(r+x) - psr + la)
		ga += W * r / alpha
		if x > 0 {
			psabx := mathext.Digamma(a + b + x)
			ll += W * (lab + lgamma(b+x) - lb - lgamma(a+b+x))
			gaa += W * (psab - psabx)
			gb += W * (psab + mathext.Digamma(b+x) - psb - psabx)
			kx[k] = math.Log(a) - math.Log(b+x-1)
			dkb[k] = -1 / (b + x - 1)
		}
	}
	lT, iT := make([]float64, len(d.ts)), make([]float64, len(d.ts))
	for j, t := range d.ts {
		lT[j], iT[j] = math.Log(alpha+t), 1/(alpha+t)
		if w0 := d.w0[j]; w0 > 0 { // one-time buyers: ln L = A₁ + A₃
			ll -= w0 * r * lT[j]
			gr -= w0 * lT[j]
			ga -= w0 * r * iT[j]
		}
	}
	lTx, iTx := make([]float64, len(d.txs)), make([]float64, len(d.txs))
	for j, t := range d.txs {
		lTx[j], iTx[j] = math.Log(alpha+t), 1/(alpha+t)
	}
	var acc [5]float64
	parallelSum(len(d.w), 5, acc[:], func(lo, hi int, out []float64) {
		var sll, sr, sal, s4, sb float64
		xi, ti, txi, ws := d.xi[lo:hi], d.ti[lo:hi], d.txi[lo:hi], d.w[lo:hi]
		// ln max(w₃,w₄) is summed as the log of a running product of the
		// max(w₃,w₄) ∈ [½,1], taken every 32 rows: one log per 32
		// customers instead of one each (the product stays ≥ 2⁻³²).
		prod, inProd := 1.0, 0
		for i, w := range ws {
			k, t, tx := xi[i], ti[i], txi[i]
			rxk := rx[k]
			lt, ltx := lT[t], lTx[tx]
			a3 := -rxk * lt
			a4 := kx[k] - rxk*ltx
			diff := a3 - a4
			w3 := 1 / (1 + math.Exp(-diff))
			w4 := 1 - w3
			big := max(w3, w4)
			sll += w * 0.5 * (a3 + a4 + math.Abs(diff))
			if w != 1 {
				sll -= (w - 1) * math.Log(big)
			}
			prod *= big
			if inProd++; inProd == 32 {
				sll -= math.Log(prod)
				prod, inProd = 1, 0
			}
			sr -= w * (w3*lt + w4*ltx)
			sal -= w * rxk * (w3*iT[t] + w4*iTx[tx])
			s4 += w * w4
			sb += w * w4 * dkb[k]
		}
		sll -= math.Log(prod)
		out[0], out[1], out[2], out[3], out[4] = sll, sr, sal, s4, sb
	})
	ll += acc[0]
	gr += acc[1]
	ga += acc[2]
	gaa += acc[3] / a
	gb += acc[4]
	if grad != nil {
		grad[0] = -gr * r / d.weight
		grad[1] = -ga * alpha / d.weight
		grad[2] = -gaa * a / d.weight
		grad[3] = -gb * b / d.weight
	}
	return -ll / d.weight
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// FitBGNBD fits the BG/NBD model by maximum likelihood: BFGS in
// log-parameter space from r = α = a = b = 1 (α in time scaled so the
// largest T is 10, as lifetimes does), with the analytic gradient,
// evaluated over weighted unique (x, t_x, T) rows on all cores.
func FitBGNBD(rows []Summary) (BGNBDFit, error) {
	d, err := newBGNBDData(rows)
	if err != nil {
		return BGNBDFit{}, err
	}
	lp, hess, stats, err := minimizeLog(d.negLL, []float64{0, 0, 0, 0})
	if err != nil {
		return BGNBDFit{}, err
	}
	fit := BGNBDFit{
		BGNBD:      BGNBD{R: math.Exp(lp[0]), Alpha: math.Exp(lp[1]) / d.scale, A: math.Exp(lp[2]), B: math.Exp(lp[3])},
		Customers:  d.customers,
		UniqueRows: d.uniqueRows(),
		Fit:        stats,
	}
	// −n·mean in scaled time, shifted to natural units: each customer's
	// likelihood is a density in time over its x purchases, so scaling time
	// by s multiplies it by s^−x.
	fit.LogLikelihood = -d.negLL(lp, nil)*d.weight + d.sumWX*math.Log(d.scale)
	if se := standardErrors(hess, lp, d.weight); se != nil {
		se[1] /= d.scale
		fit.StdErr = se
	}
	for _, v := range []float64{fit.R, fit.Alpha, fit.A, fit.B} {
		if !(v > 0) || math.IsInf(v, 0) {
			return BGNBDFit{}, crm.Errorf(crm.EINVALID, "the BG/NBD fit did not converge (r=%g α=%g a=%g b=%g)", fit.R, fit.Alpha, fit.A, fit.B)
		}
	}
	return fit, nil
}

// LogLikelihood is Σ ln L over rows at m, in natural units.
func (m BGNBD) LogLikelihood(rows []Summary) (float64, error) {
	d, err := newBGNBDData(rows)
	if err != nil {
		return 0, err
	}
	lp := []float64{math.Log(m.R), math.Log(m.Alpha * d.scale), math.Log(m.A), math.Log(m.B)}
	return -d.negLL(lp, nil)*d.weight + d.sumWX*math.Log(d.scale), nil
}

// ExpectedPurchases is E[X(t)], the expected number of purchases of a
// customer in the first t periods after their first purchase (FHL 2005
// eq. 9; lifetimes expected_number_of_purchases_up_to_time).
func (m BGNBD) ExpectedPurchases(t float64) float64 {
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	hyp := mathext.Hypergeo(r, b, a+b-1, t/(alpha+t))
	return (a + b - 1) / (a - 1) * (1 - hyp*math.Pow(alpha/(alpha+t), r))
}

// ConditionalExpectedPurchases is E[Y(t) | x, t_x, T], the expected number
// of purchases in the next t periods of a customer with frequency x,
// recency t_x and age T (FHL 2005 eq. 10; lifetimes
// conditional_expected_number_of_purchases_up_to_time, including its
// fallback to the Euler transformation of ₂F₁ when ln ₂F₁ overflows).
func (m BGNBD) ConditionalExpectedPurchases(t float64, x int, tx, T float64) float64 {
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	xf := float64(x)
	aa, bb, cc := r+xf, b+xf, a+b+xf-1
	z := t / (alpha + T + t)
	lnHyp := math.Log(mathext.Hypergeo(aa, bb, cc, z))
	if math.IsInf(lnHyp, 0) {
		lnHyp = math.Log(mathext.Hypergeo(cc-aa, cc-bb, cc, z)) + (cc-aa-bb)*math.Log1p(-z)
	}
	return m.conditionalFromLnHyp(lnHyp, t, x, tx, T)
}

func (m BGNBD) conditionalFromLnHyp(lnHyp, t float64, x int, tx, T float64) float64 {
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	xf := float64(x)
	first := (a + b + xf - 1) / (a - 1)
	second := 1 - math.Exp(lnHyp+(r+xf)*math.Log((alpha+T)/(alpha+t+T)))
	den := 1.0
	if x > 0 {
		den += a / (b + xf - 1) * math.Pow((alpha+T)/(alpha+tx), r+xf)
	}
	return first * second / den
}

// ProbabilityAlive is P(alive | x, t_x, T) (Fader, Hardie & Lee 2008,
// "Computing P(alive) using the BG/NBD model"; lifetimes
// conditional_probability_alive): 1 for x = 0, else
// 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), computed as a logistic.
func (m BGNBD) ProbabilityAlive(x int, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	xf := float64(x)
	logDiv := (m.R+xf)*math.Log((m.Alpha+T)/(m.Alpha+tx)) + math.Log(m.A/(m.B+xf-1))
	return 1 / (1 + math.Exp(logDiv))
}

// ProbabilityOfPurchases is P(X(t) = n), the probability that a new
// customer makes n repeat purchases in t periods (FHL 2005 eq. 8; lifetimes
// probability_of_n_purchases_up_to_time), with every gamma and beta
// function taken in log space.
func (m BGNBD) ProbabilityOfPurchases(t float64, n int) float64 {
	switch {
	case n < 0:
		return 0
	case t == 0 && n == 0:
		return 1
	case t == 0:
		return 0
	}
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	nf := float64(n)
	lbetaAB := lbeta(a, b)
	lq := math.Log(alpha / (alpha + t)) // ln(α/(α+t))
	lz := math.Log(t / (alpha + t))     // ln(t/(α+t))
	first := math.Exp(lbeta(a, b+nf) - lbetaAB + lgamma(r+nf) - lgamma(r) - lgamma(nf+1) + r*lq + nf*lz)
	if n == 0 {
		return first
	}
	sum := 0.0
	for j := range n {
		jf := float64(j)
		sum += math.Exp(lgamma(r+jf) - lgamma(r) - lgamma(jf+1) + jf*lz)
	}
	second := math.Exp(lbeta(a+1, b+nf-1)-lbetaAB) * (1 - math.Exp(r*lq)*sum)
	return first + second
}

func lbeta(a, b float64) float64 { return lgamma(a) + lgamma(b) - lgamma(a+b) }
