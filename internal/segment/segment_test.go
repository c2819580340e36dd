package segment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// now is the fixed clock of these tests: relative dates count back from it.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

var sys = context.Background()

// The people of the hand-built data set.
const (
	ali   = 1 // Tehran, vip, owner 1, Acme, 3 orders, Gold, 2 tickets (1 open), champion
	sara  = 2 // press, 1 order (and a returned one), Silver with 0 points, at risk
	reza  = 3 // phone only, no orders, a closed ticket, not scored
	bobby = 4 // a name and tag made of SQL
	nina  = 5 // nothing but a name and a created date
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(10 * time.Hour)
}

type fixture struct {
	t   *testing.T
	db  *store.DB
	svc *segment.Service
}

func setup(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	db.Now = func() time.Time { return now }
	f := &fixture{t: t, db: db, svc: segment.New(db, segment.Options{})}
	f.exec(`INSERT INTO users (id, email, name, role, created_at, updated_at) VALUES (1, 'owner@shop.test', 'Owner', 'admin', ?, ?), (2, 'rep@shop.test', 'Rep', 'sales', ?, ?)`, now, now, now, now)
	type person struct {
		id                          int64
		first, last, lang, source   string
		addresses, custom           string
		owner                       any
		created                     time.Time
		emails, phones, tags, names []string
		consents                    map[string]string
	}
	people := []person{
		{id: ali, first: "Ali", last: "Karimi", lang: "fa", source: "Instagram", addresses: `[{"label":"home","city":"Tehran","country":"IR"}]`,
			custom: `{"size":"L","since":"2025-01-01","score":7,"newsletter":true,"interests":["tea","coffee"]}`, owner: int64(1), created: day("2026-06-10"),
			emails: []string{"ali@example.com"}, phones: []string{"+989121234567"}, tags: []string{"vip"}, consents: map[string]string{"email": "granted", "sms": "granted"}},
		{id: sara, first: "Sara", last: "Moradi", lang: "en", source: "web", addresses: `[{"label":"work","city":"Shiraz","country":"IR"},{"label":"home","city":"Dubai","country":"AE"}]`,
			custom: `{"size":"M","score":3.5,"newsletter":false,"interests":["tea"]}`, owner: int64(2), created: day("2026-01-01"),
			emails: []string{"sara@shop.ir"}, tags: []string{"press"}, consents: map[string]string{"email": "withdrawn", "sms": "granted"}},
		{id: reza, first: "رضا", last: "احمدی", addresses: `[]`, custom: `{}`, created: day("2025-06-15"), phones: []string{"+989351112222"}},
		{id: bobby, first: "Robert'); DROP TABLE contacts;--", last: "Tables", addresses: `[]`, custom: `{"size":"x' OR '1'='1"}`, created: day("2026-06-14"),
			emails: []string{"bobby@x.com"}, tags: []string{"o'neil", "100%_sure"}},
		{id: nina, first: "Nina", addresses: `[]`, custom: `{}`, created: day("2024-02-29")},
	}
	for _, p := range people {
		labeled := func(vs []string) string {
			out := []crm.Labeled{}
			for _, v := range vs {
				out = append(out, crm.Labeled{Label: "work", Value: v})
			}
			b, _ := json.Marshal(out)
			return string(b)
		}
		f.exec(`INSERT INTO contacts (id, first_name, last_name, sort_name, emails, phones, language, source, addresses, custom, owner_id, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.id, p.first, p.last, strings.ToLower(p.first), labeled(p.emails), labeled(p.phones),
			p.lang, p.source, p.addresses, p.custom, p.owner, p.created, p.created)
		f.exec(`INSERT INTO contact_keys (kind, value, contact_id) VALUES ('name', ?, ?)`, strings.ToLower(p.first+" "+p.last), p.id)
		for _, e := range p.emails {
			f.exec(`INSERT INTO contact_keys (kind, value, contact_id) VALUES ('email', ?, ?)`, e, p.id)
		}
		for _, ph := range p.phones {
			f.exec(`INSERT INTO contact_keys (kind, value, contact_id) VALUES ('phone', ?, ?)`, ph, p.id)
		}
		for _, tg := range p.tags {
			f.exec(`INSERT INTO contact_tags (tag, contact_id) VALUES (?, ?)`, tg, p.id)
		}
		for ch, st := range p.consents {
			f.exec(`INSERT INTO contact_consents (contact_id, channel, status, source, changed_at) VALUES (?, ?, ?, 'manual', ?)`, p.id, ch, st, now)
		}
	}
	f.exec(`INSERT INTO companies (id, name, industry, created_at, updated_at) VALUES (1, 'Acme Tea', 'Retail', ?, ?), (2, 'Bolt', 'Logistics', ?, ?)`, now, now, now, now)
	f.exec(`INSERT INTO contact_companies (contact_id, company_id, created_at) VALUES (1, 1, ?), (2, 2, ?)`, now, now)

	// Orders: Ali 3 (100, 200, 300 thousand; one partly returned by 50),
	// Sara 1 of 50 thousand and one fully returned.
	order := func(id, contact int64, status string, total, returned int64, placed string, skus ...string) {
		f.exec(`INSERT INTO orders (id, contact_id, status, currency, subtotal, total, returned_total, channel, placed_at, created_at, updated_at)
			VALUES (?, ?, ?, 'IRR', ?, ?, ?, 'web', ?, ?, ?)`, id, contact, status, total, total, returned, day(placed), now, now)
		for i, sku := range skus {
			f.exec(`INSERT INTO order_lines (id, order_id, sku, name, quantity, unit_price, total, returned_quantity) VALUES (?, ?, ?, ?, 1, 1, 1, ?)`,
				id*10+int64(i), id, sku, sku, map[bool]int{true: 1}[status == "returned"])
		}
	}
	order(1, ali, "placed", 100000, 0, "2026-03-01", "TEA-1")
	order(2, ali, "partially_returned", 200000, 50000, "2026-05-20", "CUP-2")
	order(3, ali, "placed", 300000, 0, "2026-06-01", "TEA-1", "POT-3")
	order(4, sara, "placed", 50000, 0, "2025-12-01", "TEA-1")
	order(5, sara, "returned", 900000, 900000, "2026-06-10", "GOLD-9")
	order(6, 0, "placed", 70000, 0, "2026-06-11", "TEA-1") // a detached order

	// The club: Gold and Silver tiers.
	f.exec(`INSERT INTO club_programs (id, name, currency, earn_points, earn_amount, rounding, tier_window, downgrade, created_at, updated_at)
		VALUES (1, 'Club', 'IRR', 1, 1000, 'down', 'rolling_12m', 'never', ?, ?)`, now, now)
	f.exec(`INSERT INTO club_tiers (id, program_id, name, threshold, multiplier, created_at, updated_at) VALUES (1, 1, 'Silver', 0, 100, ?, ?), (2, 1, 'Gold', 1000000, 200, ?, ?)`, now, now, now, now)
	member := func(id, contact, tier, points int64) {
		f.exec(`INSERT INTO club_members (id, program_id, contact_id, number, card_code, token_hash, referral_code, tier_id, status, enrolled_via, available, created_at, updated_at)
			VALUES (?, 1, ?, ?, ?, ?, ?, ?, 'active', 'staff', ?, ?, ?)`, id, contact, fmt.Sprint("N", id), fmt.Sprint("C", id), fmt.Sprint("T", id), fmt.Sprint("R", id), tier, points, now, now)
	}
	member(1, ali, 2, 500)
	member(2, sara, 1, 0)

	// The desk: Ali has an open and a solved ticket, Reza a closed one.
	ticket := func(id, contact int64, status string) {
		f.exec(`INSERT INTO desk_tickets (id, ref, subject, contact_id, channel, priority, tier, status, created_at, updated_at)
			VALUES (?, ?, 'Help', ?, 'email', 'normal', 'standard', ?, ?, ?)`, id, fmt.Sprint("REF", id), contact, status, now, now)
	}
	ticket(1, ali, "open")
	ticket(2, ali, "solved")
	ticket(3, reza, "closed")

	// The analytics: a finished run scored Ali and Sara.
	err := db.Write(sys, func(tx *store.Tx) error {
		run := &store.AnalyticsRun{Status: "done", Via: "test"}
		if err := tx.InsertAnalyticsRun(sys, run); err != nil {
			return err
		}
		if err := tx.CreateScoreTable(sys, run.ID); err != nil {
			return err
		}
		clv := func(v int64) *int64 { return &v }
		if err := tx.InsertCustomerScores(sys, []store.CustomerScore{
			{RunID: run.ID, ContactID: ali, Currency: "IRR", Orders: 3, TotalSpent: 550000, FirstOrderAt: now, LastOrderAt: now, Cell: "555", Segment: "champions", ChurnBand: "low", CLV: clv(900000)},
			{RunID: run.ID, ContactID: sara, Currency: "IRR", Orders: 1, TotalSpent: 50000, FirstOrderAt: now, LastOrderAt: now, Cell: "211", Segment: "at_risk", ChurnBand: "high", CLV: clv(10000)},
		}); err != nil {
			return err
		}
		return tx.SetCurrentAnalyticsRun(sys, run.ID)
	})
	if err != nil {
		t.Fatalf("analytics run: %v", err)
	}
	f.exec(`INSERT INTO custom_fields (entity, key, label, type, options, created_at, updated_at) VALUES
		('contact', 'size', 'Size', 'select', '["S","M","L","x'' OR ''1''=''1"]', ?, ?),
		('contact', 'since', 'Member since', 'date', '[]', ?, ?),
		('contact', 'score', 'Score', 'number', '[]', ?, ?),
		('contact', 'newsletter', 'Newsletter', 'boolean', '[]', ?, ?),
		('contact', 'interests', 'Interests', 'multi_select', '["tea","coffee"]', ?, ?)`, now, now, now, now, now, now, now, now, now, now)
	return f
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	err := f.db.Write(sys, func(tx *store.Tx) error {
		_, err := tx.Exec(sys, q, args...)
		return err
	})
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

// match returns the ids of the people a tree in JSON matches.
func (f *fixture) match(rules string) ([]int64, error) {
	var ids []int64
	err := f.db.Read(sys, func(tx *store.Tx) error {
		r, err := f.svc.Check(sys, tx, []byte(rules))
		if err != nil {
			return err
		}
		q, err := tx.CompileRules(sys, &r, tx.Now())
		if err != nil {
			return err
		}
		ids, err = tx.MatchingIDs(sys, q, 0, 1000)
		if err != nil {
			return err
		}
		n, err := tx.CountMatching(sys, q)
		if err == nil && n != int64(len(ids)) {
			return fmt.Errorf("count %d, but %d ids", n, len(ids))
		}
		return err
	})
	return ids, err
}

func one(field, op string, value any) string {
	c := map[string]any{"field": field, "op": op}
	if value != nil {
		c["value"] = value
	}
	b, _ := json.Marshal(map[string]any{"match": "all", "conditions": []any{c}})
	return string(b)
}

type matchCase struct {
	field, op string
	value     any
	want      []int64
}

func rel(n int, unit string) map[string]any { return map[string]any{"amount": n, "unit": unit} }

// TestFields checks each field family and operator against the
// hand-built people.
func TestFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		cases := []matchCase{
			// The person.
			{"name", "contains", "kari", []int64{ali}},
			{"name", "eq", "ALI karimi", []int64{ali}},
			{"name", "starts_with", "رضا", []int64{reza}},
			{"name", "not_contains", "a", []int64{reza}},
			{"email", "ends_with", "@example.com", []int64{ali}},
			{"email", "eq", "SARA@shop.ir", []int64{sara}},
			{"email", "is_set", nil, []int64{ali, sara, bobby}},
			{"email", "is_not_set", nil, []int64{reza, nina}},
			{"email", "neq", "sara@shop.ir", []int64{ali, reza, bobby, nina}},
			{"phone", "is_set", nil, []int64{ali, reza}},
			{"phone", "starts_with", "+98935", []int64{reza}},
			{"language", "in", []string{"fa", "en"}, []int64{ali, sara}},
			{"language", "not_in", []string{"fa"}, []int64{sara, reza, bobby, nina}},
			{"language", "is_not_set", nil, []int64{reza, bobby, nina}},
			{"source", "eq", "instagram", []int64{ali}},
			{"city", "eq", "dubai", []int64{sara}},
			{"country", "eq", "IR", []int64{ali, sara}},
			{"country", "neq", "AE", []int64{ali, reza, bobby, nina}},
			{"tags", "has_any", []string{"VIP", "press"}, []int64{ali, sara}},
			{"tags", "has_all", []string{"vip", "press"}, nil},
			{"tags", "has_none", []string{"vip"}, []int64{sara, reza, bobby, nina}},
			{"tags", "is_not_set", nil, []int64{reza, nina}},
			{"owner", "in", []int64{1}, []int64{ali}},
			{"owner", "not_in", []int64{1}, []int64{sara, reza, bobby, nina}},
			{"owner", "is_not_set", nil, []int64{reza, bobby, nina}},
			{"consent.email", "is_true", nil, []int64{ali}},
			{"consent.email", "is_false", nil, []int64{sara, reza, bobby, nina}},
			{"consent.sms", "is_true", nil, []int64{ali, sara}},
			// Dates, absolute and relative to the fixed clock (2026-06-15 12:00).
			{"created", "in_last", rel(7, "day"), []int64{ali, bobby}},
			{"created", "in_last", rel(1, "year"), []int64{ali, sara, bobby}},
			{"created", "not_in_last", rel(6, "month"), []int64{reza, nina}},
			{"created", "not_in_last", rel(5, "month"), []int64{sara, reza, nina}},
			{"created", "before", "2025-06-15", []int64{nina}},
			{"created", "on", "2025-06-15", []int64{reza}},
			{"created", "after", "2026-06-10", []int64{bobby}},
			{"created", "between", []string{"2026-01-01", "2026-06-10"}, []int64{ali, sara}},
			{"updated", "in_last", rel(2, "week"), []int64{ali, bobby}},
			// Companies.
			{"company", "in", []int64{1}, []int64{ali}},
			{"company", "is_not_set", nil, []int64{reza, bobby, nina}},
			{"company.name", "contains", "acme", []int64{ali}},
			{"company.industry", "eq", "logistics", []int64{sara}},
			// Orders (a fully returned order does not count; spend is net).
			{"orders.count", "gte", 3, []int64{ali}},
			{"orders.count", "eq", 1, []int64{sara}},
			{"orders.count", "eq", 0, []int64{reza, bobby, nina}},
			{"orders.count", "lt", 2, []int64{sara, reza, bobby, nina}},
			{"orders.count", "between", []int{0, 1}, []int64{sara, reza, bobby, nina}},
			{"orders.total", "gt", 500000, []int64{ali}},
			{"orders.total", "eq", 550000, []int64{ali}},
			{"orders.total", "lte", 50000, []int64{sara, reza, bobby, nina}},
			{"orders.average", "gte", 100000, []int64{ali}},
			{"orders.average", "lt", 100000, []int64{sara}},
			{"orders.last_date", "in_last", rel(30, "day"), []int64{ali}},
			{"orders.last_date", "not_in_last", rel(3, "month"), []int64{sara}},
			{"orders.last_date", "is_not_set", nil, []int64{reza, bobby, nina}},
			{"orders.first_date", "before", "2026-01-01", []int64{sara}},
			{"orders.sku", "has_any", []string{"POT-3"}, []int64{ali}},
			{"orders.sku", "has_any", []string{"GOLD-9"}, nil},
			{"orders.sku", "has_all", []string{"TEA-1", "CUP-2"}, []int64{ali}},
			{"orders.sku", "has_none", []string{"TEA-1"}, []int64{reza, bobby, nina}},
			// The club.
			{"club.member", "is_set", nil, []int64{ali, sara}},
			{"club.tier", "in", []int64{2}, []int64{ali}},
			{"club.tier", "not_in", []int64{2}, []int64{sara, reza, bobby, nina}},
			{"club.points", "gte", 100, []int64{ali}},
			{"club.points", "eq", 0, []int64{sara, reza, bobby, nina}},
			// The desk.
			{"tickets.count", "gte", 1, []int64{ali, reza}},
			{"tickets.open", "gte", 1, []int64{ali}},
			{"tickets.open", "eq", 0, []int64{sara, reza, bobby, nina}},
			// The analytics.
			{"analytics.segment", "in", []string{"champions"}, []int64{ali}},
			{"analytics.segment", "not_in", []string{"champions"}, []int64{sara, reza, bobby, nina}},
			{"analytics.segment", "is_not_set", nil, []int64{reza, bobby, nina}},
			{"analytics.churn_band", "in", []string{"high", "medium"}, []int64{sara}},
			{"analytics.clv", "gte", 100000, []int64{ali}},
			{"analytics.clv", "lt", 100000, []int64{sara}},
			// Custom fields by type.
			{"custom.size", "in", []string{"L", "M"}, []int64{ali, sara}},
			{"custom.size", "is_not_set", nil, []int64{reza, nina}},
			{"custom.since", "before", "2025-06-01", []int64{ali}},
			{"custom.since", "in_last", rel(1, "year"), nil},
			{"custom.since", "in_last", rel(2, "year"), []int64{ali}},
			{"custom.since", "is_not_set", nil, []int64{sara, reza, bobby, nina}},
			{"custom.score", "gt", 3, []int64{ali, sara}},
			{"custom.score", "between", []string{"۳", "۵"}, []int64{sara}},
			{"custom.newsletter", "is_true", nil, []int64{ali}},
			{"custom.newsletter", "is_false", nil, []int64{sara, reza, bobby, nina}},
			{"custom.interests", "has_any", []string{"coffee"}, []int64{ali}},
			{"custom.interests", "has_all", []string{"tea", "coffee"}, []int64{ali}},
			{"custom.interests", "has_none", []string{"coffee"}, []int64{sara, reza, bobby, nina}},
		}
		for _, c := range cases {
			got, err := f.match(one(c.field, c.op, c.value))
			if err != nil {
				t.Errorf("%s %s %v: %v", c.field, c.op, c.value, err)
				continue
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s %s %v: got %v, want %v", c.field, c.op, c.value, got, c.want)
			}
		}
		// Every registered field has a case.
		tested := map[string]bool{}
		for _, c := range cases {
			tested[c.field] = true
		}
		for _, n := range store.ConditionFieldNames() {
			// campaigns.* are tested in campaigns_test.go, lead.score in
			// internal/leadform (TestScoreCondition).
			if !tested[n] && n != "lists" && !strings.HasPrefix(n, "consent.") && !strings.HasPrefix(n, "campaigns.") && n != "lead.score" {
				t.Errorf("field %s has no test case", n)
			}
		}
	})
}

// TestGroups checks AND/OR nesting and an empty tree (everyone).
func TestGroups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		for _, c := range []struct {
			rules string
			want  []int64
		}{
			{`{"match":"all","conditions":[]}`, []int64{ali, sara, reza, bobby, nina}},
			{`{"match":"any","conditions":[{"field":"tags","op":"has_any","value":["vip"]},{"field":"phone","op":"is_set"}]}`, []int64{ali, reza}},
			{`{"match":"all","conditions":[{"field":"email","op":"is_set"},
				{"match":"any","conditions":[{"field":"orders.count","op":"eq","value":0},{"field":"analytics.churn_band","op":"in","value":["high"]}]}]}`, []int64{sara, bobby}},
			{`{"match":"any","conditions":[{"match":"all","conditions":[{"field":"language","op":"in","value":["fa"]},{"field":"club.tier","op":"in","value":[2]}]},
				{"match":"all","conditions":[{"field":"language","op":"is_not_set"},{"field":"tickets.count","op":"gte","value":1}]}]}`, []int64{ali, reza}},
			{`{"match":"all","conditions":[{"match":"any","conditions":[{"match":"all","conditions":[{"field":"name","op":"contains","value":"a"}]}]},{"field":"created","op":"in_last","value":{"amount":1,"unit":"years"}}]}`, []int64{ali, sara, bobby}},
		} {
			got, err := f.match(c.rules)
			if err != nil {
				t.Errorf("%s: %v", c.rules, err)
				continue
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.rules, got, c.want)
			}
		}
	})
}

// TestInjection: values made of SQL stay values.
func TestInjection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		for _, c := range []matchCase{
			{"name", "contains", "'); DROP TABLE contacts;--", []int64{bobby}},
			{"name", "eq", "x' OR '1'='1", nil},
			{"email", "eq", "' OR 1=1 --", nil},
			{"tags", "has_any", []string{"o'neil"}, []int64{bobby}},
			{"tags", "has_any", []string{"x') OR 1=1 OR ('"}, nil},
			{"custom.size", "in", []string{"x' OR '1'='1"}, []int64{bobby}},
			{"city", "contains", "%", nil},
			{"city", "contains", "_", nil},
			{"source", "contains", `\`, nil},
			{"company.name", "eq", "Acme Tea'; DELETE FROM companies; --", nil},
		} {
			got, err := f.match(one(c.field, c.op, c.value))
			if err != nil {
				t.Errorf("%s %s %v: %v", c.field, c.op, c.value, err)
				continue
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s %s %v: got %v, want %v", c.field, c.op, c.value, got, c.want)
			}
		}
		got, _ := f.match(`{"match":"all","conditions":[]}`)
		if len(got) != 5 {
			t.Errorf("people after the attempts: %v", got)
		}
		// A percent in a tag is matched literally, not as a wildcard.
		if got, _ := f.match(one("tags", "has_any", []string{"100%_sure"})); !slices.Equal(got, []int64{bobby}) {
			t.Errorf("tag with wildcards: %v", got)
		}
		// Field names select registry entries; they are never SQL.
		_, err := f.match(one("c.id) OR (1=1", "eq", "x"))
		if crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("a field name made of SQL: %v", err)
		}
	})
}

// TestInvalid: every problem is named by its path.
func TestInvalid(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		for _, c := range []struct {
			rules string
			want  []string // the fields named
		}{
			{`{"match":"some","conditions":[]}`, []string{"match"}},
			{`{"match":"all","conditions":[{"field":"shoe_size","op":"eq","value":"9"}]}`, []string{"conditions[0].field"}},
			{`{"match":"all","conditions":[{"field":"email","op":"gt","value":"a"}]}`, []string{"conditions[0].op"}},
			{`{"match":"all","conditions":[{"field":"email","op":"is_set"},{"field":"orders.count","op":"gte","value":"many"}]}`, []string{"conditions[1].value"}},
			{`{"match":"all","conditions":[{"field":"orders.total","op":"gte","value":1.5}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"created","op":"in_last","value":{"amount":0,"unit":"day"}}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"created","op":"in_last","value":{"amount":3,"unit":"fortnight"}}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"created","op":"before","value":"31/01/2026"}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"created","op":"between","value":["2026-02-01","2026-01-01"]}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"language","op":"in","value":["xx"]}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"club.tier","op":"in","value":[99]}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"email","op":"is_set","value":"x"}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"email","op":"eq"}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"tags","op":"has_any","value":[]}]}`, []string{"conditions[0].value"}},
			{`{"match":"all","conditions":[{"field":"email","op":"is_set"},{"match":"any","conditions":[{"field":"x","op":"eq","value":1},{"match":"all","conditions":[]}]}]}`,
				[]string{"conditions[1].conditions[0].field", "conditions[1].conditions[1].conditions"}},
			{`{"match":"all","conditions":[{"field":"owner"}]}`, []string{"conditions[0].op"}},
			{`{"match":"all","conditions":[{"op":"eq"}]}`, []string{"conditions[0].field"}},
			{`{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["a"],"extra":1}]}`, []string{"rules"}},
			{`[1,2]`, []string{"rules"}},
			{`{"match":"all"`, []string{"rules"}},
			{``, []string{"rules"}},
		} {
			_, err := f.match(c.rules)
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Errorf("%s: %v, want invalid", c.rules, err)
				continue
			}
			fields := crm.ErrorFields(err)
			for _, w := range c.want {
				if fields[w] == "" {
					t.Errorf("%s: fields %v, want %s named", c.rules, fields, w)
				}
			}
			if len(fields) != len(c.want) {
				t.Errorf("%s: fields %v, want only %v", c.rules, fields, c.want)
			}
		}
		// Too deep, too many.
		deep := `{"field":"email","op":"is_set"}`
		for range crm.MaxRuleDepth + 2 {
			deep = `{"match":"all","conditions":[` + deep + `]}`
		}
		if _, err := f.match(deep); crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("too deep: %v", err)
		}
		many := strings.Repeat(`{"field":"email","op":"is_set"},`, crm.MaxRuleConditions+1)
		if _, err := f.match(`{"match":"any","conditions":[` + strings.TrimSuffix(many, ",") + `]}`); crm.ErrorFields(err)["conditions"] == "" {
			t.Errorf("too many: %v", err)
		}
	})
}
