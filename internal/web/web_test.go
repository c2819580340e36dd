package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/text"
)

func TestSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)

		t.Run("ok", func(t *testing.T) {
			c := app.client(t)
			c.signIn("admin@example.com")
			r := c.get("/")
			mustStatus(t, r, http.StatusOK)
			mustContain(t, r, `data-page="dashboard"`, "admin", `dir="ltr"`)
		})
		t.Run("wrong password", func(t *testing.T) {
			c := app.client(t)
			r := c.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {"not the password"}})
			mustStatus(t, r, http.StatusUnauthorized)
			mustContain(t, r, "Email or password is wrong.", `value="admin@example.com"`)
			if strings.Contains(r.body, "not the password") {
				t.Error("the password was echoed back")
			}
		})
		t.Run("rate limit", func(t *testing.T) {
			c := app.client(t)
			c.get("/signin")
			var r response
			for range 6 {
				r = c.post("/signin", "/signin", url.Values{"email": {"limited@example.com"}, "password": {"wrong password"}})
			}
			mustStatus(t, r, http.StatusTooManyRequests)
			mustContain(t, r, "Too many failed attempts")
		})
		t.Run("sign out", func(t *testing.T) {
			c := app.client(t)
			c.signIn("admin@example.com")
			r := c.post("/signout", "/", nil)
			mustStatus(t, r, http.StatusSeeOther)
			r = c.get("/settings/preferences")
			mustStatus(t, r, http.StatusSeeOther)
		})
	})
}

func TestCSRF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)

		c := app.client(t)
		token := c.csrf("/signin")
		form := url.Values{"email": {"admin@example.com"}, "password": {testPassword}, "csrf": {token}}

		r := c.post("/signin", "", form, "Sec-Fetch-Site", "cross-site")
		mustStatus(t, r, http.StatusForbidden)
		r = c.post("/signin", "", form, "Origin", "https://evil.example")
		mustStatus(t, r, http.StatusForbidden)
		r = c.post("/signin", "", url.Values{"email": {"admin@example.com"}, "password": {testPassword}, "csrf": {""}})
		mustStatus(t, r, http.StatusForbidden)
		r = c.post("/signin", "", url.Values{"email": {"admin@example.com"}, "password": {testPassword}, "csrf": {"x" + token}})
		mustStatus(t, r, http.StatusForbidden)
		// A fresh browser without the CSRF cookie cannot post either.
		r = app.client(t).post("/signin", "", form)
		mustStatus(t, r, http.StatusForbidden)

		// Signed in: the session's token is required.
		c.signIn("admin@example.com")
		prefs := url.Values{"language": {"fa"}, "calendar": {"jalali"}, "digits": {"persian"}, "time_zone": {"Asia/Tehran"}}
		r = c.post("/settings/preferences", "", prefs)
		mustStatus(t, r, http.StatusForbidden)
		mustContain(t, r, "This form has expired")
		prefs.Set("csrf", token) // the pre-sign-in token is no longer valid
		r = c.post("/settings/preferences", "", prefs)
		mustStatus(t, r, http.StatusForbidden)
		prefs.Del("csrf")
		r = c.post("/settings/preferences", "/settings/preferences", prefs, "Sec-Fetch-Site", "same-origin")
		mustStatus(t, r, http.StatusSeeOther)
	})
}

func TestSetup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "K7QX-29TB")
		c := app.client(t)

		r := c.get("/")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="welcome"`, `href="/setup"`, "pivand user create --data DIR --email E --password P --role admin")
		r = c.get("/signin")
		mustContain(t, r, `href="/setup"`, "pivand user create")

		form := url.Values{"code": {"WRONG-CODE"}, "email": {"owner@example.com"}, "name": {"Owner"},
			"password": {testPassword}, "password_confirm": {testPassword}}
		r = c.post("/setup", "/setup", form)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "This setup code is wrong", `value="owner@example.com"`, `aria-invalid="true"`)

		form.Set("code", "k7qx 29tb") // case, spaces and dashes do not matter
		form.Set("password", "short")
		form.Set("password_confirm", "short")
		r = c.post("/setup", "/setup", form)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Password must be at least 10 characters.")

		form.Set("password", testPassword)
		form.Set("password_confirm", testPassword)
		r = c.post("/setup", "/setup", form)
		mustStatus(t, r, http.StatusSeeOther)
		if app.setup != 1 {
			t.Errorf("SetupDone called %d times", app.setup)
		}
		r = c.get(r.location())
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `data-page="dashboard"`, "Owner", "Pivand is ready")

		mustStatus(t, c.get("/setup"), http.StatusNotFound)
		form.Set("code", "K7QX-29TB")
		form.Del("csrf")
		mustStatus(t, c.post("/setup", "/", form), http.StatusNotFound)
		r = app.client(t).get("/")
		mustStatus(t, r, http.StatusSeeOther)
	})
}

func TestSetupClosedWithoutCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		c := app.client(t)
		mustStatus(t, c.get("/setup"), http.StatusNotFound)
		r := c.get("/")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "pivand user create")
		if strings.Contains(r.body, `href="/setup"`) {
			t.Error("links to a closed setup page")
		}
	})
}

func TestSignedOutRedirect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := app.client(t)
		for _, p := range []string{"/settings/preferences", "/settings/users", "/settings/audit?action=user.create"} {
			r := c.get(p)
			mustStatus(t, r, http.StatusSeeOther)
			if want := "/signin?next=" + url.QueryEscape(p); r.location() != want {
				t.Errorf("GET %s: location %q, want %q", p, r.location(), want)
			}
		}
		mustStatus(t, c.get("/"), http.StatusSeeOther)

		// After signing in, next brings the user back, but only to a local path.
		for next, want := range map[string]string{
			"/settings/teams":        "/settings/teams",
			"//evil.example/x":       "/",
			"https://evil.example/x": "/",
			"/\\evil.example":        "/",
		} {
			c := app.client(t)
			r := c.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {testPassword}, "next": {next}})
			mustStatus(t, r, http.StatusSeeOther)
			if r.location() != want {
				t.Errorf("next %q: location %q, want %q", next, r.location(), want)
			}
		}
	})
}

func TestPreferencesSwitchToPersian(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := app.client(t)
		c.signIn("admin@example.com")

		r := c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {"fa"}, "calendar": {"jalali"},
			"digits": {"persian"}, "time_zone": {"UTC"}, "time_zone_other": {"Asia/Tehran"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get(r.location())
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `<html lang="fa" dir="rtl">`, "ترجیحات ذخیره شد.", `value="Asia/Tehran" selected`)

		tehran, _ := time.LoadLocation("Asia/Tehran")
		year := text.ToPersianDigits(time.Now().In(tehran).Format("2006"))
		jy := text.ToPersianDigits(strings.TrimLeft(text.FormatDate(time.Now().In(tehran), "jalali")[:4], "0"))
		r = c.get("/")
		mustContain(t, r, `dir="rtl"`, "امروز", jy)
		if strings.Contains(r.body, "امروز "+year) {
			t.Errorf("the dashboard shows the Gregorian year %s", year)
		}

		// A bad time zone re-renders the form with the error and the input kept.
		r = c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {"fa"}, "calendar": {"jalali"},
			"digits": {"persian"}, "time_zone": {"UTC"}, "time_zone_other": {"Asia/Atlantis"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "منطقهٔ زمانی ناشناخته است", `value="Asia/Atlantis"`)
	})
}

func TestLanguageSwitcher(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)

		// Visitors: a cookie.
		c := app.client(t)
		r := c.post("/language", "/signin", url.Values{"lang": {"ar"}, "next": {"/signin"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get("/signin")
		mustContain(t, r, `<html lang="ar" dir="rtl">`, "تسجيل الدخول")

		// Signed in: the preference, with the language's calendar and digits
		// while the user had not chosen others.
		c = app.client(t)
		c.signIn("admin@example.com")
		r = c.post("/language", "/settings/teams", url.Values{"lang": {"fa"}, "next": {"/settings/teams"}})
		mustStatus(t, r, http.StatusSeeOther)
		if r.location() != "/settings/teams" {
			t.Errorf("location %q", r.location())
		}
		u, err := app.auth.ListUsers(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if p := u[0].Preferences; p.Language != "fa" || p.Calendar != "jalali" || p.Digits != "persian" {
			t.Errorf("preferences after switching: %+v", p)
		}
	})
}

func TestInviteFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		admin := app.client(t)
		admin.signIn("admin@example.com")

		r := admin.post("/settings/users/invite", "/settings/users", url.Values{"email": {"not an email"}, "role": {"sales"}},
			"Referer", app.srv.URL+"/settings/users")
		mustStatus(t, r, http.StatusUnprocessableEntity)
		// The language switcher on the re-rendered form returns to the page
		// the form came from, not to the POST-only address.
		mustContain(t, r, `value="not an email"`, `aria-invalid="true"`, `name="next" value="/settings/users"`)

		r = admin.post("/settings/users/invite", "/settings/users", url.Values{"email": {"new@example.com"}, "role": {"support"}})
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "cannot send email yet", `data-copy="invite-link"`)
		m := regexp.MustCompile(`id="invite-link" type="text" dir="ltr" readonly value="([^"]+)"`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatal("no invite link on the page")
		}
		link, err := url.Parse(m[1])
		if err != nil {
			t.Fatal(err)
		}
		r = admin.get("/settings/users")
		mustContain(t, r, "new@example.com")

		guest := app.client(t)
		r = guest.get(link.Path)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "new@example.com", "Support")
		r = guest.post(link.Path, link.Path, url.Values{"name": {"Nasrin"}, "password": {testPassword}, "password_confirm": {"something else"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "The two passwords do not match.", `value="Nasrin"`)
		r = guest.post(link.Path, link.Path, url.Values{"name": {"Nasrin"}, "password": {testPassword}, "password_confirm": {testPassword}})
		mustStatus(t, r, http.StatusSeeOther)
		r = guest.get(r.location())
		mustContain(t, r, "Nasrin", "Welcome! Your account is ready.")

		// The link works once.
		r = app.client(t).get(link.Path)
		mustStatus(t, r, http.StatusNotFound)
		mustContain(t, r, "not valid any more")
	})
}

func TestUsersAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		admin := app.createUser("admin@example.com", crm.RoleAdmin)
		sales := app.createUser("sales@example.com", crm.RoleSales)
		c := app.client(t)
		c.signIn("admin@example.com")

		r := c.post("/settings/users/"+itoa(sales.ID)+"/role", "/settings/users", url.Values{"role": {"manager"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.post("/settings/users/"+itoa(sales.ID)+"/active", "/settings/users", url.Values{"active": {"false"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get(r.location())
		mustContain(t, r, "User deactivated", "Deactivated", "Reactivate")

		// The last admin cannot be demoted.
		r = c.post("/settings/users/"+itoa(admin.ID)+"/role", "/settings/users", url.Values{"role": {"sales"}})
		mustStatus(t, r, http.StatusConflict)
		mustContain(t, r, "without an active admin")
	})
}

func TestForbiddenForNonAdmin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		app.createUser("sales@example.com", crm.RoleSales)
		c := app.client(t)
		c.signIn("sales@example.com")
		for _, p := range []string{"/settings/users", "/settings/audit"} {
			r := c.get(p)
			mustStatus(t, r, http.StatusForbidden)
			mustContain(t, r, "Your role does not allow this page.")
		}
		mustStatus(t, c.post("/settings/teams", "/settings/teams", url.Values{"name": {"Sneaky"}}), http.StatusForbidden)
		r := c.get("/")
		mustStatus(t, r, http.StatusOK)
		if strings.Contains(r.body, `href="/settings/users"`) {
			t.Error("the dashboard links a sales user to the users page")
		}
		r = c.get("/settings/teams")
		mustStatus(t, r, http.StatusOK)
		if strings.Contains(r.body, `action="/settings/teams"`) {
			t.Error("a sales user sees the new-team form")
		}
	})
}

func TestTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("sales@example.com", crm.RoleSales)
		c := app.client(t)
		c.signIn("sales@example.com")

		r := c.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"Website form"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Choose at least one kind of access.", `value="Website form"`)

		r = c.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"Website form"}, "scope": {"read", "write"}})
		mustStatus(t, r, http.StatusOK)
		m := regexp.MustCompile(`value="(pvd_[A-Za-z0-9_-]{43})"`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("no secret on the page:\n%s", r.body)
		}
		if _, _, err := app.auth.AuthenticateToken(t.Context(), m[1]); err != nil {
			t.Fatalf("the shown secret does not authenticate: %v", err)
		}
		r = c.get("/settings/tokens")
		mustContain(t, r, "Website form", m[1][:8])
		if strings.Contains(r.body, m[1]) {
			t.Error("the secret is shown again")
		}
		id := regexp.MustCompile(`/settings/tokens/(\d+)/revoke`).FindStringSubmatch(r.body)
		if id == nil {
			t.Fatal("no revoke form")
		}
		r = c.post("/settings/tokens/"+id[1]+"/revoke", "/settings/tokens", nil)
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get(r.location())
		mustContain(t, r, "Token revoked.", "Revoked ")
		if _, _, err := app.auth.AuthenticateToken(t.Context(), m[1]); crm.ErrorCode(err) != crm.EUNAUTHORIZED {
			t.Errorf("revoked token still works: %v", err)
		}
	})
}

func TestTeams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		admin := app.createUser("admin@example.com", crm.RoleAdmin)
		sales := app.createUser("sales@example.com", crm.RoleSales)
		c := app.client(t)
		c.signIn("admin@example.com")

		mustStatus(t, c.post("/settings/teams", "/settings/teams", url.Values{"name": {"Tehran office"}}), http.StatusSeeOther)
		r := c.post("/settings/teams", "/settings/teams", url.Values{"name": {"Tehran office"}})
		mustStatus(t, r, http.StatusConflict)
		mustContain(t, r, "A team with this name already exists.")

		r = c.get("/settings/teams")
		id := regexp.MustCompile(`/settings/teams/(\d+)/members`).FindStringSubmatch(r.body)
		if id == nil {
			t.Fatal("no members form")
		}
		r = c.post("/settings/teams/"+id[1]+"/members", "/settings/teams", url.Values{"member": {itoa(admin.ID), itoa(sales.ID)}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get("/")
		mustContain(t, r, "Tehran office")
		r = c.post("/settings/teams/"+id[1]+"/delete", "/settings/teams", nil)
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get(r.location())
		mustContain(t, r, "Team deleted.", "There are no teams yet.")
	})
}

func TestAuditFilterJalali(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := app.client(t)
		c.signIn("admin@example.com")
		mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {"fa"}, "calendar": {"jalali"},
			"digits": {"persian"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)

		tehran, _ := time.LoadLocation("Asia/Tehran")
		now := time.Now().In(tehran)
		today := text.FormatDate(now, "jalali") // 1404-01-01
		tomorrow := text.FormatDate(now.AddDate(0, 0, 1), "jalali")
		persian := func(s string) string { return text.ToPersianDigits(strings.ReplaceAll(s, "-", "/")) }
		arabic := func(s string) string { return text.ToArabicDigits(strings.ReplaceAll(s, "-", "/")) }

		r := c.get("/settings/audit?" + url.Values{"from": {persian(today)}, "to": {arabic(today)}, "action": {"user.signin"}}.Encode())
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "user.signin", "ورود به سامانه", persian(today))
		r = c.get("/settings/audit?" + url.Values{"from": {persian(tomorrow)}}.Encode())
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "رویدادی یافت نشد.")
		r = c.get("/settings/audit?" + url.Values{"from": {"۱۴۰۴/۱۳/۰۱"}, "to": {"yesterday"}}.Encode())
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="from-error"`, `id="to-error"`, `value="۱۴۰۴/۱۳/۰۱"`)
		r = c.get("/settings/audit?" + url.Values{"from": {persian(tomorrow)}, "to": {persian(today)}}.Encode())
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "تاریخ پایان پیش از تاریخ آغاز است.")
	})
}

func TestAuditPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		for i := range auditPageSize + 5 {
			if _, err := app.auth.CreateTeam(t.Context(), "Team "+itoa(int64(i))); err != nil {
				t.Fatal(err)
			}
		}
		c := app.client(t)
		c.signIn("admin@example.com")
		r := c.get("/settings/audit?action=team.create")
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, "<code class=\"muted\">team.create</code>"); n != auditPageSize {
			t.Errorf("first page has %d entries, want %d", n, auditPageSize)
		}
		next := regexp.MustCompile(`href="(/settings/audit\?[^"]+)" rel="next"`).FindStringSubmatch(r.body)
		if next == nil {
			t.Fatal("no next link")
		}
		r = c.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, "<code class=\"muted\">team.create</code>"); n != 5 {
			t.Errorf("second page has %d entries, want 5", n)
		}
		mustContain(t, r, "Newest entries")
	})
}

func TestErrorPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := app.client(t)
		r := c.get("/no/such/page")
		mustStatus(t, r, http.StatusNotFound)
		mustContain(t, r, `data-page="error"`, "There is no page at this address.")
		c.signIn("admin@example.com")
		mustStatus(t, c.post("/settings/tokens/999999/revoke", "/settings/tokens", nil), http.StatusNotFound)
		mustStatus(t, c.get("/settings/tokens/abc/revoke"), http.StatusNotFound)
	})
}

// TestEveryPageEveryLanguage renders every page template in English,
// Persian and Arabic and fails on a missing catalog key (⟦key⟧).
func TestEveryPageEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// Before any user exists: the welcome and setup pages.
		fresh := newTestApp(t, storetest.Open(t, db.Dialect()), "SETUP-CODE")
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		seed := seedContacts(t, app, db)
		token, _, err := app.auth.Invite(t.Context(), "guest@example.com", crm.RoleMarketing)
		if err != nil {
			t.Fatal(err)
		}
		clubs := newClubApp(t, storetest.Open(t, db.Dialect()))
		seen := map[string]bool{}
		check := func(t *testing.T, lang, path string, r response) {
			t.Helper()
			if i := strings.Index(r.body, locale.MissingMark); i >= 0 {
				t.Errorf("%s %s: missing catalog key near %q", lang, path, r.body[i:min(len(r.body), i+60)])
			}
			dir := "ltr"
			if lang != "en" {
				dir = "rtl"
			}
			mustContain(t, r, `<html lang="`+lang+`" dir="`+dir+`">`)
			if m := regexp.MustCompile(`data-page="([a-z_]+)"`).FindStringSubmatch(r.body); m != nil {
				seen[m[1]] = true
			} else {
				t.Errorf("%s %s: status %d, not a page", lang, path, r.status)
			}
		}
		for _, l := range locale.Languages {
			t.Run(l.Code, func(t *testing.T) {
				visitor := fresh.client(t)
				visitor.post("/language", "/signin", url.Values{"lang": {l.Code}, "next": {"/"}})
				for _, p := range []string{"/", "/signin", "/setup"} {
					check(t, l.Code, p, visitor.get(p))
				}
				check(t, l.Code, "/setup (error)", visitor.post("/setup", "/setup", url.Values{"code": {"nope"}}))

				guest := app.client(t)
				guest.post("/language", "/signin", url.Values{"lang": {l.Code}, "next": {"/"}})
				check(t, l.Code, "/invite", guest.get("/invite/"+token))
				check(t, l.Code, "/signin (error)", guest.post("/signin", "/signin", url.Values{"email": {"x@example.com"}, "password": {"wrong password"}}))

				c := app.client(t)
				c.signIn("admin@example.com")
				mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {l.Code},
					"calendar": {"jalali"}, "digits": {"arabic"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
				for _, p := range []string{"/", "/settings/preferences", "/settings/password", "/settings/tokens",
					"/settings/users", "/settings/teams", "/settings/audit", "/settings/audit?from=bad", "/nowhere"} {
					check(t, l.Code, p, c.get(p))
				}
				check(t, l.Code, "token created", c.post("/settings/tokens", "/settings/tokens", url.Values{"name": {"T"}, "scope": {"read"}}))
				check(t, l.Code, "invite created", c.post("/settings/users/invite", "/settings/users", url.Values{"email": {l.Code + "@example.com"}, "role": {"sales"}}))
				check(t, l.Code, "password error", c.post("/settings/password", "/settings/password", url.Values{"current_password": {"x"}, "new_password": {"short"}, "new_password_confirm": {"short"}}))
				for _, pr := range contactPages(t, c, seed) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range orderPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range clubPages(t, clubs, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range reportPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range analyticsPages(t, storetest.Open(t, db.Dialect()), l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range salesPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range servicePages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range webhookPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range segmentPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range campaignPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range leadformPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
				for _, pr := range workflowPages(t, db, l.Code) {
					check(t, l.Code, pr.path, pr.r)
				}
			})
		}
		// The member's own card page is in the member's language (Persian).
		check(t, "fa", "/m/", clubs.client(t).get("/m/"+clubs.token))
		pages, err := fs.Glob(embedded, "templates/pages/*.html")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if name := strings.TrimSuffix(path.Base(p), ".html"); !seen[name] {
				t.Errorf("page template %s was never rendered by this test; add its URL", name)
			}
		}
	})
}

// TestTemplateKeysExist checks the literal catalog keys in templates, so a
// typo fails even on a branch the rendering test does not reach.
func TestTemplateKeysExist(t *testing.T) {
	re := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	err := fs.WalkDir(embedded, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !locale.HasKey(m[1]) {
				t.Errorf("%s: unknown catalog key %q", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, items := range [][]navItem{mainNav, settingsNav, contactsNav, contactsSettingsNav} {
		for _, it := range items {
			if !locale.HasKey(it.Key) {
				t.Errorf("navigation: unknown key %q", it.Key)
			}
		}
	}
	for _, m := range modules {
		if !locale.HasKey(m.key) {
			t.Errorf("modules: unknown key %q", m.key)
		}
	}
	for _, code := range []string{crm.ECONFLICT, crm.EINVALID, crm.ENOTFOUND, crm.EUNAUTHORIZED, crm.EFORBIDDEN,
		crm.ETOOMANY, crm.ETOOLARGE, crm.EUNAVAILABLE, crm.EINTERNAL} {
		for _, prefix := range []string{"error.heading.", "error.code."} {
			if !locale.HasKey(prefix + code) {
				t.Errorf("missing %s%s", prefix, code)
			}
		}
	}
	for _, r := range crm.Roles {
		if !locale.HasKey("role." + string(r)) {
			t.Errorf("missing role.%s", r)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		c := app.client(t)
		r := c.get("/signin")
		m := regexp.MustCompile(`href="(/static/[0-9a-f]{12}/app\.css)"`).FindStringSubmatch(r.body)
		if m == nil {
			t.Fatal("no hashed app.css link")
		}
		r = c.get(m[1])
		mustStatus(t, r, http.StatusOK)
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("Cache-Control %q", cc)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type %q", ct)
		}
		r = c.get("/static/000000000000/app.css")
		mustStatus(t, r, http.StatusOK)
		if cc := r.header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
			t.Errorf("stale hash cached forever: %q", cc)
		}
		mustStatus(t, c.get("/static/000000000000/nope.css"), http.StatusNotFound)
	})
}

func TestCookies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newTestApp(t, db, "")
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := app.client(t)
		r := c.post("/signin", "/signin", url.Values{"email": {"admin@example.com"}, "password": {testPassword}})
		var found bool
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			if ck.Name != sessionCookie || ck.Value == "" {
				continue
			}
			found = true
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
				t.Errorf("session cookie %+v", ck)
			}
		}
		if !found {
			t.Error("no session cookie")
		}
	})
}

// TestCSSLogicalProperties keeps app.css free of physical left/right, so
// right-to-left pages lay out correctly from dir alone.
func TestCSSLogicalProperties(t *testing.T) {
	css, err := fs.ReadFile(embedded, "static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	noComments := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(css), "")
	bad := regexp.MustCompile(`(?i)(margin|padding|border)-(left|right)|(^|[\s;{])(left|right)\s*:|text-align\s*:\s*(left|right)|float\s*:\s*(left|right)|clear\s*:\s*(left|right)|border-(top|bottom)-(left|right)-radius`)
	for i, line := range strings.Split(noComments, "\n") {
		if m := bad.FindString(line); m != "" {
			t.Errorf("app.css line %d uses a physical property (%q); use the logical one: %s", i+1, m, strings.TrimSpace(line))
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "/",
		"/":                 "/",
		"/settings/users":   "/settings/users",
		"/a?b=c":            "/a?b=c",
		"//evil.example":    "/",
		"/\\evil.example":   "/",
		"https://evil/":     "/",
		"settings":          "/",
		"javascript:alert":  "/",
		"/x\r\nLocation: y": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDevModeReadsFromDisk(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		h, err := New(Options{Auth: auth.New(db, auth.Options{}), Dev: true})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/signin")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}
