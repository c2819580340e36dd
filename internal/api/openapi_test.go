package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestOpenAPI_EveryRouteDocumented walks the registration list New used
// and finds each route, with its method and operation, in the served
// document; and every documented operation is a registered route.
func TestOpenAPI_EveryRouteDocumented(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite))
	if len(e.api.routes) == 0 {
		t.Fatal("no routes registered")
	}
	registered := map[string]bool{}
	for _, rt := range e.api.routes {
		rel := strings.TrimPrefix(rt.path(), apiBase)
		item := e.doc.Paths.Value(rel)
		if item == nil {
			t.Errorf("route %q: path %s is not in the OpenAPI document", rt.pattern, rel)
			continue
		}
		o := item.GetOperation(rt.method())
		if o == nil {
			t.Errorf("route %q: method %s is not documented", rt.pattern, rt.method())
			continue
		}
		if o.OperationID != rt.op.ID || o.Summary == "" || len(o.Tags) == 0 {
			t.Errorf("route %q: operation %q, summary %q, tags %v", rt.pattern, o.OperationID, o.Summary, o.Tags)
		}
		if o.Responses == nil || o.Responses.Len() < 2 {
			t.Errorf("route %q: responses are not documented", rt.pattern)
		}
		registered[rt.method()+" "+rel] = true
	}
	for path, item := range e.doc.Paths.Map() {
		for method := range item.Operations() {
			if !registered[method+" "+path] {
				t.Errorf("document has %s %s, which no route serves", method, path)
			}
		}
	}

	// The document carries the shared components.
	for _, name := range []string{"Problem", "User", "Token", "Team", "AuditEntry", "UserList", "TokenList", "TeamList", "AuditEntryList"} {
		if e.doc.Components.Schemas[name] == nil {
			t.Errorf("component schema %s is missing", name)
		}
	}
	if e.doc.Components.SecuritySchemes["bearer"] == nil {
		t.Error("security scheme bearer is missing")
	}
	if e.doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", e.doc.OpenAPI)
	}
}

// TestOpenAPI_Served fetches the document without a token and checks that
// every documented operation answers (401 without a token, except the
// public ones), so the document lists nothing the mux does not serve.
func TestOpenAPI_Served(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite))
	res := e.do("GET", "/api/v1/openapi.json", "", "")
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/json" || !bytes.Equal(res.Body, e.api.openapi) {
		t.Fatalf("GET openapi.json = %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	for _, rt := range e.api.routes {
		target := strings.ReplaceAll(rt.path(), "{id}", "1")
		res := e.do(rt.method(), target, "", "")
		want := http.StatusUnauthorized
		if rt.op.Public {
			want = http.StatusOK
		}
		if res.Status != want {
			t.Errorf("%s %s without a token = %d, want %d", rt.method(), target, res.Status, want)
		}
	}
}

// TestCheckRoute: a route registered without operation metadata stops New.
func TestCheckRoute(t *testing.T) {
	h := func(http.ResponseWriter, *http.Request) {}
	tests := []struct {
		name string
		rt   route
	}{
		{"NoMetadata", route{"GET /api/v1/things", h, op{}}},
		{"NoSummary", route{"GET /api/v1/things", h, op{ID: "listThings", Tag: "things", Out: list[int]{}}}},
		{"NoMethod", route{"/api/v1/things", h, op{ID: "listThings", Tag: "things", Summary: "x", Out: list[int]{}}}},
		{"BodyOnGet", route{"GET /api/v1/things", h, op{ID: "listThings", Tag: "things", Summary: "x", In: teamCreate{}, Out: list[int]{}}}},
		{"NoResponse", route{"POST /api/v1/things", h, op{ID: "createThing", Tag: "things", Summary: "x", In: teamCreate{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := buildOpenAPI([]route{tt.rt}, "test"); err == nil {
				t.Fatal("buildOpenAPI accepted an undocumented route")
			}
		})
	}
	t.Run("DuplicateID", func(t *testing.T) {
		ok := route{"GET /api/v1/things", h, op{ID: "listThings", Tag: "things", Summary: "x", Out: list[int]{}}}
		dup := ok
		dup.pattern = "GET /api/v1/others"
		if _, err := buildOpenAPI([]route{ok, dup}, "test"); err == nil {
			t.Fatal("buildOpenAPI accepted a duplicate operation ID")
		}
	})
}
