package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/pivand/pivand/internal/crm"
)

// templates holds one parsed template set per page: the layout, every
// partial, and the page's own file, which defines "content". Pages are
// parsed once at startup; in development mode they are parsed again on
// every render so that edits show on reload.
type templates struct {
	fsys  fs.FS
	dev   bool
	funcs template.FuncMap

	mu    sync.RWMutex
	pages map[string]*template.Template
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
	pages, err := t.parseAll()
	if err != nil {
		return nil, err
	}
	t.pages = pages
	return t, nil
}

func (t *templates) parseAll() (map[string]*template.Template, error) {
	files, err := fs.Glob(t.fsys, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("web: no page templates found")
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		tm, err := template.New(name).Funcs(t.funcs).ParseFS(t.fsys,
			"templates/layout.html", "templates/partials/*.html", f)
		if err != nil {
			return nil, fmt.Errorf("web: page %s: %w", name, err)
		}
		if tm.Lookup("content") == nil {
			return nil, fmt.Errorf("web: page %s does not define \"content\"", name)
		}
		pages[name] = tm
	}
	return pages, nil
}

// execute renders page name with data into a buffer, so that a template
// error never leaves a half-written response.
func (t *templates) execute(name string, data any) ([]byte, error) {
	if t.dev {
		pages, err := t.parseAll()
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.pages = pages
		t.mu.Unlock()
	}
	t.mu.RLock()
	tm, ok := t.pages[name]
	t.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("web: no page template %q", name)
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
	for n := range t.pages {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
