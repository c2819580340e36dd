package analytics

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/text"
)

func TestCohortsMatchOnlineRetailReference(t *testing.T) {
	txs := onlineRetailTransactions(t)
	tab, err := CohortRetention(txs, CohortOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []struct {
		file  string
		rates bool
	}{{"online_retail/cohort_monthly_active_counts.csv", false}, {"online_retail/cohort_monthly_retention_rates.csv", true}} {
		want, err := os.ReadFile(miningDataPath(t, ref.file))
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := tab.WriteCSV(&got, ref.rates); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s differs:\n%s\nwant\n%s", ref.file, got.Bytes(), want)
		}
	}
	if c := tab.Cohorts[0]; c.Month != "2010-12" || c.Size != 885 || c.Active[1] != 324 || c.Active[12] != 235 || tab.LastMonth != "2011-12" {
		t.Errorf("first cohort %+v, last month %s", c, tab.LastMonth)
	}
}

func TestCohortsJalali(t *testing.T) {
	d := func(s string) time.Time { tm, _ := time.Parse("2006-01-02", s); return tm }
	txs := []Transaction{
		{"a", d("2025-03-20"), 1}, // 1403-12-30 (Esfand; 1403 is a leap year)
		{"a", d("2025-03-21"), 1}, // 1404-01-01
		{"b", d("2025-03-21"), 1}, // 1404-01-01
		{"b", d("2025-04-20"), 1}, // 1404-01-31: still Farvardin
		{"b", d("2025-04-21"), 1}, // 1404-02-01
		{"c", d("2025-05-25"), 1}, // 1404-03-04
	}
	tab, err := CohortRetention(txs, CohortOptions{Calendar: "jalali"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	tab.WriteCSV(&got, false)
	want := "cohort,m0,m1,m2,m3\n1403-12,1,1,0,0\n1404-01,1,1,0,\n1404-03,1,,,\n"
	if got.String() != want {
		t.Errorf("jalali table\n%s\nwant\n%s", got.String(), want)
	}
	c := tab.Cohorts[1]
	if !c.Start.Equal(d("2025-03-21")) || !c.End.Equal(d("2025-04-20")) {
		t.Errorf("Farvardin 1404 is %v..%v", c.Start, c.End)
	}
	greg, _ := CohortRetention(txs, CohortOptions{})
	got.Reset()
	greg.WriteCSV(&got, true)
	if want := "cohort,m0,m1,m2\n2025-03,1.0,0.5,0.0\n2025-05,1.0,,\n"; got.String() != want {
		t.Errorf("gregorian rates\n%s\nwant\n%s", got.String(), want)
	}
	// End drops later transactions and cuts the table.
	cut, _ := CohortRetention(txs, CohortOptions{End: d("2025-04-30")})
	if cut.LastMonth != "2025-04" || len(cut.Cohorts) != 1 || cut.Cohorts[0].Size != 2 || len(cut.Cohorts[0].Active) != 2 {
		t.Errorf("cut table %+v", cut)
	}
	if _, err := NewCohorts(CohortOptions{Calendar: "lunar"}); err == nil {
		t.Error("unknown calendar accepted")
	}
}

// Random transactions over twelve years in random order (months outside
// the 64-month window of a customer's first transaction included) against
// a direct computation.
func TestCohortsAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 20 {
		var txs []Transaction
		for range 500 {
			c := fmt.Sprintf("c%d", rng.IntN(60))
			day := time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(12*365))
			txs = append(txs, Transaction{c, day.Add(time.Duration(rng.IntN(86400)) * time.Second), 1})
		}
		cal := []string{"gregorian", "jalali"}[round%2]
		tab, err := CohortRetention(txs, CohortOptions{Calendar: cal})
		if err != nil {
			t.Fatal(err)
		}
		month := func(tm time.Time) int {
			if cal == "jalali" {
				j := text.ToJalali(tm)
				return j.Year*12 + j.Month - 1
			}
			return tm.Year()*12 + int(tm.Month()) - 1
		}
		months := map[string]map[int]bool{}
		last := 0
		for _, tx := range txs {
			if months[tx.Customer] == nil {
				months[tx.Customer] = map[int]bool{}
			}
			m := month(tx.Time)
			months[tx.Customer][m] = true
			last = max(last, m)
		}
		want := map[int][]int{}
		for _, ms := range months {
			first := last
			for m := range ms {
				first = min(first, m)
			}
			if want[first] == nil {
				want[first] = make([]int, last-first+1)
			}
			for m := range ms {
				want[first][m-first]++
			}
		}
		if len(tab.Cohorts) != len(want) {
			t.Fatalf("%d cohorts, want %d", len(tab.Cohorts), len(want))
		}
		for _, c := range tab.Cohorts {
			var y, m int
			fmt.Sscanf(c.Month, "%d-%d", &y, &m)
			if w := want[y*12+m-1]; fmt.Sprint(w) != fmt.Sprint(c.Active) {
				t.Fatalf("%s cohort %s: %v, want %v", cal, c.Month, c.Active, w)
			}
		}
	}
}
