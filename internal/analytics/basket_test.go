package analytics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
)

func loadBasketLines(t testing.TB, rel string) *Baskets {
	t.Helper()
	f, err := os.Open(miningDataPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := ReadBasketLines(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustFraction(t testing.TB, s string) Fraction {
	t.Helper()
	f, err := ParseFraction(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func bySizeString(m map[int]int) string {
	var parts []string
	for k := 1; k <= 20; k++ {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
		}
	}
	return strings.Join(parts, " ")
}

// The arules / mlxtend counts of ../shared/data/baskets/README.md.
func TestFrequentItemsetsMatchArules(t *testing.T) {
	cases := []struct {
		file, minsup string
		n, items     int
		itemsets     int
		bySize       string
	}{
		{"baskets/groceries_basket.csv", "0.001", 9835, 169, 13492, "1:157 2:2981 3:6831 4:3137 5:376 6:10"},
		{"baskets/groceries_basket.csv", "0.005", 9835, 169, 1001, "1:120 2:605 3:264 4:12"},
		{"baskets/groceries_basket.csv", "0.01", 9835, 169, 333, "1:88 2:213 3:32"},
		{"baskets/groceries_basket.csv", "0.02", 9835, 169, 122, "1:59 2:61 3:2"},
		{"baskets/online_retail_invoice_baskets.csv", "0.01", 20728, 3941, 1840, "1:790 2:817 3:215 4:18"},
		{"baskets/online_retail_invoice_baskets.csv", "0.02", 20728, 3941, 353, "1:276 2:76 3:1"},
		{"baskets/online_retail_invoice_baskets.csv", "0.03", 20728, 3941, 127, "1:119 2:8"},
		{"baskets/online_retail_invoice_baskets.csv", "0.05", 20728, 3941, 32, "1:32"},
	}
	loaded := map[string]*Baskets{}
	for _, c := range cases {
		b := loaded[c.file]
		if b == nil {
			b = loadBasketLines(t, c.file)
			loaded[c.file] = b
		}
		if b.Len() != c.n || b.Items() != c.items {
			t.Fatalf("%s: %d baskets, %d items; want %d, %d", c.file, b.Len(), b.Items(), c.n, c.items)
		}
		sets, err := b.FrequentItemsets(MineOptions{MinSupport: mustFraction(t, c.minsup)})
		if err != nil {
			t.Fatal(err)
		}
		if got := bySizeString(sets.BySize()); sets.Len() != c.itemsets || got != c.bySize {
			t.Errorf("%s at %s: %d itemsets (%s); want %d (%s)", c.file, c.minsup, sets.Len(), got, c.itemsets, c.bySize)
		}
	}
}

func TestRulesMatchArules(t *testing.T) {
	g := loadBasketLines(t, "baskets/groceries_basket.csv")
	sets, err := g.FrequentItemsets(MineOptions{MinSupport: mustFraction(t, "0.001")})
	if err != nil {
		t.Fatal(err)
	}
	rules := sets.Rules(RuleOptions{MinConfidence: mustFraction(t, "0.8")})
	exact := 0
	for _, r := range rules {
		if 5*r.Count == 4*int(math.Round(float64(r.Count)/r.Confidence)) {
			exact++
		}
	}
	if len(rules) != 410 || exact != 39 {
		t.Errorf("groceries 0.001/0.8: %d rules, %d at exactly 0.8; want 410 and 39", len(rules), exact)
	}
	top := rules[0]
	if strings.Join(top.Antecedent, "|") != "liquor|red/blush wine" || strings.Join(top.Consequent, "|") != "bottled beer" ||
		top.Count != 19 || math.Abs(top.Lift-11.23527) > 1e-5 || math.Abs(top.Confidence-0.9047619) > 1e-7 || math.Abs(top.Support-0.001931876) > 1e-9 {
		t.Errorf("top rule %+v", top)
	}
	if all := sets.Rules(RuleOptions{MinConfidence: mustFraction(t, "0.8"), MaxConsequent: -1}); len(all) != 413 {
		t.Errorf("any consequent size: %d rules, want 413", len(all))
	}
	// A float comparison would lose a rule (mlxtend keeps 409): 0.8 is 4/5 exactly here.
	f := mustFraction(t, "0.8")
	if f.Num*5 != f.Den*4 || !f.atLeast(12, 15) || f.atLeast(11, 14) {
		t.Errorf("0.8 parsed as %v", f)
	}

	sets01, _ := g.FrequentItemsets(MineOptions{MinSupport: mustFraction(t, "0.01")})
	r01 := sets01.Rules(RuleOptions{MinConfidence: mustFraction(t, "0.5")})
	if len(r01) != 15 || strings.Join(r01[0].Antecedent, "|") != "citrus fruit|root vegetables" || r01[0].Consequent[0] != "other vegetables" ||
		r01[0].Count != 102 || math.Abs(r01[0].Lift-3.029608) > 1e-6 || math.Abs(r01[0].Confidence-0.5862069) > 1e-7 {
		t.Errorf("groceries 0.01/0.5: %d rules, top %+v", len(r01), r01[0])
	}
	// Five most frequent items.
	var top5 []string
	for k := 0; k < sets.Len() && len(top5) < 5; k++ {
		if ids, c := sets.Set(k); len(ids) == 1 && sets.rank[ids[0]] < 5 {
			top5 = append(top5, fmt.Sprintf("%s %d", sets.Names[ids[0]], c))
		}
	}
	slices.Sort(top5)
	if strings.Join(top5, ", ") != "other vegetables 1903, rolls/buns 1809, soda 1715, whole milk 2513, yogurt 1372" {
		t.Errorf("top items %v", top5)
	}

	o := loadBasketLines(t, "baskets/online_retail_invoice_baskets.csv")
	osets, _ := o.FrequentItemsets(MineOptions{MinSupport: mustFraction(t, "0.02")})
	or := osets.Rules(RuleOptions{MinConfidence: mustFraction(t, "0.7")})
	if len(or) != 9 || strings.Join(or[0].Antecedent, "|") != "22697|22699" || or[0].Consequent[0] != "22698" || or[0].Count != 542 ||
		math.Abs(or[0].Lift-19.09707) > 1e-5 {
		t.Errorf("online retail 0.02/0.7: %d rules, top %+v", len(or), or[0])
	}
}

func TestBoughtTogetherAndSuggest(t *testing.T) {
	g := loadBasketLines(t, "baskets/groceries_basket.csv")
	sets, _ := g.FrequentItemsets(MineOptions{MinSupport: mustFraction(t, "0.001")})
	tog := sets.BoughtTogether("bottled beer", 3, false)
	if len(tog) != 3 || tog[0].Lift < tog[1].Lift || tog[1].Lift < tog[2].Lift {
		t.Fatalf("%+v", tog)
	}
	// Each entry is the pair rule bottled beer ⇒ other.
	rules := sets.Rules(RuleOptions{MinConfidence: Fraction{0, 1}})
	for _, x := range tog {
		found := false
		for _, r := range rules {
			if len(r.Antecedent) == 1 && r.Antecedent[0] == "bottled beer" && r.Consequent[0] == x.Item {
				found = r.Count == x.Count && math.Abs(r.Lift-x.Lift) < 1e-12 && math.Abs(r.Confidence-x.Confidence) < 1e-12
			}
		}
		if !found {
			t.Errorf("%+v is not the rule bottled beer ⇒ %s", x, x.Item)
		}
	}
	byConf := sets.BoughtTogether("bottled beer", 0, true)
	if byConf[0].Item != "whole milk" || len(byConf) < 10 {
		t.Errorf("by confidence: %+v", byConf[:3])
	}
	if sets.BoughtTogether("caviar", 3, false) != nil {
		t.Error("unknown item has suggestions")
	}
	r8 := sets.Rules(RuleOptions{MinConfidence: mustFraction(t, "0.8")})
	sug := Suggest(r8, []string{"liquor", "red/blush wine", "soda"}, 5)
	if len(sug) == 0 || sug[0].Consequent[0] != "bottled beer" {
		t.Errorf("suggestions %+v", sug)
	}
	for _, s := range sug {
		if slices.Contains([]string{"liquor", "red/blush wine", "soda"}, s.Consequent[0]) {
			t.Errorf("suggested what is already there: %+v", s)
		}
	}
}

// bruteForce counts every itemset of up to 4 items by enumeration.
func bruteForce(baskets [][]string, minc int) map[string]int {
	counts := map[string]int{}
	for _, b := range baskets {
		items := slices.Compact(slices.Sorted(slices.Values(b)))
		n := len(items)
		for mask := 1; mask < 1<<n; mask++ {
			var set []string
			for i := range n {
				if mask&(1<<i) != 0 {
					set = append(set, items[i])
				}
			}
			counts[strings.Join(set, "|")]++
		}
	}
	for k, c := range counts {
		if c < minc {
			delete(counts, k)
		}
	}
	return counts
}

func mined(sets *Itemsets) map[string]int {
	out := map[string]int{}
	for k := range sets.Len() {
		names, c := sets.ItemsetNames(k)
		out[strings.Join(names, "|")] = c
	}
	return out
}

func TestFrequentItemsetsAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		nItems := 2 + rng.IntN(9)
		var baskets [][]string
		b := NewBaskets()
		for range 1 + rng.IntN(40) {
			var bk []string
			for range rng.IntN(9) {
				bk = append(bk, string(rune('a'+rng.IntN(nItems))))
			}
			baskets = append(baskets, bk)
			b.Add(bk...)
		}
		minsup := Fraction{uint64(1 + rng.IntN(10)), 20}
		sets, err := b.FrequentItemsets(MineOptions{MinSupport: minsup})
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(baskets, int(minsup.ceilTimes(uint64(len(baskets)))))
		got := mined(sets)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d, minsup %v, baskets %q:\ngot  %v\nwant %v", round, minsup, baskets, got, want)
		}
		// Rules: brute force over the counts.
		conf := Fraction{uint64(rng.IntN(11)), 10}
		rules := sets.Rules(RuleOptions{MinConfidence: conf, MaxConsequent: -1})
		nWant := 0
		for key, cz := range want {
			items := strings.Split(key, "|")
			for mask := 1; mask < 1<<len(items)-1; mask++ {
				var lhs []string
				for i, it := range items {
					if mask&(1<<i) == 0 {
						lhs = append(lhs, it)
					}
				}
				if cx := want[strings.Join(lhs, "|")]; uint64(cz)*conf.Den >= conf.Num*uint64(cx) {
					nWant++
				}
			}
		}
		if len(rules) != nWant {
			t.Fatalf("round %d: %d rules, brute force %d", round, len(rules), nWant)
		}
	}
	// MaxLen and MaxItemsets.
	b := NewBaskets()
	b.Add("a", "b", "c")
	b.Add("a", "b", "c")
	if s, _ := b.FrequentItemsets(MineOptions{MinSupport: Fraction{1, 1}, MaxLen: 2}); s.Len() != 6 {
		t.Errorf("maxlen 2: %d itemsets", s.Len())
	}
	if _, err := b.FrequentItemsets(MineOptions{MinSupport: Fraction{1, 1}, MaxItemsets: 5}); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("max itemsets: %v", err)
	}
	if _, err := b.FrequentItemsets(MineOptions{}); err == nil {
		t.Error("min support 0 accepted")
	}
}

func TestParseFraction(t *testing.T) {
	for in, want := range map[string]Fraction{"0.8": {8, 10}, "0.001": {1, 1000}, "1": {1, 1}, ".5": {5, 10}, "0.50": {5, 10},
		"1e-3": {1, 1000}, "0": {0, 1}, "00.010": {1, 100}, "1.0": {1, 1}, "5E-1": {5, 10}} {
		got, err := ParseFraction(in)
		if err != nil || got != want {
			t.Errorf("%q → %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.5", "-0.1", "abc", "0.1.2", "1e", "0x1", "NaN", "Inf", "0.0000000000000000001", "."} {
		if f, err := ParseFraction(in); err == nil {
			t.Errorf("%q accepted as %v", in, f)
		}
	}
	if f, _ := FractionOf(0.8); f != (Fraction{8, 10}) {
		t.Errorf("FractionOf(0.8) = %v", f)
	}
	// ceil(minsup·N) as arules: 0.001 × 9835 → 10.
	if c := mustFraction(t, "0.001").ceilTimes(9835); c != 10 {
		t.Errorf("ceil %d", c)
	}
	if c := mustFraction(t, "0.01").ceilTimes(20728); c != 208 {
		t.Errorf("ceil %d", c)
	}
	if c := mustFraction(t, "0.2").ceilTimes(10); c != 2 {
		t.Errorf("exact product: %d", c)
	}
}

func FuzzParseFraction(f *testing.F) {
	for _, s := range []string{"0.8", "1e-3", ".5", "1", "0.0001", "9e-19"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fr, err := ParseFraction(s)
		if err != nil {
			return
		}
		if fr.Den == 0 || fr.Num > fr.Den {
			t.Fatalf("%q → %v", s, fr)
		}
		// The exact fraction agrees with the float reading.
		if v, err := FractionOf(fr.Float()); err != nil || math.Abs(v.Float()-fr.Float()) > 1e-15 {
			t.Fatalf("%q → %v, round trip %v %v", s, fr, v, err)
		}
	})
}

func TestReadBaskets(t *testing.T) {
	b, err := ReadBasketLines(strings.NewReader("\ufeffa,b ,a\r\n\nc\n b,a"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 3 || b.Items() != 4 {
		t.Errorf("%d baskets, %d items (%q)", b.Len(), b.Items(), b.names)
	}
	for in, want := range map[string]string{
		"a,,b\n":    "line 1: item 2 is empty",
		"a\nb,\n":   "line 2: item 2 is empty",
		"a\n\xff\n": "line 2: not valid UTF-8",
	} {
		if _, err := ReadBasketLines(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	long := "basket_id,item,qty\n1,milk,2\n2,\"bread, white\",1\n1,eggs,1\n1,milk,1\n3,tea,0\n"
	b, err = ReadBasketCSV(strings.NewReader(long), BasketColumns{Quantity: "qty"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2 || b.Items() != 3 {
		t.Errorf("long: %d baskets, %d items", b.Len(), b.Items())
	}
	sets, _ := b.FrequentItemsets(MineOptions{MinSupport: Fraction{1, 2}})
	if got := mined(sets); fmt.Sprint(got) != "map[bread, white:1 eggs:1 eggs|milk:1 milk:1]" {
		t.Errorf("long: %v", got)
	}
	for in, want := range map[string]string{
		"":                                    "line 1: the file is empty",
		"basket,item\n":                       `line 1, column "basket_id": no such column`,
		"basket_id,item,qty\n1,a,-1\n":        `line 2, column "qty": -1 is negative`,
		"basket_id,item,qty\n1,a,x\n":         `line 2, column "qty": "x" is not a number`,
		"basket_id,item,qty\n1,,1\n":          `line 2, column "item": the item is empty`,
		"basket_id,item,qty\n,a,1\n":          `line 2, column "basket_id": the basket is empty`,
		"basket_id,item,qty\n1,a\n":           `line 2: 2 fields, but the columns used need 3`,
		"basket_id,item,qty\n1,\"a,1\n":       `line 2: extraneous or missing " in quoted field`,
		"basket_id,item,qty\n1,a,1\n2,b\"c,1": `line 3: bare " in non-quoted field`,
	} {
		if _, err := ReadBasketCSV(strings.NewReader(in), BasketColumns{Quantity: "qty"}); err == nil || !strings.Contains(err.Error(), want) || crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

func FuzzReadBasketLines(f *testing.F) {
	f.Add("a,b,c\nb,c\n\nc\n")
	f.Add("whole milk,cream cheese \r\nx")
	f.Fuzz(func(t *testing.T, in string) {
		b, err := ReadBasketLines(strings.NewReader(in))
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID || !strings.HasPrefix(crm.ErrorMessage(err), "line ") {
				t.Fatalf("error %v", err)
			}
			return
		}
		for k := range b.Len() {
			items := b.items[b.off[k]:b.off[k+1]]
			if len(items) == 0 || !slices.IsSorted(items) || len(slices.Compact(slices.Clone(items))) != len(items) {
				t.Fatalf("basket %d: %v", k, items)
			}
		}
		if b.Len() > 0 && len(in) < 4096 {
			if _, err := b.FrequentItemsets(MineOptions{MinSupport: Fraction{1, 2}, MaxItemsets: 200}); err != nil && crm.ErrorCode(err) != crm.EINVALID {
				t.Fatal(err)
			}
		}
	})
}

func FuzzReadBasketCSV(f *testing.F) {
	f.Add("basket_id,item\n1,a\n1,b\n2,a\n")
	f.Add("basket_id,item,quantity\n1,\"a,b\",2\n1,b,0\n")
	f.Fuzz(func(t *testing.T, in string) {
		b, err := ReadBasketCSV(strings.NewReader(in), BasketColumns{Quantity: "quantity"})
		if err != nil {
			if !strings.Contains(in, "quantity") {
				b, err = ReadBasketCSV(strings.NewReader(in), BasketColumns{})
			}
			if err != nil {
				if crm.ErrorCode(err) != crm.EINVALID || !strings.HasPrefix(crm.ErrorMessage(err), "line ") {
					t.Fatalf("error %v", err)
				}
				return
			}
		}
		if len(b.off) != b.Len()+1 || int(b.off[b.Len()]) != len(b.items) {
			t.Fatalf("inconsistent baskets")
		}
	})
}
