package analytics

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"
)

// onlineRetailTransactions reads the clean Online Retail transactions.
func onlineRetailTransactions(t testing.TB) []Transaction {
	t.Helper()
	f, err := os.Open(miningDataPath(t, "online_retail/online_retail_2010_2011.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var txs []Transaction
	if err := ReadTransactions(f, OnlineRetailColumns, func(tx Transaction) error {
		txs = append(txs, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return txs
}

func TestRFMMatchesOnlineRetailReference(t *testing.T) {
	txs := onlineRetailTransactions(t)
	// Shuffled input must give the same result: the accumulator is order-free.
	for i := len(txs) - 1; i > 0; i-- {
		j := (i * 7919) % (i + 1)
		txs[i], txs[j] = txs[j], txs[i]
	}
	acc := NewRFM(RFMOptions{})
	for _, tx := range txs {
		if err := acc.Add(tx); err != nil {
			t.Fatal(err)
		}
	}
	scores := acc.Scores()
	if end, _ := acc.End(); !end.Equal(time.Date(2011, 12, 9, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("end %v", end)
	}
	ref, err := os.Open(miningDataPath(t, "online_retail/rfm_reference_ntile.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	rows, err := csv.NewReader(ref).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows = rows[1:]
	if len(scores) != len(rows) || len(rows) != 4338 {
		t.Fatalf("%d customers, reference has %d", len(scores), len(rows))
	}
	bad := 0
	cells := map[string]int{}
	for i, row := range rows {
		s := scores[i]
		cells[s.Cell]++
		got := []string{s.Customer, strconv.Itoa(s.Recency), strconv.Itoa(s.Frequency), "", strconv.Itoa(s.Tenure),
			strconv.Itoa(s.R), strconv.Itoa(s.F), strconv.Itoa(s.M), s.Cell}
		m, _ := strconv.ParseFloat(row[3], 64)
		for c := range row {
			if c == 3 {
				if math.Abs(m-s.Monetary) > 1e-9 {
					bad++
					t.Errorf("customer %s monetary %v, reference %v", row[0], s.Monetary, m)
				}
				continue
			}
			if got[c] != row[c] {
				bad++
				if bad < 20 {
					t.Errorf("customer %s: %v, reference %v", row[0], got, row)
				}
				break
			}
		}
	}
	if cells["555"] != 348 || cells["111"] != 185 {
		t.Errorf("cells 555: %d, 111: %d; want 348 and 185", cells["555"], cells["111"])
	}
}

// The indexed path (ReadCustomerTransactions → AddIndexed) gives the same
// scores and cohorts as Add.
func TestRFMAndCohortsIndexed(t *testing.T) {
	txs := onlineRetailTransactions(t)
	want, _ := ScoreRFM(txs, RFMOptions{})
	wantTab, _ := CohortRetention(txs, CohortOptions{Calendar: "jalali"})
	f, err := os.Open(miningDataPath(t, "online_retail/online_retail_2010_2011.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewRFM(RFMOptions{})
	c, _ := NewCohorts(CohortOptions{Calendar: "jalali"})
	if _, err := ReadCustomerTransactions(f, OnlineRetailColumns, func(tx Transaction, i int) error {
		if err := r.AddIndexed(tx, i); err != nil {
			return err
		}
		return c.AddIndexed(tx, i)
	}); err != nil {
		t.Fatal(err)
	}
	if got := r.Scores(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Error("indexed RFM differs")
	}
	if got := c.Table(); fmt.Sprint(got) != fmt.Sprint(wantTab) {
		t.Errorf("indexed cohorts differ")
	}
	if r.Add(txs[0]) == nil || c.Add(txs[0]) == nil {
		t.Error("Add after AddIndexed accepted")
	}
	// Unused slots (a customer whose only transaction is after the end) are not customers.
	e := NewRFM(RFMOptions{End: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	e.AddIndexed(Transaction{"a", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 1}, 0)
	e.AddIndexed(Transaction{"b", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), 1}, 1)
	e.AddIndexed(Transaction{"c", time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC), 1}, 2)
	if s := e.Scores(); len(s) != 2 || s[0].Customer != "a" || s[1].Customer != "c" || e.Ignored() != 1 || e.Customers() != 2 {
		t.Errorf("%+v", s)
	}
}

func TestNtile(t *testing.T) {
	for _, n := range []int{1, 2, 4, 5, 6, 7, 11, 4338} {
		sizes := make([]int, 6)
		prev := 1
		for pos := 0; pos < n; pos++ {
			b := ntile(pos, n, 5)
			if b < prev || b > 5 {
				t.Fatalf("n=%d pos=%d bucket %d after %d", n, pos, b, prev)
			}
			prev = b
			sizes[b]++
		}
		// SQL NTILE: sizes differ by at most one, larger buckets first.
		for b := 2; b <= 5; b++ {
			if sizes[b] > sizes[b-1] || (sizes[b] > 0 && sizes[b-1]-sizes[b] > 1) {
				t.Errorf("n=%d sizes %v", n, sizes[1:])
			}
		}
		if n == 4338 && fmt.Sprint(sizes[1:]) != "[868 868 868 867 867]" {
			t.Errorf("4338 → %v", sizes[1:])
		}
	}
}

func TestRFMTiesAndEnd(t *testing.T) {
	d := func(s string) time.Time { tm, _ := time.Parse("2006-01-02", s); return tm }
	txs := []Transaction{
		{"10", d("2024-01-01"), 5}, {"9", d("2024-01-01"), 5}, {"b", d("2024-01-01"), 5}, {"a", d("2024-01-01"), 5}, {"09", d("2024-01-01"), 5},
		{"late", d("2024-02-01"), 100},
	}
	s, err := ScoreRFM(txs, RFMOptions{End: d("2024-01-10")})
	if err != nil {
		t.Fatal(err)
	}
	// "late" is after the end; the five equal customers are ordered 09, 9, 10, a, b and get R, F, M = 5-NTILE positions.
	var ids, cells []string
	for _, x := range s {
		ids = append(ids, x.Customer)
		cells = append(cells, x.Cell)
		if x.Recency != 10 || x.Tenure != 10 || x.Frequency != 1 || x.Monetary != 5 {
			t.Errorf("%+v", x)
		}
	}
	// recency ties: order by id ascending → 09 gets bucket 1 … b gets 5; F and M likewise.
	if fmt.Sprint(ids) != "[09 9 10 a b]" || fmt.Sprint(cells) != "[111 222 333 444 555]" {
		t.Errorf("ids %v cells %v", ids, cells)
	}
	if _, err := ScoreRFM([]Transaction{{"", d("2024-01-01"), 1}}, RFMOptions{}); err == nil {
		t.Error("a transaction without customer was accepted")
	}
	if _, err := ScoreRFM([]Transaction{{"x", d("2024-01-01"), math.NaN()}}, RFMOptions{}); err == nil {
		t.Error("a NaN amount was accepted")
	}
}

func TestRFMSegmentGrid(t *testing.T) {
	// Every (R, F, M) gets exactly the segment of the documented grid.
	grid := map[[2]int]string{
		{1, 5}: SegmentCannotLoseThem, {2, 5}: SegmentAtRisk, {3, 5}: SegmentLoyal, {4, 5}: SegmentLoyal, {5, 5}: SegmentChampions,
		{1, 4}: SegmentAtRisk, {2, 4}: SegmentAtRisk, {3, 4}: SegmentLoyal, {4, 4}: SegmentLoyal, {5, 4}: SegmentLoyal,
		{1, 3}: SegmentAtRisk, {2, 3}: SegmentAtRisk, {3, 3}: SegmentNeedAttention, {4, 3}: SegmentPotentialLoyalists, {5, 3}: SegmentPotentialLoyalists,
		{1, 2}: SegmentLost, {2, 2}: SegmentHibernating, {3, 2}: SegmentAboutToSleep, {4, 2}: SegmentPotentialLoyalists, {5, 2}: SegmentPotentialLoyalists,
		{1, 1}: SegmentLost, {2, 1}: SegmentLost, {3, 1}: SegmentAboutToSleep, {4, 1}: SegmentPromising, {5, 1}: SegmentNew,
	}
	used := map[string]bool{}
	for r := 1; r <= 5; r++ {
		for f := 1; f <= 5; f++ {
			for m := 1; m <= 5; m++ {
				got := RFMSegment(r, f, m)
				if want := grid[[2]int{r, FMScore(f, m)}]; got != want {
					t.Errorf("R%d F%d M%d: %q, want %q", r, f, m, got, want)
				}
				used[got] = true
			}
		}
	}
	if len(used) != len(RFMSegments) {
		t.Errorf("segments used %v, want all of %v", used, RFMSegments)
	}
	if RFMSegment(0, 1, 1) != "" || RFMSegment(1, 6, 1) != "" {
		t.Error("out-of-range scores got a segment")
	}
}
