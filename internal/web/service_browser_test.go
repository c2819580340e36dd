package web_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
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

// TestServiceBrowser: an agent working in the Arabic UI in headless
// Chromium opens their queue, opens a customer's ticket, inserts a canned
// reply in the customer's language, adds to it, sends it and sets the
// ticket to wait on the customer; the conversation then shows the reply
// and the status. Screenshots at desktop and phone width; no page wider
// than a phone. Skipped without Chromium unless PIVAND_TEST_BROWSER=require.
func TestServiceBrowser(t *testing.T) {
	shots := requireChromium(t)
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	d := desk.New(db, desk.Options{Resolve: contacts.ResolveCustomer, BaseURL: "https://crm.example.com"})
	agent, err := svc.CreateUser(ctx, crm.UserCreate{Email: "agent@example.com", Name: "ليلى حداد", Password: "correct horse battery",
		Role: crm.RoleSupport, Language: "ar"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdatePreferences(ctx, agent.ID, crm.Preferences{Language: "ar", Calendar: "gregorian", Digits: "arabic", TimeZone: "Asia/Dubai"}); err != nil {
		t.Fatal(err)
	}
	admin := ctx // the system
	if _, err := d.StandardSetup(ctx, "Asia/Dubai"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SaveCannedReply(admin, crm.CannedReply{Name: "شكر", Bodies: map[string]string{
		"ar": "مرحبًا {customer_name}، شكرًا لتواصلك بخصوص الطلب {ticket_number}.", "en": "Hello {customer_name}"}}); err != nil {
		t.Fatal(err)
	}
	tk, err := d.Create(ctx, desk.TicketInput{Subject: "الطابعة لا تعمل", Body: "اشتريت طابعة الأسبوع الماضي وهي لا تطبع.", Channel: crm.ChannelWhatsApp,
		Priority: crm.PriorityHigh, AssigneeID: agent.ID, Customer: crm.CustomerRef{Phone: "+971501234567", FirstName: "أحمد", LastName: "الخطيب"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: activity.New(db), Desk: d, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	b := newBrowser(t, shots, 90*time.Second)
	do, eval, use, shot, fits, submit := b.do, b.eval, b.use, b.shot, b.fits, b.submit
	phone := viewport{360, 740, true}
	page := func() string { return eval(`document.body.dataset.page`) }

	do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/service"),
		chromedp.SendKeys(chromedp.ID("email"), "agent@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	if page() != "service_queue" || eval(`document.documentElement.dir`) != "rtl" {
		t.Fatalf("after sign-in: page %q dir %q", page(), eval(`document.documentElement.dir`))
	}
	if body := eval(`document.body.innerText`); !strings.Contains(body, "الطابعة لا تعمل") || !strings.Contains(body, "تذاكري") {
		t.Fatalf("queue lacks the ticket:\n%s", body)
	}
	shot("ar-desktop-service-queue")
	do("phone queue", use(phone), chromedp.Reload())
	fits("queue (phone)")
	shot("ar-phone-service-queue")

	do("open the ticket", use(desktop), chromedp.Click(chromedp.CSS(`.ticket-table a[href^="/service/tickets/"]`)), chromedp.WaitVisible(chromedp.ID("reply-body")))
	if page() != "service_ticket" {
		t.Fatalf("page %q", page())
	}
	submit("insert the canned reply", `form.canned-pick button[type="submit"]`, 200)
	if v := eval(`document.getElementById("reply-body").value`); !strings.HasPrefix(v, "مرحبًا أحمد الخطيب، شكرًا لتواصلك بخصوص الطلب #") {
		t.Fatalf("canned reply not inserted: %q", v)
	}
	eval(`(function(){var t=document.getElementById("reply-body"); t.focus(); t.setSelectionRange(t.value.length, t.value.length); return ""})()`)
	do("write the reply",
		chromedp.SendKeys(chromedp.ID("reply-body"), " نرسل لك فنيًا غدًا صباحًا."),
		chromedp.SetValue(chromedp.ID("reply-status"), "pending"))
	shot("ar-desktop-service-ticket-reply")
	submit("send", `form[action$="/reply"] button[type="submit"]`, 200)
	body := eval(`document.querySelector("#conversation").innerText`)
	if !strings.Contains(body, "نرسل لك فنيًا غدًا صباحًا.") || !strings.Contains(body, "ليلى حداد") {
		t.Errorf("the reply is not in the conversation:\n%s", body)
	}
	if h1 := eval(`document.querySelector("h1").innerText`); !strings.Contains(h1, "بانتظار العميل") {
		t.Errorf("status not shown as waiting on the customer: %q", h1)
	}
	if n := eval(`document.querySelector(".alert-ok") ? document.querySelector(".alert-ok").innerText : ""`); n == "" {
		t.Error("no confirmation shown")
	}
	shot("ar-desktop-service-ticket")
	do("phone ticket", use(phone), chromedp.Reload())
	fits("ticket (phone)")
	shot("ar-phone-service-ticket")

	got, err := d.Ticket(admin, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	fr, _ := got.Timer(crm.MetricFirstResponse)
	if got.Status != crm.TicketPending || got.FirstRespondedAt == nil || fr.SatisfiedAt == nil {
		t.Errorf("ticket after the reply: %s, first response %v, timer %+v", got.Status, got.FirstRespondedAt, fr)
	}
	// The person's timeline shows the ticket and the reply.
	do("the person", use(desktop), chromedp.Navigate(srv.URL+"/contacts/"+strconv.FormatInt(got.ContactID, 10)))
	if tl := eval(`document.querySelector("#timeline").innerText`); !strings.Contains(tl, "الطابعة لا تعمل") || !strings.Contains(tl, "نرسل لك فنيًا") {
		t.Errorf("timeline lacks the ticket:\n%s", tl)
	}
	shot("ar-desktop-person-ticket-timeline")
}
