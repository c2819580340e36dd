package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
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
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/webhook"
)

// webhookApp is the web UI with webhooks installed, the dispatcher and
// job runner that deliver them, and a receiver answering with status.
type webhookApp struct {
	*testApp
	hooks  *webhook.Service
	disp   *event.Dispatcher
	runner *jobs.Runner

	mu     sync.Mutex
	status int
	got    int
	rcv    *httptest.Server
}

func newWebhookTestApp(t *testing.T, db *store.DB) *webhookApp {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	wa := &webhookApp{testApp: a, hooks: webhook.New(db, webhook.Options{Logger: quiet, DisableAfter: 2, MaxAttempts: 1}),
		disp: event.NewDispatcher(db, quiet), runner: jobs.NewRunner(db, quiet, jobs.Options{}), status: http.StatusOK}
	wa.hooks.Subscribe(wa.disp)
	wa.hooks.RegisterJobs(wa.runner)
	wa.pump(t)
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Webhooks: wa.hooks, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	wa.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		wa.mu.Lock()
		wa.got++
		st := wa.status
		wa.mu.Unlock()
		w.WriteHeader(st)
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(wa.rcv.Close)
	return wa
}

func (wa *webhookApp) pump(t *testing.T) {
	t.Helper()
	if err := wa.disp.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := wa.runner.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (wa *webhookApp) signedIn(t *testing.T, email string, role crm.Role, lang string) *client {
	t.Helper()
	u := wa.createUser(email, role)
	if _, err := wa.auth.UpdatePreferences(context.Background(), u.ID, crm.DefaultPreferences(lang)); err != nil {
		t.Fatal(err)
	}
	c := wa.client(t)
	c.signIn(email)
	return c
}

var (
	webhookIDRE = regexp.MustCompile(`action="/settings/webhooks/(\d+)/ping"`)
	secretRE    = regexp.MustCompile(`id="wh-secret"[^>]*value="(whsec_[^"]+)"`)
	inboundRE   = regexp.MustCompile(`id="in-address"[^>]*value="[^"]*(/api/v1/hooks/in/pvh_[^"]+)"`)
)

// webhookPages visits every webhook page in lang, with a subscription
// that has deliveries (one failing), one switched off after failures, and
// an inbound hook that received a document, and posts each form wrongly once.
func webhookPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	wa := newWebhookTestApp(t, storetest.Open(t, db.Dialect()))
	c := wa.signedIn(t, "hooks-"+lang+"@example.com", crm.RoleAdmin, lang)
	var out []pageResponse
	add := func(p string) { out = append(out, pageResponse{p, c.get(p)}) }
	add("/settings/webhooks") // empty
	add("/settings/webhooks/new")
	out = append(out, pageResponse{"POST /settings/webhooks/new (errors)", c.post("/settings/webhooks/new", "/settings/webhooks/new",
		url.Values{"url": {"http://10.0.0.1/x"}, "other": {"Bad!"}})})
	out = append(out, pageResponse{"POST /settings/webhooks/settings (errors)", c.post("/settings/webhooks/settings", "/settings/webhooks",
		url.Values{"allowed_hosts": {"not a host!"}})})
	c.post("/settings/webhooks/settings", "/settings/webhooks", url.Values{"allowed_hosts": {"127.0.0.1"}})
	made := c.post("/settings/webhooks/new", "/settings/webhooks/new", url.Values{"url": {wa.rcv.URL + "/hook"}, "type": {"contact.*", "deal.won"}, "active": {"1"}})
	out = append(out, pageResponse{"POST /settings/webhooks/new", made})
	m := webhookIDRE.FindStringSubmatch(made.body)
	if m == nil {
		t.Fatalf("no subscription made: %d %s", made.status, made.body)
	}
	page := "/settings/webhooks/" + m[1]
	if _, err := wa.contacts.CreateContact(context.Background(), &crm.Contact{FirstName: "Sara"}, true); err != nil {
		t.Fatal(err)
	}
	wa.mu.Lock()
	wa.status = http.StatusBadRequest
	wa.mu.Unlock()
	c.post(page+"/ping", page, nil)
	wa.pump(t)
	failing := c.post("/settings/webhooks/new", "/settings/webhooks/new", url.Values{"url": {wa.rcv.URL + "/other"}, "name": {"ERP"}, "type": {"contact.created"}, "active": {"1"}})
	for range 2 {
		wa.contacts.CreateContact(context.Background(), &crm.Contact{FirstName: "Reza"}, true)
		wa.pump(t)
	}
	off := "/settings/webhooks/" + webhookIDRE.FindStringSubmatch(failing.body)[1]
	in := c.post("/settings/webhooks/in", "/settings/webhooks", url.Values{"name": {"Shop"}})
	out = append(out, pageResponse{"POST /settings/webhooks/in", in})
	out = append(out, pageResponse{"POST /settings/webhooks/in (error)", c.post("/settings/webhooks/in", "/settings/webhooks", url.Values{"name": {""}})})
	if m := inboundRE.FindStringSubmatch(in.body); m != nil {
		if _, err := wa.hooks.Receive(context.Background(), strings.TrimPrefix(m[1], webhook.InboundPath), "application/json", strings.NewReader(`{"order":{"id":17}}`), "203.0.113.5"); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Fatalf("no inbound address shown: %s", in.body)
	}
	hooks, _ := wa.hooks.InboundHooks(context.Background())
	inPage := fmt.Sprintf("/settings/webhooks/in/%d", hooks[0].ID)
	for _, p := range []string{"/settings/webhooks", page, page + "?status=failed", off, inPage} {
		add(p)
	}
	out = append(out, pageResponse{"POST " + page + "/secret", c.post(page+"/secret", page, nil)})
	out = append(out, pageResponse{"POST " + page + " (errors)", c.post(page, page, url.Values{"url": {"ftp://x"}, "active": {"1"}})})
	out = append(out, pageResponse{"POST " + inPage + "/token", c.post(inPage+"/token", inPage, nil)})
	out = append(out, pageResponse{"POST " + inPage + "/save (error)", c.post(inPage+"/save", inPage, url.Values{"name": {""}})})
	return out
}

func TestWebhookPagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, l := range locale.Languages {
			for _, pr := range webhookPages(t, db, l.Code) {
				if strings.Contains(pr.r.body, locale.MissingMark) {
					t.Errorf("%s %s: a catalog key is missing", l.Code, pr.path)
				}
				if pr.r.status >= 500 || pr.r.status == http.StatusNotFound || pr.r.status == http.StatusForbidden {
					t.Errorf("%s %s: status %d", l.Code, pr.path, pr.r.status)
				}
			}
		}
	})
}

// TestWebhookFlow uses the pages as an administrator would: subscribe,
// see the secret once, see the delivery in the log, redeliver it, see a
// subscription switched off after failures with its banner and switch it
// on again.
func TestWebhookFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		wa := newWebhookTestApp(t, db)
		c := wa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
		r := c.post("/settings/webhooks/new", "/settings/webhooks/new", url.Values{"url": {wa.rcv.URL + "/hook"}, "type": {"contact.created"}, "active": {"1"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Plain http is only for hosts", `aria-invalid="true"`)
		mustStatus(t, c.post("/settings/webhooks/settings", "/settings/webhooks", url.Values{"allowed_hosts": {"127.0.0.1"}}), http.StatusSeeOther)
		r = c.post("/settings/webhooks/new", "/settings/webhooks/new", url.Values{"url": {wa.rcv.URL + "/hook"}, "active": {"1"}})
		mustContain(t, r, "Choose at least one event type")
		r = c.post("/settings/webhooks/new", "/settings/webhooks/new", url.Values{"url": {wa.rcv.URL + "/hook"}, "type": {"contact.created"}, "other": {"segment.*"}, "active": {"1"}})
		mustStatus(t, r, http.StatusCreated)
		secret := secretRE.FindStringSubmatch(r.body)
		if secret == nil {
			t.Fatalf("no secret shown:\n%s", r.body)
		}
		page := "/settings/webhooks/" + webhookIDRE.FindStringSubmatch(r.body)[1]
		again := c.get(page)
		if strings.Contains(again.body, secret[1]) {
			t.Fatal("the secret is shown twice")
		}
		mustContain(t, again, `value="segment.*"`, `value="contact.created" checked`)
		wa.contacts.CreateContact(context.Background(), &crm.Contact{FirstName: "Sara"}, true)
		wa.pump(t)
		log := c.get(page)
		mustContain(t, log, "contact.created", "Delivered", `/redeliver"`, "&#34;subject&#34;")
		rd := regexp.MustCompile(`action="(/settings/webhooks/\d+/deliveries/\d+/redeliver)"`).FindStringSubmatch(log.body)
		mustStatus(t, c.post(rd[1], page, nil), http.StatusSeeOther)
		wa.pump(t)
		if wa.got != 2 {
			t.Fatalf("receiver got %d requests", wa.got)
		}
		// Two failed deliveries in a row switch it off (DisableAfter 2).
		wa.mu.Lock()
		wa.status = http.StatusNotFound
		wa.mu.Unlock()
		for range 2 {
			wa.contacts.CreateContact(context.Background(), &crm.Contact{FirstName: "Reza"}, true)
			wa.pump(t)
		}
		list := c.get("/settings/webhooks")
		mustContain(t, list, "was switched off", "2 deliveries in a row failed", "Off after failures")
		n := c.get("/")
		mustContain(t, n, "Webhook switched off after repeated failures")
		mustStatus(t, c.post(page+"/active", "/settings/webhooks", url.Values{"on": {"1"}, "back": {"list"}}), http.StatusSeeOther)
		if strings.Contains(c.get("/settings/webhooks").body, "was switched off") {
			t.Fatal("the banner stays after switching it on")
		}
		// Others may not see the page.
		sales := wa.signedIn(t, "sales@example.com", crm.RoleSales, "en")
		if r := sales.get("/settings/webhooks"); r.status != http.StatusForbidden {
			t.Fatalf("sales user: %d", r.status)
		}
	})
}
