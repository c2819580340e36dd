package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// problemsCSV has one row for each kind of problem the importer reports.
const problemsCSV = "First Name,Last Name,Email,Phone,Birthday,Language\n" +
	"Ali,Rezaei,ali@example.com,+989121112233,,\n" + // line 2: fine
	"Bad,Email,not-an-email,,,\n" +
	"Bad,Phone,,555-0100,,\n" +
	"Spread,Sheet,,9.89121E+11,,\n" +
	"Bad,Date,b@example.com,,31/31/1990,\n" +
	"Bad,Language,c@example.com,,,klingon\n" +
	"Jalali,Gregorian,d@example.com,,1990/01/02,\n" +
	",,,,1990-01-02,\n" + // no name, email or phone
	"Too,Many,e@example.com,,,,extra\n" +
	"Ali,Again,ALI@example.com,,,\n" // line 11: the same email as line 2

// TestImportProblemsTranslated: the import page explains each problem in
// the reader's language, and every sentence the importer writes for these
// rows is one it knows how to translate.
func TestImportProblemsTranslated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app := newImportApp(t, db, 0)
		app.createUser("admin@example.com", crm.RoleAdmin)
		en := signInAs(t, app.testApp, "admin@example.com", "en")
		id := en.startImport("problems.csv", problemsCSV, url.Values{"calendar": {"jalali"}})
		app.runJobs()
		ps, _, err := app.contacts.ImportProblems(context.Background(), id, crm.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		lines := map[int]bool{}
		for _, pr := range ps {
			lines[pr.Line] = true
		}
		for line := 3; line <= 11; line++ {
			if !lines[line] {
				t.Errorf("no problem reported on line %d: %+v", line, ps)
			}
		}
		for _, lang := range []string{"fa", "ar"} {
			p := locale.ForLanguage(lang)
			for _, pr := range ps {
				text, english := problemText(p, pr)
				if english || strings.Contains(text, locale.MissingMark) || text == pr.Message {
					t.Errorf("%s: line %d %q: not translated: %q", lang, pr.Line, pr.Message, text)
				}
			}
		}
		if text, english := problemText(locale.ForLanguage("en"), ps[0]); !english || text != ps[0].Message {
			t.Errorf("English: %q, want the importer's %q", text, ps[0].Message)
		}
		if text, english := problemText(locale.ForLanguage("fa"), contact.ImportProblem{Message: "Something new."}); !english || text != "Something new." {
			t.Errorf("an unknown sentence: %q %v", text, english)
		}

		self := "/contacts/imports/" + idOf(id)
		r := en.get(self)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `lang="en" dir="ltr" class="problem-text">&#34;not-an-email&#34; is not a valid email address.`)
		// The language is the user's: signing in in Persian switches it.
		fa := signInAs(t, app.testApp, "admin@example.com", "fa")
		r = fa.get(self)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "نشانی ایمیل درستی نیست", "با سطر ۲ یکی است؛ نادیده گرفته شد", "این ردیف نام، ایمیل یا تلفن ندارد", "\u2068&#43;۹۸\u2069")
		if strings.Contains(r.body, `lang="en" dir="ltr" class="problem-text"`) {
			t.Error("the Persian page shows a problem in English")
		}
	})
}
