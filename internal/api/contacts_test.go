package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func init() {
	// kin-openapi has no decoder for vCard responses; they are text.
	openapi3filter.RegisterBodyDecoder(vcardContentType, openapi3filter.PlainBodyDecoder)
}

// call sends a request, requires the status and decodes the body into
// out (when not nil).
func (e *env) call(t *testing.T, method, target, token, body string, want int, out any) result {
	t.Helper()
	res := e.do(method, target, token, body)
	if res.Status != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, target, res.Status, want, res.Body)
	}
	if out != nil {
		res.JSON(t, out)
	}
	return res
}

// mustContact creates a person through the API (duplicates allowed).
func (e *env) mustContact(t *testing.T, body string) *crm.Contact {
	t.Helper()
	var c crm.Contact
	e.call(t, "POST", "/api/v1/contacts?allow_duplicate=true", e.rw, body, http.StatusCreated, &c)
	return &c
}

// walk pages through a list with limit 2 and returns every item in order.
func walk[T any](t *testing.T, e *env, target string) []T {
	t.Helper()
	var all []T
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	next := target + sep + "limit=2"
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("%s: paging does not end", target)
		}
		var page list[T]
		e.call(t, "GET", next, e.ro, "", http.StatusOK, &page)
		if len(page.Data) > 2 {
			t.Fatalf("%s: a page of %d items with limit 2", next, len(page.Data))
		}
		all = append(all, page.Data...)
		if page.Next == nil {
			return all
		}
		if len(page.Data) == 0 {
			t.Fatalf("%s: an empty page with a next cursor", next)
		}
		next = target + sep + "limit=2&after=" + url.QueryEscape(*page.Next)
	}
}

func ids(cs []*crm.Contact) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestContactsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		sara, err := e.auth.CreateUser(context.Background(), crm.UserCreate{Email: "sara@example.com", Name: "Sara Rezaei",
			Password: "a long enough password", Role: crm.RoleSales})
		if err != nil {
			t.Fatal(err)
		}
		saraToken := e.mustToken(sara.ID, crm.ScopeRead, crm.ScopeWrite)

		t.Run("Routing", func(t *testing.T) { testContactRouting(t, e) })
		t.Run("CustomFields", func(t *testing.T) { testCustomFields(t, e) })
		t.Run("Create", func(t *testing.T) { testContactCreate(t, e) })
		t.Run("Invalid", func(t *testing.T) { testContactInvalid(t, e) })
		t.Run("Duplicates", func(t *testing.T) { testContactDuplicates(t, e) })
		t.Run("Filters", func(t *testing.T) { testContactFilters(t, e, sara) })
		t.Run("Paging", func(t *testing.T) { testContactPaging(t, e) })
		t.Run("Patch", func(t *testing.T) { testContactPatch(t, e, sara) })
		t.Run("Search", func(t *testing.T) { testSearch(t, e) })
		t.Run("Merge", func(t *testing.T) { testMerge(t, e) })
		t.Run("Bulk", func(t *testing.T) { testBulk(t, e) })
		t.Run("Consent", func(t *testing.T) { testConsent(t, e) })
		t.Run("Privacy", func(t *testing.T) { testPrivacy(t, e) })
		t.Run("ExportCSV", func(t *testing.T) { testExportCSV(t, e, sara, saraToken) })
		t.Run("ExportVCard", func(t *testing.T) { testExportVCard(t, e) })
		t.Run("Companies", func(t *testing.T) { testCompanies(t, e) })
		t.Run("Timeline", func(t *testing.T) { testTimeline(t, e) })
		t.Run("Tasks", func(t *testing.T) { testTasks(t, e, sara) })
		t.Run("Notifications", func(t *testing.T) { testNotifications(t, e, saraToken) })
	})
}

// testContactRouting: literal paths next to /contacts/{id} reach their own
// operation in the document too, so their responses are validated.
func testContactRouting(t *testing.T, e *env) {
	for target, want := range map[string]string{
		"POST /api/v1/contacts/merge":      "mergeContacts",
		"POST /api/v1/contacts/duplicates": "findDuplicateContacts",
		"POST /api/v1/contacts/bulk":       "bulkContacts",
		"GET /api/v1/contacts/export.csv":  "exportContactsCSV",
		"GET /api/v1/contacts/export.vcf":  "exportContactsVCard",
		"GET /api/v1/contacts/7":           "getContact",
		"GET /api/v1/contacts/7/export":    "exportPerson",
	} {
		method, path, _ := strings.Cut(target, " ")
		route, _, err := e.router.FindRoute(httptest.NewRequest(method, path, nil))
		if err != nil || route.Operation.OperationID != want {
			t.Errorf("%s: route %v, %v; want %s", target, route, err, want)
		}
	}
}

func testCustomFields(t *testing.T, e *env) {
	var vip crm.CustomField
	e.call(t, "POST", "/api/v1/custom-fields", e.rw,
		`{"entity":"contact","key":"vip","label":"VIP","type":"select","options":["gold","silver"],"show_in_list":true}`, http.StatusCreated, &vip)
	if vip.ID == 0 || vip.Key != "vip" || len(vip.Options) != 2 || !vip.ShowInList {
		t.Fatalf("created %+v", vip)
	}
	var score crm.CustomField
	e.call(t, "POST", "/api/v1/custom-fields", e.rw, `{"entity":"contact","key":"score","label":"Score","type":"number"}`, http.StatusCreated, &score)
	var size crm.CustomField
	e.call(t, "POST", "/api/v1/custom-fields", e.rw, `{"entity":"company","key":"branches","label":"Branches","type":"number"}`, http.StatusCreated, &size)

	p := e.do("POST", "/api/v1/custom-fields", e.rw, `{"entity":"lead","key":"Bad Key","label":"","type":"colour"}`).problem(t, http.StatusUnprocessableEntity)
	for _, f := range []string{"entity", "key", "label", "type"} {
		if p.field(f) == "" {
			t.Errorf("problem does not name %s: %+v", f, p)
		}
	}
	e.do("POST", "/api/v1/custom-fields", e.rw, `{"entity":"contact","key":"vip","label":"Again","type":"text"}`).problem(t, http.StatusConflict)

	var fields list[*crm.CustomField]
	e.call(t, "GET", "/api/v1/custom-fields?entity=contact", e.ro, "", http.StatusOK, &fields)
	if len(fields.Data) != 2 || fields.Next != nil {
		t.Fatalf("contact fields: %+v", fields)
	}
	e.call(t, "GET", "/api/v1/custom-fields", e.ro, "", http.StatusOK, &fields)
	if len(fields.Data) != 3 {
		t.Fatalf("all fields: %d", len(fields.Data))
	}
	if p := e.do("GET", "/api/v1/custom-fields?entity=lead", e.ro, "").problem(t, http.StatusUnprocessableEntity); p.field("entity") == "" {
		t.Fatalf("bad entity: %+v", p)
	}

	// PATCH changes what is sent; options, flags and type stay.
	var got crm.CustomField
	e.call(t, "PATCH", fmt.Sprintf("/api/v1/custom-fields/%d", vip.ID), e.rw, `{"label":"VIP level","position":2}`, http.StatusOK, &got)
	if got.Label != "VIP level" || got.Position != 2 || len(got.Options) != 2 || !got.ShowInList || got.Type != crm.FieldSelect {
		t.Fatalf("patched %+v", got)
	}
	e.do("PATCH", "/api/v1/custom-fields/999999", e.rw, `{"label":"x"}`).problem(t, http.StatusNotFound)
	e.do("PATCH", fmt.Sprintf("/api/v1/custom-fields/%d", vip.ID), e.rw, `{"type":"text"}`).problem(t, http.StatusUnprocessableEntity)

	var tmp crm.CustomField
	e.call(t, "POST", "/api/v1/custom-fields", e.rw, `{"entity":"company","key":"tmp","label":"Temporary","type":"text"}`, http.StatusCreated, &tmp)
	e.call(t, "DELETE", fmt.Sprintf("/api/v1/custom-fields/%d", tmp.ID), e.rw, "", http.StatusNoContent, nil)
	e.do("DELETE", fmt.Sprintf("/api/v1/custom-fields/%d", tmp.ID), e.rw, "").problem(t, http.StatusNotFound)

	// Changing definitions is for settings:manage.
	u, err := e.auth.CreateUser(context.Background(), crm.UserCreate{Email: "support@example.com", Password: "a long enough password", Role: crm.RoleSupport})
	if err != nil {
		t.Fatal(err)
	}
	support := e.mustToken(u.ID, crm.ScopeRead, crm.ScopeWrite)
	e.do("POST", "/api/v1/custom-fields", support, `{"entity":"contact","key":"nope","label":"No","type":"text"}`).problem(t, http.StatusForbidden)
	e.call(t, "GET", "/api/v1/custom-fields", support, "", http.StatusOK, nil)
}

func testContactCreate(t *testing.T, e *env) {
	body := `{"first_name":"رضا","last_name":"احمدی","emails":[{"value":"Reza.Ahmadi@Example.com","label":"work"}],
		"phones":[{"value":"۰۹۱۲ ۳۴۵ ۶۷۸۹","label":"mobile"}],"tags":["VIP"],"custom":{"vip":"gold","score":"۱۲"}}`
	res := e.call(t, "POST", "/api/v1/contacts", e.rw, body, http.StatusCreated, nil)
	var c crm.Contact
	res.JSON(t, &c)
	if c.ID == 0 || c.FirstName != "رضا" || len(c.Phones) != 1 || c.Phones[0].Value != "+989123456789" || c.Phones[0].Label != "mobile" {
		t.Fatalf("created %+v", c)
	}
	if c.Emails[0].Value != "reza.ahmadi@example.com" || c.Custom["vip"] != "gold" || c.Custom["score"] != 12.0 {
		t.Fatalf("created %+v", c)
	}
	if loc := res.Header.Get("Location"); loc != fmt.Sprintf("/api/v1/contacts/%d", c.ID) {
		t.Fatalf("Location = %q", loc)
	}
	// The person JSON carries the fields other modules rely on.
	var raw map[string]any
	res.JSON(t, &raw)
	for _, k := range []string{"id", "first_name", "last_name", "emails", "phones", "company_ids", "tags", "custom", "owner_id", "created_at", "updated_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("person JSON lacks %q: %s", k, res.Body)
		}
	}

	var got crm.Contact
	e.call(t, "GET", fmt.Sprintf("/api/v1/contacts/%d", c.ID), e.ro, "", http.StatusOK, &got)
	if got.ID != c.ID || got.Phones[0].Value != "+989123456789" {
		t.Fatalf("read back %+v", got)
	}
	e.do("GET", "/api/v1/contacts/999999", e.ro, "").problem(t, http.StatusNotFound)
	e.do("GET", "/api/v1/contacts/abc", e.ro, "").problem(t, http.StatusNotFound)

	var tmp crm.Contact
	e.call(t, "POST", "/api/v1/contacts", e.rw, `{"first_name":"Temporary","last_name":"Person"}`, http.StatusCreated, &tmp)
	e.call(t, "DELETE", fmt.Sprintf("/api/v1/contacts/%d", tmp.ID), e.rw, "", http.StatusNoContent, nil)
	e.do("GET", fmt.Sprintf("/api/v1/contacts/%d", tmp.ID), e.ro, "").problem(t, http.StatusNotFound)
}

func testContactInvalid(t *testing.T, e *env) {
	p := e.do("POST", "/api/v1/contacts", e.rw,
		`{"first_name":"Bad","emails":[{"value":"not an email"}],"phones":[{"value":"12ab"}],"custom":{"score":"many","nope":1}}`).
		problem(t, http.StatusUnprocessableEntity)
	for _, f := range []string{"emails[0]", "phones[0]", "custom.score", "custom.nope"} {
		if p.field(f) == "" {
			t.Errorf("problem does not name %s: %+v", f, p)
		}
	}
	p = e.do("POST", "/api/v1/contacts", e.rw, `{"last_name":""}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("first_name") == "" {
		t.Errorf("empty person: %+v", p)
	}
	p = e.do("POST", "/api/v1/contacts", e.rw, `{"first_name":"A","id":5}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("id") == "" {
		t.Errorf("read-only id: %+v", p)
	}
	p = e.do("POST", "/api/v1/contacts?allow_duplicate=maybe", e.rw, `{"first_name":"A"}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("allow_duplicate") == "" {
		t.Errorf("allow_duplicate: %+v", p)
	}
	p = e.do("POST", "/api/v1/contacts", e.rw, `{"first_name":"A","owner_id":999999}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("owner_id") == "" {
		t.Errorf("unknown owner: %+v", p)
	}
}

func testContactDuplicates(t *testing.T, e *env) {
	first := e.mustContact(t, `{"first_name":"Nima","last_name":"Sadeghi","emails":[{"value":"nima@example.com"}],"phones":[{"value":"09121112233"}]}`)

	body := `{"first_name":"N.","last_name":"S.","phones":[{"value":"+98 912 111 2233"}]}`
	res := e.do("POST", "/api/v1/contacts", e.rw, body)
	p := res.problem(t, http.StatusConflict)
	if p.Code != crm.ECONFLICT {
		t.Fatalf("code = %q", p.Code)
	}
	var dup struct {
		Duplicates []crm.DuplicateMatch `json:"duplicates"`
	}
	res.JSON(t, &dup)
	if len(dup.Duplicates) != 1 || dup.Duplicates[0].ContactID != first.ID || !slices.Contains(dup.Duplicates[0].Reasons, "phone") || dup.Duplicates[0].Name == "" {
		t.Fatalf("duplicates = %+v", dup)
	}

	// The check without saving finds the same, and leaves out the person
	// being edited.
	var matches list[crm.DuplicateMatch]
	e.call(t, "POST", "/api/v1/contacts/duplicates", e.rw, `{"emails":[{"value":"NIMA@example.com"}]}`, http.StatusOK, &matches)
	if len(matches.Data) != 1 || matches.Data[0].ContactID != first.ID || matches.Next != nil {
		t.Fatalf("matches = %+v", matches)
	}
	e.call(t, "POST", "/api/v1/contacts/duplicates", e.rw, fmt.Sprintf(`{"id":%d,"emails":[{"value":"nima@example.com"}]}`, first.ID), http.StatusOK, &matches)
	if len(matches.Data) != 0 {
		t.Fatalf("self matched: %+v", matches)
	}

	// A retry with the same Idempotency-Key replays the warning.
	again := e.do("POST", "/api/v1/contacts", e.rw, body, idempotency.Header, "dup-1")
	replay := e.do("POST", "/api/v1/contacts", e.rw, body, idempotency.Header, "dup-1")
	if again.Status != http.StatusConflict || replay.Header.Get(replayedHeader) != "true" || !bytes.Equal(again.Body, replay.Body) {
		t.Fatalf("replayed warning: %d %v %s", replay.Status, replay.Header, replay.Body)
	}

	// allow_duplicate saves anyway, as a query parameter or a body member.
	var c crm.Contact
	e.call(t, "POST", "/api/v1/contacts?allow_duplicate=true", e.rw, body, http.StatusCreated, &c)
	created := e.call(t, "POST", "/api/v1/contacts", e.rw, `{"first_name":"Nima","last_name":"Sadeghi","allow_duplicate":true}`, http.StatusCreated, &c)
	if c.ID == first.ID {
		t.Fatal("no new person")
	}
	// Creating with a key twice makes one person.
	key := []string{idempotency.Header, "create-1"}
	created = e.do("POST", "/api/v1/contacts", e.rw, `{"first_name":"Once","last_name":"Only"}`, key...)
	replay = e.do("POST", "/api/v1/contacts", e.rw, `{"first_name":"Once","last_name":"Only"}`, key...)
	if created.Status != http.StatusCreated || replay.Status != http.StatusCreated || !bytes.Equal(created.Body, replay.Body) {
		t.Fatalf("idempotent create: %d %s / %d %s", created.Status, created.Body, replay.Status, replay.Body)
	}
	var once list[*crm.Contact]
	e.call(t, "GET", "/api/v1/contacts?q=once", e.ro, "", http.StatusOK, &once)
	if len(once.Data) != 1 {
		t.Fatalf("%d people made by one key", len(once.Data))
	}
}

func testContactFilters(t *testing.T, e *env, sara *crm.User) {
	var co crm.Company
	e.call(t, "POST", "/api/v1/companies", e.rw, `{"name":"Filter Trading"}`, http.StatusCreated, &co)
	a := e.mustContact(t, fmt.Sprintf(`{"first_name":"Filter","last_name":"One","tags":["filt","north"],"owner_id":%d,"company_ids":[%d],"custom":{"vip":"gold"}}`, sara.ID, co.ID))
	b := e.mustContact(t, `{"first_name":"Filter","last_name":"Two","tags":["filt"],"custom":{"vip":"silver"}}`)
	c := e.mustContact(t, fmt.Sprintf(`{"first_name":"Filter","last_name":"Three","tags":["filt","north"],"owner_id":%d}`, e.admin.ID))

	tests := []struct {
		query string
		want  []int64
	}{
		{"tag=filt", []int64{c.ID, b.ID, a.ID}},
		{"tag=North", []int64{c.ID, a.ID}},
		{fmt.Sprintf("tag=filt&owner_id=%d", sara.ID), []int64{a.ID}},
		{"tag=filt&owner_id=0", []int64{b.ID}},
		{"tag=filt&owner_id=۰", []int64{b.ID}},
		{fmt.Sprintf("company_id=%d", co.ID), []int64{a.ID}},
		{"tag=filt&custom.vip=silver", []int64{b.ID}},
		{"tag=filt&custom.vip=gold&sort=name", []int64{a.ID}},
		{fmt.Sprintf("ids=%d,%d&sort=created", a.ID, c.ID), []int64{a.ID, c.ID}},
		{"tag=filt&created_from=۲۰۰۰-۰۱-۰۱", []int64{c.ID, b.ID, a.ID}},
		{"tag=filt&created_from=" + url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)) +
			"&created_to=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), []int64{c.ID, b.ID, a.ID}},
		{"tag=filt&created_to=2000-01-01", nil},
		{"tag=filt&created_from=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), nil},
		{"q=filter&tag=north&sort=name", []int64{a.ID, c.ID}},
	}
	for _, tt := range tests {
		var page list[*crm.Contact]
		e.call(t, "GET", "/api/v1/contacts?"+tt.query, e.ro, "", http.StatusOK, &page)
		if got := ids(page.Data); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.query, got, tt.want)
		}
	}

	p := e.do("GET", "/api/v1/contacts?owner_id=x&company_id=-1&created_from=yesterday&sort=age&limit=0&custom.nope=1", e.ro, "").
		problem(t, http.StatusUnprocessableEntity)
	for _, f := range []string{"owner_id", "company_id", "created_from", "sort", "limit"} {
		if p.field(f) == "" {
			t.Errorf("problem does not name %s: %+v", f, p)
		}
	}
	p = e.do("GET", "/api/v1/contacts?custom.nope=1", e.ro, "").problem(t, http.StatusUnprocessableEntity)
	if p.field("custom.nope") == "" {
		t.Errorf("unknown custom field: %+v", p)
	}
	p = e.do("GET", "/api/v1/contacts?custom.vip=bronze", e.ro, "").problem(t, http.StatusUnprocessableEntity)
	if p.field("custom.vip") == "" {
		t.Errorf("bad custom value: %+v", p)
	}
	p = e.do("GET", "/api/v1/contacts?created_from=2025-03-02&created_to=2025-03-01", e.ro, "").problem(t, http.StatusUnprocessableEntity)
	if p.field("created_to") == "" {
		t.Errorf("from after to: %+v", p)
	}
	e.do("GET", "/api/v1/contacts?ids=1,x", e.ro, "").problem(t, http.StatusUnprocessableEntity)
}

func testContactPaging(t *testing.T, e *env) {
	names := []string{"Zahra", "Ali", "Maryam", "Babak", "Hoda", "Kaveh", "Dara"}
	var made []*crm.Contact
	for _, n := range names {
		made = append(made, e.mustContact(t, fmt.Sprintf(`{"first_name":%q,"last_name":"Pager","tags":["paging"]}`, n)))
	}
	// Touch one so that -updated differs from -created.
	e.call(t, "PATCH", fmt.Sprintf("/api/v1/contacts/%d", made[2].ID), e.rw, `{"notes":"touched"}`, http.StatusOK, nil)

	for _, sort := range []string{"", "name", "created", "-created", "-updated"} {
		t.Run("sort="+sort, func(t *testing.T) {
			target := "/api/v1/contacts?tag=paging"
			if sort != "" {
				target += "&sort=" + sort
			}
			got := walk[*crm.Contact](t, e, target)
			seen := map[int64]int{}
			for _, c := range got {
				seen[c.ID]++
			}
			if len(got) != len(made) || len(seen) != len(made) {
				t.Fatalf("walked %d people (%d distinct), want %d", len(got), len(seen), len(made))
			}
			for i := 1; i < len(got); i++ {
				prev, cur := got[i-1], got[i]
				var ok bool
				switch sort {
				case "name":
					ok = prev.FirstName < cur.FirstName
				case "created":
					ok = prev.ID < cur.ID
				case "", "-created":
					ok = prev.ID > cur.ID
				case "-updated":
					ok = !prev.UpdatedAt.Before(cur.UpdatedAt)
				}
				if !ok {
					t.Fatalf("out of order at %d: %s/%d then %s/%d", i, prev.FirstName, prev.ID, cur.FirstName, cur.ID)
				}
			}
			if sort == "-updated" && got[0].ID != made[2].ID {
				t.Fatalf("-updated starts with %d, want the touched %d", got[0].ID, made[2].ID)
			}
		})
	}
	e.do("GET", "/api/v1/contacts?after=!!", e.ro, "").problem(t, http.StatusUnprocessableEntity)
}

func testContactPatch(t *testing.T, e *env, sara *crm.User) {
	c := e.mustContact(t, fmt.Sprintf(`{"first_name":"Patch","last_name":"Me","emails":[{"value":"patch@example.com"}],
		"tags":["a"],"owner_id":%d,"custom":{"vip":"gold","score":3}}`, sara.ID))
	path := fmt.Sprintf("/api/v1/contacts/%d", c.ID)

	var got crm.Contact
	e.call(t, "PATCH", path, e.rw, `{"last_name":"Patched","custom":{"score":4}}`, http.StatusOK, &got)
	if got.FirstName != "Patch" || got.LastName != "Patched" || len(got.Emails) != 1 || got.OwnerID == nil || *got.OwnerID != sara.ID ||
		got.Custom["vip"] != "gold" || got.Custom["score"] != 4.0 || !slices.Equal(got.Tags, []string{"a"}) {
		t.Fatalf("after a partial patch: %+v", got)
	}
	got = crm.Contact{} // decoding into a used map would keep its keys
	e.call(t, "PATCH", path, e.rw, `{"owner_id":null,"custom":{"vip":null},"phones":[{"value":"۰۹۳۵۱۲۳۴۵۶۷"}],"tags":[]}`, http.StatusOK, &got)
	if got.OwnerID != nil || got.Custom["vip"] != nil || got.Custom["score"] != 4.0 || len(got.Tags) != 0 || got.Phones[0].Value != "+989351234567" {
		t.Fatalf("after clearing: %+v", got)
	}
	got = crm.Contact{}
	e.call(t, "GET", path, e.ro, "", http.StatusOK, &got)
	if got.OwnerID != nil || got.LastName != "Patched" || got.Custom["vip"] != nil {
		t.Fatalf("read back: %+v", got)
	}
	p := e.do("PATCH", path, e.rw, `{"emails":[{"value":"broken"}],"custom":{"score":"x"}}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("emails[0]") == "" || p.field("custom.score") == "" {
		t.Fatalf("invalid patch: %+v", p)
	}
	e.do("PATCH", "/api/v1/contacts/999999", e.rw, `{"first_name":"x"}`).problem(t, http.StatusNotFound)
}

func testSearch(t *testing.T, e *env) {
	ali := e.mustContact(t, `{"first_name":"علی","last_name":"کریمی","emails":[{"value":"ali.karimi@example.com"}],"phones":[{"value":"09127654321"}]}`)
	var co crm.Company
	e.call(t, "POST", "/api/v1/companies", e.rw, `{"name":"کیمیا تجارت"}`, http.StatusCreated, &co)

	find := func(q string) []crm.SearchHit {
		t.Helper()
		var hits list[crm.SearchHit]
		e.call(t, "GET", "/api/v1/search?q="+url.QueryEscape(q), e.ro, "", http.StatusOK, &hits)
		return hits.Data
	}
	has := func(hits []crm.SearchHit, kind string, id int64) bool {
		return slices.ContainsFunc(hits, func(h crm.SearchHit) bool { return h.Kind == kind && h.ID == id })
	}
	// Arabic letters (ي, ك) find the Persian spelling (ی, ک).
	if hits := find("علي"); !has(hits, "contact", ali.ID) {
		t.Fatalf("علي found %+v", hits)
	}
	if hits := find("كريمي"); !has(hits, "contact", ali.ID) {
		t.Fatalf("كريمي found %+v", hits)
	}
	if hits := find("كيم"); !has(hits, "company", co.ID) {
		t.Fatalf("prefix كيم found %+v", hits)
	}
	for _, q := range []string{"0912765", "+98 912 765", "۰۹۱۲۷۶۵۴۳۲۱", "ali kar"} {
		if hits := find(q); !has(hits, "contact", ali.ID) {
			t.Errorf("%q found %+v", q, hits)
		}
	}
	if hits := find(""); len(hits) != 0 {
		t.Fatalf("empty query found %+v", hits)
	}
	// The list's q searches the same way.
	var page list[*crm.Contact]
	e.call(t, "GET", "/api/v1/contacts?q="+url.QueryEscape("علي كريمي"), e.ro, "", http.StatusOK, &page)
	if !slices.Contains(ids(page.Data), ali.ID) {
		t.Fatalf("list q found %v", ids(page.Data))
	}
	e.do("GET", "/api/v1/search?q=x&limit=51", e.ro, "").problem(t, http.StatusUnprocessableEntity)
}

func testMerge(t *testing.T, e *env) {
	a := e.mustContact(t, `{"first_name":"Maryam","last_name":"Karimi","emails":[{"value":"maryam@example.com"}],"tags":["m1"]}`)
	b := e.mustContact(t, `{"first_name":"Mariam","last_name":"Karimi","phones":[{"value":"09127776655"}],"tags":["m2"]}`)
	body := fmt.Sprintf(`{"ids":[%d,%d],"survivor_id":%d,"choices":{"first_name":%d},"dry_run":true}`, a.ID, b.ID, a.ID, b.ID)

	var plan crm.MergePlan
	e.call(t, "POST", "/api/v1/contacts/merge", e.rw, body, http.StatusOK, &plan)
	if plan.SurvivorID != a.ID || !slices.Equal(plan.MergedIDs, []int64{b.ID}) || plan.Result.FirstName != "Mariam" ||
		len(plan.Result.Emails) != 1 || len(plan.Result.Phones) != 1 || len(plan.Result.Tags) != 2 {
		t.Fatalf("plan = %+v", plan)
	}
	if !slices.ContainsFunc(plan.Conflicts, func(c crm.MergeConflict) bool { return c.Field == "first_name" && c.Chosen == b.ID }) {
		t.Fatalf("conflicts = %+v", plan.Conflicts)
	}
	// The dry run changed nothing.
	e.call(t, "GET", fmt.Sprintf("/api/v1/contacts/%d", b.ID), e.ro, "", http.StatusOK, nil)

	var merged crm.Contact
	e.call(t, "POST", "/api/v1/contacts/merge", e.rw, strings.Replace(body, `"dry_run":true`, `"dry_run":false`, 1), http.StatusOK, &merged)
	if merged.ID != a.ID || merged.FirstName != "Mariam" || len(merged.Phones) != 1 || merged.Emails[0].Value != "maryam@example.com" {
		t.Fatalf("merged = %+v", merged)
	}
	e.do("GET", fmt.Sprintf("/api/v1/contacts/%d", b.ID), e.ro, "").problem(t, http.StatusNotFound)

	p := e.do("POST", "/api/v1/contacts/merge", e.rw, fmt.Sprintf(`{"ids":[%d]}`, a.ID)).problem(t, http.StatusUnprocessableEntity)
	if p.field("ids") == "" {
		t.Fatalf("one person: %+v", p)
	}
}

func testBulk(t *testing.T, e *env) {
	a := e.mustContact(t, `{"first_name":"Bulk","last_name":"One"}`)
	b := e.mustContact(t, `{"first_name":"Bulk","last_name":"Two"}`)
	var n changed
	e.call(t, "POST", "/api/v1/contacts/bulk", e.rw, fmt.Sprintf(`{"ids":[%d,%d],"action":"add_tag","tag":"bulked"}`, a.ID, b.ID), http.StatusOK, &n)
	if n.Changed != 2 {
		t.Fatalf("changed = %d", n.Changed)
	}
	var page list[*crm.Contact]
	e.call(t, "GET", "/api/v1/contacts?tag=bulked", e.ro, "", http.StatusOK, &page)
	if len(page.Data) != 2 {
		t.Fatalf("tagged: %v", ids(page.Data))
	}
	e.call(t, "POST", "/api/v1/contacts/bulk", e.rw, fmt.Sprintf(`{"ids":[%d],"action":"delete"}`, b.ID), http.StatusOK, &n)
	e.do("GET", fmt.Sprintf("/api/v1/contacts/%d", b.ID), e.ro, "").problem(t, http.StatusNotFound)
	p := e.do("POST", "/api/v1/contacts/bulk", e.rw, `{"ids":[],"action":"paint"}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("ids") == "" || p.field("action") == "" {
		t.Fatalf("invalid bulk: %+v", p)
	}
}

func testConsent(t *testing.T, e *env) {
	c := e.mustContact(t, `{"first_name":"Consent","last_name":"Giver","emails":[{"value":"consent@example.com"}]}`)
	base := fmt.Sprintf("/api/v1/contacts/%d/consents", c.ID)
	check := func(channel string) consentCheck {
		t.Helper()
		var out consentCheck
		e.call(t, "GET", base+"/"+channel+"/check", e.ro, "", http.StatusOK, &out)
		return out
	}
	if got := check("email"); got.Allowed || got.Reason != "no consent" {
		t.Fatalf("before consent: %+v", got)
	}
	var cons crm.Consent
	e.call(t, "PUT", base+"/email", e.rw, `{"status":"granted","source":"form","note":"newsletter box"}`, http.StatusOK, &cons)
	if cons.Channel != "email" || cons.Status != "granted" || cons.Source != "form" {
		t.Fatalf("consent = %+v", cons)
	}
	if got := check("email"); !got.Allowed || got.Reason != "" {
		t.Fatalf("after consent: %+v", got)
	}
	if got := check("sms"); got.Allowed || got.Reason != "no address" {
		t.Fatalf("sms without a phone: %+v", got)
	}
	var all list[crm.Consent]
	e.call(t, "GET", base, e.ro, "", http.StatusOK, &all)
	if len(all.Data) != 1 || all.Data[0].Channel != "email" {
		t.Fatalf("consents = %+v", all)
	}
	e.call(t, "PUT", base+"/email", e.rw, `{"status":"withdrawn"}`, http.StatusOK, &cons)
	if got := check("email"); got.Allowed || got.Reason != "withdrawn" {
		t.Fatalf("after withdrawal: %+v", got)
	}
	p := e.do("PUT", base+"/pigeon", e.rw, `{"status":"maybe"}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("channel") == "" || p.field("status") == "" {
		t.Fatalf("invalid consent: %+v", p)
	}
	e.do("GET", base+"/pigeon/check", e.ro, "").problem(t, http.StatusUnprocessableEntity)
	e.do("PUT", "/api/v1/contacts/999999/consents/email", e.rw, `{"status":"granted"}`).problem(t, http.StatusNotFound)
}

func testPrivacy(t *testing.T, e *env) {
	c := e.mustContact(t, `{"first_name":"Private","last_name":"Person","emails":[{"value":"private@example.com"}],"phones":[{"value":"09120001122"}]}`)
	e.call(t, "POST", "/api/v1/notes", e.rw, fmt.Sprintf(`{"contact_id":%d,"body":"Asked for a copy of their data"}`, c.ID), http.StatusCreated, nil)

	res := e.call(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/export", c.ID), e.ro, "", http.StatusOK, nil)
	var doc struct {
		Format   string        `json:"format"`
		Contact  crm.Contact   `json:"contact"`
		Notes    []crm.Note    `json:"notes"`
		Timeline []crm.Event   `json:"timeline"`
		Audit    []interface{} `json:"audit"`
	}
	res.JSON(t, &doc)
	if doc.Contact.ID != c.ID || len(doc.Notes) != 1 || len(doc.Audit) == 0 {
		t.Fatalf("export: %s", res.Body)
	}
	if !slices.ContainsFunc(doc.Timeline, func(ev crm.Event) bool {
		return ev.Type == crm.EventNoteAdded && bytes.Contains(ev.Payload, []byte("copy of their data"))
	}) {
		t.Fatalf("export timeline lacks the note: %s", res.Body)
	}

	e.call(t, "POST", fmt.Sprintf("/api/v1/contacts/%d/erase", c.ID), e.rw, "", http.StatusNoContent, nil)
	e.do("GET", fmt.Sprintf("/api/v1/contacts/%d", c.ID), e.ro, "").problem(t, http.StatusNotFound)
	e.do("GET", fmt.Sprintf("/api/v1/contacts/%d/timeline", c.ID), e.ro, "").problem(t, http.StatusNotFound)
	e.do("POST", fmt.Sprintf("/api/v1/contacts/%d/erase", c.ID), e.rw, "").problem(t, http.StatusNotFound)

	// The same address, added again later, stays suppressed even with consent.
	again := e.mustContact(t, `{"first_name":"Someone","last_name":"Else","emails":[{"value":"PRIVATE@example.com"}]}`)
	e.call(t, "PUT", fmt.Sprintf("/api/v1/contacts/%d/consents/email", again.ID), e.rw, `{"status":"granted"}`, http.StatusOK, nil)
	var got consentCheck
	e.call(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/consents/email/check", again.ID), e.ro, "", http.StatusOK, &got)
	if got.Allowed || got.Reason != "suppressed" {
		t.Fatalf("erased address: %+v", got)
	}
}

func testExportCSV(t *testing.T, e *env, sara *crm.User, saraToken string) {
	var co crm.Company
	e.call(t, "POST", "/api/v1/companies", e.rw, `{"name":"Export House"}`, http.StatusCreated, &co)
	var made []*crm.Contact
	for i := range 5 {
		made = append(made, e.mustContact(t, fmt.Sprintf(`{"first_name":"Export%d","last_name":"کاربر","tags":["csv"],"owner_id":%d,
			"company_ids":[%d],"emails":[{"value":"export%d@example.com"}],"custom":{"vip":"gold"}}`, i, sara.ID, co.ID, i)))
	}
	e.mustContact(t, `{"first_name":"NotExported","tags":["other"]}`)

	res := e.call(t, "GET", "/api/v1/contacts/export.csv?tag=csv&sort=created", e.ro, "", http.StatusOK, nil)
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(res.Header.Get("Content-Disposition"), "contacts.csv") {
		t.Fatalf("headers %v", res.Header)
	}
	rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var fields list[*crm.CustomField]
	e.call(t, "GET", "/api/v1/custom-fields?entity=contact", e.ro, "", http.StatusOK, &fields)
	var keys []string
	for _, f := range fields.Data {
		keys = append(keys, f.Key)
	}
	want := contactfile.DefaultCSVColumns(keys...)
	if !slices.Equal(rows[0], want) {
		t.Fatalf("header = %v, want %v", rows[0], want)
	}
	if len(rows) != 1+len(made) {
		t.Fatalf("%d rows, want %d: %s", len(rows)-1, len(made), res.Body)
	}
	col := func(name string) int { return slices.Index(want, name) }
	for i, row := range rows[1:] {
		if row[col("id")] != fmt.Sprint(made[i].ID) || row[col("first_name")] != made[i].FirstName || row[col("company")] != "Export House" ||
			row[col("owner_email")] != "sara@example.com" || row[col("custom:vip")] != "gold" || row[col("last_name")] != "کاربر" {
			t.Fatalf("row %d = %v", i, row)
		}
	}

	// The export is in the audit log.
	var audit list[*crm.AuditEntry]
	e.call(t, "GET", "/api/v1/audit?action=contact.export", e.ro, "", http.StatusOK, &audit)
	if len(audit.Data) == 0 || !strings.Contains(string(audit.Data[0].After), `"count":5`) {
		t.Fatalf("audit: %+v", audit.Data)
	}

	// A BOM on request; the empty result still has its header.
	res = e.call(t, "GET", "/api/v1/contacts/export.csv?tag=nobody&bom=true", e.ro, "", http.StatusOK, nil)
	if !bytes.HasPrefix(res.Body, []byte("\uFEFFid,")) || bytes.Count(res.Body, []byte("\n")) != 1 {
		t.Fatalf("empty export: %q", res.Body)
	}
	p := e.do("GET", "/api/v1/contacts/export.csv?sort=shoe&custom.nope=1", e.ro, "").problem(t, http.StatusUnprocessableEntity)
	if p.field("sort") == "" {
		t.Fatalf("bad filter: %+v", p)
	}
	// Sales may not export.
	e.do("GET", "/api/v1/contacts/export.csv", saraToken, "").problem(t, http.StatusForbidden)
}

func testExportVCard(t *testing.T, e *env) {
	var co crm.Company
	e.call(t, "POST", "/api/v1/companies", e.rw, `{"name":"Card Makers"}`, http.StatusCreated, &co)
	a := e.mustContact(t, fmt.Sprintf(`{"first_name":"Sima","last_name":"Card","emails":[{"value":"sima@example.com"}],
		"phones":[{"value":"09121234500","label":"mobile"}],"memberships":[{"company_id":%d,"role":"buyer"}]}`, co.ID))
	b := e.mustContact(t, `{"first_name":"Omid","last_name":"Card","tags":["vcard"]}`)

	read := func(body []byte) []contactfile.Card {
		t.Helper()
		var cards []contactfile.Card
		for c, err := range contactfile.DecodeVCards(bytes.NewReader(body), contactfile.VCardOptions{DefaultRegion: "IR"}) {
			if err != nil {
				t.Fatalf("parse vCards: %v\n%s", err, body)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("card: %v", err)
			}
			cards = append(cards, c)
		}
		return cards
	}
	res := e.call(t, "GET", fmt.Sprintf("/api/v1/contacts/export.vcf?ids=%d,%d&sort=created", a.ID, b.ID), e.ro, "", http.StatusOK, nil)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/vcard") {
		t.Fatalf("Content-Type = %q", res.Header.Get("Content-Type"))
	}
	cards := read(res.Body)
	if len(cards) != 2 || cards[0].Version != "4.0" || cards[0].Contact.FirstName != "Sima" || cards[1].Contact.FirstName != "Omid" {
		t.Fatalf("cards = %+v", cards)
	}
	if c := cards[0]; len(c.Contact.Phones) != 1 || c.Contact.Phones[0].Value != "+989121234500" || c.Contact.Emails[0].Value != "sima@example.com" ||
		!slices.Equal(c.CompanyNames, []string{"Card Makers"}) {
		t.Fatalf("card 1 = %+v", c)
	}

	res = e.call(t, "GET", "/api/v1/contacts/export.vcf?tag=vcard&version=3.0", e.ro, "", http.StatusOK, nil)
	if cards := read(res.Body); len(cards) != 1 || cards[0].Version != "3.0" || cards[0].Contact.LastName != "Card" {
		t.Fatalf("3.0 cards = %+v", cards)
	}
	res = e.call(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/vcard", a.ID), e.ro, "", http.StatusOK, nil)
	if cards := read(res.Body); len(cards) != 1 || cards[0].Contact.FirstName != "Sima" {
		t.Fatalf("one card = %+v", cards)
	}
	e.do("GET", fmt.Sprintf("/api/v1/contacts/%d/vcard?version=2.1", a.ID), e.ro, "").problem(t, http.StatusUnprocessableEntity)
	e.do("GET", "/api/v1/contacts/999999/vcard", e.ro, "").problem(t, http.StatusNotFound)
}

func testCompanies(t *testing.T, e *env) {
	var co crm.Company
	res := e.call(t, "POST", "/api/v1/companies", e.rw,
		`{"name":"Pars Software","domain":"https://www.Pars.example/","size":"11-50","tags":["tech"],"phones":[{"value":"021 8888 1234"}],"custom":{"branches":"۳"}}`,
		http.StatusCreated, &co)
	if co.ID == 0 || co.Domain != "pars.example" || co.Phones[0].Value != "+982188881234" || co.Custom["branches"] != 3.0 ||
		res.Header.Get("Location") != fmt.Sprintf("/api/v1/companies/%d", co.ID) {
		t.Fatalf("created %+v", co)
	}
	p := e.do("POST", "/api/v1/companies", e.rw, `{"name":"","size":"huge","custom":{"branches":"many"}}`).problem(t, http.StatusUnprocessableEntity)
	for _, f := range []string{"name", "size", "custom.branches"} {
		if p.field(f) == "" {
			t.Errorf("problem does not name %s: %+v", f, p)
		}
	}
	path := fmt.Sprintf("/api/v1/companies/%d", co.ID)
	var got crm.Company
	e.call(t, "GET", path, e.ro, "", http.StatusOK, &got)
	if got.Name != "Pars Software" {
		t.Fatalf("read %+v", got)
	}
	e.call(t, "PATCH", path, e.rw, fmt.Sprintf(`{"industry":"Software","owner_id":%d}`, e.admin.ID), http.StatusOK, &got)
	if got.Industry != "Software" || got.OwnerID == nil || got.Name != "Pars Software" || got.Size != "11-50" {
		t.Fatalf("patched %+v", got)
	}
	got = crm.Company{}
	e.call(t, "PATCH", path, e.rw, `{"owner_id":null,"custom":{"branches":null}}`, http.StatusOK, &got)
	if got.OwnerID != nil || got.Custom["branches"] != nil || got.Industry != "Software" {
		t.Fatalf("cleared %+v", got)
	}

	var page list[*crm.Company]
	e.call(t, "GET", "/api/v1/companies?tag=tech", e.ro, "", http.StatusOK, &page)
	if len(page.Data) != 1 || page.Data[0].ID != co.ID {
		t.Fatalf("by tag: %+v", page)
	}
	e.call(t, "GET", "/api/v1/companies?q=pars&owner_id=0&sort=-created", e.ro, "", http.StatusOK, &page)
	if len(page.Data) != 1 || page.Data[0].ID != co.ID {
		t.Fatalf("by q: %+v", page)
	}
	all := walk[*crm.Company](t, e, "/api/v1/companies")
	if !slices.ContainsFunc(all, func(c *crm.Company) bool { return c.ID == co.ID }) {
		t.Fatalf("walk missed the company")
	}
	e.do("GET", "/api/v1/companies?sort=created", e.ro, "").problem(t, http.StatusUnprocessableEntity)

	x := e.mustContact(t, fmt.Sprintf(`{"first_name":"Worker","last_name":"One","memberships":[{"company_id":%d,"role":"CTO"}]}`, co.ID))
	e.mustContact(t, `{"first_name":"Worker","last_name":"Elsewhere"}`)
	var people list[*crm.Contact]
	e.call(t, "GET", path+"/contacts", e.ro, "", http.StatusOK, &people)
	if !slices.Equal(ids(people.Data), []int64{x.ID}) {
		t.Fatalf("company people: %v", ids(people.Data))
	}
	e.do("GET", "/api/v1/companies/999999/contacts", e.ro, "").problem(t, http.StatusNotFound)

	var items list[timelineItem]
	e.call(t, "GET", path+"/timeline", e.ro, "", http.StatusOK, &items)
	if len(items.Data) == 0 || items.Data[len(items.Data)-1].Type != crm.EventCompanyCreated {
		t.Fatalf("company timeline: %+v", items)
	}

	e.call(t, "DELETE", path, e.rw, "", http.StatusNoContent, nil)
	e.do("GET", path, e.ro, "").problem(t, http.StatusNotFound)
	var after crm.Contact
	e.call(t, "GET", fmt.Sprintf("/api/v1/contacts/%d", x.ID), e.ro, "", http.StatusOK, &after)
	if len(after.CompanyIDs) != 0 {
		t.Fatalf("person still linked: %+v", after)
	}
}

func testTimeline(t *testing.T, e *env) {
	c := e.mustContact(t, `{"first_name":"Timeline","last_name":"Owner"}`)
	var note crm.Note
	e.call(t, "POST", "/api/v1/notes", e.rw, fmt.Sprintf(`{"contact_id":%d,"body":"Prefers calls after 5pm"}`, c.ID), http.StatusCreated, &note)
	var in crm.Interaction
	e.call(t, "POST", "/api/v1/interactions", e.rw, fmt.Sprintf(`{"contact_id":%d,"channel":"phone","direction":"inbound","subject":"Price question",
		"body":"Asked about the spring price list.","occurred_at":"2025-03-21T10:00:00Z","duration_seconds":240}`, c.ID), http.StatusCreated, &in)
	if in.ID == 0 || in.UserID != e.admin.ID || !in.OccurredAt.Equal(time.Date(2025, 3, 21, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("interaction = %+v", in)
	}
	var readBack crm.Interaction
	e.call(t, "GET", fmt.Sprintf("/api/v1/interactions/%d", in.ID), e.ro, "", http.StatusOK, &readBack)
	if readBack.Body != "Asked about the spring price list." {
		t.Fatalf("read back %+v", readBack)
	}

	items := walk[timelineItem](t, e, fmt.Sprintf("/api/v1/contacts/%d/timeline", c.ID))
	types := map[string]timelineItem{}
	for _, it := range items {
		types[it.Type] = it
	}
	for _, typ := range []string{crm.EventContactCreated, crm.EventNoteAdded, crm.EventInteraction} {
		if _, ok := types[typ]; !ok {
			t.Fatalf("timeline lacks %s: %+v", typ, items)
		}
	}
	if n := types[crm.EventNoteAdded]; n.Actor == nil || n.Actor.ID != e.admin.ID || !strings.Contains(string(n.Payload), "after 5pm") || n.Time.IsZero() {
		t.Fatalf("note item = %+v", n)
	}
	if it := types[crm.EventInteraction]; !strings.Contains(string(it.Payload), `"channel":"phone"`) || it.SubjectID != in.ID {
		t.Fatalf("interaction item = %+v", it)
	}

	// Notes: edit, read, delete.
	var edited crm.Note
	e.call(t, "PATCH", fmt.Sprintf("/api/v1/notes/%d", note.ID), e.rw, `{"body":"Prefers calls after 6pm"}`, http.StatusOK, &edited)
	if edited.Body != "Prefers calls after 6pm" {
		t.Fatalf("edited %+v", edited)
	}
	e.call(t, "GET", fmt.Sprintf("/api/v1/notes/%d", note.ID), e.ro, "", http.StatusOK, &edited)
	e.call(t, "DELETE", fmt.Sprintf("/api/v1/notes/%d", note.ID), e.rw, "", http.StatusNoContent, nil)
	e.do("GET", fmt.Sprintf("/api/v1/notes/%d", note.ID), e.ro, "").problem(t, http.StatusNotFound)

	p := e.do("POST", "/api/v1/interactions", e.rw, fmt.Sprintf(`{"contact_id":%d,"channel":"fax","direction":"sideways"}`, c.ID)).problem(t, http.StatusUnprocessableEntity)
	if p.field("channel") == "" || p.field("direction") == "" {
		t.Fatalf("bad interaction: %+v", p)
	}
	p = e.do("POST", "/api/v1/interactions", e.rw, fmt.Sprintf(`{"contact_id":%d,"channel":"phone","direction":"inbound","occurred_at":"yesterday"}`, c.ID)).
		problem(t, http.StatusUnprocessableEntity)
	if p.field("occurred_at") == "" {
		t.Fatalf("bad time: %+v", p)
	}
	p = e.do("POST", "/api/v1/notes", e.rw, `{"contact_id":999999,"body":""}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("contact_id") == "" || p.field("body") == "" {
		t.Fatalf("bad note: %+v", p)
	}
	e.do("GET", "/api/v1/contacts/999999/timeline", e.ro, "").problem(t, http.StatusNotFound)
}

func testTasks(t *testing.T, e *env, sara *crm.User) {
	c := e.mustContact(t, `{"first_name":"Task","last_name":"Subject"}`)
	var task crm.Task
	res := e.call(t, "POST", "/api/v1/tasks", e.rw, fmt.Sprintf(`{"title":"Call back about the quote","contact_id":%d,"assignee_id":%d,
		"due_at":"2030-01-02T09:00:00Z","remind_at":"2030-01-02T08:30:00Z"}`, c.ID, sara.ID), http.StatusCreated, &task)
	if task.ID == 0 || task.AssigneeID != sara.ID || task.DueAt == nil || task.RemindAt == nil || task.DoneAt != nil || res.Header.Get("Location") == "" {
		t.Fatalf("task = %+v", task)
	}
	var other crm.Task
	e.call(t, "POST", "/api/v1/tasks", e.rw, `{"title":"Tidy the pipeline"}`, http.StatusCreated, &other)
	if other.AssigneeID != e.admin.ID {
		t.Fatalf("default assignee: %+v", other)
	}

	var page list[*crm.Task]
	e.call(t, "GET", fmt.Sprintf("/api/v1/tasks?contact_id=%d", c.ID), e.ro, "", http.StatusOK, &page)
	if len(page.Data) != 1 || page.Data[0].ID != task.ID {
		t.Fatalf("by contact: %+v", page)
	}
	e.call(t, "GET", fmt.Sprintf("/api/v1/tasks?assignee_id=%d&open=true&due_before=2030-01-03", sara.ID), e.ro, "", http.StatusOK, &page)
	if len(page.Data) != 1 || page.Data[0].ID != task.ID {
		t.Fatalf("by assignee: %+v", page)
	}

	path := fmt.Sprintf("/api/v1/tasks/%d", task.ID)
	var got crm.Task
	e.call(t, "PATCH", path, e.rw, `{"title":"Call back","remind_at":null}`, http.StatusOK, &got)
	if got.Title != "Call back" || got.RemindAt != nil || got.DueAt == nil {
		t.Fatalf("patched %+v", got)
	}
	p := e.do("PATCH", path, e.rw, `{"title":"","due_at":"soon"}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("due_at") == "" {
		t.Fatalf("bad due_at: %+v", p)
	}
	p = e.do("PATCH", path, e.rw, `{"title":""}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("title") == "" {
		t.Fatalf("empty title: %+v", p)
	}

	e.call(t, "POST", path+"/complete", e.rw, "", http.StatusOK, &got)
	if got.DoneAt == nil {
		t.Fatalf("completed %+v", got)
	}
	e.call(t, "GET", fmt.Sprintf("/api/v1/tasks?contact_id=%d&open=true", c.ID), e.ro, "", http.StatusOK, &page)
	if len(page.Data) != 0 {
		t.Fatalf("open tasks after completion: %+v", page)
	}
	e.call(t, "GET", fmt.Sprintf("/api/v1/tasks?contact_id=%d&open=false", c.ID), e.ro, "", http.StatusOK, &page)
	if len(page.Data) != 1 {
		t.Fatalf("done tasks: %+v", page)
	}
	items := walk[timelineItem](t, e, fmt.Sprintf("/api/v1/contacts/%d/timeline", c.ID))
	if !slices.ContainsFunc(items, func(it timelineItem) bool { return it.Type == crm.EventTaskCompleted }) {
		t.Fatalf("timeline lacks the completion: %+v", items)
	}
	e.call(t, "POST", path+"/reopen", e.rw, "", http.StatusOK, &got)
	if got.DoneAt != nil {
		t.Fatalf("reopened %+v", got)
	}
	e.call(t, "GET", path, e.ro, "", http.StatusOK, &got)
	e.call(t, "DELETE", path, e.rw, "", http.StatusNoContent, nil)
	e.do("GET", path, e.ro, "").problem(t, http.StatusNotFound)
	e.do("POST", path+"/complete", e.rw, "").problem(t, http.StatusNotFound)
	e.do("GET", "/api/v1/tasks?open=perhaps", e.ro, "").problem(t, http.StatusUnprocessableEntity)
}

func testNotifications(t *testing.T, e *env, saraToken string) {
	c := e.mustContact(t, `{"first_name":"Mention","last_name":"Target"}`)
	e.call(t, "POST", "/api/v1/notifications/read", saraToken, `{"all":true}`, http.StatusOK, nil) // start from an empty inbox
	e.call(t, "POST", "/api/v1/notes", e.rw, fmt.Sprintf(`{"contact_id":%d,"body":"@Sara Rezaei please call them back"}`, c.ID), http.StatusCreated, nil)

	var inbox list[*crm.Notification]
	e.call(t, "GET", "/api/v1/notifications?unread=true", saraToken, "", http.StatusOK, &inbox)
	if len(inbox.Data) != 1 || inbox.Data[0].Kind != "mention" || inbox.Data[0].ActorID != e.admin.ID || inbox.Data[0].ReadAt != nil {
		t.Fatalf("inbox = %+v", inbox)
	}
	// The admin's inbox is their own.
	var mine list[*crm.Notification]
	e.call(t, "GET", "/api/v1/notifications", e.ro, "", http.StatusOK, &mine)
	if slices.ContainsFunc(mine.Data, func(n *crm.Notification) bool { return n.ID == inbox.Data[0].ID }) {
		t.Fatal("another user's notification is listed")
	}

	var n changed
	e.call(t, "POST", "/api/v1/notifications/read", saraToken, fmt.Sprintf(`{"ids":[%d]}`, inbox.Data[0].ID), http.StatusOK, &n)
	if n.Changed != 1 {
		t.Fatalf("changed = %d", n.Changed)
	}
	e.call(t, "GET", "/api/v1/notifications?unread=true", saraToken, "", http.StatusOK, &inbox)
	if len(inbox.Data) != 0 {
		t.Fatalf("unread after reading: %+v", inbox)
	}
	e.call(t, "GET", "/api/v1/notifications", saraToken, "", http.StatusOK, &inbox)
	if len(inbox.Data) == 0 || inbox.Data[0].ReadAt == nil {
		t.Fatalf("all: %+v", inbox)
	}
	p := e.do("POST", "/api/v1/notifications/read", saraToken, `{}`).problem(t, http.StatusUnprocessableEntity)
	if p.field("ids") == "" {
		t.Fatalf("empty body: %+v", p)
	}
}
