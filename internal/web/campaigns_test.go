package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// mailSink is an SMTP server in the test that keeps each message by
// recipient.
type mailSink struct {
	mu   sync.Mutex
	msgs map[string]string
	addr string
}

type mailSinkSession struct {
	k  *mailSink
	to []string
}

func (s *mailSinkSession) Reset()                               { s.to = nil }
func (s *mailSinkSession) Logout() error                        { return nil }
func (s *mailSinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSinkSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.k.mu.Lock()
	for _, to := range s.to {
		s.k.msgs[to] = string(b)
	}
	s.k.mu.Unlock()
	return nil
}

func newMailSink(t *testing.T) *mailSink {
	k := &mailSink{msgs: map[string]string{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &mailSinkSession{k: k}, nil }))
	srv.Domain = "sink.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return k
}

func (k *mailSink) get(to string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return strings.NewReplacer("=\r\n", "", "=3D", "=", "&amp;", "&").Replace(k.msgs[to])
}

type campaignApp struct {
	*testApp
	campaigns *campaign.Service
	runner    *jobs.Runner
	sink      *mailSink
	sara, ali int64
}

func newCampaignApp(t *testing.T, db *store.DB) *campaignApp {
	t.Helper()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	ca := &campaignApp{testApp: a, sink: newMailSink(t)}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	ca.campaigns = campaign.New(db, campaign.Options{BaseURL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
	ca.runner = jobs.NewRunner(db, slog.New(slog.DiscardHandler), jobs.Options{})
	ca.campaigns.RegisterJobs(ca.runner)
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Campaigns: ca.campaigns, Version: "test", ImportDir: t.TempDir(),
		Segments: func(context.Context) ([]Choice, error) {
			return []Choice{{ID: 7, Name: "مشتریان وفادار"}}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	a.srv = srv
	a.createUser("admin@example.com", crm.RoleAdmin)
	ctx := context.Background()
	st := campaign.DefaultSettings()
	st.SMTP = campaign.SMTPConfig{Host: ca.sink.addr, TLS: "none", Pool: 2}
	st.FromAddress, st.FromName, st.QuietStart, st.QuietEnd = "news@shop.example", "فروشگاه", 0, 0
	if _, err := ca.campaigns.SaveSettings(ctx, st); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		first, email, lang string
		id                 *int64
	}{{"سارا", "sara@example.com", "fa", &ca.sara}, {"Ali", "ali@example.com", "en", &ca.ali}} {
		c, err := a.contacts.CreateContact(ctx, &crm.Contact{FirstName: p.first, Language: p.lang, Emails: []crm.Labeled{{Value: p.email}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.contacts.SetConsent(ctx, c.ID, "email", crm.ConsentGranted, "manual", ""); err != nil {
			t.Fatal(err)
		}
		*p.id = c.ID
	}
	return ca
}

func (ca *campaignApp) drain(t *testing.T) {
	for range 20 {
		n, err := ca.runner.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

var campaignForm = url.Values{"name": {"حراج بهاره"}, "channel": {"email"}, "audience_kind": {"all"}, "default_language": {"fa"},
	"attribution_days": {"۷"}, "fa.subject": {"سلام {{.FirstName}}"}, "fa.text": {"تخفیف بهاره: https://shop.example/spring"},
	"fa.html": {`<p>سلام {{.FirstName}} <a href="https://shop.example/spring">فروشگاه</a></p>`}, "en.subject": {"Hello {{.FirstName}}"},
	"en.text": {"Spring sale: https://shop.example/spring"}, "en.sms": {"ignored for email"}}

// campaignPages renders every campaign page, the editor's errors and the
// public unsubscribe page.
func campaignPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	ca := newCampaignApp(t, storetest.Open(t, db.Dialect()))
	c := ca.client(t)
	c.signIn("admin@example.com")
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {lang},
		"calendar": {"jalali"}, "digits": {"persian"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
	var out []pageResponse
	add := func(p string) { out = append(out, pageResponse{p, c.get(p)}) }
	add("/campaigns")
	add("/campaigns/new")
	add("/campaigns/new?channel=sms")
	add("/settings/campaigns")
	bad := url.Values{"name": {""}, "channel": {"email"}, "fa.subject": {"{{.Nope}}"}, "default_language": {"fa"}, "attribution_days": {"x"}}
	out = append(out, pageResponse{"POST bad campaign", c.post("/campaigns", "/campaigns/new", bad)})
	out = append(out, pageResponse{"POST bad settings", c.post("/settings/campaigns", "/settings/campaigns", url.Values{"smtp.host": {"nohost"}, "time_zone": {"Mars/Base"}})})
	r := c.post("/campaigns", "/campaigns/new", campaignForm)
	mustStatus(t, r, http.StatusSeeOther)
	path := strings.Split(r.location(), "?")[0]
	add(path)
	add(path + "/edit")
	add(path + "?contact=" + strconv.FormatInt(ca.sara, 10))
	out = append(out, pageResponse{"POST bad test send", c.post(path+"/test", path, url.Values{"to": {"not an address"}})})
	lp := locale.For(crm.Preferences{Language: lang, Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"})
	out = append(out, pageResponse{"POST past schedule", c.post(path+"/schedule", path, url.Values{"date": {lp.DateInput(time.Now().AddDate(0, 0, -2))}, "time": {"10:00"}})})
	mustStatus(t, c.post(path+"/schedule", path, url.Values{"date": {lp.DateInput(time.Now().AddDate(0, 0, 2))}, "time": {"۱۰:۳۰"}}), http.StatusSeeOther)
	add(path) // scheduled
	add("/campaigns?status=scheduled")
	mustStatus(t, c.post(path+"/action/start", path, nil), http.StatusSeeOther)
	ca.drain(t)
	add(path)
	add(path + "/deliveries")
	add(path + "/deliveries?status=skipped")
	add("/contacts/" + strconv.FormatInt(ca.sara, 10)) // the timeline entry
	tok := regexp.MustCompile(`/c/u/([0-9a-z]+\.[A-Za-z0-9_-]+)`).FindStringSubmatch(ca.sink.get("sara@example.com"))
	if tok == nil {
		t.Fatalf("no unsubscribe link in\n%s", ca.sink.get("sara@example.com"))
	}
	out = append(out, pageResponse{"/c/u/ (" + lang + ")", ca.client(t).get("/c/u/" + tok[1] + "?lang=" + lang)})
	// The unsubscribe page of a message sent alone (a workflow's email).
	if _, err := ca.campaigns.SendOne(context.Background(), "email", ca.sara, map[string]crm.CampaignContent{"en": {Subject: "Hi", Text: "x"}}, "wf:9:0"); err != nil {
		t.Fatal(err)
	}
	one := regexp.MustCompile(`List-Unsubscribe: <https?://[^/]+/c/u/([^>]+)>`).FindStringSubmatch(ca.sink.get("sara@example.com"))
	if one == nil || one[1] == tok[1] {
		t.Fatalf("no unsubscribe link of its own in the workflow email")
	}
	r1 := ca.client(t).get("/c/u/" + one[1] + "?lang=" + lang)
	mustStatus(t, r1, http.StatusOK)
	out = append(out, pageResponse{"/c/u/ alone (" + lang + ")", r1})
	// An A/B test: the editor with its variants, its errors, the page while
	// the rest waits for the winner, and its deliveries.
	badAB := abForm("1")
	badAB.Set("ab_test_percent", "0")
	badAB.Set("ab1.fa.subject", "{{.Nope}}")
	out = append(out, pageResponse{"POST bad A/B campaign", c.post("/campaigns", "/campaigns/new", badAB)})
	r = c.post("/campaigns", "/campaigns/new", abForm("1"))
	mustStatus(t, r, http.StatusSeeOther)
	path = strings.Split(r.location(), "?")[0]
	add(path + "/edit")
	add(path + "?variant=1")
	mustStatus(t, c.post(path+"/action/start", path, nil), http.StatusSeeOther)
	ca.drain(t)
	add(path)
	add(path + "/deliveries")
	add(path + "/deliveries?status=held")
	return out
}

// abForm is campaignForm as an A/B test with variant B changing the
// Persian subject, percent of the audience in the test.
func abForm(percent string) url.Values {
	f := url.Values{}
	for k, v := range campaignForm {
		f[k] = v
	}
	f.Set("name", "آزمون موضوع")
	f.Set("ab", "on")
	f.Set("ab_test_percent", percent)
	f.Set("ab_metric", "click_rate")
	f.Set("ab_wait_hours", "۴")
	f.Set("ab1.name", "کوتاه")
	f.Set("ab1.fa.subject", "{{.FirstName}}، فقط امروز")
	return f
}

// TestCampaignABFlow: an A/B test made in the editor (errors on the
// variant's own fields), sent: those in the test get their variant, the
// rest waits; "Send to the rest" with B sends B to them; results show
// each variant and the revenue line.
func TestCampaignABFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ca := newCampaignApp(t, db)
		c := ca.client(t)
		c.signIn("admin@example.com")
		bad := abForm("120")
		bad.Set("ab1.fa.subject", "{{range .X}}{{end}}")
		r := c.post("/campaigns", "/campaigns/new", bad)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		for _, id := range []string{`id="c-ab1-fa-subject-error"`, `id="c-ab-percent-error"`} {
			if !strings.Contains(r.body, id) {
				t.Errorf("no %s in the refused form", id)
			}
		}
		r = c.post("/campaigns", "/campaigns/new", abForm("1"))
		mustStatus(t, r, http.StatusSeeOther)
		path := strings.Split(r.location(), "?")[0]
		id, _ := strconv.ParseInt(strings.TrimPrefix(path, "/campaigns/"), 10, 64)
		if pv := c.get(path + "?variant=1&contact=" + strconv.FormatInt(ca.sara, 10)); !strings.Contains(pv.body, "سارا، فقط امروز") {
			t.Errorf("the preview of B does not show B's subject")
		}
		mustStatus(t, c.post(path+"/action/start", path, nil), http.StatusSeeOther)
		ca.drain(t)
		cp, _ := ca.campaigns.Get(context.Background(), id)
		held := 0
		for _, p := range []int64{ca.sara, ca.ali} {
			if campaign.Split(id, p, cp.AB) < 0 {
				held++
			}
		}
		if held == 0 {
			t.Fatalf("nobody held at 1%%: the test needs another split")
		}
		page := c.get(path)
		for _, want := range []string{"کوتاه", `action="/campaigns/` + strconv.FormatInt(id, 10) + `/action/send_rest"`, "Revenue"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("the waiting test's page lacks %q", want)
			}
		}
		mustStatus(t, c.post(path+"/action/send_rest", path, url.Values{"variant": {"1"}}), http.StatusSeeOther)
		ca.drain(t)
		if m := ca.sink.get("sara@example.com"); campaign.Split(id, ca.sara, cp.AB) < 0 && !strings.Contains(m, "Subject: =?utf-8?q?") {
			t.Errorf("Sara's message: %q", m)
		}
		cp, _ = ca.campaigns.Get(context.Background(), id)
		res, _ := ca.campaigns.Results(context.Background(), id)
		if cp.Status != crm.CampaignDone || cp.ABWinner != 1 || res.Sent != 2 || res.Held != 0 {
			t.Errorf("after sending B to the rest: %s winner %d, %+v", cp.Status, cp.ABWinner, res)
		}
		if d := c.get(path + "/deliveries"); !strings.Contains(d.body, "کوتاه") {
			t.Errorf("the deliveries do not name the variant")
		}
	})
}

// TestCampaignFlow goes through the forms as a shop owner would: a
// campaign with a bad template is refused naming the field; a good one is
// previewed, test-sent, sent; a recipient's click redirects only to the
// signed URL; the one-click unsubscribe works without a session or CSRF
// token and withdraws consent.
func TestCampaignFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ca := newCampaignApp(t, db)
		c := ca.client(t)
		c.signIn("admin@example.com")
		bad := url.Values{}
		for k, v := range campaignForm {
			bad[k] = v
		}
		bad.Set("fa.subject", "{{range .X}}{{end}}")
		r := c.post("/campaigns", "/campaigns/new", bad)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.body, `id="c-fa-subject-error"`) || !strings.Contains(r.body, "loops (range) are not allowed") {
			t.Fatalf("the subject's error is not on its field:\n%s", r.body)
		}
		r = c.post("/campaigns", "/campaigns/new", campaignForm)
		mustStatus(t, r, http.StatusSeeOther)
		path := strings.Split(r.location(), "?")[0]
		page := c.get(path + "?contact=" + strconv.FormatInt(ca.sara, 10))
		if !strings.Contains(page.body, "سلام سارا") {
			t.Errorf("the preview does not show Sara's subject")
		}
		pv := c.get(path + "/preview.html?contact=" + strconv.FormatInt(ca.sara, 10))
		if !strings.Contains(pv.body, "سلام سارا") || !strings.Contains(pv.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("preview frame: %s %v", pv.body, pv.header)
		}
		mustStatus(t, c.post(path+"/test", path, url.Values{"to": {"owner@example.com"}}), http.StatusSeeOther)
		if m := ca.sink.get("owner@example.com"); !strings.Contains(m, "Subject: =?utf-8?q?[TEST]") {
			t.Fatalf("test message: %q", m)
		}
		mustStatus(t, c.post(path+"/action/start", path, nil), http.StatusSeeOther)
		ca.drain(t)
		m := ca.sink.get("sara@example.com")
		link := regexp.MustCompile(`https?://[^/]+/c/c/[^\s"<]+`).FindString(m)
		if link == "" {
			t.Fatalf("no tracked link in\n%s", m)
		}
		u, _ := url.Parse(link)
		guest := ca.client(t)
		r = guest.get(u.RequestURI())
		if r.status != http.StatusFound || r.location() != "https://shop.example/spring" {
			t.Fatalf("click: %d %s", r.status, r.location())
		}
		q := u.Query()
		q.Set("u", "https://evil.example/")
		u.RawQuery = q.Encode()
		if r := guest.get(u.RequestURI()); r.status != http.StatusNotFound {
			t.Fatalf("tampered click: %d %s", r.status, r.location())
		}
		unsub := regexp.MustCompile(`List-Unsubscribe: <https?://[^/]+(/c/u/[^>]+)>`).FindStringSubmatch(m)
		if unsub == nil {
			t.Fatalf("no List-Unsubscribe in\n%s", m)
		}
		page = guest.get(unsub[1])
		if page.status != 200 || !strings.Contains(page.body, `lang="fa"`) || !strings.Contains(page.body, `dir="rtl"`) {
			t.Fatalf("unsubscribe page: %d\n%s", page.status, page.body)
		}
		// RFC 8058: a POST from the mailbox provider, no cookie, no token.
		req, _ := http.NewRequest(http.MethodPost, ca.srv.URL+unsub[1], strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://mail.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("one-click unsubscribe: %d", resp.StatusCode)
		}
		p, _ := ca.contacts.FindContactByID(context.Background(), ca.sara)
		if len(p.Consents) == 0 || p.Consents[0].Status != crm.ConsentWithdrawn {
			t.Fatalf("consent after unsubscribing: %+v", p.Consents)
		}
		res := c.get(path)
		if !strings.Contains(res.body, "campaign.sent") && !strings.Contains(res.body, "stat-number") {
			t.Errorf("results page:\n%s", res.body)
		}
	})
}

// TestCampaignScheduleFlow: a Persian user schedules a campaign with a
// Jalali date and Persian digits, sees when it starts, is told when the
// time has passed, and unschedules it.
func TestCampaignScheduleFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ca := newCampaignApp(t, db)
		c := ca.client(t)
		c.signIn("admin@example.com")
		mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {"fa"},
			"calendar": {"jalali"}, "digits": {"persian"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
		r := c.post("/campaigns", "/campaigns/new", campaignForm)
		mustStatus(t, r, http.StatusSeeOther)
		path := strings.Split(r.location(), "?")[0]
		id, _ := strconv.ParseInt(strings.TrimPrefix(path, "/campaigns/"), 10, 64)
		p := locale.For(crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"})

		r = c.post(path+"/schedule", path, url.Values{"date": {p.DateInput(time.Now().AddDate(0, 0, -1))}, "time": {"۱۰:۰۰"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.body, `id="s-date-error"`) || !strings.Contains(r.body, "این زمان گذشته است") {
			t.Fatalf("past time: the error is not on the date field:\n%s", r.body)
		}
		r = c.post(path+"/schedule", path, url.Values{"date": {"۱۴۰۵/۱۳/۴۰"}, "time": {"۱۰:۰۰"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.body, `id="s-date-error"`) {
			t.Fatalf("bad date: no error on the date field")
		}

		day := p.In(time.Now()).AddDate(0, 0, 3)
		mustStatus(t, c.post(path+"/schedule", path, url.Values{"date": {p.DateInput(day)}, "time": {"۱۰:۳۰"}}), http.StatusSeeOther)
		cp, err := ca.campaigns.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(day.Year(), day.Month(), day.Day(), 10, 30, 0, 0, p.Location())
		if cp.Status != crm.CampaignScheduled || cp.ScheduledAt == nil || !cp.ScheduledAt.Equal(want) {
			t.Fatalf("scheduled %s at %v, want %v", cp.Status, cp.ScheduledAt, want)
		}
		page := c.get(path)
		if !strings.Contains(page.body, "زمان‌بندی‌شده: ارسال "+p.DateTime(want)) || !strings.Contains(page.body, "/action/unschedule") {
			t.Fatalf("the page does not say when it starts (%s):\n%s", p.DateTime(want), page.body)
		}
		mustStatus(t, c.post(path+"/action/unschedule", path, nil), http.StatusSeeOther)
		if cp, _ = ca.campaigns.Get(context.Background(), id); cp.Status != crm.CampaignDraft || cp.ScheduledAt != nil {
			t.Fatalf("unscheduled: %s %v", cp.Status, cp.ScheduledAt)
		}
	})
}

// TestCampaignPreviewPersonInputStyled: the preview's person box is a text
// input, so the form styles reach it (without a type it was a bare, tiny
// box beside the styled selects).
func TestCampaignPreviewPersonInputStyled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ca := newCampaignApp(t, db)
		c := ca.client(t)
		c.signIn("admin@example.com")
		r := c.post("/campaigns", "/campaigns/new", campaignForm)
		mustStatus(t, r, http.StatusSeeOther)
		page := c.get(strings.Split(r.location(), "?")[0])
		mustStatus(t, page, http.StatusOK)
		mustContain(t, page, `id="pv-contact" name="contact" type="text"`)
	})
}
