package web

import (
	"bytes"
	"context"
	"encoding/json"
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
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

type segmentTestApp struct {
	*testApp
	segments *segment.Service
	people   map[string]int64 // by first name
}

func newSegmentTestApp(t *testing.T, db *store.DB) *segmentTestApp {
	t.Helper()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	segs := segment.New(db, segment.Options{})
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, SegmentService: segs, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	sa := &segmentTestApp{testApp: a, segments: segs, people: map[string]int64{}}
	ctx := context.Background()
	for _, p := range []struct {
		first, email, phone string
		tags                []string
	}{
		{"Ali", "ali@example.com", "09121234567", []string{"vip"}},
		{"سارا", "sara@example.com", "", []string{"press"}},
		{"Reza", "", "09351112222", nil},
	} {
		c := &crm.Contact{FirstName: p.first, Tags: p.tags}
		if p.email != "" {
			c.Emails = []crm.Labeled{{Label: "work", Value: p.email}}
		}
		if p.phone != "" {
			c.Phones = []crm.Labeled{{Label: "mobile", Value: p.phone}}
		}
		c, err := a.contacts.CreateContact(ctx, c, true)
		if err != nil {
			t.Fatal(err)
		}
		sa.people[p.first] = c.ID
	}
	return sa
}

var segmentLocation = regexp.MustCompile(`^/segments/(\d+)\?notice=`)

// createSegment saves a segment through the form and returns its id.
func (c *client) createSegment(t *testing.T, kind, name, rules string) string {
	t.Helper()
	r := c.post("/segments", "/segments/new", url.Values{"kind": {kind}, "name": {name}, "rules": {rules}})
	m := segmentLocation.FindStringSubmatch(r.location())
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create segment %q: status %d, location %q\n%s", name, r.status, r.location(), r.body)
	}
	return m[1]
}

// segmentPages renders every page of the segment builder in lang: the
// list, the editor (new, failed, editing), a segment, a list with an
// import report and a failed add, and the people list filtered by a
// segment.
func segmentPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	app := newSegmentTestApp(t, db)
	email := "segments-" + lang + "@example.com"
	app.createUser(email, crm.RoleAdmin)
	c := app.client(t)
	c.signIn(email)
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {lang},
		"calendar": {"jalali"}, "digits": {"persian"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
	id := c.createSegment(t, "dynamic", "VIP "+lang, `{"match":"any","conditions":[{"field":"tags","op":"has_any","value":["vip"]},
		{"match":"all","conditions":[{"field":"created","op":"in_last","value":{"amount":30,"unit":"day"}},{"field":"orders.count","op":"between","value":[1,3]}]}]}`)
	lid := c.createSegment(t, "static", "Fair "+lang, "")
	var out []pageResponse
	for _, p := range []string{"/segments", "/segments/new", "/segments/new?kind=static", "/segments/" + id, "/segments/" + id + "/edit",
		"/segments/" + lid, "/contacts?in_segment=" + id, "/contacts?in_segment=999999"} {
		out = append(out, pageResponse{p, c.get(p)})
	}
	out = append(out,
		pageResponse{"POST bad segment", c.post("/segments", "/segments/new", url.Values{"name": {""}, "rules": {`{"match":"all","conditions":[{"field":"orders.count","op":"gte","value":"x"}]}`}})},
		pageResponse{"POST list add report", c.post("/segments/"+lid+"/members", "/segments/"+lid, url.Values{"people": {"ali@example.com\nnobody@example.com\nnot a phone"}})},
		pageResponse{"POST list add nothing", c.post("/segments/"+lid+"/members", "/segments/"+lid, url.Values{"people": {""}})},
	)
	return out
}

func TestSegmentPagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, lang := range []string{"en", "fa", "ar"} {
			for _, pr := range segmentPages(t, db, lang) {
				if pr.r.status >= 500 || strings.Contains(pr.r.body, "!(MISSING") {
					t.Errorf("%s %s: status %d", lang, pr.path, pr.r.status)
				}
			}
		}
	})
}

// TestSegmentFlow goes through the real router: the editor's live count,
// a saved segment's page, the people list filtered by it, a list filled
// from the people list's bulk action and from a file, and people taken
// off it.
func TestSegmentFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newSegmentTestApp(t, db)
		app.createUser("m@example.com", crm.RoleAdmin)
		c := app.client(t)
		c.signIn("m@example.com")

		// The live count: a count and a sample, or the problems by path.
		tok := c.csrf("/segments/new")
		r := c.post("/segments/preview", "", url.Values{"csrf": {tok}, "rules": {`{"match":"any","conditions":[{"field":"phone","op":"is_set"}]}`}})
		mustStatus(t, r, http.StatusOK)
		var pv previewAnswer
		if err := json.Unmarshal([]byte(r.body), &pv); err != nil || pv.N != 2 || pv.Count != "2 people" || len(pv.Sample) != 2 {
			t.Fatalf("preview %s: %v", r.body, err)
		}
		r = c.post("/segments/preview", "", url.Values{"csrf": {tok}, "rules": {`{"match":"all","conditions":[{"field":"phone","op":"is_set"},{"field":"orders.count","op":"gte"}]}`}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		json.Unmarshal([]byte(r.body), &pv)
		if len(pv.Errors) != 1 || pv.Errors[0].Path != "conditions[1].value" {
			t.Errorf("preview errors %s", r.body)
		}
		// Without the token, no answer.
		mustStatus(t, c.post("/segments/preview", "", url.Values{"csrf": {"x"}, "rules": {`{"match":"all","conditions":[]}`}}), http.StatusForbidden)

		// A saved segment and the people list filtered by it.
		id := c.createSegment(t, "dynamic", "Phones", `{"match":"all","conditions":[{"field":"phone","op":"starts_with","value":"+98935"}]}`)
		r = c.get("/segments/" + id)
		mustContain(t, r, "1 person", "Reza", "Phone")
		r = c.get("/contacts?in_segment=" + id)
		mustContain(t, r, "Reza")
		if strings.Contains(r.body, ">Ali<") {
			t.Errorf("the filtered people list shows Ali")
		}
		// A failed edit keeps the typed tree and names the condition.
		r = c.post("/segments/"+id, "/segments/"+id+"/edit", url.Values{"name": {"Phones"}, "version": {"1"},
			"rules": {`{"match":"all","conditions":[{"field":"nope","op":"eq","value":"x"}]}`}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "conditions[0].field", "There is no field")

		// A list, filled from the people list and from a file.
		lid := c.createSegment(t, "static", "Fair", "")
		r = c.post("/contacts/bulk", "/contacts", url.Values{"action": {"add_to_list"}, "list_id": {lid},
			"id": {strconv.FormatInt(app.people["Ali"], 10)}, "next": {"/contacts"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("bulk add: %d\n%s", r.status, r.body)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", c.csrf("/segments/"+lid))
		fw, _ := mw.CreateFormFile("file", "people.csv")
		fw.Write([]byte("name,email\nSara,SARA@example.com\nX,ghost@example.com\n"))
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/segments/"+lid+"/members", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		r = c.do(req)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "ghost@example.com", "Line 3")
		ids := memberIDs(t, app, lid)
		if len(ids) != 2 || ids[0] != app.people["Ali"] || ids[1] != app.people["سارا"] {
			t.Fatalf("list members %v", ids)
		}
		r = c.post("/segments/"+lid+"/members/remove", "/segments/"+lid, url.Values{"id": {strconv.FormatInt(app.people["Ali"], 10)}})
		mustStatus(t, r, http.StatusSeeOther)
		if ids := memberIDs(t, app, lid); len(ids) != 1 {
			t.Errorf("after removal %v", ids)
		}
		// Deleting.
		mustStatus(t, c.post("/segments/"+lid+"/delete", "/segments/"+lid, nil), http.StatusSeeOther)
		mustStatus(t, c.get("/segments/"+lid), http.StatusNotFound)
	})
}

func memberIDs(t *testing.T, app *segmentTestApp, id string) []int64 {
	t.Helper()
	n, _ := strconv.ParseInt(id, 10, 64)
	items, _, err := app.segments.MembersPage(context.Background(), n, crm.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, m := range items {
		out = append(out, m.ContactID)
	}
	return out
}
