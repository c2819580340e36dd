package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// syncBuffer is a bytes.Buffer safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func noenv(string) string { return "" }

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// pivand runs one command line and returns its exit code and output.
func pivand(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"serve", "-h"}, {"migrate", "-h"}, {"user", "-h"}, {"user", "create", "-h"},
		{"token", "-h"}, {"token", "create", "-h"}, {"backup", "-h"}, {"version", "-h"}} {
		code, out, errs := pivand(t, noenv, args...)
		if code != 0 || !strings.Contains(out, "sage") || errs != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	code, out, _ := pivand(t, noenv, "version")
	if code != 0 || !strings.HasPrefix(out, "pivand ") {
		t.Errorf("version: %d %q", code, out)
	}
	usage := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"frobnicate"}, nil, "unknown command"},
		{[]string{"serve", "--port", "1"}, nil, "flag provided but not defined"},
		{[]string{"serve", "--addr", "nonsense"}, nil, "--addr"},
		{[]string{"migrate"}, map[string]string{"PIVAND_DATABASE_URL": "mysql://root:hunter2@db/crm"}, "postgres://"},
		{[]string{"user", "create", "--data", t.TempDir(), "--email", "a@example.com"}, nil, "missing --password, --role"},
		{[]string{"user", "create", "--data", t.TempDir(), "--email", "bad", "--password", "0123456789", "--role", "chief"}, nil, "role"},
		{[]string{"token", "create", "--data", t.TempDir()}, nil, "--email"},
		{[]string{"backup", "--data", t.TempDir()}, nil, "--out"},
	}
	for _, u := range usage {
		code, _, errs := pivand(t, envOf(u.env), u.args...)
		if code != 2 || !strings.Contains(errs, u.want) || strings.Contains(errs, "goroutine") || strings.Contains(errs, "hunter2") {
			t.Errorf("%v: code %d, stderr %q; want 2 and %q", u.args, code, errs, u.want)
		}
	}
}

func TestUnreachableDatabase(t *testing.T) {
	code, _, errs := pivand(t, noenv, "migrate", "--database-url", "postgres://nobody:pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if code != 1 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, "cannot open database") || strings.Contains(errs, ":pw@") {
		t.Fatalf("code %d stderr %q", code, errs)
	}
}

func TestUserTokenBackup(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := pivand(t, noenv, "user", "create", "--data", dir, "--email", "Owner@Example.com", "--password", "a very good password", "--role", "admin")
	if code != 0 || !strings.Contains(out, "owner@example.com") {
		t.Fatalf("user create: %d %q %q", code, out, errs)
	}
	code, _, errs = pivand(t, noenv, "user", "create", "--data", dir, "--email", "owner@example.com", "--password", "a very good password", "--role", "admin")
	if code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("duplicate user: %d %q", code, errs)
	}
	code, out, errs = pivand(t, envOf(map[string]string{"PIVAND_DATA": dir}), "token", "create", "--email", "owner@example.com", "--name", "ci")
	if code != 0 || !regexp.MustCompile(`^pvd_[A-Za-z0-9_-]{43}\n$`).MatchString(out) {
		t.Fatalf("token create: %d %q %q", code, out, errs)
	}
	code, _, errs = pivand(t, noenv, "token", "create", "--data", dir, "--email", "ghost@example.com")
	if code != 1 || !strings.Contains(errs, "no user") {
		t.Fatalf("token for unknown user: %d %q", code, errs)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	code, out, errs = pivand(t, noenv, "backup", "--data", dir, "--out", backup)
	if code != 0 || !strings.Contains(out, "Wrote") {
		t.Fatalf("backup: %d %q %q", code, out, errs)
	}
	code, _, errs = pivand(t, noenv, "backup", "--data", dir, "--out", backup)
	if code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("backup over existing: %d %q", code, errs)
	}
	code, _, errs = pivand(t, noenv, "backup", "--database-url", "postgres://x@127.0.0.1/x", "--out", backup+"2")
	if code != 1 || !strings.Contains(errs, "pg_dump") {
		t.Fatalf("backup on postgres: %d %q", code, errs)
	}
}

// serve starts `pivand serve` in the background and returns its base URL.
func serve(t *testing.T, getenv func(string) string, args ...string) (string, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), getenv, strings.NewReader(""), out, errb)
	}()
	re := regexp.MustCompile(`running at (http://\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			stop := func() int { cancel(); return <-done }
			t.Cleanup(func() { cancel() })
			return m[1], out, stop
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start: %s %s", out.String(), errb.String())
	return "", nil, nil
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeSQLite(t *testing.T) {
	dir := t.TempDir()
	base, out, stop := serve(t, noenv, "--data", dir)
	if !strings.Contains(out.String(), "/setup") || !regexp.MustCompile(`setup code [2-9A-Z]{4}-[2-9A-Z]{4}`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "pivand user create") {
		t.Fatalf("first-run instructions missing: %s", out.String())
	}
	if code, body := get(t, base+"/healthz", ""); code != 200 {
		t.Fatalf("healthz %d %s", code, body)
	}
	if code, _ := get(t, base+"/readyz", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	if code, _ := get(t, base+"/api/v1/me", ""); code != 401 {
		t.Fatalf("me without token: %d", code)
	}
	// A second server on the same data directory is refused.
	code, _, errs := pivand(t, noenv, "serve", "--addr", "127.0.0.1:0", "--data", dir)
	if code != 1 || !strings.Contains(errs, "locked by another running pivand") {
		t.Fatalf("second serve: %d %q", code, errs)
	}
	// Commands work beside a running server.
	if code, _, errs := pivand(t, noenv, "user", "create", "--data", dir, "--email", "a@example.com", "--password", "a very good password", "--role", "admin"); code != 0 {
		t.Fatalf("user create beside server: %s", errs)
	}
	_, tok, _ := pivand(t, noenv, "token", "create", "--data", dir, "--email", "a@example.com")
	code, body := get(t, base+"/api/v1/me", strings.TrimSpace(tok))
	var me struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Role string `json:"role"`
	}
	json.Unmarshal([]byte(body), &me)
	if code != 200 || me.User.Email != "a@example.com" || me.Role != "admin" {
		t.Fatalf("me: %d %s", code, body)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exit code %d", code)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pivand.lock")); len(bytes.TrimSpace(b)) != 0 {
		t.Fatalf("lock file still names a pid: %q", b)
	}
}

func TestServePostgresNeedsMigrate(t *testing.T) {
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		t.Skip(storetest.PostgresURLEnv + " is not set")
	}
	url := storetest.URL(t, store.Postgres)
	env := envOf(map[string]string{"PIVAND_DATABASE_URL": url})
	code, _, errs := pivand(t, env, "serve", "--addr", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errs, "pending migration") || !strings.Contains(errs, "pivand migrate") {
		t.Fatalf("serve before migrate: %d %q", code, errs)
	}
	code, out, errs := pivand(t, env, "migrate")
	if code != 0 || !strings.Contains(out, "Applied") {
		t.Fatalf("migrate: %d %q %q", code, out, errs)
	}
	if code, out, _ := pivand(t, env, "migrate"); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %d %q", code, out)
	}
	base, _, stop := serve(t, env)
	if code, _ := get(t, base+"/readyz", ""); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
