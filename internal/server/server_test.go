package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	ready := error(nil)
	h := Handler(Options{
		Web: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/boom" {
				panic("kaboom")
			}
			io.WriteString(w, "web")
		}),
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/boom" {
				panic("kaboom")
			}
			io.WriteString(w, "api")
		}),
		Ready:  func(context.Context) error { return ready },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	if rec := get("/healthz"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Fatalf("healthz %d %s", rec.Code, rec.Body)
	}
	if rec := get("/readyz"); rec.Code != 200 {
		t.Fatalf("readyz %d", rec.Code)
	}
	ready = errors.New("db down")
	if rec := get("/readyz"); rec.Code != 503 || strings.Contains(rec.Body.String(), "db down") {
		t.Fatalf("readyz when down: %d %s", rec.Code, rec.Body)
	}
	if rec := get("/contacts"); rec.Body.String() != "web" || rec.Header().Get("X-Request-ID") == "" || rec.Header().Get("Content-Security-Policy") == "" {
		t.Fatalf("web route: %s %v", rec.Body, rec.Header())
	}
	if rec := get("/api/v1/me"); rec.Body.String() != "api" {
		t.Fatalf("api route: %s", rec.Body)
	}
	if rec := get("/boom"); rec.Code != 500 || strings.Contains(rec.Body.String(), "kaboom") {
		t.Fatalf("web panic: %d %s", rec.Code, rec.Body)
	}
	if rec := get("/api/v1/boom"); rec.Code != 500 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("api panic: %d %v", rec.Code, rec.Header())
	}
}
