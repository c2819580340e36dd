package web_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// TestServiceSurveyLinkFitsBrowser: the survey link shown on a solved
// phone ticket (for the agent to pass on) stays inside its side card in
// the Persian UI, at desktop and phone width; it ran past the card's
// left edge and off the page.
func TestServiceSurveyLinkFitsBrowser(t *testing.T) {
	shots := requireChromium(t)
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	d := desk.New(db, desk.Options{Resolve: contacts.ResolveCustomer, BaseURL: "https://crm.example.com"})
	agent, err := svc.CreateUser(ctx, crm.UserCreate{Email: "agent@example.com", Name: "سارا احمدی", Password: "correct horse battery",
		Role: crm.RoleSupport, Language: "fa"})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := d.Create(ctx, desk.TicketInput{Subject: "دستگاه اسپرسو چکه می‌کند", Body: "از زیر دستگاه آب می‌آید.", Channel: crm.ChannelPhone,
		AssigneeID: agent.ID, Customer: crm.CustomerRef{Phone: "09121234567", FirstName: "مسعود", LastName: "خسروی"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetStatus(ctx, tk.ID, crm.TicketSolved, 0); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: activity.New(db), Desk: d, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	b := newBrowser(t, shots, 90*time.Second)
	path := srv.URL + "/service/tickets/" + strconv.FormatInt(tk.ID, 10)
	b.do("sign in page", b.use(desktop), chromedp.Navigate(path),
		chromedp.SendKeys(chromedp.ID("email"), "agent@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	b.submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	inside := `(function(){
		var card = document.getElementById("surveys"), link = card && card.querySelector(".code");
		if (!link) return "no survey link";
		var c = card.getBoundingClientRect(), l = link.getBoundingClientRect();
		return (l.left >= c.left - 0.5 && l.right <= c.right + 0.5) ? "" : "link " + l.left + ".." + l.right + " outside card " + c.left + ".." + c.right;
	})()`
	if got := b.eval(inside); got != "" {
		t.Errorf("desktop: %s", got)
	}
	b.shot("fa-desktop-service-survey-link")
	b.do("phone", b.use(viewport{360, 740, true}), chromedp.Reload())
	if got := b.eval(inside); got != "" {
		t.Errorf("phone: %s", got)
	}
	b.fits("solved ticket (phone)")
	b.shot("fa-phone-service-survey-link")
}
