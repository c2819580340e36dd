package text

import (
	"fmt"
	"strings"
	"time"
)

// Calendar names accepted by ParseDate and FormatDate.
const (
	CalendarGregorian = "gregorian"
	CalendarJalali    = "jalali"
)

// ParseDate parses a date typed by a user, "YYYY-MM-DD" or "YYYY/MM/DD",
// in the given calendar ("gregorian" or "jalali"; case-insensitive; ""
// means gregorian) and returns midnight at the start of that day in loc
// (UTC if loc is nil).
//
// Digits may be ASCII, Persian or Arabic-Indic (mixed is fine). The year
// must have four digits; month and day one or two, so "1403/1/5" is
// accepted. Both separators must be the same. Surrounding white space and
// invisible bidi/zero-width marks anywhere in the input are ignored, because
// copy-paste from right-to-left text inserts them around numbers.
//
// Errors start with "date:" and say what is wrong, e.g.
// "date: month 13 out of range 1-12".
func ParseDate(s string, calendar string, loc *time.Location) (time.Time, error) {
	cal, err := parseCalendar(calendar)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d, err := splitDate(s)
	if err != nil {
		return time.Time{}, err
	}
	if cal == CalendarJalali {
		return FromJalali(y, m, d, loc)
	}
	if y < 1 {
		return time.Time{}, fmt.Errorf("date: year %d out of range 1-9999", y)
	}
	if m < 1 || m > 12 {
		return time.Time{}, fmt.Errorf("date: month %d out of range 1-12", m)
	}
	if n := gregorianMonthLength(y, m); d < 1 || d > n {
		return time.Time{}, fmt.Errorf("date: day %d out of range 1-%d for %s %04d", d, n, time.Month(m), y)
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc), nil
}

// FormatDate returns t's date (in t's own location) as "YYYY-MM-DD" with
// ASCII digits, in the given calendar ("jalali", or Gregorian for anything
// else). Display layers convert digits themselves. For the Jalali calendar,
// dates outside the supported range (Gregorian 622-03-22 to 3798-03-19)
// give "".
func FormatDate(t time.Time, calendar string) string {
	if strings.EqualFold(strings.TrimSpace(calendar), CalendarJalali) {
		j := ToJalali(t)
		if j.Year == 0 {
			return ""
		}
		return j.String()
	}
	y, m, d := t.Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
}

func parseCalendar(calendar string) (string, error) {
	switch c := strings.ToLower(strings.TrimSpace(calendar)); c {
	case "", CalendarGregorian:
		return CalendarGregorian, nil
	case CalendarJalali:
		return CalendarJalali, nil
	default:
		return "", fmt.Errorf("date: unknown calendar %q (want %q or %q)", calendar, CalendarGregorian, CalendarJalali)
	}
}

// splitDate parses "YYYY-MM-DD" or "YYYY/MM/DD" (any digit set) into its
// numeric parts without checking ranges.
func splitDate(s string) (y, m, d int, err error) {
	clean := strings.TrimSpace(strings.Map(func(r rune) rune {
		if isFormatControl(r) {
			return -1
		}
		return r
	}, ToASCIIDigits(s)))
	bad := func() (int, int, int, error) {
		return 0, 0, 0, fmt.Errorf("date: %q is not in YYYY-MM-DD or YYYY/MM/DD form", s)
	}

	// Year: exactly four digits.
	if len(clean) < 4 {
		return bad()
	}
	y, ok := atoi(clean[:4])
	if !ok {
		return bad()
	}
	rest := clean[4:]
	if rest == "" || (rest[0] != '-' && rest[0] != '/') {
		return bad()
	}
	sep := rest[0]
	rest = rest[1:]

	i := strings.IndexByte(rest, sep)
	if i < 0 {
		return bad()
	}
	m, ok = atoi(rest[:i])
	if !ok || i > 2 {
		return bad()
	}
	rest = rest[i+1:]
	d, ok = atoi(rest)
	if !ok || len(rest) > 2 {
		return bad()
	}
	return y, m, d, nil
}

// atoi parses a non-empty string of ASCII digits (at most 9 of them).
func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func gregorianMonthLength(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	default:
		return 31
	}
}
