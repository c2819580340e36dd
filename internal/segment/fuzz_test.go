package segment_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
)

// fuzzFields are the registered fields plus custom fields of each type,
// with options as a database would give them.
func fuzzFields() []crm.ConditionField {
	out := store.ConditionFieldDefs()
	for i := range out {
		switch out[i].Name {
		case "owner", "lists", "club.tier":
			out[i].Options = []crm.Option{{Value: "1", Label: "one"}, {Value: "2", Label: "two"}}
		}
	}
	return append(out,
		crm.ConditionField{Name: "custom.size", Type: crm.CondChoice, Options: []crm.Option{{Value: "S"}, {Value: "M"}}},
		crm.ConditionField{Name: "custom.since", Type: crm.CondDate},
		crm.ConditionField{Name: "custom.score", Type: crm.CondNumber},
		crm.ConditionField{Name: "custom.price", Type: crm.CondMoney},
		crm.ConditionField{Name: "custom.ok", Type: crm.CondBool},
		crm.ConditionField{Name: "custom.tags", Type: crm.CondList},
		crm.ConditionField{Name: "custom.note", Type: crm.CondText},
	)
}

// FuzzRules: the parser and validator never panic; a tree they accept
// writes back to JSON that reads and checks to the same tree, and
// compiles on both engines with one argument per placeholder.
func FuzzRules(f *testing.F) {
	for _, s := range []string{
		`{"match":"all","conditions":[]}`,
		`{"match":"any","conditions":[{"field":"tags","op":"has_any","value":["vip"]},{"field":"phone","op":"is_set"}]}`,
		`{"match":"all","conditions":[{"field":"orders.count","op":"between","value":[1,"۳"]},{"match":"any","conditions":[{"field":"created","op":"in_last","value":{"amount":30,"unit":"day"}}]}]}`,
		`{"match":"all","conditions":[{"field":"custom.since","op":"between","value":["2026-01-01","2026-02-01"]},{"field":"custom.size","op":"not_in","value":"S"}]}`,
		`{"match":"all","conditions":[{"field":"owner","op":"in","value":[1,"2"]},{"field":"orders.total","op":"gte","value":1e3}]}`,
		`{"match":"all","conditions":[{"field":"name","op":"contains","value":"'); DROP TABLE x;--"}]}`,
		`{"match":"all","conditions":[{"field":"custom.ok","op":"is_true"},{"field":"club.points","op":"lt","value":-1}]}`,
		`[]`, `{"match":1}`, `{"conditions":[{"match":"all"}]}`,
	} {
		f.Add([]byte(s))
	}
	fields := fuzzFields()
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := crm.ParseRules(data)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID {
				t.Fatalf("parse: %v", err)
			}
			return
		}
		v, err := segment.Validate(r, fields)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID || len(crm.ErrorFields(err)) == 0 {
				t.Fatalf("validate: %v", err)
			}
			return
		}
		b1, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := crm.ParseRules(b1)
		if err != nil {
			t.Fatalf("reparse %s: %v", b1, err)
		}
		v2, err := segment.Validate(r2, fields)
		if err != nil {
			t.Fatalf("recheck %s: %v", b1, err)
		}
		if b2, _ := json.Marshal(v2); string(b2) != string(b1) {
			t.Fatalf("round trip:\n%s\n%s", b1, b2)
		}
		for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
			q, err := store.CompileRules(d, fields, &v, now)
			if err != nil {
				t.Fatalf("compile %s on %s: %v", b1, d, err)
			}
			marks := strings.Count(q.Where, "?") - strings.Count(store.Rebind(q.Where), "?") // the placeholders outside literals
			if marks != len(q.Args) {
				t.Fatalf("%s on %s: %d placeholders, %d args: %s", b1, d, marks, len(q.Args), q.Where)
			}
		}
	})
}
