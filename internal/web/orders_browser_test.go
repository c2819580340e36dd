package web_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// TestOrdersBrowser enters an order in the Persian UI in headless
// Chromium (customer by a phone in Persian digits, two lines, amounts in
// rials), returns one line from the order page, and checks the person's
// timeline shows both; screenshots at desktop and phone width, no page
// wider than a phone. Skipped without Chromium unless
// PIVAND_TEST_BROWSER=require.
func TestOrdersBrowser(t *testing.T) {
	shots := requireChromium(t)
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	orders := order.New(db, order.Options{Resolve: contacts.ResolveCustomer})
	admin, err := svc.CreateUser(ctx, crm.UserCreate{Email: "admin@example.com", Name: "نرگس احمدی",
		Password: "correct horse battery", Role: crm.RoleAdmin, Language: "fa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdatePreferences(ctx, admin.ID, crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: activity.New(db), Orders: orders, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	b := newBrowser(t, shots, 60*time.Second)
	do, eval, use, shot, fits, submit := b.do, b.eval, b.use, b.shot, b.fits, b.submit
	phone := viewport{360, 740, true}
	page := func() string { return eval(`document.body.dataset.page`) }

	do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/orders/new"),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	if page() != "order_form" {
		t.Fatalf("after sign-in: page %q", page())
	}
	do("fill the order",
		chromedp.SendKeys(chromedp.ID("customer"), "۰۹۱۲۳۴۵۶۷۸۹"),
		chromedp.SendKeys(chromedp.ID("first_name"), "علی"),
		chromedp.SendKeys(chromedp.ID("last_name"), "رضایی"),
		chromedp.SetValue(chromedp.ID("currency"), "IRR"),
		chromedp.SendKeys(chromedp.ID("store"), "شعبهٔ ونک"),
		chromedp.SendKeys(chromedp.ID("discount"), "۱۰٬۰۰۰"),
		chromedp.SendKeys(chromedp.CSS(`[name="lines.0.name"]`), "چای ممتاز"),
		chromedp.SendKeys(chromedp.CSS(`[name="lines.0.quantity"]`), "۳"),
		chromedp.SendKeys(chromedp.CSS(`[name="lines.0.unit_price"]`), "۵۰٬۰۰۰"),
		chromedp.SendKeys(chromedp.CSS(`[name="lines.1.name"]`), "لیوان"),
		chromedp.SendKeys(chromedp.CSS(`[name="lines.1.unit_price"]`), "۱۰۰٬۰۰۰"),
	)
	shot("fa-desktop-order-new")
	submit("save the order", `form[action="/orders"] button[type="submit"].button-primary`, 200)
	if page() != "order" {
		t.Fatalf("after saving: page %q", page())
	}
	body := eval(`document.body.innerText`)
	if !strings.Contains(body, "۲۴۰٬۰۰۰") || !strings.Contains(body, "علی رضایی") {
		t.Errorf("order page lacks the total or the customer:\n%s", body)
	}
	// Return one tea: a third of 150,000 less its share of the discount (6,000).
	do("return one", chromedp.SendKeys(chromedp.CSS(`input[name^="qty_"]`), "۱"))
	shot("fa-desktop-order")
	submit("return", `#return-form button[type="submit"]`, 200)
	if body := eval(`document.body.innerText`); !strings.Contains(body, "۴۸٬۰۰۰") {
		t.Errorf("the return does not show 48,000 refunded:\n%s", body)
	}
	do("phone order page", use(phone), chromedp.Reload())
	fits("order (phone)")
	shot("fa-phone-order")
	do("list", use(desktop), chromedp.Navigate(srv.URL+"/orders"))
	shot("fa-desktop-orders")
	do("phone list", use(phone), chromedp.Reload())
	fits("orders (phone)")
	shot("fa-phone-orders")
	do("new order on a phone", chromedp.Navigate(srv.URL+"/orders/new"))
	fits("order form (phone)")
	shot("fa-phone-order-new")
	do("the person", use(desktop), chromedp.Navigate(srv.URL+"/contacts"))
	href := eval(`document.querySelector(".person-link").getAttribute("href")`)
	do("the person's page", chromedp.Navigate(srv.URL+href))
	if tl := eval(`document.querySelector("#timeline").innerText`); !strings.Contains(tl, "۲۴۰٬۰۰۰") || !strings.Contains(tl, "۴۸٬۰۰۰") {
		t.Errorf("timeline lacks the order and the return:\n%s", tl)
	}
	shot("fa-desktop-person-timeline")
}
