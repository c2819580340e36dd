package web

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// analyticsApp is the web UI with the orders module and the customer
// analytics installed, on a small shop: 45 customers with one to five
// orders each over half a year, lines from a few products.
type analyticsApp struct {
	*testApp
	orders  *order.Service
	insight *insight.Service
	runner  *jobs.Runner
	people  []int64 // by customer number
}

func newAnalyticsApp(t *testing.T, db *store.DB) *analyticsApp {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &analyticsApp{testApp: &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}),
		activity: activity.New(db)}}
	a.orders = order.New(db, order.Options{Resolve: a.contacts.ResolveCustomer})
	a.insight = insight.New(db, insight.Options{Logger: quiet})
	a.runner = jobs.NewRunner(db, quiet, jobs.Options{})
	a.insight.RegisterJobs(a.runner)
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Orders: a.orders, Insight: a.insight, Version: "test",
		ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)

	products := []order.LineInput{{SKU: "T1", Name: "چای", Quantity: 1, UnitPrice: 450000}, {SKU: "S1", Name: "قند", Quantity: 2, UnitPrice: 120000},
		{Name: "لیوان", Quantity: 1, UnitPrice: 300000}, {SKU: "H1", Name: "عسل", Quantity: 1, UnitPrice: 900000}}
	start := time.Now().UTC().AddDate(0, -7, 0)
	for i := range 45 {
		n := 1 + i%5
		for k := range n {
			when := start.AddDate(0, 0, i*2+k*(20+i%7))
			if i%9 == 0 && k > 0 {
				when = start.AddDate(0, 0, i+k*3) // bought a few times early, then stopped
			}
			lines := []order.LineInput{products[0]}
			if (i+k)%2 == 0 {
				lines = append(lines, products[1])
			}
			if (i+k)%3 == 0 {
				lines = append(lines, products[2])
			}
			if i%5 == 4 && k == n-1 {
				lines = append(lines, products[3])
			}
			o, _, err := a.orders.Create(t.Context(), order.Input{Currency: "IRR", PlacedAt: &when, Lines: lines,
				Customer: crm.CustomerRef{Phone: fmt.Sprintf("0912%07d", 1000+i), FirstName: "مشتری", LastName: strconv.Itoa(i + 1)}})
			if err != nil {
				t.Fatal(err)
			}
			if k == 0 {
				a.people = append(a.people, o.ContactID)
			}
		}
	}
	return a
}

// recompute asks for a run as an administrator would and works it.
func (a *analyticsApp) recompute() *insight.Run {
	a.t.Helper()
	run, err := a.insight.RunNow(a.t.Context(), insight.ViaCLI, "", nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return run
}

// analyticsPages renders every analytics page in lang, with an admin
// signed in: the analytics page before any run, with a run queued, and
// with results; a failed settings form; the items and an item; the
// person's page with the analytics card; the people list with analytics
// columns and filters, and with a bad filter.
func analyticsPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	app := newAnalyticsApp(t, db)
	email := "analytics-" + lang + "@example.com"
	app.createUser(email, crm.RoleAdmin)
	c := app.client(t)
	c.signIn(email)
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {lang},
		"calendar": {"jalali"}, "digits": {"persian"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
	var out []pageResponse
	add := func(name string, r response) { out = append(out, pageResponse{name, r}) }
	if r := c.get("/analytics"); r.status != http.StatusSeeOther || r.location() != "/analytics/customers" {
		t.Errorf("/analytics: %d to %q, want 303 to /analytics/customers", r.status, r.location())
	}
	add("/analytics/customers (never)", c.get("/analytics/customers"))
	add("/analytics/items (never)", c.get("/analytics/items"))
	person := strconv.FormatInt(app.people[3], 10)
	add("/contacts/ (never)", c.get("/contacts/"+person))
	mustStatus(t, c.post("/analytics/recompute", "/analytics/customers", url.Values{}), http.StatusSeeOther)
	add("/analytics/customers (queued)", c.get("/analytics/customers"))
	if n, err := app.runner.RunOnce(t.Context()); err != nil || n != 1 {
		t.Fatalf("run the recompute: %d %v", n, err)
	}
	add("/analytics/customers", c.get("/analytics/customers"))
	add("POST /analytics/settings", c.post("/analytics/settings", "/analytics/customers", url.Values{"currency": {"rials"}, "period": {"days"},
		"predict_periods": {"x"}, "clv_months": {"12"}, "discount_rate": {"1"}, "churn_medium": {"60"}, "churn_high": {"30"},
		"min_customers": {"30"}, "min_repeat_customers": {"10"}, "nightly_at": {"3am"}, "time_zone": {"UTC"},
		"basket_min_support": {"1"}, "basket_min_confidence": {"20"}}))
	add("/analytics/items", c.get("/analytics/items"))
	add("/analytics/items?q=", c.get("/analytics/items?q="+url.QueryEscape("چای")))
	add("/analytics/item", c.get("/analytics/item?key="+url.QueryEscape("sku:T1")))
	add("/analytics/item (missing)", c.get("/analytics/item?key=nope"))
	add("/contacts/", c.get("/contacts/"+person))
	cols := url.Values{"next": {"/contacts"}}
	for _, k := range append([]string{"email", "phone"}, analyticsColumnKeys...) {
		cols.Add("col", k)
	}
	mustStatus(t, c.post("/contacts/columns", "/contacts", cols), http.StatusSeeOther)
	add("/contacts?segment=", c.get("/contacts?segment=champions&clv_min=0"))
	add("/contacts?churn=bogus", c.get("/contacts?churn=bogus&clv_max=abc"))
	return out
}

func TestAnalyticsPagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, l := range locale.Languages {
			t.Run(l.Code, func(t *testing.T) {
				for _, pr := range analyticsPages(t, db, l.Code) {
					if i := strings.Index(pr.r.body, locale.MissingMark); i >= 0 {
						t.Errorf("%s %s: missing catalog key near %q", l.Code, pr.path, pr.r.body[i:min(len(pr.r.body), i+60)])
					}
					if !strings.Contains(pr.r.body, `<html lang="`+l.Code+`"`) {
						t.Errorf("%s %s: status %d, not a page", l.Code, pr.path, pr.r.status)
					}
					want := http.StatusOK
					switch {
					case strings.HasPrefix(pr.path, "POST"), strings.Contains(pr.path, "bogus"):
						want = http.StatusUnprocessableEntity
					case strings.HasSuffix(pr.path, "(missing)"):
						want = http.StatusNotFound
					}
					if pr.r.status != want {
						t.Errorf("%s %s: status %d, want %d", l.Code, pr.path, pr.r.status, want)
					}
				}
			})
			// Each language a fresh shop (the phones are the same).
			db = storetest.Open(t, db.Dialect())
		}
	})
}

// TestAnalyticsWorkflow: a recompute from the page with its progress, the
// results on the page, the person's card, the list's filters and columns,
// the CSV export, the settings, and who may see what.
func TestAnalyticsWorkflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newAnalyticsApp(t, db)
		app.createUser("admin@example.com", crm.RoleAdmin)
		app.createUser("support@example.com", crm.RoleSupport)
		app.createUser("sales@example.com", crm.RoleSales)
		c := app.client(t)
		c.signIn("admin@example.com")

		r := c.get("/analytics/customers")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "not been computed yet", `action="/analytics/recompute"`)

		// Recompute: the page shows the progress box until the job is done.
		r = c.post("/analytics/recompute", "/analytics/customers", url.Values{})
		mustStatus(t, r, http.StatusSeeOther)
		loc := r.location()
		if !strings.Contains(loc, "notice=analytics_recompute_started") {
			t.Fatalf("location %q", loc)
		}
		runID := strings.TrimPrefix(strings.SplitN(strings.SplitN(loc, "run=", 2)[1], "&", 2)[0], "")
		r = c.get(loc)
		mustContain(t, r, `data-analytics-poll="/analytics/runs/`+runID+`/progress"`, "Waiting to start", "Recomputing the customer analytics.")
		// Asking again while it is queued shows the same run.
		r = c.post("/analytics/recompute", "/analytics/customers", url.Values{})
		if !strings.Contains(r.location(), "run="+runID+"&notice=analytics_recompute_running") {
			t.Fatalf("second recompute: %q", r.location())
		}
		r = c.get("/analytics/runs/" + runID + "/progress")
		var prog map[string]any
		if err := json.Unmarshal([]byte(r.body), &prog); err != nil || prog["finished"] != false || prog["status"] != "queued" {
			t.Fatalf("progress %s %v", r.body, err)
		}
		if n, err := app.runner.RunOnce(t.Context()); err != nil || n != 1 {
			t.Fatalf("run: %d %v", n, err)
		}
		r = c.get("/analytics/runs/" + runID + "/progress")
		if err := json.Unmarshal([]byte(r.body), &prog); err != nil || prog["finished"] != true || prog["status"] != "done" {
			t.Fatalf("progress after %s %v", r.body, err)
		}
		r = c.get("/analytics/customers")
		mustContain(t, r, "RFM segments", "Champions", "R 5, FM 5", "Cannot lose them", "Churn risk", "Items bought together", "in use")
		if strings.Contains(r.body, "data-analytics-poll") {
			t.Error("progress box after the run")
		}
		run, err := app.insight.Run(t.Context(), mustInt(t, runID))
		if err != nil || run.Status != "done" || run.Customers != 45 {
			t.Fatalf("run %+v %v", run, err)
		}

		// The person's page: their segment, RFM cell and what to offer.
		scores, _, err := app.insight.ScoresOf(t.Context(), app.people)
		if err != nil {
			t.Fatal(err)
		}
		p := app.people[4]
		sc := scores[p]
		r = c.get("/contacts/" + strconv.FormatInt(p, 10))
		mustContain(t, r, `id="analytics"`, "Customer analytics", html.EscapeString(sc.Cell), "segment="+sc.Segment)
		ci, err := app.insight.Customer(t.Context(), p, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, sg := range ci.CrossSell {
			mustContain(t, r, html.EscapeString(itemHref(sg.Item)))
		}

		// The list: filtered by segment, with the analytics columns.
		cols := url.Values{"next": {"/contacts"}, "col": {"email", "analytics.segment", "analytics.clv"}}
		mustStatus(t, c.post("/contacts/columns", "/contacts", cols), http.StatusSeeOther)
		r = c.get("/contacts?segment=" + sc.Segment)
		mustStatus(t, r, http.StatusOK)
		want := 0
		for _, s := range scores {
			if s.Segment == sc.Segment {
				want++
			}
		}
		if got := strings.Count(r.body, `name="id" value=`); got != want {
			t.Errorf("segment %s: %d rows, want %d", sc.Segment, got, want)
		}
		mustContain(t, r, "<th scope=\"col\">Segment</th>", "<th scope=\"col\">CLV</th>")
		r = c.get("/contacts?clv_min=abc")
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Type an amount")

		// The CSV export carries the analytics columns.
		r = c.get("/contacts/export.csv?segment=" + sc.Segment)
		mustStatus(t, r, http.StatusOK)
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\uFEFF"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		head := recs[0]
		col := func(name string) int {
			for i, h := range head {
				if h == name {
					return i
				}
			}
			t.Fatalf("no column %s in %v", name, head)
			return -1
		}
		if len(recs)-1 != want {
			t.Errorf("export: %d rows, want %d", len(recs)-1, want)
		}
		for _, rec := range recs[1:] {
			id := mustInt(t, rec[col("id")])
			if rec[col("analytics_segment")] != sc.Segment || rec[col("analytics_total_spent")] != strconv.FormatInt(scores[id].TotalSpent, 10) ||
				rec[col("analytics_currency")] != "IRR" {
				t.Errorf("export row %v", rec)
			}
		}

		// Settings: a bad form names the fields; a good one is saved.
		r = c.post("/analytics/settings", "/analytics/customers", url.Values{"currency": {"IRR"}, "period": {"weeks"}, "predict_periods": {"۱۳"},
			"clv_months": {"12"}, "discount_rate": {"1"}, "churn_medium": {"30"}, "churn_high": {"60"}, "min_customers": {"30"},
			"min_repeat_customers": {"10"}, "nightly": {"on"}, "nightly_at": {"۰۲:۳۰"}, "time_zone": {"Asia/Tehran"},
			"basket_min_support": {"2"}, "basket_min_confidence": {"25"}})
		mustStatus(t, r, http.StatusSeeOther)
		st, err := app.insight.Settings(t.Context())
		if err != nil || st.Period != "weeks" || st.PredictPeriods != 13 || st.NightlyAt != "02:30" || st.BasketMinSupport != 0.02 || st.TimeZone != "Asia/Tehran" {
			t.Errorf("settings %+v %v", st, err)
		}

		// Who may see what.
		support := app.client(t)
		support.signIn("support@example.com")
		mustStatus(t, support.get("/analytics/customers"), http.StatusForbidden)
		mustStatus(t, support.post("/analytics/recompute", "/contacts", url.Values{}), http.StatusForbidden)
		r = support.get("/contacts/" + strconv.FormatInt(p, 10))
		mustContain(t, r, `id="analytics"`, "segment="+sc.Segment)
		if strings.Contains(r.body, `href="/analytics/customers"`) {
			t.Error("support is shown a link to the analytics page")
		}
		mustStatus(t, support.get("/analytics/item?key=sku%3AT1"), http.StatusOK)
		sales := app.client(t)
		sales.signIn("sales@example.com")
		mustStatus(t, sales.get("/analytics/customers"), http.StatusOK)
		mustStatus(t, sales.post("/analytics/settings", "/analytics/customers", url.Values{}), http.StatusForbidden)
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}
