package store

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// The condition language's field registry and its compiler to SQL
// (docs/marketing.md). A checked tree (segment.Validate) compiles to one
// boolean SQL expression over the contacts table aliased c, with every
// value a ? argument: user input is never spliced into the text. Field
// names only select entries of the registry; the SQL of each entry is
// fixed here.
//
// The hook for other modules: a module whose tables hold facts about
// people (campaign engagement: received, opened, clicked) registers its
// fields from an init func in its own store file:
//
//	func init() {
//		RegisterConditionField(crm.ConditionField{Name: "campaigns.opened", Type: crm.CondRef, Group: "campaigns"},
//			func(b *CondBuilder, r *crm.Rule) (string, error) {
//				return b.Set(r, "campaign_deliveries d", "d.contact_id", "d.campaign_id", "d.opened_at IS NOT NULL")
//			})
//	}
//
// The field then validates, compiles, appears in the rule editor (under
// its Group, labelled by the catalog key "segments.field.<name>") and in
// GET /api/v1/segments/fields. Options of a reference field can be given
// by RegisterConditionOptions. No campaign field is registered here: the
// campaigns module's tables are its own.

// ConditionCompiler compiles one condition on a registered field.
type ConditionCompiler func(b *CondBuilder, r *crm.Rule) (string, error)

type condEntry struct {
	field   crm.ConditionField
	compile ConditionCompiler
	options func(ctx context.Context, tx *Tx) ([]crm.Option, error)
}

var (
	condMu       sync.RWMutex
	condRegistry = map[string]*condEntry{}
	condOrder    []string
)

// RegisterConditionField adds a field to the condition language. It
// panics on a duplicate name or an unknown type (a programming error).
func RegisterConditionField(f crm.ConditionField, compile ConditionCompiler) {
	condMu.Lock()
	defer condMu.Unlock()
	if _, dup := condRegistry[f.Name]; dup {
		panic("store: condition field registered twice: " + f.Name)
	}
	if _, ok := crm.CondOps[f.Type]; !ok {
		panic("store: condition field " + f.Name + " has unknown type " + f.Type)
	}
	condRegistry[f.Name] = &condEntry{field: f, compile: compile}
	condOrder = append(condOrder, f.Name)
}

// RegisterConditionOptions gives a registered field the function that
// lists its options (its known choices or reference targets) when the
// fields are read.
func RegisterConditionOptions(name string, fn func(ctx context.Context, tx *Tx) ([]crm.Option, error)) {
	condMu.Lock()
	defer condMu.Unlock()
	e, ok := condRegistry[name]
	if !ok {
		panic("store: options for unknown condition field " + name)
	}
	e.options = fn
}

// ConditionFields lists every field a condition may test now: the
// registered ones, with their options read, then one per custom field
// of people ("custom.<key>").
func (tx *Tx) ConditionFields(ctx context.Context) ([]crm.ConditionField, error) {
	condMu.RLock()
	names := append([]string(nil), condOrder...)
	condMu.RUnlock()
	out := make([]crm.ConditionField, 0, len(names)+8)
	for _, n := range names {
		condMu.RLock()
		e := condRegistry[n]
		condMu.RUnlock()
		f := e.field
		if e.options != nil {
			opts, err := e.options(ctx, tx)
			if err != nil {
				return nil, err
			}
			f.Options = opts
		}
		out = append(out, f)
	}
	cfs, err := tx.ListCustomFields(ctx, "contact")
	if err != nil {
		return nil, err
	}
	for _, cf := range cfs {
		f := crm.ConditionField{Name: "custom." + cf.Key, Group: "custom", Label: cf.Label, Type: customCondType(cf.Type), Unit: cf.Currency}
		for _, o := range cf.Options {
			f.Options = append(f.Options, crm.Option{Value: o, Label: o})
		}
		out = append(out, f)
	}
	return out, nil
}

// customCondType is the condition type of a custom field type.
func customCondType(t string) string {
	switch t {
	case crm.FieldNumber:
		return crm.CondNumber
	case crm.FieldMoney:
		return crm.CondMoney
	case crm.FieldDate:
		return crm.CondDate
	case crm.FieldBoolean:
		return crm.CondBool
	case crm.FieldSelect:
		return crm.CondChoice
	case crm.FieldMultiSelect:
		return crm.CondList
	}
	return crm.CondText
}

// CompiledRules is a condition tree as SQL: Where is a boolean expression
// over contacts c, Args its arguments in order.
type CompiledRules struct {
	Where string
	Args  []any
}

// CompileRules compiles a checked tree (segment.Validate) for this
// transaction's engine, with relative dates counted back from now.
func (tx *Tx) CompileRules(ctx context.Context, root *crm.Rule, now time.Time) (CompiledRules, error) {
	fields, err := tx.ConditionFields(ctx)
	if err != nil {
		return CompiledRules{}, err
	}
	return CompileRules(tx.Dialect(), fields, root, now)
}

// CompileRules compiles a checked tree for dialect d. fields are those
// ConditionFields returned (the types of custom fields come from them).
func CompileRules(d Dialect, fields []crm.ConditionField, root *crm.Rule, now time.Time) (CompiledRules, error) {
	b := &CondBuilder{d: d, now: now.UTC(), fields: map[string]crm.ConditionField{}}
	for _, f := range fields {
		b.fields[f.Name] = f
	}
	t, err := b.group(root, 0)
	if err != nil {
		return CompiledRules{}, err
	}
	b.args = nil
	w := b.render(t, false)
	if t.group == nil {
		w = "(" + w + ")"
	}
	return CompiledRules{Where: w, Args: b.args}, nil
}

// CondBuilder collects the arguments of a compiled tree; field compilers
// use its methods, which cover the shapes of data Pivand keeps.
type CondBuilder struct {
	d      Dialect
	now    time.Time
	fields map[string]crm.ConditionField
	args   []any

	// The set the last condition compiled to, if it is one (inSet), and
	// the SQL it was returned as.
	lastSet *setTerm
	lastSQL string
}

// Dialect is the engine compiled for.
func (b *CondBuilder) Dialect() Dialect { return b.d }

// Now is the moment relative dates count back from.
func (b *CondBuilder) Now() time.Time { return b.now }

// notIn is "the person is not in the set a SELECT of person ids gives".
// SQLite builds the set once and probes it. PostgreSQL runs NOT IN over
// a subquery as a hashed subplan only while the set fits in work_mem,
// and otherwise rescans it per person (minutes at a million people);
// NOT EXISTS over the set becomes a hash anti-join whatever its size.
func (b *CondBuilder) notIn(set string) string {
	if b.d == Postgres {
		return "NOT EXISTS (SELECT 1 FROM (" + set + ") nx(id) WHERE nx.id = c.id)"
	}
	return "c.id NOT IN (" + set + ")"
}

// Arg adds an argument and returns its placeholder.
func (b *CondBuilder) Arg(v any) string {
	b.args = append(b.args, v)
	return "?"
}

// Args adds arguments and returns "?, ?, …".
func (b *CondBuilder) argList(n int, at func(i int) any) string {
	for i := 0; i < n; i++ {
		b.args = append(b.args, at(i))
	}
	return Placeholders(n)
}

func (b *CondBuilder) group(g *crm.Rule, depth int) (*term, error) {
	if depth > crm.MaxRuleDepth {
		return nil, condErr("", "The groups are nested too deeply.")
	}
	any := false
	if g.Match == crm.MatchAny {
		any = true
	} else if g.Match != crm.MatchAll && g.Match != "" {
		return nil, condErr("match", "Use all or any.")
	}
	grp := &groupTerm{any: any}
	for i := range g.Conditions {
		c := &g.Conditions[i]
		var (
			t   *term
			err error
		)
		if c.IsGroup() {
			t, err = b.group(c, depth+1)
		} else {
			t, err = b.condition(c)
		}
		if err != nil {
			return nil, err
		}
		grp.terms = append(grp.terms, t)
	}
	return grp.term(), nil
}

// condition compiles one condition to a term: its SQL and arguments, and
// the set of people it tests membership of when the field's compiler
// built it with inSet (most fields on other tables do).
func (b *CondBuilder) condition(r *crm.Rule) (*term, error) {
	start := len(b.args)
	b.lastSet, b.lastSQL = nil, ""
	s, err := b.compile(r)
	if err != nil {
		return nil, err
	}
	t := &term{sql: s, args: append([]any(nil), b.args[start:]...)}
	if st := b.lastSet; st != nil && s == b.lastSQL && st.mark == start {
		t.set = st
	}
	b.args = b.args[:start]
	b.lastSet, b.lastSQL = nil, ""
	return t, nil
}

func (b *CondBuilder) compile(r *crm.Rule) (string, error) {
	condMu.RLock()
	e := condRegistry[r.Field]
	condMu.RUnlock()
	if e != nil {
		return e.compile(b, r)
	}
	if key, ok := strings.CutPrefix(r.Field, "custom."); ok {
		f, ok := b.fields[r.Field]
		if !ok {
			return "", condErr(r.Field, "There is no such field.")
		}
		return b.custom(key, f.Type, r)
	}
	return "", condErr(r.Field, "There is no such field.")
}

func condErr(field, msg string) error {
	return &crm.Error{Code: crm.EINVALID, Message: "The conditions cannot be compiled: " + msg, Fields: map[string]string{"rules": field + ": " + msg}}
}

func badValue(r *crm.Rule) error {
	return condErr(r.Field, fmt.Sprintf("The value of %s %s is not checked (%T).", r.Field, r.Op, r.Value))
}

// escapeLike escapes LIKE's wildcards; patterns use ESCAPE '\'.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// How a text condition compares its value with a column.
const (
	cmpLower      = iota // lower(column) with the lower-cased value
	cmpNormalized        // the column holds text.Normalize'd text: normalise the value
	cmpStored            // the column is stored lower-cased (emails, E.164 phones): compare as is, so indexes serve
)

// textPositive is the condition a text op tests on one value expr (an
// op's positive form: neq, not_contains and is_not_set are the negations
// of eq, contains and is_set), and whether op is negative.
func (b *CondBuilder) textPositive(expr string, r *crm.Rule, mode int) (cond string, negate bool, err error) {
	s, _ := r.Value.(string)
	if crm.OpTakesValue(r.Op) {
		if _, ok := r.Value.(string); !ok {
			return "", false, badValue(r)
		}
	}
	lower := "lower(" + expr + ")"
	switch mode {
	case cmpNormalized:
		s, lower = text.Normalize(s), expr
	case cmpStored:
		s, lower = strings.ToLower(s), expr
	default:
		s = strings.ToLower(s)
	}
	switch r.Op {
	case crm.OpEq, crm.OpNeq:
		return lower + " = " + b.Arg(s), r.Op == crm.OpNeq, nil
	case crm.OpContains, crm.OpNotContains:
		return lower + " LIKE " + b.Arg("%"+escapeLike(s)+"%") + ` ESCAPE '\'`, r.Op == crm.OpNotContains, nil
	case crm.OpStartsWith:
		return lower + " LIKE " + b.Arg(escapeLike(s)+"%") + ` ESCAPE '\'`, false, nil
	case crm.OpEndsWith:
		return lower + " LIKE " + b.Arg("%"+escapeLike(s)) + ` ESCAPE '\'`, false, nil
	case crm.OpIsSet, crm.OpIsNotSet:
		return expr + " <> ''", r.Op == crm.OpIsNotSet, nil
	}
	return "", false, condErr(r.Field, "The operator "+r.Op+" does not apply to text.")
}

// Text compiles a text condition on a column of contacts (or any
// expression that is ” when there is no value).
func (b *CondBuilder) Text(expr string, r *crm.Rule) (string, error) {
	cond, neg, err := b.textPositive("COALESCE("+expr+", '')", r, cmpLower)
	if err != nil {
		return "", err
	}
	if neg {
		return "NOT (" + cond + ")", nil
	}
	return cond, nil
}

// TextIn compiles a text condition on values kept in rows of another
// table (a person has several emails): set selects the person column of
// those rows ("SELECT k.contact_id FROM contact_keys k WHERE k.kind =
// 'email'", with a WHERE), col is the value. Positive operators need one
// value that matches; neq, not_contains and is_not_set need none. mode
// says how values compare (cmpLower, cmpNormalized, cmpStored).
func (b *CondBuilder) TextIn(set, col string, r *crm.Rule, mode int) (string, error) {
	m := b.mark()
	cond, neg, err := b.textPositive(col, r, mode)
	if err != nil {
		return "", err
	}
	// set is "SELECT person FROM … WHERE …": taken apart, the condition
	// can also be tested per person (condplan.go).
	if rest, ok := strings.CutPrefix(set, "SELECT "); ok {
		if pcol, rest, ok := strings.Cut(rest, " FROM "); ok {
			if from, where, ok := strings.Cut(rest, " WHERE "); ok && !strings.Contains(set, "?") {
				// An equal value or a prefix reads a short range of an
				// index on the value; anything else reads every value.
				est, build := estSome, buildAll
				switch r.Op {
				case crm.OpEq, crm.OpStartsWith:
					est, build = estNarrow, estNarrow
				case crm.OpIsSet, crm.OpIsNotSet:
					est, build = estMost, estMost
				case crm.OpNeq:
					est, build = estNarrow, estNarrow
				}
				return b.inSet(neg, pcol, from, "("+where+") AND "+cond, "", m, b.mark(), est, build), nil
			}
		}
	}
	if neg {
		return b.notIn(set + " AND " + cond), nil
	}
	return "c.id IN (" + set + " AND " + cond + ")", nil
}

// TextEach is TextIn for values in a JSON array of c itself (addresses):
// from names the array's rows, correlated to c; raw is the array's
// column. On SQLite, where the array is JSON text, a value that must
// (or must not) appear in the text is first looked for in it with LIKE,
// which spares parsing the JSON of most rows (at a million people, 1.7 s
// of CPU against a fraction of it). Values JSON would escape are not
// prefiltered.
func (b *CondBuilder) TextEach(from, col, raw string, r *crm.Rule) (string, error) {
	return b.textEach(from, col, raw, "", r)
}

// textEach is TextEach; on PostgreSQL, member names the member of each
// element the condition tests, for jsonPathFilter.
func (b *CondBuilder) textEach(from, col, raw, member string, r *crm.Rule) (string, error) {
	s, _ := r.Value.(string)
	pre := "" // its argument goes first, as it comes first in the text
	if b.d == SQLite && s != "" && !strings.ContainsAny(s, "\"<>&\\") && r.Op != crm.OpIsSet && r.Op != crm.OpIsNotSet {
		pre = "lower(" + raw + ") LIKE " + b.Arg("%"+escapeLike(strings.ToLower(s))+"%") + ` ESCAPE '\'`
	}
	if b.d == Postgres && member != "" {
		if path, ok := jsonPathFilter(member, r); ok {
			pre = "jsonb_path_exists(" + raw + ", " + b.Arg(path) + "::jsonpath)"
		}
	}
	cond, neg, err := b.textPositive(col, r, cmpLower)
	if err != nil {
		return "", err
	}
	q := "EXISTS (SELECT 1 FROM " + from + " WHERE " + cond + ")"
	switch {
	case neg && pre != "":
		return "(NOT (" + pre + ") OR NOT " + q + ")", nil
	case neg:
		return "NOT " + q, nil
	case pre != "":
		return "(" + pre + " AND " + q + ")", nil
	}
	return q, nil
}

// jsonPathFilter is a SQL/JSON path true for a JSON array in which some
// element's member (a constant name) may pass the text condition r: a
// prefilter for PostgreSQL, where expanding the array per person with
// jsonb_array_elements costs 1.1 s of a million people's count and
// jsonb_path_exists a fraction of it. It must let through every array
// the exact test (lower(value) op lower(s)) passes, so it is made only
// for values of ASCII letters, digits, spaces and punctuation: their
// letters match either case (like_regex's flag "i"), except i and k,
// which match any character (İ and the Kelvin sign lower-case to them),
// and a value that could be the text of true or false (a member that is
// not a string) gets none.
func jsonPathFilter(member string, r *crm.Rule) (string, bool) {
	s, _ := r.Value.(string)
	s = strings.ToLower(s)
	if s == "" || strings.Contains("true", s) || strings.Contains("false", s) {
		return "", false
	}
	var re strings.Builder
	for _, ch := range s {
		switch {
		case ch > 126 || ch < 32 || ch == '"' || ch == '\\':
			return "", false
		case ch == 'i' || ch == 'k':
			re.WriteString(".")
		case ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == ' ':
			re.WriteRune(ch)
		default: // punctuation, taken literally
			re.WriteString(`\\`)
			re.WriteRune(ch)
		}
	}
	pat := re.String()
	switch r.Op {
	case crm.OpEq, crm.OpNeq:
		pat = "^" + pat + "$"
	case crm.OpStartsWith:
		pat = "^" + pat
	case crm.OpEndsWith:
		pat = pat + "$"
	case crm.OpContains, crm.OpNotContains:
	default:
		return "", false
	}
	return `$[*].` + member + ` ? (@ like_regex "` + pat + `" flag "is")`, true
}

func numberArg(r *crm.Rule) (lo, hi any, err error) {
	switch v := r.Value.(type) {
	case float64, int64:
		if r.Op == crm.OpBetween {
			return nil, nil, badValue(r)
		}
		return v, nil, nil
	case [2]float64:
		if r.Op == crm.OpBetween {
			return v[0], v[1], nil
		}
	case [2]int64:
		if r.Op == crm.OpBetween {
			return v[0], v[1], nil
		}
	}
	return nil, nil, badValue(r)
}

// numberCond is expr compared with a number, and whether 0 satisfies it
// (for counts and sums, where people with no rows count as 0).
func (b *CondBuilder) numberCond(expr string, r *crm.Rule) (cond string, zero bool, err error) {
	lo, hi, err := numberArg(r)
	if err != nil {
		return "", false, err
	}
	f := func(v any) float64 {
		switch n := v.(type) {
		case float64:
			return n
		case int64:
			return float64(n)
		}
		return 0
	}
	ops := map[string]string{crm.OpEq: "=", crm.OpNeq: "<>", crm.OpGt: ">", crm.OpGte: ">=", crm.OpLt: "<", crm.OpLte: "<="}
	if r.Op == crm.OpBetween {
		return expr + " BETWEEN " + b.Arg(lo) + " AND " + b.Arg(hi), f(lo) <= 0 && f(hi) >= 0, nil
	}
	op, ok := ops[r.Op]
	if !ok {
		return "", false, condErr(r.Field, "The operator "+r.Op+" does not apply to numbers.")
	}
	v := f(lo)
	switch r.Op {
	case crm.OpEq:
		zero = v == 0
	case crm.OpNeq:
		zero = v != 0
	case crm.OpGt:
		zero = 0 > v
	case crm.OpGte:
		zero = 0 >= v
	case crm.OpLt:
		zero = 0 < v
	case crm.OpLte:
		zero = 0 <= v
	}
	return expr + " " + op + " " + b.Arg(lo), zero, nil
}

// Number compiles a number condition on an expression of c; NULL (no
// value) never matches.
func (b *CondBuilder) Number(expr string, r *crm.Rule) (string, error) {
	cond, _, err := b.numberCond(expr, r)
	return cond, err
}

// Aggregate compiles a number condition on agg (COUNT(*), SUM(…)) over
// the rows of from (a table, with an optional WHERE filter) grouped by
// contactCol. People with no rows count as 0 when zeroIsValue (counts,
// sums) and never match otherwise (averages).
func (b *CondBuilder) Aggregate(from, where, contactCol, agg string, zeroIsValue bool, r *crm.Rule) (string, error) {
	if where == "" {
		where = "1 = 1"
	}
	m := b.mark()
	if agg == "COUNT(*)" && zeroIsValue && onlyZero(r) {
		// "No orders": nobody with a row matches, so no grouping of
		// counts is needed. On SQLite the rows are still grouped by person
		// (read in that order from the contact_id indexes): a set of
		// 500,000 people instead of 1,000,000 orders, 2.1 s of CPU to 0.9.
		s := b.inSet(true, contactCol, from, where, "", m, m, estHalf, buildAll)
		if b.d == SQLite {
			b.lastSet.distinct = true
			s = b.notIn(b.lastSet.selectSQL())
			b.lastSQL = s
		}
		return s, nil
	}
	cond, zero, err := b.numberCond(agg, r)
	if err != nil {
		return "", err
	}
	if zero && zeroIsValue {
		// The people with no rows match: exclude those whose rows fail.
		return b.inSet(true, contactCol, from, where, "NOT ("+cond+")", m, m, estSome, buildAll), nil
	}
	return b.inSet(false, contactCol, from, where, cond, m, m, estSome, buildAll), nil
}

// onlyZero reports whether a count condition holds for 0 and for no
// count of 1 or more.
func onlyZero(r *crm.Rule) bool {
	f := func(v any) (float64, bool) {
		switch n := v.(type) {
		case float64:
			return n, true
		case int64:
			return float64(n), true
		}
		return 0, false
	}
	if r.Op == crm.OpBetween {
		switch v := r.Value.(type) {
		case [2]float64:
			return v[0] <= 0 && v[1] >= 0 && v[1] < 1
		case [2]int64:
			return v[0] <= 0 && v[1] >= 0 && v[1] < 1
		}
		return false
	}
	n, ok := f(r.Value)
	if !ok {
		return false
	}
	switch r.Op {
	case crm.OpEq:
		return n == 0
	case crm.OpLt:
		return n > 0 && n <= 1
	case crm.OpLte:
		return n >= 0 && n < 1
	}
	return false
}

// dateBounds is the time range [from, to) a date condition selects;
// a zero bound is open.
func (b *CondBuilder) dateBounds(r *crm.Rule) (from, to time.Time, err error) {
	day := func(d crm.Date) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC) }
	switch r.Op {
	case crm.OpInLast, crm.OpNotInLast:
		rel, ok := r.Value.(crm.RelativeDate)
		if !ok {
			return from, to, badValue(r)
		}
		t := rel.Before(b.now)
		if r.Op == crm.OpInLast {
			return t, time.Time{}, nil
		}
		return time.Time{}, t, nil
	case crm.OpBefore, crm.OpAfter, crm.OpOn:
		d, ok := r.Value.(crm.Date)
		if !ok {
			return from, to, badValue(r)
		}
		t := day(d)
		switch r.Op {
		case crm.OpBefore:
			return time.Time{}, t, nil
		case crm.OpAfter:
			return t.AddDate(0, 0, 1), time.Time{}, nil
		}
		return t, t.AddDate(0, 0, 1), nil
	case crm.OpBetween:
		d, ok := r.Value.([2]crm.Date)
		if !ok {
			return from, to, badValue(r)
		}
		return day(d[0]), day(d[1]).AddDate(0, 0, 1), nil
	}
	return from, to, condErr(r.Field, "The operator "+r.Op+" does not apply to dates.")
}

// dateRange is expr within [from, to); asText compares "2006-01-02"
// strings (dates kept as text, like custom date fields).
func (b *CondBuilder) dateRange(expr string, from, to time.Time, asText bool) string {
	arg := func(t time.Time) string {
		if asText {
			return b.Arg(t.Format(time.DateOnly))
		}
		return b.Arg(t)
	}
	var parts []string
	if !from.IsZero() {
		if asText && (from.Hour() != 0 || from.Minute() != 0) {
			from = from.AddDate(0, 0, 1) // a day counts when all of it is inside
		}
		parts = append(parts, expr+" >= "+arg(from))
	}
	if !to.IsZero() {
		parts = append(parts, expr+" < "+arg(to))
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// Date compiles a date condition on a timestamp expression of c that may
// be NULL (no date).
func (b *CondBuilder) Date(expr string, r *crm.Rule) (string, error) {
	return b.date(expr, r, false)
}

func (b *CondBuilder) date(expr string, r *crm.Rule, asText bool) (string, error) {
	switch r.Op {
	case crm.OpIsSet:
		if asText {
			return "COALESCE(" + expr + ", '') <> ''", nil
		}
		return expr + " IS NOT NULL", nil
	case crm.OpIsNotSet:
		if asText {
			return "COALESCE(" + expr + ", '') = ''", nil
		}
		return expr + " IS NULL", nil
	}
	from, to, err := b.dateBounds(r)
	if err != nil {
		return "", err
	}
	if asText {
		return "(" + expr + " <> '' AND " + b.dateRange(expr, from, to, true) + ")", nil
	}
	return b.dateRange(expr, from, to, false), nil
}

// AggregateDate compiles a date condition on agg (MAX(placed_at)) over
// the rows of from grouped by contactCol: is_not_set is "has no rows".
func (b *CondBuilder) AggregateDate(from, where, contactCol, agg string, r *crm.Rule) (string, error) {
	if where == "" {
		where = "1 = 1"
	}
	m := b.mark()
	switch r.Op {
	case crm.OpIsSet:
		return b.inSet(false, contactCol, from, where, "", m, m, estHalf, buildAll), nil
	case crm.OpIsNotSet:
		return b.inSet(true, contactCol, from, where, "", m, m, estHalf, buildAll), nil
	}
	from2, to, err := b.dateBounds(r)
	if err != nil {
		return "", err
	}
	// A bound on one side needs no grouping: the latest date is on or
	// after t exactly when some row's is, and the earliest is before t
	// when some row's is. The rows are then found through an index on
	// the date instead of grouping every row of the table (1.2 s → 0.1 s
	// for "last order in the last 30 days" over 1,000,000 orders).
	if fn, col, ok := strings.Cut(strings.TrimSuffix(agg, ")"), "("); ok && (fn == "MAX" && to.IsZero() || fn == "MIN" && from2.IsZero()) {
		return b.inSet(false, contactCol, from, "("+where+") AND "+b.dateRange(col, from2, to, false), "", m, b.mark(), estSome, estSome), nil
	}
	return b.inSet(false, contactCol, from, where, b.dateRange(agg, from2, to, false), m, m, estSome, buildAll), nil
}

// Bool compiles is_true / is_false on a condition that is true for the
// people who have the property.
func (b *CondBuilder) Bool(cond string, r *crm.Rule) (string, error) {
	switch r.Op {
	case crm.OpIsTrue:
		return cond, nil
	case crm.OpIsFalse:
		return "NOT (" + cond + ")", nil
	}
	return "", condErr(r.Field, "The operator "+r.Op+" does not apply to yes/no fields.")
}

// Choice compiles in / not_in / is_set / is_not_set on a text column of
// c (” when unset). not_in includes people with no value.
func (b *CondBuilder) Choice(expr string, r *crm.Rule) (string, error) {
	switch r.Op {
	case crm.OpIsSet:
		return "COALESCE(" + expr + ", '') <> ''", nil
	case crm.OpIsNotSet:
		return "COALESCE(" + expr + ", '') = ''", nil
	}
	vs, ok := r.Value.([]string)
	if !ok || len(vs) == 0 {
		return "", badValue(r)
	}
	switch r.Op {
	case crm.OpIn:
		return expr + " IN (" + b.argList(len(vs), func(i int) any { return vs[i] }) + ")", nil
	case crm.OpNotIn:
		return "NOT (COALESCE(" + expr + ", '') IN (" + b.argList(len(vs), func(i int) any { return vs[i] }) + "))", nil
	}
	return "", condErr(r.Field, "The operator "+r.Op+" does not apply to choices.")
}

// Set compiles a condition on values kept in rows of another table:
// from is the table (with alias), contactCol its person column, valCol
// the value (a tag, a SKU, a company id), where an optional filter.
// Choices and references use in / not_in, lists has_any / has_all /
// has_none; is_set is "has a row", is_not_set "has none".
func (b *CondBuilder) Set(r *crm.Rule, from, contactCol, valCol, where string) (string, error) {
	if where == "" {
		where = "1 = 1"
	}
	m := b.mark()
	switch r.Op {
	case crm.OpIsSet:
		return b.inSet(false, contactCol, from, where, "", m, b.mark(), estHalf, estHalf), nil
	case crm.OpIsNotSet:
		return b.inSet(true, contactCol, from, where, "", m, b.mark(), estHalf, estHalf), nil
	}
	var vals []any
	switch v := r.Value.(type) {
	case []string:
		for _, s := range v {
			vals = append(vals, s)
		}
	case []int64:
		for _, n := range v {
			vals = append(vals, n)
		}
	}
	if len(vals) == 0 {
		return "", badValue(r)
	}
	in := valCol + " IN (" + b.argList(len(vals), func(i int) any { return vals[i] }) + ")"
	est := min(estTag*float64(len(vals)), estHalf)
	w := "(" + where + ") AND " + in
	switch r.Op {
	case crm.OpIn, crm.OpHasAny:
		return b.inSet(false, contactCol, from, w, "", m, b.mark(), est, est), nil
	case crm.OpNotIn, crm.OpHasNone:
		return b.inSet(true, contactCol, from, w, "", m, b.mark(), est, est), nil
	case crm.OpHasAll:
		hm := b.mark()
		return b.inSet(false, contactCol, from, w, "COUNT(DISTINCT "+valCol+") = "+b.Arg(int64(len(vals))), m, hm, estTag, est), nil
	}
	return "", condErr(r.Field, "The operator "+r.Op+" does not apply to lists.")
}

// Ref compiles in / not_in / is_set / is_not_set on a nullable id column
// of c (the owner).
func (b *CondBuilder) Ref(expr string, r *crm.Rule) (string, error) {
	switch r.Op {
	case crm.OpIsSet:
		return expr + " IS NOT NULL", nil
	case crm.OpIsNotSet:
		return expr + " IS NULL", nil
	}
	ids, ok := r.Value.([]int64)
	if !ok || len(ids) == 0 {
		return "", badValue(r)
	}
	list := b.argList(len(ids), func(i int) any { return ids[i] })
	switch r.Op {
	case crm.OpIn:
		return expr + " IN (" + list + ")", nil
	case crm.OpNotIn:
		return "(" + expr + " IS NULL OR " + expr + " NOT IN (" + list + "))", nil
	}
	return "", condErr(r.Field, "The operator "+r.Op+" does not apply to references.")
}

// custom compiles a condition on a custom field of people, kept in the
// custom JSON column under key (a key custom fields allow:
// [a-z][a-z0-9_]*, and passed as an argument all the same).
func (b *CondBuilder) custom(key, typ string, r *crm.Rule) (string, error) {
	// The key names a JSON member in SQL text, as a field name selects a
	// column: it comes from the custom fields' registry, whose keys are
	// [a-z][a-z0-9_]* (checked again here), never from the condition's
	// value. Expressions may then repeat it without repeating arguments.
	if !customKey.MatchString(key) {
		return "", condErr("custom."+key, "Not a custom field key.")
	}
	pg := b.d == Postgres
	textExpr := "json_extract(c.custom, '$." + key + "')"
	if pg {
		textExpr = "(c.custom->>'" + key + "')"
	}
	switch typ {
	case crm.CondNumber, crm.CondMoney:
		if pg {
			return b.Number("(CASE WHEN jsonb_typeof(c.custom->'"+key+"') = 'number' THEN (c.custom->>'"+key+"')::numeric END)", r)
		}
		return b.Number("(CASE WHEN json_type(c.custom, '$."+key+"') IN ('integer', 'real') THEN json_extract(c.custom, '$."+key+"') END)", r)
	case crm.CondBool:
		if pg {
			return b.Bool("COALESCE(c.custom->'"+key+"' = 'true'::jsonb, FALSE)", r)
		}
		return b.Bool("COALESCE(json_type(c.custom, '$."+key+"') = 'true', 0)", r)
	case crm.CondDate:
		return b.date(textExpr, r, true)
	case crm.CondChoice:
		return b.Choice(textExpr, r)
	case crm.CondList:
		from := "contacts cc, json_each(cc.custom, '$." + key + "') j"
		if pg {
			from = "contacts cc, jsonb_array_elements_text(CASE WHEN jsonb_typeof(cc.custom->'" + key + "') = 'array' THEN cc.custom->'" + key + "' ELSE '[]'::jsonb END) j(value)"
		}
		// json_each of a missing member yields no rows.
		return b.Set(r, from, "cc.id", "j.value", "")
	}
	return b.Text(textExpr, r)
}

var customKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// --- The built-in fields ---

func init() {
	reg := RegisterConditionField
	f := func(name, typ, group string) crm.ConditionField {
		return crm.ConditionField{Name: name, Type: typ, Group: group}
	}
	key := func(kind string) string { // kind is one of the constants below, not input
		return "SELECT k.contact_id FROM contact_keys k WHERE k.kind = '" + kind + "'"
	}

	// The person.
	reg(f("name", crm.CondText, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.TextIn(key("name"), "k.value", r, cmpNormalized)
	})
	reg(f("email", crm.CondText, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.TextIn(key("email"), "k.value", r, cmpStored)
	})
	reg(f("phone", crm.CondText, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.TextIn(key("phone"), "k.value", r, cmpStored)
	})
	reg(crm.ConditionField{Name: "language", Type: crm.CondChoice, Group: "contact",
		Options: []crm.Option{{Value: "en", Label: "English"}, {Value: "fa", Label: "فارسی"}, {Value: "ar", Label: "العربية"}}},
		func(b *CondBuilder, r *crm.Rule) (string, error) { return b.Choice("c.language", r) })
	reg(f("source", crm.CondText, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) { return b.Text("c.source", r) })
	for _, part := range []string{"city", "country"} {
		reg(f(part, crm.CondText, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) {
			if b.d == Postgres {
				return b.textEach("jsonb_array_elements(c.addresses) a(value)", "COALESCE(a.value->>'"+part+"', '')", "c.addresses", part, r)
			}
			return b.TextEach("json_each(c.addresses) a", "COALESCE(json_extract(a.value, '$."+part+"'), '')", "c.addresses", r)
		})
	}
	reg(f("tags", crm.CondList, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		if vs, ok := r.Value.([]string); ok { // tags are kept lower-cased
			low := make([]string, len(vs))
			for i, v := range vs {
				low[i] = strings.ToLower(strings.TrimSpace(v))
			}
			r = &crm.Rule{Field: r.Field, Op: r.Op, Value: low}
		}
		return b.Set(r, "contact_tags t", "t.contact_id", "t.tag", "")
	})
	reg(f("owner", crm.CondRef, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) { return b.Ref("c.owner_id", r) })
	RegisterConditionOptions("owner", func(ctx context.Context, tx *Tx) ([]crm.Option, error) {
		us, err := tx.ListUsers(ctx)
		if err != nil {
			return nil, err
		}
		var out []crm.Option
		for _, u := range us {
			label := u.Name
			if label == "" {
				label = u.Email
			}
			out = append(out, crm.Option{Value: strconv.FormatInt(u.ID, 10), Label: label})
		}
		return out, nil
	})
	reg(f("created", crm.CondDate, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) { return b.Date("c.created_at", r) })
	reg(f("updated", crm.CondDate, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) { return b.Date("c.updated_at", r) })
	for _, ch := range crm.ConsentChannels {
		reg(f("consent."+ch, crm.CondBool, "consent"), func(b *CondBuilder, r *crm.Rule) (string, error) {
			m := b.mark()
			where := "cs.channel = " + b.Arg(ch) + " AND cs.status = 'granted'"
			switch r.Op {
			case crm.OpIsTrue, crm.OpIsFalse:
				return b.inSet(r.Op == crm.OpIsFalse, "cs.contact_id", "contact_consents cs", where, "", m, b.mark(), estHalf, buildAll), nil
			}
			return "", condErr(r.Field, "The operator "+r.Op+" does not apply to yes/no fields.")
		})
	}
	reg(f("lists", crm.CondRef, "contact"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Set(r, "segment_members sm", "sm.contact_id", "sm.segment_id", "")
	})
	RegisterConditionOptions("lists", func(ctx context.Context, tx *Tx) ([]crm.Option, error) {
		return tx.segmentOptions(ctx, crm.SegmentStatic)
	})

	// Companies.
	reg(f("company", crm.CondRef, "company"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Set(r, "contact_companies m", "m.contact_id", "m.company_id", "")
	})
	for _, col := range []string{"name", "industry"} {
		reg(f("company."+col, crm.CondText, "company"), func(b *CondBuilder, r *crm.Rule) (string, error) {
			return b.TextIn("SELECT m.contact_id FROM contact_companies m JOIN companies co ON co.id = m.company_id WHERE 1 = 1", "co."+col, r, cmpLower)
		})
	}

	// Orders: fully returned orders do not count; spend is net of returns.
	const counted = "o.contact_id <> 0 AND o.status <> 'returned'"
	reg(f("orders.count", crm.CondNumber, "orders"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Aggregate("orders o", counted, "o.contact_id", "COUNT(*)", true, r)
	})
	reg(f("orders.total", crm.CondMoney, "orders"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Aggregate("orders o", counted, "o.contact_id", "SUM(o.total - o.returned_total)", true, r)
	})
	reg(f("orders.average", crm.CondMoney, "orders"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Aggregate("orders o", counted, "o.contact_id", "(SUM(o.total - o.returned_total) / COUNT(*))", false, r)
	})
	reg(f("orders.last_date", crm.CondDate, "orders"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.AggregateDate("orders o", counted, "o.contact_id", "MAX(o.placed_at)", r)
	})
	reg(f("orders.first_date", crm.CondDate, "orders"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.AggregateDate("orders o", counted, "o.contact_id", "MIN(o.placed_at)", r)
	})
	reg(f("orders.sku", crm.CondList, "orders"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Set(r, "orders o JOIN order_lines l ON l.order_id = o.id", "o.contact_id", "l.sku",
			"o.contact_id <> 0 AND l.quantity > l.returned_quantity")
	})

	// The customer club.
	reg(f("club.member", crm.CondPresent, "club"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Set(r, "club_members cm", "cm.contact_id", "cm.id", "cm.status = 'active'")
	})
	reg(f("club.tier", crm.CondRef, "club"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Set(r, "club_members cm", "cm.contact_id", "cm.tier_id", "cm.status = 'active' AND cm.tier_id IS NOT NULL")
	})
	RegisterConditionOptions("club.tier", func(ctx context.Context, tx *Tx) ([]crm.Option, error) {
		rows, err := tx.Query(ctx, `SELECT t.id, t.name, p.name FROM club_tiers t JOIN club_programs p ON p.id = t.program_id ORDER BY p.id, t.threshold`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []crm.Option
		progs := map[string]bool{}
		for rows.Next() {
			var (
				id          int64
				name, pname string
			)
			if err := rows.Scan(&id, &name, &pname); err != nil {
				return nil, err
			}
			progs[pname] = true
			out = append(out, crm.Option{Value: strconv.FormatInt(id, 10), Label: name + "\x00" + pname})
		}
		for i := range out { // name the program only when there are several
			n, p, _ := strings.Cut(out[i].Label, "\x00")
			if len(progs) > 1 {
				n += " (" + p + ")"
			}
			out[i].Label = n
		}
		return out, rows.Err()
	})
	reg(f("club.points", crm.CondNumber, "club"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Aggregate("club_members cm", "cm.status = 'active'", "cm.contact_id", "SUM(cm.available)", true, r)
	})

	// The service desk.
	reg(f("tickets.count", crm.CondNumber, "service"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		return b.Aggregate("desk_tickets dt", "dt.contact_id <> 0", "dt.contact_id", "COUNT(*)", true, r)
	})
	reg(f("tickets.open", crm.CondNumber, "service"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		open := make([]string, len(crm.ActiveTicketStatuses))
		for i, s := range crm.ActiveTicketStatuses {
			open[i] = "'" + s + "'" // constants of the desk's status machine, not input
		}
		return b.Aggregate("desk_tickets dt", "dt.contact_id <> 0 AND dt.status IN ("+strings.Join(open, ", ")+")", "dt.contact_id", "COUNT(*)", true, r)
	})

	// The customer analytics' last run (customer_scores is the view of
	// the run in use; people not scored have no values).
	reg(crm.ConditionField{Name: "analytics.segment", Type: crm.CondChoice, Group: "analytics", Options: options(rfmSegments...)},
		func(b *CondBuilder, r *crm.Rule) (string, error) {
			return b.Set(r, "customer_scores s", "s.contact_id", "s.segment", "")
		})
	reg(crm.ConditionField{Name: "analytics.churn_band", Type: crm.CondChoice, Group: "analytics", Options: options("low", "medium", "high")},
		func(b *CondBuilder, r *crm.Rule) (string, error) {
			return b.Set(r, "customer_scores s", "s.contact_id", "s.churn_band", "s.churn_band IS NOT NULL")
		})
	reg(f("analytics.clv", crm.CondMoney, "analytics"), func(b *CondBuilder, r *crm.Rule) (string, error) {
		cond, err := b.Number("s.clv", r)
		if err != nil {
			return "", err
		}
		return "c.id IN (SELECT s.contact_id FROM customer_scores s WHERE s.clv IS NOT NULL AND " + cond + ")", nil
	})
}

// rfmSegments are the analytics' RFM segment names (analytics.RFMSegments;
// the store sits below the analytics and keeps its own copy, checked by
// internal/segment's tests through the catalogs).
var rfmSegments = []string{"champions", "loyal", "potential_loyalists", "new", "promising", "need_attention",
	"about_to_sleep", "at_risk", "cannot_lose_them", "hibernating", "lost"}

func options(vs ...string) []crm.Option {
	out := make([]crm.Option, len(vs))
	for i, v := range vs {
		out[i] = crm.Option{Value: v, Label: v}
	}
	return out
}

// ConditionFieldNames lists the registered fields' names, sorted.
func ConditionFieldNames() []string {
	condMu.RLock()
	defer condMu.RUnlock()
	out := append([]string(nil), condOrder...)
	sort.Strings(out)
	return out
}

// ConditionFieldDefs lists the registered fields as registered (without
// the options read from the database, and without custom fields).
func ConditionFieldDefs() []crm.ConditionField {
	condMu.RLock()
	defer condMu.RUnlock()
	out := make([]crm.ConditionField, 0, len(condOrder))
	for _, n := range condOrder {
		out = append(out, condRegistry[n].field)
	}
	return out
}
