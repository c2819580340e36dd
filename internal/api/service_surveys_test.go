package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestServiceAPIUpdatesSurveysReturns: a ticket's custom fields and tags
// change through PATCH (a bad priority answers 422 naming it), solving
// it offers a survey listed on the ticket and in /surveys, and a return
// request is settled through PATCH; the customer's tickets are listed on
// their record. Every answer is checked against the OpenAPI document.
func TestServiceAPIUpdatesSurveysReturns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _ := newServiceEnv(t, db)
		res := e.do("POST", "/api/v1/tickets", e.rw, `{"subject":"Invoice wrong","body":"Charged twice","customer":{"email":"omid@example.com"},"custom":{"order_ref":"A-17"}}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		var tk crm.Ticket
		res.JSON(t, &tk)
		id := fmt.Sprint(tk.ID)
		res = e.do("PATCH", "/api/v1/tickets/"+id, e.rw, fmt.Sprintf(`{"category":"billing","tags":["invoice"],"custom":{"serial":"SN-9","order_ref":null},"version":%d}`, tk.Version))
		var got crm.Ticket
		res.JSON(t, &got)
		if res.Status != http.StatusOK || got.Category != "billing" || got.Custom["serial"] != "SN-9" || got.Custom["order_ref"] != nil || len(got.Tags) != 1 {
			t.Errorf("patch: %d %s", res.Status, res.Body)
		}
		if r := e.do("PATCH", "/api/v1/tickets/"+id, e.rw, `{"priority":"meh"}`); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"priority"`) {
			t.Errorf("bad patch: %d %s", r.Status, r.Body)
		}
		if r := e.do("POST", "/api/v1/tickets/"+id+"/status", e.rw, `{"status":"solved"}`); r.Status != http.StatusOK {
			t.Fatalf("solve: %d %s", r.Status, r.Body)
		}
		var svs list[*crm.Survey]
		e.do("GET", "/api/v1/tickets/"+id+"/surveys", e.ro, "").JSON(t, &svs)
		if len(svs.Data) != 1 || svs.Data[0].Resolution != 1 || svs.Data[0].Rating != 0 {
			t.Errorf("ticket surveys %+v", svs.Data)
		}
		var all list[*crm.Survey]
		e.do("GET", "/api/v1/surveys", e.ro, "").JSON(t, &all)
		if len(all.Data) != 1 {
			t.Errorf("surveys %+v", all.Data)
		}
		var ans list[*crm.Survey]
		e.do("GET", "/api/v1/surveys?answered=true", e.ro, "").JSON(t, &ans)
		if len(ans.Data) != 0 {
			t.Errorf("answered surveys %+v", ans.Data)
		}
		// A return request, settled.
		res = e.do("POST", "/api/v1/tickets/"+id+"/returns", e.rw, `{"product":"Kettle","reason":"changed_mind"}`)
		var rr crm.ReturnRequest
		res.JSON(t, &rr)
		if res.Status != http.StatusCreated || rr.Quantity != 1 {
			t.Fatalf("return: %d %s", res.Status, res.Body)
		}
		rid := fmt.Sprint(rr.ID)
		if r := e.do("PATCH", "/api/v1/returns/"+rid, e.rw, `{"resolution":"eaten"}`); r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "resolution") {
			t.Errorf("bad resolution: %d %s", r.Status, r.Body)
		}
		res = e.do("PATCH", "/api/v1/returns/"+rid, e.rw, `{"resolution":"exchange","notes":"handle is loose"}`)
		res.JSON(t, &rr)
		if res.Status != http.StatusOK || rr.Resolution != crm.ResolutionExchange || rr.ResolvedAt == nil || rr.Notes != "handle is loose" {
			t.Errorf("settle: %d %s", res.Status, res.Body)
		}
		var open list[*crm.ReturnRequest]
		e.do("GET", "/api/v1/returns?open=true", e.ro, "").JSON(t, &open)
		if len(open.Data) != 0 {
			t.Errorf("open returns %+v", open.Data)
		}
		var mine list[*crm.Ticket]
		e.do("GET", fmt.Sprintf("/api/v1/contacts/%d/tickets", tk.ContactID), e.ro, "").JSON(t, &mine)
		if len(mine.Data) != 1 || mine.Data[0].ID != tk.ID {
			t.Errorf("the customer's tickets %+v", mine.Data)
		}
	})
}
