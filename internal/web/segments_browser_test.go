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
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// TestSegmentEditorBrowser builds a segment with the rule editor in
// headless Chromium, in Persian and in English: adds a condition on tags
// (a free list), one on the language (checkboxes) inside an "any" group,
// and a relative date; sees the live count change after each step and a
// problem named beside an incomplete row; saves, and finds the segment's
// page with its members. Screenshots at desktop and phone width; no page
// wider than a phone. Skipped without Chromium unless
// PIVAND_TEST_BROWSER=require.
func TestSegmentEditorBrowser(t *testing.T) {
	shots := requireChromium(t)
	for _, lang := range []string{"fa", "en"} {
		t.Run(lang, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, store.SQLite)
			svc := auth.New(db, auth.Options{})
			contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
			admin, err := svc.CreateUser(ctx, crm.UserCreate{Email: "admin@example.com", Name: "نرگس احمدی", Password: "correct horse battery",
				Role: crm.RoleAdmin, Language: lang})
			if err != nil {
				t.Fatal(err)
			}
			prefs := crm.Preferences{Language: lang, Calendar: "gregorian", Digits: "latin", TimeZone: "UTC"}
			if lang == "fa" {
				prefs = crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}
			}
			if _, err := svc.UpdatePreferences(ctx, admin.ID, prefs); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				first, last, lang string
				tags              []string
			}{
				{"علی", "رضایی", "fa", []string{"vip"}}, {"سارا", "محمدی", "fa", nil}, {"Omid", "Karimi", "en", []string{"vip"}}, {"مریم", "احمدی", "ar", []string{"press"}},
			} {
				if _, err := contacts.CreateContact(ctx, &crm.Contact{FirstName: p.first, LastName: p.last, Language: p.lang, Tags: p.tags}, true); err != nil {
					t.Fatal(err)
				}
			}
			h, err := web.New(web.Options{Auth: svc, Contacts: contacts, Activity: activity.New(db), SegmentService: segment.New(db, segment.Options{}), Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()

			br := newBrowser(t, shots, 240*time.Second) // generous: the shared machine runs at a load of 20 and more
			do, eval, use, shot, fits, submit := br.do, br.eval, br.use, br.shot, br.fits, br.submit
			do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/segments/new"),
				chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
				chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
			submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
			if p := eval(`document.body.dataset.page`); p != "segment_form" {
				t.Fatalf("after sign-in: page %q", p)
			}
			wait := func(step, cond string) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for eval(`String(!!(`+cond+`))`) != "true" {
					if time.Now().After(deadline) {
						t.Fatalf("%s: %s never became true; count %q", step, cond, eval(`document.querySelector("[data-preview-count]").textContent`))
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
			count := `document.querySelector("[data-preview-count]").textContent`
			want := func(en, fa string) string {
				if lang == "fa" {
					return fa
				}
				return en
			}
			// The editor replaces the JSON field; no conditions: everyone.
			if eval(`String(document.querySelector("[data-rules-json]").hidden)`) != "true" {
				t.Fatal("the JSON field is still shown")
			}
			wait("everyone", count+` === "`+want("4 people", "۴ نفر")+`"`)
			do("name", chromedp.SendKeys(chromedp.ID("s-name"), want("VIP or Persian, new", "ویژه یا فارسی‌زبان، تازه")))

			// setSelect chooses value in the first select matching sel, as
			// a person would (a change event).
			setSelect := func(step, sel, value string) {
				t.Helper()
				if got := eval(`(function(){var s=document.querySelector(` + quote(sel) + `);if(!s)return "missing";s.value=` + quote(value) +
					`;s.dispatchEvent(new Event("change",{bubbles:true}));return s.value})()`); got != value {
					t.Fatalf("%s: %s", step, got)
				}
			}
			// 1. An "any" group: tags has vip, or language is fa.
			do("add group", chromedp.Click(chromedp.CSS(`.rule-root > .rule-group-foot button:nth-child(2)`)))
			setSelect("group match", `.rule-root > .rule-list > li.rule-group > .rule-group-head select`, "any")
			setSelect("field 1", `.rule-root > .rule-list > li.rule-group .rule-row select`, "tags")
			// An incomplete row is named beside it.
			wait("problem shown", `(function(){var e=document.querySelector(".rule-group .rule-row .field-error");return e&&!e.hidden&&e.textContent.length>0})()`)
			do("tag value", chromedp.SendKeys(chromedp.CSS(`.rule-group .rule-row input.rule-values`), "vip"))
			wait("vip", count+` === "`+want("2 people", "۲ نفر")+`"`)
			do("add condition in group", chromedp.Click(chromedp.CSS(`.rule-root > .rule-list > li.rule-group > .rule-group-foot button:first-child`)))
			eval(`(function(){var r=document.querySelectorAll(".rule-root > .rule-list > li.rule-group .rule-row");var s=r[1].querySelector("select");s.value="language";s.dispatchEvent(new Event("change",{bubbles:true}));return ""})()`)
			do("tick fa", chromedp.Click(chromedp.CSS(`.rule-root > .rule-list > li.rule-group .rule-row:nth-child(2) .rule-choices input[value="fa"]`)))
			wait("vip or fa", count+` === "`+want("3 people", "۳ نفر")+`"`)
			// 2. Added in the last 30 days (everyone here is new).
			do("add condition", chromedp.Click(chromedp.CSS(`.rule-root > .rule-group-foot button:first-child`)))
			setSelect("field 2", `.rule-root > .rule-list > li.rule-row select`, "created")
			wait("created", count+` === "`+want("3 people", "۳ نفر")+`"`)
			if got := eval(`document.querySelector(".rule-root > .rule-list > li.rule-row input.rule-amount").value`); got != "30" {
				t.Errorf("the relative date's amount is %q", got)
			}
			wait("sample", `document.querySelectorAll("[data-preview-sample] li a").length === 3`)
			fits("the editor")
			shot(lang + "-desktop-segment-editor")
			phone := viewport{390, 800, true}
			do("phone", use(phone))
			fits("the editor on a phone")
			shot(lang + "-phone-segment-editor")
			do("desktop", use(desktop))

			submit("save", `.segment-form > .actions button[type="submit"]`, 200)
			if p := eval(`document.body.dataset.page`); p != "segment" {
				t.Fatalf("after save: page %q: %s", p, eval(`document.querySelector("main").innerText.slice(0,300)`))
			}
			body := eval(`document.querySelector("main").innerText`)
			for _, w := range []string{want("3 people", "۳ نفر"), "علی", "سارا", "Omid"} {
				if !strings.Contains(body, w) {
					t.Errorf("the segment's page lacks %q", w)
				}
			}
			if strings.Contains(body, "مریم") {
				t.Error("the segment's page lists Maryam, who matches neither")
			}
			fits("the segment's page")
			shot(lang + "-desktop-segment")

			// The people list filtered by the segment.
			submit("people list", `a[href^="/contacts?in_segment="]`, 200)
			if n := eval(`String(document.querySelectorAll(".contacts-table tbody tr").length)`); n != "3" {
				t.Errorf("the filtered people list has %s rows", n)
			}
			shot(lang + "-desktop-people-in-segment")

			// A list, filled by typing.
			do("new list", chromedp.Navigate(srv.URL+"/segments/new?kind=static"),
				chromedp.SendKeys(chromedp.ID("s-name"), want("Fair visitors", "بازدیدکنندگان نمایشگاه")))
			submit("save list", `.segment-form > .actions button[type="submit"]`, 200)
			do("type people", chromedp.SendKeys(chromedp.ID("l-people"), "nobody@example.com\n0912 000 0000"))
			submit("add people", `form.list-add button[type="submit"]`, 200)
			if got := eval(`String(document.querySelectorAll(".report-rows li").length)`); got != "2" {
				t.Errorf("the report lists %s rows", got)
			}
			fits("the list's page")
			shot(lang + "-desktop-list")
		})
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }
