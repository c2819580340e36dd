package analytics

import (
	"math"
	"testing"
	"time"
)

func TestParetoSmall(t *testing.T) {
	revs := []CustomerRevenue{{"c", 10}, {"e", 5}, {"a", 60}, {"d", 5}, {"b", 20}}
	r := Pareto(revs, ParetoOptions{Points: 5})
	if r.Customers != 5 || r.Revenue != 100 || r.TopCustomers != 1 || r.TopShare != 0.6 || math.Abs(r.Gini-0.5) > 1e-12 {
		t.Errorf("%+v", r)
	}
	wantY := []float64{0, 0.6, 0.8, 0.9, 0.95, 1}
	for i, p := range r.Curve {
		if p.Customers != i || math.Abs(p.RevenueShare-wantY[i]) > 1e-12 || p.CustomerShare != float64(i)/5 {
			t.Errorf("point %d = %+v", i, p)
		}
	}
	// Sorted largest first, ties by id: d before e.
	if revs[0].Customer != "a" || revs[3].Customer != "d" || revs[4].Customer != "e" {
		t.Errorf("order %v", revs)
	}
	// Equal customers: no concentration.
	eq := Pareto([]CustomerRevenue{{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}}, ParetoOptions{})
	if math.Abs(eq.Gini) > 1e-12 || eq.TopCustomers != 1 || eq.TopShare != 0.25 || len(eq.Curve) != 101 {
		t.Errorf("equal: %+v", eq)
	}
	if e := Pareto(nil, ParetoOptions{}); e.Customers != 0 || e.Curve != nil {
		t.Errorf("empty: %+v", e)
	}
}

func TestParetoOnlineRetail(t *testing.T) {
	txs := onlineRetailTransactions(t)
	p, _ := NewParetoByPeriod(GrainAll, "")
	byYear, _ := NewParetoByPeriod(GrainYear, "")
	for _, tx := range txs {
		p.Add(tx)
		byYear.Add(tx)
	}
	all := p.Results(ParetoOptions{})
	if len(all) != 1 {
		t.Fatalf("%d results", len(all))
	}
	r := all[0]
	// Independent check: RFM monetary sums are the same revenues.
	scores, _ := ScoreRFM(txs, RFMOptions{})
	revs := make([]CustomerRevenue, len(scores))
	for i, s := range scores {
		revs[i] = CustomerRevenue{s.Customer, s.Monetary}
	}
	q := Pareto(revs, ParetoOptions{})
	if r.Customers != 4338 || r.TopCustomers != 868 || math.Abs(r.Revenue-8911407.90) > 0.01 || math.Abs(r.TopShare-q.TopShare) > 1e-6 {
		t.Errorf("all time: %d customers, top %d share %.6f (check %.6f), revenue %.2f", r.Customers, r.TopCustomers, r.TopShare, q.TopShare, r.Revenue)
	}
	t.Logf("Online Retail: top 20%% (%d customers) bring %.4f of revenue; Gini %.4f", r.TopCustomers, r.TopShare, r.Gini)
	years := byYear.Results(ParetoOptions{})
	if len(years) != 2 || years[0].Period != "2010" || years[1].Period != "2011" || years[0].Customers+years[1].Customers < 4338 {
		t.Errorf("years: %+v", years)
	}
}

func TestParetoPeriods(t *testing.T) {
	d := func(s string) time.Time { tm, _ := time.Parse("2006-01-02", s); return tm }
	txs := []Transaction{{"a", d("2025-03-20"), 1}, {"a", d("2025-03-21"), 3}, {"b", d("2025-06-30"), 1}, {"b", d("2025-07-01"), 1}}
	for _, c := range []struct {
		grain Grain
		cal   string
		want  []string
	}{
		{GrainMonth, "", []string{"2025-03", "2025-06", "2025-07"}},
		{GrainQuarter, "", []string{"2025-Q1", "2025-Q2", "2025-Q3"}},
		{GrainMonth, "jalali", []string{"1403-12", "1404-01", "1404-04"}},
		{GrainQuarter, "jalali", []string{"1403-Q4", "1404-Q1", "1404-Q2"}},
		{GrainYear, "jalali", []string{"1403", "1404"}},
	} {
		p, err := NewParetoByPeriod(c.grain, c.cal)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range txs {
			p.Add(tx)
		}
		var got []string
		for _, r := range p.Results(ParetoOptions{}) {
			got = append(got, r.Period)
		}
		if len(got) != len(c.want) {
			t.Errorf("%s %s: %v, want %v", c.grain, c.cal, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s %s: %v, want %v", c.grain, c.cal, got, c.want)
				break
			}
		}
	}
	if _, err := NewParetoByPeriod("week", ""); err == nil {
		t.Error("unknown grain accepted")
	}
}
