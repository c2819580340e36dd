package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	ptext "github.com/pivand/pivand/internal/text"
)

// Conditions on the order that started the run. The segment condition
// language tests the run's person ("orders.total" is their lifetime
// spend); these fields test the order of the order.created event that
// enrolled the record, read from the event's payload (no query):
//
//	order.total.<CUR>  money (minor units) in the currency CUR ("order.total.IRR");
//	                   an order in another currency never meets it (not even neq)
//	order.channel      choice: in_store, web, phone, telegram (in, not_in)
//	order.source       text: where the order came from (eq, neq, contains …)
//	order.lines        number: how many lines the order has
//
// They may be used (in the conditions, branches and condition waits,
// mixed freely with the person's conditions) only in workflows whose
// trigger fires on order.created: order_placed, or record_created of
// orders (OrderConditionsAllowed).
const OrderFieldPrefix = "order."

// The order fields (order.total is followed by ".<currency>").
const (
	OrderFieldTotal   = "order.total"
	OrderFieldChannel = "order.channel"
	OrderFieldSource  = "order.source"
	OrderFieldLines   = "order.lines"
)

// MsgOrderConditionsTrigger is the problem of an order condition in a
// workflow whose trigger is not about placed orders.
const MsgOrderConditionsTrigger = "Conditions on the order need a trigger on placed orders (order_placed, or a created order)."

// OrderFieldNames lists the order fields in the builder's order.
var OrderFieldNames = []string{OrderFieldTotal, OrderFieldChannel, OrderFieldSource, OrderFieldLines}

var currencyCode = regexp.MustCompile(`^[A-Za-z]{3}$`)

// IsOrderField reports whether a condition's field is about the order
// that started the run.
func IsOrderField(name string) bool { return strings.HasPrefix(name, OrderFieldPrefix) }

// OrderTotalField is the field of an order's total in currency cur.
func OrderTotalField(cur string) string { return OrderFieldTotal + "." + strings.ToUpper(cur) }

// OrderField splits an order field's name: the field ("order.total",
// "order.channel" …) and, for totals, the currency. ok is false for a
// name that is no order field.
func OrderField(name string) (field, currency string, ok bool) {
	if cur, found := strings.CutPrefix(name, OrderFieldTotal+"."); found {
		if !currencyCode.MatchString(cur) {
			return "", "", false
		}
		return OrderFieldTotal, strings.ToUpper(cur), true
	}
	switch name {
	case OrderFieldChannel, OrderFieldSource, OrderFieldLines:
		return name, "", true
	}
	return "", "", false
}

// OrderFieldType is the condition type (crm.Cond*) of an order field.
func OrderFieldType(field string) string {
	switch field {
	case OrderFieldTotal:
		return crm.CondMoney
	case OrderFieldChannel:
		return crm.CondChoice
	case OrderFieldSource:
		return crm.CondText
	case OrderFieldLines:
		return crm.CondNumber
	}
	return ""
}

// OrderFieldOps lists the operators an order field takes.
func OrderFieldOps(field string) []string {
	switch field {
	case OrderFieldChannel:
		return []string{crm.OpIn, crm.OpNotIn}
	case OrderFieldSource:
		return []string{crm.OpEq, crm.OpNeq, crm.OpContains, crm.OpNotContains, crm.OpStartsWith, crm.OpEndsWith}
	}
	return crm.CondOps[OrderFieldType(field)]
}

// OrderConditionsAllowed reports whether a trigger's runs start from an
// order.created event, whose order the order conditions test.
func OrderConditionsAllowed(t Trigger) bool {
	return t.Kind == TriggerOrderPlaced || (t.Kind == TriggerRecordCreated && t.Object == ObjectOrder)
}

// HasOrderConditions reports whether a condition tree tests the order.
func HasOrderConditions(r *crm.Rule) bool {
	if r == nil {
		return false
	}
	if !r.IsGroup() {
		return IsOrderField(r.Field)
	}
	for i := range r.Conditions {
		if HasOrderConditions(&r.Conditions[i]) {
			return true
		}
	}
	return false
}

// OrderFacts is what order conditions test.
type OrderFacts struct {
	Total    int64
	Currency string
	Channel  string
	Source   string
	Lines    int
}

// orderFactsOf reads an order.created event's facts (nil for another event).
func orderFactsOf(ev *crm.Event) *OrderFacts {
	if ev == nil || ev.Type != crm.EventOrderCreated || len(ev.Payload) == 0 {
		return nil
	}
	var o struct {
		Total    int64             `json:"total"`
		Currency string            `json:"currency"`
		Channel  string            `json:"channel"`
		Source   string            `json:"source"`
		Lines    []json.RawMessage `json:"lines"`
	}
	if json.Unmarshal(ev.Payload, &o) != nil {
		return nil
	}
	return &OrderFacts{Total: o.Total, Currency: o.Currency, Channel: o.Channel, Source: o.Source, Lines: len(o.Lines)}
}

// runOrderFacts reads the facts of the event that started a run (one
// read, only for trees with order conditions); nil when the run was not
// started by an order.created event.
func runOrderFacts(ctx context.Context, tx *store.Tx, eventID int64) (*OrderFacts, error) {
	if eventID <= 0 {
		return nil, nil
	}
	evs, err := tx.EventsAfter(ctx, eventID-1, 1)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 || evs[0].ID != eventID {
		return nil, nil
	}
	return orderFactsOf(&evs[0]), nil
}

// checkOrderLeaf checks one order condition at path and normalises its
// value: int64 (or [2]int64) for totals, float64 (or [2]float64) for
// lines, []string for channels, string for sources.
func checkOrderLeaf(v *crm.Validation, path string, r *crm.Rule, allowed bool) {
	at := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	if !allowed {
		v.Add(at("field"), "%s", MsgOrderConditionsTrigger)
		return
	}
	field, cur, ok := OrderField(r.Field)
	if !ok {
		v.Add(at("field"), "Choose one of order.total.<currency> (like order.total.IRR), order.channel, order.source, order.lines.")
		return
	}
	if field == OrderFieldTotal {
		r.Field = OrderTotalField(cur)
	}
	ops := OrderFieldOps(field)
	if !contains(ops, r.Op) {
		v.Add(at("op"), "Choose one of %s.", strings.Join(ops, ", "))
		return
	}
	switch field {
	case OrderFieldTotal, OrderFieldLines:
		num := func(x any) (float64, bool) {
			f, ok := toFloat(x)
			if !ok || f < 0 || f > 1e15 || (field == OrderFieldTotal && f != math.Trunc(f)) {
				return 0, false
			}
			return f, true
		}
		if r.Op == crm.OpBetween {
			l, ok := r.Value.([]any)
			if !ok || len(l) != 2 {
				v.Add(at("value"), "Give two numbers: from and to.")
				return
			}
			a, okA := num(l[0])
			b, okB := num(l[1])
			if !okA || !okB || a > b {
				v.Add(at("value"), "Give two numbers, the first not above the second.")
				return
			}
			if field == OrderFieldTotal {
				r.Value = [2]int64{int64(a), int64(b)}
			} else {
				r.Value = [2]float64{a, b}
			}
			return
		}
		f, ok := num(r.Value)
		if !ok {
			if field == OrderFieldTotal {
				v.Add(at("value"), "A whole amount in the currency's smallest unit, 0 or more.")
			} else {
				v.Add(at("value"), "A number, 0 or more.")
			}
			return
		}
		if field == OrderFieldTotal {
			r.Value = int64(f)
		} else {
			r.Value = f
		}
	case OrderFieldChannel:
		var out []string
		switch x := r.Value.(type) {
		case string:
			out = []string{x}
		case []string:
			out = x
		case []any:
			for _, e := range x {
				s, _ := e.(string)
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			v.Add(at("value"), "Choose at least one channel.")
			return
		}
		for _, c := range out {
			if !contains(crm.OrderChannels, c) {
				v.Add(at("value"), "Channels are %s.", strings.Join(crm.OrderChannels, ", "))
				return
			}
		}
		r.Value = out
	case OrderFieldSource:
		s, _ := r.Value.(string)
		s = strings.TrimSpace(s)
		if s == "" {
			v.Add(at("value"), "Required.")
			return
		}
		if utf8.RuneCountInString(s) > MaxNameLength {
			v.Add(at("value"), "At most %d characters.", MaxNameLength)
			return
		}
		r.Value = s
	}
}

// toFloat reads a number from a condition's value: a JSON number, a Go
// number, or text in any digits ("5,000,000", "۵۰۰۰۰۰۰").
func toFloat(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case string:
		if i, err := ptext.ParseInt(n); err == nil {
			return float64(i), true
		}
		var f float64
		if _, err := fmt.Sscan(ptext.ToASCIIDigits(strings.TrimSpace(n)), &f); err == nil {
			return f, true
		}
	}
	return 0, false
}

// orderLeafMet evaluates one order condition against the facts (nil:
// the run has no order, so no order condition is met).
func orderLeafMet(r *crm.Rule, f *OrderFacts) bool {
	if f == nil {
		return false
	}
	field, cur, ok := OrderField(r.Field)
	if !ok {
		return false
	}
	switch field {
	case OrderFieldTotal:
		if !strings.EqualFold(f.Currency, cur) {
			return false
		}
		return compareNumber(r.Op, float64(f.Total), r.Value)
	case OrderFieldLines:
		return compareNumber(r.Op, float64(f.Lines), r.Value)
	case OrderFieldChannel:
		in := false
		switch x := r.Value.(type) {
		case []string:
			in = contains(x, f.Channel)
		case []any:
			for _, e := range x {
				if s, _ := e.(string); s == f.Channel {
					in = true
				}
			}
		}
		if r.Op == crm.OpNotIn {
			return !in
		}
		return in
	case OrderFieldSource:
		want, _ := r.Value.(string)
		have, want := strings.ToLower(strings.TrimSpace(f.Source)), strings.ToLower(strings.TrimSpace(want))
		switch r.Op {
		case crm.OpEq:
			return have == want
		case crm.OpNeq:
			return have != want
		case crm.OpContains:
			return strings.Contains(have, want)
		case crm.OpNotContains:
			return !strings.Contains(have, want)
		case crm.OpStartsWith:
			return strings.HasPrefix(have, want)
		case crm.OpEndsWith:
			return strings.HasSuffix(have, want)
		}
	}
	return false
}

func compareNumber(op string, have float64, value any) bool {
	if op == crm.OpBetween {
		var lo, hi float64
		switch x := value.(type) {
		case [2]int64:
			lo, hi = float64(x[0]), float64(x[1])
		case [2]float64:
			lo, hi = x[0], x[1]
		case []any:
			if len(x) != 2 {
				return false
			}
			a, okA := toFloat(x[0])
			b, okB := toFloat(x[1])
			if !okA || !okB {
				return false
			}
			lo, hi = a, b
		default:
			return false
		}
		return have >= lo && have <= hi
	}
	want, ok := toFloat(value)
	if !ok {
		return false
	}
	switch op {
	case crm.OpEq:
		return have == want
	case crm.OpNeq:
		return have != want
	case crm.OpGt:
		return have > want
	case crm.OpGte:
		return have >= want
	case crm.OpLt:
		return have < want
	case crm.OpLte:
		return have <= want
	}
	return false
}

// evalRule checks a condition tree with order conditions against the
// run's person and order: the order's conditions from the facts, each
// largest part without them in one query (meets).
func (s *Service) evalRule(ctx context.Context, tx *store.Tx, r *crm.Rule, contactID int64, facts *OrderFacts) (bool, error) {
	if !HasOrderConditions(r) {
		if r.IsGroup() {
			return s.meets(ctx, tx, r, contactID)
		}
		return s.meets(ctx, tx, &crm.Rule{Match: crm.MatchAll, Conditions: []crm.Rule{*r}}, contactID)
	}
	if !r.IsGroup() {
		return orderLeafMet(r, facts), nil
	}
	anyOf := r.Match == crm.MatchAny
	for i := range r.Conditions {
		ok, err := s.evalRule(ctx, tx, &r.Conditions[i], contactID, facts)
		if err != nil {
			return false, err
		}
		if ok && anyOf {
			return true, nil
		}
		if !ok && !anyOf {
			return false, nil
		}
	}
	return !anyOf || len(r.Conditions) == 0, nil
}

// meetsRun checks a condition tree against a run's person and, when the
// tree tests the order, the order of the event that started the run
// (facts: that event's, when at hand; else read once).
func (s *Service) meetsRun(ctx context.Context, tx *store.Tx, rule *crm.Rule, contactID, eventID int64, facts *OrderFacts) (bool, error) {
	if !HasOrderConditions(rule) {
		return s.meets(ctx, tx, rule, contactID)
	}
	if facts == nil {
		var err error
		if facts, err = runOrderFacts(ctx, tx, eventID); err != nil {
			return false, err
		}
	}
	return s.evalRule(ctx, tx, rule, contactID, facts)
}
