package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/text"
)

// contactFuncs are the template functions of the contacts pages.
var contactFuncs = template.FuncMap{
	"phone":        phoneDisplay,
	"civil":        civilDate,
	"customValue":  customDisplay,
	"customList":   customList,
	"labelName":    labelName,
	"dict":         dict,
	"initials":     initials,
	"deref":        func(p *int64) int64 { return derefID(p) },
	"isOverdue":    isOverdue,
	"dueText":      dueText,
	"inc":          func(i int) int { return i + 1 },
	"now":          func() time.Time { return nowFunc() },
	"languageName": languageName,
	"sourceName":   sourceName,
	"present":      func(m map[string]any, k string) bool { _, ok := m[k]; return ok },
	"pastDue":      func(t *time.Time) bool { return t != nil && t.Before(nowFunc()) },
}

// sourceName translates the sources Pivand itself writes (manual, api,
// import, web form, in store); others are shown as typed.
func sourceName(p *locale.Printer, source string) string {
	if k := "contacts.source." + strings.ReplaceAll(strings.ToLower(source), " ", "_"); p.Has(k) {
		return p.T(k)
	}
	return source
}

// dict builds a map from name/value pairs, to pass several values to a
// partial template: {{template "x" (dict "L" $.L "Item" .)}}.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// phoneDisplay shows an E.164 number grouped the international way,
// "+98 912 345 6789", in the user's digits. Anything that does not parse
// is shown as it is.
func phoneDisplay(p *locale.Printer, e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return p.Digits(e164)
	}
	return p.Digits(phonenumbers.Format(num, phonenumbers.INTERNATIONAL))
}

// civilDate shows a calendar date stored as Gregorian YYYY-MM-DD (a
// birthday, a date field) in the user's calendar and digits. The day is
// placed at noon in the user's zone, so no zone moves it to another day.
// A birthday without a year (--MM-DD) shows as day and Gregorian month.
func civilDate(p *locale.Printer, ymd string) string {
	if rest, ok := strings.CutPrefix(ymd, "--"); ok {
		t, err := time.Parse("2006-01-02", "2000-"+rest)
		if err != nil {
			return ymd
		}
		return p.Digits(strconv.Itoa(t.Day())) + " " + p.T("month.gregorian."+strconv.Itoa(int(t.Month())))
	}
	t, ok := civilTime(p, ymd)
	if !ok {
		return ymd
	}
	return p.Date(t)
}

// civilTime is noon of a Gregorian YYYY-MM-DD date in the user's zone.
func civilTime(p *locale.Printer, ymd string) (time.Time, bool) {
	d, err := time.Parse("2006-01-02", ymd)
	if err != nil {
		return time.Time{}, false
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, p.Location()), true
}

// civilInput is civilDate for a form field: what ParseDate reads back.
func civilInput(p *locale.Printer, ymd string) string {
	if strings.HasPrefix(ymd, "--") {
		return ymd
	}
	t, ok := civilTime(p, ymd)
	if !ok {
		return ymd
	}
	return p.DateInput(t)
}

// parseCivil reads a date typed in the user's calendar (any digits) and
// returns it as Gregorian YYYY-MM-DD. "--MM-DD" (a Gregorian day without
// a year) passes through for birthdays.
func parseCivil(p *locale.Printer, s string, yearless bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if yearless {
		if rest, ok := strings.CutPrefix(text.ToASCIIDigits(s), "--"); ok {
			return "--" + rest, nil
		}
	}
	t, err := p.ParseDate(s)
	if err != nil {
		return "", err
	}
	return t.In(p.Location()).Format("2006-01-02"), nil
}

// labelName translates the usual labels of emails, phones and addresses;
// other labels are shown as they were typed.
func labelName(p *locale.Printer, label string) string {
	if label == "" {
		return ""
	}
	if k := "contacts.label." + label; p.Has(k) {
		return p.T(k)
	}
	return label
}

// initials are the letters of a person's avatar: the first letters of the
// first and last name, else of the display name.
func initials(c *crm.Contact) string {
	var out []rune
	for _, part := range []string{c.FirstName, c.LastName} {
		if r, _ := utf8.DecodeRuneInString(strings.TrimSpace(part)); r != utf8.RuneError {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		if r, _ := utf8.DecodeRuneInString(c.DisplayName()); r != utf8.RuneError && r != '#' {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return strings.ToUpper(string(out))
}

// currencyDigits are the decimal places of currencies whose minor unit is
// not a hundredth. ISO 4217 gives the Iranian rial and the Iraqi dinar
// subunits that nobody uses, so Pivand counts them in whole units.
var currencyDigits = map[string]int{
	"IRR": 0, "IQD": 0, "JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0, "XAF": 0, "XOF": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "LYD": 3, "TND": 3,
}

// minorDigits returns the decimal places of currency.
func minorDigits(currency string) int {
	if d, ok := currencyDigits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// decimalSep is the decimal separator that goes with the user's digits.
func decimalSep(p *locale.Printer) string {
	if p.DigitStyle() == "latin" {
		return "."
	}
	return "٫"
}

// formatMoney shows an amount in minor units with the currency's decimal
// places, thousands grouping and the user's digits: "1,250.50 USD".
func formatMoney(p *locale.Printer, minor int64, currency string) string {
	s := moneyAmount(p, minor, currency)
	if currency != "" {
		s += " " + currency
	}
	return s
}

func moneyAmount(p *locale.Printer, minor int64, currency string) string {
	d := minorDigits(currency)
	if d == 0 {
		return p.Number(minor)
	}
	scale := int64(math.Pow10(d))
	major, frac := minor/scale, minor%scale
	sign := ""
	if minor < 0 {
		sign, major, frac = "-", -major, -frac
	}
	return sign + p.Number(major) + decimalSep(p) + p.Digits(fmt.Sprintf("%0*d", d, frac))
}

// parseMoney reads an amount typed with any digits, grouping separators
// and a decimal point (., ٫ or /) and returns it in minor units.
func parseMoney(s, currency string) (int64, error) {
	s = text.ToASCIIDigits(strings.TrimSpace(s))
	s = strings.NewReplacer(",", "", "٬", "", " ", "", "\u00a0", "", "٫", ".", "/", ".").Replace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	d := minorDigits(currency)
	if whole == "" && frac == "" || len(frac) > d || !allDigits(whole) || !allDigits(frac) || len(whole) > 15 {
		return 0, errors.New("not an amount")
	}
	n, _ := strconv.ParseInt("0"+whole, 10, 64)
	for range d {
		n *= 10
	}
	if frac != "" {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", d-len(frac)), 10, 64)
		n += f
	}
	if neg {
		n = -n
	}
	return n, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// formatNumber shows a number field's value in the user's digits.
func formatNumber(p *locale.Printer, v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return p.Number(int64(v))
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	return p.Digits(strings.Replace(s, ".", decimalSep(p), 1))
}

// asInt64 reads a JSON number (float64 after decoding, json.Number with
// UseNumber, int64 when fresh).
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return int64(x), true
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	}
	return 0, false
}

// customList returns the values of a multi-select field.
func customList(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			if s, ok := it.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case string:
		if x != "" {
			return []string{x}
		}
	}
	return nil
}

// customDisplay formats a custom field value for reading.
func customDisplay(p *locale.Printer, f *crm.CustomField, v any) string {
	if v == nil {
		return ""
	}
	switch f.Type {
	case crm.FieldNumber:
		if n, ok := v.(float64); ok {
			return formatNumber(p, n)
		}
	case crm.FieldMoney:
		if n, ok := asInt64(v); ok {
			return formatMoney(p, n, f.Currency)
		}
	case crm.FieldDate:
		if s, ok := v.(string); ok {
			return civilDate(p, s)
		}
	case crm.FieldBoolean:
		if b, ok := v.(bool); ok {
			if b {
				return p.T("contacts.yes")
			}
			return p.T("contacts.no")
		}
	case crm.FieldMultiSelect:
		return strings.Join(customList(v), p.T("list.separator"))
	case crm.FieldPhone:
		if s, ok := v.(string); ok {
			return phoneDisplay(p, s)
		}
	}
	return fmt.Sprint(v)
}

// customInput formats a stored custom value for its form field.
func customInput(p *locale.Printer, f *crm.CustomField, v any) string {
	if v == nil {
		return ""
	}
	switch f.Type {
	case crm.FieldNumber:
		if n, ok := v.(float64); ok {
			return strconv.FormatFloat(n, 'f', -1, 64)
		}
	case crm.FieldMoney:
		if n, ok := asInt64(v); ok {
			d := minorDigits(f.Currency)
			if d == 0 {
				return strconv.FormatInt(n, 10)
			}
			return strconv.FormatFloat(float64(n)/math.Pow10(d), 'f', d, 64)
		}
	case crm.FieldDate:
		if s, ok := v.(string); ok {
			return civilInput(p, s)
		}
	case crm.FieldBoolean:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b)
		}
	case crm.FieldMultiSelect:
		return strings.Join(customList(v), ",")
	}
	return fmt.Sprint(v)
}

// isOverdue reports whether an open task's due time has passed.
func isOverdue(t *crm.Task) bool {
	return t != nil && t.DoneAt == nil && t.DueAt != nil && t.DueAt.Before(time.Now())
}

// dueText shows a task time: the date alone for the end of a day (a due
// date typed without a time), else date and time.
func dueText(p *locale.Printer, t *time.Time) string {
	if t == nil {
		return ""
	}
	local := p.In(*t)
	if local.Hour() == 23 && local.Minute() == 59 {
		return p.Date(*t)
	}
	return p.DateTime(*t)
}
