package main

import (
	"encoding/json"
	"strings"
	"testing"
)

type basketOutput struct {
	Baskets  int            `json:"baskets"`
	Items    int            `json:"items"`
	MinCount int            `json:"min_count"`
	Itemsets int            `json:"itemsets"`
	BySize   map[string]int `json:"by_size"`
	Count    int            `json:"rule_count"`
	Rules    []struct {
		LHS        []string `json:"lhs"`
		RHS        []string `json:"rhs"`
		Count      int      `json:"count"`
		Support    float64  `json:"support"`
		Confidence float64  `json:"confidence"`
		Lift       float64  `json:"lift"`
	} `json:"rules"`
	Together []struct {
		Item  string  `json:"item"`
		Count int     `json:"count"`
		Lift  float64 `json:"lift"`
	} `json:"together"`
}

func analyzeBasket(t *testing.T, stdin string, args ...string) basketOutput {
	t.Helper()
	code, out, errs := analyze(t, stdin, append([]string{"basket"}, args...)...)
	var rep basketOutput
	if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || errs != "" {
		t.Fatalf("%v: exit %d, %v, stderr %s", args, code, err, errs)
	}
	return rep
}

func TestAnalyzeBasketGroceries(t *testing.T) {
	in := miningTestData(t, "baskets/groceries_basket.csv")
	rep := analyzeBasket(t, "", "--input", in, "--lines", "--min-support", "0.001", "--min-confidence", "0.8", "--together", "bottled beer", "--format", "json")
	want := map[string]int{"1": 157, "2": 2981, "3": 6831, "4": 3137, "5": 376, "6": 10}
	if rep.Baskets != 9835 || rep.Items != 169 || rep.MinCount != 10 || rep.Itemsets != 13492 || rep.Count != 410 || len(rep.Rules) != 410 || len(rep.BySize) != len(want) {
		t.Errorf("%d baskets, %d items, min count %d, %d itemsets %v, %d rules", rep.Baskets, rep.Items, rep.MinCount, rep.Itemsets, rep.BySize, rep.Count)
	}
	for k, v := range want {
		if rep.BySize[k] != v {
			t.Errorf("by_size %s = %d, want %d", k, rep.BySize[k], v)
		}
	}
	r := rep.Rules[0]
	if strings.Join(r.LHS, "|") != "liquor|red/blush wine" || r.RHS[0] != "bottled beer" || r.Count != 19 || r.Lift < 11.2352 || r.Lift > 11.2353 {
		t.Errorf("top rule %+v", r)
	}
	if len(rep.Together) == 0 || rep.Together[0].Lift < rep.Together[len(rep.Together)-1].Lift {
		t.Errorf("together %+v", rep.Together)
	}
	rep = analyzeBasket(t, "", "--input", in, "--lines", "--min-support", "0.01", "--min-confidence", "0.5", "--top", "1")
	if rep.Itemsets != 333 || rep.Count != 15 || len(rep.Rules) != 1 || rep.Rules[0].Count != 102 {
		t.Errorf("0.01/0.5: %d itemsets, %d rules, %+v", rep.Itemsets, rep.Count, rep.Rules)
	}
	rep = analyzeBasket(t, "", "--input", in, "--lines", "--min-support", "0.001", "--max-consequent", "-1")
	if rep.Count != 413 {
		t.Errorf("any consequent: %d rules, want 413", rep.Count)
	}
}

func TestAnalyzeBasketOnlineRetail(t *testing.T) {
	in := miningTestData(t, "baskets/online_retail_invoice_baskets.csv")
	rep := analyzeBasket(t, "", "--input", in, "--lines", "--min-support", "0.02", "--min-confidence", "0.7")
	if rep.Baskets != 20728 || rep.Itemsets != 353 || rep.BySize["3"] != 1 || rep.Count != 9 || strings.Join(rep.Rules[0].LHS, "|") != "22697|22699" || rep.Rules[0].Count != 542 {
		t.Errorf("%d baskets, %d itemsets %v, %d rules, top %+v", rep.Baskets, rep.Itemsets, rep.BySize, rep.Count, rep.Rules[0])
	}
}

func TestAnalyzeBasketLongCSV(t *testing.T) {
	in := "\ufeffbasket_id,item\n1,milk\n1,bread\n2,milk\n3,\"tea, green\"\n2,bread\n3,milk\n"
	rep := analyzeBasket(t, in, "--input", "-", "--min-support", "0.5", "--min-confidence", "1")
	// milk 3, bread 2, {bread, milk} 2: bread ⇒ milk has confidence 1.
	if rep.Baskets != 3 || rep.Items != 3 || rep.Itemsets != 3 || rep.Count != 1 || rep.Rules[0].LHS[0] != "bread" || rep.Rules[0].RHS[0] != "milk" || rep.Rules[0].Lift != 1 {
		t.Errorf("%+v", rep)
	}
}
