package analytics

import (
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/pivand/pivand/internal/crm"
)

// GammaGamma is the Gamma-Gamma model of spend per transaction (Fader,
// Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The Gamma-Gamma
// model of monetary value"): a customer's transaction values are
// Gamma(P, ν) with ν ~ Gamma(Q, V) across customers, independent of the
// purchase process. V is in the currency's units (the papers' γ).
type GammaGamma struct {
	P float64 `json:"p"`
	Q float64 `json:"q"`
	V float64 `json:"v"`
}

// GammaGammaFit is a fitted Gamma-Gamma model.
type GammaGammaFit struct {
	GammaGamma
	LogLikelihood float64   `json:"log_likelihood"`
	StdErr        []float64 `json:"std_err,omitempty"`
	// Customers is the number of repeat buyers the model was fitted on;
	// Skipped counts repeat buyers left out because their mean repeat
	// value is 0 (the model's spend is strictly positive).
	Customers  int      `json:"customers"`
	Skipped    int      `json:"skipped,omitempty"`
	UniqueRows int      `json:"unique_rows"`
	Fit        FitStats `json:"fit"`
}

type ggData struct {
	xs     []float64 // distinct frequencies
	wx     []float64 // weight per distinct frequency
	x, m   []float64 // unique (x, m̄) rows, m̄ scaled
	w      []float64
	weight float64
	// Parameter-free sums: Σw·x·ln m̄, Σw·ln m̄, Σw·x·ln x.
	sumXLnM, sumLnM, sumXLnX float64
	scale                    float64 // m̄ is divided by scale (its mean)
	skipped                  int
}

func newGGData(rows []Summary) (*ggData, error) {
	d := &ggData{}
	type key struct {
		x int
		m uint64
	}
	uniq := map[key]int32{}
	xIdx := map[int]int{}
	sumM := 0.0
	for i, s := range rows {
		if s.Frequency <= 0 {
			continue
		}
		if !(s.MonetaryValue >= 0) || math.IsInf(s.MonetaryValue, 0) {
			return nil, crm.Errorf(crm.EINVALID, "customer %d (%s): monetary value %v is not a number ≥ 0", i+1, s.Customer, s.MonetaryValue)
		}
		if s.MonetaryValue == 0 {
			d.skipped++
			continue
		}
		k := key{s.Frequency, math.Float64bits(s.MonetaryValue)}
		j, ok := uniq[k]
		if !ok {
			j = int32(len(d.w))
			uniq[k] = j
			d.x = append(d.x, float64(s.Frequency))
			d.m = append(d.m, s.MonetaryValue)
			d.w = append(d.w, 0)
		}
		d.w[j]++
		xj, ok := xIdx[s.Frequency]
		if !ok {
			xj = len(d.xs)
			xIdx[s.Frequency] = xj
			d.xs = append(d.xs, float64(s.Frequency))
			d.wx = append(d.wx, 0)
		}
		d.wx[xj]++
		d.weight++
		sumM += s.MonetaryValue
	}
	if d.weight == 0 {
		return nil, crm.Errorf(crm.EINVALID, "cannot fit the Gamma-Gamma model: no customer has a repeat purchase with a value above 0")
	}
	d.scale = sumM / d.weight
	for i := range d.m {
		d.m[i] /= d.scale
		lm := math.Log(d.m[i])
		d.sumXLnM += d.w[i] * d.x[i] * lm
		d.sumLnM += d.w[i] * lm
		d.sumXLnX += d.w[i] * d.x[i] * math.Log(d.x[i])
	}
	return d, nil
}

// negLL is the negative mean log-likelihood at lp = log(p, q, v_scaled)
// and its gradient. Per customer (lifetimes' GammaGammaFitter):
//
//	ln L = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q·ln v + (px−1)·ln m̄ + px·ln x − (px+q)·ln(x·m̄+v)
func (d *ggData) negLL(lp, grad []float64) float64 {
	p, q, v := math.Exp(lp[0]), math.Exp(lp[1]), math.Exp(lp[2])
	var ll, gp, gq, gv float64
	lgq, psq := lgamma(q), mathext.Digamma(q)
	for k, x := range d.xs {
		W := d.wx[k]
		ll += W * (lgamma(p*x+q) - lgamma(p*x) - lgq)
		ps := mathext.Digamma(p*x + q)
		gp += W * x * (ps - mathext.Digamma(p*x))
		gq += W * (ps - psq)
	}
	lv := math.Log(v)
	ll += d.weight*q*lv + p*d.sumXLnM - d.sumLnM + p*d.sumXLnX
	gp += d.sumXLnM + d.sumXLnX
	gq += d.weight * lv
	gv += d.weight * q / v
	var acc [4]float64
	parallelSum(len(d.w), 4, acc[:], func(lo, hi int, out []float64) {
		var sxl, sl, sxi, si float64
		xs, ms, ws := d.x[lo:hi], d.m[lo:hi], d.w[lo:hi]
		for i, w := range ws {
			x := xs[i]
			u := x*ms[i] + v
			l, inv := math.Log(u), 1/u
			sxl += w * x * l
			sl += w * l
			sxi += w * x * inv
			si += w * inv
		}
		out[0], out[1], out[2], out[3] = sxl, sl, sxi, si
	})
	ll -= p*acc[0] + q*acc[1]
	gp -= acc[0]
	gq -= acc[1]
	gv -= p*acc[2] + q*acc[3]
	if grad != nil {
		grad[0] = -gp * p / d.weight
		grad[1] = -gq * q / d.weight
		grad[2] = -gv * v / d.weight
	}
	return -ll / d.weight
}

// FitGammaGamma fits the Gamma-Gamma model by maximum likelihood on the
// customers with Frequency > 0 (their MonetaryValue is the mean value of
// their repeat purchases): BFGS in log-parameter space from p = q = 1 and
// v = the mean spend, with the analytic gradient.
func FitGammaGamma(rows []Summary) (GammaGammaFit, error) {
	d, err := newGGData(rows)
	if err != nil {
		return GammaGammaFit{}, err
	}
	lp, hess, stats, err := minimizeLog(d.negLL, []float64{0, 0, 0})
	if err != nil {
		return GammaGammaFit{}, err
	}
	fit := GammaGammaFit{
		GammaGamma: GammaGamma{P: math.Exp(lp[0]), Q: math.Exp(lp[1]), V: math.Exp(lp[2]) * d.scale},
		Customers:  int(d.weight),
		Skipped:    d.skipped,
		UniqueRows: len(d.w),
		Fit:        stats,
	}
	// Scaling m̄ and v by c multiplies each density by 1/c.
	fit.LogLikelihood = -d.negLL(lp, nil)*d.weight - d.weight*math.Log(d.scale)
	if se := standardErrors(hess, lp, d.weight); se != nil {
		se[2] *= d.scale
		fit.StdErr = se
	}
	for _, v := range []float64{fit.P, fit.Q, fit.V} {
		if !(v > 0) || math.IsInf(v, 0) {
			return GammaGammaFit{}, crm.Errorf(crm.EINVALID, "the Gamma-Gamma fit did not converge (p=%g q=%g v=%g)", fit.P, fit.Q, fit.V)
		}
	}
	return fit, nil
}

// LogLikelihood is Σ ln L over the repeat buyers of rows at m.
func (m GammaGamma) LogLikelihood(rows []Summary) (float64, error) {
	d, err := newGGData(rows)
	if err != nil {
		return 0, err
	}
	lp := []float64{math.Log(m.P), math.Log(m.Q), math.Log(m.V / d.scale)}
	return -d.negLL(lp, nil)*d.weight - d.weight*math.Log(d.scale), nil
}

// PopulationMean is the mean spend per transaction across customers,
// p·v/(q−1) (infinite when q ≤ 1).
func (m GammaGamma) PopulationMean() float64 {
	if m.Q <= 1 {
		return math.Inf(1)
	}
	return m.P * m.V / (m.Q - 1)
}

// ExpectedAverageValue is E[M | x, m̄], the expected mean value of a
// customer's future transactions given x repeat purchases of mean value m̄
// (lifetimes conditional_expected_average_profit): a weighted average of
// the population mean and m̄ with weight px/(px+q−1) on m̄. For x = 0 it is
// the population mean.
func (m GammaGamma) ExpectedAverageValue(x int, mean float64) float64 {
	xf := float64(x)
	wInd := m.P * xf / (m.P*xf + m.Q - 1)
	return (1-wInd)*m.PopulationMean() + wInd*mean
}
