package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// newSalesEnv is newEnv with the sales module installed, finding and
// creating people and companies through the contact service as
// internal/app does.
func newSalesEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := newEnv(t, db)
	svc := sales.New(db, sales.Options{Person: e.contacts.PersonForLead, Company: e.contacts.CompanyForLead, Region: "IR"})
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Sales: svc,
		Logger: slog.New(slog.DiscardHandler), Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	return e
}

func TestSalesRoutesDocumented(t *testing.T) {
	e := newSalesEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range salesRoutes(e.api) {
		rel := strings.TrimPrefix(rt.path(), apiBase)
		item := e.doc.Paths.Value(rel)
		if item == nil || item.GetOperation(rt.method()) == nil {
			t.Errorf("%s is not in the OpenAPI document", rt.pattern)
		}
		n++
	}
	if n < 40 {
		t.Fatalf("only %d sales routes", n)
	}
	for _, name := range []string{"Deal", "DealLine", "Pipeline", "Stage", "Lead", "Quote", "Product", "Forecast", "DealConflictProblem"} {
		if e.doc.Components.Schemas[name] == nil {
			t.Errorf("component schema %s is missing", name)
		}
	}
}

func TestSalesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newSalesEnv(t, db)
		var p crm.Pipeline
		res := e.do("POST", "/api/v1/pipelines", e.rw, `{"name":"Main","currency":"IRR","stages":[{"name":"Lead in","probability":10},{"name":"Proposal","probability":60}],"won_stage":"برنده","lost_stage":"بازنده"}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create pipeline: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &p)
		if len(p.Stages) != 4 || p.Stages[2].Name != "برنده" || res.Header.Get("Location") == "" {
			t.Fatalf("pipeline %+v", p)
		}
		leadIn, proposal, won, lost := p.Stages[0].ID, p.Stages[1].ID, p.Stages[2].ID, p.Stages[3].ID
		other := e.do("POST", "/api/v1/pipelines", e.rw, `{"name":"Other","currency":"USD","stages":[{"name":"Start"}]}`)
		var op crm.Pipeline
		other.JSON(t, &op)

		// A lead converted in one step.
		res = e.do("POST", "/api/v1/leads", e.rw, `{"first_name":"سارا","last_name":"کریمی","phone":"۰۹۱۲۱۲۳۴۵۶۷","company_name":"Karimi Co","value":9000000,"currency":"IRR","source":"web"}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create lead: %d %s", res.Status, res.Body)
		}
		var l crm.Lead
		res.JSON(t, &l)
		res = e.do("POST", fmt.Sprintf("/api/v1/leads/%d/convert", l.ID), e.rw, fmt.Sprintf(`{"deal":{"pipeline_id":%d,"stage_id":%d}}`, p.ID, op.Stages[0].ID))
		if pr := res.problem(t, http.StatusUnprocessableEntity); pr.field("deal.stage_id") == "" {
			t.Fatalf("conversion into another pipeline's stage: %s", res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/leads/%d/convert", l.ID), e.rw, `{}`)
		var conv sales.Conversion
		res.JSON(t, &conv)
		if res.Status != http.StatusOK || conv.Deal == nil || conv.Deal.Value != 9000000 || !conv.ContactCreated || !conv.CompanyCreated {
			t.Fatalf("convert: %d %s", res.Status, res.Body)
		}
		deal := conv.Deal

		// Moves: another pipeline's stage (422), a stale version (409 with the deal).
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/move", deal.ID), e.rw, fmt.Sprintf(`{"stage_id":%d,"version":%d}`, op.Stages[0].ID, deal.Version))
		if pr := res.problem(t, http.StatusUnprocessableEntity); !strings.Contains(pr.field("stage_id"), "Other") {
			t.Fatalf("move to another pipeline: %s", res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/move", deal.ID), e.rw, fmt.Sprintf(`{"stage_id":%d,"version":%d}`, proposal, deal.Version))
		var moved crm.Deal
		res.JSON(t, &moved)
		if res.Status != http.StatusOK || moved.StageID != proposal || moved.Version != 2 {
			t.Fatalf("move: %d %s", res.Status, res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/move", deal.ID), e.rw, fmt.Sprintf(`{"stage_id":%d,"version":1}`, leadIn))
		res.problem(t, http.StatusConflict)
		var conflict struct {
			Deal crm.Deal `json:"deal"`
		}
		res.JSON(t, &conflict)
		if conflict.Deal.StageID != proposal || conflict.Deal.Version != 2 {
			t.Fatalf("409 body: %s", res.Body)
		}

		// Line items: every rule names its line; nothing changes.
		res = e.do("POST", "/api/v1/products", e.rw, `{"name":"Tea","sku":"TEA","price":120000,"currency":"IRR","tax_rate":900}`)
		var tea crm.Product
		res.JSON(t, &tea)
		usd := e.do("POST", "/api/v1/products", e.rw, `{"name":"Pot","price":2500,"currency":"USD"}`)
		var pot crm.Product
		usd.JSON(t, &pot)
		res = e.do("PUT", fmt.Sprintf("/api/v1/deals/%d/lines", deal.ID), e.rw, fmt.Sprintf(
			`{"lines":[{"product_id":%d,"quantity":-1},{"name":"x","unit_price":5,"currency":"EUR"},{"product_id":424242},{"product_id":%d}]}`, tea.ID, pot.ID))
		pr := res.problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"lines[0].quantity", "lines[1].currency", "lines[2].product_id", "lines[3].product_id"} {
			if pr.field(f) == "" {
				t.Errorf("no error on %s: %s", f, res.Body)
			}
		}
		res = e.do("PUT", fmt.Sprintf("/api/v1/deals/%d/lines", deal.ID), e.rw, fmt.Sprintf(`{"lines":[{"product_id":%d,"quantity":10}]}`, tea.ID))
		if res.Status != http.StatusOK {
			t.Fatalf("set lines: %d %s", res.Status, res.Body)
		}
		res = e.do("PATCH", fmt.Sprintf("/api/v1/deals/%d", deal.ID), e.rw, `{"value_from_lines":true,"tags":["vip"],"expected_close":"2025-06-30"}`)
		var d crm.Deal
		res.JSON(t, &d)
		if res.Status != http.StatusOK || d.Value != 1_200_000 || d.ExpectedClose != "2025-06-30" {
			t.Fatalf("patch: %d %s", res.Status, res.Body)
		}

		// Quote.
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/quotes", deal.ID), e.rw, `{"notes":"Thanks"}`)
		var q crm.Quote
		res.JSON(t, &q)
		if res.Status != http.StatusCreated || q.Total != 1_308_000 || q.Number != 1 {
			t.Fatalf("quote: %d %s", res.Status, res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/quotes/%d/status", q.ID), e.rw, `{"status":"sent"}`)
		if res.Status != http.StatusOK {
			t.Fatalf("send quote: %d %s", res.Status, res.Body)
		}

		// Board, list, history, forecast, export, activities.
		res = e.do("GET", fmt.Sprintf("/api/v1/pipelines/%d/board?tag=vip", p.ID), e.ro, "")
		var b board
		res.JSON(t, &b)
		if res.Status != http.StatusOK || len(b.Columns) != 2 || b.Columns[1].Count != 1 || b.Columns[1].Totals[0].Weighted != 720_000 {
			t.Fatalf("board: %d %s", res.Status, res.Body)
		}
		res = e.do("GET", "/api/v1/deals?status=open&close_from=2025-06-01&close_to=2025-06-30", e.ro, "")
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"next":null`) || !strings.Contains(string(res.Body), `"data":[{`) {
			t.Fatalf("list: %d %s", res.Status, res.Body)
		}
		res = e.do("GET", "/api/v1/deals?close_from=June", e.ro, "")
		if res.problem(t, http.StatusUnprocessableEntity).field("close_from") == "" {
			t.Fatalf("bad date: %s", res.Body)
		}
		res = e.do("GET", fmt.Sprintf("/api/v1/deals/%d/history", deal.ID), e.ro, "")
		if res.Status != http.StatusOK || strings.Count(string(res.Body), `"stage_name"`) != 2 {
			t.Fatalf("history: %s", res.Body)
		}
		res = e.do("GET", "/api/v1/forecast?from=2025-06-10&months=2&calendar=jalali", e.ro, "")
		var fc sales.Forecast
		res.JSON(t, &fc)
		// 2025-06-30 is 1404/04/09 (Tir): the second Jalali month from Khordad.
		if res.Status != http.StatusOK || fc.Months[1].Month != 4 || len(fc.Totals.Cells[1]) != 1 || fc.Totals.Cells[1][0].Weighted != 720_000 {
			t.Fatalf("forecast: %d %s", res.Status, res.Body)
		}
		res = e.do("GET", "/api/v1/deals/export.csv?status=open", e.ro, "")
		if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(res.Body), "Karimi Co,Main,Proposal,open,1200000,IRR,720000,60") {
			t.Fatalf("export: %d %s", res.Status, res.Body)
		}
		res = e.do("GET", "/api/v1/deals/export.csv?status=maybe", e.ro, "")
		res.problem(t, http.StatusUnprocessableEntity)
		res = e.do("POST", "/api/v1/tasks", e.rw, fmt.Sprintf(`{"kind":"call","title":"Call Sara","deal_id":%d}`, deal.ID))
		if res.Status != http.StatusCreated || !strings.Contains(string(res.Body), `"kind":"call"`) {
			t.Fatalf("activity: %d %s", res.Status, res.Body)
		}
		res = e.do("GET", fmt.Sprintf("/api/v1/deals/%d/activities?open=true", deal.ID), e.ro, "")
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), "Call Sara") {
			t.Fatalf("deal activities: %d %s", res.Status, res.Body)
		}

		// Win, lose with a reason, reopen.
		res = e.do("POST", "/api/v1/lost-reasons", e.rw, `{"name":"Price"}`)
		var reason crm.LostReason
		res.JSON(t, &reason)
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/lose", deal.ID), e.rw, `{}`)
		if res.problem(t, http.StatusUnprocessableEntity).field("lost_reason_id") == "" {
			t.Fatalf("lose without a reason: %s", res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/lose", deal.ID), e.rw, fmt.Sprintf(`{"lost_reason_id":%d,"lost_note":"cheaper elsewhere"}`, reason.ID))
		res.JSON(t, &d)
		if res.Status != http.StatusOK || d.Status != crm.DealLost || d.StageID != lost {
			t.Fatalf("lose: %d %s", res.Status, res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/reopen", deal.ID), e.rw, `{}`)
		res.JSON(t, &d)
		if res.Status != http.StatusOK || d.StageID != proposal {
			t.Fatalf("reopen: %d %s", res.Status, res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/deals/%d/win", deal.ID), e.rw, fmt.Sprintf(`{"version":%d}`, d.Version))
		res.JSON(t, &d)
		if res.Status != http.StatusOK || d.StageID != won {
			t.Fatalf("win: %d %s", res.Status, res.Body)
		}

		// Stages: rename keeps the history; removing needs move_to when deals are in it.
		res = e.do("PATCH", fmt.Sprintf("/api/v1/stages/%d", proposal), e.rw, `{"name":"Offer","probability":65}`)
		if res.Status != http.StatusOK {
			t.Fatalf("rename stage: %d %s", res.Status, res.Body)
		}
		e.do("POST", "/api/v1/deals", e.rw, fmt.Sprintf(`{"title":"In lead in","stage_id":%d}`, leadIn))
		res = e.do("DELETE", fmt.Sprintf("/api/v1/stages/%d", leadIn), e.rw, "")
		if res.problem(t, http.StatusUnprocessableEntity).field("move_to") == "" {
			t.Fatalf("remove a stage with deals: %s", res.Body)
		}
		res = e.do("DELETE", fmt.Sprintf("/api/v1/stages/%d?move_to=%d", leadIn, proposal), e.rw, "")
		if res.Status != http.StatusNoContent {
			t.Fatalf("remove stage: %d %s", res.Status, res.Body)
		}
		res = e.do("GET", fmt.Sprintf("/api/v1/deals/%d/history", deal.ID), e.ro, "")
		if !strings.Contains(string(res.Body), `"stage_name":"Lead in"`) {
			t.Fatalf("history lost the removed stage: %s", res.Body)
		}

		// A read-only token cannot write; settings.
		res = e.do("POST", "/api/v1/deals", e.ro, `{"title":"x"}`)
		res.problem(t, http.StatusForbidden)
		res = e.do("PUT", "/api/v1/sales/settings", e.rw, `{"visibility":"team","quote_prefix":"P-","quote_valid_days":14}`)
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"visibility":"team"`) {
			t.Fatalf("settings: %d %s", res.Status, res.Body)
		}
		res = e.do("GET", "/api/v1/leads?status=converted", e.ro, "")
		if res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"status":"converted"`) {
			t.Fatalf("leads: %d %s", res.Status, res.Body)
		}
	})
}
