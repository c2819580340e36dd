package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestServiceSurveyLanguage: a customer who opens their survey link
// without ever having visited Pivand gets the page in the language they
// wrote in (Arabic here, right to left, where the installation's default
// is Persian), errors included; ?lang= still wins.
func TestServiceSurveyLanguage(t *testing.T) {
	sa := newServiceTestApp(t, storetest.Open(t, store.SQLite))
	admin := sa.createUser("admin@example.com", crm.RoleAdmin)
	ctx := crm.NewContextWithUser(context.Background(), admin)
	tk, err := sa.desk.Create(ctx, desk.TicketInput{Subject: "الطابعة لا تعمل", Body: "مرحبا، الطابعة لا تطبع.", Channel: crm.ChannelEmail,
		Customer: crm.CustomerRef{Email: "sara@example.com"}})
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
	path := link[strings.Index(link, "/survey/"):]
	customer := sa.client(t)
	r := customer.get(path)
	if r.status != http.StatusOK || !strings.Contains(r.body, `<html lang="ar" dir="rtl">`) {
		t.Errorf("survey page for an Arabic-speaking customer: %d, not in Arabic:\n%.400s", r.status, r.body)
	}
	r = customer.post(path, path, url.Values{"rating": {"9"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `<html lang="ar"`) {
		t.Errorf("failed answer: %d, not in Arabic", r.status)
	}
	if r := customer.get(path + "?lang=en"); !strings.Contains(r.body, `<html lang="en"`) {
		t.Errorf("?lang=en ignored")
	}
}

// TestServiceMineEmptyPointsToUnassigned: an agent whose own queue is
// empty is shown how many tickets nobody has, with a link to them.
func TestServiceMineEmptyPointsToUnassigned(t *testing.T) {
	sa := newServiceTestApp(t, storetest.Open(t, store.SQLite))
	admin := sa.createUser("admin@example.com", crm.RoleAdmin)
	ctx := crm.NewContextWithUser(context.Background(), admin)
	c, _ := sa.signedIn(t, "agent@example.com", crm.RoleSupport, "en")
	if r := c.get("/service"); strings.Contains(r.body, `href="/service?queue=unassigned">Nobody`) {
		t.Errorf("pointed to unassigned tickets when there are none")
	}
	for _, subject := range []string{"one", "two"} {
		if _, err := sa.desk.Create(ctx, desk.TicketInput{Subject: subject, Body: "x", Customer: crm.CustomerRef{Email: "sara@example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	r := c.get("/service")
	mustContain(t, r, `<a href="/service?queue=unassigned">Nobody has given you a ticket. Unassigned tickets waiting: 2.</a>`)
}
