package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/text"
	"github.com/pivand/pivand/internal/web"
)

// TestReportsBrowser opens the dashboards in headless Chromium in Persian
// (Jalali months, Persian digits, right to left) and English: the charts
// run from the right in Persian and from the left in English, a Jalali
// range typed in Persian digits switches the preset to a custom range, no
// element carries an inline style, and no page is wider than a phone.
// Screenshots at desktop and phone width. Skipped without Chromium unless
// PIVAND_TEST_BROWSER=require.
func TestReportsBrowser(t *testing.T) {
	shots := requireChromium(t)
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	orders := order.New(db, order.Options{Resolve: contacts.ResolveCustomer})
	cl := club.New(db, club.Options{Logger: quiet})
	reports := report.New(db, report.Options{Logger: quiet})
	events := event.NewDispatcher(db, quiet)
	cl.Subscribe(events)
	reports.Subscribe(events)
	if err := reports.SetTimeZone(ctx, "Asia/Tehran"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateProgram(ctx, club.ProgramInput{Name: "باشگاه مهر", Currency: "IRR", EarnPoints: 1, EarnAmount: 10_000,
		PendingDays: 14, PointValue: 1000, ValuePoints: 1, AutoEnrol: true}); err != nil {
		t.Fatal(err)
	}
	// Fourteen months of a small shop in Tehran.
	r := rand.New(rand.NewPCG(3, 4))
	tehran, _ := time.LoadLocation("Asia/Tehran")
	start := time.Now().In(tehran).AddDate(0, -14, 0)
	var ids []int64
	for i := range 320 {
		at := start.Add(time.Duration(r.IntN(420*24)) * time.Hour)
		ch := crm.ChannelInStore
		if r.IntN(3) == 0 {
			ch = crm.ChannelWeb
		}
		o, _, err := orders.Create(ctx, order.Input{Currency: "IRR", Channel: ch, PlacedAt: &at,
			Customer: crm.CustomerRef{Phone: fmt.Sprintf("0912%07d", r.IntN(60)), FirstName: "مشتری", LastName: fmt.Sprint(i)},
			Lines:    []order.LineInput{{SKU: "T", Name: "چای", Quantity: 1 + int64(r.IntN(4)), UnitPrice: 250_000 + int64(r.IntN(20))*50_000}}})
		if err != nil {
			t.Fatal(err)
		}
		if r.IntN(9) == 0 {
			if _, _, err := orders.Return(ctx, o.ID, order.ReturnInput{Reason: crm.ReturnReasons[r.IntN(3)]}); err != nil {
				t.Fatal(err)
			}
		}
		if len(ids) < 40 && !containsID(ids, o.ContactID) {
			ids = append(ids, o.ContactID)
		}
	}
	seedBrowserScores(t, db, ids)
	if err := events.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := reports.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ email, lang, cal, digits string }{
		{"fa@example.com", "fa", "jalali", "persian"}, {"en@example.com", "en", "gregorian", "latin"},
	} {
		x, err := svc.CreateUser(ctx, crm.UserCreate{Email: u.email, Name: u.lang, Password: "correct horse battery", Role: crm.RoleAdmin, Language: u.lang})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.UpdatePreferences(ctx, x.ID, crm.Preferences{Language: u.lang, Calendar: u.cal, Digits: u.digits, TimeZone: "Asia/Tehran"}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: activity.New(db), Orders: orders, Club: cl, Reports: reports, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	phone := viewport{360, 740, true}

	// The order of the revenue chart's first and last bars, left to right.
	firstLeftOfLast := `(() => { const r = [...document.querySelectorAll("#panel-revenue svg rect.chart-s1")];
		return r.length > 1 && +r[0].getAttribute("x") < +r[r.length-1].getAttribute("x") ? "yes" : "no"; })()`

	for _, lang := range []string{"fa", "en"} {
		b := newBrowser(t, shots, 90*time.Second)
		do, eval, use, shot, fits, submit := b.do, b.eval, b.use, b.shot, b.fits, b.submit
		do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/reports"),
			chromedp.SendKeys(chromedp.ID("email"), lang+"@example.com"),
			chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
		submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
		if p := eval(`document.body.dataset.page + " " + location.pathname`); p != "reports /reports/manager" {
			t.Fatalf("%s: after sign-in %q", lang, p)
		}
		if n := eval(`String(document.querySelectorAll("[style]").length)`); n != "0" {
			t.Errorf("%s: %s elements with an inline style", lang, n)
		}
		want := map[string]string{"fa": "no", "en": "yes"}[lang]
		if got := eval(firstLeftOfLast); got != want {
			t.Errorf("%s: first month left of the last: %s, want %s", lang, got, want)
		}
		if got := eval(`document.querySelector("#panel-revenue svg").getAttribute("direction")`); got != map[string]string{"fa": "rtl", "en": "ltr"}[lang] {
			t.Errorf("%s: chart direction %q", lang, got)
		}
		shot(lang + "-desktop-reports-manager")
		if lang == "fa" {
			// A Jalali range in Persian digits: two whole months, six months ago.
			m := report.MonthOf(report.DayOf(time.Now().AddDate(0, -6, 0), tehran), report.Jalali)
			from := text.ToPersianDigits(report.FormatDay(m.First(report.Jalali), report.Jalali))
			to := text.ToPersianDigits(report.FormatDay((m + 1).Last(report.Jalali), report.Jalali))
			label := func(m report.Month) string {
				y, mo := m.YearMonth()
				return text.JalaliMonthName(mo, "fa") + " " + text.ToPersianDigits(fmt.Sprint(y))
			}
			eval(`document.getElementById("range-from").value = ""; document.getElementById("range-to").value = ""; "ok"`)
			do("type a range", chromedp.SendKeys(chromedp.ID("range-from"), from), chromedp.SendKeys(chromedp.ID("range-to"), to))
			if p := eval(`document.getElementById("range-preset").value`); p != "custom" {
				t.Errorf("typing a date left the preset at %q", p)
			}
			submit("show", `form[data-report-range] button[type="submit"]`, 200)
			months := eval(`[...document.querySelectorAll("#panel-revenue tbody th")].map(e => e.textContent).join("|")`)
			if months != label(m)+"|"+label(m+1) {
				t.Errorf("months of the range: %q", months)
			}
			shot("fa-desktop-reports-range")
			do("marketing", chromedp.Navigate(srv.URL+"/reports/marketing"))
			shot("fa-desktop-reports-marketing")
			do("club", chromedp.Navigate(srv.URL+"/reports/club"))
			shot("fa-desktop-reports-club")
		}
		do("phone", use(phone), chromedp.Navigate(srv.URL+"/reports/manager"))
		fits(lang + " manager dashboard (phone)")
		shot(lang + "-phone-reports-manager")
		if lang == "en" {
			do("service", use(desktop), chromedp.Navigate(srv.URL+"/reports/service"))
			shot("en-desktop-reports-service")
			body := eval(`document.body.innerText`)
			if !strings.Contains(body, "Returns by reason") || !strings.Contains(body, "Not available until this module is installed") {
				t.Errorf("service dashboard:\n%s", body)
			}
		}
	}
	t.Logf("screenshots in %s", shots)
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// seedBrowserScores stores a finished analytics run over ids.
func seedBrowserScores(t *testing.T, db *store.DB, ids []int64) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		run := &store.AnalyticsRun{Status: store.RunDone, Via: "cli"}
		if err := tx.InsertAnalyticsRun(ctx, run); err != nil {
			return err
		}
		now := time.Now().UTC()
		run.Currency, run.Customers, run.ModelStatus, run.SpendStatus, run.FinishedAt = "IRR", int64(len(ids)), "ok", "ok", &now
		if err := tx.SaveAnalyticsRun(ctx, run); err != nil {
			return err
		}
		var rows []store.CustomerScore
		for i, id := range ids {
			risk := float64(i%10) / 10
			band := "low"
			switch {
			case risk >= 0.6:
				band = "high"
			case risk >= 0.3:
				band = "medium"
			}
			alive, clv := 1-risk, int64(200_000*(1+i%7)*(1+i%3))
			rows = append(rows, store.CustomerScore{RunID: run.ID, ContactID: id, Currency: "IRR", Orders: int64(1 + i%6), TotalSpent: int64(400_000 * (1 + i%9)),
				FirstOrderAt: now.AddDate(-1, 0, 0), LastOrderAt: now.AddDate(0, -(i % 8), 0), R: 1 + i%5, F: 1 + i%4, M: 1 + i%5, Cell: "111",
				Segment: analytics.RFMSegments[(i*7)%len(analytics.RFMSegments)], PrevSegment: analytics.RFMSegments[(i*5)%len(analytics.RFMSegments)],
				PAlive: &alive, ChurnRisk: &risk, ChurnBand: band, CLV: &clv})
		}
		if err := tx.CreateScoreTable(ctx, run.ID); err != nil {
			return err
		}
		if err := tx.InsertCustomerScores(ctx, rows); err != nil {
			return err
		}
		if err := tx.IndexScoreTable(ctx, run.ID); err != nil {
			return err
		}
		return tx.SetCurrentAnalyticsRun(ctx, run.ID)
	})
	if err != nil {
		t.Fatal(err)
	}
}
