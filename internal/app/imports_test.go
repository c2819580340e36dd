package app

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection keeps imports pointing down: web/api → services →
// store → crm. Domain packages never import each other; they talk through
// events wired here in app.
func TestImportDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "github.com/pivand/pivand/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/pivand/pivand/"
	domains := map[string]bool{"contact": true, "sales": true, "service": true, "desk": true, "marketing": true,
		"loyalty": true, "club": true, "automation": true, "analytics": true, "order": true, "campaign": true, "segment": true,
		"workflow": true}
	top := func(p string) string { // internal/contact/csv → contact
		p = strings.TrimPrefix(p, mod)
		p = strings.TrimPrefix(p, "internal/")
		name, _, _ := strings.Cut(p, "/")
		return name
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		from := top(p.ImportPath)
		checked++
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, mod) {
				continue
			}
			to := top(imp)
			if to == from {
				continue
			}
			bad := ""
			switch {
			case from == "crm":
				bad = "crm imports only the standard library"
			case (from == "store" || from == "text" || from == "problem") && to != "crm" && to != "text":
				bad = from + " sits below the services"
			case (from == "web" || from == "api") && to == "store":
				bad = "HTTP packages reach the database through services"
			case domains[from] && domains[to]:
				bad = "domains talk through events, not imports"
			case from == "insight" && domains[to] && to != "analytics":
				// insight is the analytics service: it uses the pure models
				// of internal/analytics and reads other domains' data only
				// through the store and their events.
				bad = "the analytics service reads other domains through the store and events"
			case (to == "web" || to == "api" || to == "server") && from != "app" && from != "cmd":
				bad = "only app and cmd wire the HTTP layers"
			case to == "app" && from != "cmd" && from != "bench":
				// bench programs are entry points like cmd: they may wire
				// services the way the server does.
				bad = "only cmd and bench use app"
			}
			if bad != "" && !strings.HasSuffix(p.ImportPath, "storetest") {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, bad)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d packages", checked)
	}
}
