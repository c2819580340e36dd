package analytics

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"io"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
)

// Baskets holds market baskets (transactions of items) with the items
// interned to ints. A basket is a set: an item bought twice in one basket
// counts once.
type Baskets struct {
	names []string
	index map[string]int32
	items []int32 // all baskets' item ids, each basket's sorted
	off   []int32 // basket k is items[off[k]:off[k+1]]
}

// NewBaskets returns an empty set of baskets.
func NewBaskets() *Baskets {
	return &Baskets{index: map[string]int32{}, off: []int32{0}}
}

// Len is the number of baskets.
func (b *Baskets) Len() int { return len(b.off) - 1 }

// Items is the number of distinct items.
func (b *Baskets) Items() int { return len(b.names) }

func (b *Baskets) intern(name []byte) int32 {
	if id, ok := b.index[string(name)]; ok {
		return id
	}
	s := string(name)
	id := int32(len(b.names))
	b.names = append(b.names, s)
	b.index[s] = id
	return id
}

// endBasket closes the basket of the items appended since the last one:
// sorted, duplicates dropped.
func (b *Baskets) endBasket() {
	start := int(b.off[len(b.off)-1])
	part := b.items[start:]
	slices.Sort(part)
	part = slices.Compact(part)
	b.items = b.items[:start+len(part)]
	b.off = append(b.off, int32(len(b.items)))
}

// Add adds one basket (an empty one too: it counts in N).
func (b *Baskets) Add(items ...string) {
	for _, it := range items {
		b.items = append(b.items, b.intern([]byte(it)))
	}
	b.endBasket()
}

// ReadBasketLines reads one basket per line, items separated by commas
// (the arules "basket" format: Groceries). Only the line end (\n or \r\n)
// is stripped: items keep their spaces ("cream cheese " is not "cream
// cheese"), and there is no quoting. Lines with no characters are skipped;
// an empty item (",,") or invalid UTF-8 is an error naming the line.
func ReadBasketLines(r io.Reader) (*Baskets, error) {
	b := NewBaskets()
	sc := newCSVScanner(r, ',')
	sc.skipBOM()
	for {
		line, err := sc.readLine()
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		if len(line) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return nil, inputError(sc.line, "", "not valid UTF-8")
		}
		k := 1
		for {
			i := bytes.IndexByte(line, ',')
			item := line
			if i >= 0 {
				item = line[:i]
			}
			if len(item) == 0 {
				return nil, inputError(sc.line, "", "item %d is empty", k)
			}
			b.items = append(b.items, b.intern(item))
			if i < 0 {
				break
			}
			line = line[i+1:]
			k++
		}
		b.endBasket()
	}
}

// BasketColumns names the columns of a long basket file (one row per
// basket and item). The zero value reads basket_id,item.
type BasketColumns struct {
	Basket, Item string
	// Quantity, when set, names a count column: rows with 0 are ignored,
	// negative counts are errors.
	Quantity string
	Comma    rune
}

// ReadBasketCSV reads a long CSV file with one row per basket and item
// (header basket_id,item by default). Rows of one basket need not be
// consecutive. Baskets are numbered in order of first appearance. Items
// are taken as written (no trimming).
func ReadBasketCSV(r io.Reader, cols BasketColumns) (*Baskets, error) {
	if cols.Basket == "" {
		cols.Basket = "basket_id"
	}
	if cols.Item == "" {
		cols.Item = "item"
	}
	var sep byte = ','
	switch cols.Comma {
	case 0, ',':
	case ';', '\t':
		sep = byte(cols.Comma)
	default:
		return nil, crm.Errorf(crm.EINVALID, "separator %q is not one of , ; or tab", cols.Comma)
	}
	sc := newCSVScanner(r, sep)
	sc.skipBOM()
	header, err := sc.next()
	if err == io.EOF {
		return nil, inputError(1, "", "the file is empty; expected a header with %s,%s", cols.Basket, cols.Item)
	}
	if err != nil {
		return nil, syntaxErr(sc, err)
	}
	find := func(name string) int {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(string(h)), strings.TrimSpace(name)) {
				return i
			}
		}
		return -1
	}
	iB, iI, iQ := find(cols.Basket), find(cols.Item), -1
	for _, c := range []struct {
		name string
		at   int
	}{{cols.Basket, iB}, {cols.Item, iI}} {
		if c.at < 0 {
			return nil, inputError(sc.start, c.name, "no such column in the header")
		}
	}
	if cols.Quantity != "" {
		if iQ = find(cols.Quantity); iQ < 0 {
			return nil, inputError(sc.start, cols.Quantity, "no such column in the header")
		}
	}
	need := max(iB, iI, iQ) + 1
	b := NewBaskets()
	basketIndex := map[string]int32{}
	type pair struct{ basket, item int32 }
	var pairs []pair
	nBaskets := int32(0)
	for {
		rec, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, syntaxErr(sc, err)
		}
		if len(rec) < need {
			return nil, inputError(sc.start, "", "%d fields, but the columns used need %d", len(rec), need)
		}
		if iQ >= 0 {
			q, err := parseNumber(rec[iQ])
			if err != nil {
				return nil, inputError(sc.start, cols.Quantity, "%q is not a number", clip(rec[iQ]))
			}
			if q < 0 {
				return nil, inputError(sc.start, cols.Quantity, "%s is negative", clip(rec[iQ]))
			}
			if q == 0 {
				continue
			}
		}
		id, item := rec[iB], rec[iI]
		if len(bytes.TrimSpace(id)) == 0 {
			return nil, inputError(sc.start, cols.Basket, "the basket is empty")
		}
		if len(item) == 0 {
			return nil, inputError(sc.start, cols.Item, "the item is empty")
		}
		if !utf8.Valid(item) {
			return nil, inputError(sc.start, cols.Item, "%q is not valid UTF-8", clip(item))
		}
		k, ok := basketIndex[string(id)]
		if !ok {
			k = nBaskets
			nBaskets++
			basketIndex[string(id)] = k
		}
		pairs = append(pairs, pair{k, b.intern(item)})
	}
	slices.SortFunc(pairs, func(x, y pair) int {
		if c := cmp.Compare(x.basket, y.basket); c != 0 {
			return c
		}
		return cmp.Compare(x.item, y.item)
	})
	for i := 0; i < len(pairs); {
		j := i
		for j < len(pairs) && pairs[j].basket == pairs[i].basket {
			b.items = append(b.items, pairs[j].item)
			j++
		}
		b.endBasket()
		i = j
	}
	return b, nil
}

func syntaxErr(sc *csvScanner, err error) error {
	if err == errQuote || err == errBareQuote {
		return inputError(sc.start, "", "%v", err)
	}
	return err
}

// Rule is an association rule Antecedent ⇒ Consequent.
type Rule struct {
	Antecedent []string `json:"lhs"`
	Consequent []string `json:"rhs"`
	Count      int      `json:"count"` // baskets holding both sides
	Support    float64  `json:"support"`
	Confidence float64  `json:"confidence"`
	Lift       float64  `json:"lift"`
}

// RuleOptions control Rules.
type RuleOptions struct {
	// MinConfidence: a rule X ⇒ Y is kept when count(X∪Y) ≥ MinConfidence
	// × count(X), compared exactly in integers.
	MinConfidence Fraction
	// MaxConsequent is the largest consequent: 0 or 1 gives the usual
	// single-item consequents (arules apriori); −1 allows any size.
	MaxConsequent int
}

// key is the lookup key of a set of item ids (sorted by rank).
func setKey(buf []byte, ids []int32) []byte {
	buf = buf[:0]
	for _, id := range ids {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(id))
	}
	return buf
}

func (s *Itemsets) buildIndex() {
	if s.bySet != nil {
		return
	}
	s.bySet = make(map[string]int32, len(s.count))
	var buf []byte
	for k := range s.count {
		ids, _ := s.Set(k)
		buf = setKey(buf, ids)
		s.bySet[string(buf)] = int32(k)
	}
}

// Count is the number of baskets holding all of items (ids sorted by rank,
// as Set gives them); ok is false when the set is not frequent.
func (s *Itemsets) countOf(buf []byte, ids []int32) (int, bool) {
	k, ok := s.bySet[string(setKey(buf, ids))]
	if !ok {
		return 0, false
	}
	return int(s.count[k]), true
}

// Rules derives the association rules of the frequent itemsets: for every
// itemset Z of two or more items and every consequent Y ⊂ Z (one item, or
// up to MaxConsequent), the rule Z∖Y ⇒ Y when its confidence count(Z) /
// count(Z∖Y) reaches MinConfidence. Antecedents are never empty. Rules come
// sorted by lift, then confidence, then count (all descending), then by
// their items.
func (s *Itemsets) Rules(opt RuleOptions) []Rule {
	s.buildIndex()
	maxC := opt.MaxConsequent
	if maxC == 0 {
		maxC = 1
	}
	n := float64(s.N)
	var out []Rule
	var buf []byte
	var lhs, rhs []int32
	try := func(cz int) {
		cx, ok := s.countOf(buf, lhs)
		if !ok || !opt.MinConfidence.atLeast(uint64(cz), uint64(cx)) {
			return
		}
		cy, _ := s.countOf(buf, rhs)
		conf := float64(cz) / float64(cx)
		out = append(out, Rule{Antecedent: s.names(lhs), Consequent: s.names(rhs), Count: cz,
			Support: float64(cz) / n, Confidence: conf, Lift: conf / (float64(cy) / n)})
	}
	for k := range s.count {
		ids, cz := s.Set(k)
		if len(ids) < 2 {
			continue
		}
		if maxC == 1 || len(ids) > 20 {
			// Single-item consequents (the only ones for huge itemsets).
			for i := range ids {
				rhs = append(rhs[:0], ids[i])
				lhs = append(append(lhs[:0], ids[:i]...), ids[i+1:]...)
				try(cz)
			}
			continue
		}
		// Every non-empty proper subset of up to maxC items.
		for mask := uint32(1); mask < 1<<len(ids)-1; mask++ {
			if maxC > 0 && bits.OnesCount32(mask) > maxC {
				continue
			}
			lhs, rhs = lhs[:0], rhs[:0]
			for i, id := range ids {
				if mask&(1<<i) != 0 {
					rhs = append(rhs, id)
				} else {
					lhs = append(lhs, id)
				}
			}
			try(cz)
		}
	}
	slices.SortFunc(out, compareRules)
	return out
}

func compareRules(a, b Rule) int {
	if c := cmp.Compare(b.Lift, a.Lift); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Count, a.Count); c != 0 {
		return c
	}
	if c := slices.Compare(a.Antecedent, b.Antecedent); c != 0 {
		return c
	}
	return slices.Compare(a.Consequent, b.Consequent)
}

// names is the sorted item names of ids.
func (s *Itemsets) names(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = s.Names[id]
	}
	slices.Sort(out)
	return out
}

// ItemsetNames is itemset k's item names (sorted) and count.
func (s *Itemsets) ItemsetNames(k int) ([]string, int) {
	ids, c := s.Set(k)
	return s.names(ids), c
}

// Together is an item often bought with another.
type Together struct {
	Item       string  `json:"item"`
	Count      int     `json:"count"`      // baskets holding both
	Confidence float64 `json:"confidence"` // share of the given item's baskets that hold this one too
	Lift       float64 `json:"lift"`
}

// BoughtTogether is "often bought together" for one item: the items of the
// frequent pairs holding it, as the consequents of item ⇒ other, best
// first by lift (byConfidence: by confidence), ties by count, then name;
// at most k of them (k ≤ 0: all).
func (s *Itemsets) BoughtTogether(item string, k int, byConfidence bool) []Together {
	id, ok := s.index[item]
	if !ok || s.rank[id] < 0 {
		return nil
	}
	ci := float64(s.ItemCount[id])
	n := float64(s.N)
	if s.pairs == nil {
		s.pairs = map[int32][]int32{}
		for j := range s.count {
			if ids, _ := s.Set(j); len(ids) == 2 {
				s.pairs[ids[0]] = append(s.pairs[ids[0]], int32(j))
				s.pairs[ids[1]] = append(s.pairs[ids[1]], int32(j))
			}
		}
	}
	var out []Together
	for _, j := range s.pairs[id] {
		ids, c := s.Set(int(j))
		other := ids[0]
		if other == id {
			other = ids[1]
		}
		conf := float64(c) / ci
		out = append(out, Together{Item: s.Names[other], Count: c, Confidence: conf,
			Lift: conf / (float64(s.ItemCount[other]) / n)})
	}
	slices.SortFunc(out, func(a, b Together) int {
		x, y := a.Lift, b.Lift
		if byConfidence {
			x, y = a.Confidence, b.Confidence
		}
		if c := cmp.Compare(y, x); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Item, b.Item)
	})
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out
}

// Suggest is cross-selling for a customer or a deal that already has the
// items have: the consequents of the rules whose antecedent is within have
// and whose consequent is not, each item once (from its best rule), in the
// rules' order (by lift); at most k (k ≤ 0: all).
func Suggest(rules []Rule, have []string, k int) []Rule {
	got := map[string]bool{}
	for _, h := range have {
		got[h] = true
	}
	var out []Rule
	seen := map[string]bool{}
	for _, r := range rules {
		ok := true
		for _, a := range r.Antecedent {
			if !got[a] {
				ok = false
				break
			}
		}
		for _, c := range r.Consequent {
			if got[c] || seen[c] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		for _, c := range r.Consequent {
			seen[c] = true
		}
		out = append(out, r)
		if k > 0 && len(out) == k {
			break
		}
	}
	return out
}
