package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/text"
	"github.com/pivand/pivand/internal/web"
)

// TestBrowser drives the real UI in headless Chromium: sign in, switch to
// Persian with the Jalali calendar, and check the right-to-left layout,
// the Jalali date and that nothing overflows a phone's width. Screenshots
// go to $PIVAND_SCREENSHOT_DIR (or a temporary directory) for people to
// look at. Without Chromium the test is skipped, unless
// PIVAND_TEST_BROWSER=require.
func TestBrowser(t *testing.T) {
	shots := requireChromium(t)

	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	if _, err := svc.CreateUser(context.Background(), crm.UserCreate{Email: "admin@example.com", Name: "Ada Admin",
		Password: "correct horse battery", Role: crm.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTeam(context.Background(), "Tehran office"); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Auth: svc, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	b := newBrowser(t, shots, 60*time.Second)
	do, eval, use, shot, fits := b.do, b.eval, b.use, b.shot, b.fits
	submit := func(step, selector string) { t.Helper(); b.submit(step, selector, 0) }
	phone := viewport{375, 812, true}

	// Sign in through the form.
	do("open sign-in", use(desktop), chromedp.Navigate(srv.URL+"/settings/preferences"))
	shot("en-desktop-signin")
	do("fill sign-in",
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
	)
	submit("sign in", `form[action="/signin"] button[type="submit"]`)
	if got := eval(`document.body.dataset.page`); got != "preferences" {
		t.Fatalf("after sign-in: page %q, want the preferences page (next=)", got)
	}

	do("dashboard", chromedp.Navigate(srv.URL+"/"))
	shot("en-desktop-dashboard")
	do("phone", use(phone), chromedp.Navigate(srv.URL+"/"))
	fits("en dashboard")
	shot("en-phone-dashboard")
	if got := eval(`getComputedStyle(document.getElementById("site-nav")).display`); got != "none" {
		t.Errorf("phone: the navigation is not collapsed (display %s)", got)
	}
	do("open the menu", chromedp.Click(chromedp.CSS("[data-nav-toggle]")))
	if got := eval(`document.querySelector("[data-nav-toggle]").getAttribute("aria-expanded")`); got != "true" {
		t.Errorf("nav toggle: aria-expanded %q", got)
	}
	fits("en dashboard, menu open")
	shot("en-phone-menu")

	// Switch to Persian with the Jalali calendar on the preferences page.
	do("preferences", use(desktop), chromedp.Navigate(srv.URL+"/settings/preferences"),
		chromedp.Click(chromedp.CSS(`input[name="language"][value="fa"]`)),
		chromedp.Click(chromedp.CSS(`input[name="calendar"][value="jalali"]`)),
		chromedp.Click(chromedp.CSS(`input[name="digits"][value="persian"]`)),
		chromedp.SetValue(chromedp.ID("time_zone"), "Asia/Tehran"),
	)
	submit("save preferences", `form[action="/settings/preferences"] button[type="submit"]`)
	if got := eval(`document.documentElement.dir`); got != "rtl" {
		t.Fatalf("after choosing فارسی: dir %q, want rtl", got)
	}
	shot("fa-desktop-preferences")

	tehran, err := time.LoadLocation("Asia/Tehran")
	if err != nil {
		t.Fatal(err)
	}
	year := text.ToPersianDigits(fmt.Sprint(text.ToJalali(time.Now().In(tehran)).Year))
	do("dashboard in Persian", chromedp.Navigate(srv.URL+"/"))
	if got := eval(`document.documentElement.dir`); got != "rtl" {
		t.Errorf("dashboard: dir %q, want rtl", got)
	}
	if got := eval(`document.body.innerText.includes(` + fmt.Sprintf("%q", year) + `) ? "yes" : document.body.innerText`); got != "yes" {
		t.Errorf("the Jalali year %s is not on the dashboard:\n%s", year, got)
	}
	shot("fa-desktop-dashboard")
	do("desktop users", chromedp.Navigate(srv.URL+"/settings/users"))
	fits("fa desktop users")
	shot("fa-desktop-users")

	for _, p := range []string{"/", "/settings/users", "/settings/audit", "/settings/preferences", "/settings/tokens", "/settings/teams"} {
		do("phone "+p, use(phone), chromedp.Navigate(srv.URL+p))
		fits("fa " + p)
	}
	do("phone dashboard", chromedp.Navigate(srv.URL+"/"))
	if got := eval(`document.documentElement.dir`); got != "rtl" {
		t.Errorf("phone: dir %q, want rtl", got)
	}
	shot("fa-phone-dashboard")
	do("phone users", chromedp.Navigate(srv.URL+"/settings/users"))
	shot("fa-phone-users")
	do("phone audit", chromedp.Navigate(srv.URL+"/settings/audit"))
	shot("fa-phone-audit")
	// Arabic, with a token just created: the secret and copy button.
	do("arabic", use(desktop), chromedp.Navigate(srv.URL+"/settings/tokens"))
	submitForm := `form[action="/language"] button[value="ar"]`
	submit("switch to Arabic", submitForm)
	if got := eval(`document.documentElement.lang + " " + document.documentElement.dir`); got != "ar rtl" {
		t.Errorf("after the language switcher: %q", got)
	}
	do("token form", chromedp.SendKeys(chromedp.ID("token-name"), "نموذج الموقع"))
	submit("create token", `form[action="/settings/tokens"] button[type="submit"]`)
	if got := eval(`document.getElementById("token-secret").value.slice(0, 4)`); got != "pvd_" {
		t.Errorf("token secret starts with %q", got)
	}
	shot("ar-desktop-tokens")
	do("phone tokens", use(phone), chromedp.Navigate(srv.URL+"/settings/tokens"))
	fits("ar tokens")
	shot("ar-phone-tokens")
	t.Logf("screenshots in %s", shots)
}
