package store

import (
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// TestCondPlan checks the shapes condplan.go gives composite trees (the
// people they match are checked on both engines by internal/segment's
// TestComposites): which set drives an AND on SQLite, that the others are
// tested per person, that conditions on one grouping of orders are one
// grouping, and that arguments follow their placeholders.
func TestCondPlan(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	cond := func(field, op string, v any) crm.Rule { return crm.Rule{Field: field, Op: op, Value: v} }
	audience := &crm.Rule{Match: crm.MatchAll, Conditions: []crm.Rule{
		cond("consent.email", crm.OpIsTrue, nil),
		cond("email", crm.OpIsSet, nil),
		{Match: crm.MatchAny, Conditions: []crm.Rule{
			cond("orders.last_date", crm.OpInLast, crm.RelativeDate{Amount: 6, Unit: "month"}),
			cond("tags", crm.OpHasAny, []string{"vip"}),
		}},
		cond("language", crm.OpIn, []string{"fa", "ar"}),
	}}
	q, err := CompileRules(SQLite, nil, audience, now)
	if err != nil {
		t.Fatal(err)
	}
	w := q.Where
	for _, want := range []string{
		"(c.id IN (SELECT o.contact_id FROM orders o WHERE ", // the union drives
		" UNION ALL SELECT t.contact_id FROM contact_tags t ",
		") AND c.language IN (?, ?) AND EXISTS (SELECT 1 FROM contact_consents cs WHERE cs.contact_id = c.id AND ", // consent before email: fewer pass it
		" AND EXISTS (SELECT 1 FROM contact_keys k WHERE k.contact_id = c.id AND ",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("SQLite audience: no %q in\n%s", want, w)
		}
	}
	if len(q.Args) != 5 || q.Args[1] != "vip" || q.Args[2] != "fa" || q.Args[3] != "ar" || q.Args[4] != "email" {
		t.Errorf("SQLite audience: args %v", q.Args)
	}
	if n := strings.Count(w, "?"); n != len(q.Args) {
		t.Errorf("SQLite audience: %d placeholders, %d args", n, len(q.Args))
	}

	// PostgreSQL: the driver is an array, the others are probed.
	q, err = CompileRules(Postgres, nil, audience, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"(c.id = ANY (ARRAY(SELECT o.contact_id FROM orders o WHERE ",
		" UNION ALL SELECT t.contact_id FROM contact_tags t ",
		")) AND c.language IN (?, ?) AND EXISTS (SELECT 1 FROM contact_consents cs WHERE cs.contact_id = c.id AND ",
	} {
		if !strings.Contains(q.Where, want) {
			t.Errorf("PostgreSQL audience: no %q in\n%s", want, q.Where)
		}
	}
	// An OR of sets alone is not a union there (no statistics of it).
	q, err = CompileRules(Postgres, nil, &audience.Conditions[2], now)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(q.Where, "UNION") || strings.Count(q.Where, "c.id IN (") != 2 || !strings.Contains(q.Where, ") OR c.id IN (") {
		t.Errorf("PostgreSQL OR of sets:\n%s", q.Where)
	}

	// One grouping for the total and the last date; the tickets apart.
	lapsed := &crm.Rule{Match: crm.MatchAll, Conditions: []crm.Rule{
		cond("orders.total", crm.OpGte, int64(3000000)),
		cond("orders.last_date", crm.OpNotInLast, crm.RelativeDate{Amount: 90, Unit: "day"}),
		cond("tickets.open", crm.OpEq, float64(0)),
	}}
	for _, d := range []Dialect{SQLite, Postgres} {
		q, err = CompileRules(d, nil, lapsed, now)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(q.Where, "FROM orders o"); n != 1 || !strings.Contains(q.Where, "HAVING (SUM(o.total - o.returned_total) >= ?) AND ((MAX(o.placed_at) < ?))") {
			t.Errorf("%v lapsed: %d groupings in\n%s", d, n, q.Where)
		}
		if len(q.Args) != 2 || q.Args[0] != int64(3000000) {
			t.Errorf("%v lapsed: args %v", d, q.Args)
		}
	}

	// A single condition is as it was: a set, built once.
	q, err = CompileRules(SQLite, nil, &crm.Rule{Match: crm.MatchAll, Conditions: []crm.Rule{cond("tags", crm.OpHasAny, []string{"vip"})}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if q.Where != "(c.id IN (SELECT t.contact_id FROM contact_tags t WHERE (1 = 1) AND t.tag IN (?)))" {
		t.Errorf("one tag: %s", q.Where)
	}
}

func TestJSONPathFilter(t *testing.T) {
	for _, c := range []struct {
		op, value, want string
	}{
		{crm.OpEq, "Tehran", `$[*].city ? (@ like_regex "^tehran$" flag "is")`},
		{crm.OpContains, "Kish Island", `$[*].city ? (@ like_regex "..sh .sland" flag "is")`},
		{crm.OpStartsWith, "St. Louis", `$[*].city ? (@ like_regex "^st\\. lou.s" flag "is")`},
		{crm.OpEndsWith, "(x)", `$[*].city ? (@ like_regex "\\(x\\)$" flag "is")`},
		{crm.OpNeq, "Qom", `$[*].city ? (@ like_regex "^qom$" flag "is")`},
		{crm.OpNeq, "a", ""},     // could be the text of false
		{crm.OpEq, "تهران", ""},  // not ASCII: no prefilter
		{crm.OpEq, "Tru", ""},    // could be the text of true
		{crm.OpEq, `a"b`, ""},    // a quote
		{crm.OpIsSet, "", ""},    // no value
		{crm.OpContains, "", ""}, // no value
	} {
		got, ok := jsonPathFilter("city", &crm.Rule{Field: "city", Op: c.op, Value: c.value})
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%s %q: got %q %v, want %q", c.op, c.value, got, ok, c.want)
		}
	}
}
