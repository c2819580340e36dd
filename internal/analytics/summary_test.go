package analytics

import (
	"encoding/csv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// clvDataPath is a file of the shared reference data (../shared/data next
// to the repository, or $PIVAND_DATA_DIR); the test is skipped when it is
// missing.
func clvDataPath(t testing.TB, rel string) string {
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

// summaryFiles caches readSummaryFile: several tests and benchmarks read
// the same 1M-row file. Callers must not modify the rows.
var summaryFiles sync.Map // rel → summaryFileCache

type summaryFileCache struct {
	rows []Summary
	info SummaryFile
}

// readSummaryFile reads a summary CSV of the reference data.
func readSummaryFile(t testing.TB, rel string) ([]Summary, SummaryFile) {
	t.Helper()
	if c, ok := summaryFiles.Load(rel); ok {
		return c.(summaryFileCache).rows, c.(summaryFileCache).info
	}
	f, err := os.Open(clvDataPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []Summary
	info, err := ReadSummaries(f, func(s Summary) error { rows = append(rows, s); return nil })
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	summaryFiles.Store(rel, summaryFileCache{rows, info})
	return rows, info
}

// readRefCSV reads a reference CSV into rows of name → value.
func readRefCSV(t testing.TB, rel string) []map[string]string {
	t.Helper()
	f, err := os.Open(clvDataPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func atof(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// relClose reports whether got is within rel (relative) of want.
func relClose(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Abs(want)
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestSummaryDaysAndWeeks(t *testing.T) {
	// 2024-01-01 is a Monday.
	txs := []Transaction{
		{"A", date(2024, 1, 1).Add(9 * time.Hour), 10},
		{"A", date(2024, 1, 7).Add(23 * time.Hour), 5}, // Sunday: same week as the 1st
		{"A", date(2024, 1, 8), 20},
		{"A", date(2024, 1, 20), 7},
		{"A", date(2024, 1, 20).Add(time.Hour), 3}, // same day
		{"B", date(2024, 1, 10), 99},
		{"C", date(2024, 1, 30), 1},
		{"C", date(2024, 2, 5), 50}, // after --end: ignored
		{"D", date(2024, 2, 1), 4},  // first purchase after --end: no row
	}
	// A Wednesday; its week starts on the 29th. As in lifetimes, a weekly
	// summary keeps every transaction of the end's week (D's, C's 30th).
	end := date(2024, 1, 31)
	cases := []struct {
		opt  SummaryOptions
		want []Summary
	}{
		{SummaryOptions{Period: Days, End: end}, []Summary{
			{"A", 3, 19, 30, (5.0 + 20 + 10) / 3}, {"B", 0, 0, 21, 0}, {"C", 0, 0, 1, 0}}},
		{SummaryOptions{Period: Weeks, End: end}, []Summary{
			{"A", 2, 2, 4, (20.0 + 10) / 2}, {"B", 0, 0, 3, 0}, {"C", 0, 0, 0, 0}, {"D", 0, 0, 0, 0}}},
		{SummaryOptions{Period: Days, Unit: Weeks, End: end}, []Summary{
			{"A", 3, 19.0 / 7, 30.0 / 7, (5.0 + 20 + 10) / 3}, {"B", 0, 0, 3, 0}, {"C", 0, 0, 1.0 / 7, 0}}},
		{SummaryOptions{Period: Weeks, Unit: Days, End: end}, []Summary{
			{"A", 2, 14, 28, 15}, {"B", 0, 0, 21, 0}, {"C", 0, 0, 0, 0}, {"D", 0, 0, 0, 0}}},
		// Without an end the last transaction (D, Feb 1st; C, Feb 5th) ends it.
		{SummaryOptions{Period: Days}, []Summary{
			{"A", 3, 19, 35, (5.0 + 20 + 10) / 3}, {"B", 0, 0, 26, 0}, {"C", 1, 6, 6, 50}, {"D", 0, 0, 4, 0}}},
	}
	for _, c := range cases {
		for _, shuffled := range []bool{false, true} {
			in := append([]Transaction(nil), txs...)
			if shuffled {
				rand.New(rand.NewPCG(1, 2)).Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			}
			got, err := Summarize(in, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("%+v: got %+v, want %+v", c.opt, got, c.want)
			}
			for i := range got {
				g, w := got[i], c.want[i]
				if g.Customer != w.Customer || g.Frequency != w.Frequency || math.Abs(g.Recency-w.Recency) > 1e-12 ||
					math.Abs(g.T-w.T) > 1e-12 || math.Abs(g.MonetaryValue-w.MonetaryValue) > 1e-12 {
					t.Errorf("%+v shuffled=%v: got %+v, want %+v", c.opt, shuffled, g, w)
				}
			}
		}
	}
}

func TestSummarizerRejects(t *testing.T) {
	s := NewSummarizer(SummaryOptions{})
	for _, tx := range []Transaction{
		{"", date(2024, 1, 1), 1},
		{"a", date(2024, 1, 1), -1},
		{"a", date(2024, 1, 1), math.NaN()},
		{"a", date(2024, 1, 1), math.Inf(1)},
		{"a", time.Time{}, 1},
	} {
		if err := s.Add(tx); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%+v: %v", tx, err)
		}
	}
	if got := s.Summaries(); len(got) != 0 {
		t.Errorf("rejected transactions were kept: %+v", got)
	}
}

func TestWeekStartBeforeEpoch(t *testing.T) {
	// 1969-12-31 was a Wednesday; its week starts on Monday 1969-12-29.
	for _, d := range []time.Time{date(1969, 12, 29), date(1969, 12, 31), date(1970, 1, 4)} {
		got := Weeks.start(dayNumber(d))
		if want := dayNumber(date(1969, 12, 29)); got != want {
			t.Errorf("%v: week starts on day %d, want %d", d, got, want)
		}
	}
	if got, want := Weeks.start(dayNumber(date(1970, 1, 5))), dayNumber(date(1970, 1, 5)); got != want {
		t.Errorf("Monday 1970-01-05 starts on %d, want %d", got, want)
	}
}

func TestCompareIDsIsATotalOrder(t *testing.T) {
	ids := []string{"10", "2", "1a", "b", "12346.0", "12346", "-1", "", "+Inf", "NaN", "x2"}
	for _, a := range ids {
		for _, b := range ids {
			if CompareIDs(a, b) != -CompareIDs(b, a) {
				t.Errorf("CompareIDs(%q,%q) is not antisymmetric", a, b)
			}
			for _, c := range ids {
				if CompareIDs(a, b) < 0 && CompareIDs(b, c) < 0 && CompareIDs(a, c) >= 0 {
					t.Errorf("not transitive: %q < %q < %q", a, b, c)
				}
			}
		}
	}
	if CompareIDs("9", "10") >= 0 || CompareIDs("12346.0", "12347") >= 0 || CompareIDs("10", "a") >= 0 {
		t.Error("numeric ids are not ordered by value before the others")
	}
}

// TestSummaryOnlineRetailMatchesLifetimes builds the daily summary of the
// clean Online Retail transactions and compares every customer with
// lifetimes' summary_data_from_transaction_data (freq='D',
// observation_period_end='2011-12-09').
func TestSummaryOnlineRetailMatchesLifetimes(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 48 MB")
	}
	f, err := os.Open(clvDataPath(t, "online_retail/online_retail_2010_2011.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewSummarizer(SummaryOptions{Period: Days, End: date(2011, 12, 9)})
	if err := ReadTransactions(f, OnlineRetailColumns, s.Add); err != nil {
		t.Fatal(err)
	}
	got := s.Summaries()
	ref := readRefCSV(t, "online_retail/lifetimes_summary_daily.csv")
	if len(got) != len(ref) || len(got) != 4338 {
		t.Fatalf("%d customers, reference %d", len(got), len(ref))
	}
	repeaters, sumF := 0, 0
	for i, r := range ref {
		g := got[i]
		if g.Customer != r["CustomerID"] || float64(g.Frequency) != atof(t, r["frequency"]) || g.Recency != atof(t, r["recency"]) ||
			g.T != atof(t, r["T"]) || !relClose(g.MonetaryValue, atof(t, r["monetary_value"]), 1e-12) {
			t.Fatalf("row %d: got %+v, reference %v", i+1, g, r)
		}
		if g.Frequency > 0 {
			repeaters++
		}
		sumF += g.Frequency
	}
	if repeaters != 2790 || sumF != 12425 {
		t.Errorf("%d repeaters, Σ frequency %d; want 2790 and 12425", repeaters, sumF)
	}
}

// cdnowSample reads CDNOW_sample.txt (master_id sample_id YYYYMMDD cds
// dollars, whitespace-separated).
func cdnowSample(t testing.TB, opt SummaryOptions) []Summary {
	t.Helper()
	f, err := os.Open(clvDataPath(t, "cdnow/CDNOW_sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := NewSummarizer(opt)
	cols := Columns{Comma: ' ', NoHeader: true, Customer: "2", Date: "3", Amount: "5"}
	if err := ReadTransactions(f, cols, s.Add); err != nil {
		t.Fatal(err)
	}
	return s.Summaries()
}

// TestSummaryCDNOWMatchesBTYD builds the 39-week calibration summary of the
// CDNOW sample from its transactions (purchases are days, time is in
// weeks) and compares it with BTYD's cbs and lifetimes' summary files.
func TestSummaryCDNOWMatchesBTYD(t *testing.T) {
	cal := cdnowSample(t, SummaryOptions{Period: Days, Unit: Weeks, End: date(1997, 9, 30)})
	all := cdnowSample(t, SummaryOptions{Period: Days, Unit: Weeks, End: date(1998, 6, 30)})
	btyd := readRefCSV(t, "cdnow/btyd_cdnow_cbs_with_holdout.csv")
	lt, _ := readSummaryFile(t, "cdnow/cdnow_customers_summary_with_transactions.csv")
	if len(cal) != 2357 || len(btyd) != 2357 || len(all) != 2357 || len(lt) != 2357 {
		t.Fatalf("%d, %d, %d, %d customers; want 2357", len(cal), len(all), len(btyd), len(lt))
	}
	sumX, sumXStar := 0, 0
	for i, r := range btyd {
		g := cal[i]
		if strings.TrimLeft(g.Customer, "0") != r["cust"] {
			t.Fatalf("row %d: customer %q, BTYD %q", i+1, g.Customer, r["cust"])
		}
		if float64(g.Frequency) != atof(t, r["x"]) || math.Abs(g.Recency-atof(t, r["t_x"])) > 1e-12 ||
			math.Abs(g.T-atof(t, r["T_cal"])) > 1e-12 || !relClose(g.MonetaryValue, atof(t, r["m_x"]), 1e-12) {
			t.Fatalf("customer %s: got %+v, BTYD %v", g.Customer, g, r)
		}
		// lifetimes' file: the same, rounded to 2 decimals.
		l := lt[i]
		if l.Frequency != g.Frequency || math.Abs(l.Recency-g.Recency) > 0.005 || math.Abs(l.T-g.T) > 0.005 ||
			math.Abs(l.MonetaryValue-g.MonetaryValue) > 0.005+1e-9 {
			t.Fatalf("customer %s: got %+v, lifetimes %+v", g.Customer, g, l)
		}
		xStar := all[i].Frequency - g.Frequency
		if float64(xStar) != atof(t, r["x_star"]) {
			t.Fatalf("customer %s: %d holdout purchases, BTYD %s", g.Customer, xStar, r["x_star"])
		}
		sumX += g.Frequency
		sumXStar += xStar
	}
	if sumX != 2457 || sumXStar != 1882 {
		t.Errorf("Σx = %d, Σx* = %d; want 2457 and 1882", sumX, sumXStar)
	}
}

func TestReadSummaries(t *testing.T) {
	in := "\ufeffID,x,t_x,T,zbar,extra\r\n1,2,30.43,38.86,22.35,z\r\n\r\n\"2\",0,0,38.86,0,\r\n"
	var got []Summary
	info, err := ReadSummaries(strings.NewReader(in), func(s Summary) error { got = append(got, s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []Summary{{"1", 2, 30.43, 38.86, 22.35}, {"2", 0, 0, 38.86, 0}}
	if !info.HasID || !info.HasMonetary || info.Rows != 2 || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v %+v", info, got)
	}
	// Canonical names win over aliases; without an id, rows are numbered.
	in = "x,frequency,recency,T\n9,3,1,2\n"
	got = nil
	info, err = ReadSummaries(strings.NewReader(in), func(s Summary) error { got = append(got, s); return nil })
	if err != nil || info.HasID || info.HasMonetary || len(got) != 1 || got[0] != (Summary{"1", 3, 1, 2, 0}) {
		t.Fatalf("got %+v %+v %v", info, got, err)
	}
}

func TestReadSummariesErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "line 1: the file is empty"},
		{"frequency,recency\n1,2\n", "line 1: missing column T"},
		{"a,b,c\n", "missing column frequency, recency, T"},
		{"frequency,recency,T\n1,2,3\n1,x,3\n", `line 3, column 2 (recency): "x" is not a number`},
		{"frequency,recency,T\n1,2,3\n1,,3\n", "line 3, column 2 (recency): the value is empty"},
		{"frequency,recency,T\n-1,2,3\n", "line 2, column 1 (frequency): -1 is negative"},
		{"frequency,recency,T\n1.5,2,3\n", "line 2, column 1 (frequency): 1.5 is not a whole number"},
		{"frequency,recency,T\n1,4,3\n", "line 2, column 2 (recency): recency 4 is after T 3"},
		{"frequency,recency,T\n0,1,3\n", "line 2, column 2 (recency): recency 1 with frequency 0"},
		{"frequency,recency,T\n1,2\n", "line 2, column 3 (T): the value is missing"},
		{"frequency,recency,T,monetary_value\n1,2,3,-4\n", "line 2, column 4 (monetary_value): -4 is negative"},
		{"frequency,recency,T\n1,2,NaN\n", `line 2, column 3 (T): "NaN" is not a number`},
		{"frequency,recency,T\n1,2,3\n\"1,2,3\n", "line 3: extraneous or missing \" in quoted-field (at character 8)"},
		{"frequency,recency,T\n1,2,3\n1,2,\"3\"x\n", "line 3: extraneous or missing"},
	}
	for _, c := range cases {
		_, err := ReadSummaries(strings.NewReader(c.in), func(Summary) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) || crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

// FuzzReadSummaries: the parser never panics, every error names a line,
// and every row it accepts obeys the summary invariants.
func FuzzReadSummaries(f *testing.F) {
	f.Add("frequency,recency,T,monetary_value\n2,30.43,38.86,22.35\n0,0,38.86,0\n")
	f.Add("ID,x,t_x,T,zbar\r\n1,2,30.43,38.86,22.35\r\n")
	f.Add("\"cust\",\"x\",\"t_x\",\"T_cal\",\"x_star\",\"m_x\"\n\"1\",2,30.4285714285714,38.8571428571429,1,22.345\n")
	f.Add("frequency,recency,T\n1e3,1e-3,1e400\n")
	f.Add("frequency,recency,T\n\"1\n\",2,3\n")
	f.Fuzz(func(t *testing.T, in string) {
		n := 0
		_, err := ReadSummaries(strings.NewReader(in), func(s Summary) error {
			n++
			if err := checkSummary(s); err != nil {
				t.Fatalf("accepted a bad row %+v: %v", s, err)
			}
			if s.MonetaryValue < 0 || math.IsNaN(s.MonetaryValue) || math.IsInf(s.MonetaryValue, 0) || s.Customer == "" {
				t.Fatalf("accepted a bad row %+v", s)
			}
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "line ") {
			t.Fatalf("error without a line: %v", err)
		}
		if err != nil && err == io.EOF {
			t.Fatal("io.EOF leaked")
		}
	})
}
