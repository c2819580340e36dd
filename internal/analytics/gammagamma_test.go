package analytics

import (
	"math"
	"testing"

	"github.com/pivand/pivand/internal/crm"
)

var ggPublished = []float64{6.25, 3.74, 15.44}

func ggParams(m GammaGamma) []float64 { return []float64{m.P, m.Q, m.V} }

func TestGammaGammaFitCDNOW(t *testing.T) {
	rows, _ := readSummaryFile(t, "cdnow/cdnow_customers_summary_with_transactions.csv")
	fit, err := FitGammaGamma(rows)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("p=%.6f q=%.6f v=%.6f LL=%.3f se=%v (%+v)", fit.P, fit.Q, fit.V, fit.LogLikelihood, fit.StdErr, fit.Fit)
	// Fader & Hardie (2013): p=6.25, q=3.74, γ=15.44 (2 decimals, from
	// unrounded spends). On lifetimes' z̄, rounded to cents, each of ours
	// rounds to the published value or is within 1e-3 of it (γ: 15.4477).
	for i, want := range ggPublished {
		if got := ggParams(fit.GammaGamma)[i]; math.Round(got*100)/100 != want && !relClose(got, want, 1e-3) {
			t.Errorf("parameter %d = %.6f is not the published %.2f", i, got, want)
		}
	}
	checkParams(t, "vs lifetimes", ggParams(fit.GammaGamma), []float64{6.248802, 3.744588, 15.447748}, 5e-6)
	if math.Abs(fit.LogLikelihood-(-4055.923)) > 1e-3 {
		t.Errorf("LL %.4f, want −4055.923", fit.LogLikelihood)
	}
	if fit.Customers != 946 || fit.Skipped != 0 {
		t.Errorf("fitted on %d customers (%d skipped), want 946", fit.Customers, fit.Skipped)
	}
	// E[M | x, z̄] for customers 1..10 at the fitted parameters.
	want := []float64{24.6586, 18.9115, 35.1710, 35.1710, 35.1710, 71.4629, 18.9115, 35.1710, 27.2824, 35.1710}
	for i, w := range want {
		s := rows[i]
		if got := fit.ExpectedAverageValue(s.Frequency, s.MonetaryValue); math.Abs(got-w) > 0.5e-4 {
			t.Errorf("customer %s: E[M] = %.6f, want %.4f", s.Customer, got, w)
		}
	}
	sum, sumZ, n := 0.0, 0.0, 0
	for _, s := range rows {
		sum += fit.ExpectedAverageValue(s.Frequency, s.MonetaryValue)
		if s.Frequency > 0 {
			sumZ += s.MonetaryValue
			n++
		}
	}
	if got := sum / float64(len(rows)); math.Abs(got-35.2530) > 0.5e-4 {
		t.Errorf("mean E[M] %.5f, want 35.2530", got)
	}
	if got := sumZ / float64(n); math.Abs(got-35.0786) > 0.5e-4 {
		t.Errorf("mean z̄ of repeaters %.5f, want 35.0786", got)
	}
	if got := (GammaGamma{6.25, 3.74, 15.44}).PopulationMean(); math.Abs(got-35.219) > 0.5e-3 {
		t.Errorf("population mean at the published parameters %.4f, want 35.219", got)
	}
}

// TestGammaGammaFitBTYDSpend fits BTYD's unrounded m_x.
func TestGammaGammaFitBTYDSpend(t *testing.T) {
	rows, _ := readSummaryFile(t, "cdnow/btyd_cdnow_cbs_with_holdout.csv")
	fit, err := FitGammaGamma(rows)
	if err != nil {
		t.Fatal(err)
	}
	checkParams(t, "vs BTYD", ggParams(fit.GammaGamma), []float64{6.24935, 3.74426, 15.44431}, 1e-4)
	for i, want := range ggPublished {
		if got := ggParams(fit.GammaGamma)[i]; math.Round(got*100)/100 != want {
			t.Errorf("parameter %d = %.6f does not round to the published %.2f", i, got, want)
		}
	}
	if math.Abs(fit.LogLikelihood-(-4055.918)) > 1e-3 {
		t.Errorf("LL %.4f, want −4055.918", fit.LogLikelihood)
	}
}

func TestGammaGammaRecoversSynthetic(t *testing.T) {
	cases := []struct {
		file      string
		repeaters int
		lifetimes []float64
		btyd      []float64
	}{
		{"synthetic/synth_bgnbd_gg_100k_seed42.csv", 40583, []float64{6.13214, 3.77171, 15.80641}, []float64{6.13212, 3.77170, 15.80643}},
		{"synthetic/synth_bgnbd_gg_1m_seed42.csv", 403468, []float64{6.25578, 3.74552, 15.42505}, []float64{6.25577, 3.74551, 15.42502}},
	}
	for _, c := range cases {
		if testing.Short() && c.repeaters > 100000 {
			continue
		}
		rows, _ := readSummaryFile(t, c.file)
		fit, err := FitGammaGamma(rows)
		if err != nil {
			t.Fatal(err)
		}
		if fit.Customers != c.repeaters {
			t.Errorf("%s: %d repeaters, want %d", c.file, fit.Customers, c.repeaters)
		}
		checkParams(t, c.file+" vs lifetimes", ggParams(fit.GammaGamma), c.lifetimes, 5e-6)
		checkParams(t, c.file+" vs BTYD", ggParams(fit.GammaGamma), c.btyd, 1e-5)
	}
}

func TestGammaGammaOnlineRetail(t *testing.T) {
	rows, _ := readSummaryFile(t, "online_retail/lifetimes_summary_daily.csv")
	fit, err := FitGammaGamma(rows)
	if err != nil {
		t.Fatal(err)
	}
	checkParams(t, "vs lifetimes", ggParams(fit.GammaGamma), []float64{2.103382, 3.451179, 485.888595}, 1e-6)
	if math.Abs(fit.LogLikelihood-(-19083.33)) > 0.01 {
		t.Errorf("LL %.3f, want −19,083.33", fit.LogLikelihood)
	}
}

func TestGammaGammaEdges(t *testing.T) {
	// Zero-value repeaters are left out (the model's spend is > 0), not fatal.
	rows := []Summary{{"1", 2, 3, 4, 10}, {"2", 3, 3, 4, 12}, {"3", 1, 1, 4, 0}, {"4", 0, 0, 4, 0}, {"5", 4, 2, 4, 9}, {"6", 1, 1, 2, 30}}
	fit, err := FitGammaGamma(rows)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Customers != 4 || fit.Skipped != 1 {
		t.Errorf("fitted on %d, skipped %d; want 4 and 1", fit.Customers, fit.Skipped)
	}
	// No repeaters, or a negative value: errors.
	for _, rows := range [][]Summary{{{"1", 0, 0, 4, 0}}, {{"1", 1, 0, 4, 0}}, {{"1", 1, 1, 4, -3}}, {{"1", 1, 1, 4, math.Inf(1)}}} {
		if _, err := FitGammaGamma(rows); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%+v: %v", rows, err)
		}
	}
	// E[M] shrinks towards the population mean, less so with more purchases.
	m := GammaGamma{6.25, 3.74, 15.44}
	pop := m.PopulationMean()
	if m.ExpectedAverageValue(0, 999) != pop {
		t.Error("E[M] of a one-time buyer is not the population mean")
	}
	e1, e10 := m.ExpectedAverageValue(1, 100), m.ExpectedAverageValue(10, 100)
	if !(pop < e1 && e1 < e10 && e10 < 100) {
		t.Errorf("E[M]: population %.3f, x=1 %.3f, x=10 %.3f, observed 100", pop, e1, e10)
	}
	if !math.IsInf((GammaGamma{1, 0.9, 1}).PopulationMean(), 1) {
		t.Error("q ≤ 1 has no finite mean")
	}
}
