package segment_test

import (
	"slices"
	"testing"

	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestComposites checks the trees the compiler rewrites (internal/store
// condplan.go): an AND driven from one set with the others tested per
// person, an OR of sets as their union, conditions on the same grouping
// of orders merged into one, and, on PostgreSQL, the JSON path prefilter
// of cities — against the hand-built people, on both engines.
func TestComposites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := setup(t, db)
		for _, c := range []struct {
			rules string
			want  []int64
		}{
			// The campaign audience of bench/segments, in two orders.
			{`{"match":"all","conditions":[{"field":"consent.email","op":"is_true"},{"field":"email","op":"is_set"},
				{"match":"any","conditions":[{"field":"orders.last_date","op":"in_last","value":{"amount":6,"unit":"month"}},{"field":"tags","op":"has_any","value":["vip"]}]},
				{"field":"language","op":"in","value":["fa","ar"]}]}`, []int64{ali}},
			{`{"match":"all","conditions":[{"field":"language","op":"in","value":["fa","en"]},
				{"match":"any","conditions":[{"field":"tags","op":"has_any","value":["press"]},{"field":"orders.last_date","op":"in_last","value":{"amount":6,"unit":"month"}}]},
				{"field":"email","op":"is_set"},{"field":"consent.sms","op":"is_true"}]}`, []int64{ali, sara}},
			// A driver, a negated set per person, a condition on c.
			{`{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["vip","press"]},{"field":"tickets.open","op":"eq","value":0}]}`, []int64{sara}},
			{`{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["vip","press"]},{"field":"consent.email","op":"is_false"},{"field":"created","op":"before","value":"2026-06-01"}]}`, []int64{sara}},
			{`{"match":"all","conditions":[{"field":"phone","op":"eq","value":"+989351112222"},{"field":"orders.count","op":"eq","value":0},{"field":"tickets.count","op":"gte","value":1}]}`, []int64{reza}},
			// Two conditions on the same grouping of orders: one grouping.
			{`{"match":"all","conditions":[{"field":"orders.total","op":"gte","value":40000},{"field":"orders.last_date","op":"before","value":"2026-01-01"}]}`, []int64{sara}},
			{`{"match":"all","conditions":[{"field":"orders.count","op":"gte","value":2},{"field":"orders.total","op":"gte","value":500000},{"field":"orders.average","op":"lt","value":200000}]}`, []int64{ali}},
			{`{"match":"all","conditions":[{"field":"orders.count","op":"gte","value":2},{"field":"orders.total","op":"lt","value":500000}]}`, nil},
			{`{"match":"all","conditions":[{"field":"orders.total","op":"lt","value":100000},{"field":"orders.count","op":"lte","value":1}]}`, []int64{sara, reza, bobby, nina}},
			// An OR of sets, with a negated one (not a union).
			{`{"match":"any","conditions":[{"field":"tags","op":"has_any","value":["vip"]},{"field":"orders.count","op":"eq","value":0}]}`, []int64{ali, reza, bobby, nina}},
			{`{"match":"any","conditions":[{"field":"tags","op":"has_any","value":["press"]},{"field":"club.points","op":"gte","value":100},{"field":"company.industry","op":"eq","value":"retail"}]}`, []int64{ali, sara}},
			// An AND inside an OR inside an AND (tested per person).
			{`{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["vip","press","o'neil"]},
				{"match":"any","conditions":[{"match":"all","conditions":[{"field":"orders.count","op":"gte","value":2},{"field":"club.points","op":"gte","value":100}]},
				{"field":"email","op":"ends_with","value":"@shop.ir"}]}]}`, []int64{ali, sara}},
			// Cities: case, i and k, punctuation, several addresses.
			{one("city", "eq", "TEHRAN"), []int64{ali}},
			{one("city", "contains", "IRA"), []int64{sara}},
			{one("city", "starts_with", "dub"), []int64{sara}},
			{one("city", "ends_with", "an"), []int64{ali}},
			{one("city", "eq", "tehran."), nil},
			{one("city", "neq", "shiraz"), []int64{ali, reza, bobby, nina}},
			{one("city", "not_contains", "e"), []int64{sara, reza, bobby, nina}},
			{one("country", "eq", "ae"), []int64{sara}},
			{one("city", "contains", "a"), []int64{ali, sara}},
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
