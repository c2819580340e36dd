package customfield

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
)

func TestValue(t *testing.T) {
	sel := &crm.CustomField{Type: crm.FieldSelect, Options: []string{"شمال", "South"}}
	multi := &crm.CustomField{Type: crm.FieldMultiSelect, Options: []string{"a", "b"}}
	for _, tc := range []struct {
		f    *crm.CustomField
		in   any
		want any
		bad  bool
	}{
		{&crm.CustomField{Type: crm.FieldNumber}, "1,250.5", 1250.5, false},
		{&crm.CustomField{Type: crm.FieldMoney, Currency: "IRR"}, "۲۵۰۰", int64(2500), false},
		{&crm.CustomField{Type: crm.FieldMoney, Currency: "IRR"}, 2.5, nil, true},
		{&crm.CustomField{Type: crm.FieldDate}, "۲۰۲۵-۰۳-۲۱", "2025-03-21", false},
		{&crm.CustomField{Type: crm.FieldDate}, "2025-02-30", nil, true},
		{&crm.CustomField{Type: crm.FieldBoolean}, "خیر", false, false},
		{&crm.CustomField{Type: crm.FieldBoolean}, "perhaps", nil, true},
		{sel, " شمال ", "شمال", false},
		{sel, "East", nil, true},
		{multi, "a، b, a", []string{"a", "b"}, false},
		{multi, []any{"a", 3.0}, nil, true},
		{&crm.CustomField{Type: crm.FieldEmail}, "Ali@Example.COM", "ali@example.com", false},
		{&crm.CustomField{Type: crm.FieldPhone}, "09121234567", "+989121234567", false},
		{&crm.CustomField{Type: crm.FieldURL}, "example.com/x", "https://example.com/x", false},
		{&crm.CustomField{Type: crm.FieldURL}, "javascript:alert(1)", nil, true},
		{&crm.CustomField{Type: crm.FieldText}, strings.Repeat("x", MaxText+1), nil, true},
		{&crm.CustomField{Type: crm.FieldText}, "  ", nil, false},
	} {
		got, err := Value(tc.f, tc.in, "IR")
		if (err != nil) != tc.bad {
			t.Errorf("%s %q: err = %v", tc.f.Type, tc.in, err)
			continue
		}
		if !tc.bad {
			if gs, ok := got.([]string); ok {
				if strings.Join(gs, "|") != strings.Join(tc.want.([]string), "|") {
					t.Errorf("%s %q = %v", tc.f.Type, tc.in, got)
				}
			} else if got != tc.want {
				t.Errorf("%s %q = %#v, want %#v", tc.f.Type, tc.in, got, tc.want)
			}
		}
	}
}

func TestCheckAndDefinition(t *testing.T) {
	fields := []*crm.CustomField{{Key: "budget", Label: "Budget", Type: crm.FieldMoney, Currency: "USD", Required: true},
		{Key: "note", Label: "Note", Type: crm.FieldText}}
	var v crm.Validation
	out := Check(&v, map[string]any{"note": "hi", "nope": 1.0}, fields, "IR", true)
	fs := crm.ErrorFields(v.Err())
	if fs["custom.nope"] == "" || fs["custom.budget"] != "Budget is required." || out["note"] != "hi" {
		t.Fatalf("check: %v %v", fs, out)
	}
	def := &crm.CustomField{Entity: "deal", Key: "Bad Key", Label: "  ", Type: "colour"}
	fs = crm.ErrorFields(CheckDefinition(def, true))
	for _, k := range []string{"key", "label", "type"} {
		if fs[k] == "" {
			t.Errorf("definition: no error on %s: %v", k, fs)
		}
	}
	if fs["entity"] != "" {
		t.Errorf("deal is an entity: %v", fs)
	}
	if crm.ErrorFields(CheckDefinition(&crm.CustomField{Entity: "lead", Key: "x", Label: "X", Type: "text"}, true))["entity"] == "" {
		t.Error("lead is not an entity")
	}
	orph := Orphans(map[string]any{"budget": 1.0, "gone": "x", "sent": "y"}, fields, map[string]any{"sent": nil})
	if len(orph) != 1 || orph["gone"] != "x" {
		t.Errorf("orphans: %v", orph)
	}
}

// FuzzValue feeds any text to every type: no panic, and what comes back
// is nil or a value of the type's Go type (text within its limit).
func FuzzValue(f *testing.F) {
	for _, s := range []string{"", "12", "۱۲٫۵", "2025-03-21", "yes", "a,b", "x@y.z", "+98 912 123 4567", "http://a", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range crm.CustomFieldTypes {
			fd := &crm.CustomField{Type: typ, Options: []string{"a", "b"}, Currency: "USD"}
			v, err := Value(fd, s, "IR")
			if err != nil || v == nil {
				continue
			}
			switch typ {
			case crm.FieldNumber:
				_, ok := v.(float64)
				if !ok {
					t.Fatalf("%s %q = %T", typ, s, v)
				}
			case crm.FieldMoney:
				if _, ok := v.(int64); !ok {
					t.Fatalf("%s %q = %T", typ, s, v)
				}
			case crm.FieldBoolean:
				if _, ok := v.(bool); !ok {
					t.Fatalf("%s %q = %T", typ, s, v)
				}
			case crm.FieldMultiSelect:
				if _, ok := v.([]string); !ok {
					t.Fatalf("%s %q = %T", typ, s, v)
				}
			default:
				str, ok := v.(string)
				if !ok || !utf8.ValidString(str) || (typ == crm.FieldText && utf8.RuneCountInString(str) > MaxText) {
					t.Fatalf("%s %q = %#v", typ, s, v)
				}
			}
		}
	})
}
