package contactfile

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/pivand/pivand/internal/text"
)

// parseBirthday reads a birthday as written in contact exports and returns
// crm.Contact's form: "YYYY-MM-DD" (Gregorian) or "--MM-DD" without a year.
//
// Accepted: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, --MM-DD, --MMDD,
// NN/NN/YYYY (and with - or .), month names ("April 15, 1985",
// "15 Apr 1985"), any of them followed by a time ("1985-04-15T00:00:00Z",
// "4/15/1985 0:00"), in ASCII, Persian or Arabic-Indic digits.
//
// NN/NN/YYYY: a first number over 12 means day/month, a second over 12
// month/day, and otherwise order (DateOrderMDY or DateOrderDMY) decides; ""
// makes such a date an error. Dots ("15.04.1985") always mean day.month.
//
// The year decides the calendar: before 1700 is Jalali (1364/01/26 is
// 1985-04-15), later is Gregorian; no living person's birthday is
// ambiguous. calendar "jalali" or "gregorian" declares that every date
// of the file is in that calendar, and a date from the other one is then
// an error rather than a silent guess; "jalali" also refuses dates
// without a year, which cannot be converted. Jalali dates are converted
// to Gregorian. Outlook's and databases' "no date" values (0/0/00,
// 0000-00-00) give "".
func parseBirthday(s, calendar, order string) (string, error) {
	orig := s
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, text.ToASCIIDigits(s)))
	if strings.Trim(s, "0/-. :") == "" {
		return "", nil
	}
	// Drop a time of day.
	if i := strings.IndexAny(s, "T "); i >= 6 && strings.Contains(s[i:], ":") {
		s = strings.TrimSpace(s[:i])
	}
	cal := strings.ToLower(strings.TrimSpace(calendar))

	if rest, ok := strings.CutPrefix(s, "--"); ok {
		var m, d int
		var ok bool
		switch {
		case len(rest) == 4:
			m, ok = atoi2(rest[:2])
			if ok {
				d, ok = atoi2(rest[2:])
			}
		case len(rest) == 5 && (rest[2] == '-' || rest[2] == '/'):
			m, ok = atoi2(rest[:2])
			if ok {
				d, ok = atoi2(rest[3:])
			}
		}
		if !ok {
			return "", fmt.Errorf("%q is not a date.", orig)
		}
		if cal == text.CalendarJalali {
			return "", fmt.Errorf("%q has no year: a Jalali birthday needs one to be converted.", orig)
		}
		if m < 1 || m > 12 || d < 1 || d > gregorianDays(2000, m) {
			return "", fmt.Errorf("%q is not a date: no day %d in month %d.", orig, d, m)
		}
		return fmt.Sprintf("--%02d-%02d", m, d), nil
	}

	y, m, d, err := splitDateParts(s, order)
	if err != nil {
		return "", fmt.Errorf("%q is not a date: %s", orig, err.Error())
	}
	jalali := y < 1700
	switch {
	case cal == text.CalendarJalali && !jalali:
		return "", fmt.Errorf("%q is not a Jalali date: year %d is Gregorian. Write Jalali dates (1364/01/26) or import with the Gregorian calendar.", orig, y)
	case cal == text.CalendarGregorian && jalali:
		return "", fmt.Errorf("%q is not a Gregorian date: year %d looks Jalali. Write Gregorian dates (1985-04-15) or import with the Jalali calendar.", orig, y)
	}
	if jalali {
		if y < 1200 {
			// Also keeps every converted date at Gregorian 1821 or later,
			// so it reads back as Gregorian.
			return "", fmt.Errorf("%q is not a plausible birthday: Jalali year %d is before 1200.", orig, y)
		}
		t, err := text.FromJalali(y, m, d, nil)
		if err != nil {
			return "", fmt.Errorf("%q is not a Jalali date: %s.", orig, strings.TrimPrefix(err.Error(), "date: "))
		}
		return t.Format("2006-01-02"), nil
	}
	if y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > gregorianDays(y, m) {
		return "", fmt.Errorf("%q is not a date.", orig)
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d), nil
}

// splitDateParts finds year, month and day in an ASCII-digit date.
func splitDateParts(s, order string) (y, m, d int, err error) {
	if len(s) == 8 && strings.Trim(s, "0123456789") == "" { // YYYYMMDD
		y, _ = strconv.Atoi(s[:4])
		m, _ = strconv.Atoi(s[4:6])
		d, _ = strconv.Atoi(s[6:])
		return y, m, d, nil
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
	sepDot := strings.ContainsRune(s, '.')
	if len(parts) != 3 || !numeric(parts) {
		if t, ok := parseMonthName(s); ok {
			return t.Year(), int(t.Month()), t.Day(), nil
		}
		return 0, 0, 0, fmt.Errorf("write it as YYYY-MM-DD.")
	}
	a, _ := strconv.Atoi(parts[0])
	b, _ := strconv.Atoi(parts[1])
	c, _ := strconv.Atoi(parts[2])
	switch {
	case len(parts[0]) == 4:
		return a, b, c, nil
	case len(parts[2]) == 4:
		switch {
		case sepDot, a > 12 && b <= 12:
			return c, b, a, nil
		case b > 12 && a <= 12:
			return c, a, b, nil
		case order == DateOrderMDY:
			return c, a, b, nil
		case order == DateOrderDMY:
			return c, b, a, nil
		}
		return 0, 0, 0, fmt.Errorf("day and month are ambiguous; write it as YYYY-MM-DD or choose the date order.")
	}
	return 0, 0, 0, fmt.Errorf("use a four-digit year (YYYY-MM-DD).")
}

func numeric(parts []string) bool {
	for _, p := range parts {
		if p == "" || len(p) > 4 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

var monthLayouts = []string{
	"January 2, 2006", "Jan 2, 2006", "January 2 2006", "Jan 2 2006", "2 January 2006", "2 Jan 2006",
	"2-Jan-2006", "2 January, 2006", "Monday, January 2, 2006",
}

func parseMonthName(s string) (time.Time, bool) {
	s = strings.Join(strings.Fields(s), " ")
	// time.Parse wants "Apr", not "APR" or "apr".
	s = strings.Map(func(r rune) rune { return unicode.ToLower(r) }, s)
	b := []rune(s)
	for i := range b {
		if unicode.IsLetter(b[i]) && (i == 0 || !unicode.IsLetter(b[i-1])) {
			b[i] = unicode.ToUpper(b[i])
		}
	}
	s = string(b)
	for _, l := range monthLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func atoi2(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func gregorianDays(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
