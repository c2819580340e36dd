package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)

		t.Run("Auth", func(t *testing.T) { testAuth(t, e) })
		t.Run("Errors", func(t *testing.T) { testErrors(t, e) })
		t.Run("Me", func(t *testing.T) { testMe(t, e) })
		t.Run("Tokens", func(t *testing.T) { testTokens(t, e) })
		t.Run("Users", func(t *testing.T) { testUsers(t, e) })
		t.Run("Pagination", func(t *testing.T) { testPagination(t, e) })
		t.Run("Teams", func(t *testing.T) { testTeams(t, e) })
		t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, e) })
		t.Run("Audit", func(t *testing.T) { testAudit(t, e) })
	})
}

func testAuth(t *testing.T, e *env) {
	t.Run("NoToken", func(t *testing.T) {
		res := e.do("GET", "/api/v1/me", "", "")
		res.problem(t, http.StatusUnauthorized)
		if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
			t.Fatalf("WWW-Authenticate = %q", h)
		}
	})
	t.Run("NotBearer", func(t *testing.T) {
		res := e.do("GET", "/api/v1/me", "", "", "Authorization", "Basic YWRtaW46eA==")
		res.problem(t, http.StatusUnauthorized)
	})
	t.Run("BadToken", func(t *testing.T) {
		res := e.do("GET", "/api/v1/me", "pvd_not-a-real-token", "")
		res.problem(t, http.StatusUnauthorized)
		if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || !strings.Contains(h, "invalid_token") {
			t.Fatalf("WWW-Authenticate = %q", h)
		}
	})
	t.Run("ReadScopeCannotWrite", func(t *testing.T) {
		res := e.do("POST", "/api/v1/teams", e.ro, `{"name":"Read only"}`)
		p := res.problem(t, http.StatusForbidden)
		if !strings.Contains(p.Detail, "write") {
			t.Fatalf("detail = %q, want it to name the write scope", p.Detail)
		}
		if res := e.do("GET", "/api/v1/teams", e.ro, ""); res.Status != http.StatusOK {
			t.Fatalf("read-scoped GET = %d", res.Status)
		}
	})
	t.Run("RoleChecked", func(t *testing.T) {
		u, err := e.auth.CreateUser(context.Background(), crm.UserCreate{Email: "sales@example.com", Name: "Sara", Password: "long enough password", Role: crm.RoleSales})
		if err != nil {
			t.Fatal(err)
		}
		sales := e.mustToken(u.ID, crm.ScopeRead, crm.ScopeWrite)
		res := e.do("POST", "/api/v1/users", sales, `{"email":"x@example.com","role":"admin","password":"long enough password"}`)
		res.problem(t, http.StatusForbidden)
		res = e.do("GET", "/api/v1/audit", sales, "")
		res.problem(t, http.StatusForbidden)
	})
	t.Run("RevokedToken", func(t *testing.T) {
		secret, tok, err := e.auth.CreateToken(context.Background(), e.admin.ID, "soon revoked", []string{"read"})
		if err != nil {
			t.Fatal(err)
		}
		if res := e.do("GET", "/api/v1/me", secret, ""); res.Status != http.StatusOK {
			t.Fatalf("fresh token: %d %s", res.Status, res.Body)
		}
		if res := e.do("DELETE", fmt.Sprintf("/api/v1/tokens/%d", tok.ID), e.rw, ""); res.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", res.Status, res.Body)
		}
		e.do("GET", "/api/v1/me", secret, "").problem(t, http.StatusUnauthorized)
	})
}

func testErrors(t *testing.T, e *env) {
	t.Run("UnknownRoute", func(t *testing.T) {
		for _, path := range []string{"/api/v1/nope", "/api/v2/users", "/api/", "/api/v1/users/1/extra"} {
			p := e.do("GET", path, e.rw, "").problem(t, http.StatusNotFound)
			if p.Code != crm.ENOTFOUND {
				t.Errorf("%s: code = %q", path, p.Code)
			}
		}
		// No token needed to learn that a route does not exist.
		e.do("GET", "/api/v1/nope", "", "").problem(t, http.StatusNotFound)
	})
	t.Run("WrongMethod", func(t *testing.T) {
		res := e.do("DELETE", "/api/v1/me", e.rw, "")
		res.problem(t, http.StatusMethodNotAllowed)
		if allow := res.Header.Get("Allow"); allow != "GET, HEAD" {
			t.Fatalf("Allow = %q", allow)
		}
		res = e.do("PUT", "/api/v1/users", e.rw, "")
		res.problem(t, http.StatusMethodNotAllowed)
		if allow := res.Header.Get("Allow"); allow != "GET, HEAD, POST" {
			t.Fatalf("Allow = %q", allow)
		}
	})
	t.Run("MalformedJSON", func(t *testing.T) {
		p := e.do("POST", "/api/v1/teams", e.rw, `{"name": x}`).problem(t, http.StatusUnprocessableEntity)
		if p.Detail != "body: invalid JSON at byte 10" || p.field("body") == "" {
			t.Fatalf("problem = %+v", p)
		}
		p = e.do("POST", "/api/v1/teams", e.rw, `{"name": "a"`).problem(t, http.StatusUnprocessableEntity)
		if p.Detail != "body: invalid JSON at byte 13" {
			t.Fatalf("truncated: detail = %q", p.Detail)
		}
		p = e.do("POST", "/api/v1/teams", e.rw, `{"name": "a"} {}`).problem(t, http.StatusUnprocessableEntity)
		if !strings.Contains(p.Detail, "after the JSON value") {
			t.Fatalf("trailing data: detail = %q", p.Detail)
		}
		p = e.do("POST", "/api/v1/teams", e.rw, `{"name": 5}`).problem(t, http.StatusUnprocessableEntity)
		if p.field("name") == "" {
			t.Fatalf("wrong type: %+v", p)
		}
	})
	t.Run("UnknownField", func(t *testing.T) {
		p := e.do("POST", "/api/v1/teams", e.rw, `{"name":"A","colour":"red"}`).problem(t, http.StatusUnprocessableEntity)
		if p.field("colour") == "" || !strings.Contains(p.Detail, "colour") {
			t.Fatalf("problem = %+v", p)
		}
	})
	t.Run("EmptyBody", func(t *testing.T) {
		res := e.do("POST", "/api/v1/teams", e.rw, "", "Content-Type", "application/json")
		if p := res.problem(t, http.StatusUnprocessableEntity); p.field("body") == "" {
			t.Fatalf("problem = %+v", p)
		}
	})
	t.Run("WrongContentType", func(t *testing.T) {
		res := e.do("POST", "/api/v1/teams", e.rw, `{"name":"A"}`, "Content-Type", "text/plain")
		res.problem(t, http.StatusUnsupportedMediaType)
		res = e.do("POST", "/api/v1/teams", e.rw, `{"name":"A"}`, "Content-Type", "application/json; charset=latin1")
		res.problem(t, http.StatusUnsupportedMediaType)
	})
	t.Run("BodyTooLarge", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("x", testMaxBody) + `"}`
		e.do("POST", "/api/v1/teams", e.rw, big).problem(t, http.StatusRequestEntityTooLarge)
		// Without Content-Length (chunked) the limit hits while decoding,
		// and while the idempotency layer reads the body.
		for _, key := range []string{"", "big-1"} {
			req := httptest.NewRequest("POST", "/api/v1/teams", strings.NewReader(big))
			req.ContentLength = -1
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.rw)
			if key != "" {
				req.Header.Set(idempotency.Header, key)
			}
			w := httptest.NewRecorder()
			e.api.Handler().ServeHTTP(w, req)
			res := result{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
			res.problem(t, http.StatusRequestEntityTooLarge)
		}
	})
	t.Run("BadPathID", func(t *testing.T) {
		e.do("PATCH", "/api/v1/users/abc", e.rw, `{"name":"x"}`).problem(t, http.StatusNotFound)
		e.do("PATCH", "/api/v1/users/999999", e.rw, `{"name":"x"}`).problem(t, http.StatusNotFound)
	})
}

func testMe(t *testing.T, e *env) {
	res := e.do("GET", "/api/v1/me", e.rw, "")
	if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /me = %d %q %s", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	var m me
	res.JSON(t, &m)
	if m.User == nil || m.User.Email != "admin@example.com" || m.Role != crm.RoleAdmin || m.Token == nil || m.Token.UserID != e.admin.ID {
		t.Fatalf("me = %+v", m)
	}
	if strings.Join(m.Scopes, " ") != "read write" {
		t.Fatalf("scopes = %v", m.Scopes)
	}
	if head := e.do("HEAD", "/api/v1/me", e.ro, ""); head.Status != http.StatusOK {
		t.Fatalf("HEAD /me = %d", head.Status)
	}
}

func testTokens(t *testing.T, e *env) {
	res := e.do("POST", "/api/v1/tokens", e.rw, `{"name":"CI","scopes":["read"]}`)
	if res.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", res.Status, res.Body)
	}
	var created tokenCreated
	res.JSON(t, &created)
	if !strings.HasPrefix(created.Secret, "pvd_") || created.Token == nil || created.Token.Name != "CI" {
		t.Fatalf("created = %+v", created)
	}

	res = e.do("GET", "/api/v1/me", created.Secret, "")
	var m me
	res.JSON(t, &m)
	if res.Status != http.StatusOK || m.Token.ID != created.Token.ID || strings.Join(m.Scopes, " ") != "read" {
		t.Fatalf("me with new token: %d %s", res.Status, res.Body)
	}
	e.do("POST", "/api/v1/tokens", created.Secret, `{"name":"x","scopes":["read"]}`).problem(t, http.StatusForbidden)

	res = e.do("GET", "/api/v1/tokens", e.rw, "")
	if res.Status != http.StatusOK || bytes.Contains(res.Body, []byte(created.Secret)) || !bytes.Contains(res.Body, []byte(`"CI"`)) {
		t.Fatalf("list tokens: %d %s", res.Status, res.Body)
	}

	p := e.do("POST", "/api/v1/tokens", e.rw, `{"name":"","scopes":["admin"]}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("name") == "" || p.field("scopes") == "" {
		t.Fatalf("invalid token create: %+v", p)
	}
}

func testUsers(t *testing.T, e *env) {
	t.Run("CreateInvalid", func(t *testing.T) {
		p := e.do("POST", "/api/v1/users", e.rw, `{"email":"not an email","role":"boss","password":"short"}`).
			problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"email", "role", "password"} {
			if p.field(f) == "" {
				t.Errorf("problem does not name %s: %+v", f, p)
			}
		}
	})
	var u crm.User
	t.Run("Create", func(t *testing.T) {
		res := e.do("POST", "/api/v1/users", e.rw, `{"email":"Reza@Example.com","name":"رضا","role":"support","password":"a long enough password","language":"fa"}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create user: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &u)
		if u.ID == 0 || u.Email != "reza@example.com" || u.Name != "رضا" || u.Role != crm.RoleSupport || !u.Active {
			t.Fatalf("user = %+v", u)
		}
		if bytes.Contains(res.Body, []byte("password")) {
			t.Fatalf("response leaks the password: %s", res.Body)
		}
		e.do("POST", "/api/v1/users", e.rw, `{"email":"reza@example.com","role":"sales","password":"a long enough password"}`).
			problem(t, http.StatusConflict)
	})
	t.Run("Update", func(t *testing.T) {
		res := e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), e.rw, `{"role":"manager","active":false}`)
		var got crm.User
		res.JSON(t, &got)
		if res.Status != http.StatusOK || got.Role != crm.RoleManager || got.Active || got.Name != "رضا" {
			t.Fatalf("update: %d %s", res.Status, res.Body)
		}
		p := e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", e.admin.ID), e.rw, `{"role":"sales"}`).problem(t, http.StatusConflict)
		if p.field("role") == "" {
			t.Fatalf("last admin: %+v", p)
		}
		e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), e.rw, `{"role":"boss"}`).problem(t, http.StatusUnprocessableEntity)
	})
}

func testPagination(t *testing.T, e *env) {
	ctx := context.Background()
	for i := range 5 {
		_, err := e.auth.CreateUser(ctx, crm.UserCreate{Email: fmt.Sprintf("page%d@example.com", i), Name: fmt.Sprintf("Page %d", 5-i), Password: "a long enough password", Role: crm.RoleSales})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := e.auth.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("WalkEveryUserOnce", func(t *testing.T) {
		seen := map[int64]int{}
		target, pages := "/api/v1/users?limit=2", 0
		for {
			res := e.do("GET", target, e.ro, "")
			if res.Status != http.StatusOK {
				t.Fatalf("GET %s = %d %s", target, res.Status, res.Body)
			}
			var page list[*crm.User]
			res.JSON(t, &page)
			pages++
			if len(page.Data) == 0 || len(page.Data) > 2 {
				t.Fatalf("page %d has %d users", pages, len(page.Data))
			}
			for _, u := range page.Data {
				seen[u.ID]++
			}
			if page.Next == nil {
				break
			}
			target = "/api/v1/users?limit=2&after=" + *page.Next
		}
		if len(seen) != len(all) || pages != (len(all)+1)/2 {
			t.Fatalf("saw %d of %d users in %d pages", len(seen), len(all), pages)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("user %d seen %d times", id, n)
			}
		}
	})
	t.Run("LastPageNextIsNull", func(t *testing.T) {
		res := e.do("GET", "/api/v1/users", e.ro, "")
		if !bytes.Contains(res.Body, []byte(`"next":null`)) {
			t.Fatalf("body = %s", res.Body)
		}
	})
	t.Run("PersianDigits", func(t *testing.T) {
		var page list[*crm.User]
		e.do("GET", "/api/v1/users?limit=۳", e.ro, "").JSON(t, &page)
		if len(page.Data) != 3 || page.Next == nil {
			t.Fatalf("limit=۳ gave %d users", len(page.Data))
		}
	})
	t.Run("BadLimit", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=501", "limit=abc", "limit=-1"} {
			p := e.do("GET", "/api/v1/users?"+q, e.ro, "").problem(t, http.StatusUnprocessableEntity)
			if p.field("limit") == "" {
				t.Errorf("%s: problem does not name limit: %+v", q, p)
			}
		}
	})
	t.Run("BadCursor", func(t *testing.T) {
		p := e.do("GET", "/api/v1/users?after=!!", e.ro, "").problem(t, http.StatusUnprocessableEntity)
		if p.field("after") == "" {
			t.Fatalf("problem does not name after: %+v", p)
		}
	})
}

func testTeams(t *testing.T, e *env) {
	res := e.do("POST", "/api/v1/teams", e.rw, `{"name":"پشتیبانی"}`)
	if res.Status != http.StatusCreated {
		t.Fatalf("create team: %d %s", res.Status, res.Body)
	}
	var team crm.Team
	res.JSON(t, &team)

	res = e.do("PUT", fmt.Sprintf("/api/v1/teams/%d/members", team.ID), e.rw, fmt.Sprintf(`{"user_ids":[%d]}`, e.admin.ID))
	var got crm.Team
	res.JSON(t, &got)
	if res.Status != http.StatusOK || len(got.MemberIDs) != 1 || got.MemberIDs[0] != e.admin.ID {
		t.Fatalf("set members: %d %s", res.Status, res.Body)
	}
	p := e.do("PUT", fmt.Sprintf("/api/v1/teams/%d/members", team.ID), e.rw, `{"user_ids":[999999]}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("user_ids") == "" {
		t.Fatalf("unknown member: %+v", p)
	}

	var teams list[*crm.Team]
	e.do("GET", "/api/v1/teams", e.ro, "").JSON(t, &teams)
	found := false
	for _, tm := range teams.Data {
		found = found || tm.ID == team.ID
	}
	if !found {
		t.Fatalf("team %d not listed: %+v", team.ID, teams)
	}

	if res := e.do("DELETE", fmt.Sprintf("/api/v1/teams/%d", team.ID), e.rw, ""); res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("delete team: %d %s", res.Status, res.Body)
	}
	e.do("DELETE", fmt.Sprintf("/api/v1/teams/%d", team.ID), e.rw, "").problem(t, http.StatusNotFound)
}

func testIdempotency(t *testing.T, e *env) {
	countTeams := func(name string) int {
		t.Helper()
		var page list[*crm.Team]
		e.do("GET", "/api/v1/teams?limit=500", e.ro, "").JSON(t, &page)
		n := 0
		for _, tm := range page.Data {
			if tm.Name == name {
				n++
			}
		}
		return n
	}
	body := `{"name":"Sales North"}`
	first := e.do("POST", "/api/v1/teams", e.rw, body, idempotency.Header, "key-1")
	if first.Status != http.StatusCreated || first.Header.Get(replayedHeader) != "" {
		t.Fatalf("first: %d %v %s", first.Status, first.Header, first.Body)
	}

	t.Run("ReplayIsIdentical", func(t *testing.T) {
		again := e.do("POST", "/api/v1/teams", e.rw, body, idempotency.Header, "key-1")
		if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) || again.Header.Get(replayedHeader) != "true" ||
			again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
			t.Fatalf("replay: %d %v %s; first %s", again.Status, again.Header, again.Body, first.Body)
		}
		if n := countTeams("Sales North"); n != 1 {
			t.Fatalf("%d teams created, want 1", n)
		}
	})
	t.Run("SameKeyDifferentBody", func(t *testing.T) {
		p := e.do("POST", "/api/v1/teams", e.rw, `{"name":"Sales South"}`, idempotency.Header, "key-1").problem(t, http.StatusUnprocessableEntity)
		if p.field(idempotency.Header) == "" {
			t.Fatalf("problem does not name %s: %+v", idempotency.Header, p)
		}
		if n := countTeams("Sales South"); n != 0 {
			t.Fatalf("the refused request created %d teams", n)
		}
	})
	t.Run("InFlightConflict", func(t *testing.T) {
		req := idempotency.Request{UserID: e.admin.ID, Key: "key-2", Method: "POST", Path: "/api/v1/teams", Body: []byte(`{"name":"Busy"}`)}
		if _, err := e.api.idem.Begin(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		e.do("POST", "/api/v1/teams", e.rw, `{"name":"Busy"}`, idempotency.Header, "key-2").problem(t, http.StatusConflict)
	})
	t.Run("ErrorsAreStoredToo", func(t *testing.T) {
		// The first answer counts, even a 422, so a retry cannot turn into
		// a different change.
		bad := e.do("POST", "/api/v1/teams", e.rw, `{"name":""}`, idempotency.Header, "key-3")
		bad.problem(t, http.StatusUnprocessableEntity)
		again := e.do("POST", "/api/v1/teams", e.rw, `{"name":""}`, idempotency.Header, "key-3")
		if again.Header.Get(replayedHeader) != "true" || !bytes.Equal(again.Body, bad.Body) {
			t.Fatalf("replayed 422: %v %s", again.Header, again.Body)
		}
	})
	t.Run("KeyPerUser", func(t *testing.T) {
		u, err := e.auth.CreateUser(context.Background(), crm.UserCreate{Email: "mgr@example.com", Password: "a long enough password", Role: crm.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		other := e.mustToken(u.ID, crm.ScopeRead, crm.ScopeWrite)
		res := e.do("POST", "/api/v1/teams", other, `{"name":"Sales East"}`, idempotency.Header, "key-1")
		if res.Status != http.StatusCreated || res.Header.Get(replayedHeader) != "" {
			t.Fatalf("another user's key-1: %d %s", res.Status, res.Body)
		}
	})
	t.Run("DeleteReplay", func(t *testing.T) {
		_, tok, err := e.auth.CreateToken(context.Background(), e.admin.ID, "to delete", []string{"read"})
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/api/v1/tokens/%d", tok.ID)
		for i, want := range []string{"", "true"} {
			res := e.do("DELETE", path, e.rw, "", idempotency.Header, "del-1")
			if res.Status != http.StatusNoContent || res.Header.Get(replayedHeader) != want {
				t.Fatalf("delete #%d: %d %q", i+1, res.Status, res.Header.Get(replayedHeader))
			}
		}
	})
	t.Run("InvalidKey", func(t *testing.T) {
		p := e.do("POST", "/api/v1/teams", e.rw, `{"name":"K"}`, idempotency.Header, "has space").problem(t, http.StatusUnprocessableEntity)
		if p.field(idempotency.Header) == "" {
			t.Fatalf("problem = %+v", p)
		}
	})
	t.Run("ExpiresAfter24Hours", func(t *testing.T) {
		e.db.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
		defer func() { e.db.Now = time.Now }()
		res := e.do("POST", "/api/v1/teams", e.rw, `{"name":"Sales West"}`, idempotency.Header, "key-1")
		if res.Status != http.StatusCreated || res.Header.Get(replayedHeader) != "" {
			t.Fatalf("expired key: %d %v %s", res.Status, res.Header, res.Body)
		}
	})
}

func testAudit(t *testing.T, e *env) {
	var page list[*crm.AuditEntry]
	res := e.do("GET", "/api/v1/audit?action=user.create&limit=2", e.ro, "")
	res.JSON(t, &page)
	if res.Status != http.StatusOK || len(page.Data) != 2 || page.Next == nil {
		t.Fatalf("audit: %d %s", res.Status, res.Body)
	}
	for _, a := range page.Data {
		if a.Action != "user.create" {
			t.Fatalf("filter by action returned %+v", a)
		}
	}
	var next list[*crm.AuditEntry]
	e.do("GET", "/api/v1/audit?action=user.create&limit=2&after="+*page.Next, e.ro, "").JSON(t, &next)
	if len(next.Data) == 0 || next.Data[0].ID >= page.Data[1].ID {
		t.Fatalf("second page: %+v", next)
	}

	res = e.do("GET", fmt.Sprintf("/api/v1/audit?entity_type=user&entity_id=%d", e.admin.ID), e.ro, "")
	var mine list[*crm.AuditEntry]
	res.JSON(t, &mine)
	if len(mine.Data) == 0 {
		t.Fatalf("no entries for the admin: %s", res.Body)
	}
	for _, a := range mine.Data {
		if a.EntityType != "user" || a.EntityID != e.admin.ID {
			t.Fatalf("entity filter returned %+v", a)
		}
	}

	// Dates: Persian digits, a date-only "to" includes the whole day.
	today := time.Now().UTC().Format(time.DateOnly)
	var byDate list[*crm.AuditEntry]
	e.do("GET", "/api/v1/audit?from="+toPersian(today)+"&to="+today+"&limit=1", e.ro, "").JSON(t, &byDate)
	if len(byDate.Data) != 1 {
		t.Fatalf("date filter found %d entries", len(byDate.Data))
	}
	var none list[*crm.AuditEntry]
	e.do("GET", "/api/v1/audit?to=2000-01-01T00:00:00Z", e.ro, "").JSON(t, &none)
	if len(none.Data) != 0 {
		t.Fatalf("to=2000 found %d entries", len(none.Data))
	}

	p := e.do("GET", "/api/v1/audit?from=yesterday&entity_id=x&limit=0", e.ro, "").problem(t, http.StatusUnprocessableEntity)
	for _, f := range []string{"from", "entity_id", "limit"} {
		if p.field(f) == "" {
			t.Errorf("problem does not name %s: %+v", f, p)
		}
	}
	p = e.do("GET", "/api/v1/audit?from=2025-03-02&to=2025-03-01", e.ro, "").problem(t, http.StatusUnprocessableEntity)
	if p.field("to") == "" {
		t.Fatalf("from after to: %+v", p)
	}
}

func toPersian(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}
