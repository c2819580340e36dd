package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// TestAnalyticsBrowser presses "Recompute now" in the Persian UI in
// headless Chromium with the job runner working in the background: the
// progress box appears, the page reloads itself with the results when the
// run ends; then the person's analytics card, the items bought together
// and the people list filtered by segment with the analytics columns, in
// Persian and English, at desktop and phone width. Skipped without
// Chromium unless PIVAND_TEST_BROWSER=require.
func TestAnalyticsBrowser(t *testing.T) {
	shots := requireChromium(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	orders := order.New(db, order.Options{Resolve: contacts.ResolveCustomer})
	ins := insight.New(db, insight.Options{Logger: quiet})
	runner := jobs.NewRunner(db, quiet, jobs.Options{PollInterval: 100 * time.Millisecond})
	ins.RegisterJobs(runner)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go runner.Run(rctx)

	admin, err := svc.CreateUser(ctx, crm.UserCreate{Email: "admin@example.com", Name: "نرگس احمدی",
		Password: "correct horse battery", Role: crm.RoleAdmin, Language: "fa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdatePreferences(ctx, admin.ID, crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}); err != nil {
		t.Fatal(err)
	}
	products := []order.LineInput{{SKU: "T1", Name: "چای ممتاز", Quantity: 1, UnitPrice: 450000}, {SKU: "S1", Name: "قند", Quantity: 2, UnitPrice: 120000},
		{Name: "لیوان", Quantity: 1, UnitPrice: 300000}, {SKU: "H1", Name: "عسل", Quantity: 1, UnitPrice: 900000}}
	// 150 customers drawn from the BG/NBD story: each buys at their own
	// rate and may leave after any purchase.
	rng := rand.New(rand.NewPCG(7, 9))
	now := time.Now().UTC()
	start := now.AddDate(0, -12, 0)
	names := []string{"علی", "سارا", "رضا", "مریم", "حسین", "زهرا", "مهدی", "فاطمه", "امیر", "نرگس"}
	for i := range 150 {
		gap := time.Duration((10 + rng.ExpFloat64()*50) * float64(24*time.Hour))
		leave := math.Pow(rng.Float64(), 2.5)
		when := start.Add(time.Duration(rng.Int64N(int64(180 * 24 * time.Hour))))
		for k := 0; when.Before(now); k++ {
			lines := []order.LineInput{products[0]}
			if (i+k)%2 == 0 {
				lines = append(lines, products[1])
			}
			if (i+k)%3 == 0 {
				lines = append(lines, products[2])
			}
			if i%5 == 4 && k%2 == 1 {
				lines = append(lines, products[3])
			}
			for j := range lines {
				lines[j].UnitPrice += int64(rng.IntN(20)) * 10000
			}
			if _, _, err := orders.Create(ctx, order.Input{Currency: "IRR", PlacedAt: &when, Lines: lines,
				Customer: crm.CustomerRef{Phone: fmt.Sprintf("0912%07d", 5000+i), FirstName: names[i%len(names)], LastName: "مشتری " + strconv.Itoa(i+1)}}); err != nil {
				t.Fatal(err)
			}
			if rng.Float64() < leave {
				break
			}
			when = when.Add(time.Duration(rng.ExpFloat64() * float64(gap)))
		}
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: activity.New(db), Orders: orders, Insight: ins, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	b := newBrowser(t, shots, 120*time.Second)
	do, eval, use, shot, fits, submit := b.do, b.eval, b.use, b.shot, b.fits, b.submit
	phone := viewport{360, 740, true}
	page := func() string { return eval(`document.body.dataset.page`) }

	do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/analytics/customers"),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	if page() != "analytics_customers" {
		t.Fatalf("after sign-in: page %q", page())
	}
	shot("fa-desktop-analytics-never")
	submit("recompute", `form[action="/analytics/recompute"] button[type="submit"]`, 200)
	// The page shows the progress box, then reloads itself with the results.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if eval(`document.querySelector("#segments-title") ? "yes" : ""`) == "yes" && eval(`document.querySelector("[data-analytics-poll]") ? "yes" : ""`) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the results never showed:\n%s", eval(`document.body.innerText`))
		}
		time.Sleep(300 * time.Millisecond)
	}
	body := eval(`document.body.innerText`)
	for _, want := range []string{"بخش‌های RFM", "قهرمانان", "ریسک ریزش", "BG/NBD"} {
		if !strings.Contains(body, want) {
			t.Errorf("analytics page lacks %q:\n%s", want, body)
		}
	}
	shot("fa-desktop-analytics")
	do("phone analytics", use(phone), chromedp.Reload())
	fits("analytics (phone)")
	shot("fa-phone-analytics")

	// A person's card: the first of the people list.
	do("people", use(desktop), chromedp.Navigate(srv.URL+"/contacts?sort=name"))
	href := eval(`document.querySelector(".person-link").getAttribute("href")`)
	do("the person's page", chromedp.Navigate(srv.URL+href))
	card := eval(`document.querySelector("#analytics") ? document.querySelector("#analytics").innerText : ""`)
	if !strings.Contains(card, "بخش") || !strings.Contains(card, "خانهٔ RFM") {
		t.Errorf("the person's analytics card:\n%s", card)
	}
	shot("fa-desktop-person-analytics")
	do("phone person", use(phone), chromedp.Reload())
	fits("person (phone)")

	do("items", use(desktop), chromedp.Navigate(srv.URL+"/analytics/items"))
	shot("fa-desktop-analytics-items")
	do("an item", chromedp.Navigate(srv.URL+"/analytics/item?key=sku%3AT1"))
	if body := eval(`document.body.innerText`); !strings.Contains(body, "چای ممتاز") || !strings.Contains(body, "قند") {
		t.Errorf("item page:\n%s", body)
	}
	shot("fa-desktop-analytics-item")
	do("phone item", use(phone), chromedp.Reload())
	fits("item (phone)")

	// The people list by segment with analytics columns.
	do("columns", use(desktop), chromedp.Navigate(srv.URL+"/contacts"),
		chromedp.Click(chromedp.CSS(`.columns-choice summary`)),
		chromedp.Click(chromedp.CSS(`input[name="col"][value="analytics.segment"]`)),
		chromedp.Click(chromedp.CSS(`input[name="col"][value="analytics.clv"]`)),
		chromedp.Click(chromedp.CSS(`input[name="col"][value="analytics.churn_band"]`)))
	submit("save columns", `.columns-form button[type="submit"]`, 200)
	do("by segment", chromedp.Navigate(srv.URL+"/contacts?segment=loyal"))
	if head := eval(`document.querySelector(".contacts-table thead").innerText`); !strings.Contains(head, "ارزش طول عمر") {
		t.Errorf("list columns: %q", head)
	}
	shot("fa-desktop-contacts-segment")

	// English.
	if _, err := svc.UpdatePreferences(ctx, admin.ID, crm.Preferences{Language: "en", Calendar: "gregorian", Digits: "latin", TimeZone: "Asia/Tehran"}); err != nil {
		t.Fatal(err)
	}
	do("english analytics", chromedp.Navigate(srv.URL+"/analytics/customers"))
	if body := eval(`document.body.innerText`); !strings.Contains(body, "RFM segments") || !strings.Contains(body, "Champions") {
		t.Errorf("English analytics page:\n%s", body)
	}
	shot("en-desktop-analytics")
	do("english person", chromedp.Navigate(srv.URL+href))
	shot("en-desktop-person-analytics")
}
