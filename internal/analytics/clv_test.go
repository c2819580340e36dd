package analytics

import (
	"math"
	"testing"

	"github.com/pivand/pivand/internal/crm"
)

// fitBoth fits BG/NBD and Gamma-Gamma on a reference summary.
func fitBoth(t testing.TB, rel string) ([]Summary, BGNBD, GammaGamma) {
	t.Helper()
	rows, _ := readSummaryFile(t, rel)
	bg, err := FitBGNBD(rows)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := FitGammaGamma(rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows, bg.BGNBD, gg.GammaGamma
}

// TestCLVCDNOW reproduces lifetimes' customer_lifetime_value (12 months,
// 1% a month) on the CDNOW sample, with freq='W' (4.345 weeks a month, the
// right one for weekly data) and with the default freq='D' behind the
// values in lifetimes' documentation (30 "days", here weeks, a month).
func TestCLVCDNOW(t *testing.T) {
	rows, bg, gg := fitBoth(t, "cdnow/cdnow_customers_summary_with_transactions.csv")
	cases := []struct {
		perMonth float64
		first    []float64
		tol      float64
		total    float64
	}{
		{4.345, []float64{36.2785, 4.6375, 8.3441, 8.3441, 8.3441, 283.5236, 6.8814, 8.3441, 43.3536, 8.3441}, 0.5e-4, 71509.90},
		{30, []float64{140.096211, 18.943467, 38.180574}, 1e-5 * 140, 0},
	}
	for _, c := range cases {
		opt := CLVOptions{Months: 12, DiscountRate: 0.01, PeriodsPerMonth: c.perMonth}
		scores, err := ScoreCustomers(bg, &gg, rows, ScoreOptions{Periods: 39, CLV: opt})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range c.first {
			if got := scores[i].CLV; math.Abs(got-want) > c.tol {
				t.Errorf("%v periods a month: customer %d CLV %.6f, want %.6f", c.perMonth, i+1, got, want)
			}
			// ScoreCustomers and CLV agree.
			if one := CLV(bg, gg, rows[i], opt); !relClose(one, scores[i].CLV, 1e-12) {
				t.Errorf("customer %d: CLV() %.12g, ScoreCustomers %.12g", i+1, one, scores[i].CLV)
			}
		}
		if c.perMonth == 30 {
			// lifetimes' documented 1003.868107 is customer 6.
			if got := scores[5].CLV; math.Abs(got-1003.868107) > 1e-5*1003 {
				t.Errorf("customer 6 CLV %.6f, want 1003.868107", got)
			}
		}
		if c.total > 0 {
			sum := 0.0
			for _, s := range scores {
				sum += s.CLV
			}
			if math.Abs(sum-c.total) > 0.005 {
				t.Errorf("Σ CLV %.2f, want %.2f", sum, c.total)
			}
		}
	}
}

// TestScoreCustomersMatchesSingleFormulas: the factored, deduplicated,
// parallel scoring equals the one-customer formulas.
func TestScoreCustomersMatchesSingleFormulas(t *testing.T) {
	rows, bg, gg := fitBoth(t, "cdnow/cdnow_customers_summary_with_transactions.csv")
	for _, periods := range []float64{39, 52.14} { // 52.14 = 12 × 4.345: shares the CLV sums
		opt := ScoreOptions{Periods: periods, CLV: CLVOptions{12, 0.01, 4.345}}
		scores, err := ScoreCustomers(bg, &gg, rows, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range rows {
			sc := scores[i]
			ey := bg.ConditionalExpectedPurchases(periods, s.Frequency, s.Recency, s.T)
			pa := bg.ProbabilityAlive(s.Frequency, s.Recency, s.T)
			if !relClose(sc.ExpectedPurchases, ey, 1e-12) || sc.PAlive != pa || sc.ChurnRisk != 1-pa ||
				sc.ExpectedValue != gg.ExpectedAverageValue(s.Frequency, s.MonetaryValue) || sc.RiskBand != DefaultChurnBands.Band(1-pa) {
				t.Fatalf("customer %s: %+v; E[Y] %v, P(alive) %v", s.Customer, sc, ey, pa)
			}
			// The CLV straight from lifetimes' loop over E[Y] differences.
			want, prev, disc := 0.0, 0.0, 1.0
			for m := 1; m <= 12; m++ {
				e := bg.ConditionalExpectedPurchases(float64(m)*4.345, s.Frequency, s.Recency, s.T)
				disc *= 1.01
				want += sc.ExpectedValue * (e - prev) / disc
				prev = e
			}
			if !relClose(sc.CLV, want, 1e-11) {
				t.Fatalf("customer %s: CLV %.12g, lifetimes' loop %.12g", s.Customer, sc.CLV, want)
			}
		}
	}
	// Extreme customers, where ln ₂F₁ overflows and lifetimes' fallback
	// (the Euler transformation) takes over, and a brand-new customer.
	extreme := []Summary{{"a", 400, 30, 31, 50}, {"b", 200, 0.5, 1, 20}, {"c", 0, 0, 0, 0}, {"d", 150, 300, 300, 10}}
	for _, ppm := range []float64{4.345, 30} {
		opt := ScoreOptions{Periods: 12 * ppm, CLV: CLVOptions{12, 0.01, ppm}}
		scores, err := ScoreCustomers(bg, &gg, extreme, opt)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range extreme {
			ey := bg.ConditionalExpectedPurchases(opt.Periods, s.Frequency, s.Recency, s.T)
			if math.IsNaN(ey) || math.IsInf(ey, 0) || !relClose(scores[i].ExpectedPurchases, ey, 1e-9) || math.IsNaN(scores[i].CLV) || scores[i].CLV < 0 {
				t.Errorf("%v periods a month, customer %+v: %+v, E[Y] %v", ppm, s, scores[i], ey)
			}
		}
	}
	// Without a spend model: no E[M], no CLV.
	scores, err := ScoreCustomers(bg, nil, rows[:5], ScoreOptions{Periods: 39, CLV: CLVOptions{12, 0.01, 4.345}})
	if err != nil || !math.IsNaN(scores[0].CLV) || !math.IsNaN(scores[0].ExpectedValue) || scores[0].ExpectedPurchases <= 0 {
		t.Errorf("without Gamma-Gamma: %+v %v", scores[0], err)
	}
	// A zero horizon is worth nothing.
	scores, _ = ScoreCustomers(bg, &gg, rows[:5], ScoreOptions{Periods: 0, CLV: CLVOptions{0, 0.01, 4.345}})
	if scores[0].CLV != 0 || scores[0].ExpectedPurchases != 0 {
		t.Errorf("zero horizon: %+v", scores[0])
	}
}

func TestScoreCustomersRejects(t *testing.T) {
	m := bgnbdPublished
	rows := []Summary{{"1", 1, 2, 3, 4}}
	for _, opt := range []ScoreOptions{
		{Periods: -1, CLV: CLVOptions{12, 0.01, 30}},
		{Periods: math.NaN(), CLV: CLVOptions{12, 0.01, 30}},
		{Periods: 1, CLV: CLVOptions{-1, 0.01, 30}},
		{Periods: 1, CLV: CLVOptions{12, -1, 30}},
		{Periods: 1, CLV: CLVOptions{12, 0.01, 0}},
		{Periods: 1, CLV: CLVOptions{12, 0.01, 30}, Bands: ChurnBands{Medium: 0.7, High: 0.5}},
	} {
		if _, err := ScoreCustomers(m, nil, rows, opt); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%+v: %v", opt, err)
		}
	}
	if _, err := ScoreCustomers(m, nil, []Summary{{"1", 1, 5, 3, 4}}, ScoreOptions{Periods: 1, CLV: CLVOptions{12, 0.01, 30}}); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("recency after T: %v", err)
	}
}

// TestScoringSynthetic checks the sums lifetimes gives at its fitted
// parameters (ours equal them to about 1e-6).
func TestScoringSynthetic(t *testing.T) {
	cases := []struct {
		file                  string
		sumEY, meanPA, sumCLV float64
	}{
		{"synthetic/synth_bgnbd_gg_100k_seed42.csv", 70232.58, 0.809756, 2947108.5},
		{"synthetic/synth_bgnbd_gg_1m_seed42.csv", 696402.56, 0.811605, 29194198.0},
	}
	for _, c := range cases {
		if testing.Short() && c.sumEY > 1e5 {
			continue
		}
		rows, bg, gg := fitBoth(t, c.file)
		scores, err := ScoreCustomers(bg, &gg, rows, ScoreOptions{Periods: 39, CLV: CLVOptions{12, 0.01, 4.345}})
		if err != nil {
			t.Fatal(err)
		}
		var ey, pa, clv float64
		for _, s := range scores {
			ey += s.ExpectedPurchases
			pa += s.PAlive
			clv += s.CLV
		}
		pa /= float64(len(scores))
		t.Logf("%s: ΣE[Y(39)] %.2f, mean P(alive) %.6f, ΣCLV %.1f", c.file, ey, pa, clv)
		if !relClose(ey, c.sumEY, 1e-5) || math.Abs(pa-c.meanPA) > 1e-6 || !relClose(clv, c.sumCLV, 1e-5) {
			t.Errorf("%s: ΣE[Y(39)] %.2f, mean P(alive) %.6f, ΣCLV %.1f; want %.2f, %.6f, %.1f", c.file, ey, pa, clv, c.sumEY, c.meanPA, c.sumCLV)
		}
	}
}

// TestScoringOnlineRetail: the daily Online Retail summary, 30 days a month.
func TestScoringOnlineRetail(t *testing.T) {
	rows, bg, gg := fitBoth(t, "online_retail/lifetimes_summary_daily.csv")
	scores, err := ScoreCustomers(bg, &gg, rows, ScoreOptions{Periods: 30, CLV: CLVOptions{12, 0.01, 30}})
	if err != nil {
		t.Fatal(err)
	}
	var ey, clv float64
	for _, s := range scores {
		ey += s.ExpectedPurchases
		clv += s.CLV
	}
	// The likelihood is flat along (a, b); fits that differ there give
	// sums that differ in the 5th digit.
	if !relClose(ey, 1557.68, 2e-5) || !relClose(clv, 8646555.31, 2e-5) {
		t.Errorf("ΣE[Y(30)] %.2f, ΣCLV %.2f; want 1,557.68 and 8,646,555.31", ey, clv)
	}
}
