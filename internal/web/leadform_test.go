package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

type leadformApp struct {
	*testApp
	db     *store.DB
	forms  *leadform.Service
	sales  *sales.Service
	runner *jobs.Runner
	events *event.Dispatcher
	sink   *mailSink
}

// newLeadformApp wires the lead forms as internal/app does: people
// through the contacts, leads through sales, confirmation mail through
// the campaign SMTP settings (a real SMTP server in the test).
func newLeadformApp(t *testing.T, db *store.DB) *leadformApp {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	la := &leadformApp{testApp: a, db: db, sink: newMailSink(t)}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	camps := campaign.New(db, campaign.Options{BaseURL: srv.URL, Logger: quiet})
	la.sales = sales.New(db, sales.Options{Region: "IR", Logger: quiet})
	la.forms = leadform.New(db, leadform.Options{Person: a.contacts.PersonForForm, Mail: camps.SendMail, BaseURL: srv.URL, Region: "IR", Logger: quiet,
		Lead: func(ctx context.Context, tx *store.Tx, l leadform.Lead) (int64, error) {
			owner := l.OwnerID
			lead, err := la.sales.LeadForForm(ctx, tx, sales.LeadInput{FirstName: l.FirstName, LastName: l.LastName, Email: l.Email, Phone: l.Phone,
				CompanyName: l.CompanyName, JobTitle: l.JobTitle, Notes: l.Notes, Source: l.Source, OwnerID: &owner})
			if err != nil {
				return 0, err
			}
			return lead.ID, nil
		},
		Validate: func(ctx context.Context, tx *store.Tx, root crm.Rule) (crm.Rule, error) {
			fields, err := tx.ConditionFields(ctx)
			if err != nil {
				return crm.Rule{}, err
			}
			return segment.Validate(root, fields)
		}})
	la.runner = jobs.NewRunner(db, quiet, jobs.Options{})
	la.forms.RegisterJobs(la.runner)
	la.events = event.NewDispatcher(db, quiet)
	la.forms.Subscribe(la.events)
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Campaigns: camps, LeadForms: la.forms, Version: "test",
		ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	a.srv = srv
	a.createUser("admin@example.com", crm.RoleAdmin)
	st := campaign.DefaultSettings()
	st.SMTP = campaign.SMTPConfig{Host: la.sink.addr, TLS: "none", Pool: 1}
	st.FromAddress, st.FromName = "news@shop.example", "فروشگاه"
	if _, err := camps.SaveSettings(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	return la
}

func (la *leadformApp) drain(t *testing.T) {
	t.Helper()
	for range 20 {
		if err := la.events.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, err := la.runner.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// leadFormValues is the editor's post for a form in lang.
func leadFormValues(name, lang string, doi bool) url.Values {
	v := url.Values{"name": {name}, "language": {lang}, "active": {"on"}, "consent_channel": {"email"},
		"consent_text": {"بله، خبرنامهٔ ایمیلی را می‌خواهم."}, "lead_source": {"website"}, "rows": {"5"},
		"f0.key": {"first_name"}, "f0.required": {"on"}, "f0.label_fa": {"نام شما"}, "f0.label_en": {"Your name"},
		"f1.key": {"email"}, "f1.required": {"on"}, "f2.key": {"phone"}, "f3.key": {"company"}, "f4.key": {"message"}}
	if doi {
		v.Set("double_opt_in", "on")
	}
	return v
}

// createLeadForm makes a form through the editor and returns its id and
// public path.
func (la *leadformApp) createLeadForm(t *testing.T, c *client, v url.Values) (int64, string) {
	t.Helper()
	r := c.post("/marketing/forms", "/marketing/forms/new", v)
	mustStatus(t, r, http.StatusSeeOther)
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.Split(r.location(), "?")[0], "/marketing/forms/"), 10, 64)
	if err != nil {
		t.Fatalf("location %q", r.location())
	}
	f, err := la.forms.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return id, "/f/" + f.PublicID
}

// leadformPages renders every lead form and scoring page, their errors,
// and the public pages in a form of language lang.
func leadformPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	la := newLeadformApp(t, storetest.Open(t, db.Dialect()))
	c := la.client(t)
	c.signIn("admin@example.com")
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {lang},
		"calendar": {"jalali"}, "digits": {"persian"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
	var out []pageResponse
	add := func(p string) { out = append(out, pageResponse{p, c.get(p)}) }
	add("/marketing/forms")
	add("/marketing/forms/new")
	bad := leadFormValues("", lang, false)
	bad.Set("f2.key", "email")
	out = append(out, pageResponse{"POST bad form", c.post("/marketing/forms", "/marketing/forms/new", bad)})
	id, public := la.createLeadForm(t, c, leadFormValues("Contact us", lang, true))
	visitor := la.client(t)
	out = append(out, pageResponse{"public", visitor.get(public)})
	out = append(out, pageResponse{"public embed", visitor.get(public + "?embed=1")})
	out = append(out, pageResponse{"public errors", visitor.post(public, "", url.Values{"email": {"nope"}})})
	out = append(out, pageResponse{"public thanks", visitor.post(public, "", url.Values{"first_name": {"سارا"}, "email": {"sara@example.com"}, "consent": {"yes"}})})
	la.drain(t)
	m := regexp.MustCompile(`/f/[a-z0-9]+/confirm/[0-9a-z]+\.[A-Za-z0-9_-]+`).FindString(la.sink.get("sara@example.com"))
	if m == "" {
		t.Fatalf("no confirmation link in %q", la.sink.get("sara@example.com"))
	}
	out = append(out, pageResponse{"confirm page", visitor.get(m)})
	out = append(out, pageResponse{"confirmed", visitor.post(m, "", nil)})
	add("/marketing/forms/" + strconv.FormatInt(id, 10))
	subs, _, err := la.forms.Submissions(context.Background(), id, crm.Page{Limit: 1})
	if err != nil || len(subs) != 1 {
		t.Fatalf("submissions: %v %v", subs, err)
	}
	add("/contacts/" + strconv.FormatInt(subs[0].ContactID, 10)) // the timeline entries and the score
	add("/marketing/scoring")
	out = append(out, pageResponse{"POST bad rule", c.post("/marketing/scoring", "/marketing/scoring", url.Values{"kind": {"attribute"}, "preset": {"tag"}, "points": {"x"}})})
	mustStatus(t, c.post("/marketing/scoring", "/marketing/scoring", url.Values{"name": {"Forms"}, "kind": {"behaviour"},
		"event_type": {"form.submitted"}, "points": {"۱۰"}}), http.StatusSeeOther)
	add("/marketing/scoring")
	rules, err := la.forms.Rules(context.Background())
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules: %v %v", rules, err)
	}
	edit := "/marketing/scoring/" + strconv.FormatInt(rules[0].ID, 10)
	add(edit + "/edit")
	out = append(out, pageResponse{"POST bad rule edit", c.post(edit, edit+"/edit", url.Values{"name": {""}, "kind": {"attribute"}, "preset": {"json"},
		"condition_json": {`{"field":"nope","op":"eq","value":1}`}, "points": {"x"}})})
	return out
}

// TestLeadFormFlow goes through the real router: an admin builds a form,
// a visitor fills in its public page in Persian (errors per field in
// Persian, right to left, embeddable), the person, lead, submission,
// timeline entry and score appear, the honeypot and the rate limit hold,
// and double opt-in grants consent only from the emailed link.
func TestLeadFormFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		la := newLeadformApp(t, db)
		ctx := context.Background()
		c := la.client(t)
		c.signIn("admin@example.com")
		id, public := la.createLeadForm(t, c, leadFormValues("تماس با ما", "fa", false))
		edit := c.get("/marketing/forms/" + strconv.FormatInt(id, 10))
		mustContain(t, edit, public+"?embed=1", "&lt;iframe")

		v := la.client(t)
		page := v.get(public)
		mustStatus(t, page, http.StatusOK)
		mustContain(t, page, `<html lang="fa" dir="rtl">`, "نام شما", `name="website"`, "بله، خبرنامهٔ ایمیلی را می‌خواهم.")
		if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") || page.header.Get("X-Frame-Options") != "" {
			t.Fatalf("public form headers: CSP %q, X-Frame-Options %q", csp, page.header.Get("X-Frame-Options"))
		}
		// Bad input: the form again, in Persian, with each field's problem.
		r := v.post(public, "", url.Values{"email": {"نه-ایمیل"}, "phone": {"12"}, "company": {"پارس"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `dir="rtl"`, "لطفاً این را پر کنید.", "این نشانی ایمیل نیست.", "این شمارهٔ تلفن نیست.", `value="پارس"`)
		// A good one, from a page embedded elsewhere.
		r = v.post(public+"?embed=1", "", url.Values{"first_name": {"سارا"}, "email": {"Sara@Example.com"}, "phone": {"۰۹۱۲ ۱۲۳ ۴۵۶۷"},
			"company": {"کاشی پارس"}, "message": {"لطفاً تماس بگیرید"}, "consent": {"yes"}, "embed": {"1"}}, "Origin", "https://shop.example")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "سپاس", `data-page="leadform_embed"`)
		subs, _, err := la.forms.Submissions(ctx, id, crm.Page{Limit: 10})
		if err != nil || len(subs) != 1 || subs[0].ContactID == 0 || subs[0].LeadID == 0 {
			t.Fatalf("submissions: %+v %v", subs, err)
		}
		person, err := la.contacts.FindContactByID(ctx, subs[0].ContactID)
		if err != nil || person.FirstName != "سارا" || len(person.Consents) != 1 || person.Consents[0].Note != "بله، خبرنامهٔ ایمیلی را می‌خواهم." {
			t.Fatalf("person: %+v %v", person, err)
		}
		lead, _, err := la.sales.ListLeads(ctx, crm.LeadFilter{Source: "website"})
		if err != nil || len(lead) != 1 || lead[0].CompanyName != "کاشی پارس" {
			t.Fatalf("lead: %+v %v", lead, err)
		}
		// The honeypot: thanked, nothing stored.
		r = v.post(public, "", url.Values{"first_name": {"Bot"}, "email": {"bot@example.com"}, "website": {"http://spam.example"}})
		mustStatus(t, r, http.StatusOK)
		if subs, _, _ = la.forms.Submissions(ctx, id, crm.Page{Limit: 10}); len(subs) != 1 {
			t.Fatalf("honeypot stored a submission: %d", len(subs))
		}
		// Scoring from the web: a rule, the recompute, the score on the person's page.
		mustStatus(t, c.post("/marketing/scoring", "/marketing/scoring", url.Values{"name": {"Forms"}, "kind": {"behaviour"},
			"event_type": {"form.submitted"}, "points": {"25"}}), http.StatusSeeOther)
		mustStatus(t, c.post("/marketing/scoring", "/marketing/scoring", url.Values{"name": {"Has a company"}, "kind": {"attribute"},
			"preset": {"has_company"}, "points": {"5"}}), http.StatusSeeOther)
		la.drain(t)
		if n, err := la.forms.Score(ctx, person.ID); err != nil || n != 25 {
			t.Fatalf("score: %d %v", n, err)
		}
		mustContain(t, c.get("/marketing/scoring"), "fills in a form", "Has a company")
		// Editing a rule: shown with its preset, saved, the scores recomputed.
		rules, err := la.forms.Rules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, rule := range rules {
			edit := "/marketing/scoring/" + strconv.FormatInt(rule.ID, 10)
			switch rule.Name {
			case "Has a company":
				mustContain(t, c.get(edit+"/edit"), `<option value="has_company" selected>`, `value="5"`)
			case "Forms":
				mustStatus(t, c.post(edit, edit+"/edit", url.Values{"name": {"Forms, more"}, "kind": {"behaviour"},
					"event_type": {"form.submitted"}, "points": {"40"}}), http.StatusSeeOther)
				r := c.post(edit, edit+"/edit", url.Values{"name": {"Forms, more"}, "kind": {"attribute"}, "preset": {"json"},
					"condition_json": {`{"field":"orders.count","op":"gte","value":"many"}`}, "points": {"40"}})
				mustStatus(t, r, http.StatusUnprocessableEntity)
				mustContain(t, r, `id="ls-json-error"`)
			}
		}
		la.drain(t)
		if n, err := la.forms.Score(ctx, person.ID); err != nil || n != 40 {
			t.Fatalf("score after the edit: %d %v", n, err)
		}
		mustContain(t, c.get("/marketing/scoring"), "Forms, more")
		// The score as a column of the people list, once chosen.
		mustStatus(t, c.post("/contacts/columns", "/contacts", url.Values{"col": {"email", "lead.score"}, "next": {"/contacts"}}), http.StatusSeeOther)
		mustContain(t, c.get("/contacts"), `<span class="num">40</span>`)
		mustContain(t, c.get("/contacts/"+strconv.FormatInt(person.ID, 10)), "lf-score", ">40<", "Filled in the form تماس با ما")
		// Submissions from one address are limited (10 a minute).
		var last response
		for range 11 {
			last = v.post(public, "", url.Values{"first_name": {"X"}, "email": {"x@example.com"}})
		}
		mustStatus(t, last, http.StatusTooManyRequests)
		mustContain(t, last, "دوباره بکوشید")
		// An unknown form.
		mustStatus(t, v.get("/f/nosuchform"), http.StatusNotFound)
	})
}
