package web

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// serviceApp is the web UI with the service desk (and orders, for
// returns on order lines, and the reports, for the service dashboard).
type serviceApp struct {
	*testApp
	desk   *desk.Service
	orders *order.Service
}

func newServiceTestApp(t *testing.T, db *store.DB) *serviceApp {
	t.Helper()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	sa := &serviceApp{testApp: a, desk: desk.New(db, desk.Options{Resolve: a.contacts.ResolveCustomer, BaseURL: "https://crm.example.com"}),
		orders: order.New(db, order.Options{Resolve: a.contacts.ResolveCustomer})}
	reports := report.New(db, report.Options{Logger: slog.New(slog.DiscardHandler)})
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Desk: sa.desk, Orders: sa.orders, Reports: reports,
		Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return sa
}

// signedIn makes a user of role who prefers lang and signs them in.
func (sa *serviceApp) signedIn(t *testing.T, email string, role crm.Role, lang string) (*client, *crm.User) {
	t.Helper()
	u := sa.createUser(email, role)
	prefs := crm.DefaultPreferences(lang)
	if _, err := sa.auth.UpdatePreferences(context.Background(), u.ID, prefs); err != nil {
		t.Fatal(err)
	}
	c := sa.client(t)
	c.signIn(email)
	return c, u
}

// serviceSeed is what servicePages looks at.
type serviceSeed struct {
	ticket, solved *crm.Ticket
	canned         *crm.CannedReply
	policy         *crm.SLAPolicy
	calendar       *crm.BusinessCalendar
	rule           *crm.EscalationRule
	surveyToken    string
}

// seed makes a calendar, the standard policies, a rule, a canned reply,
// an order, and tickets with a conversation, an attachment, a return, an
// answered survey and an escalation.
func (sa *serviceApp) seed(t *testing.T, admin *crm.User) serviceSeed {
	t.Helper()
	ctx := crm.NewContextWithUser(context.Background(), admin)
	var s serviceSeed
	policies, err := sa.desk.StandardSetup(ctx, "Asia/Tehran")
	if err != nil {
		t.Fatal(err)
	}
	s.policy = policies[0]
	cals, _ := sa.desk.Calendars(ctx)
	s.calendar = cals[0]
	if s.rule, err = sa.desk.SaveRule(ctx, crm.EscalationRule{Name: "Breach → tier 2", Active: true, Trigger: crm.EscalateOnBreach, ToTier: "next"}); err != nil {
		t.Fatal(err)
	}
	if s.canned, err = sa.desk.SaveCannedReply(ctx, crm.CannedReply{Name: "سلام", Bodies: map[string]string{
		"fa": "سلام {customer_name}، درخواست {ticket_number} را بررسی می‌کنیم.", "ar": "مرحبًا {customer_name}", "en": "Hello {customer_name}"}}); err != nil {
		t.Fatal(err)
	}
	o, _, err := sa.orders.Create(ctx, order.Input{Currency: "IRR", Customer: crm.CustomerRef{Phone: "09121112233", FirstName: "سارا", LastName: "رضایی"},
		Lines: []order.LineInput{{SKU: "PR-1", Name: "چاپگر", Quantity: 1, UnitPrice: 5_000_000}}})
	if err != nil {
		t.Fatal(err)
	}
	s.ticket, err = sa.desk.Create(ctx, desk.TicketInput{Subject: "چاپگر کاغذ گیر می‌اندازد", Body: "از دیروز کار نمی‌کند.", Priority: crm.PriorityUrgent,
		Customer: crm.CustomerRef{ContactID: o.ContactID}, Category: "product", Tags: []string{"چاپگر"},
		Attachments: []desk.FileInput{{Filename: "photo.png", Data: []byte("\x89PNG\r\n\x1a\nfake")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.desk.Reply(ctx, s.ticket.ID, desk.ReplyInput{Body: "لطفاً مدل را بفرمایید.", Status: crm.TicketPending}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.desk.Reply(ctx, s.ticket.ID, desk.ReplyInput{Body: "احتمالاً غلتک خراب است.", Note: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.desk.CreateReturn(ctx, s.ticket.ID, desk.ReturnInput{OrderLineID: o.Lines[0].ID, Reason: crm.ReturnDefect, Notes: "غلتک"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.desk.Escalate(ctx, s.ticket.ID, desk.EscalateInput{Reason: "قطعه"}); err != nil {
		t.Fatal(err)
	}
	s.solved, err = sa.desk.Create(ctx, desk.TicketInput{Subject: "Where is my order?", Body: "Order 17", Channel: crm.ChannelWhatsApp,
		Customer: crm.CustomerRef{ContactID: o.ContactID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.desk.SetStatus(ctx, s.solved.ID, crm.TicketSolved, 0); err != nil {
		t.Fatal(err)
	}
	svs, _ := sa.desk.TicketSurveys(ctx, s.solved.ID)
	link, err := sa.desk.SurveyLink(ctx, svs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	s.surveyToken = link[strings.LastIndex(link, "/")+1:]
	if _, err := sa.desk.AnswerSurvey(context.Background(), s.surveyToken, 4, "خوب بود"); err != nil {
		t.Fatal(err)
	}
	// A second survey, still open, for the survey page's form.
	sa.desk.SetStatus(ctx, s.solved.ID, crm.TicketOpen, 0)
	sa.desk.SetStatus(ctx, s.solved.ID, crm.TicketSolved, 0)
	svs, _ = sa.desk.TicketSurveys(ctx, s.solved.ID)
	link, _ = sa.desk.SurveyLink(ctx, svs[1].ID)
	s.surveyToken = link[strings.LastIndex(link, "/")+1:]
	return s
}

// servicePages renders every page of the service desk in lang, with an
// admin signed in, for the every-page-every-language checks: the queues
// (with a bad filter), the new-ticket form (and a failed one), a ticket
// (with a canned reply inserted, and a refused transition), returns,
// canned replies, agents, the settings with policy, calendar and rule
// forms (new and edit, and a failed save), the customer's survey (form,
// failed answer, thanks), the person's timeline with the desk's entries,
// and the service dashboard.
func servicePages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	sa := newServiceTestApp(t, storetest.Open(t, db.Dialect()))
	c, admin := sa.signedIn(t, "service-"+lang+"@example.com", crm.RoleAdmin, lang)
	var out []pageResponse
	add := func(p string) { out = append(out, pageResponse{p, c.get(p)}) }
	add("/settings/service") // no policies yet: the standard setup is offered
	s := sa.seed(t, admin)
	tk := "/service/tickets/" + strconv.FormatInt(s.ticket.ID, 10)
	for _, p := range []string{"/service", "/service?queue=mine", "/service?queue=breaching", "/service?queue=solved", "/service?status=nope",
		"/service?contact=" + strconv.FormatInt(s.ticket.ContactID, 10), "/service/tickets/new", tk, tk + "?canned=" + strconv.FormatInt(s.canned.ID, 10),
		"/service/tickets/" + strconv.FormatInt(s.solved.ID, 10), "/service/returns", "/service/returns?open=0&reason=defect",
		"/service/canned", "/service/canned?edit=" + strconv.FormatInt(s.canned.ID, 10), "/service/agents", "/settings/service",
		"/settings/service/policies/new", "/settings/service/policies/" + strconv.FormatInt(s.policy.ID, 10),
		"/settings/service/calendars/new", "/settings/service/calendars/" + strconv.FormatInt(s.calendar.ID, 10),
		"/settings/service/rules/new", "/settings/service/rules/" + strconv.FormatInt(s.rule.ID, 10),
		"/contacts/" + strconv.FormatInt(s.ticket.ContactID, 10), "/reports/service"} {
		add(p)
	}
	tok := c.csrf("/service/tickets/new")
	out = append(out, pageResponse{"POST /service/tickets", c.post("/service/tickets", "", url.Values{"csrf": {tok}, "subject": {""}, "customer": {""},
		"channel": {"fax"}})})
	out = append(out, pageResponse{"POST " + tk + "/status", c.post(tk+"/status", "", url.Values{"csrf": {tok}, "status": {"new"}})})
	out = append(out, pageResponse{"POST /settings/service/policies/new", c.post("/settings/service/policies/new", "", url.Values{"csrf": {tok},
		"name": {""}, "first_response_minutes": {"x"}})})
	out = append(out, pageResponse{"POST /settings/service/calendars/new", c.post("/settings/service/calendars/new", "", url.Values{"csrf": {tok},
		"name": {"x"}, "time_zone": {"Mars/Olympus"}, "start1_6": {"9"}, "end1_6": {"8"}, "holidays": {"nope"}})})
	out = append(out, pageResponse{"POST /settings/service/rules/new", c.post("/settings/service/rules/new", "", url.Values{"csrf": {tok}, "name": {""},
		"trigger": {"breach"}})})
	visitor := sa.client(t)
	visitor.post("/language", "/signin", url.Values{"lang": {lang}, "next": {"/"}})
	survey := "/survey/" + s.surveyToken
	out = append(out, pageResponse{survey, visitor.get(survey)})
	out = append(out, pageResponse{"POST " + survey + " (error)", visitor.post(survey, survey, url.Values{"rating": {"9"}})})
	out = append(out, pageResponse{"POST " + survey, visitor.post(survey, survey, url.Values{"rating": {"5"}, "comment": {"عالی"}})})
	return out
}

func TestServicePagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, l := range locale.Languages {
			t.Run(l.Code, func(t *testing.T) {
				for _, pr := range servicePages(t, db, l.Code) {
					if i := strings.Index(pr.r.body, locale.MissingMark); i >= 0 {
						t.Errorf("%s %s: missing catalog key near %q", l.Code, pr.path, pr.r.body[i:min(len(pr.r.body), i+60)])
					}
					want := http.StatusOK
					if strings.HasPrefix(pr.path, "POST") && !strings.HasPrefix(pr.path, "POST /survey/") || strings.Contains(pr.path, "nope") ||
						strings.HasSuffix(pr.path, "(error)") {
						want = http.StatusUnprocessableEntity
					}
					if pr.r.status != want {
						t.Errorf("%s %s: status %d, want %d", l.Code, pr.path, pr.r.status, want)
					}
				}
			})
		}
	})
}

// TestServiceTicketFlow drives the desk through the web forms as an agent
// would, in Persian: open a ticket for a caller, reply with a file and a
// canned reply, set it pending, be refused an illegal transition with a
// message that names it, assign, escalate, raise a return, solve; and
// checks the attachment is served safely and the survey refuses staff.
func TestServiceTicketFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newServiceTestApp(t, db)
		c, admin := sa.signedIn(t, "agent@example.com", crm.RoleAdmin, "fa")
		s := sa.seed(t, admin)
		tok := c.csrf("/service/tickets/new")
		r := c.post("/service/tickets", "", url.Values{"csrf": {tok}, "subject": {"گارانتی"}, "body": {"گارانتی دستگاه چقدر است؟"},
			"customer": {"۰۹۱۲۰۰۰۱۱۲۲"}, "first_name": {"رضا"}, "channel": {"phone"}, "priority": {"high"}, "tier": {"tier1"}})
		if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/service/tickets/") {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		tk := strings.Split(r.location(), "?")[0]
		page := c.get(tk)
		mustContain(t, page, "گارانتی", "رضا", "سطح ۱", "زیاد")
		// Reply with a file (multipart) and set pending.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", tok)
		mw.WriteField("kind", "public")
		mw.WriteField("status", "pending")
		mw.WriteField("body", "دو سال گارانتی دارد.")
		fw, _ := mw.CreateFormFile("files", "<script>.html")
		fw.Write([]byte("<html><script>alert(1)</script></html>"))
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, sa.srv.URL+tk+"/reply", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if r := c.do(req); r.status != http.StatusSeeOther {
			t.Fatalf("reply: %d %s", r.status, r.body)
		}
		page = c.get(tk)
		mustContain(t, page, "دو سال گارانتی دارد.", "در انتظار مشتری", "script&gt;.html")
		m := regexp.MustCompile(`href="(/service/attachments/\d+)(\?download=1)?"`).FindStringSubmatch(page.body)
		if m == nil || m[2] == "" {
			t.Fatalf("no download link for the HTML attachment")
		}
		att := c.get(m[1])
		if ct := att.header.Get("Content-Type"); ct != "application/octet-stream" || !strings.HasPrefix(att.header.Get("Content-Disposition"), "attachment") ||
			att.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(att.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("HTML attachment served as %q %q", ct, att.header)
		}
		// Without a CSRF token the upload is refused.
		var b2 bytes.Buffer
		mw = multipart.NewWriter(&b2)
		mw.WriteField("body", "x")
		mw.Close()
		req, _ = http.NewRequest(http.MethodPost, sa.srv.URL+tk+"/reply", &b2)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if r := c.do(req); r.status != http.StatusForbidden {
			t.Errorf("upload without a token: %d", r.status)
		}
		// pending → new is illegal: the page says so in Persian, naming both.
		r = c.post(tk+"/status", "", url.Values{"csrf": {tok}, "status": {"new"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("illegal transition: %d", r.status)
		}
		mustContain(t, r, "تیکت نمی‌تواند از «در انتظار مشتری» به «تازه» برود.")
		// Canned reply in the customer's language.
		r = c.get(tk + "?canned=" + strconv.FormatInt(s.canned.ID, 10))
		mustContain(t, r, "سلام رضا، درخواست #")
		// Assign to me, escalate, return, solve.
		for _, step := range []struct {
			path string
			form url.Values
		}{
			{"/assign", url.Values{"assignee_id": {"me"}}},
			{"/escalate", url.Values{"reason": {"فنی"}}},
			{"/returns", url.Values{"product": {"آداپتور"}, "quantity": {"۲"}, "reason": {"wrong_item"}}},
			{"/status", url.Values{"status": {"solved"}}},
		} {
			step.form.Set("csrf", tok)
			if r := c.post(tk+step.path, "", step.form); r.status != http.StatusSeeOther {
				t.Fatalf("%s: %d %s", step.path, r.status, r.body)
			}
		}
		page = c.get(tk)
		mustContain(t, page, "حل‌شده", "سطح ۲", "۲ × آداپتور", "کالای اشتباه")
		// The survey refuses a signed-in agent.
		survey := "/survey/" + s.surveyToken
		r = c.post(survey, survey, url.Values{"rating": {"5"}})
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("agent answered a survey: %d", r.status)
		}
		// A support user cannot reach the settings.
		cs, _ := sa.signedIn(t, "support@example.com", crm.RoleSupport, "en")
		if r := cs.get("/settings/service"); r.status != http.StatusForbidden {
			t.Errorf("support reached the settings: %d", r.status)
		}
		if r := cs.get("/service"); r.status != http.StatusOK {
			t.Errorf("support queue: %d", r.status)
		}
	})
}

// TestServiceCSSLogicalProperties keeps service.css free of physical
// left and right.
func TestServiceCSSLogicalProperties(t *testing.T) {
	css, err := fs.ReadFile(embedded, "static/service.css")
	if err != nil {
		t.Fatal(err)
	}
	noComments := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(css), "")
	bad := regexp.MustCompile(`(?i)(margin|padding|border)-(left|right)|(^|[\s;{])(left|right)\s*:|text-align\s*:\s*(left|right)|float\s*:\s*(left|right)|clear\s*:\s*(left|right)|border-(top|bottom)-(left|right)-radius`)
	for i, line := range strings.Split(noComments, "\n") {
		if m := bad.FindString(line); m != "" {
			t.Errorf("service.css line %d uses a physical property (%q): %s", i+1, m, strings.TrimSpace(line))
		}
	}
}
