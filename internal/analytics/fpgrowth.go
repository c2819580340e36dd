package analytics

import (
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// Frequent-itemset mining
//
// An itemset is frequent when at least MinCount baskets contain all of its
// items, where MinCount = ⌈minsup · N⌉ for N baskets, computed exactly from
// the decimal minsup (arules: support ≥ minsup). Itemsets of every size are
// found (no maxlen unless asked).
//
// The miner is FP-growth's pattern growth without the pointer tree. Items
// are interned to ints, the frequent ones ranked by count (most frequent
// first) and every basket is recoded as the sorted array of its frequent
// ranks; identical baskets are merged with a weight. The conditional
// database of an itemset X whose least frequent item is i is the list of
// prefixes, before i, of the baskets holding X: each is just (start, end,
// weight) into the one flat array of baskets, so projecting copies no
// items. Counting a conditional database is a scan with counts[item] +=
// weight over plain arrays; a second scan drops each prefix into the bucket
// of each of its frequent items, and the buckets are the conditional
// databases of the extensions, mined depth first in one reusable arena.

// Fraction is an exact decimal fraction Num/Den (Den a power of ten), so
// thresholds like 0.8 are compared with integer arithmetic.
type Fraction struct{ Num, Den uint64 }

// ParseFraction reads a decimal number from 0 to 1 ("0.8", "0.001",
// "1", ".5", "1e-3") exactly.
func ParseFraction(s string) (Fraction, error) {
	bad := crm.Errorf(crm.EINVALID, "%q is not a number from 0 to 1", s)
	s = strings.TrimSpace(s)
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e < -30 || e > 30 {
			return Fraction{}, bad
		}
		mant, exp = s[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return Fraction{}, bad
	}
	scale := len(frac) - exp // value = digits / 10^scale
	digits = strings.TrimLeft(digits, "0")
	for scale > 0 && strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		scale--
	}
	if digits == "" {
		return Fraction{0, 1}, nil
	}
	for scale < 0 {
		digits += "0"
		scale++
	}
	if scale > 18 || len(digits) > 19 {
		return Fraction{}, bad
	}
	num, err := strconv.ParseUint(digits, 10, 64)
	den := uint64(1)
	for range scale {
		den *= 10
	}
	if err != nil || num > den {
		return Fraction{}, bad
	}
	return Fraction{num, den}, nil
}

// FractionOf is the exact Fraction of f's shortest decimal form (0.8 is
// 8/10, not the binary double nearest 0.8).
func FractionOf(f float64) (Fraction, error) {
	return ParseFraction(strconv.FormatFloat(f, 'g', -1, 64))
}

// Float is the fraction as a float64.
func (f Fraction) Float() float64 {
	if f.Den == 0 {
		return 0
	}
	return float64(f.Num) / float64(f.Den)
}

func (f Fraction) String() string { return strconv.FormatFloat(f.Float(), 'g', -1, 64) }

// ceilTimes is ⌈f · n⌉.
func (f Fraction) ceilTimes(n uint64) uint64 {
	hi, lo := bits.Mul64(f.Num, n)
	q, r := bits.Div64(hi, lo, f.Den) // f ≤ 1, so the quotient fits
	if r != 0 {
		q++
	}
	return q
}

// atLeast reports a/b ≥ f, i.e. a·Den ≥ Num·b, exactly.
func (f Fraction) atLeast(a, b uint64) bool {
	h1, l1 := bits.Mul64(a, f.Den)
	h2, l2 := bits.Mul64(f.Num, b)
	return h1 > h2 || h1 == h2 && l1 >= l2
}

// MineOptions control FrequentItemsets.
type MineOptions struct {
	MinSupport Fraction // of the baskets; must be > 0
	// MaxLen is the largest itemset size; 0 means no limit.
	MaxLen int
	// MaxItemsets stops the mining with an error when more are found; 0
	// means 10,000,000. Low supports on wide baskets explode (arules eclat
	// runs out of 24 GiB on Online Retail at 0.001).
	MaxItemsets int
}

// Itemsets is the result of mining: every frequent itemset and its count.
type Itemsets struct {
	N         int      // baskets
	MinCount  int      // ⌈minsup·N⌉
	Names     []string // item names by item id (all items of the baskets)
	ItemCount []int    // baskets holding each item, by item id

	items []int32 // item ids of all itemsets, each itemset's sorted by rank
	off   []int32 // itemset k is items[off[k]:off[k+1]]
	count []int32

	rank  []int32 // item id → rank among frequent items (−1 if infrequent)
	index map[string]int32
	bySet map[string]int32  // itemset key → itemset number (built on demand)
	pairs map[int32][]int32 // item id → its frequent pairs (built on demand)
}

// Len is the number of frequent itemsets.
func (s *Itemsets) Len() int { return len(s.count) }

// Set is itemset k: its item ids (most frequent item first) and count.
func (s *Itemsets) Set(k int) ([]int32, int) {
	return s.items[s.off[k]:s.off[k+1]], int(s.count[k])
}

// BySize counts the itemsets of each size: BySize()[2] is the number of
// frequent pairs.
func (s *Itemsets) BySize() map[int]int {
	m := map[int]int{}
	for k := range s.count {
		m[int(s.off[k+1]-s.off[k])]++
	}
	return m
}

// errTooMany stops the mining.
type errTooMany struct{}

func (errTooMany) Error() string { return "too many itemsets" }

type fpEntry struct{ start, end, w int32 }

// fpExt is a frequent extension of a prefix: its item, support and bucket
// [lo, fill) in the arena.
type fpExt struct{ item, sup, lo, fill int32 }

// fpCount is an item's support (weights) and entries in a database.
type fpCount struct{ sup, num int32 }

// fpMiner is one FrequentItemsets call.
type fpMiner struct {
	flat    []int32 // recoded baskets (ranks)
	minc    int32
	maxLen  int
	maxSets int
	toID    []int32   // rank → item id
	cnt     []fpCount // per rank, in the current database
	slot    []int32   // per rank: its extension number + 1 while bucketing
	touched []int32
	arena   []fpEntry
	exts    []fpExt
	prefix  []int32
	out     *Itemsets
}

// FrequentItemsets finds every frequent itemset of the baskets.
func (b *Baskets) FrequentItemsets(opt MineOptions) (*Itemsets, error) {
	if opt.MinSupport.Den == 0 || opt.MinSupport.Num == 0 {
		return nil, crm.Errorf(crm.EINVALID, "the minimum support must be more than 0")
	}
	n := b.Len()
	minc := int(opt.MinSupport.ceilTimes(uint64(n)))
	if minc < 1 {
		minc = 1
	}
	maxSets := opt.MaxItemsets
	if maxSets <= 0 {
		maxSets = 10_000_000
	}
	out := &Itemsets{N: n, MinCount: minc, Names: b.names, ItemCount: make([]int, len(b.names)), index: b.index}
	for _, it := range b.items {
		out.ItemCount[it]++
	}
	// Rank the frequent items: count descending, then item id.
	var freq []int32
	for id, c := range out.ItemCount {
		if c >= minc {
			freq = append(freq, int32(id))
		}
	}
	slices.SortFunc(freq, func(a, c int32) int {
		if out.ItemCount[a] != out.ItemCount[c] {
			return out.ItemCount[c] - out.ItemCount[a]
		}
		return int(a - c)
	})
	out.rank = make([]int32, len(b.names))
	for i := range out.rank {
		out.rank[i] = -1
	}
	for r, id := range freq {
		out.rank[id] = int32(r)
	}
	m := &fpMiner{minc: int32(minc), maxLen: opt.MaxLen, maxSets: maxSets, toID: freq,
		cnt: make([]fpCount, len(freq)), slot: make([]int32, len(freq)), out: out}
	// Recode the baskets as sorted ranks and merge identical ones.
	type span struct{ start, end int32 }
	var spans []span
	flat := make([]int32, 0, len(b.items))
	for k := 0; k < n; k++ {
		start := int32(len(flat))
		for _, it := range b.items[b.off[k]:b.off[k+1]] {
			if r := out.rank[it]; r >= 0 {
				flat = append(flat, r)
			}
		}
		if int32(len(flat)) == start {
			continue
		}
		slices.Sort(flat[start:])
		spans = append(spans, span{start, int32(len(flat))})
	}
	slices.SortFunc(spans, func(x, y span) int { return slices.Compare(flat[x.start:x.end], flat[y.start:y.end]) })
	root := make([]fpEntry, 0, len(spans))
	for _, s := range spans {
		if l := len(root); l > 0 && slices.Equal(flat[root[l-1].start:root[l-1].end], flat[s.start:s.end]) {
			root[l-1].w++
			continue
		}
		root = append(root, fpEntry{s.start, s.end, 1})
	}
	m.flat = flat
	m.arena = make([]fpEntry, 0, len(flat)+len(root))
	out.off = append(out.off, 0)
	if err := m.mine(root); err != nil {
		if _, ok := err.(errTooMany); ok {
			return nil, crm.Errorf(crm.EINVALID, "more than %d frequent itemsets at minimum support %v (count %d of %d baskets); raise the minimum support or limit the itemset size",
				maxSets, opt.MinSupport, minc, n)
		}
		return nil, err
	}
	return out, nil
}

// mine finds the frequent extensions of m.prefix in db (the conditional
// database of the prefix) and recurses into each.
func (m *fpMiner) mine(db []fpEntry) error {
	flat := m.flat
	touched := m.touched[:0]
	cnt := m.cnt
	for _, e := range db {
		for _, it := range flat[e.start:e.end] {
			c := &cnt[it]
			if c.num == 0 {
				touched = append(touched, it)
			}
			c.sup += e.w
			c.num++
		}
	}
	// The frequent extensions, with their bucket offsets in the arena, on
	// a stack shared by all levels.
	base := int32(len(m.arena))
	extBase := len(m.exts)
	size := int32(0)
	for _, it := range touched {
		if c := cnt[it]; c.sup >= m.minc {
			m.exts = append(m.exts, fpExt{item: it, sup: c.sup, lo: base + size, fill: base + size})
			size += c.num
		}
		cnt[it] = fpCount{}
	}
	m.touched = touched
	exts := m.exts[extBase:]
	if len(exts) == 0 {
		return nil
	}
	slices.SortFunc(exts, func(a, b fpExt) int { return int(a.item - b.item) })
	deeper := m.maxLen == 0 || len(m.prefix)+1 < m.maxLen
	if deeper {
		// Drop every prefix into the buckets of its frequent items.
		m.arena = slices.Grow(m.arena, int(size))[:int(base+size)]
		slot := m.slot
		for k, x := range exts {
			slot[x.item] = int32(k + 1)
		}
		for _, e := range db {
			for p := e.start; p < e.end; p++ {
				if k := slot[flat[p]]; k > 0 {
					x := &exts[k-1]
					m.arena[x.fill] = fpEntry{e.start, p, e.w}
					x.fill++
				}
			}
		}
		for _, x := range exts {
			slot[x.item] = 0
		}
	}
	for _, x := range exts {
		if err := m.emit(x.item, x.sup); err != nil {
			return err
		}
		if deeper && x.fill > x.lo {
			m.prefix = append(m.prefix, x.item)
			err := m.mine(m.arena[x.lo:x.fill])
			m.prefix = m.prefix[:len(m.prefix)-1]
			if err != nil {
				return err
			}
		}
	}
	m.arena = m.arena[:base]
	m.exts = m.exts[:extBase]
	return nil
}

// emit records prefix ∪ {item}: item ids ordered by rank.
func (m *fpMiner) emit(item, sup int32) error {
	o := m.out
	if len(o.count) >= m.maxSets {
		return errTooMany{}
	}
	o.items = append(o.items, m.toID[item])
	for i := len(m.prefix) - 1; i >= 0; i-- {
		o.items = append(o.items, m.toID[m.prefix[i]])
	}
	o.off = append(o.off, int32(len(o.items)))
	o.count = append(o.count, sup)
	return nil
}
