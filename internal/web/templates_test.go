package web

import (
	"html/template"
	"strings"
	"testing"
	"text/template/parse"
)

// TestPageTemplatesHoldWhatTheyCall checks each page's template set
// (the layout, only the partial files it needs, the page) against the set
// of the layout, every partial and the page: every template the page can
// reach from "layout" is in its set with the same definition, so pruning
// the partials changes nothing a page renders.
func TestPageTemplatesHoldWhatTheyCall(t *testing.T) {
	tm, err := newTemplates(embedded, false, func(string) (string, error) { return "", nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.names()) < 50 {
		t.Fatalf("only %d pages", len(tm.names()))
	}
	smaller := 0
	for _, name := range tm.names() {
		full, err := template.New(name).Funcs(tm.funcs).ParseFS(embedded,
			"templates/layout.html", "templates/partials/*.html", "templates/pages/"+name+".html")
		if err != nil {
			t.Fatal(err)
		}
		pruned, err := tm.page(name)
		if err != nil {
			t.Fatal(err)
		}
		reached := map[string]bool{}
		var visit func(n string)
		visit = func(n string) {
			if reached[n] {
				return
			}
			reached[n] = true
			def := full.Lookup(n)
			if def == nil {
				t.Errorf("page %s: template %q is called but defined nowhere", name, n)
				return
			}
			got := pruned.Lookup(n)
			if got == nil {
				t.Errorf("page %s: template %q is missing from the page's set", name, n)
				return
			}
			if got.Tree.Root.String() != def.Tree.Root.String() {
				t.Errorf("page %s: template %q differs from the one in the full set", name, n)
			}
			for _, c := range calledTemplates(def.Tree.Root) {
				visit(c)
			}
		}
		visit("layout")
		if len(pruned.Templates()) < len(full.Templates()) {
			smaller++
		}
	}
	// The point of pruning: most pages need a few partial files.
	if smaller < len(tm.names())/2 {
		t.Errorf("only %d of %d pages have a smaller set than every partial", smaller, len(tm.names()))
	}
}

// calledTemplates lists the names of the templates node calls.
func calledTemplates(node parse.Node) []string {
	var out []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.TemplateNode:
			out = append(out, n.Name)
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		}
	}
	walk(node)
	return out
}

// TestTemplateDepsReadsReferences checks the scanner on the forms a
// template reference takes: quoted and raw names, trim markers, blocks.
func TestTemplateDepsReadsReferences(t *testing.T) {
	src := "{{define \"a\"}}{{- template \"b\" .}}{{end}}{{block `c` .}}x{{end}}{{ template  \"d\" }}"
	var got []string
	for _, m := range templateRef.FindAllStringSubmatch(src, -1) {
		got = append(got, m[1]+":"+m[2]+m[3])
	}
	if want := "define:a template:b block:c template:d"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
}

// TestPagesParsedOnFirstUse: every page is parsed (checked) at startup but
// kept only from its first render; a page that does not exist is an error.
func TestPagesParsedOnFirstUse(t *testing.T) {
	tm, err := newTemplates(embedded, false, func(string) (string, error) { return "", nil })
	if err != nil {
		t.Fatal(err)
	}
	held := func() int { tm.mu.RLock(); defer tm.mu.RUnlock(); return len(tm.pages) }
	if n := held(); n != 0 {
		t.Fatalf("%d pages held before any render", n)
	}
	a, err := tm.page("contacts")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tm.page("contacts")
	if a != b || held() != 1 {
		t.Errorf("the page was parsed twice or not kept (%d held)", held())
	}
	if _, err := tm.page("no-such-page"); err == nil {
		t.Error("no error for a page that does not exist")
	}
}
