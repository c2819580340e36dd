package analytics

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestCustomerSummarizerMatchesSummarizer feeds random histories (several
// transactions a day, out of order, after the end) to both summarizers
// and wants identical summaries, bit for bit.
func TestCustomerSummarizerMatchesSummarizer(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, opt := range []SummaryOptions{
		{Period: Days, End: base.AddDate(0, 0, 400)},
		{Period: Weeks, End: base.AddDate(0, 0, 400)},
		{Period: Days, Unit: Weeks, End: base.AddDate(0, 0, 300)},
	} {
		byCustomer := map[string][]Transaction{}
		var ids []string
		for c := range 300 {
			id := strconv.Itoa(c + 1)
			ids = append(ids, id)
			n := 1 + rng.IntN(12)
			for range n {
				day := rng.IntN(420)
				if rng.IntN(4) == 0 && len(byCustomer[id]) > 0 { // same day as the previous one
					day = int(byCustomer[id][len(byCustomer[id])-1].Time.Sub(base).Hours() / 24)
				}
				tx := Transaction{Customer: id, Time: base.AddDate(0, 0, day).Add(time.Duration(rng.IntN(86400)) * time.Second),
					Amount: float64(rng.IntN(100000)) / 100}
				byCustomer[id] = append(byCustomer[id], tx)
			}
		}
		// Summarizer sees the customers interleaved; each customer's own
		// transactions keep their order, as in the per-customer stream.
		var all []Transaction
		next := map[string]int{}
		for left := slicesLen(byCustomer); left > 0; left-- {
			for {
				id := ids[rng.IntN(len(ids))]
				if i := next[id]; i < len(byCustomer[id]) {
					all = append(all, byCustomer[id][i])
					next[id] = i + 1
					break
				}
			}
		}
		want, err := Summarize(all, opt)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := NewCustomerSummarizer(opt)
		if err != nil {
			t.Fatal(err)
		}
		var got []Summary
		for _, id := range ids {
			s, ok, err := cs.Summarize(id, byCustomer[id])
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				got = append(got, s)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: %d summaries, want %d", opt, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: customer %s: got %+v, want %+v", opt, want[i].Customer, got[i], want[i])
			}
		}
	}
}

func TestCustomerSummarizerNeedsEnd(t *testing.T) {
	if _, err := NewCustomerSummarizer(SummaryOptions{}); err == nil {
		t.Fatal("no error without an end")
	}
	cs, _ := NewCustomerSummarizer(SummaryOptions{End: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if _, _, err := cs.Summarize("1", []Transaction{{Time: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), Amount: -1}}); err == nil {
		t.Fatal("negative amount accepted")
	}
	if _, ok, err := cs.Summarize("1", []Transaction{{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Amount: 1}}); ok || err != nil {
		t.Fatalf("a purchase after the end: ok %v, err %v", ok, err)
	}
}

func slicesLen(m map[string][]Transaction) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}
