package api

import (
	"net/http"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// route is one registered endpoint: a ServeMux pattern, its handler, and
// the operation metadata that documents it (see op in openapi.go).
type route struct {
	pattern string // "METHOD /api/v1/…"
	handler http.HandlerFunc
	op      op
}

// method returns the route's HTTP method.
func (rt route) method() string { m, _, _ := strings.Cut(rt.pattern, " "); return m }

// path returns the route's path pattern.
func (rt route) path() string { _, p, _ := strings.Cut(rt.pattern, " "); return p }

// routeTable lists every API route. Reads (GET) need a token with the read
// scope, everything else the write scope; Perm adds a role check at the
// route, on top of the one in the service.
func (a *API) routeTable() []route {
	return []route{
		{"GET /api/v1/openapi.json", a.handleOpenAPI, op{ID: "getOpenAPI", Tag: "meta", Public: true,
			Summary: "This OpenAPI document", Out: map[string]any{}}},
		{"GET /api/v1/me", a.handleMeGet, op{ID: "getMe", Tag: "me",
			Summary: "The token's user, role and scopes", Out: me{}}},

		{"GET /api/v1/tokens", a.handleTokenList, op{ID: "listTokens", Tag: "tokens", Paged: true,
			Summary: "List your API tokens, revoked ones included", Out: list[*crm.APIToken]{}}},
		{"POST /api/v1/tokens", a.handleTokenCreate, op{ID: "createToken", Tag: "tokens", Status: http.StatusCreated,
			Summary: "Create an API token; the secret is returned only here", In: tokenCreate{}, Out: tokenCreated{}}},
		{"DELETE /api/v1/tokens/{id}", a.handleTokenDelete, op{ID: "deleteToken", Tag: "tokens", Status: http.StatusNoContent,
			Summary: "Revoke an API token"}},

		{"GET /api/v1/users", a.handleUserList, op{ID: "listUsers", Tag: "users", Paged: true,
			Summary: "List users", Out: list[*crm.User]{}}},
		{"POST /api/v1/users", a.handleUserCreate, op{ID: "createUser", Tag: "users", Perm: crm.PermUsersManage, Status: http.StatusCreated,
			Summary: "Create a user", In: crm.UserCreate{}, Out: &crm.User{}}},
		{"PATCH /api/v1/users/{id}", a.handleUserUpdate, op{ID: "updateUser", Tag: "users", Perm: crm.PermUsersManage,
			Summary: "Change a user's name, role or active flag", In: crm.UserUpdate{}, Out: &crm.User{}}},

		{"GET /api/v1/teams", a.handleTeamList, op{ID: "listTeams", Tag: "teams", Paged: true,
			Summary: "List teams with their members", Out: list[*crm.Team]{}}},
		{"POST /api/v1/teams", a.handleTeamCreate, op{ID: "createTeam", Tag: "teams", Perm: crm.PermUsersManage, Status: http.StatusCreated,
			Summary: "Create a team", In: teamCreate{}, Out: &crm.Team{}}},
		{"PUT /api/v1/teams/{id}/members", a.handleTeamMembersUpdate, op{ID: "setTeamMembers", Tag: "teams", Perm: crm.PermUsersManage,
			Summary: "Replace a team's members", In: teamMembers{}, Out: &crm.Team{}}},
		{"DELETE /api/v1/teams/{id}", a.handleTeamDelete, op{ID: "deleteTeam", Tag: "teams", Perm: crm.PermUsersManage, Status: http.StatusNoContent,
			Summary: "Delete a team"}},

		{"GET /api/v1/audit", a.handleAuditList, op{ID: "listAudit", Tag: "audit", Perm: crm.PermAuditRead, Paged: true, Query: auditParams,
			Summary: "Read the audit log, newest first", Out: list[*crm.AuditEntry]{}}},
	}
}

// chain wraps a route's handler in what every API route gets: bearer
// authentication with the scope and permission checks, and Idempotency-Key
// handling on writes. The body limit wraps the whole mux (limitBody).
func (a *API) chain(rt route) http.Handler {
	h := http.Handler(rt.handler)
	if rt.op.Public {
		return h
	}
	scope := crm.ScopeRead
	if rt.write() {
		scope = crm.ScopeWrite
		h = a.idempotent(h)
	}
	return a.authenticate(scope, rt.op.Perm, h)
}

// write reports whether the route changes data (anything but GET).
func (rt route) write() bool { return rt.method() != http.MethodGet }

// fallback answers every /api/ request no route matched: 405 with Allow
// when the path exists under another method, 404 otherwise, both as
// problem documents (ServeMux's own answers are plain text).
func (a *API) fallback(mux *http.ServeMux) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			a.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
				msg: "This address does not accept " + r.Method + "; use " + strings.Join(allow, ", ") + "."})
			return
		}
		a.writeError(w, r, crm.Errorf(crm.ENOTFOUND, "There is no API endpoint at %s.", r.URL.Path))
	})
}
