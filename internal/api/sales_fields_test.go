package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestDealCustomFieldsAPI defines deal fields through /custom-fields and
// writes, reads, patches, filters and exports deals' values through the
// real router, each answer checked against the OpenAPI document.
func TestDealCustomFieldsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSalesEnv(t, db)
		res := e.do("POST", "/api/v1/pipelines", e.rw, `{"name":"Main","currency":"IRR","stages":[{"name":"Lead in","probability":10}]}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("pipeline: %d %s", res.Status, res.Body)
		}
		for _, body := range []string{`{"entity":"deal","key":"budget","label":"Budget","type":"money","currency":"IRR","required":true,"show_in_list":true}`,
			`{"entity":"deal","key":"channels","label":"Channels","type":"multi_select","options":["web","phone"]}`,
			`{"entity":"deal","key":"signed_on","label":"Signed on","type":"date"}`} {
			if res = e.do("POST", "/api/v1/custom-fields", e.rw, body); res.Status != http.StatusCreated {
				t.Fatalf("field %s: %d %s", body, res.Status, res.Body)
			}
		}
		var fields struct{ Data []crm.CustomField }
		e.do("GET", "/api/v1/custom-fields?entity=deal", e.ro, "").JSON(t, &fields)
		if len(fields.Data) != 3 || fields.Data[0].Entity != "deal" {
			t.Fatalf("deal fields: %+v", fields.Data)
		}
		res = e.do("GET", "/api/v1/custom-fields?entity=lead", e.ro, "")
		if pr := res.problem(t, http.StatusUnprocessableEntity); pr.field("entity") == "" {
			t.Fatalf("a bad entity: %s", res.Body)
		}

		res = e.do("POST", "/api/v1/deals", e.rw, `{"title":"Bad","custom":{"budget":"lots","channels":["fax"],"signed_on":"2025-13-01","colour":"red"}}`)
		pr := res.problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"custom.budget", "custom.channels", "custom.signed_on", "custom.colour"} {
			if pr.field(f) == "" {
				t.Errorf("no error on %s: %s", f, res.Body)
			}
		}
		if pr := e.do("POST", "/api/v1/deals", e.rw, `{"title":"No budget"}`).problem(t, http.StatusUnprocessableEntity); pr.field("custom.budget") == "" {
			t.Fatal("a required field is not required")
		}
		res = e.do("POST", "/api/v1/deals", e.rw, `{"title":"Good","custom":{"budget":5000000,"channels":["web","phone"],"signed_on":"2025-03-21"}}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		var d crm.Deal
		res.JSON(t, &d)
		e.do("POST", "/api/v1/deals", e.rw, `{"title":"Phone only","custom":{"budget":100,"channels":["phone"]}}`)

		// PATCH merges per key; null removes; a required field stays.
		res = e.do("PATCH", fmt.Sprintf("/api/v1/deals/%d", d.ID), e.rw, `{"custom":{"signed_on":null}}`)
		if res.Status != http.StatusOK {
			t.Fatalf("patch: %d %s", res.Status, res.Body)
		}
		d = crm.Deal{}
		res.JSON(t, &d)
		if d.Custom["signed_on"] != nil || d.Custom["budget"] != float64(5000000) {
			t.Fatalf("after patch: %#v", d.Custom)
		}
		if pr := e.do("PATCH", fmt.Sprintf("/api/v1/deals/%d", d.ID), e.rw, `{"custom":{"budget":null}}`).problem(t, http.StatusUnprocessableEntity); pr.field("custom.budget") == "" {
			t.Fatal("removing a required value")
		}

		var list struct{ Data []crm.Deal }
		e.do("GET", "/api/v1/deals?custom.channels=web", e.ro, "").JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != d.ID {
			t.Fatalf("filter on a choice: %+v", list.Data)
		}
		e.do("GET", "/api/v1/deals?"+url.Values{"custom.budget": {"100"}}.Encode(), e.ro, "").JSON(t, &list)
		if len(list.Data) != 1 || list.Data[0].Title != "Phone only" {
			t.Fatalf("filter on money: %+v", list.Data)
		}
		if pr := e.do("GET", "/api/v1/deals?custom.colour=red", e.ro, "").problem(t, http.StatusUnprocessableEntity); pr.field("custom.colour") == "" {
			t.Fatal("an unknown filter key")
		}
		res = e.do("GET", "/api/v1/deals/export.csv?custom.channels=web", e.ro, "")
		if body := string(res.Body); res.Status != http.StatusOK || !strings.Contains(body, ",custom.budget,custom.channels,custom.signed_on\n") ||
			!strings.Contains(body, ",5000000,web; phone,\n") {
			t.Fatalf("export: %d %s", res.Status, res.Body)
		}
	})
}
