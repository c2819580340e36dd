package web

import (
	"net/url"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/report"
)

// FuzzReportRange feeds the date range form anything: it never panics;
// an accepted range is a real span of at most maxReportDays days with a
// known currency code, that the page's own links read back the same.
func FuzzReportRange(f *testing.F) {
	for _, s := range [][4]string{
		{"", "", "", ""}, {"custom", "۱۴۰۴/۰۱/۰۱", "1404-01-31", "irr"}, {"last_year", "", "", "USD"},
		{"custom", "1404/12/30", "1403/12/30", ""}, {"custom", "0001/01/01", "9999/12/31", "X"}, {"nope", "\u200f1404/1/1", "", "usd1"},
	} {
		f.Add(s[0], s[1], s[2], s[3], true)
	}
	today := report.Day(20250415)
	f.Fuzz(func(t *testing.T, preset, from, to, currency string, jalali bool) {
		prefs := crm.Preferences{Language: "fa", Calendar: "jalali", Digits: "persian", TimeZone: "Asia/Tehran"}
		if !jalali {
			prefs = crm.Preferences{Language: "en", Calendar: "gregorian", Digits: "latin", TimeZone: "UTC"}
		}
		p := locale.For(prefs)
		v := url.Values{"preset": {preset}, "from": {from}, "to": {to}, "currency": {currency}}
		q, form := parseReportRange(p, v, today)
		if !form.ok() {
			return
		}
		if !q.Range.From.Valid() || !q.Range.To.Valid() || q.Range.To < q.Range.From || q.Range.Days() > maxReportDays {
			t.Fatalf("accepted %v: range %v..%v", v, q.Range.From, q.Range.To)
		}
		if q.Currency != "" && !currencyRE.MatchString(q.Currency) {
			t.Fatalf("accepted currency %q", q.Currency)
		}
		back, err := url.ParseQuery(rangeQuery(p, q, form.V("preset")))
		if err != nil {
			t.Fatal(err)
		}
		q2, form2 := parseReportRange(p, back, today)
		if !form2.ok() || q2.Range != q.Range || q2.Currency != q.Currency {
			t.Fatalf("%v read back as %v (%v), was %v", back, q2, form2.Errors, q)
		}
	})
}
