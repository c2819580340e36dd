package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestServiceNoticeBeforeAnchor: forms that send the agent back to a part
// of a page (/settings/service#sla, a ticket's #returns) put the notice in
// the query, before the fragment; after the fragment the browser never
// sent it and the confirmation was never shown.
func TestServiceNoticeBeforeAnchor(t *testing.T) {
	sa := newServiceTestApp(t, storetest.Open(t, store.SQLite))
	c, admin := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
	r := c.post("/settings/service/standard", "/settings/service", nil)
	if r.status != http.StatusSeeOther || r.location() != "/settings/service?notice=sla_created#sla" {
		t.Fatalf("standard policies: %d %q", r.status, r.location())
	}
	mustContain(t, c.get(r.location()), "alert-ok")
	ctx := crm.NewContextWithUser(context.Background(), admin)
	tk, err := sa.desk.Create(ctx, desk.TicketInput{Subject: "Broken cup", Body: "x", Customer: crm.CustomerRef{Email: "sara@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/service/tickets/" + strconv.FormatInt(tk.ID, 10)
	r = c.post(path+"/returns", path, url.Values{"product": {"Cup"}, "reason": {crm.ReturnDefect}})
	if want := path + "?notice=return_requested#returns"; r.status != http.StatusSeeOther || r.location() != want {
		t.Errorf("return request: %d %q, want %q", r.status, r.location(), want)
	}
}

// TestServiceSurveySubjectIsolated: on a Persian survey page an English
// subject is isolated, so the quotes and the ticket number stay around it.
func TestServiceSurveySubjectIsolated(t *testing.T) {
	sa := newServiceTestApp(t, storetest.Open(t, store.SQLite))
	admin := sa.createUser("admin@example.com", crm.RoleAdmin)
	ctx := crm.NewContextWithUser(context.Background(), admin)
	tk, err := sa.desk.Create(ctx, desk.TicketInput{Subject: "Espresso machine leaking", Body: "دستگاه چکه می‌کند.",
		Customer: crm.CustomerRef{Email: "masoud@example.com", FirstName: "مسعود"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.desk.SetStatus(ctx, tk.ID, crm.TicketSolved, 0); err != nil {
		t.Fatal(err)
	}
	svs, _ := sa.desk.TicketSurveys(ctx, tk.ID)
	link, err := sa.desk.SurveyLink(ctx, svs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	r := sa.client(t).get(link[strings.Index(link, "/survey/"):] + "?lang=fa")
	mustContain(t, r, "«\u2068Espresso machine leaking\u2069»")
}

// TestServiceWorkingTimeInHours: a paused timer's working time left and
// the policies' targets read in working hours: 1440 working minutes of an
// eight-hour calendar are three working days, not "1 d".
func TestServiceWorkingTimeInHours(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	// Friday 10:00 in Tehran: the standard calendar does not work then.
	db.Now = func() time.Time { return time.Date(2026, 3, 6, 6, 30, 0, 0, time.UTC) }
	sa := newServiceTestApp(t, db)
	c, admin := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
	ctx := crm.NewContextWithUser(context.Background(), admin)
	if _, err := sa.desk.StandardSetup(ctx, "Asia/Tehran"); err != nil {
		t.Fatal(err)
	}
	tk, err := sa.desk.Create(ctx, desk.TicketInput{Subject: "Where is my order?", Body: "x", Priority: crm.PriorityNormal,
		Customer: crm.CustomerRef{Email: "sara@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sa.desk.Reply(ctx, tk.ID, desk.ReplyInput{Body: "Which order?", Status: crm.TicketPending}); err != nil {
		t.Fatal(err)
	}
	page := c.get("/service/tickets/" + strconv.FormatInt(tk.ID, 10))
	mustContain(t, page, "24 h of working time left")
	settings := c.get("/settings/service")
	mustContain(t, settings, `<td class="nowrap">24 h</td>`)
	if strings.Contains(settings.body, `<td class="nowrap">1 d</td>`) {
		t.Errorf("a target of 1440 working minutes shown as one day")
	}
}

// TestServiceHistoryInTimeOrder: an escalation shows in the ticket's
// history where it happened, not after every later change.
func TestServiceHistoryInTimeOrder(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	now := time.Date(2026, 3, 7, 6, 30, 0, 0, time.UTC)
	db.Now = func() time.Time { return now }
	sa := newServiceTestApp(t, db)
	c, admin := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
	ctx := crm.NewContextWithUser(context.Background(), admin)
	tk, err := sa.desk.Create(ctx, desk.TicketInput{Subject: "Leak", Body: "x", Customer: crm.CustomerRef{Email: "sara@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if _, err := sa.desk.Escalate(ctx, tk.ID, desk.EscalateInput{Reason: "needs a technician"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	if _, err := sa.desk.SetStatus(ctx, tk.ID, crm.TicketSolved, 0); err != nil {
		t.Fatal(err)
	}
	body := c.get("/service/tickets/" + strconv.FormatInt(tk.ID, 10)).body
	esc, solved := strings.Index(body, "needs a technician"), strings.Index(body, "Status: New → Solved")
	if esc < 0 || solved < 0 || esc > solved {
		t.Errorf("history out of order: escalation at %d, the later solve at %d", esc, solved)
	}
}

// TestServiceCSATDigitsReadable: in Persian and Arabic the satisfaction
// figure is not "۵ · ۱۰۰٪": the middle dot looks like the zero of those
// digits ("۵ ۰ ۱۰۰٪"); a comma separates the two numbers.
func TestServiceCSATDigitsReadable(t *testing.T) {
	for lang, want := range map[string]string{"fa": "۴ از ۵، ", "ar": "٤ من ٥، "} {
		sa := newServiceTestApp(t, storetest.Open(t, store.SQLite))
		c, admin := sa.signedIn(t, "manager-"+lang+"@example.com", crm.RoleAdmin, lang)
		sa.seed(t, admin)
		r := c.get("/reports/service")
		mustContain(t, r, want)
		for _, bad := range []string{"از ۵ · ", "من ٥ · "} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s: %q in the report", lang, bad)
			}
		}
	}
}
