package segment

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// MaxValueLength bounds a text value, in characters; MaxValues the
// values of a list (tags, SKUs, choices).
const (
	MaxValueLength = 200
	MaxValues      = 100
	MaxDateAmount  = 10000
)

// Validate checks a parsed condition tree against fields (those
// store.ConditionFields lists) and returns it with every value
// normalised to the Go type its field takes (crm.Rule.Value). Each
// problem is named by its path: "conditions[1].value",
// "conditions[2].conditions[0].op", "match". The error is EINVALID (422).
func Validate(root crm.Rule, fields []crm.ConditionField) (crm.Rule, error) {
	byName := make(map[string]*crm.ConditionField, len(fields))
	for i := range fields {
		byName[fields[i].Name] = &fields[i]
	}
	c := &checker{fields: byName}
	out := c.group("", root, 0)
	if c.n > crm.MaxRuleConditions {
		c.v.Add("conditions", "At most %d conditions in all; this has %d.", crm.MaxRuleConditions, c.n)
	}
	if err := c.v.Err(); err != nil {
		if e, ok := err.(*crm.Error); ok {
			e.Message = "Some conditions are not valid."
		}
		return crm.Rule{}, err
	}
	return out, nil
}

type checker struct {
	fields map[string]*crm.ConditionField
	v      crm.Validation
	n      int
}

func at(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (c *checker) group(path string, g crm.Rule, depth int) crm.Rule {
	out := crm.Rule{Match: g.Match, Conditions: []crm.Rule{}}
	if g.Field != "" || g.Op != "" || g.Value != nil {
		c.v.Add(at(path, "field"), "A group has match and conditions, not a field, op or value.")
	}
	if g.Match == "" && path == "" {
		out.Match = crm.MatchAll
	} else if g.Match != crm.MatchAll && g.Match != crm.MatchAny {
		c.v.Add(at(path, "match"), "Use all or any.")
	}
	if depth > crm.MaxRuleDepth {
		c.v.Add(at(path, "conditions"), "Groups nest at most %d deep.", crm.MaxRuleDepth)
		return out
	}
	if len(g.Conditions) == 0 && path != "" {
		c.v.Add(at(path, "conditions"), "Add a condition or remove the group.")
	}
	for i, r := range g.Conditions {
		p := crm.RulePath(path, i)
		if r.IsGroup() {
			out.Conditions = append(out.Conditions, c.group(p, r, depth+1))
			continue
		}
		c.n++
		if c.n > crm.MaxRuleConditions {
			continue
		}
		out.Conditions = append(out.Conditions, c.condition(p, r))
	}
	return out
}

func (c *checker) condition(path string, r crm.Rule) crm.Rule {
	out := crm.Rule{Field: r.Field, Op: r.Op}
	if r.Field == "" {
		c.v.Add(at(path, "field"), "Choose a field.")
		return out
	}
	f, ok := c.fields[r.Field]
	if !ok {
		c.v.Add(at(path, "field"), "There is no field %q.", clip(r.Field))
		return out
	}
	ops := crm.CondOps[f.Type]
	if r.Op == "" {
		c.v.Add(at(path, "op"), "Choose an operator: %s.", strings.Join(ops, ", "))
		return out
	}
	if !slices.Contains(ops, r.Op) {
		c.v.Add(at(path, "op"), "%s does not take %q; use %s.", r.Field, clip(r.Op), strings.Join(ops, ", "))
		return out
	}
	vp := at(path, "value")
	if !crm.OpTakesValue(r.Op) {
		if r.Value != nil {
			c.v.Add(vp, "%s takes no value.", r.Op)
		}
		return out
	}
	if r.Value == nil {
		c.v.Add(vp, "Give a value.")
		return out
	}
	val, msg := value(f, r.Op, r.Value)
	if msg != "" {
		c.v.Add(vp, "%s", msg)
		return out
	}
	out.Value = val
	return out
}

func clip(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}

// value normalises v for field f and operator op, or says what is wrong.
func value(f *crm.ConditionField, op string, v any) (any, string) {
	switch f.Type {
	case crm.CondText:
		s, ok := v.(string)
		if !ok {
			return nil, "Give text."
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, "Give a value, or use is_set / is_not_set."
		}
		if utf8.RuneCountInString(s) > MaxValueLength || !utf8.ValidString(s) {
			return nil, fmt.Sprintf("At most %d characters.", MaxValueLength)
		}
		if f.Name == "phone" {
			s = text.ToASCIIDigits(s)
		}
		return s, ""
	case crm.CondNumber, crm.CondMoney:
		money := f.Type == crm.CondMoney
		if op == crm.OpBetween {
			lo, hi, msg := pair(v, func(x any) (float64, string) { return number(x, money) })
			if msg != "" {
				return nil, msg
			}
			if money {
				return [2]int64{int64(lo), int64(hi)}, ""
			}
			return [2]float64{lo, hi}, ""
		}
		n, msg := number(v, money)
		if msg != "" {
			return nil, msg
		}
		if money {
			return int64(n), ""
		}
		return n, ""
	case crm.CondDate:
		switch op {
		case crm.OpInLast, crm.OpNotInLast:
			return relative(v)
		case crm.OpBetween:
			lo, hi, msg := pair(v, func(x any) (time.Time, string) {
				d, msg := date(x)
				return d.Time, msg
			})
			if msg != "" {
				return nil, msg
			}
			return [2]crm.Date{{Time: lo}, {Time: hi}}, ""
		}
		d, msg := date(v)
		if msg != "" {
			return nil, msg
		}
		return d, ""
	case crm.CondChoice, crm.CondList:
		vs, msg := strs(v)
		if msg != "" {
			return nil, msg
		}
		if f.Type == crm.CondChoice && len(f.Options) > 0 {
			for _, s := range vs {
				if !hasOption(f.Options, s) {
					return nil, fmt.Sprintf("%q is not one of %s.", clip(s), optionList(f.Options))
				}
			}
		}
		return vs, ""
	case crm.CondRef:
		ids, msg := refs(v)
		if msg != "" {
			return nil, msg
		}
		if len(f.Options) > 0 || f.Name == "lists" || f.Name == "club.tier" {
			for _, id := range ids {
				if !hasOption(f.Options, strconv.FormatInt(id, 10)) {
					return nil, fmt.Sprintf("There is no %s with id %d.", f.Name, id)
				}
			}
		}
		return ids, ""
	}
	return nil, "This field takes no value."
}

func hasOption(opts []crm.Option, v string) bool {
	for _, o := range opts {
		if o.Value == v {
			return true
		}
	}
	return false
}

func optionList(opts []crm.Option) string {
	vs := make([]string, 0, len(opts))
	for _, o := range opts {
		vs = append(vs, o.Value)
	}
	if len(vs) > 12 {
		vs = append(vs[:12], "…")
	}
	return strings.Join(vs, ", ")
}

// number reads a JSON number, or a string of digits in any script.
func number(v any, integral bool) (float64, string) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		s = strconv.FormatInt(x, 10)
	case string:
		s = strings.TrimSpace(text.ToASCIIDigits(x))
		s = strings.ReplaceAll(s, "٫", ".")
		s = strings.ReplaceAll(s, ",", "")
	default:
		return 0, "Give a number."
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || math.Abs(n) > 1e15 {
		return 0, "Give a number."
	}
	if integral && n != math.Trunc(n) {
		return 0, "Give a whole amount in minor units (cents, rials)."
	}
	return n, ""
}

// pair reads [a, b] with a ≤ b.
func pair[T int64 | float64 | time.Time](v any, one func(any) (T, string)) (T, T, string) {
	var zero T
	xs, ok := v.([]any)
	if !ok || len(xs) != 2 {
		return zero, zero, "Give two values: [from, to]."
	}
	lo, msg := one(xs[0])
	if msg != "" {
		return zero, zero, "From: " + msg
	}
	hi, msg := one(xs[1])
	if msg != "" {
		return zero, zero, "To: " + msg
	}
	if less(hi, lo) {
		return zero, zero, "From comes after to."
	}
	return lo, hi, ""
}

func less[T int64 | float64 | time.Time](a, b T) bool {
	switch x := any(a).(type) {
	case time.Time:
		return x.Before(any(b).(time.Time))
	case int64:
		return x < any(b).(int64)
	case float64:
		return x < any(b).(float64)
	}
	return false
}

// date reads "2026-01-31" (ASCII or Persian/Arabic digits; Gregorian).
func date(v any) (crm.Date, string) {
	s, ok := v.(string)
	if !ok {
		return crm.Date{}, "Give a date as YYYY-MM-DD."
	}
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(text.ToASCIIDigits(s)))
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		return crm.Date{}, "Give a date as YYYY-MM-DD."
	}
	return crm.Date{Time: t}, ""
}

// relative reads {"amount": 30, "unit": "day"}.
func relative(v any) (any, string) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, `Give {"amount": 30, "unit": "day"}.`
	}
	for k := range m {
		if k != "amount" && k != "unit" {
			return nil, fmt.Sprintf("Unknown key %q: give amount and unit.", clip(k))
		}
	}
	n, msg := number(m["amount"], true)
	if msg != "" || n < 1 || n > MaxDateAmount {
		return nil, fmt.Sprintf("The amount is a whole number from 1 to %d.", MaxDateAmount)
	}
	unit, _ := m["unit"].(string)
	unit = strings.TrimSuffix(unit, "s")
	if !slices.Contains(crm.DateUnits, unit) {
		return nil, "The unit is one of day, week, month, year."
	}
	return crm.RelativeDate{Amount: int(n), Unit: unit}, ""
}

// strs reads a non-empty list of distinct strings (a single string is a
// list of one).
func strs(v any) ([]string, string) {
	var xs []any
	switch x := v.(type) {
	case string:
		xs = []any{x}
	case []any:
		xs = x
	case []string:
		for _, s := range x {
			xs = append(xs, s)
		}
	default:
		return nil, "Give a list of values."
	}
	if len(xs) == 0 {
		return nil, "Give at least one value."
	}
	if len(xs) > MaxValues {
		return nil, fmt.Sprintf("At most %d values.", MaxValues)
	}
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		s, ok := x.(string)
		if !ok {
			return nil, "Each value is text."
		}
		s = strings.TrimSpace(s)
		if s == "" || utf8.RuneCountInString(s) > MaxValueLength || !utf8.ValidString(s) {
			return nil, fmt.Sprintf("Each value has 1 to %d characters.", MaxValueLength)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, ""
}

// refs reads a non-empty list of ids (numbers or strings of digits).
func refs(v any) ([]int64, string) {
	var xs []any
	switch x := v.(type) {
	case []any:
		xs = x
	case []int64:
		for _, n := range x {
			xs = append(xs, n)
		}
	default:
		xs = []any{v}
	}
	if len(xs) == 0 {
		return nil, "Give at least one."
	}
	if len(xs) > MaxValues {
		return nil, fmt.Sprintf("At most %d values.", MaxValues)
	}
	out := make([]int64, 0, len(xs))
	for _, x := range xs {
		n, msg := number(x, true)
		if msg != "" || n < 1 || n > 1<<53 {
			return nil, "Give ids (whole numbers)."
		}
		if !slices.Contains(out, int64(n)) {
			out = append(out, int64(n))
		}
	}
	return out, ""
}
