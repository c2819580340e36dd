package store

import (
	"reflect"
	"sort"
	"strings"
)

// How a compiled tree becomes one WHERE expression (conditions.go
// compiles the conditions; this file puts them together).
//
// Most conditions on other tables are membership of a set of people:
// "c.id IN (SELECT contact_id FROM … WHERE …)". SQLite builds each such
// set in full before it probes it, whatever the other conditions leave,
// so an AND of four conditions cost the sum of four sets (at a million
// people, 1.3 s of CPU for a campaign audience of 41,000). Here an AND
// group is driven instead from the set that is cheapest to build and
// smallest (the driver, kept as IN: SQLite reads it and looks each
// person up by id), and the group's other sets are tested per candidate
// as correlated EXISTS through their contact_id indexes. Which set is
// smallest is a guess by the kind of condition (est and build below:
// the tables carry no statistics of values), so a driver is chosen only
// when one is clearly cheaper than reading everyone.
//
// Two rewrites need no guess and hold on both engines: conditions that
// group the same rows (orders.total ≥ x AND orders.last_date before y)
// are one grouping with both tests in its HAVING, and an OR of sets is
// the union of the sets.

// term is a compiled condition or group.
type term struct {
	sql   string // a condition as its field's compiler returned it
	args  []any
	set   *setTerm   // the condition is (non-)membership of this set
	group *groupTerm // a group of terms
}

// setTerm is "c.id IN (SELECT col FROM from WHERE where [GROUP BY col
// HAVING having])", or NOT IN when neg; union lists the sets of an OR
// instead.
type setTerm struct {
	neg                   bool
	col, from, where      string
	having                string
	whereArgs, havingArgs []any
	union                 []*setTerm

	// distinct groups the rows by person when the set is built (a person
	// with many rows is one entry, not many).
	distinct bool

	// est guesses the share of people in the set, build the rows read to
	// build it as a share of people (an index range reads about the
	// set; a LIKE '%x' over keys or a grouping reads the whole table).
	est, build float64

	mark int // where its arguments began in CondBuilder.args
}

// groupTerm is an AND (or, when any, an OR) of terms.
type groupTerm struct {
	any   bool
	terms []*term
}

// Guesses of est and build by kind of set.
const (
	estNarrow = 0.02 // an equal value, a prefix
	estTag    = 0.1  // a tag, a SKU, a tier: per value asked for
	estSome   = 0.3  // an aggregate's condition, a date range
	estHalf   = 0.5  // is_set on a table most people have rows in, consent
	estMost   = 0.7  // has an email, a phone
	buildAll  = 1.0  // the whole table is read
)

// inSet records the condition being compiled as membership of a set (or,
// when neg, non-membership) and returns its SQL as IN / NOT IN. mark is
// len(b.args) before where's arguments were added, havingMark before
// having's.
func (b *CondBuilder) inSet(neg bool, col, from, where, having string, mark, havingMark int, est, build float64) string {
	if where == "" {
		where = "1 = 1"
	}
	st := &setTerm{neg: neg, col: col, from: from, where: where, having: having, est: est, build: build, mark: mark,
		whereArgs:  append([]any(nil), b.args[mark:havingMark]...),
		havingArgs: append([]any(nil), b.args[havingMark:]...)}
	q := st.selectSQL()
	s := "c.id IN (" + q + ")"
	if neg {
		s = b.notIn(q)
	}
	b.lastSet, b.lastSQL = st, s
	return s
}

// mark is where the arguments of what is compiled next begin.
func (b *CondBuilder) mark() int { return len(b.args) }

// selectSQL is the SELECT of the set's people (its text only).
func (st *setTerm) selectSQL() string {
	q := "SELECT " + st.col + " FROM " + st.from + " WHERE " + st.where
	if st.having != "" {
		q += " GROUP BY " + st.col + " HAVING " + st.having
	} else if st.distinct {
		q += " GROUP BY " + st.col
	}
	return q
}

// pass is the share of people the term lets through (1 if unknown).
func (t *term) pass() float64 {
	switch {
	case t.set != nil && t.set.neg:
		return 1 - t.set.est
	case t.set != nil:
		return t.set.est
	}
	return 1
}

// term is the group as a term: one member alone is itself, an AND merges
// the sets that group the same rows, an OR of positive sets is their
// union.
func (g *groupTerm) term() *term {
	if !g.any {
		g.mergeGroupings()
	}
	if len(g.terms) == 1 {
		return g.terms[0]
	}
	if g.any && len(g.terms) > 1 {
		u := &setTerm{}
		for _, t := range g.terms {
			if t.set == nil || t.set.neg {
				u = nil
				break
			}
			if t.set.union != nil {
				u.union = append(u.union, t.set.union...)
			} else {
				u.union = append(u.union, t.set)
			}
			u.est += t.set.est
			u.build += t.set.build
		}
		if u != nil {
			u.est = min(u.est, 1)
			return &term{set: u}
		}
	}
	return &term{group: g}
}

// mergeGroupings makes positive sets of an AND that group the same rows
// the same way one grouping whose HAVING has both conditions: a person
// has rows that pass both exactly when the one grouping of those rows
// passes both.
func (g *groupTerm) mergeGroupings() {
	out := g.terms[:0]
	for _, t := range g.terms {
		st := t.set
		if st != nil && !st.neg && st.union == nil && st.having != "" {
			merged := false
			for _, o := range out {
				os := o.set
				if os != nil && !os.neg && os.union == nil && os.having != "" &&
					os.col == st.col && os.from == st.from && os.where == st.where && reflect.DeepEqual(os.whereArgs, st.whereArgs) {
					os.having = "(" + os.having + ") AND (" + st.having + ")"
					os.havingArgs = append(append([]any(nil), os.havingArgs...), st.havingArgs...)
					os.est = min(os.est, st.est)
					merged = true
					break
				}
			}
			if merged {
				continue
			}
			cp := *st
			t = &term{set: &cp}
		}
		out = append(out, t)
	}
	g.terms = out
}

// render writes a term's SQL and appends its arguments in order. probe
// says the term is tested per candidate another term found (SQLite):
// sets become correlated EXISTS instead of being built.
func (b *CondBuilder) render(t *term, probe bool) string {
	switch {
	case t.set != nil:
		if probe {
			return b.renderProbe(t.set)
		}
		return b.renderIn(t.set)
	case t.group != nil:
		return b.renderGroup(t.group, probe)
	}
	b.args = append(b.args, t.args...)
	return t.sql
}

func (b *CondBuilder) renderSelect(st *setTerm) string {
	b.args = append(b.args, st.whereArgs...)
	b.args = append(b.args, st.havingArgs...)
	return st.selectSQL()
}

func (b *CondBuilder) renderIn(st *setTerm) string {
	if st.union != nil && b.d == Postgres {
		// PostgreSQL guesses 200 distinct people for a union (it has no
		// statistics of it) and looks each up in a nested loop, once per
		// parallel worker; each set hashed apart is its better plan.
		parts := make([]string, len(st.union))
		for i, u := range st.union {
			parts[i] = b.renderIn(u)
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	}
	if st.union != nil {
		parts := make([]string, len(st.union))
		for i, u := range st.union {
			parts[i] = b.renderSelect(u)
		}
		return "c.id IN (" + strings.Join(parts, " UNION ALL ") + ")"
	}
	q := b.renderSelect(st)
	if st.neg {
		return b.notIn(q)
	}
	return "c.id IN (" + q + ")"
}

// renderDriver is the set an AND group is driven from. SQLite reads an
// IN set and looks each person up by id. PostgreSQL would hash it and
// the group's other sets and scan everyone (it guesses 200 people for a
// union); as an array built once, its planner looks the people up by
// the primary key and probes the other sets per person through their
// contact_id indexes.
func (b *CondBuilder) renderDriver(st *setTerm) string {
	if b.d != Postgres {
		return b.renderIn(st)
	}
	sets := st.union
	if sets == nil {
		sets = []*setTerm{st}
	}
	parts := make([]string, len(sets))
	for i, u := range sets {
		parts[i] = b.renderSelect(u)
	}
	return "c.id = ANY (ARRAY(" + strings.Join(parts, " UNION ALL ") + "))"
}

func (b *CondBuilder) renderProbe(st *setTerm) string {
	if st.union != nil {
		parts := make([]string, len(st.union))
		for i, u := range st.union {
			parts[i] = b.renderProbe(u)
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	}
	b.args = append(b.args, st.whereArgs...)
	b.args = append(b.args, st.havingArgs...)
	q := "EXISTS (SELECT 1 FROM " + st.from + " WHERE " + st.col + " = c.id AND (" + st.where + ")"
	if st.having != "" {
		q += " GROUP BY " + st.col + " HAVING " + st.having
	}
	q += ")"
	if st.neg {
		return "NOT " + q
	}
	return q
}

// driverMax is the most a driver may cost (est + build, in shares of
// the people): above it, reading everyone and building the sets is no
// worse.
const driverMax = 1.0

func (b *CondBuilder) renderGroup(g *groupTerm, probe bool) string {
	if len(g.terms) == 0 {
		return "1 = 1"
	}
	if g.any {
		parts := make([]string, len(g.terms))
		for i, t := range g.terms {
			parts[i] = b.render(t, probe)
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	}
	driver := -1
	if !probe {
		best := driverMax
		for i, t := range g.terms {
			if t.set != nil && !t.set.neg && t.set.est+t.set.build < best {
				driver, best = i, t.set.est+t.set.build
			}
		}
	}
	if driver < 0 && !probe {
		// No driver: as written, each set built once.
		parts := make([]string, len(g.terms))
		for i, t := range g.terms {
			parts[i] = b.render(t, false)
		}
		return "(" + strings.Join(parts, " AND ") + ")"
	}
	// The driver first, then the conditions on c itself, then the others
	// by the share they let through, fewest first: each is tested only on
	// the candidates the ones before it left.
	order := make([]int, 0, len(g.terms))
	for i := range g.terms {
		if i != driver {
			order = append(order, i)
		}
	}
	plain := func(t *term) bool { return t.set == nil && t.group == nil }
	sort.SliceStable(order, func(x, y int) bool {
		tx, ty := g.terms[order[x]], g.terms[order[y]]
		if plain(tx) != plain(ty) {
			return plain(tx)
		}
		return tx.pass() < ty.pass()
	})
	parts := make([]string, 0, len(g.terms))
	if driver >= 0 {
		parts = append(parts, b.renderDriver(g.terms[driver].set))
	}
	for _, i := range order {
		parts = append(parts, b.render(g.terms[i], true))
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}
