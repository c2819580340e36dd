package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// TestContactsBrowser drives the contacts pages in headless Chromium, in
// the Persian UI: create «علی رضایی» with a phone typed in Persian digits,
// find them by typing the Arabic spelling «علي رضائي» in the search box,
// create them again (duplicate warning, save anyway), merge the two on the
// merge page and check one remains with the merge on the timeline. It
// takes screenshots at desktop and phone (360 px) width in Persian and
// English, into $PIVAND_SCREENSHOT_DIR when set, and checks that no page
// is wider than a phone. Skipped without Chromium unless
// PIVAND_TEST_BROWSER=require.
func TestContactsBrowser(t *testing.T) {
	shots := requireChromium(t)

	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	acts := activity.New(db)
	admin, err := svc.CreateUser(ctx, crm.UserCreate{Email: "admin@example.com", Name: "نرگس احمدی",
		Password: "correct horse battery", Role: crm.RoleAdmin, Language: "fa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdatePreferences(ctx, admin.ID, crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}); err != nil {
		t.Fatal(err)
	}
	// A little company, a custom field and a neighbour, so the pages are not empty.
	company, err := contacts.CreateCompany(ctx, &crm.Company{Name: "بازرگانی پارس", Domain: "pars.example", Industry: "پخش"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := contacts.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "vip", Label: "سطح مشتری", Type: crm.FieldSelect,
		Options: []string{"طلایی", "نقره‌ای"}, ShowInList: true}); err != nil {
		t.Fatal(err)
	}
	owner := admin.ID
	if _, err := contacts.CreateContact(ctx, &crm.Contact{FirstName: "مریم", LastName: "کاظمی", Emails: []crm.Labeled{{Value: "maryam@example.com"}},
		Phones: []crm.Labeled{{Value: "09351234567"}}, OwnerID: &owner, Tags: []string{"عمده‌فروش"},
		Memberships: []crm.Membership{{CompanyID: company.ID, Role: "مدیر خرید"}}, Custom: map[string]any{"vip": "طلایی"}}, false); err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(-26 * time.Hour)
	if _, err := acts.CreateTask(ctx, crm.Task{Title: "پیگیری پیش‌فاکتور", CompanyID: company.ID, AssigneeID: admin.ID, DueAt: &due}); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: acts, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	b := newBrowser(t, shots, 60*time.Second)
	do, eval, use, shot, fits := b.do, b.eval, b.use, b.shot, b.fits
	submit := b.submit
	phone := viewport{360, 740, true}
	page := func() string { return eval(`document.body.dataset.page`) }
	idRE := regexp.MustCompile(`/contacts/(\d+)`)
	currentID := func() string {
		m := idRE.FindStringSubmatch(eval(`location.pathname`))
		if m == nil {
			t.Fatalf("not on a person's page: %s", eval(`location.href`))
		}
		return m[1]
	}
	fillPerson := func() {
		t.Helper()
		do("fill the person",
			chromedp.SendKeys(chromedp.ID("first_name"), "علی"),
			chromedp.SendKeys(chromedp.ID("last_name"), "رضایی"),
			chromedp.SendKeys(chromedp.CSS(`input[name="phones[0]"]`), "۰۹۱۲۳۴۵۶۷۸۹"),
		)
	}

	// Sign in; the user works in Persian with the Jalali calendar.
	do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/contacts/new"),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	if page() != "contact_form" || eval(`document.documentElement.dir`) != "rtl" {
		t.Fatalf("after sign-in: page %q dir %q", page(), eval(`document.documentElement.dir`))
	}

	// Create «علی رضایی» with a phone in Persian digits.
	fillPerson()
	do("add a note to the person", chromedp.SendKeys(chromedp.ID("tags"), "مشتری تازه"))
	shot("fa-desktop-contact-new")
	submit("save the person", `.form-actions button[type="submit"]`, 200)
	if page() != "contact" {
		t.Fatalf("after saving: page %q", page())
	}
	first := currentID()
	if got := eval(`document.querySelector('a[href^="tel:"]').getAttribute("href")`); got != "tel:+989123456789" {
		t.Errorf("tel link %q", got)
	}

	// The search box finds them by the Arabic spelling, as the user types.
	do("search", chromedp.SendKeys(chromedp.ID("site-search"), "علي رضائي"),
		chromedp.WaitVisible(chromedp.CSS(".search-results .search-option")))
	if got := eval(`document.querySelector(".search-results .search-option").getAttribute("href")`); got != "/contacts/"+first {
		t.Errorf("first search result %q, want /contacts/%s", got, first)
	}
	shot("fa-desktop-search")

	// The same person again: a duplicate warning, then save anyway.
	do("new again", chromedp.Navigate(srv.URL+"/contacts/new"))
	fillPerson()
	submit("save the duplicate", `.form-actions button[type="submit"]`, 409)
	if got := eval(`document.querySelector("#duplicates a").getAttribute("href")`); got != "/contacts/"+first {
		t.Errorf("duplicate warning links %q", got)
	}
	if got := eval(`document.getElementById("phones[0]").value`); got != "۰۹۱۲۳۴۵۶۷۸۹" {
		t.Errorf("the phone typed is not kept: %q", got)
	}
	shot("fa-desktop-duplicate")
	submit("save anyway", "#save-anyway", 200)
	second := currentID()
	if second == first {
		t.Fatal("save anyway did not create a second person")
	}

	// Merge the two on the merge page.
	do("merge page", chromedp.Navigate(fmt.Sprintf("%s/contacts/merge?ids=%s,%s", srv.URL, first, second)))
	if page() != "merge" {
		t.Fatalf("merge page: %q", page())
	}
	shot("fa-desktop-merge")
	submit("merge", "#merge-submit", 200)
	if got := currentID(); got != first {
		t.Errorf("after merging: on /contacts/%s, want the survivor %s", got, first)
	}
	if got := eval(`String(document.querySelectorAll('[data-kind="contact.merged"]').length)`); got != "1" {
		t.Errorf("merge entries on the timeline: %s", got)
	}
	shot("fa-desktop-contact")
	do("list", chromedp.Navigate(srv.URL+"/contacts?q="+"رضایی"))
	if got := eval(`String(document.querySelectorAll('input[name="id"][form="bulk"]').length)`); got != "1" {
		t.Errorf("people named رضایی after the merge: %s, want 1", got)
	}
	do("list", chromedp.Navigate(srv.URL+"/contacts"))
	shot("fa-desktop-contacts")
	do("company", chromedp.Navigate(fmt.Sprintf("%s/companies/%d", srv.URL, company.ID)))
	shot("fa-desktop-company")

	for _, p := range []struct{ path, name string }{{"/", "dashboard"}, {"/tasks", "tasks"}, {"/settings/custom-fields", "custom-fields"}} {
		do("desktop "+p.path, chromedp.Navigate(srv.URL+p.path))
		shot("fa-desktop-" + p.name)
	}

	// Phone width, Persian.
	for _, p := range []struct{ path, name string }{
		{"/contacts", "contacts"}, {"/contacts/" + first, "contact"}, {"/contacts/new", "contact-new"},
		{"/contacts/merge?ids=" + first, "merge-pick"}, {"/companies", "companies"}, {"/tasks", "tasks"}, {"/", "dashboard"},
		{"/settings/custom-fields", "custom-fields"},
	} {
		do("phone "+p.path, use(phone), chromedp.Navigate(srv.URL+p.path))
		fits("fa phone " + p.path)
		if p.name == "contacts" || p.name == "contact" || p.name == "contact-new" {
			shot("fa-phone-" + p.name)
		}
	}

	// English, desktop and phone.
	do("english", use(desktop), chromedp.Navigate(srv.URL+"/contacts/"+first))
	submit("switch to English", `form[action="/language"] button[value="en"]`, 200)
	if got := eval(`document.documentElement.lang + " " + document.documentElement.dir`); got != "en ltr" {
		t.Errorf("after switching: %q", got)
	}
	shot("en-desktop-contact")
	do("english list", chromedp.Navigate(srv.URL+"/contacts"))
	shot("en-desktop-contacts")
	for _, p := range []string{"/contacts", "/contacts/" + first} {
		do("english phone", use(phone), chromedp.Navigate(srv.URL+p))
		fits("en phone " + p)
	}
	shot("en-phone-contact")
	do("english phone list", chromedp.Navigate(srv.URL+"/contacts"))
	shot("en-phone-contacts")
	t.Logf("screenshots in %s", shots)
}
