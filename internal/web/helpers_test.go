package web

import (
	"context"
	"html"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

const testPassword = "correct horse battery"

// testApp is the real web handler on a real database, served over HTTP.
type testApp struct {
	t        *testing.T
	auth     *auth.Service
	contacts *contact.Service
	activity *activity.Service
	srv      *httptest.Server

	mu    sync.Mutex
	code  string // the setup code; "" once setup is done
	setup int    // SetupDone calls
}

func newTestApp(t *testing.T, db *store.DB, setupCode string) *testApp {
	t.Helper()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), code: setupCode,
		contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	h, err := New(Options{
		Auth:      a.auth,
		Contacts:  a.contacts,
		Activity:  a.activity,
		Version:   "test",
		ImportDir: t.TempDir(),
		SetupCode: func() string {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.code
		},
		SetupDone: func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.code = ""
			a.setup++
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return a
}

// createUser adds a user as the system (no permission checks).
func (a *testApp) createUser(email string, role crm.Role) *crm.User {
	a.t.Helper()
	u, err := a.auth.CreateUser(context.Background(), crm.UserCreate{Email: email, Name: strings.Split(email, "@")[0], Password: testPassword, Role: role})
	if err != nil {
		a.t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// client is one browser: it keeps cookies and does not follow redirects,
// so tests see them.
type client struct {
	t   *testing.T
	app *testApp
	c   *http.Client
}

func (a *testApp) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, app: a, c: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) location() string { return r.header.Get("Location") }

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.app.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form. Unless the form sets "csrf" itself, it fetches
// csrfFrom first and copies the token out of the page, as a browser would.
func (c *client) post(path, csrfFrom string, form url.Values, header ...string) response {
	c.t.Helper()
	// A copy: callers pass shared forms (package variables), which must
	// not keep one session's token for the next test.
	form = maps.Clone(form)
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && csrfFrom != "" {
		form.Set("csrf", c.csrf(csrfFrom))
	}
	req, err := http.NewRequest(http.MethodPost, c.app.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) csrf(page string) string {
	c.t.Helper()
	r := c.get(page)
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s (status %d)", page, r.status)
	}
	return html.UnescapeString(m[1])
}

// signIn signs in through the form and checks it worked.
func (c *client) signIn(email string) {
	c.t.Helper()
	r := c.post("/signin", "/signin", url.Values{"email": {email}, "password": {testPassword}})
	if r.status != http.StatusSeeOther || r.location() != "/" {
		c.t.Fatalf("sign in %s: status %d, location %q\n%s", email, r.status, r.location(), r.body)
	}
}

func mustContain(t *testing.T, r response, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.body, w) {
			t.Errorf("response (status %d) does not contain %q", r.status, w)
		}
	}
}

func mustStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		body := r.body
		if len(body) > 3000 {
			body = body[:3000]
		}
		t.Fatalf("status %d, want %d\n%s", r.status, want, body)
	}
}
