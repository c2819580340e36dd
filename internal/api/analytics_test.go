package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// newAnalyticsEnv is newEnv with the orders module and the customer
// analytics installed, and a job runner for the recompute.
func newAnalyticsEnv(t *testing.T, db *store.DB) (*env, *order.Service, *jobs.Runner) {
	t.Helper()
	e := newEnv(t, db)
	orders := order.New(db, order.Options{Resolve: e.contacts.ResolveCustomer})
	ins := insight.New(db, insight.Options{Logger: slog.New(slog.DiscardHandler)})
	runner := jobs.NewRunner(db, slog.New(slog.DiscardHandler), jobs.Options{})
	ins.RegisterJobs(runner)
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Orders: orders,
		Insight: ins, Logger: slog.New(slog.DiscardHandler), Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	return e, orders, runner
}

// TestAnalyticsAPI: recompute and follow the run, read a person's
// results, filter the people list, items bought together, cross-selling,
// settings, and the errors, every response checked against the OpenAPI
// document.
func TestAnalyticsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, orders, runner := newAnalyticsEnv(t, db)
		ctx := t.Context()
		start := time.Now().UTC().AddDate(0, -6, 0)
		var people []int64
		for i := range 40 {
			for k := range 1 + i%4 {
				when := start.AddDate(0, 0, i+k*30)
				lines := []order.LineInput{{SKU: "T1", Name: "Tea", Quantity: 1, UnitPrice: 450000}}
				if (i+k)%2 == 0 {
					lines = append(lines, order.LineInput{SKU: "S1", Name: "Sugar", Quantity: 1, UnitPrice: 120000})
				}
				o, _, err := orders.Create(ctx, order.Input{Currency: "IRR", PlacedAt: &when, Lines: lines,
					Customer: crm.CustomerRef{Phone: fmt.Sprintf("0912%07d", 2000+i), FirstName: "C", LastName: strconv.Itoa(i)}})
				if err != nil {
					t.Fatal(err)
				}
				if k == 0 {
					people = append(people, o.ContactID)
				}
			}
		}
		person := strconv.FormatInt(people[7], 10)

		// Before any run: no results, honestly.
		var ci insight.CustomerInsight
		res := e.do("GET", "/api/v1/contacts/"+person+"/analytics", e.ro, "")
		if res.Status != http.StatusOK {
			t.Fatalf("analytics before a run: %d %s", res.Status, res.Body)
		}
		res.JSON(t, &ci)
		if ci.Run != nil || ci.Score != nil {
			t.Fatalf("results before a run: %s", res.Body)
		}

		// Recompute: 202 with the run, its address; asking again while it
		// waits answers that run, marked as a replay.
		if res := e.do("POST", "/api/v1/analytics/recompute", e.ro, "{}"); res.Status != http.StatusForbidden {
			t.Fatalf("read-only token recomputes: %d", res.Status)
		}
		p := e.do("POST", "/api/v1/analytics/recompute", e.rw, `{"end":"2025-13-40"}`).problem(t, http.StatusUnprocessableEntity)
		if p.field("end") == "" {
			t.Errorf("bad end: %+v", p)
		}
		res = e.do("POST", "/api/v1/analytics/recompute", e.rw, "{}")
		if res.Status != http.StatusAccepted {
			t.Fatalf("recompute = %d %s", res.Status, res.Body)
		}
		var run insight.Run
		res.JSON(t, &run)
		loc := res.Header.Get("Location")
		if run.Status != "queued" || loc != "/api/v1/analytics/runs/"+strconv.FormatInt(run.ID, 10) || run.Via != "api" {
			t.Fatalf("run %+v at %q", run, loc)
		}
		res = e.do("POST", "/api/v1/analytics/recompute", e.rw, `{}`)
		var again insight.Run
		res.JSON(t, &again)
		if res.Status != http.StatusAccepted || again.ID != run.ID || res.Header.Get(replayedHeader) != "true" {
			t.Fatalf("second recompute = %d, run %d", res.Status, again.ID)
		}
		if n, err := runner.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("run once: %d %v", n, err)
		}
		e.do("GET", loc, e.ro, "").JSON(t, &run)
		if run.Status != "done" || !run.Current || run.Customers != 40 || run.Currency != "IRR" || run.Timings.Total <= 0 {
			t.Fatalf("finished run %+v", run)
		}
		var runs list[insight.Run]
		e.do("GET", "/api/v1/analytics/runs?limit=1", e.ro, "").JSON(t, &runs)
		if len(runs.Data) != 1 || runs.Data[0].ID != run.ID || runs.Next != nil {
			t.Fatalf("runs %+v", runs)
		}

		// A person's results.
		res = e.do("GET", "/api/v1/contacts/"+person+"/analytics?cross_sell=3", e.ro, "")
		res.JSON(t, &ci)
		if ci.Run == nil || ci.Run.ID != run.ID || ci.Score == nil || ci.Score.ContactID != people[7] || ci.Score.Segment == "" || ci.Rule == nil {
			t.Fatalf("person's analytics %s", res.Body)
		}
		if res := e.do("GET", "/api/v1/contacts/999999/analytics", e.ro, ""); res.Status != http.StatusNotFound {
			t.Errorf("unknown person: %d", res.Status)
		}
		e.do("GET", "/api/v1/contacts/"+person+"/analytics?cross_sell=99", e.ro, "").problem(t, http.StatusUnprocessableEntity)

		// The people list by segment.
		var people1 list[*crm.Contact]
		e.do("GET", "/api/v1/contacts?limit=100&segment="+ci.Score.Segment, e.ro, "").JSON(t, &people1)
		found := false
		for _, c := range people1.Data {
			found = found || c.ID == people[7]
		}
		var ov insight.Overview
		e.do("GET", "/api/v1/analytics/overview?at_risk=5", e.ro, "").JSON(t, &ov)
		want := int64(0)
		for _, s := range ov.Segments {
			if s.Segment == ci.Score.Segment {
				want = s.Customers
			}
		}
		if !found || int64(len(people1.Data)) != want || len(ov.Grid) != 5 || len(ov.Segments) != 11 {
			t.Errorf("segment filter: %d people (found %v), overview says %d", len(people1.Data), found, want)
		}
		p = e.do("GET", "/api/v1/contacts?segment=vip&churn_band=x&clv_min=-1", e.ro, "").problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"segment", "churn_band", "clv_min"} {
			if p.field(f) == "" {
				t.Errorf("no error for %s: %+v", f, p)
			}
		}
		res = e.do("GET", "/api/v1/contacts/export.csv?segment="+ci.Score.Segment, e.ro, "")
		if res.Status != http.StatusOK || strings.Count(string(res.Body), "\n") != int(want)+1 {
			t.Errorf("export by segment: %d, %d lines", res.Status, strings.Count(string(res.Body), "\n"))
		}

		// Items and cross-selling.
		var items list[insight.Item]
		e.do("GET", "/api/v1/analytics/items?q=te", e.ro, "").JSON(t, &items)
		if len(items.Data) != 1 || items.Data[0].Item != "sku:T1" || items.Data[0].Name != "Tea" {
			t.Errorf("items %+v", items)
		}
		var tea insight.ItemDetail
		e.do("GET", "/api/v1/analytics/bought-together?item=sku:T1", e.ro, "").JSON(t, &tea)
		if tea.Item.Baskets == 0 || len(tea.Together) != 1 || tea.Together[0].Item.Item != "sku:S1" {
			t.Errorf("bought together %+v", tea)
		}
		e.do("GET", "/api/v1/analytics/bought-together", e.ro, "").problem(t, http.StatusUnprocessableEntity)
		e.do("GET", "/api/v1/analytics/bought-together?item=sku:NOPE", e.ro, "").problem(t, http.StatusNotFound)
		var sugg list[insight.Suggestion]
		e.do("GET", "/api/v1/analytics/cross-sell?item=sku:S1&limit=3", e.ro, "").JSON(t, &sugg)
		e.do("GET", "/api/v1/analytics/cross-sell", e.ro, "").problem(t, http.StatusUnprocessableEntity)

		// Settings.
		var st insight.Settings
		e.do("GET", "/api/v1/analytics/settings", e.ro, "").JSON(t, &st)
		st.Currency, st.TimeZone = "IRR", "Asia/Tehran"
		body := fmt.Sprintf(`{"currency":"IRR","period":"weeks","predict_periods":13,"clv_months":6,"discount_rate":0.02,"churn_medium":0.3,"churn_high":0.6,
			"min_customers":30,"min_repeat_customers":10,"nightly":true,"nightly_at":"04:00","time_zone":"Asia/Tehran","basket_min_support":0.02,"basket_min_confidence":0.3}`)
		res = e.do("PUT", "/api/v1/analytics/settings", e.rw, body)
		if res.Status != http.StatusOK {
			t.Fatalf("settings = %d %s", res.Status, res.Body)
		}
		p = e.do("PUT", "/api/v1/analytics/settings", e.rw, `{"period":"months","nightly_at":"25:00"}`).problem(t, http.StatusUnprocessableEntity)
		if p.field("period") == "" || p.field("nightly_at") == "" {
			t.Errorf("bad settings: %+v", p)
		}

		// A support agent reads a person's results but not the analytics.
		sup, err := e.auth.CreateUser(ctx, crm.UserCreate{Email: "s@example.com", Name: "S", Password: "correct horse battery", Role: crm.RoleSupport})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.mustToken(sup.ID, crm.ScopeRead, crm.ScopeWrite)
		if res := e.do("GET", "/api/v1/contacts/"+person+"/analytics", tok, ""); res.Status != http.StatusOK {
			t.Errorf("support reads a person's analytics: %d", res.Status)
		}
		for _, path := range []string{"/api/v1/analytics/overview", "/api/v1/analytics/runs"} {
			if res := e.do("GET", path, tok, ""); res.Status != http.StatusForbidden {
				t.Errorf("support GET %s: %d", path, res.Status)
			}
		}
		if res := e.do("POST", "/api/v1/analytics/recompute", tok, "{}"); res.Status != http.StatusForbidden {
			t.Errorf("support recomputes: %d", res.Status)
		}
	})
}
