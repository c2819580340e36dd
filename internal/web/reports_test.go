package web

import (
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// reportApp is the web UI with orders, the club and the reports on one
// database, with shop data: orders in Farvardin and Ordibehesht 1404
// (Tehran time), a return, a club program with points and a finished
// analytics run.
type reportApp struct {
	*testApp
	db      *store.DB
	orders  *order.Service
	club    *club.Service
	reports *report.Service
	events  *event.Dispatcher
	placed  []*crm.Order
}

func newReportApp(t *testing.T, db *store.DB) *reportApp {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	ra := &reportApp{testApp: a, db: db, events: event.NewDispatcher(db, quiet)}
	ra.orders = order.New(db, order.Options{Resolve: a.contacts.ResolveCustomer})
	ra.club = club.New(db, club.Options{Logger: quiet})
	ra.reports = report.New(db, report.Options{Logger: quiet})
	ra.club.Subscribe(ra.events)
	ra.reports.Subscribe(ra.events)
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Orders: ra.orders, Club: ra.club, Reports: ra.reports,
		Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	if err := ra.reports.SetTimeZone(ctx, "Asia/Tehran"); err != nil {
		t.Fatal(err)
	}
	if _, err := ra.club.CreateProgram(ctx, club.ProgramInput{Name: "باشگاه <مهر>", Currency: "IRR", EarnPoints: 1, EarnAmount: 1000,
		PointValue: 100, ValuePoints: 1, AutoEnrol: true}); err != nil {
		t.Fatal(err)
	}
	tehran, err := time.LoadLocation("Asia/Tehran")
	if err != nil {
		t.Fatal(err)
	}
	// Farvardin 1404 is 2025-03-21..2025-04-20; Ordibehesht starts on 04-21.
	for _, o := range []struct {
		phone string
		at    time.Time
		price int64
	}{
		{"09121000001", time.Date(2025, 3, 21, 0, 5, 0, 0, tehran), 500_000},
		{"09121000002", time.Date(2025, 4, 20, 23, 55, 0, 0, tehran), 300_000},
		{"09121000001", time.Date(2025, 4, 21, 10, 0, 0, 0, tehran), 200_000},
		{"09121000003", time.Date(2025, 3, 20, 23, 59, 0, 0, tehran), 900_000}, // 29 Esfand 1403
	} {
		at := o.at
		placed, _, err := ra.orders.Create(ctx, order.Input{Currency: "IRR", Customer: crm.CustomerRef{Phone: o.phone, FirstName: "مشتری", LastName: o.phone[7:]},
			PlacedAt: &at, Lines: []order.LineInput{{SKU: "TEA", Name: "چای", Quantity: 2, UnitPrice: o.price / 2}}})
		if err != nil {
			t.Fatal(err)
		}
		ra.placed = append(ra.placed, placed)
	}
	if _, _, err := ra.orders.Return(ctx, ra.placed[0].ID, order.ReturnInput{Reason: crm.ReturnDefect,
		Lines: []order.ReturnLineInput{{LineID: ra.placed[0].Lines[0].ID, Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	seedReportScores(t, db, []int64{ra.placed[0].ContactID, ra.placed[1].ContactID, ra.placed[3].ContactID})
	ra.sync()
	return ra
}

func (ra *reportApp) sync() {
	ra.t.Helper()
	ctx := context.Background()
	if err := ra.events.Drain(ctx); err != nil {
		ra.t.Fatal(err)
	}
	if err := ra.reports.Sync(ctx); err != nil {
		ra.t.Fatal(err)
	}
}

// seedReportScores stores a finished analytics run scoring ids, the
// first at high churn risk.
func seedReportScores(t *testing.T, db *store.DB, ids []int64) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		r := &store.AnalyticsRun{Status: store.RunDone, Via: "cli"}
		if err := tx.InsertAnalyticsRun(ctx, r); err != nil {
			return err
		}
		now := time.Now().UTC()
		r.Currency, r.ObservedTo, r.Customers, r.ModelStatus, r.SpendStatus, r.FinishedAt = "IRR", "2025-04-21", int64(len(ids)), "ok", "ok", &now
		if err := tx.SaveAnalyticsRun(ctx, r); err != nil {
			return err
		}
		var rows []store.CustomerScore
		for i, id := range ids {
			band, risk := "low", 0.2
			if i == 0 {
				band, risk = "high", 0.9
			}
			alive, clv := 1-risk, int64(100_000*(i+1))
			rows = append(rows, store.CustomerScore{RunID: r.ID, ContactID: id, Currency: "IRR", Orders: 2, TotalSpent: 700_000,
				FirstOrderAt: now.AddDate(0, -2, 0), LastOrderAt: now.AddDate(0, -1, 0), R: 1, F: 2, M: 3, Cell: "123",
				Segment: analytics.RFMSegments[i], PrevSegment: analytics.RFMSegments[i+1], PAlive: &alive, ChurnRisk: &risk, ChurnBand: band, CLV: &clv})
		}
		if err := tx.CreateScoreTable(ctx, r.ID); err != nil {
			return err
		}
		if err := tx.InsertCustomerScores(ctx, rows); err != nil {
			return err
		}
		if err := tx.IndexScoreTable(ctx, r.ID); err != nil {
			return err
		}
		return tx.SetCurrentAnalyticsRun(ctx, r.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// signedIn returns a client signed in as a new user of role with the
// given language, Jalali calendar and Persian digits for fa (Gregorian
// and Latin digits otherwise).
func (ra *reportApp) signedIn(t *testing.T, role crm.Role, lang string) *client {
	t.Helper()
	email := fmt.Sprintf("%s-%s-%d@example.com", role, lang, time.Now().UnixNano())
	ra.createUser(email, role)
	c := ra.client(t)
	c.signIn(email)
	cal, digits := "gregorian", "latin"
	if lang != "en" {
		cal, digits = "jalali", "persian"
	}
	if lang == "ar" {
		digits = "arabic"
	}
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {lang},
		"calendar": {cal}, "digits": {digits}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
	return c
}

// reportPages renders every reports page in lang with an admin signed in,
// for the every-page-every-language checks.
func reportPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	ra := newReportApp(t, db)
	c := ra.signedIn(t, crm.RoleAdmin, lang)
	custom := "/reports/manager?preset=custom&from=1404/01/01&to=1404/02/31"
	if lang == "en" {
		custom = "/reports/manager?preset=custom&from=2025/03/01&to=2025/04/30"
	}
	var out []pageResponse
	for _, p := range []string{"/reports/manager", "/reports/sales", "/reports/service", "/reports/marketing", "/reports/club",
		custom, "/reports/manager?preset=custom&from=nope&to=1403/01/01",
		"/reports/nope", "/settings/reports"} {
		out = append(out, pageResponse{p, c.get(p)})
	}
	out = append(out, pageResponse{"POST /settings/reports", c.post("/settings/reports", "/settings/reports", url.Values{"time_zone": {"UTC"}, "time_zone_other": {"Nowhere/Atlantis"}})})
	return out
}

func TestReportPagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, l := range locale.Languages {
			t.Run(l.Code, func(t *testing.T) {
				for _, pr := range reportPages(t, db, l.Code) {
					if i := strings.Index(pr.r.body, locale.MissingMark); i >= 0 {
						t.Errorf("%s %s: missing catalog key near %q", l.Code, pr.path, pr.r.body[i:min(len(pr.r.body), i+60)])
					}
					want := http.StatusOK
					switch {
					case strings.HasPrefix(pr.path, "POST"), strings.Contains(pr.path, "nope&"):
						want = http.StatusUnprocessableEntity
					case strings.HasSuffix(pr.path, "/nope"):
						want = http.StatusNotFound
					}
					if pr.r.status != want {
						t.Errorf("%s %s: status %d, want %d", l.Code, pr.path, pr.r.status, want)
					}
					if strings.Contains(pr.r.body, "style=") {
						t.Errorf("%s %s: an inline style", l.Code, pr.path)
					}
				}
			})
		}
	})
}

// TestReportDashboards checks the manager's dashboard in Persian: Jalali
// months in Persian digits, the Farvardin figures, the charts' numbers in
// tables, right-to-left charts, the panels of modules not installed.
func TestReportDashboards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ra := newReportApp(t, db)
		c := ra.signedIn(t, crm.RoleManager, "fa")
		r := c.get("/reports")
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != "/reports/manager" {
			t.Errorf("a manager opens %q", r.location())
		}
		r = c.get("/reports/manager?preset=custom&from=" + url.QueryEscape("۱۴۰۴/۰۱/۰۱") + "&to=" + url.QueryEscape("۱۴۰۴/۰۱/۳۱"))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="reports"`, `value="۱۴۰۴/۰۱/۰۱"`, `value="۱۴۰۴/۰۱/۳۱"`,
			"فروردین ۱۴۰۴", // the month, in Persian digits
			// Two orders in Farvardin: 500,000 − 250,000 refunded + 300,000.
			"<td class=\"num\">۲</td><td class=\"num\">۸۰۰٬۰۰۰</td><td class=\"num\">۲۵۰٬۰۰۰</td><td class=\"num\">۵۵۰٬۰۰۰</td>",
			`direction="rtl"`, `role="img"`, `class="heatmap"`,
			"تا وقتی این ماژول نصب نشده، در دسترس نیست: فروش", // the pipeline panel
			`href="/reports/manager/revenue.csv?currency=IRR&amp;from=1404%2F01%2F01&amp;to=1404%2F01%2F31"`)
		if regexp.MustCompile(`اردیبهشت ۱۴۰۴`).MatchString(r.body) {
			t.Error("Ordibehesht is shown for a Farvardin report")
		}
		// Every chart has a table beside it.
		if charts, tables := strings.Count(r.body, `<svg `), strings.Count(r.body, `report-numbers`); charts == 0 || tables < charts {
			t.Errorf("%d charts, %d tables beside them", charts, tables)
		}
		// The churn-risk list names the customer at risk and links to them.
		mustContain(t, r, fmt.Sprintf(`href="/contacts/%d"`, ra.placed[0].ContactID))

		// Presets, and a bad range.
		r = c.get("/reports/marketing?preset=last_year")
		mustStatus(t, r, http.StatusOK)
		r = c.get("/reports/manager?preset=custom&from=1404/02/01&to=1404/01/01")
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "پایان بازه پیش از آغاز آن است.", `aria-invalid="true"`)
	})
}

// TestReportPermissions checks which roles see which dashboard and panel.
func TestReportPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ra := newReportApp(t, db)
		see := map[crm.Role][]string{
			crm.RoleAdmin:     {"manager", "sales", "service", "marketing", "club"},
			crm.RoleManager:   {"manager", "sales", "service", "marketing", "club"},
			crm.RoleSales:     {"sales", "club"},
			crm.RoleSupport:   {"service"},
			crm.RoleMarketing: {"marketing", "club"},
		}
		for role, allowed := range see {
			c := ra.signedIn(t, role, "en")
			r := c.get("/reports")
			if want := "/reports/" + defaultDashboard[role]; r.location() != want {
				t.Errorf("%s opens %q, want %q", role, r.location(), want)
			}
			for _, d := range reportDashboards {
				r := c.get("/reports/" + d.Name)
				ok := false
				for _, a := range allowed {
					ok = ok || a == d.Name
				}
				want := http.StatusForbidden
				if ok {
					want = http.StatusOK
				}
				if r.status != want {
					t.Errorf("%s /reports/%s: status %d, want %d", role, d.Name, r.status, want)
				}
				if csv := c.get("/reports/" + d.Name + "/" + d.Widgets[0] + ".csv"); ok != (csv.status == http.StatusOK) && !(ok && csv.status == http.StatusNotFound) {
					t.Errorf("%s /reports/%s CSV: status %d", role, d.Name, csv.status)
				}
			}
		}
		// Support sees the returns but no money figures on the service dashboard.
		c := ra.signedIn(t, crm.RoleSupport, "en")
		r := c.get("/reports/service?preset=last_year")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `id="panel-returns"`, "Not available until this module is installed: Customer service")
		if strings.Contains(r.body, `id="panel-revenue"`) || strings.Contains(r.body, `id="panel-kpis"`) {
			t.Error("support sees revenue")
		}
		mustStatus(t, c.get("/settings/reports"), http.StatusForbidden)
		mustStatus(t, c.post("/settings/reports/rebuild", "/reports/service", nil), http.StatusForbidden)
	})
}

// TestReportCSV checks that the export holds the table's numbers, for
// Excel (UTF-8 with a byte-order mark), against the orders.
func TestReportCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ra := newReportApp(t, db)
		c := ra.signedIn(t, crm.RoleManager, "fa")
		r := c.get("/reports/manager/revenue.csv?preset=custom&from=" + url.QueryEscape("۱۴۰۳/۱۲/۰۱") + "&to=1404/02/31")
		mustStatus(t, r, http.StatusOK)
		if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("content type %q", ct)
		}
		if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="pivand-revenue-1403-12-01-1404-02-31.csv"` {
			t.Errorf("content disposition %q", cd)
		}
		body, ok := strings.CutPrefix(r.body, "\ufeff")
		if !ok {
			t.Fatal("no byte-order mark")
		}
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"ماه", "از", "تا", "سفارش‌ها", "ناخالص (IRR)", "برگشتی (IRR)", "خالص (IRR)", "میانگین سفارش (IRR)"},
			{"اسفند 1403", "2025-02-19", "2025-03-20", "1", "900000", "0", "900000", "900000"},
			{"فروردین 1404", "2025-03-21", "2025-04-20", "2", "800000", "250000", "550000", "275000"},
			{"اردیبهشت 1404", "2025-04-21", "2025-05-21", "1", "200000", "0", "200000", "200000"},
			{"جمع", "2025-02-19", "2025-05-21", "4", "1900000", "250000", "1650000", "412500"},
		}
		if fmt.Sprint(recs) != fmt.Sprint(want) {
			t.Errorf("CSV\n got %q\nwant %q", recs, want)
		}
		// The same figures straight from the orders.
		var gross, returned int64
		for _, o := range ra.placed {
			got, err := ra.orders.Find(context.Background(), o.ID)
			if err != nil {
				t.Fatal(err)
			}
			gross += got.Total
			returned += got.ReturnedTotal
		}
		if fmt.Sprint(gross) != recs[4][4] || fmt.Sprint(returned) != recs[4][5] {
			t.Errorf("orders: gross %d, refunded %d; CSV total %v", gross, returned, recs[4])
		}
		// The cohort table: percentages, from the same query.
		r = c.get("/reports/marketing/cohorts.csv?preset=custom&from=1404/01/01&to=1404/02/31")
		mustStatus(t, r, http.StatusOK)
		recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 || len(recs[1]) != 8 || recs[1][0] != "فروردین 1404" || recs[1][3] != "2" || recs[1][4] != "100.0" || recs[1][5] != "50.0" ||
			recs[1][6] != "2" || recs[1][7] != "1" || recs[0][4] != "سهم پس از 0 ماه" || recs[0][7] != "مشتریان پس از 1 ماه" {
			t.Errorf("cohorts CSV %q", recs)
		}
		// The churn-risk list, the second table of its panel.
		r = c.get("/reports/manager/churn.list.csv")
		mustStatus(t, r, http.StatusOK)
		if cd := r.header.Get("Content-Disposition"); !strings.Contains(cd, `filename="pivand-churn-list-`) {
			t.Errorf("content disposition %q", cd)
		}
		recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[0][0] != "مشتری" || recs[1][0] != "مشتری 0001" || recs[1][3] != "700000" || recs[1][5] != "10.0" || recs[1][6] != "100000" {
			t.Errorf("churn list CSV %q", recs)
		}
		mustStatus(t, c.get("/reports/manager/revenue.list.csv"), http.StatusNotFound)
		// A widget that is not on the dashboard, a bad range.
		mustStatus(t, c.get("/reports/service/revenue.csv"), http.StatusNotFound)
		mustStatus(t, c.get("/reports/manager/pipeline.csv"), http.StatusNotFound)
		mustStatus(t, c.get("/reports/manager/revenue.csv?preset=custom&from=x"), http.StatusUnprocessableEntity)
	})
}

func TestReportSettings(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ra := newReportApp(t, db)
		c := ra.signedIn(t, crm.RoleAdmin, "en")
		r := c.get("/settings/reports")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `<option value="Asia/Tehran" selected>`, "Rebuild from the orders")
		r = c.post("/settings/reports", "/settings/reports", url.Values{"time_zone": {"UTC"}, "time_zone_other": {"Mars/Base"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		r = c.post("/settings/reports", "/settings/reports", url.Values{"time_zone": {"UTC"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get("/reports/manager")
		mustContain(t, r, "are being rebuilt from the orders")
		ra.sync()
		r = c.get("/settings/reports")
		mustContain(t, r, `<option value="UTC" selected>`)
		mustStatus(t, c.post("/settings/reports/rebuild", "/settings/reports", nil), http.StatusSeeOther)
	})
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "-12.5": "-12.5", "+98912": "+98912", "@x": "'@x", "abc": "abc", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
