package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
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

const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the real UI in headless Chromium: sign in, switch to
// Persian with the Jalali calendar, and check the right-to-left layout,
// the Jalali date and that nothing overflows a phone's width. Screenshots
// go to $PIVAND_SCREENSHOT_DIR (or a temporary directory) for people to
// look at. Without Chromium the test is skipped, unless
// PIVAND_TEST_BROWSER=require.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("PIVAND_TEST_BROWSER") == "require" {
			t.Fatalf("PIVAND_TEST_BROWSER=require but %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s not found; set PIVAND_TEST_BROWSER=require to make this an error", chromiumPath)
	}
	shots := os.Getenv("PIVAND_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

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

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(alloc)
	defer cancelTab()

	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	// submit clicks a submit button and waits for the next page to load.
	submit := func(step, selector string) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(selector)))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if resp.Status >= 400 {
			t.Fatalf("%s: status %d", step, resp.Status)
		}
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return s
	}
	// The viewport is set with EmulateViewport. Phones get mobile emulation
	// at 375×812 CSS pixels, drawn at twice the density.
	type viewport struct {
		w, h   int64
		mobile bool
	}
	var current viewport
	emulate := func(v viewport, h int64) chromedp.Action[chromedp.Void] {
		if v.mobile {
			return chromedp.EmulateViewport(v.w, h, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))
		}
		return chromedp.EmulateViewport(v.w, h)
	}
	use := func(v viewport) chromedp.Action[chromedp.Void] {
		current = v
		return emulate(v, v.h)
	}
	desktop, phone := viewport{1280, 900, false}, viewport{375, 812, true}
	// shot saves a full-page screenshot. It grows the viewport to the
	// page's height and captures that, rather than using FullScreenshot:
	// Chromium's capture beyond the viewport leaves scrolling tables blank.
	shot := func(name string) {
		t.Helper()
		height, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollHeight`))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		do("grow viewport", emulate(current, max(height, current.h)))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		do("restore viewport", emulate(current, current.h))
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// fits reports the widths when the page is wider than the viewport.
	fits := func(page string) {
		t.Helper()
		if got := eval(`(document.documentElement.scrollWidth <= window.innerWidth) ? "" :
			document.documentElement.scrollWidth + " > " + window.innerWidth`); got != "" {
			t.Errorf("%s overflows the viewport: %s", page, got)
		}
	}

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
