package contact_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/store/storetest"
)

// FuzzSearchQuery: whatever is typed in the search box, the search either
// answers or finds nothing, on every engine this run has: no input is
// read as full-text query syntax (quotes, stars, operators, NEAR, column
// filters, backslashes, NUL), and the known person is still found by her
// name in any letter variant.
func FuzzSearchQuery(f *testing.F) {
	for _, q := range []string{
		"ali", "علي رضائي", "علی رضایی", `"`, `""`, `*`, `ali*`, `'`, `\`, `\'`, "AND", "a OR b", "NOT x", "NEAR(a b)",
		"search_text:ali", "^ali", "-ali", "(ali", "ali)", "a & b", "a | !b", "a:* & b", "0912", "۰۹۱۲۳۴۵", "+98 912",
		"00989123", "x\x00y", "   ", "ـــ", "\u200c", "🙂", strings.Repeat("ab ", 40), "sara@example.com",
	} {
		f.Add(q)
	}
	type engine struct {
		name string
		svc  *contact.Service
	}
	var engines []engine
	for _, d := range storetest.Dialects() {
		svc := contact.New(storetest.Open(f, d), contact.Options{DefaultRegion: "IR"})
		if _, err := svc.CreateContact(sys, person("سارا", "رضایی", []string{"sara@example.com"}, []string{"09123456789"}), true); err != nil {
			f.Fatal(err)
		}
		engines = append(engines, engine{fmt.Sprint(d), svc})
	}
	if len(engines) == 0 {
		f.Fatal("no engine")
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, e := range engines {
			hits, err := e.svc.Search(sys, q, 10)
			if err != nil {
				t.Fatalf("%s: Search(%q): %v", e.name, q, err)
			}
			if len(hits) > 20 {
				t.Fatalf("%s: Search(%q): %d hits for a limit of 10 of each kind", e.name, q, len(hits))
			}
			// Her name with something the fuzzer typed after it still
			// parses; her name alone is always found.
			if _, err := e.svc.Search(sys, "ساراي "+q, 10); err != nil {
				t.Fatalf("%s: Search with %q: %v", e.name, q, err)
			}
			found, err := e.svc.Search(sys, "سارا رضائي", 10)
			if err != nil || len(found) != 1 {
				t.Fatalf("%s: the known person: %v %v", e.name, found, err)
			}
		}
	})
}
