package order

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// Reading the values of an orders CSV file: dates (Gregorian or Jalali,
// with or without a time), money in major units, whole numbers, and the
// customer column, whose shape says whether it holds an email, a phone
// or a member number.

// DateOrder says how to read dates whose year comes last: "mdy"
// (12/31/2024) or "dmy" (31/12/2024). Dates whose year comes first need
// no order.
const (
	DateOrderMDY = "mdy"
	DateOrderDMY = "dmy"
)

// jalaliBefore: a year below it is a Jalali (Solar Hijri) year when the
// calendar is not given: 1403/05/12 is Jalali, 2024/08/02 Gregorian.
const jalaliBefore = 1700

// ParseWhen reads a date with an optional time of day: 2024-08-02,
// 2024/08/02 14:30, 2024-08-02T14:30:00Z, 2024-08-02 14:30:00+03:30,
// 1403/05/12 09:15 (Jalali), and with dateOrder 08/02/2024 8:26. Persian
// and Arabic digits are accepted. calendar is "gregorian", "jalali" or ""
// (the year decides: below 1700 is Jalali). A time without an offset is
// in loc.
func ParseWhen(s, calendar, dateOrder string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(text.ToASCIIDigits(s))
	if s == "" {
		return time.Time{}, errors.New("the date is empty")
	}
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	datePart, clock, _ := strings.Cut(strings.Replace(s, "T", " ", 1), " ")
	clock = strings.TrimSpace(clock)
	parts := strings.FieldsFunc(datePart, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	if len(parts) != 3 {
		return time.Time{}, fmt.Errorf("%q is not a date (write 2024-08-02, 1403/05/12 or 2024-08-02 14:30)", s)
	}
	var y, m, d string
	switch {
	case len(parts[0]) == 4:
		y, m, d = parts[0], parts[1], parts[2]
	case len(parts[2]) == 4 && dateOrder == DateOrderMDY:
		m, d, y = parts[0], parts[1], parts[2]
	case len(parts[2]) == 4 && dateOrder == DateOrderDMY:
		d, m, y = parts[0], parts[1], parts[2]
	case len(parts[2]) == 4:
		return time.Time{}, fmt.Errorf("%q puts the year last: say whether it is month/day/year or day/month/year (--date-order mdy or dmy)", s)
	default:
		return time.Time{}, fmt.Errorf("%q is not a date: the year needs four digits", s)
	}
	year, err := strconv.Atoi(y)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date", s)
	}
	cal := calendar
	if cal == "" {
		cal = text.CalendarGregorian
		if year < jalaliBefore {
			cal = text.CalendarJalali
		}
	}
	day, err := text.ParseDate(y+"-"+m+"-"+d, cal, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %s", s, strings.TrimPrefix(err.Error(), "date: "))
	}
	if clock == "" {
		return day.UTC(), nil
	}
	// A time of day, with seconds and an offset optional.
	for _, layout := range []string{"15:04", "15:04:05", "15:04:05.999999999", "15:04Z07:00", "15:04:05Z07:00", "15:04:05.999999999Z07:00", "15:04:05 Z07:00", "15:04 Z07:00"} {
		c, err := time.Parse(layout, clock)
		if err != nil {
			continue
		}
		zone := loc
		if strings.ContainsAny(layout, "Z") {
			zone = c.Location()
		}
		return time.Date(day.Year(), day.Month(), day.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), zone).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: %q is not a time of day (write 14:30 or 14:30:00)", s, clock)
}

// ParseMoney reads an amount in major units ("2.55", "1,250.50",
// "۱۲۰٬۰۰۰") and returns it in minor units of currency. Grouping
// separators (, ٬ ' and spaces) are dropped; the decimal separator is . or
// ٫ (or , with decimalComma). More decimals than the currency has is an
// error, never a silent rounding.
func ParseMoney(s, currency string, decimalComma bool) (int64, error) {
	s = strings.TrimSpace(text.ToASCIIDigits(s))
	if s == "" {
		return 0, errors.New("the amount is empty")
	}
	orig := s
	if decimalComma {
		s = strings.NewReplacer(".", "", ",", ".").Replace(s)
	}
	s = strings.NewReplacer(",", "", "٬", "", "'", "", " ", "", "\u00a0", "", "\u202f", "", "٫", ".").Replace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, _ := strings.Cut(s, ".")
	exp := crm.CurrencyExponent(currency)
	switch {
	case whole == "" && frac == "", !digits(whole), !digits(frac):
		return 0, fmt.Errorf("%q is not an amount", orig)
	case len(strings.TrimRight(frac, "0")) > exp:
		return 0, fmt.Errorf("%q has more decimals than %s has (%d)", orig, currency, exp)
	case len(strings.TrimLeft(whole, "0")) > 15:
		return 0, fmt.Errorf("%q is too large", orig)
	}
	n, _ := strconv.ParseInt("0"+whole, 10, 64)
	for range exp {
		n *= 10
	}
	frac = strings.TrimRight(frac, "0")
	if frac != "" {
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", exp-len(frac)), 10, 64)
		n += f
	}
	if neg {
		n = -n
	}
	return n, nil
}

// ParseWhole reads a whole number; "6.0" (a spreadsheet's float) is 6.
func ParseWhole(s string) (int64, error) {
	s = strings.TrimSpace(text.ToASCIIDigits(s))
	t := strings.NewReplacer(",", "", "٬", "").Replace(s)
	if w, f, ok := strings.Cut(t, "."); ok && strings.Trim(f, "0") == "" {
		t = w
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return n, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cleanNumber undoes a spreadsheet's float formatting of an id: "17850.0"
// is 17850. Anything else is kept as written.
func cleanNumber(s string) string {
	if w, f, ok := strings.Cut(s, "."); ok && w != "" && digits(w) && f != "" && strings.Trim(f, "0") == "" {
		return w
	}
	return s
}

// RecogniseCustomer reads a customer cell: an email when it has an @; a
// phone when it is a valid number in region (or carries a country code)
// and starts with +, 00 or 0; a member number otherwise.
func RecogniseCustomer(s, region string) crm.CustomerRef {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return crm.CustomerRef{}
	case strings.Contains(s, "@"):
		return crm.CustomerRef{Email: s}
	}
	a := strings.TrimSpace(text.ToASCIIDigits(s))
	if text.IsPhoneLike(a) && (strings.HasPrefix(a, "+") || strings.HasPrefix(a, "0")) {
		if _, err := text.NormalizePhone(a, region); err == nil {
			return crm.CustomerRef{Phone: s}
		}
	}
	return crm.CustomerRef{MemberNumber: cleanNumber(a)}
}
