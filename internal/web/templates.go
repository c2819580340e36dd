package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/pivand/pivand/internal/crm"
)

// templates holds one parsed template set per page: the layout, the
// partials the page calls, and the page's own file, which defines
// "content". Every page is parsed at startup, so a broken template stops
// the server from starting, but only kept once it is first rendered: a
// server that answers the API alone does not hold ~100 pages' parse trees
// (35 MB of heap). In development mode they are parsed again on every
// render so that edits show on reload.
type templates struct {
	fsys  fs.FS
	dev   bool
	funcs template.FuncMap

	mu       sync.RWMutex
	pages    map[string]*template.Template // the pages parsed so far
	files    map[string]string             // every page's name -> its file
	deps     *templateDeps
	partials *template.Template // the layout and every partial, for partial()
}

func newTemplates(fsys fs.FS, dev bool, asset func(string) (string, error)) (*templates, error) {
	t := &templates{fsys: fsys, dev: dev, funcs: template.FuncMap{
		"asset":             asset,
		"hasID":             slices.Contains[[]int64, int64],
		"hasString":         slices.Contains[[]string, string],
		"join":              strings.Join,
		"minPasswordLength": func() int { return crm.MinPasswordLength },
	}}
	maps.Copy(t.funcs, contactFuncs)
	maps.Copy(t.funcs, analyticsFuncs)
	maps.Copy(t.funcs, salesFuncs)
	maps.Copy(t.funcs, serviceFuncs)
	maps.Copy(t.funcs, workflowFuncs)
	if _, err := t.parseAll(); err != nil {
		return nil, err
	}
	if !dev {
		t.pages = map[string]*template.Template{} // parsed again when first rendered
	}
	return t, nil
}

// parseAll parses every page and the partials' set and makes them the
// current ones (the caller holds no lock).
func (t *templates) parseAll() (map[string]*template.Template, error) {
	files, err := fs.Glob(t.fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("web: no page templates found")
	}
	deps, err := newTemplateDeps(t.fsys)
	if err != nil {
		return nil, err
	}
	partials, err := template.New("partials").Funcs(t.funcs).ParseFS(t.fsys, append([]string{layoutFile}, deps.partials...)...)
	if err != nil {
		return nil, fmt.Errorf("web: partials: %w", err)
	}
	pages, names := map[string]*template.Template{}, map[string]string{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if pages[name], err = t.parsePage(deps, name, f); err != nil {
			return nil, err
		}
		names[name] = f
	}
	t.mu.Lock()
	t.pages, t.files, t.deps, t.partials = pages, names, deps, partials
	t.mu.Unlock()
	return pages, nil
}

// parsePage parses the set of page name from file f.
func (t *templates) parsePage(deps *templateDeps, name, f string) (*template.Template, error) {
	need, err := deps.files(f)
	if err != nil {
		return nil, err
	}
	tm, err := template.New(name).Funcs(t.funcs).ParseFS(t.fsys, need...)
	if err != nil {
		return nil, fmt.Errorf("web: page %s: %w", name, err)
	}
	if tm.Lookup("content") == nil {
		return nil, fmt.Errorf("web: page %s does not define \"content\"", name)
	}
	return tm, nil
}

// page returns the set of page name, parsing it on its first use.
func (t *templates) page(name string) (*template.Template, error) {
	t.mu.RLock()
	tm, ok := t.pages[name]
	t.mu.RUnlock()
	if ok {
		return tm, nil
	}
	t.mu.Lock() // held while parsing: deps is not safe for concurrent use
	defer t.mu.Unlock()
	if tm, ok := t.pages[name]; ok {
		return tm, nil
	}
	f, ok := t.files[name]
	if !ok {
		return nil, fmt.Errorf("web: no page template %q", name)
	}
	tm, err := t.parsePage(t.deps, name, f)
	if err != nil {
		return nil, err
	}
	t.pages[name] = tm
	return tm, nil
}

// templateDeps knows which partial files a page needs. A page's set holds
// the layout, the partial files defining the templates it calls (and
// those call, and so on) and the page, in that order, as when every
// partial was parsed into every page: the definitions and their order are
// the same, minus templates the page never calls. Parsing all partials
// into each of the ~100 pages kept over 100 MB of parse trees in memory.
type templateDeps struct {
	fsys     fs.FS
	partials []string            // partial files, in glob order
	defines  map[string][]string // template name -> the partial files defining it
	calls    map[string][]string // file -> names of the templates it calls
}

const layoutFile = "templates/layout.html"

// templateRef finds the template names a file defines or calls (always a
// quoted constant in Go templates).
var templateRef = regexp.MustCompile("\\{\\{-?\\s*(define|template|block)\\s+(?:\"([^\"]*)\"|`([^`]*)`)")

func newTemplateDeps(fsys fs.FS) (*templateDeps, error) {
	partials, err := fs.Glob(fsys, "templates/partials/*.html")
	if err != nil {
		return nil, err
	}
	d := &templateDeps{fsys: fsys, partials: partials, defines: map[string][]string{}, calls: map[string][]string{}}
	for _, f := range append([]string{layoutFile}, partials...) {
		defs, err := d.scan(f)
		if err != nil {
			return nil, err
		}
		if f != layoutFile {
			for _, n := range defs {
				d.defines[n] = append(d.defines[n], f)
			}
		}
	}
	return d, nil
}

// scan records the names file f calls and returns the names it defines.
func (d *templateDeps) scan(f string) ([]string, error) {
	src, err := fs.ReadFile(d.fsys, f)
	if err != nil {
		return nil, err
	}
	var defs []string
	for _, m := range templateRef.FindAllSubmatch(src, -1) {
		n := string(m[2]) + string(m[3])
		switch string(m[1]) {
		case "define":
			defs = append(defs, n)
		case "block":
			defs = append(defs, n)
			d.calls[f] = append(d.calls[f], n)
		default:
			d.calls[f] = append(d.calls[f], n)
		}
	}
	return defs, nil
}

// files lists the files to parse for page: the layout, the partials it
// needs in glob order, and the page.
func (d *templateDeps) files(page string) ([]string, error) {
	if _, err := d.scan(page); err != nil {
		return nil, err
	}
	used := map[string]bool{}
	var walk func(f string)
	walk = func(f string) {
		for _, n := range d.calls[f] {
			for _, p := range d.defines[n] {
				if !used[p] {
					used[p] = true
					walk(p)
				}
			}
		}
	}
	walk(layoutFile)
	walk(page)
	out := []string{layoutFile}
	for _, p := range d.partials {
		if used[p] {
			out = append(out, p)
		}
	}
	return append(out, page), nil
}

// execute renders page name with data into a buffer, so that a template
// error never leaves a half-written response.
func (t *templates) execute(name string, data any) ([]byte, error) {
	if t.dev {
		if _, err := t.parseAll(); err != nil {
			return nil, err
		}
	}
	tm, err := t.page(name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := tm.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("web: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// names returns the names of every page template, sorted.
func (t *templates) names() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var out []string
	for n := range t.files {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
