package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func newSegmentEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := newEnv(t, db)
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity,
		Segments: segment.New(db, segment.Options{}), Logger: slog.New(slog.DiscardHandler), Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	return e
}

// TestSegmentOpenAPI: every segment and list route is documented and
// answers 401 without a token.
func TestSegmentOpenAPI(t *testing.T) {
	e := newSegmentEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range e.api.routes {
		if !strings.Contains(rt.path(), "/segments") && !strings.Contains(rt.path(), "/lists") {
			continue
		}
		n++
		rel := strings.TrimPrefix(rt.path(), apiBase)
		item := e.doc.Paths.Value(rel)
		if item == nil || item.GetOperation(rt.method()) == nil {
			t.Errorf("%s is not documented", rt.pattern)
			continue
		}
		target := strings.ReplaceAll(rt.path(), "{id}", "1")
		if res := e.do(rt.method(), target, "", ""); res.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token = %d", rt.method(), target, res.Status)
		}
	}
	if n != 18 {
		t.Fatalf("%d segment routes", n)
	}
}

// TestSegmentAPI: segments and lists through the API, every response
// checked against the OpenAPI document by e.do.
func TestSegmentAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSegmentEnv(t, db)
		ctx := context.Background()
		var ids []int64
		for i, p := range []struct{ first, email, phone string }{
			{"Ali", "ali@example.com", "09121234567"}, {"Sara", "sara@example.com", ""}, {"Reza", "", "09351112222"},
		} {
			c := &crm.Contact{FirstName: p.first, Tags: []string{fmt.Sprint("t", i)}}
			if p.email != "" {
				c.Emails = []crm.Labeled{{Label: "work", Value: p.email}}
			}
			if p.phone != "" {
				c.Phones = []crm.Labeled{{Label: "mobile", Value: p.phone}}
			}
			c, err := e.contacts.CreateContact(ctx, c, true)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}

		// The fields, with types.
		res := e.do("GET", "/api/v1/segments/fields", e.ro, "")
		var fields list[crm.ConditionField]
		res.JSON(t, &fields)
		if len(fields.Data) < 30 || fields.Next != nil {
			t.Fatalf("fields: %d", len(fields.Data))
		}

		// A dry run, then the same tree saved.
		rules := `{"match":"any","conditions":[{"field":"phone","op":"is_set"},{"field":"tags","op":"has_any","value":["t1"]}]}`
		res = e.do("POST", "/api/v1/segments/count", e.rw, `{"rules":`+rules+`,"sample":2}`)
		var pv segment.Preview
		res.JSON(t, &pv)
		if pv.Count != 3 || len(pv.Sample) != 2 || pv.Sample[0].ContactID != ids[2] {
			t.Fatalf("dry run %d %s", res.Status, res.Body)
		}
		// Invalid trees answer 422 naming each bad condition.
		res = e.do("POST", "/api/v1/segments/count", e.rw, `{"rules":{"match":"all","conditions":[{"field":"orders.count","op":"gte","value":"x"},{"field":"nope","op":"eq","value":1}]}}`)
		pb := res.problem(t, http.StatusUnprocessableEntity)
		if pb.field("rules.conditions[0].value") == "" || pb.field("rules.conditions[1].field") == "" {
			t.Errorf("dry run errors %+v", pb)
		}
		res = e.do("POST", "/api/v1/segments", e.rw, `{"name":"Reachable","rules":{"match":"all","conditions":[{"field":"created","op":"in_last","value":{"amount":0,"unit":"day"}}]}}`)
		pb = res.problem(t, http.StatusUnprocessableEntity)
		if pb.field("rules.conditions[0].value") == "" {
			t.Errorf("create errors %+v", pb)
		}
		res = e.do("POST", "/api/v1/segments", e.rw, `{"name":"Reachable","description":"phones or t1","rules":`+rules+`}`)
		var seg crm.Segment
		res.JSON(t, &seg)
		if res.Status != http.StatusCreated || seg.Kind != crm.SegmentDynamic || res.Header.Get("Location") != fmt.Sprintf("/api/v1/segments/%d", seg.ID) {
			t.Fatalf("create: %d %+v", res.Status, seg)
		}
		sid := fmt.Sprint(seg.ID)
		var cnt segmentCount
		e.do("GET", "/api/v1/segments/"+sid+"/count", e.ro, "").JSON(t, &cnt)
		if cnt.Count != 3 {
			t.Errorf("count %d", cnt.Count)
		}
		// Members page in id order.
		var page list[crm.SegmentMember]
		e.do("GET", "/api/v1/segments/"+sid+"/members?limit=2", e.ro, "").JSON(t, &page)
		if len(page.Data) != 2 || page.Next == nil || page.Data[0].ContactID != ids[0] {
			t.Fatalf("members page 1 %+v", page)
		}
		e.do("GET", "/api/v1/segments/"+sid+"/members?limit=2&after="+*page.Next, e.ro, "").JSON(t, &page)
		if len(page.Data) != 1 || page.Next != nil || page.Data[0].ContactID != ids[2] {
			t.Fatalf("members page 2 %+v", page)
		}
		// A version-checked change; a stale version is 409.
		res = e.do("PATCH", "/api/v1/segments/"+sid, e.rw, `{"version":1,"rules":{"match":"all","conditions":[{"field":"email","op":"ends_with","value":"@example.com"}]}}`)
		res.JSON(t, &seg)
		if res.Status != 200 || seg.Version != 2 || seg.Name != "Reachable" || seg.Description != "phones or t1" {
			t.Fatalf("patch: %d %+v", res.Status, seg)
		}
		e.do("PATCH", "/api/v1/segments/"+sid, e.rw, `{"version":1,"name":"Old"}`).problem(t, http.StatusConflict)
		// A read-only token cannot write.
		e.do("POST", "/api/v1/segments", e.ro, `{"name":"x"}`).problem(t, http.StatusForbidden)

		// Lists: created, filled by id, email and phone, emptied.
		res = e.do("POST", "/api/v1/lists", e.rw, `{"name":"Fair visitors"}`)
		var lst crm.Segment
		res.JSON(t, &lst)
		if res.Status != http.StatusCreated || lst.Kind != crm.SegmentStatic {
			t.Fatalf("list: %d %s", res.Status, res.Body)
		}
		lid := fmt.Sprint(lst.ID)
		// A segment is not a list, and the other way round.
		e.do("GET", "/api/v1/lists/"+sid, e.ro, "").problem(t, http.StatusNotFound)
		e.do("GET", "/api/v1/segments/"+lid, e.ro, "").problem(t, http.StatusNotFound)
		res = e.do("POST", "/api/v1/lists/"+lid+"/members", e.rw, fmt.Sprintf(`{"contact_ids":[%d],"emails":["SARA@example.com","ghost@example.com"],"phones":["۰۹۳۵ ۱۱۱ ۲۲۲۲","call me"]}`, ids[0]))
		var rep listReport
		res.JSON(t, &rep)
		if rep.Added != 3 || rep.Matched != 2 || len(rep.Unknown) != 1 || rep.Unknown[0].Value != "ghost@example.com" || len(rep.Invalid) != 1 {
			t.Fatalf("list add %s", res.Body)
		}
		e.do("POST", "/api/v1/lists/"+lid+"/members", e.rw, `{}`).problem(t, http.StatusUnprocessableEntity)
		e.do("POST", "/api/v1/segments/"+sid+"/members", e.rw, `{"contact_ids":[1]}`) // no such route: 404/405
		var removed listRemoved
		e.do("POST", "/api/v1/lists/"+lid+"/members/remove", e.rw, fmt.Sprintf(`{"contact_ids":[%d]}`, ids[0])).JSON(t, &removed)
		if removed.Removed != 1 {
			t.Errorf("removed %d", removed.Removed)
		}
		var lists list[*crm.Segment]
		e.do("GET", "/api/v1/lists", e.ro, "").JSON(t, &lists)
		if len(lists.Data) != 1 || lists.Data[0].LastCount == nil || *lists.Data[0].LastCount != 2 {
			t.Fatalf("lists %+v", lists.Data)
		}
		// The list as a condition.
		e.do("POST", "/api/v1/segments/count", e.rw, `{"rules":{"match":"all","conditions":[{"field":"lists","op":"in","value":[`+lid+`]}]}}`).JSON(t, &pv)
		if pv.Count != 2 {
			t.Errorf("lists condition %d", pv.Count)
		}
		if res := e.do("DELETE", "/api/v1/lists/"+lid, e.rw, ""); res.Status != http.StatusNoContent {
			t.Errorf("delete list %d", res.Status)
		}
		if res := e.do("DELETE", "/api/v1/segments/"+sid, e.rw, ""); res.Status != http.StatusNoContent {
			t.Errorf("delete segment %d", res.Status)
		}
	})
}
