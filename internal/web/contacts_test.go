package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/text"
)

// contactSeed is a small world: an admin, a company, custom fields, two
// look-alike people with a timeline of every kind.
type contactSeed struct {
	admin   *crm.User
	company *crm.Company
	vip     *crm.CustomField // select, shown in lists
	member  *crm.CustomField // boolean
	budget  *crm.CustomField // money
	since   *crm.CustomField // date
	a, b    *crm.Contact
	task    *crm.Task
}

func seedContacts(t *testing.T, app *testApp, db *store.DB) *contactSeed {
	t.Helper()
	ctx := context.Background() // the system: no permission checks
	s := &contactSeed{}
	users, err := app.auth.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.Email == "admin@example.com" {
			s.admin = u
		}
	}
	if s.admin == nil {
		s.admin = app.createUser("admin@example.com", crm.RoleAdmin)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s.company, err = app.contacts.CreateCompany(ctx, &crm.Company{Name: "شرکت نمونه", Domain: "example.com", Industry: "Retail", Size: "11-50"})
	must(err)
	s.vip, err = app.contacts.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "vip", Label: "VIP level", Type: crm.FieldSelect, Options: []string{"gold", "silver"}, ShowInList: true})
	must(err)
	s.member, err = app.contacts.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "member", Label: "Club member", Type: crm.FieldBoolean})
	must(err)
	s.budget, err = app.contacts.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "budget", Label: "Budget", Type: crm.FieldMoney, Currency: "USD"})
	must(err)
	s.since, err = app.contacts.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "since", Label: "Customer since", Type: crm.FieldDate})
	must(err)
	owner := s.admin.ID
	s.a, err = app.contacts.CreateContact(ctx, &crm.Contact{FirstName: "علی", LastName: "رضایی",
		Emails: []crm.Labeled{{Value: "ali@example.com", Label: "work"}}, Phones: []crm.Labeled{{Value: "09123456789", Label: "mobile"}},
		Birthday: "1990-03-21", OwnerID: &owner, Tags: []string{"vip"}, Memberships: []crm.Membership{{CompanyID: s.company.ID, Role: "buyer"}},
		Custom: map[string]any{"vip": "gold", "member": true, "budget": float64(125050), "since": "2020-01-15"}}, false)
	must(err)
	s.b, err = app.contacts.CreateContact(ctx, &crm.Contact{FirstName: "علي", LastName: "رضائي",
		Phones: []crm.Labeled{{Value: "+989123456789"}}, Emails: []crm.Labeled{{Value: "ali.r@example.com"}},
		Custom: map[string]any{"vip": "silver", "member": false}}, true)
	must(err)
	_, err = app.contacts.SetConsent(ctx, s.a.ID, crm.ChannelSMS, crm.ConsentGranted, "form", "")
	must(err)
	_, err = app.activity.LogInteraction(ctx, crm.Interaction{ContactID: s.a.ID, Channel: "phone", Direction: "inbound", Subject: "Price question", Body: "Asked about prices.", DurationSeconds: 300})
	must(err)
	_, err = app.activity.AddNote(ctx, crm.Note{ContactID: s.a.ID, Body: "Prefers calls after 5 @admin", AuthorID: s.admin.ID})
	must(err)
	due := time.Now().Add(-24 * time.Hour)
	s.task, err = app.activity.CreateTask(ctx, crm.Task{Title: "Call back about the offer", ContactID: s.a.ID, AssigneeID: s.admin.ID, DueAt: &due})
	must(err)
	_, err = app.activity.CreateTask(ctx, crm.Task{Title: "Send the catalogue", CompanyID: s.company.ID, AssigneeID: s.admin.ID})
	must(err)
	_, err = app.activity.LogInteraction(ctx, crm.Interaction{CompanyID: s.company.ID, Channel: "email", Direction: "outbound", Subject: "Catalogue"})
	must(err)
	// An event type no renderer knows: the generic one shows it.
	must(db.Write(ctx, func(tx *store.Tx) error {
		return tx.Emit(ctx, &crm.Event{Type: "invoice.paid", SubjectType: "invoice", SubjectID: 7, ContactID: s.a.ID, Payload: json.RawMessage(`{"title":"Big order","amount":1200}`)})
	}))
	return s
}

type pageResponse struct {
	path string
	r    response
}

// contactPages renders every page of the contacts module for the
// every-page-every-language test, with c signed in as the seed's admin.
func contactPages(t *testing.T, c *client, s *contactSeed) []pageResponse {
	t.Helper()
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	var out []pageResponse
	get := func(p string) { out = append(out, pageResponse{p, c.get(p)}) }
	for _, p := range []string{"/", "/contacts", "/contacts?q=" + url.QueryEscape("علی"), "/contacts?from=bad&tag=vip", "/contacts/new",
		"/contacts/" + id(s.a.ID), "/contacts/" + id(s.a.ID) + "/edit", "/contacts/merge?ids=" + id(s.a.ID) + "," + id(s.b.ID),
		"/contacts/merge?ids=" + id(s.a.ID) + "&q=" + url.QueryEscape("رضایی"), "/companies", "/companies/new",
		"/companies/" + id(s.company.ID), "/companies/" + id(s.company.ID) + "/edit", "/settings/custom-fields",
		"/settings/custom-fields/" + id(s.vip.ID) + "/edit", "/tasks", "/search?q=" + url.QueryEscape("رضایی"), "/search?q=zzzz",
		"/contacts/999999"} {
		get(p)
	}
	tok := c.csrf("/contacts")
	post := func(p string, f url.Values) {
		f.Set("csrf", tok)
		out = append(out, pageResponse{"POST " + p, c.post(p, "", f)})
	}
	post("/contacts", url.Values{"first_name": {"X"}, "emails[0]": {"bad"}, "phones[0]": {"12"}, "custom.since": {"2020/13/40"}})
	post("/contacts", url.Values{"phones[0]": {"۰۹۱۲۳۴۵۶۷۸۹"}})
	post("/contacts/bulk", url.Values{"action": {"delete"}, "id": {id(s.b.ID)}, "next": {"/contacts"}})
	post("/contacts/bulk", url.Values{"action": {"add_tag"}, "next": {"/contacts"}})
	post("/contacts/"+id(s.a.ID)+"/notes", url.Values{"body": {""}})
	post("/contacts/"+id(s.a.ID)+"/interactions", url.Values{"channel": {"phone"}, "direction": {"inbound"}, "occurred_date": {"nope"}})
	post("/contacts/"+id(s.a.ID)+"/erase", url.Values{"confirm_name": {"someone else"}})
	post("/companies", url.Values{"name": {""}, "domain": {"not a domain"}})
	post("/settings/custom-fields", url.Values{"entity": {"contact"}, "key": {"Bad Key"}, "label": {""}, "type": {"select"}})
	post("/tasks", url.Values{"title": {""}})
	post("/contacts/merge", url.Values{"ids": {id(s.a.ID) + "," + id(s.b.ID)}, "do": {"preview"}, "choice.last_name": {id(s.b.ID)}})
	return append(out, importPages(t, c)...)
}

// signInAs signs in a fresh client and sets its language and calendar.
func signInAs(t *testing.T, app *testApp, email, lang string) *client {
	t.Helper()
	c := app.client(t)
	c.signIn(email)
	prefs := url.Values{"language": {lang}, "calendar": {"gregorian"}, "digits": {"latin"}, "time_zone": {"Asia/Tehran"}}
	switch lang {
	case "fa":
		prefs.Set("calendar", "jalali")
		prefs.Set("digits", "persian")
	case "ar":
		prefs.Set("digits", "arabic")
	}
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", prefs), http.StatusSeeOther)
	return c
}

// form posts with the client's CSRF token, fetched once per call site.
func (c *client) send(path string, f url.Values) response {
	c.t.Helper()
	f.Set("csrf", c.csrf("/contacts"))
	return c.post(path, "", f)
}

func idOf(n int64) string { return strconv.FormatInt(n, 10) }

// mustShow is mustContain on the page's text: entities decoded, so that
// html/template's escaping of + and quotes does not matter.
func mustShow(t *testing.T, r response, want ...string) {
	t.Helper()
	body := html.UnescapeString(r.body)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("response (status %d) does not show %q", r.status, w)
		}
	}
}

func TestContactCreateErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		_ = s
		_, err := app.contacts.CreateCustomField(context.Background(), &crm.CustomField{Entity: "contact", Key: "city_code", Label: "City code", Type: crm.FieldText, Required: true})
		if err != nil {
			t.Fatal(err)
		}
		c := signInAs(t, app, "admin@example.com", "en")
		f := url.Values{"first_name": {"Sara"}, "last_name": {"Karimi"}, "emails[0]": {"sara@example.com"}, "emails[1]": {"not-an-email"},
			"phones[0]": {"12"}, "custom.since": {"2024-02-30"}, "custom.budget": {"12.345"}, "memberships[0].company_id": {""},
			"memberships[0].role": {"buyer"}, "tags": {"a, b، c"}}
		r := c.send("/contacts", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="emails[1]-error"`, `value="not-an-email"`, `value="sara@example.com"`, `id="phones[0]-error"`,
			`id="cf-since-error"`, `id="cf-budget-error"`, `value="Karimi"`, `value="a, b، c"`, "Choose a company from the list.")
		// The service's own checks: the phone, the email and the required field, each next to its input.
		f.Set("custom.since", "2024-02-28")
		f.Set("custom.budget", "12.34")
		f.Set("memberships[0].role", "")
		r = c.send("/contacts", f)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustShow(t, r, `id="emails[1]-error"`, `"not-an-email" is not a valid email address.`, `id="phones[0]-error"`, `id="cf-city_code-error"`, "City code is required.")

		// In Persian the messages are Persian and the date is Jalali.
		fa := signInAs(t, app, "admin@example.com", "fa")
		r = fa.send("/contacts", url.Values{"first_name": {"سارا"}, "emails[0]": {"bad"}, "custom.since": {"۱۴۰۲/۱۳/۰۱"}, "custom.city_code": {"x"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="cf-since-error"`, `value="۱۴۰۲/۱۳/۰۱"`)
		r = fa.send("/contacts", url.Values{"first_name": {"سارا"}, "emails[0]": {"bad"}, "custom.since": {"۱۴۰۲/۱۲/۰۱"}, "custom.city_code": {"x"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "یک نشانی ایمیل درست وارد کنید", `id="emails[0]-error"`)

		// Fixed, it saves; the Jalali birthday and date field are stored in Gregorian.
		r = fa.send("/contacts", url.Values{"first_name": {"سارا"}, "last_name": {"کریمی"}, "emails[0]": {"sara@example.com"}, "phones[0]": {"۰۹۱۲ ۱۱۱ ۲۲۳۳"},
			"birthday": {"۱۳۶۹/۰۱/۰۱"}, "custom.since": {"۱۴۰۲/۱۲/۰۱"}, "custom.city_code": {"21"}, "custom.budget": {"۱۲٫۵"},
			"memberships[0].company_id": {idOf(s.company.ID)}, "memberships[0].role": {"مدیر خرید"}, "tags": {"مشتری، ویژه"}})
		mustStatus(t, r, http.StatusSeeOther)
		cid, err := strconv.ParseInt(strings.TrimPrefix(strings.Split(r.location(), "?")[0], "/contacts/"), 10, 64)
		if err != nil {
			t.Fatalf("location %q", r.location())
		}
		got, err := app.contacts.FindContactByID(context.Background(), cid)
		if err != nil {
			t.Fatal(err)
		}
		if got.Birthday != "1990-03-21" || got.Custom["since"] != "2024-02-20" || got.Phones[0].Value != "+989121112233" ||
			len(got.Tags) != 2 || len(got.Memberships) != 1 || got.Memberships[0].Role != "مدیر خرید" {
			t.Errorf("saved %+v", got)
		}
		if n, _ := asInt64(got.Custom["budget"]); n != 1250 {
			t.Errorf("budget %v, want 1250 cents", got.Custom["budget"])
		}
		r = fa.get(r.location())
		mustStatus(t, r, http.StatusOK)
		mustShow(t, r, "سارا کریمی", "۱۳۶۹/۰۱/۰۱", `href="tel:+989121112233"`, "+۹۸ ۹۱۲ ۱۱۱ ۲۲۳۳", "مدیر خرید", "۱۲٫۵۰ USD")

		// Editing shows the stored values in the user's calendar and keeps them.
		r = fa.get("/contacts/" + idOf(cid) + "/edit")
		mustStatus(t, r, http.StatusOK)
		mustShow(t, r, `value="۱۳۶۹/۰۱/۰۱"`, `value="+989121112233"`, `value="12.50"`)
		r = fa.send("/contacts/"+idOf(cid), url.Values{"first_name": {"سارا"}, "last_name": {"کریمی‌نژاد"}, "phones[0]": {"+989121112233"},
			"birthday": {"۱۳۶۹/۰۱/۰۱"}, "custom.city_code": {"21"}})
		mustStatus(t, r, http.StatusSeeOther)
		got, _ = app.contacts.FindContactByID(context.Background(), cid)
		if got.LastName != "کریمی‌نژاد" || len(got.Emails) != 0 || got.Custom["since"] != nil || got.Birthday != "1990-03-21" || len(got.Memberships) != 0 {
			t.Errorf("after edit %+v", got)
		}
	})
}

func TestContactDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		c := signInAs(t, app, "admin@example.com", "en")
		f := url.Values{"first_name": {"Ali"}, "phones[0]": {"۰۹۱۲۳۴۵۶۷۸۹"}}
		r := c.send("/contacts", f)
		mustStatus(t, r, http.StatusConflict)
		mustContain(t, r, "Possible duplicates", `href="/contacts/`+idOf(s.a.ID)+`"`, `name="allow_duplicates"`, `name="merge_with" value="`+idOf(s.a.ID)+`"`, `value="۰۹۱۲۳۴۵۶۷۸۹"`)

		f.Set("allow_duplicates", "1")
		r = c.send("/contacts", f)
		mustStatus(t, r, http.StatusSeeOther)
		if !strings.HasPrefix(r.location(), "/contacts/") {
			t.Errorf("location %q", r.location())
		}

		f.Del("allow_duplicates")
		f.Set("merge_with", idOf(s.a.ID))
		r = c.send("/contacts", f)
		mustStatus(t, r, http.StatusSeeOther)
		if !strings.HasPrefix(r.location(), "/contacts/merge?ids="+idOf(s.a.ID)+",") {
			t.Errorf("location %q", r.location())
		}
		r = c.get(r.location())
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="merge"`, `name="survivor"`)
	})
}

func TestContactListFiltersAndPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		for i := range 55 {
			c := &crm.Contact{FirstName: "Person", LastName: "N" + strconv.Itoa(100+i), Tags: []string{"bulk"}}
			if i%5 == 0 {
				c.Custom = map[string]any{"vip": "silver"}
			}
			if _, err := app.contacts.CreateContact(ctx, c, true); err != nil {
				t.Fatal(err)
			}
		}
		c := signInAs(t, app, "admin@example.com", "en")
		r := c.get("/contacts?tag=bulk")
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, `name="id" value=`); n != contactPageSize {
			t.Errorf("first page has %d people, want %d", n, contactPageSize)
		}
		next := regexp.MustCompile(`href="(/contacts\?[^"]+)" rel="next"`).FindStringSubmatch(r.body)
		if next == nil {
			t.Fatal("no next page link")
		}
		r = c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, `name="id" value=`); n != 5 {
			t.Errorf("second page has %d people, want 5", n)
		}
		mustContain(t, r, "First page")

		r = c.get("/contacts?cf.vip=silver&sort=name")
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, `name="id" value=`); n != 12 { // 11 + s.b
			t.Errorf("vip=silver finds %d, want 12", n)
		}
		r = c.get("/contacts?owner=" + idOf(s.admin.ID))
		if n := strings.Count(r.body, `name="id" value=`); n != 1 {
			t.Errorf("owner filter finds %d, want 1", n)
		}
		r = c.get("/contacts?company=" + idOf(s.company.ID))
		mustContain(t, r, `href="/contacts/`+idOf(s.a.ID)+`"`)
		if n := strings.Count(r.body, `name="id" value=`); n != 1 {
			t.Errorf("company filter finds %d, want 1", n)
		}
		r = c.get("/contacts?q=" + url.QueryEscape("رضایی"))
		if n := strings.Count(r.body, `name="id" value=`); n != 2 {
			t.Errorf("search finds %d, want 2 (both spellings)", n)
		}
		r = c.get("/contacts?cf.vip=bronze")
		mustStatus(t, r, http.StatusUnprocessableEntity)

		// Column choice is remembered.
		r = c.send("/contacts/columns", url.Values{"col": {"email", "created", "custom.vip"}, "next": {"/contacts"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get("/contacts")
		mustContain(t, r, "<th scope=\"col\">Created</th>", "<th scope=\"col\">VIP level</th>")
		if strings.Contains(r.body, `<th scope="col">Owner</th>`) {
			t.Error("the owner column is shown after it was unticked")
		}

		// Created dates in the Jalali calendar with Persian and Arabic digits.
		fa := signInAs(t, app, "admin@example.com", "fa")
		tehran, _ := time.LoadLocation("Asia/Tehran")
		today := text.FormatDate(time.Now().In(tehran), "jalali")
		tomorrow := text.FormatDate(time.Now().In(tehran).AddDate(0, 0, 1), "jalali")
		r = fa.get("/contacts?" + url.Values{"from": {text.ToPersianDigits(today)}, "to": {text.ToArabicDigits(today)}, "tag": {"bulk"}}.Encode())
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, `name="id" value=`); n != contactPageSize {
			t.Errorf("today finds %d", n)
		}
		r = fa.get("/contacts?" + url.Values{"from": {text.ToPersianDigits(tomorrow)}}.Encode())
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "هیچ‌کس با این فیلتر پیدا نشد.")
		r = fa.get("/contacts?from=" + url.QueryEscape("۱۴۰۳/۱۳/۰۱"))
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="f-from-error"`)

	})
}

func TestContactBulk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		c := signInAs(t, app, "admin@example.com", "en")
		ids := url.Values{"id": {idOf(s.a.ID), idOf(s.b.ID)}, "next": {"/contacts?sort=name"}}
		f := url.Values{"action": {"add_tag"}, "tag": {"newsletter"}}
		for k, v := range ids {
			f[k] = v
		}
		r := c.send("/contacts/bulk", f)
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != "/contacts?sort=name&notice=bulk_add_tag" {
			t.Errorf("location %q", r.location())
		}
		for _, id := range []int64{s.a.ID, s.b.ID} {
			p, _ := app.contacts.FindContactByID(ctx, id)
			if !strings.Contains(strings.Join(p.Tags, ","), "newsletter") {
				t.Errorf("%d tags %v", id, p.Tags)
			}
		}
		r = c.get("/contacts?tag=newsletter")
		if n := strings.Count(r.body, `name="id" value=`); n != 2 {
			t.Errorf("tag filter finds %d", n)
		}
		// No tag typed, nobody ticked: the list again with the reason.
		r = c.send("/contacts/bulk", url.Values{"action": {"add_tag"}, "id": {idOf(s.a.ID)}, "next": {"/contacts"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Type the tag to add or remove.", `data-page="contacts"`)
		r = c.send("/contacts/bulk", url.Values{"action": {"remove_tag"}, "tag": {"x"}, "next": {"/contacts"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Tick at least one person in the list first.")

		f.Set("action", "set_owner")
		f.Set("owner_id", idOf(s.admin.ID))
		mustStatus(t, c.send("/contacts/bulk", f), http.StatusSeeOther)
		p, _ := app.contacts.FindContactByID(ctx, s.b.ID)
		if p.OwnerID == nil || *p.OwnerID != s.admin.ID {
			t.Errorf("owner %v", p.OwnerID)
		}

		f.Set("action", "export_csv")
		r = c.send("/contacts/bulk", f)
		mustStatus(t, r, http.StatusOK)
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Errorf("content type %q", ct)
		}
		if !strings.HasPrefix(r.body, "\uFEFFid,") || strings.Count(r.body, "\n") != 3 || !strings.Contains(r.body, "ali@example.com") || !strings.Contains(r.body, "شرکت نمونه") {
			t.Errorf("csv:\n%s", r.body)
		}
		f.Set("action", "export_vcf")
		r = c.send("/contacts/bulk", f)
		mustStatus(t, r, http.StatusOK)
		if strings.Count(r.body, "BEGIN:VCARD") != 2 {
			t.Errorf("vcard:\n%s", r.body)
		}

		f.Set("action", "merge")
		r = c.send("/contacts/bulk", f)
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != "/contacts/merge?ids="+idOf(s.a.ID)+","+idOf(s.b.ID) {
			t.Errorf("merge location %q", r.location())
		}

		// Delete asks first, then deletes.
		f.Set("action", "delete")
		r = c.send("/contacts/bulk", f)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="contacts_bulk_confirm"`, "Delete 2 people", `name="confirm" value="yes"`)
		if _, err := app.contacts.FindContactByID(ctx, s.a.ID); err != nil {
			t.Fatal("deleted before the confirmation")
		}
		f.Set("confirm", "yes")
		mustStatus(t, c.send("/contacts/bulk", f), http.StatusSeeOther)
		if _, err := app.contacts.FindContactByID(ctx, s.a.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Errorf("after bulk delete: %v", err)
		}
	})
}

func TestContactExports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		for i := range 500 + 3 { // more than one page of the service
			if _, err := app.contacts.CreateContact(ctx, &crm.Contact{FirstName: "Export", LastName: strconv.Itoa(i), Tags: []string{"export"}}, true); err != nil {
				t.Fatal(err)
			}
		}
		c := signInAs(t, app, "admin@example.com", "en")
		r := c.get("/contacts/export.csv?tag=export&sort=name")
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, "\n"); n != 500+4 {
			t.Errorf("csv has %d lines, want %d", n, 500+4)
		}
		if !strings.Contains(r.header.Get("Content-Disposition"), "attachment") || !strings.Contains(r.body, "custom:vip") {
			t.Errorf("csv header: %q\n%.300s", r.header.Get("Content-Disposition"), r.body)
		}
		r = c.get("/contacts/export.vcf?q=" + url.QueryEscape("رضایی"))
		mustStatus(t, r, http.StatusOK)
		if strings.Count(r.body, "BEGIN:VCARD") != 2 || !strings.Contains(r.body, "VERSION:3.0") {
			t.Errorf("vcard:\n%s", r.body)
		}
		r = c.get("/contacts/export.vcf?version=4.0&q=" + url.QueryEscape("ali@example.com"))
		if !strings.Contains(r.body, "VERSION:4.0") || !strings.Contains(r.body, "ORG:شرکت نمونه") {
			t.Errorf("vcard 4:\n%s", r.body)
		}
		mustStatus(t, c.get("/contacts/export.csv?from=bad"), http.StatusUnprocessableEntity)

		// Sales may not export.
		app.createUser("sales@example.com", crm.RoleSales)
		sales := signInAs(t, app, "sales@example.com", "en")
		mustStatus(t, sales.get("/contacts/export.csv"), http.StatusForbidden)
		r = sales.get("/contacts")
		if strings.Contains(r.body, "/contacts/export.csv") {
			t.Error("sales sees the export link")
		}
		_ = s
	})
}

func TestContactTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		c := signInAs(t, app, "admin@example.com", "en")
		page := "/contacts/" + idOf(s.a.ID)

		r := c.send(page+"/interactions", url.Values{"channel": {"whatsapp"}, "direction": {"outbound"}, "subject": {"Offer sent"},
			"body": {"Sent the offer."}, "occurred_date": {time.Now().Format("2006-01-02")}, "occurred_time": {"09:30"}, "duration_minutes": {"12"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.send(page+"/interactions", url.Values{"channel": {"pigeon"}, "direction": {"outbound"}, "duration_minutes": {"-3"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="i-duration-error"`, `<details class="activity-form" id="log-interaction" open>`)
		r = c.send(page+"/interactions", url.Values{"channel": {"pigeon"}, "direction": {"outbound"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="i-channel-error"`)

		r = c.send(page+"/notes", url.Values{"body": {"Met at the fair. @admin please call"}})
		mustStatus(t, r, http.StatusSeeOther)
		if !strings.Contains(r.location(), "#note-") {
			t.Errorf("note location %q", r.location())
		}
		r = c.send(page+"/tasks", url.Values{"title": {"Prepare the contract"}, "due_date": {time.Now().AddDate(0, 0, 3).Format("2006-01-02")}, "remind_date": {time.Now().AddDate(0, 0, 2).Format("2006-01-02")}, "remind_time": {"10:00"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.send(page+"/tasks", url.Values{"title": {""}, "due_date": {"tomorrow"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="t-title-error"`, `id="t-due-error"`)

		r = c.send("/tasks/"+idOf(s.task.ID)+"/complete", url.Values{"next": {page + "#task-" + idOf(s.task.ID)}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.send(page+"/consent", url.Values{"channel": {"email"}, "status": {"granted"}})
		mustStatus(t, r, http.StatusSeeOther)
		mustStatus(t, c.send(page, url.Values{"first_name": {"علی"}, "last_name": {"رضایی"}, "phones[0]": {"09123456789"},
			"memberships[0].company_id": {idOf(s.company.ID)}, "memberships[0].role": {"buyer"}}), http.StatusSeeOther)
		if _, err := app.contacts.Merge(ctx, []int64{s.a.ID, s.b.ID}, s.a.ID, nil); err != nil {
			t.Fatal(err)
		}

		r = c.get(page)
		mustStatus(t, r, http.StatusOK)
		for _, kind := range []string{"contact.created", "contact.updated", "contact.merged", "consent.changed", "interaction.logged",
			"note.added", "task.created", "task.completed", "invoice.paid"} {
			if !strings.Contains(r.body, `data-kind="`+kind+`"`) {
				t.Errorf("the timeline has no %s entry", kind)
			}
		}
		mustContain(t, r, "Offer sent", "Sent the offer.", "12 min", "Met at the fair.", "@admin", "Prepare the contract",
			"Consent granted for Email", "Records merged into this one: 1", "علي رضائي", `<code dir="ltr">invoice.paid</code>`, "Big order",
			`id="task-`+idOf(s.task.ID)+`"`, "Task done:", `action="/tasks/`+idOf(s.task.ID)+`/reopen"`)

		// Company timeline and people.
		r = c.get("/companies/" + idOf(s.company.ID))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-kind="company.created"`, `data-kind="task.created"`, `data-kind="interaction.logged"`, "Send the catalogue",
			`href="/contacts/`+idOf(s.a.ID)+`"`, "buyer")
		mustStatus(t, c.send("/companies/"+idOf(s.company.ID)+"/notes", url.Values{"body": {"Pays on time."}}), http.StatusSeeOther)
		mustContain(t, c.get("/companies/"+idOf(s.company.ID)), "Pays on time.")
	})
}

func TestMergePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		c := signInAs(t, app, "admin@example.com", "en")
		ids := idOf(s.a.ID) + "," + idOf(s.b.ID)
		r := c.get("/contacts/merge?ids=" + ids)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `name="choice.first_name"`, `name="choice.custom.vip"`, `name="survivor" value="`+idOf(s.a.ID)+`" checked`,
			"VIP level", "gold", "silver", "Timeline entries:", "ali@example.com, ali.r@example.com")

		f := url.Values{"ids": {ids}, "survivor": {idOf(s.b.ID)}, "choice.last_name": {idOf(s.a.ID)}, "choice.custom.vip": {idOf(s.a.ID)}, "do": {"preview"}}
		r = c.send("/contacts/merge", f)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `name="survivor" value="`+idOf(s.b.ID)+`" checked`, `name="choice.last_name" value="`+idOf(s.a.ID)+`" checked`)

		f.Set("do", "merge")
		r = c.send("/contacts/merge", f)
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != "/contacts/"+idOf(s.b.ID)+"?notice=merged" {
			t.Errorf("location %q", r.location())
		}
		got, err := app.contacts.FindContactByID(ctx, s.b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastName != "رضایی" || got.FirstName != "علي" || got.Custom["vip"] != "gold" || len(got.Emails) != 2 {
			t.Errorf("merged %+v", got)
		}
		mustStatus(t, c.get("/contacts/"+idOf(s.a.ID)), http.StatusNotFound)
		r = c.get(r.location())
		mustContain(t, r, "Records merged.", `data-kind="contact.merged"`, `data-kind="interaction.logged"`)

		// One person: the page offers to find the others.
		r = c.get("/contacts/merge?ids=" + idOf(s.b.ID) + "&q=" + url.QueryEscape("example"))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="merge"`, `name="q"`)

		// A sales user may preview but not merge.
		app.createUser("sales@example.com", crm.RoleSales)
		other, _ := app.contacts.CreateContact(ctx, &crm.Contact{FirstName: "X"}, true)
		sales := signInAs(t, app, "sales@example.com", "en")
		r = sales.get("/contacts/merge?ids=" + idOf(s.b.ID) + "," + idOf(other.ID))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "Your role may preview a merge but not carry it out.")
		mustStatus(t, sales.send("/contacts/merge", url.Values{"ids": {idOf(s.b.ID) + "," + idOf(other.ID)}, "do": {"merge"}}), http.StatusForbidden)
	})
}

func TestCustomFieldsPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		c := signInAs(t, app, "admin@example.com", "en")
		r := c.send("/settings/custom-fields", url.Values{"entity": {"contact"}, "key": {"Shoe size"}, "label": {""}, "type": {"select"}, "options": {""}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="cf-key-error"`, `id="cf-label-error"`, `id="cf-options-error"`, `value="Shoe size"`)
		r = c.send("/settings/custom-fields", url.Values{"entity": {"contact"}, "key": {"vip"}, "label": {"Again"}, "type": {"text"}})
		mustStatus(t, r, http.StatusConflict)
		mustContain(t, r, "A field with this key exists already.")
		r = c.send("/settings/custom-fields", url.Values{"entity": {"contact"}, "key": {"interests"}, "label": {"Interests"}, "type": {"multi_select"},
			"options": {"Tea\nCoffee\r\nCocoa\n"}, "show_in_list": {"1"}})
		mustStatus(t, r, http.StatusSeeOther)
		fields, _ := app.contacts.ListCustomFields(ctx, "contact")
		var interests *crm.CustomField
		for _, f := range fields {
			if f.Key == "interests" {
				interests = f
			}
		}
		if interests == nil || len(interests.Options) != 3 || !interests.ShowInList {
			t.Fatalf("field %+v", interests)
		}
		// It shows on the person form as checkboxes and is saved from there.
		r = c.get("/contacts/new")
		mustContain(t, r, `name="custom.interests" value="Coffee"`)
		r = c.send("/contacts/"+idOf(s.b.ID), url.Values{"first_name": {"علي"}, "phones[0]": {"+989123456789"}, "custom.interests": {"Tea", "Cocoa"}, "custom.vip": {"silver"}})
		mustStatus(t, r, http.StatusSeeOther)
		p, _ := app.contacts.FindContactByID(ctx, s.b.ID)
		if got := customList(p.Custom["interests"]); len(got) != 2 || got[1] != "Cocoa" {
			t.Errorf("interests %v", p.Custom["interests"])
		}
		mustContain(t, c.get("/contacts/"+idOf(s.b.ID)), "Tea, Cocoa")
		r = c.get("/contacts?cf.interests=Cocoa")
		if n := strings.Count(r.body, `name="id" value=`); n != 1 {
			t.Errorf("multi-select filter finds %d", n)
		}

		// Edit and delete.
		r = c.send("/settings/custom-fields/"+idOf(interests.ID), url.Values{"label": {"Likes"}, "options": {"Tea\nCocoa"}, "position": {"۳"}})
		mustStatus(t, r, http.StatusSeeOther)
		mustContain(t, c.get(r.location()), "Likes", "Field saved.")
		r = c.send("/settings/custom-fields/"+idOf(interests.ID), url.Values{"label": {""}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustStatus(t, c.send("/settings/custom-fields/"+idOf(interests.ID)+"/delete", url.Values{}), http.StatusSeeOther)
		if strings.Contains(c.get("/contacts/new").body, "custom.interests") {
			t.Error("a deleted field is still on the form")
		}

		app.createUser("sales@example.com", crm.RoleSales)
		sales := signInAs(t, app, "sales@example.com", "en")
		mustStatus(t, sales.get("/settings/custom-fields"), http.StatusForbidden)
		if strings.Contains(sales.get("/settings/preferences").body, "/settings/custom-fields") {
			t.Error("the settings menu links custom fields for sales")
		}
	})
}

func TestConsentAndErase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		c := signInAs(t, app, "admin@example.com", "en")
		page := "/contacts/" + idOf(s.a.ID)
		r := c.get(page)
		mustContain(t, r, `name="status" value="withdrawn"`) // SMS is granted in the seed
		r = c.send(page+"/consent", url.Values{"channel": {"sms"}, "status": {"withdrawn"}})
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != page+"?notice=consent_saved#consent" {
			t.Errorf("location %q", r.location())
		}
		ok, reason, err := app.contacts.MayContact(ctx, s.a.ID, crm.ChannelSMS)
		if err != nil || ok || reason != "withdrawn" {
			t.Errorf("may contact: %v %q %v", ok, reason, err)
		}
		mustContain(t, c.get(page), "Consent withdrawn for SMS")
		mustStatus(t, c.send(page+"/consent", url.Values{"channel": {"fax"}, "status": {"granted"}}), http.StatusUnprocessableEntity)

		// Export downloads JSON.
		r = c.send(page+"/export", url.Values{})
		mustStatus(t, r, http.StatusOK)
		var exp map[string]any
		if err := json.Unmarshal([]byte(r.body), &exp); err != nil || exp["format"] != "pivand-person-export/1" {
			t.Errorf("export: %v %.200s", err, r.body)
		}

		// Erase needs the name typed; Arabic letter variants count as the same name.
		r = c.send(page+"/erase", url.Values{"confirm_name": {"Someone"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "The name does not match.", `<details class="erase" open>`)
		r = c.send(page+"/erase", url.Values{"confirm_name": {"علي رضائي"}})
		mustStatus(t, r, http.StatusSeeOther)
		mustStatus(t, c.get(page), http.StatusNotFound)
		if sup, _ := app.contacts.IsSuppressed(ctx, "phone", "09123456789"); !sup {
			t.Error("the erased phone is not suppressed")
		}

		// Sales sees no erase or delete.
		app.createUser("sales@example.com", crm.RoleSales)
		sales := signInAs(t, app, "sales@example.com", "en")
		r = sales.get("/contacts/" + idOf(s.b.ID))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "<dt>Club member</dt><dd>No</dd>") // false is a value too
		if strings.Contains(r.body, "/erase") || strings.Contains(r.body, "/delete") {
			t.Error("sales sees erase or delete")
		}
		mustStatus(t, sales.send("/contacts/"+idOf(s.b.ID)+"/erase", url.Values{"confirm_name": {"x"}}), http.StatusForbidden)
	})
}

func TestSearchBox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		c := signInAs(t, app, "admin@example.com", "fa")
		r := c.get("/")
		mustContain(t, r, `action="/search"`, `id="site-search"`)
		r = c.get("/search?q=" + url.QueryEscape("علي رضائي"))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `href="/contacts/`+idOf(s.a.ID)+`"`, `href="/contacts/`+idOf(s.b.ID)+`"`, `value="علي رضائي"`)
		r = c.get("/search?format=json&q=" + url.QueryEscape("۰۹۱۲۳"))
		mustStatus(t, r, http.StatusOK)
		var out struct {
			Results []searchResult `json:"results"`
			All     string         `json:"all"`
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Results) != 2 || out.Results[0].Kind != "contact" || !strings.HasPrefix(out.Results[0].URL, "/contacts/") {
			t.Errorf("json results %+v", out.Results)
		}
		r = c.get("/search?format=json&q=" + url.QueryEscape("نمونه"))
		if !strings.Contains(r.body, `"/companies/`+idOf(s.company.ID)+`"`) {
			t.Errorf("company not found: %s", r.body)
		}
	})
}

func TestTasksAndDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		app.createUser("sara@example.com", crm.RoleSales)
		sara := signInAs(t, app, "sara@example.com", "en")
		// Sara mentions the admin and gives them a task.
		mustStatus(t, sara.send("/contacts/"+idOf(s.a.ID)+"/notes", url.Values{"body": {"@admin can you call him?"}}), http.StatusSeeOther)
		mustStatus(t, sara.send("/tasks", url.Values{"title": {"Check the invoice"}, "assignee_id": {idOf(s.admin.ID)}}), http.StatusSeeOther)
		mustStatus(t, sara.send("/tasks", url.Values{"title": {""}}), http.StatusUnprocessableEntity)

		c := signInAs(t, app, "admin@example.com", "en")
		r := c.get("/")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "My tasks", "Call back about the offer", "overdue since", "Check the invoice",
			"sara mentioned you: @admin can you call him?", "sara gave you a task: Check the invoice", `href="/contacts"`, "Installed")
		if strings.Contains(r.body, "Contacts and companies</li>") {
			t.Error("the dashboard still lists contacts as not installed")
		}
		r = c.get("/tasks")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "Call back about the offer", "Send the catalogue", "is-overdue", `href="/contacts/`+idOf(s.a.ID)+`#task-`+idOf(s.task.ID)+`"`)
		if i, j := strings.Index(r.body, "Call back about the offer"), strings.Index(r.body, "Send the catalogue"); i > j {
			t.Error("the overdue task is not first")
		}
		r = c.send("/tasks/"+idOf(s.task.ID)+"/complete", url.Values{"next": {"/tasks"}})
		mustStatus(t, r, http.StatusSeeOther)
		if strings.Contains(c.get("/tasks").body, "Call back about the offer") {
			t.Error("a done task is still listed")
		}
		mustStatus(t, c.send("/tasks/"+idOf(s.task.ID)+"/reopen", url.Values{"next": {"/tasks"}}), http.StatusSeeOther)
		r = c.get("/tasks/" + idOf(s.task.ID))
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != "/contacts/"+idOf(s.a.ID)+"#task-"+idOf(s.task.ID) {
			t.Errorf("task link %q", r.location())
		}

		// Opening a notification marks it read and follows its link.
		ns, _, err := app.activity.ListNotifications(crm.NewContextWithUser(ctx, s.admin), s.admin.ID, true, crm.Page{})
		if err != nil || len(ns) < 2 {
			t.Fatalf("notifications %v %v", ns, err)
		}
		r = c.send("/notifications/"+idOf(ns[0].ID)+"/open", url.Values{"next": {ns[0].Link}})
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != ns[0].Link {
			t.Errorf("open: %q, want %q", r.location(), ns[0].Link)
		}
		mustStatus(t, c.send("/notifications/read", url.Values{"all": {"1"}, "next": {"/"}}), http.StatusSeeOther)
		mustContain(t, c.get("/"), "Nothing new.")
	})
}

func TestCompanyPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		s := seedContacts(t, app, db)
		ctx := context.Background()
		c := signInAs(t, app, "admin@example.com", "ar")
		r := c.send("/companies", url.Values{"name": {""}, "domain": {"no domain"}, "phones[0]": {"+971 50 123 4567"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustShow(t, r, `id="name-error"`, `id="domain-error"`, `value="+971 50 123 4567"`)
		r = c.send("/companies", url.Values{"name": {"شركة الأمل"}, "domain": {"https://www.amal.example/"}, "size": {"51-200"}, "phones[0]": {"+971 50 123 4567"}})
		mustStatus(t, r, http.StatusSeeOther)
		id := strings.TrimPrefix(strings.Split(r.location(), "?")[0], "/companies/")
		r = c.get(r.location())
		mustShow(t, r, "شركة الأمل", "amal.example", "+٩٧١ ٥٠ ١٢٣ ٤٥٦٧")
		mustStatus(t, c.send("/companies/"+id, url.Values{"name": {"شركة الأمل الجديدة"}}), http.StatusSeeOther)
		r = c.get("/companies?q=" + url.QueryEscape("الأمل"))
		mustContain(t, r, "شركة الأمل الجديدة")
		r = c.get("/companies/" + idOf(s.company.ID))
		mustContain(t, r, "علی رضایی")
		mustStatus(t, c.send("/companies/"+idOf(s.company.ID)+"/delete", url.Values{}), http.StatusSeeOther)
		p, _ := app.contacts.FindContactByID(ctx, s.a.ID)
		if len(p.Memberships) != 0 {
			t.Errorf("memberships after delete: %v", p.Memberships)
		}
	})
}

func TestContactsOptions(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	if _, err := New(Options{Auth: auth.New(db, auth.Options{}), Contacts: contact.New(db, contact.Options{})}); err == nil {
		t.Error("Contacts without Activity is accepted")
	}
	// Without the module, its pages do not exist and the navigation does not offer them.
	h, err := New(Options{Auth: auth.New(db, auth.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/contacts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/contacts without the module: status %d", resp.StatusCode)
	}
}

// TestTimelineRenderersHaveTemplates checks that every registered event
// type has its partial in the set templates.partial renders from.
func TestTimelineRenderersHaveTemplates(t *testing.T) {
	tm, err := newTemplates(embedded, false, func(string) (string, error) { return "", nil })
	if err != nil {
		t.Fatal(err)
	}
	for kind := range timelineRenderers {
		if tm.partials.Lookup("timeline/"+kind) == nil {
			t.Errorf("no template timeline/%s", kind)
		}
	}
}
