package web_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// TestImportBrowser drives the CSV import in headless Chromium, in the
// Persian UI: upload a file with Persian headers, check the mapping page
// (the detected fields, sample values), start a dry run, watch the
// progress page (JavaScript polling) reach «انجام شد» once the job
// runner starts, read the problems by line, run it for real, and find the
// people in the list. Screenshots at desktop and phone width, in Persian
// and English, go to $PIVAND_SCREENSHOT_DIR when set. Skipped without
// Chromium unless PIVAND_TEST_BROWSER=require.
func TestImportBrowser(t *testing.T) {
	shots := requireChromium(t)

	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	svc := auth.New(db, auth.Options{})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	acts := activity.New(db)
	admin, err := svc.CreateUser(ctx, crm.UserCreate{Email: "admin@example.com", Name: "نرگس احمدی",
		Password: "correct horse battery", Role: crm.RoleAdmin, Language: "fa"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdatePreferences(ctx, admin.ID, crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}); err != nil {
		t.Fatal(err)
	}
	if _, err := contacts.CreateCustomField(ctx, &crm.CustomField{Entity: "contact", Key: "vip", Label: "سطح مشتری", Type: crm.FieldSelect,
		Options: []string{"طلایی", "نقره‌ای"}}); err != nil {
		t.Fatal(err)
	}
	// Someone already stored, whom the file repeats.
	if _, err := contacts.CreateContact(ctx, &crm.Contact{FirstName: "مریم", LastName: "کاظمی",
		Phones: []crm.Labeled{{Value: "09351234567"}}}, false); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: acts, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	file := filepath.Join(t.TempDir(), "مشتریان-نمایشگاه.csv")
	csv := "نام,نام خانوادگی,موبایل,ایمیل,شهر,تاریخ تولد,شرکت,توضیحات\n" +
		"علی,رضایی,۰۹۱۲۱۱۱۲۲۳۳,ali@example.com,تهران,۱۳۶۹/۰۱/۰۱,بازرگانی پارس,از نمایشگاه\n" +
		"سارا,کریمی,0912 444 5566,sara@,شیراز,,,\n" +
		"مریم,کاظمی,09351234567,maryam@example.com,اصفهان,1365/07/12,,مشتری قدیمی\n" +
		"رضا,محمدی,+971501234567,reza@example.ae,دبی,1988-02-28,Gulf Trading LLC,\n" +
		"نیما,احمدی,09123334455,nima@example.com,تبریز,1370/11/22,,\n"
	if err := os.WriteFile(file, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, shots, 90*time.Second)
	bctx := b.ctx
	do, eval, use, shot, fits := b.do, b.eval, b.use, b.shot, b.fits
	submit := b.submit
	phone := viewport{360, 740, true}
	page := func() string { return eval(`document.body.dataset.page`) }
	// waitFinished waits until the progress page, polling on its own,
	// has reloaded into the report.
	waitFinished := func(step string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			// The page navigates when it reloads; an evaluation cut short by
			// that is simply tried again.
			ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.readyState === "complete" && document.querySelector("[data-finished]") !== null`))
			if err == nil && ok {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: the progress page did not reach the report (status %q)", step,
			eval(`(document.querySelector("[data-import-status]")||{}).textContent||""`))
	}

	// Sign in on the way to the upload form; the user works in Persian.
	do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/contacts/import"),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	if page() != "import_upload" || eval(`document.documentElement.dir`) != "rtl" {
		t.Fatalf("after sign-in: page %q dir %q", page(), eval(`document.documentElement.dir`))
	}
	shot("fa-desktop-import-upload")

	// Upload: the mapping page shows what each Persian header was taken for.
	do("choose the file", chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}))
	submit("upload", "#import-upload", 200)
	if page() != "import_mapping" {
		t.Fatalf("after upload: page %q: %s", page(), eval(`document.querySelector("main").innerText`))
	}
	if got := eval(`Array.from(document.querySelectorAll('select[name="col"]')).map(s => s.value).join(",")`); got != "first_name,last_name,phone,email,city,birthday,company,notes" {
		t.Errorf("detected mapping %q", got)
	}
	if got := eval(`document.getElementById("import-preset").textContent`); !strings.Contains(got, "صفحه‌گستردهٔ ساده") {
		t.Errorf("preset %q", got)
	}
	if got := eval(`document.querySelector(".samples").textContent`); !strings.Contains(got, "علی") {
		t.Errorf("samples %q", got)
	}
	shot("fa-desktop-import-mapping")
	do("phone mapping", use(phone))
	fits("fa phone mapping")
	shot("fa-phone-import-mapping")
	do("back to desktop", use(desktop))

	// A dry run first. No job runner yet: the page waits, then follows the
	// import on its own once the runner starts.
	do("dry run", chromedp.Click(chromedp.ID("import-dry-run")))
	submit("start the dry run", "#import-start", 200)
	if page() != "import" || eval(`document.querySelector("[data-import-status]").textContent`) != "در صف" {
		t.Fatalf("progress page %q status %q", page(), eval(`(document.querySelector("[data-import-status]")||{}).textContent`))
	}
	if eval(`String(document.querySelector("[data-import-refresh]").hidden)`) != "true" {
		t.Error("the Refresh button shows though the page refreshes itself")
	}
	shot("fa-desktop-import-pending")
	runner := jobs.NewRunner(db, slog.New(slog.DiscardHandler), jobs.Options{PollInterval: 200 * time.Millisecond})
	contacts.RegisterJobs(runner)
	rctx, stopRunner := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { runner.Run(rctx); close(done) }()
	defer func() { stopRunner(); <-done }()
	waitFinished("dry run")
	if got := eval(`document.querySelector("[data-import-status]").textContent`); got != "انجام شد" {
		t.Errorf("dry run status %q", got)
	}
	if got := eval(`document.querySelector('[data-import-field="created"]').textContent`); got != "۳" {
		t.Errorf("would be created: %q", got)
	}
	// The problems name their lines: Sara's email on line 3, Maryam (stored already) on line 4.
	lines := eval(`Array.from(document.querySelectorAll(".problems-table tbody tr td:first-child")).map(td => td.textContent).join(",")`)
	if lines != "۳,۴" {
		t.Errorf("problem lines %q", lines)
	}
	if n, _, _ := contacts.ListContacts(ctx, crm.ContactFilter{Limit: 10}); len(n) != 1 {
		t.Errorf("the dry run wrote people: %d stored", len(n))
	}
	shot("fa-desktop-import-dry-run")
	do("phone report", use(phone))
	fits("fa phone report")
	shot("fa-phone-import-dry-run")
	do("back to desktop", use(desktop))

	// Run it for real, and find the people.
	submit("run it for real", "#import-run", 200)
	waitFinished("real run")
	if got := eval(`document.querySelector('[data-import-field="created"]').textContent`); got != "۳" {
		t.Errorf("created: %q", got)
	}
	shot("fa-desktop-import-done")
	do("the list", chromedp.Navigate(srv.URL+"/contacts"))
	names := eval(`document.querySelector(".contacts-table").innerText`)
	for _, n := range []string{"علی رضایی", "رضا محمدی", "نیما احمدی", "مریم کاظمی"} {
		if !strings.Contains(names, n) {
			t.Errorf("%s is not in the list", n)
		}
	}
	if strings.Contains(names, "سارا") {
		t.Error("the row with a bad email was imported")
	}
	shot("fa-desktop-contacts-after-import")
	do("imports list", chromedp.Navigate(srv.URL+"/contacts/imports"))
	shot("fa-desktop-imports")
	do("phone imports list", use(phone))
	fits("fa phone imports")
	do("back to desktop", use(desktop))

	// English.
	do("english", chromedp.Navigate(srv.URL+"/contacts/imports"))
	submit("switch to English", `form[action="/language"] button[value="en"]`, 200)
	shot("en-desktop-imports")
	do("english report", chromedp.Navigate(srv.URL+"/contacts/imports/1"))
	if got := eval(`document.documentElement.lang + " " + document.documentElement.dir`); got != "en ltr" {
		t.Errorf("after switching: %q", got)
	}
	shot("en-desktop-import-dry-run")
	do("english upload", chromedp.Navigate(srv.URL+"/contacts/import"),
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}))
	submit("english upload", "#import-upload", 200)
	shot("en-desktop-import-mapping")
	do("english phone", use(phone))
	fits("en phone mapping")
	shot("en-phone-import-mapping")
	t.Logf("screenshots in %s", shots)
}
