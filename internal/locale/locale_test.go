package locale

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// TestCatalogsComplete keeps the three catalogs in step: every key in all
// of them, the same placeholders, no empty texts, well-formed keys.
func TestCatalogsComplete(t *testing.T) {
	if _, err := loadCatalogs(); err != nil {
		t.Fatal(err)
	}
	en := catalogs["en"]
	if len(en) == 0 {
		t.Fatal("English catalog is empty")
	}
	for _, l := range Languages {
		cat := catalogs[l.Code]
		for key, msg := range cat {
			if !keyRE.MatchString(key) {
				t.Errorf("%s: key %q is not a lower-case dotted name like \"nav.users\"", l.Code, key)
			}
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s: %s is empty", l.Code, key)
			}
			if _, ok := en[key]; !ok {
				t.Errorf("%s: %s is not in en.json", l.Code, key)
			}
		}
		for key, msg := range en {
			other, ok := cat[key]
			if !ok {
				t.Errorf("%s.json lacks %s", l.Code, key)
				continue
			}
			if a, b := Placeholders(msg), Placeholders(other); !slices.Equal(a, b) {
				t.Errorf("%s: %s has placeholders %v, en has %v", l.Code, key, b, a)
			}
			if strings.Count(other, "{") != strings.Count(other, "}") {
				t.Errorf("%s: %s has unbalanced braces: %q", l.Code, key, other)
			}
		}
	}
}

// TestCatalogScripts catches a catalog pasted into the wrong file: Persian
// texts use Persian letters (ی, ک), Arabic texts Arabic ones (ي, ك).
func TestCatalogScripts(t *testing.T) {
	for key, msg := range catalogs["fa"] {
		if strings.ContainsAny(msg, "يك") {
			t.Errorf("fa: %s uses Arabic yeh or kaf: %q", key, msg)
		}
	}
	for key, msg := range catalogs["ar"] {
		if strings.ContainsAny(msg, "یکگچژپ") {
			t.Errorf("ar: %s uses Persian letters: %q", key, msg)
		}
	}
}

// TestNoMiddleDotInPersianOrArabic: in Persian and Arabic a middle dot
// "·" between phrases reads as the digit zero "۰" next to a number ("۴ از
// ۵ · ۱۰۰٪" read as "۵ ۰ ۱۰۰"). The rule: fa and ar separate phrases with
// the Arabic comma "، " (sep.dot, Printer.Sep), never a middle dot.
func TestNoMiddleDotInPersianOrArabic(t *testing.T) {
	nearNumber := regexp.MustCompile(`(\{[a-z_]+\}|[0-9۰-۹٠-٩])\s*·|·\s*(\{[a-z_]+\}|[0-9۰-۹٠-٩])`)
	for _, lang := range []string{"fa", "ar"} {
		for key, msg := range catalogs[lang] {
			if nearNumber.MatchString(msg) {
				t.Errorf("%s: %s has a middle dot next to a number or placeholder: %q", lang, key, msg)
			} else if strings.Contains(msg, "·") {
				t.Errorf("%s: %s separates with a middle dot; use \"، \": %q", lang, key, msg)
			}
		}
		if got := ForLanguage(lang).Sep(); got != "، " {
			t.Errorf("%s: Sep() = %q, want the Arabic comma", lang, got)
		}
	}
	if got := ForLanguage("en").Sep(); got != " · " {
		t.Errorf("en: Sep() = %q, want a middle dot", got)
	}
}

func TestT(t *testing.T) {
	en := For(crm.Preferences{Language: "en"})
	if got := en.T("dashboard.greeting.other", "name", "Sara"); got != "Hello, Sara" {
		t.Errorf("got %q", got)
	}
	fa := For(crm.DefaultPreferences("fa"))
	if got := fa.T("teams.members_count", "count", 1234); got != "اعضا: ۱٬۲۳۴" {
		t.Errorf("got %q", got)
	}
	// Unknown placeholder arguments are ignored; a missing value leaves the
	// placeholder visible rather than silently dropping text.
	if got := en.T("dashboard.greeting.other", "other", "x"); got != "Hello, {name}" {
		t.Errorf("got %q", got)
	}
	if got := en.T("no.such.key"); got != "⟦no.such.key⟧" || !strings.HasPrefix(got, MissingMark) {
		t.Errorf("missing key: got %q", got)
	}
	if !fa.Has("nav.users") || fa.Has("no.such.key") {
		t.Error("Has")
	}
}

func TestFallbackToEnglish(t *testing.T) {
	catalogs["en"]["test.only_english"] = "Only in English"
	defer delete(catalogs["en"], "test.only_english")
	if got := ForLanguage("fa").T("test.only_english"); got != "Only in English" {
		t.Errorf("got %q", got)
	}
}

func TestFor(t *testing.T) {
	p := For(crm.Preferences{Language: "xx", Calendar: "mayan", Digits: "roman", TimeZone: "Mars/Olympus"})
	if p.Lang() != "en" || p.Dir() != "ltr" || p.Calendar() != "gregorian" || p.DigitStyle() != "latin" || p.Location() != time.UTC {
		t.Errorf("defaults: %+v", p.Preferences())
	}
	for _, l := range []string{"fa", "ar"} {
		if d := ForLanguage(l).Dir(); d != "rtl" {
			t.Errorf("%s: dir %q", l, d)
		}
	}
}

func TestDate(t *testing.T) {
	nowruz := time.Date(2025, 3, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		prefs            crm.Preferences
		date, long, full string
		dateTime, number string
	}{
		{crm.Preferences{Language: "en", Calendar: "gregorian", Digits: "latin", TimeZone: "UTC"},
			"2025-03-21", "21 March 2025", "Friday, 21 March 2025", "2025-03-21 12:00", "1,234,567"},
		{crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"},
			"۱۴۰۴/۰۱/۰۱", "۱ فروردین ۱۴۰۴", "جمعه، ۱ فروردین ۱۴۰۴", "۱۴۰۴/۰۱/۰۱ ۱۵:۳۰", "۱٬۲۳۴٬۵۶۷"},
		{crm.Preferences{Language: "en", Calendar: "jalali", Digits: "latin", TimeZone: "UTC"},
			"1404/01/01", "1 Farvardin 1404", "Friday, 1 Farvardin 1404", "1404/01/01 12:00", "1,234,567"},
		{crm.Preferences{Language: "ar", Calendar: "gregorian", Digits: "arabic", TimeZone: "Asia/Dubai"},
			"٢٠٢٥/٠٣/٢١", "٢١ مارس ٢٠٢٥", "الجمعة، ٢١ مارس ٢٠٢٥", "٢٠٢٥/٠٣/٢١ ١٦:٠٠", "١٬٢٣٤٬٥٦٧"},
		{crm.Preferences{Language: "fa", Calendar: "gregorian", Digits: "persian", TimeZone: "UTC"},
			"۲۰۲۵/۰۳/۲۱", "۲۱ مارس ۲۰۲۵", "جمعه، ۲۱ مارس ۲۰۲۵", "۲۰۲۵/۰۳/۲۱ ۱۲:۰۰", "۱٬۲۳۴٬۵۶۷"},
	}
	for _, tt := range tests {
		p := For(tt.prefs)
		if got := p.Date(nowruz); got != tt.date {
			t.Errorf("%+v Date = %q, want %q", tt.prefs, got, tt.date)
		}
		if got := p.DateLong(nowruz); got != tt.long {
			t.Errorf("%+v DateLong = %q, want %q", tt.prefs, got, tt.long)
		}
		if got := p.DateFull(nowruz); got != tt.full {
			t.Errorf("%+v DateFull = %q, want %q", tt.prefs, got, tt.full)
		}
		if got := p.DateTime(nowruz); got != tt.dateTime {
			t.Errorf("%+v DateTime = %q, want %q", tt.prefs, got, tt.dateTime)
		}
		if got := p.Number(1234567); got != tt.number {
			t.Errorf("%+v Number = %q, want %q", tt.prefs, got, tt.number)
		}
		// What Date prints, ParseDate reads back (as the start of that day).
		back, err := p.ParseDate(p.Date(nowruz))
		if err != nil {
			t.Errorf("%+v ParseDate(%q): %v", tt.prefs, p.Date(nowruz), err)
		} else if got := p.Date(back); got != tt.date {
			t.Errorf("%+v round trip: %q", tt.prefs, got)
		}
	}
	if got := ForLanguage("en").Date(time.Time{}); got != "" {
		t.Errorf("zero time: %q", got)
	}
}

func TestDateUsesTimeZone(t *testing.T) {
	// 22:00 UTC on 20 March is already 21 March (Nowruz) in Tehran.
	ts := time.Date(2025, 3, 20, 22, 0, 0, 0, time.UTC)
	fa := For(crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "latin", TimeZone: "Asia/Tehran"})
	if got := fa.Date(ts); got != "1404/01/01" {
		t.Errorf("Tehran: %q", got)
	}
	utc := For(crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "latin", TimeZone: "UTC"})
	if got := utc.Date(ts); got != "1403/12/30" {
		t.Errorf("UTC: %q", got)
	}
}

func TestParseDate(t *testing.T) {
	tehran, _ := time.LoadLocation("Asia/Tehran")
	fa := For(crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"})
	want := time.Date(2025, 3, 21, 0, 0, 0, 0, tehran)
	for _, in := range []string{"۱۴۰۴/۰۱/۰۱", "١٤٠٤/٠١/٠١", "1404/1/1", "1404-01-01", " ۱۴۰۴/۱/۱ ", "\u200f۱۴۰۴/۰۱/۰۱"} {
		got, err := fa.ParseDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1404/13/01", "1403/12/31", "tomorrow", "04/01/01"} {
		_, err := fa.ParseDate(in)
		if crm.ErrorCode(err) != crm.EINVALID {
			t.Errorf("ParseDate(%q): err %v, want EINVALID", in, err)
		}
	}
	en := ForLanguage("en")
	got, err := en.ParseDate("٢٠٢٥-٠٣-٢١")
	if err != nil || !got.Equal(time.Date(2025, 3, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("gregorian with Arabic-Indic digits: %v, %v", got, err)
	}
}

func TestParseInt(t *testing.T) {
	p := ForLanguage("fa")
	for in, want := range map[string]int64{"۱۲۳": 123, "١٢٣": 123, "1,234": 1234, "۱٬۲۳۴": 1234, "-5": -5} {
		if got, err := p.ParseInt(in); err != nil || got != want {
			t.Errorf("ParseInt(%q) = %d, %v", in, got, err)
		}
	}
	if _, err := p.ParseInt("12a"); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("err %v", err)
	}
}

func TestNumber(t *testing.T) {
	p := ForLanguage("en")
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", -1234: "-1,234", 1000000: "1,000,000"} {
		if got := p.Number(n); got != want {
			t.Errorf("Number(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestWeekdayAndMonths(t *testing.T) {
	for _, l := range Languages {
		p := ForLanguage(l.Code)
		for m := 1; m <= 12; m++ {
			if name := p.MonthName(m); name == "" || strings.HasPrefix(name, MissingMark) {
				t.Errorf("%s month %d: %q", l.Code, m, name)
			}
		}
		for d := range 7 {
			day := time.Date(2025, 3, 16+d, 12, 0, 0, 0, time.UTC)
			if name := p.Weekday(day); strings.HasPrefix(name, MissingMark) {
				t.Errorf("%s weekday %d: %q", l.Code, d, name)
			}
		}
	}
}
