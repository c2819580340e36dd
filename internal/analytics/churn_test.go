package analytics

import (
	"encoding/json"
	"math"
	"testing"
)

func TestChurnBands(t *testing.T) {
	b := DefaultChurnBands
	for _, c := range []struct {
		risk float64
		want RiskBand
	}{{0, RiskLow}, {0.29999, RiskLow}, {0.3, RiskMedium}, {0.59, RiskMedium}, {0.6, RiskHigh}, {1, RiskHigh}, {math.NaN(), 0}} {
		if got := b.Band(c.risk); got != c.want {
			t.Errorf("risk %v: %v, want %v", c.risk, got, c.want)
		}
	}
	out, _ := json.Marshal([]RiskBand{RiskLow, RiskMedium, RiskHigh})
	if string(out) != `["low","medium","high"]` {
		t.Errorf("JSON %s", out)
	}
	for _, bad := range []ChurnBands{{0, 0.5}, {0.6, 0.5}, {0.5, 1.1}} {
		if bad.check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestChurnRiskCDNOW: risk is 1 − P(alive); on CDNOW the band counts
// follow from it (and one-time buyers are never at risk in the model).
func TestChurnRiskCDNOW(t *testing.T) {
	rows, _ := readSummaryFile(t, "cdnow/cdnow_customers_summary.csv")
	fit, err := FitBGNBD(rows)
	if err != nil {
		t.Fatal(err)
	}
	scores, err := ScoreCustomers(fit.BGNBD, nil, rows, ScoreOptions{Periods: 39, CLV: CLVOptions{12, 0.01, 4.345}})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[RiskBand]int{}
	for i, s := range rows {
		sc := scores[i]
		if sc.ChurnRisk != fit.ChurnRisk(s.Frequency, s.Recency, s.T) {
			t.Fatalf("customer %s: risk %v", s.Customer, sc.ChurnRisk)
		}
		if s.Frequency == 0 && sc.RiskBand != RiskLow {
			t.Fatalf("one-time buyer %s in band %v", s.Customer, sc.RiskBand)
		}
		counts[sc.RiskBand]++
	}
	// Customer 1 (P(alive) 0.7266) is low risk.
	if scores[0].RiskBand != RiskLow {
		t.Errorf("customer 1: %+v", scores[0])
	}
	if counts[RiskHigh] == 0 || counts[RiskMedium] == 0 || counts[RiskLow]+counts[RiskMedium]+counts[RiskHigh] != len(rows) {
		t.Errorf("bands %v", counts)
	}
	t.Logf("bands: %v", counts)
}
