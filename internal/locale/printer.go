package locale

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones work on machines without a zoneinfo database (Windows, scratch images)

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Printer turns message keys, dates and numbers into text for one user.
// It is cheap to create (one per request) and safe for concurrent use.
type Printer struct {
	prefs crm.Preferences
	loc   *time.Location
	dir   string
}

// For returns a Printer for a user's preferences. Unknown or empty values
// are replaced by the defaults of the language (see crm.DefaultPreferences),
// so For never fails: a bad stored time zone shows times in UTC rather than
// breaking the page.
func For(p crm.Preferences) *Printer {
	if !Supported(p.Language) {
		p.Language = DefaultLanguage
	}
	def := crm.DefaultPreferences(p.Language)
	if p.Calendar != text.CalendarGregorian && p.Calendar != text.CalendarJalali {
		p.Calendar = def.Calendar
	}
	switch p.Digits {
	case "latin", "persian", "arabic":
	default:
		p.Digits = def.Digits
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if p.TimeZone == "" || err != nil {
		p.TimeZone = "UTC"
		loc = time.UTC
	}
	pr := &Printer{prefs: p, loc: loc, dir: "ltr"}
	for _, l := range Languages {
		if l.Code == p.Language {
			pr.dir = l.Dir
		}
	}
	return pr
}

// ForLanguage returns a Printer with the default preferences of lang, for
// visitors who are not signed in.
func ForLanguage(lang string) *Printer { return For(crm.DefaultPreferences(lang)) }

// Preferences returns the effective preferences (after defaults).
func (p *Printer) Preferences() crm.Preferences { return p.prefs }

// Lang returns the language code: "en", "fa" or "ar".
func (p *Printer) Lang() string { return p.prefs.Language }

// Dir returns the text direction of the language: "ltr" or "rtl".
func (p *Printer) Dir() string { return p.dir }

// Calendar returns "gregorian" or "jalali".
func (p *Printer) Calendar() string { return p.prefs.Calendar }

// DigitStyle returns "latin", "persian" or "arabic".
func (p *Printer) DigitStyle() string { return p.prefs.Digits }

// Location returns the user's time zone.
func (p *Printer) Location() *time.Location { return p.loc }

// T returns the text for key with placeholders replaced by args, which are
// name/value pairs: T("users.invited", "email", e). See the package
// documentation for fallbacks and value formatting.
func (p *Printer) T(key string, args ...any) string {
	msg, ok := catalogs[p.prefs.Language][key]
	if !ok {
		msg, ok = catalogs[DefaultLanguage][key]
		if !ok {
			reportMissing(p.prefs.Language, key, false)
			return MissingMark + key + "⟧"
		}
		reportMissing(p.prefs.Language, key, true)
	}
	if len(args) == 0 || !strings.Contains(msg, "{") {
		return msg
	}
	return placeholderRE.ReplaceAllStringFunc(msg, func(ph string) string {
		name := ph[1 : len(ph)-1]
		for i := 0; i+1 < len(args); i += 2 {
			if n, _ := args[i].(string); n == name {
				return p.format(args[i+1])
			}
		}
		return ph
	})
}

// Sep returns the separator between two phrases on one line ("Open ·
// High · product"): a middle dot in English, the Arabic comma "، " in
// Persian and Arabic, where a middle dot next to a number reads as the
// digit zero "۰" ("۴ از ۵ · ۱۰۰٪"). Templates and Go code use it instead
// of a hard-coded " · " (the catalog key is "sep.dot").
func (p *Printer) Sep() string { return p.T("sep.dot") }

// Has reports whether key exists in the user's language or in English.
func (p *Printer) Has(key string) bool {
	if _, ok := catalogs[p.prefs.Language][key]; ok {
		return true
	}
	return HasKey(key)
}

func (p *Printer) format(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return p.Number(int64(v))
	case int64:
		return p.Number(v)
	case int32:
		return p.Number(int64(v))
	case time.Time:
		return p.Date(v)
	case *time.Time:
		if v == nil {
			return ""
		}
		return p.Date(*v)
	case fmt.Stringer:
		return v.String()
	default:
		return fmt.Sprint(v)
	}
}

// Digits rewrites every digit in s (any digit set) in the user's digits.
func (p *Printer) Digits(s string) string {
	switch p.prefs.Digits {
	case "persian":
		return text.ToPersianDigits(s)
	case "arabic":
		return text.ToArabicDigits(s)
	default:
		return text.ToASCIIDigits(s)
	}
}

// Number formats an integer in the user's digits with thousands grouping:
// 1,234,567 with Latin digits, ۱٬۲۳۴٬۵۶۷ and ١٬٢٣٤٬٥٦٧ with Persian and
// Arabic-Indic digits (which use the Arabic thousands separator U+066C).
func (p *Printer) Number(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	sep := ","
	if p.prefs.Digits != "latin" {
		sep = "٬"
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return p.Digits(b.String())
}

// Int is Number for an int, handy in templates.
func (p *Printer) Int(n int) string { return p.Number(int64(n)) }

// In returns t in the user's time zone.
func (p *Printer) In(t time.Time) time.Time { return t.In(p.loc) }

// Date formats t's day in the user's time zone and calendar as numbers:
// 1404/01/01 (Jalali), 2025-03-21 (Gregorian, Latin digits) or 2025/03/21
// (Gregorian, Persian or Arabic-Indic digits), in the user's digits. The
// slash keeps year-month-day in order inside right-to-left text for every
// digit set (a hyphen does not between Arabic-Indic digits). The zero time
// formats as "".
func (p *Printer) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	s := text.FormatDate(t.In(p.loc), p.prefs.Calendar)
	if p.prefs.Calendar == text.CalendarJalali || p.prefs.Digits != "latin" {
		s = strings.ReplaceAll(s, "-", "/")
	}
	return p.Digits(s)
}

// DateInput formats t for a date text field in the same form Date uses, so
// ParseDate reads it back.
func (p *Printer) DateInput(t time.Time) string { return p.Date(t) }

// Time formats t's time of day in the user's zone, 24-hour: 14:05.
func (p *Printer) Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return p.Digits(t.In(p.loc).Format("15:04"))
}

// DateTime formats t as Date followed by Time.
func (p *Printer) DateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return p.Date(t) + " " + p.Time(t)
}

// dayMonthYear returns t's day, month and year in the user's zone and
// calendar.
func (p *Printer) dayMonthYear(t time.Time) (d, m, y int) {
	t = t.In(p.loc)
	if p.prefs.Calendar == text.CalendarJalali {
		j := text.ToJalali(t)
		return j.Day, j.Month, j.Year
	}
	y, mm, d := t.Date()
	return d, int(mm), y
}

// MonthName returns the name of month m (1–12) of the user's calendar in
// the user's language.
func (p *Printer) MonthName(m int) string {
	if p.prefs.Calendar == text.CalendarJalali {
		return text.JalaliMonthName(m, p.prefs.Language)
	}
	return p.T("month.gregorian." + strconv.Itoa(m))
}

// Weekday returns the name of t's day of the week in the user's zone.
func (p *Printer) Weekday(t time.Time) string {
	return p.T("weekday." + strings.ToLower(t.In(p.loc).Weekday().String()))
}

// DateLong formats t's day with the month's name: "21 March 2025",
// "۱ فروردین ۱۴۰۴", "٢١ مارس ٢٠٢٥" (the order comes from the catalog key
// date.long).
func (p *Printer) DateLong(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d, m, y := p.dayMonthYear(t)
	return p.T("date.long", "day", p.Digits(strconv.Itoa(d)), "month", p.MonthName(m), "year", p.Digits(strconv.Itoa(y)))
}

// DateFull is DateLong with the day of the week: "Friday, 21 March 2025".
func (p *Printer) DateFull(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d, m, y := p.dayMonthYear(t)
	return p.T("date.full", "weekday", p.Weekday(t), "day", p.Digits(strconv.Itoa(d)), "month", p.MonthName(m), "year", p.Digits(strconv.Itoa(y)))
}

// Year returns t's year in the user's zone and calendar, in the user's
// digits.
func (p *Printer) Year(t time.Time) string {
	_, _, y := p.dayMonthYear(t)
	return p.Digits(strconv.Itoa(y))
}

// ParseDate reads a date typed by the user in the user's calendar, as
// YYYY/MM/DD or YYYY-MM-DD in any digit set (Latin, Persian, Arabic-Indic,
// even mixed), and returns midnight at the start of that day in the user's
// time zone. Errors are *crm.Error with code EINVALID and the catalog key
// error.date_invalid.
func (p *Printer) ParseDate(s string) (time.Time, error) {
	t, err := text.ParseDate(s, p.prefs.Calendar, p.loc)
	if err != nil {
		return time.Time{}, &crm.Error{Code: crm.EINVALID, Key: "error.date_invalid", Message: err.Error()}
	}
	return t, nil
}

// ParseInt reads an integer typed in any digit set, with optional
// thousands separators. Errors are *crm.Error with code EINVALID and the
// catalog key error.number_invalid.
func (p *Printer) ParseInt(s string) (int64, error) {
	n, err := text.ParseInt(s)
	if err != nil {
		return 0, &crm.Error{Code: crm.EINVALID, Key: "error.number_invalid", Message: err.Error()}
	}
	return n, nil
}
