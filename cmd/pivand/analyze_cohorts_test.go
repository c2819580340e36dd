package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func TestAnalyzeCohortsOnlineRetail(t *testing.T) {
	in := miningTestData(t, "online_retail/online_retail_2010_2011.csv")
	for _, c := range []struct {
		ref  string
		args []string
	}{
		{"online_retail/cohort_monthly_active_counts.csv", nil},
		{"online_retail/cohort_monthly_retention_rates.csv", []string{"--rates"}},
	} {
		want, err := os.ReadFile(miningTestData(t, c.ref))
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"cohorts", "--input", in, "--preset", "online-retail", "--format", "csv"}, c.args...)
		code, out, errs := analyze(t, "", args...)
		if code != 0 || out != string(want) || errs != "" {
			t.Errorf("%v: exit %d, stderr %s\n%s\nwant\n%s", c.args, code, errs, out, want)
		}
	}
	code, out, errs := analyze(t, "", "cohorts", "--input", in, "--preset", "online-retail", "--format", "json")
	var rep struct {
		Calendar  string `json:"calendar"`
		LastMonth string `json:"last_month"`
		Customers int    `json:"customers"`
		Cohorts   []struct {
			Cohort, Start, End string
			Size               int
			Active             []int
			Rates              []float64
		} `json:"cohorts"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("exit %d, %v, stderr %s", code, err, errs)
	}
	c0 := rep.Cohorts[0]
	if rep.Customers != 4338 || len(rep.Cohorts) != 13 || rep.LastMonth != "2011-12" || c0.Cohort != "2010-12" || c0.Start != "2010-12-01" ||
		c0.End != "2010-12-31" || c0.Size != 885 || c0.Active[12] != 235 || c0.Rates[1] != 0.366102 || c0.Rates[12] != 0.265537 {
		t.Errorf("json: %+v", rep)
	}
}

func TestAnalyzeCohortsJalali(t *testing.T) {
	in := "customer_id,date,amount\na,2025-03-20,1\na,2025-03-21,1\nb,2025-03-21,1\nb,2025-04-20,1\nb,2025-04-21,1\n"
	code, out, errs := analyze(t, in, "cohorts", "--input", "-", "--calendar", "jalali")
	if want := "cohort,m0,m1,m2\n1403-12,1,1,0\n1404-01,1,1,\n"; code != 0 || out != want {
		t.Errorf("exit %d, stderr %s\n%s\nwant\n%s", code, errs, out, want)
	}
	// Dates written in the Jalali calendar, months in the Gregorian one.
	in = "customer_id,date,amount\na,1403-12-30,1\na,1404-01-01,1\n"
	code, out, errs = analyze(t, in, "cohorts", "--input", "-", "--date-calendar", "jalali", "--format", "json")
	if code != 0 || !strings.Contains(out, `"cohort": "2025-03"`) || !strings.Contains(out, `"start": "2025-03-01"`) {
		t.Errorf("exit %d, stderr %s\n%s", code, errs, out)
	}
}
