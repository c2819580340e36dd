package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/store"
)

// testMaxBody keeps the body-limit test small.
const testMaxBody = 4096

// env is a fully wired API on a real database with an admin, a read-write
// token and a read-only token. Every response that goes through do is
// validated against the served OpenAPI document.
type env struct {
	t        *testing.T
	db       *store.DB
	auth     *auth.Service
	contacts *contact.Service
	activity *activity.Service
	api      *API
	admin    *crm.User
	rw, ro   string // admin's read-write and read-only token secrets
	doc      *openapi3.T
	router   routers.Router
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	as := auth.New(db, auth.Options{})
	cs := contact.New(db, contact.Options{DefaultRegion: "IR"})
	acts := activity.New(db)
	a, err := New(Options{Auth: as, Idempotency: idempotency.New(db), Contacts: cs, Activity: acts,
		Logger: slog.New(slog.DiscardHandler), Version: "test", MaxBodyBytes: testMaxBody, ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, auth: as, contacts: cs, activity: acts, api: a}
	e.admin, err = as.SetupFirstAdmin(ctx, crm.UserCreate{Email: "admin@example.com", Name: "Admin", Password: "correct horse battery", Role: crm.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	e.rw = e.mustToken(e.admin.ID, crm.ScopeRead, crm.ScopeWrite)
	e.ro = e.mustToken(e.admin.ID, crm.ScopeRead)
	e.doc, e.router = loadDoc(t, a.openapi)
	return e
}

func (e *env) mustToken(userID int64, scopes ...string) string {
	e.t.Helper()
	secret, _, err := e.auth.CreateToken(context.Background(), userID, "test", scopes)
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// loadDoc parses and validates the OpenAPI document with kin-openapi.
func loadDoc(t *testing.T, raw []byte) (*openapi3.T, routers.Router) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("OpenAPI document is invalid: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, router
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// result is a response read in full.
type result struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r result) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem document and checks its status and media type.
func (r result) problem(t *testing.T, status int) problemBody {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problemBody
	r.JSON(t, &p)
	if p.Status != status || p.Title == "" || p.Code == "" || p.Type == "" {
		t.Fatalf("problem = %+v", p)
	}
	return p
}

type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field  string `json:"field"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// field returns the detail the problem gives for field, or "".
func (p problemBody) field(name string) string {
	for _, f := range p.Errors {
		if f.Field == name {
			return f.Detail
		}
	}
	return ""
}

// do sends a request through the real handler. body, when not "", is sent
// as application/json; extra headers come in name, value pairs.
func (e *env) do(method, target, token, body string, headers ...string) result {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	e.api.Handler().ServeHTTP(w, req)
	res := result{Status: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
	if sc := res.Header.Get("Set-Cookie"); sc != "" {
		e.t.Errorf("%s %s set a cookie: %s", method, target, sc)
	}
	e.validate(req, []byte(body), res)
	return res
}

// validate checks a response against the OpenAPI document (when the
// request addresses a documented operation), and the request too when it
// succeeded, so that the request schemas are as accurate as the responses.
func (e *env) validate(req *http.Request, body []byte, res result) {
	e.t.Helper()
	method, target := req.Method, req.URL.RequestURI()
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		return // unknown routes and wrong methods are not in the document
	}
	reqIn := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	// Persian digits in the query are accepted beyond what the schema says.
	if res.Status < 300 && isASCII(req.URL.RawQuery) {
		req.Body = io.NopCloser(bytes.NewReader(body))
		if err := openapi3filter.ValidateRequest(context.Background(), reqIn); err != nil {
			e.t.Errorf("%s %s: request does not match the OpenAPI document: %v\nbody: %s", method, target, err, body)
		}
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn,
		Status:                 res.Status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(res.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.t.Errorf("%s %s: response %d does not match the OpenAPI document: %v\nbody: %s", method, target, res.Status, err, res.Body)
	}
}
