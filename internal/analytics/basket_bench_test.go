package analytics

import "testing"

// BenchmarkFrequentItemsets times one mining call, excluding file reading
// (as the timings in ../shared/data/baskets/README.md).
func BenchmarkFrequentItemsets(b *testing.B) {
	for _, c := range []struct {
		name, file, minsup string
		want               int
	}{
		{"groceries-0.001", "baskets/groceries_basket.csv", "0.001", 13492},
		{"groceries-0.01", "baskets/groceries_basket.csv", "0.01", 333},
		{"online_retail-0.01", "baskets/online_retail_invoice_baskets.csv", "0.01", 1840},
		{"online_retail-0.02", "baskets/online_retail_invoice_baskets.csv", "0.02", 353},
	} {
		bk := loadBasketLines(b, c.file)
		minsup := mustFraction(b, c.minsup)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, err := bk.FrequentItemsets(MineOptions{MinSupport: minsup})
				if err != nil || s.Len() != c.want {
					b.Fatalf("%v, %d itemsets", err, s.Len())
				}
			}
		})
	}
}

func BenchmarkRules(b *testing.B) {
	bk := loadBasketLines(b, "baskets/groceries_basket.csv")
	s, _ := bk.FrequentItemsets(MineOptions{MinSupport: mustFraction(b, "0.001")})
	conf := mustFraction(b, "0.8")
	for b.Loop() {
		s.bySet = nil
		if r := s.Rules(RuleOptions{MinConfidence: conf}); len(r) != 410 {
			b.Fatal(len(r))
		}
	}
}
