package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The condition language: a tree of conditions on people, shared by
// segments (internal/segment) and, later, automation. Its JSON form is
//
//	{"match": "all", "conditions": [
//	    {"field": "orders.count", "op": "gte", "value": 3},
//	    {"field": "orders.last_date", "op": "in_last", "value": {"amount": 90, "unit": "day"}},
//	    {"match": "any", "conditions": [
//	        {"field": "tags", "op": "has_any", "value": ["vip", "press"]},
//	        {"field": "club.tier", "op": "in", "value": [3]}
//	    ]}
//	]}
//
// This file holds the types and the JSON syntax only. Which fields exist,
// their types and what their values mean is the field registry's
// (store.ConditionFields); checking a tree against it is the segment
// service's (segment.Validate), which also normalises each value to the
// Go type its field takes (see Condition.Value). Compiling a checked tree
// to parameterised SQL is the store's (store.CompileRules).

// Group matches.
const (
	MatchAll = "all" // AND
	MatchAny = "any" // OR
)

// Operators. Which apply to a field follows from its type (CondOps).
const (
	OpEq          = "eq"
	OpNeq         = "neq"
	OpContains    = "contains"
	OpNotContains = "not_contains"
	OpStartsWith  = "starts_with"
	OpEndsWith    = "ends_with"
	OpGt          = "gt"
	OpGte         = "gte"
	OpLt          = "lt"
	OpLte         = "lte"
	OpBetween     = "between"     // numbers and dates: [from, to], both included
	OpIn          = "in"          // choices and references: one of a list
	OpNotIn       = "not_in"      // none of a list (people with no value included)
	OpHasAny      = "has_any"     // lists (tags, products): at least one of
	OpHasAll      = "has_all"     // every one of
	OpHasNone     = "has_none"    // none of
	OpBefore      = "before"      // dates: strictly before the day
	OpAfter       = "after"       // dates: strictly after the day
	OpOn          = "on"          // dates: on the day
	OpInLast      = "in_last"     // dates: within the last N units, up to now
	OpNotInLast   = "not_in_last" // dates: longer ago than N units
	OpIsSet       = "is_set"      // has a value (has an email, has ordered)
	OpIsNotSet    = "is_not_set"  // has none
	OpIsTrue      = "is_true"     // booleans
	OpIsFalse     = "is_false"
)

// Field types of the condition language.
const (
	CondText    = "text"    // string; eq, contains … compare case-insensitively
	CondNumber  = "number"  // float64
	CondMoney   = "money"   // int64 minor units
	CondDate    = "date"    // Date, RelativeDate
	CondBool    = "bool"    // no value
	CondChoice  = "choice"  // []string from Options (or free when Options is empty)
	CondRef     = "ref"     // []int64: ids of users, companies, tiers, lists
	CondList    = "list"    // []string: tags, SKUs, multi-select values
	CondPresent = "present" // is_set / is_not_set only
)

// CondOps lists the operators of each field type, in the order the
// rule editor offers them.
var CondOps = map[string][]string{
	CondText:    {OpEq, OpNeq, OpContains, OpNotContains, OpStartsWith, OpEndsWith, OpIsSet, OpIsNotSet},
	CondNumber:  {OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte, OpBetween},
	CondMoney:   {OpEq, OpNeq, OpGt, OpGte, OpLt, OpLte, OpBetween},
	CondDate:    {OpInLast, OpNotInLast, OpBefore, OpAfter, OpOn, OpBetween, OpIsSet, OpIsNotSet},
	CondBool:    {OpIsTrue, OpIsFalse},
	CondChoice:  {OpIn, OpNotIn, OpIsSet, OpIsNotSet},
	CondRef:     {OpIn, OpNotIn, OpIsSet, OpIsNotSet},
	CondList:    {OpHasAny, OpHasAll, OpHasNone, OpIsSet, OpIsNotSet},
	CondPresent: {OpIsSet, OpIsNotSet},
}

// OpTakesValue reports whether op needs a value.
func OpTakesValue(op string) bool {
	switch op {
	case OpIsSet, OpIsNotSet, OpIsTrue, OpIsFalse:
		return false
	}
	return true
}

// ConditionField describes one field a condition may test.
type ConditionField struct {
	Name    string   `json:"name"`              // "orders.count", "custom.size", "consent.email"
	Type    string   `json:"type"`              // a Cond* type
	Group   string   `json:"group"`             // contact, custom, company, orders, club, service, analytics, lists, campaigns
	Label   string   `json:"label,omitempty"`   // a custom field's own label; built-in fields are labelled by the UI catalogs
	Options []Option `json:"options,omitempty"` // choices (value and label), and references' known targets
	Unit    string   `json:"unit,omitempty"`    // money: the currency
}

// Option is one choice of a choice or reference field.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Rule is a node of a condition tree: a group (Match, Conditions) when
// Match is set, else a condition (Field, Op, Value).
type Rule struct {
	Match      string `json:"match,omitempty"`
	Conditions []Rule `json:"conditions,omitempty"`

	Field string `json:"field,omitempty"`
	Op    string `json:"op,omitempty"`
	// Value is, as parsed, a JSON value (string, json.Number, bool,
	// []any, map[string]any or nil). Validation replaces it by the type
	// the field takes: string (text), float64 (number), int64 (money),
	// Date or RelativeDate (one date), [2]Date (between), [2]float64 or
	// [2]int64 (between numbers or money), []string (choices, lists),
	// []int64 (references), nil (no value).
	Value any `json:"value,omitempty"`
}

// IsGroup reports whether r is a group.
func (r *Rule) IsGroup() bool { return r.Match != "" || (r.Field == "" && r.Conditions != nil) }

// Date is a calendar day (midnight UTC), written "2026-01-31".
type Date struct{ time.Time }

func (d Date) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.Format(time.DateOnly) + `"`), nil
}

// RelativeDate is "N units before now": {"amount": 30, "unit": "day"}.
type RelativeDate struct {
	Amount int    `json:"amount"`
	Unit   string `json:"unit"` // day, week, month, year
}

// Date units of RelativeDate.
var DateUnits = []string{"day", "week", "month", "year"}

// Before returns now less the relative amount.
func (r RelativeDate) Before(now time.Time) time.Time {
	switch r.Unit {
	case "week":
		return now.AddDate(0, 0, -7*r.Amount)
	case "month":
		return now.AddDate(0, -r.Amount, 0)
	case "year":
		return now.AddDate(-r.Amount, 0, 0)
	}
	return now.AddDate(0, 0, -r.Amount)
}

// MaxRuleDepth and MaxRuleConditions bound a tree.
const (
	MaxRuleDepth      = 5
	MaxRuleConditions = 100
	MaxRuleBytes      = 64 << 10
)

// ParseRules reads a condition tree from JSON: syntax only, with
// numbers kept as json.Number. The root must be a group. Errors name
// the position of the problem.
func ParseRules(data []byte) (Rule, error) {
	var r Rule
	if len(bytes.TrimSpace(data)) == 0 {
		return r, &Error{Code: EINVALID, Message: "The conditions are missing.", Fields: map[string]string{"rules": "Give a group of conditions."}}
	}
	if len(data) > MaxRuleBytes {
		return r, &Error{Code: EINVALID, Message: "The conditions are too long.", Fields: map[string]string{"rules": fmt.Sprintf("At most %d bytes.", MaxRuleBytes)}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rule{}, &Error{Code: EINVALID, Message: "The conditions are not valid JSON.", Fields: map[string]string{"rules": JSONProblem(err)}}
	}
	if dec.More() {
		return Rule{}, &Error{Code: EINVALID, Message: "The conditions are not valid JSON.", Fields: map[string]string{"rules": "Unexpected data after the group."}}
	}
	return r, nil
}

// JSONProblem says in words what is wrong with a document encoding/json
// refused: the byte of a syntax error, the key and the type expected of
// a wrong value, an unknown key.
func JSONProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "Not JSON at byte " + strconv.FormatInt(se.Offset, 10) + "."
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "the group"
		}
		return fmt.Sprintf("%s must be %s, not %s.", where, jsonKind(te.Type.Kind().String()), te.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "Unknown key " + f + "."
	}
	return "Not a group of conditions."
}

func jsonKind(k string) string {
	switch k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "slice":
		return "a list"
	case "struct":
		return "an object"
	}
	return "a " + k
}

// RulePath names a node for error messages: "conditions[1]" under the
// root, "conditions[2].conditions[0]" deeper.
func RulePath(parent string, i int) string {
	p := "conditions[" + strconv.Itoa(i) + "]"
	if parent == "" {
		return p
	}
	return parent + "." + p
}

// Walk calls fn for every condition (not group) of the tree with its path.
func (r *Rule) Walk(fn func(path string, c *Rule)) {
	var walk func(path string, g *Rule)
	walk = func(path string, g *Rule) {
		for i := range g.Conditions {
			p := RulePath(path, i)
			c := &g.Conditions[i]
			if c.IsGroup() {
				walk(p, c)
				continue
			}
			fn(p, c)
		}
	}
	walk("", r)
}
