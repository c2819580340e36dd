package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// miningTestData is a file of the shared reference data (../shared/data
// next to the repository, or $PIVAND_DATA_DIR); the test is skipped
// without it.
func miningTestData(t *testing.T, rel string) string {
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

// analyze runs `pivand analyze ARGS` with stdin.
func analyze(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"analyze"}, args...), noenv, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestAnalyzeRFMOnlineRetail(t *testing.T) {
	in := miningTestData(t, "online_retail/online_retail_2010_2011.csv")
	code, out, errs := analyze(t, "", "rfm", "--input", in, "--preset", "online-retail", "--format", "csv")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	got, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(miningTestData(t, "online_retail/rfm_reference_ntile.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, _ := csv.NewReader(f).ReadAll()
	if len(got) != len(want) {
		t.Fatalf("%d rows, reference %d", len(got), len(want))
	}
	// The reference's columns, byte for byte, then the segment.
	for i := range want {
		if strings.Join(got[i][:9], ",") != strings.Join(want[i], ",") {
			t.Fatalf("row %d: %v, reference %v", i, got[i], want[i])
		}
	}
	if got[0][9] != "segment" || got[2][9] != "champions" { // 12347 is 555
		t.Errorf("segment column: %v %v", got[0], got[2])
	}

	code, out, errs = analyze(t, "", "rfm", "--input", in, "--preset", "online-retail", "--format", "json")
	var rep struct {
		Customers    int            `json:"customers"`
		End          string         `json:"end"`
		Snapshot     string         `json:"snapshot"`
		Cells        map[string]int `json:"cells"`
		Segments     map[string]int `json:"segments"`
		SegmentRules []struct {
			Segment string `json:"segment"`
		} `json:"segment_rules"`
		Scores []struct {
			Customer string `json:"customer_id"`
			Cell     string `json:"rfm_cell"`
		} `json:"scores"`
	}
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil {
		t.Fatalf("exit %d, %v, stderr %s", code, err, errs)
	}
	total := 0
	for _, n := range rep.Segments {
		total += n
	}
	if rep.Customers != 4338 || rep.End != "2011-12-09" || rep.Snapshot != "2011-12-10" || rep.Cells["555"] != 348 || rep.Cells["111"] != 185 ||
		total != 4338 || len(rep.SegmentRules) != 11 || rep.Scores[1].Customer != "12347" || rep.Scores[1].Cell != "555" {
		t.Errorf("json: %d customers, end %s, cells 555 %d, 111 %d, segments %v", rep.Customers, rep.End, rep.Cells["555"], rep.Cells["111"], rep.Segments)
	}
}

func TestAnalyzeRFMSmall(t *testing.T) {
	in := "\ufeffCustomer;Day;Total\nb;2024-01-10;5\na;2024-01-01;10\na;2024-01-20;10\nc;2024-03-01;99\n"
	code, out, errs := analyze(t, in, "rfm", "--input", "-", "--separator", "semicolon", "--customer-col", "Customer",
		"--date-col", "Day", "--amount-col", "Total", "--end", "2024-01-31")
	want := "Customer,recency_days,frequency,monetary,tenure_days,r_score,f_score,m_score,rfm_cell,segment\n" +
		"a,12,2,20.0,31,2,2,2,222,hibernating\nb,22,1,5.0,22,1,1,1,111,lost\n"
	if code != 0 || out != want || errs != "" {
		t.Errorf("exit %d\n%s\nwant\n%s\nstderr %s", code, out, want, errs)
	}
}

// Bad files: a clear error naming the line and column on stderr, exit 1,
// nothing on stdout. Usage mistakes exit 2.
func TestAnalyzeMiningErrors(t *testing.T) {
	cases := []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"customer_id,date\na,2024-01-01\n", []string{"rfm", "--input", "-"}, 1, `standard input: line 1, column "amount": no such column in the header`},
		{"customer_id,date,amount\na,2024-01-01,1\na,2024-13-01,1\n", []string{"rfm", "--input", "-"}, 1, `standard input: line 3, column "date": "2024-13-01" is not a date`},
		{"customer_id,date,amount\na,2024-01-01,-1\n", []string{"cohorts", "--input", "-"}, 1, `line 2, column "amount": -1 is negative`},
		{"customer_id,date,amount\n", []string{"cohorts", "--input", "-", "--format", "json"}, 1, `standard input: no transactions`},
		{"basket_id,item,qty\n1,a,2\n1,b,-3\n", []string{"basket", "--input", "-", "--min-support", "0.1", "--quantity-col", "qty"}, 1, `line 3, column "qty": -3 is negative`},
		{"basket,item\n1,a\n", []string{"basket", "--input", "-", "--min-support", "0.1"}, 1, `line 1, column "basket_id": no such column in the header`},
		{"a,b\nc,,d\n", []string{"basket", "--input", "-", "--lines", "--min-support", "0.1"}, 1, `line 2: item 2 is empty`},
		{"", []string{"rfm", "--input", "/nonexistent/x.csv"}, 1, `cannot open /nonexistent/x.csv`},
		{"\n\n", []string{"basket", "--input", "-", "--lines", "--min-support", "0.5"}, 1, `standard input: no baskets`},
		{"", []string{"rfm"}, 2, `missing --input FILE`},
		{"", []string{"rfm", "--input", "-", "--format", "xml"}, 2, `--format "xml"`},
		{"", []string{"rfm", "--input", "-", "--end", "2024-02-30"}, 2, `--end "2024-02-30" is not a date`},
		{"", []string{"rfm", "--input", "-", "--quantity-col", "q"}, 2, `give both --quantity-col and --price-col`},
		{"", []string{"rfm", "--input", "-", "--preset", "x"}, 2, `--preset "x"`},
		{"", []string{"cohorts", "--input", "-", "--calendar", "lunar"}, 2, `--calendar "lunar"`},
		{"", []string{"basket", "--input", "-"}, 2, `missing --min-support`},
		{"", []string{"basket", "--input", "-", "--min-support", "0"}, 2, `--min-support "0"`},
		{"", []string{"basket", "--input", "-", "--min-support", "1.5"}, 2, `--min-support "1.5"`},
		{"", []string{"basket", "--input", "-", "--min-support", "0.1", "--min-confidence", "x"}, 2, `--min-confidence "x"`},
		{"", []string{"basket", "--input", "-", "--min-support", "0.1", "--format", "csv"}, 2, `only json`},
	}
	for _, c := range cases {
		code, out, errs := analyze(t, c.stdin, c.args...)
		if code != c.code || out != "" || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errs, c.code, c.want)
		}
	}
	for _, kind := range []string{"rfm", "cohorts", "basket"} {
		code, out, _ := analyze(t, "", kind, "-h")
		if code != 0 || !strings.Contains(out, "Usage: pivand analyze "+kind) || !strings.Contains(out, "--input") {
			t.Errorf("%s -h: exit %d, %q", kind, code, out)
		}
	}
	code, out, _ := analyze(t, "")
	if code != 2 || !strings.Contains(out, "basket") || !strings.Contains(out, "cohorts") || !strings.Contains(out, "rfm") {
		t.Errorf("analyze: exit %d, %q", code, out)
	}
}
