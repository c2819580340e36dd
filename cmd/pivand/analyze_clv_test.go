package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clvTestData is a file of the shared reference data (../shared/data next
// to the repository, or $PIVAND_DATA_DIR); the test is skipped without it.
func clvTestData(t *testing.T, rel string) string {
	t.Helper()
	dir := os.Getenv("PIVAND_DATA_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data")
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("reference data %s not available: %v", rel, err)
	}
	return p
}

// clvOutput is the part of the JSON the tests read.
type clvOutput struct {
	Customers int `json:"customers"`
	Repeaters int `json:"repeat_customers"`
	Input     struct {
		Kind, Period, Unit, End string
	} `json:"input"`
	BGNBD struct {
		R, Alpha, A, B float64
		LL             float64 `json:"log_likelihood"`
	} `json:"bgnbd"`
	GammaGamma *struct {
		P, Q, V   float64
		Customers int
	} `json:"gamma_gamma"`
	Predictions struct {
		Periods           float64  `json:"periods"`
		ExpectedPurchases float64  `json:"expected_purchases"`
		MeanPAlive        float64  `json:"mean_p_alive"`
		CLV               *float64 `json:"clv_total"`
	} `json:"predictions"`
	Churn map[string]int `json:"churn"`
}

func analyzeCLV(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"analyze", "clv"}, args...), noenv, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func decodeCLV(t *testing.T, out string) clvOutput {
	t.Helper()
	var o clvOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	// The keys other tools read.
	var raw map[string]map[string]any
	json.Unmarshal([]byte(strings.Replace(out, `"customers": `, `"customers_": `, 1)), &raw)
	for _, k := range []string{"r", "alpha", "a", "b", "log_likelihood"} {
		if _, ok := raw["bgnbd"][k]; !ok {
			t.Errorf("bgnbd.%s missing", k)
		}
	}
	return o
}

func clvNear(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

func TestAnalyzeCLVSummaryCDNOW(t *testing.T) {
	file := clvTestData(t, "cdnow/cdnow_customers_summary_with_transactions.csv")
	outCSV := filepath.Join(t.TempDir(), "scores.csv")
	code, out, errs := analyzeCLV(t, "", "--summary", file, "--period", "weeks", "--predict", "39", "--customers", outCSV, "--format", "json")
	if code != 0 || errs != "" {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	o := decodeCLV(t, out)
	if o.Customers != 2357 || o.Repeaters != 946 || o.Input.Kind != "summary" || o.Input.Period != "weeks" {
		t.Errorf("header fields: %+v", o)
	}
	b := o.BGNBD
	if !clvNear(b.R, 0.242593, 5e-6) || !clvNear(b.Alpha, 4.413532, 5e-6) || !clvNear(b.A, 0.792886, 5e-6) || !clvNear(b.B, 2.425752, 5e-6) || math.Abs(b.LL+9582.4256) > 1e-3 {
		t.Errorf("bgnbd %+v", b)
	}
	g := o.GammaGamma
	if g == nil || !clvNear(g.P, 6.248802, 5e-6) || !clvNear(g.Q, 3.744588, 5e-6) || !clvNear(g.V, 15.447748, 5e-6) || g.Customers != 946 {
		t.Errorf("gamma_gamma %+v", g)
	}
	p := o.Predictions
	if p.Periods != 39 || math.Abs(p.ExpectedPurchases-1653.42) > 0.01 || p.CLV == nil || math.Abs(*p.CLV-71509.90) > 0.01 {
		t.Errorf("predictions %+v", p)
	}
	if o.Churn["low"]+o.Churn["medium"]+o.Churn["high"] != 2357 {
		t.Errorf("churn %v", o.Churn)
	}
	// The per-customer file: customer 1's E[Y(39)], P(alive) and CLV.
	f, err := os.Open(outCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 2358 {
		t.Fatalf("%d rows, %v", len(recs), err)
	}
	if strings.Join(recs[0], ",") != "customer_id,frequency,recency,T,monetary_value,expected_purchases,p_alive,churn_risk,risk_band,expected_value,clv" {
		t.Errorf("header %v", recs[0])
	}
	r1 := recs[1]
	if r1[0] != "1" || !strings.HasPrefix(r1[5], "1.2259") || !strings.HasPrefix(r1[6], "0.7266") || r1[8] != "low" || !strings.HasPrefix(r1[10], "36.278") {
		t.Errorf("customer 1: %v", r1)
	}
}

// TestAnalyzeCLVInputCDNOW runs the transactions of the CDNOW sample
// through --input with the CDNOW convention (days, counted in weeks, to
// 1997-09-30) and gets BTYD's fit of its calibration summary.
func TestAnalyzeCLVInputCDNOW(t *testing.T) {
	src, err := os.Open(clvTestData(t, "cdnow/CDNOW_sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var in strings.Builder
	in.WriteString("id,day,dollars\n")
	sc := bufio.NewScanner(src)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		d := f[2]
		in.WriteString(f[1] + "," + d[:4] + "-" + d[4:6] + "-" + d[6:] + "," + f[4] + "\n")
	}
	file := filepath.Join(t.TempDir(), "cdnow.csv")
	if err := os.WriteFile(file, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := analyzeCLV(t, "", "--input", file, "--customer-col", "id", "--date-col", "day", "--amount-col", "dollars",
		"--period", "days", "--unit", "weeks", "--end", "1997-09-30", "--horizon", "12", "--format", "json")
	if code != 0 || errs != "" {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	o := decodeCLV(t, out)
	b := o.BGNBD
	if o.Customers != 2357 || o.Input.End != "1997-09-30" || o.Input.Unit != "weeks" ||
		!clvNear(b.R, 0.2425982, 1e-4) || !clvNear(b.Alpha, 4.4136842, 1e-4) || !clvNear(b.A, 0.7929899, 1e-4) || !clvNear(b.B, 2.4261667, 2e-4) ||
		math.Abs(b.LL+9582.429) > 1e-3 {
		t.Errorf("%+v", o)
	}
	if g := o.GammaGamma; g == nil || !clvNear(g.P, 6.24935, 1e-4) || !clvNear(g.Q, 3.74426, 1e-4) || !clvNear(g.V, 15.44431, 1e-4) {
		t.Errorf("gamma_gamma %+v", g)
	}
	// The same straight from the whitespace-separated file.
	code, out3, errs := analyzeCLV(t, "", "--input", clvTestData(t, "cdnow/CDNOW_sample.txt"), "--separator", "space", "--no-header",
		"--customer-col", "2", "--date-col", "3", "--amount-col", "5", "--period", "days", "--unit", "weeks", "--end", "1997-09-30", "--format", "json")
	if code != 0 || out3 != out {
		t.Errorf("CDNOW_sample.txt: code %d, stderr %q, same output %v", code, errs, out3 == out)
	}
	// The same from standard input.
	code, out2, errs := analyzeCLV(t, in.String(), "--input", "-", "--customer-col", "id", "--date-col", "day", "--amount-col", "dollars",
		"--period", "days", "--unit", "weeks", "--end", "1997-09-30", "--format", "json")
	if code != 0 || out2 != out {
		t.Errorf("stdin: code %d, stderr %q, same output %v", code, errs, out2 == out)
	}
}

// TestAnalyzeCLVInputOnlineRetail: the raw UCI Online Retail lines, cleaned
// and summarised by day to 2011-12-09, give lifetimes' fits of its summary.
func TestAnalyzeCLVInputOnlineRetail(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 48 MB")
	}
	file := clvTestData(t, "online_retail/online_retail_2010_2011.csv")
	code, out, errs := analyzeCLV(t, "", "--input", file, "--preset", "online-retail", "--end", "2011-12-09",
		"--predict", "30", "--format", "json")
	if code != 0 || errs != "" {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	o := decodeCLV(t, out)
	b, g := o.BGNBD, o.GammaGamma
	if o.Customers != 4338 || o.Repeaters != 2790 || !clvNear(b.R, 0.826542, 1e-5) || !clvNear(b.Alpha, 68.905121, 1e-5) || math.Abs(b.LL+61823.47) > 0.01 {
		t.Errorf("bgnbd: %+v", o)
	}
	if g == nil || !clvNear(g.P, 2.103382, 1e-5) || !clvNear(g.Q, 3.451179, 1e-5) || !clvNear(g.V, 485.888595, 1e-5) {
		t.Errorf("gamma_gamma %+v", g)
	}
	if p := o.Predictions; !clvNear(p.ExpectedPurchases, 1557.68, 2e-5) || p.CLV == nil || !clvNear(*p.CLV, 8646555.31, 2e-5) {
		t.Errorf("predictions %+v", p)
	}
}

func TestAnalyzeCLVSmallInputWithoutSpend(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.csv")
	os.WriteFile(file, []byte("frequency,recency,T\n2,30,38\n0,0,38\n1,5,20\n4,37,38\n0,0,10\n3,12,30\n"), 0o644)
	code, out, errs := analyzeCLV(t, "", "--summary", file, "--period", "weeks")
	if code != 0 || errs != "" {
		t.Fatalf("code %d, stderr %q", code, errs)
	}
	o := decodeCLV(t, out)
	if o.Customers != 6 || o.GammaGamma != nil || o.Predictions.CLV != nil || !strings.Contains(out, `"gamma_gamma": null`) {
		t.Errorf("without monetary values: %s", out)
	}
}

func TestAnalyzeCLVBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := "customer_id,date,amount\n1,2024-01-01,10\n1,2024-02-01,20\n2,2024-01-05,5\n"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--input", write("nocol.csv", "customer_id,when,amount\n1,2024-01-01,10\n")}, `nocol.csv: line 1, column "date": no such column`},
		{[]string{"--input", write("baddate.csv", good+"3,2024-13-01,4\n")}, `baddate.csv: line 5, column "date": "2024-13-01" is not a date`},
		{[]string{"--input", write("neg.csv", good+"3,2024-01-09,-4\n")}, `neg.csv: line 5, column "amount": -4 is negative`},
		{[]string{"--input", write("nan.csv", good+"3,2024-01-09,abc\n")}, `nan.csv: line 5, column "amount": "abc" is not a number`},
		{[]string{"--input", write("empty.csv", "")}, "empty.csv: line 1: the file is empty"},
		{[]string{"--input", write("header.csv", "customer_id,date,amount\n")}, "header.csv: no customers"},
		{[]string{"--input", write("once.csv", "customer_id,date,amount\n1,2024-01-01,10\n2,2024-01-05,5\n")}, "no customer has a repeat purchase"},
		{[]string{"--input", filepath.Join(dir, "missing.csv")}, "cannot open " + filepath.Join(dir, "missing.csv")},
		{[]string{"--summary", write("s1.csv", "frequency,recency\n1,2\n")}, "s1.csv: line 1: missing column T"},
		{[]string{"--summary", write("s2.csv", "frequency,recency,T\n1,2,3\n2,x,5\n")}, `s2.csv: line 3, column 2 (recency): "x" is not a number`},
		{[]string{"--summary", write("s3.csv", "frequency,recency,T,monetary_value\n1,2,3,4\n2,1,5,-1\n")}, "s3.csv: line 3, column 4 (monetary_value): -1 is negative"},
		{[]string{"--summary", write("s4.csv", "frequency,recency,T\n1,6,3\n")}, "s4.csv: line 2, column 2 (recency): recency 6 is after T 3"},
	}
	for _, c := range cases {
		code, out, errs := analyzeCLV(t, "", append(c.args, "--format", "json")...)
		if code != 1 || out != "" || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want code 1 and %q", c.args, code, out, errs, c.want)
		}
	}
	// A failed run leaves no per-customer file behind.
	scores := filepath.Join(dir, "scores.csv")
	analyzeCLV(t, "", "--input", filepath.Join(dir, "baddate.csv"), "--customers", scores)
	if _, err := os.Stat(scores); !os.IsNotExist(err) {
		t.Errorf("scores file after a failure: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".pivand-clv-*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestAnalyzeCLVUsage(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x.csv")
	cases := []struct {
		args []string
		want string
	}{
		{nil, "give exactly one of --input FILE and --summary FILE"},
		{[]string{"--input", f, "--summary", f}, "give exactly one"},
		{[]string{"--summary", f, "--format", "csv"}, "only json"},
		{[]string{"--summary", f, "--period", "months"}, "--period"},
		{[]string{"--input", f, "--end", "2024-02-30"}, "--end"},
		{[]string{"--summary", f, "--end", "2024-02-01"}, "--end is for --input"},
		{[]string{"--summary", f, "--horizon", "-3"}, "--horizon"},
		{[]string{"--summary", f, "--discount-rate", "-1"}, "--discount-rate"},
		{[]string{"--summary", f, "--churn-bands", "0.7,0.2"}, "--churn-bands"},
		{[]string{"--summary", f, "--predict", "-2"}, "--predict"},
		{[]string{"--summary", f, "--predict", "soon"}, "--predict"},
		{[]string{"--input", f, "--separator", "pipe"}, "--separator"},
		{[]string{"--summary", f, "extra"}, "unexpected argument"},
	}
	for _, c := range cases {
		code, out, errs := analyzeCLV(t, "", c.args...)
		if code != 2 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%v: code %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
	code, out, _ := analyzeCLV(t, "", "-h")
	if code != 0 || !strings.Contains(out, "pivand analyze clv (--input FILE [column flags] | --summary FILE)") || !strings.Contains(out, "--customer-col") {
		t.Errorf("help: %d %q", code, out)
	}
	code, out, _ = pivand(t, noenv, "analyze", "-h")
	if code != 0 || !strings.Contains(out, "clv") {
		t.Errorf("analyze -h: %d %q", code, out)
	}
}
