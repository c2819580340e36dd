package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
)

func init() {
	analyzers["basket"] = analyzer{
		summary: "frequent itemsets (FP-growth) and association rules of market baskets",
		run:     cmdAnalyzeBasket,
	}
}

const analyzeBasketUsage = "pivand analyze basket --input FILE [--lines] --min-support F [--min-confidence F] [--max-len N] [--max-consequent N] [--top N] [--together ITEM] --format json"

const analyzeBasketHelp = `
Finds every itemset bought together in at least --min-support of the
baskets (a fraction: the count threshold is ceil(min-support × baskets),
computed exactly, as arules does) and the association rules X ⇒ Y among them
whose confidence count(X∪Y) / count(X) reaches --min-confidence (compared in
integers, so 12/15 passes 0.8), with support, confidence and lift. Rules have
one-item consequents (as arules apriori), or up to --max-consequent items
(-1: any). Rules are printed best first by lift; --top limits how many.

--input is a long CSV with the header basket_id,item (other names with
--basket-col and --item-col; an optional --quantity-col skips rows with 0 and
rejects negative counts), or with --lines one basket per line, items
separated by commas (the arules basket format: nothing is trimmed). FILE may
be - for standard input. --together ITEM also lists the items most often
bought with ITEM (the pairs ITEM ⇒ other, by lift).
`

// basketReport is what `pivand analyze basket` prints.
type basketReport struct {
	Baskets       int                  `json:"baskets"`
	Items         int                  `json:"items"`
	MinSupport    float64              `json:"min_support"`
	MinCount      int                  `json:"min_count"`
	Itemsets      int                  `json:"itemsets"`
	BySize        map[string]int       `json:"by_size"`
	MinConfidence float64              `json:"min_confidence"`
	RuleCount     int                  `json:"rule_count"`
	Rules         []analytics.Rule     `json:"rules"`
	Together      []analytics.Together `json:"together,omitempty"`
}

func cmdAnalyzeBasket(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("analyze basket", flag.ContinueOnError)
	var (
		input, minSupS, minConfS, format, together string
		lines                                      bool
		cols                                       analytics.BasketColumns
		maxLen, maxCons, top, maxSets              int
	)
	fs.StringVar(&input, "input", "", "baskets file (long CSV basket_id,item, or one basket per line with --lines), or - for standard input")
	fs.BoolVar(&lines, "lines", false, "one basket per line, items separated by commas")
	fs.StringVar(&minSupS, "min-support", "", "minimum support, a fraction of the baskets (e.g. 0.001)")
	fs.StringVar(&minConfS, "min-confidence", "0.8", "minimum confidence of the rules")
	fs.IntVar(&maxLen, "max-len", 0, "largest itemset size (0: no limit)")
	fs.IntVar(&maxCons, "max-consequent", 1, "largest rule consequent (-1: any size)")
	fs.IntVar(&maxSets, "max-itemsets", 10_000_000, "stop with an error beyond this many itemsets")
	fs.IntVar(&top, "top", 0, "print only the best N rules (0: all)")
	fs.StringVar(&together, "together", "", "also list the items most often bought with this item")
	fs.StringVar(&cols.Basket, "basket-col", "basket_id", "basket column of a long CSV")
	fs.StringVar(&cols.Item, "item-col", "item", "item column of a long CSV")
	fs.StringVar(&cols.Quantity, "quantity-col", "", "count column of a long CSV (rows with 0 are skipped)")
	fs.StringVar(&format, "format", "json", "output format: json")
	if err := parse(fs, env, args, analyzeBasketUsage); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(env.stdout, analyzeBasketHelp)
		}
		return err
	}
	switch {
	case format != "json":
		return config.Usagef("--format %q: only json is supported", format)
	case input == "":
		return config.Usagef("missing --input FILE")
	case minSupS == "":
		return config.Usagef("missing --min-support F (a fraction of the baskets, e.g. 0.01)")
	case maxLen < 0:
		return config.Usagef("--max-len %d is negative", maxLen)
	case maxCons < -1 || maxCons == 0:
		return config.Usagef("--max-consequent %d is not -1 or a size from 1", maxCons)
	case top < 0:
		return config.Usagef("--top %d is negative", top)
	case maxSets < 1:
		return config.Usagef("--max-itemsets %d is not positive", maxSets)
	}
	minSup, err := analytics.ParseFraction(minSupS)
	if err != nil || minSup.Num == 0 {
		return config.Usagef("--min-support %q is not a number above 0 and at most 1", minSupS)
	}
	minConf, err := analytics.ParseFraction(minConfS)
	if err != nil {
		return config.Usagef("--min-confidence %q is not a number from 0 to 1", minConfS)
	}
	var b *analytics.Baskets
	err = miningOpen(env, input, func(r io.Reader) error {
		var err error
		if lines {
			b, err = analytics.ReadBasketLines(r)
		} else {
			b, err = analytics.ReadBasketCSV(r, cols)
		}
		return err
	})
	if err != nil {
		return err
	}
	if b.Len() == 0 {
		return crm.Errorf(crm.EINVALID, "%s: no baskets", miningFileName(input))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sets, err := b.FrequentItemsets(analytics.MineOptions{MinSupport: minSup, MaxLen: maxLen, MaxItemsets: maxSets})
	if err != nil {
		return err
	}
	rules := sets.Rules(analytics.RuleOptions{MinConfidence: minConf, MaxConsequent: maxCons})
	rep := basketReport{Baskets: b.Len(), Items: b.Items(), MinSupport: minSup.Float(), MinCount: sets.MinCount,
		Itemsets: sets.Len(), BySize: map[string]int{}, MinConfidence: minConf.Float(), RuleCount: len(rules),
		Rules: rules}
	if rep.Rules == nil {
		rep.Rules = []analytics.Rule{}
	}
	if top > 0 && len(rep.Rules) > top {
		rep.Rules = rep.Rules[:top]
	}
	for size, n := range sets.BySize() {
		rep.BySize[strconv.Itoa(size)] = n
	}
	if together != "" {
		rep.Together = sets.BoughtTogether(together, 10, false)
		if rep.Together == nil {
			rep.Together = []analytics.Together{}
		}
	}
	var out bytes.Buffer
	if err := miningJSON(&out, rep); err != nil {
		return err
	}
	_, err = env.stdout.Write(out.Bytes())
	return err
}
