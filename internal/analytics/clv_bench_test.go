package analytics

import (
	"bytes"
	"os"
	"testing"
)

// Benchmarks of the budgets in issue 9 (2 cores; lifetimes 0.11.3 takes
// 8.2 s for the 1M BG/NBD fit, 1.62 s for the Gamma-Gamma fit, and 0.49 s
// + 7.2 s for E[Y(39)] and the 12-month CLV of 1M customers):
//
//	go test -run XXX -bench 'BGNBD|GammaGamma|Score|ReadSummaries' -count 5 ./internal/analytics

func benchSummary(b *testing.B, rel string) []Summary {
	rows, _ := readSummaryFile(b, rel)
	return rows
}

var benchFiles = []struct{ name, file string }{
	{"cdnow", "cdnow/cdnow_customers_summary_with_transactions.csv"},
	{"100k", "synthetic/synth_bgnbd_gg_100k_seed42.csv"},
	{"1M", "synthetic/synth_bgnbd_gg_1m_seed42.csv"},
}

func BenchmarkBGNBDFit(b *testing.B) {
	for _, f := range benchFiles {
		b.Run(f.name, func(b *testing.B) {
			rows := benchSummary(b, f.file)
			b.ResetTimer()
			for b.Loop() {
				if _, err := FitBGNBD(rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGammaGammaFit(b *testing.B) {
	for _, f := range benchFiles {
		b.Run(f.name, func(b *testing.B) {
			rows := benchSummary(b, f.file)
			b.ResetTimer()
			for b.Loop() {
				if _, err := FitGammaGamma(rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScore: E[Y(39)], P(alive), churn band, E[M] and the 12-month
// CLV of every customer.
func BenchmarkScore(b *testing.B) {
	for _, f := range benchFiles {
		b.Run(f.name, func(b *testing.B) {
			rows := benchSummary(b, f.file)
			bg, err := FitBGNBD(rows)
			if err != nil {
				b.Fatal(err)
			}
			gg, err := FitGammaGamma(rows)
			if err != nil {
				b.Fatal(err)
			}
			opt := ScoreOptions{Periods: 39, CLV: CLVOptions{12, 0.01, 4.345}}
			b.ResetTimer()
			for b.Loop() {
				if _, err := ScoreCustomers(bg.BGNBD, &gg.GammaGamma, rows, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadSummaries parses the 1M-row summary CSV (31 MB).
func BenchmarkReadSummaries(b *testing.B) {
	data, err := os.ReadFile(clvDataPath(b, "synthetic/synth_bgnbd_gg_1m_seed42.csv"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		n := 0
		if _, err := ReadSummaries(bytes.NewReader(data), func(Summary) error { n++; return nil }); err != nil || n != 1000000 {
			b.Fatal(n, err)
		}
	}
}
