package text

import (
	"fmt"
	"time"
)

// The Jalali (Solar Hijri) calendar.
//
// The arithmetic follows the algorithm by Kazimierz M. Borkowski ("The
// Persian calendar for 3000 years", Earth, Moon and Planets 74, 1996), as
// popularised by the jalaali-js library: the year starts at the vernal
// equinox, and leap years follow a 33-year rule whose cycle is adjusted at a
// fixed list of break years so that the arithmetic agrees with the
// astronomical calendar from Jalali year -61 to 3177. The code here is an
// independent Go implementation; Gregorian day numbers come from Howard
// Hinnant's days_from_civil / civil_from_days, which is exact for the
// proleptic Gregorian calendar.
//
// Months 1–6 have 31 days, months 7–11 have 30 days, and Esfand (month 12)
// has 29 days, or 30 in a leap year.

// Supported Jalali years. The algorithm itself covers -61..3177; year 3177
// is excluded because converting dates in early 3799 (Gregorian) needs the
// parameters of Jalali year 3178, and years before 1 have no use here.
// Gregorian equivalent: 622-03-22 to 3798-03-19.
const (
	minJalaliYear = 1
	maxJalaliYear = 3176
)

// jalaliBreaks are the Jalali years at which the 33-year leap cycle is
// re-anchored (Borkowski 1996).
var jalaliBreaks = [...]int{
	-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210,
	1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178,
}

// JalaliDate is a date in the Jalali (Solar Hijri) calendar. Month is 1
// (Farvardin) to 12 (Esfand). The zero value means "no date" (out of the
// supported range).
type JalaliDate struct{ Year, Month, Day int }

// String returns the date as "YYYY-MM-DD" with ASCII digits.
func (d JalaliDate) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// jalCal returns, for Jalali year jy (which must be within jalaliBreaks),
// the number of years since the last leap year (0 means jy itself is leap),
// the Gregorian year in which jy starts, and the day of March on which it
// starts (1 Farvardin).
func jalCal(jy int) (leap, gy, march int) {
	gy = jy + 621
	leapJ := -14
	jp := jalaliBreaks[0]
	jump := 0
	for _, jm := range jalaliBreaks[1:] {
		jump = jm - jp
		if jy < jm {
			break
		}
		leapJ += jump/33*8 + jump%33/4
		jp = jm
	}
	n := jy - jp

	// Leap years from AD 621 to the start of jy in the Jalali calendar...
	leapJ += n/33*8 + (n%33+3)/4
	if jump%33 == 4 && jump-n == 4 {
		leapJ++
	}
	// ...and in the Gregorian calendar up to gy.
	leapG := gy/4 - (gy/100+1)*3/4 - 150
	march = 20 + leapJ - leapG

	// Years since the last leap year. Go's / and % truncate towards zero,
	// which is what the published algorithm expects.
	if jump-n < 6 {
		n = n - jump + (jump+4)/33*33
	}
	leap = ((n+1)%33 - 1) % 4
	if leap == -1 {
		leap = 4
	}
	return leap, gy, march
}

// jalaliToDays converts a Jalali date (jy in range, jm 1..12, any jd) to a
// day number (days since 1970-01-01). jd is linear, so days past the end of
// the month carry into the following months.
func jalaliToDays(jy, jm, jd int) int {
	_, gy, march := jalCal(jy)
	return daysFromCivil(gy, 3, march) + (jm-1)*31 - jm/7*(jm-7) + jd - 1
}

// daysToJalali converts a day number to a Jalali date. The day must lie
// within the supported range.
func daysToJalali(days int) (jy, jm, jd int) {
	gy, _, _ := civilFromDays(days)
	jy = gy - 621
	leap, _, march := jalCal(jy)
	k := days - daysFromCivil(gy, 3, march) // days since 1 Farvardin of jy
	if k >= 0 {
		if k <= 185 { // Farvardin..Shahrivar, 31 days each
			return jy, 1 + k/31, k%31 + 1
		}
		k -= 186
	} else {
		// Before 1 Farvardin: the date is in the previous Jalali year,
		// counted from 1 Mehr (month 7).
		jy--
		k += 179
		if leap == 1 { // jy-1 was a leap year
			k++
		}
	}
	return jy, 7 + k/30, k%30 + 1
}

// Day numbers (days since 1970-01-01) of the first and last supported days.
var (
	minJalaliDays = jalaliToDays(minJalaliYear, 1, 1)
	maxJalaliDays = jalaliToDays(maxJalaliYear+1, 1, 1) - 1
)

// Guard for the normalising conversions: values beyond this are rejected
// before any arithmetic so that nothing can overflow.
const maxComponent = 1 << 30

// GregorianToJalali converts a Gregorian date to the Jalali calendar.
// Month and day values outside their usual ranges are normalised the way
// time.Date does (2024-02-30 is 2024-03-01). Dates outside the supported
// range (Jalali years 1–3176, Gregorian 622-03-22 to 3798-03-19) give
// (0, 0, 0).
func GregorianToJalali(y, m, d int) (jy, jm, jd int) {
	if !small(y) || !small(m) || !small(d) {
		return 0, 0, 0
	}
	y += floorDiv(m-1, 12)
	m = floorMod(m-1, 12) + 1
	if y < 600 || y > 3900 {
		return 0, 0, 0
	}
	days := daysFromCivil(y, m, d)
	if days < minJalaliDays || days > maxJalaliDays {
		return 0, 0, 0
	}
	return daysToJalali(days)
}

// JalaliToGregorian converts a Jalali date to the Gregorian calendar.
// Month and day values outside their usual ranges are normalised the way
// time.Date does (1404-12-30, which does not exist, is 1405-01-01). Use
// FromJalali to reject invalid dates instead. Years outside the supported
// range 1–3176 (after normalisation) give (0, 0, 0).
func JalaliToGregorian(jy, jm, jd int) (gy, gm, gd int) {
	if !small(jy) || !small(jm) || !small(jd) {
		return 0, 0, 0
	}
	jy += floorDiv(jm-1, 12)
	jm = floorMod(jm-1, 12) + 1
	if jy < minJalaliYear || jy > maxJalaliYear {
		return 0, 0, 0
	}
	return civilFromDays(jalaliToDays(jy, jm, jd))
}

// IsJalaliLeap reports whether Jalali year jy has 366 days (30 days in
// Esfand). It returns false for years outside the supported range 1–3176.
func IsJalaliLeap(jy int) bool {
	if jy < minJalaliYear || jy > maxJalaliYear {
		return false
	}
	leap, _, _ := jalCal(jy)
	return leap == 0
}

// JalaliMonthLength returns the number of days in month jm of Jalali year
// jy: 31 for months 1–6, 30 for months 7–11, and 29 or 30 (leap year) for
// Esfand. It returns 0 if jm is not 1–12 or jy is outside 1–3176.
func JalaliMonthLength(jy, jm int) int {
	switch {
	case jy < minJalaliYear || jy > maxJalaliYear || jm < 1 || jm > 12:
		return 0
	case jm <= 6:
		return 31
	case jm <= 11:
		return 30
	case IsJalaliLeap(jy):
		return 30
	default:
		return 29
	}
}

// ToJalali returns the Jalali date of t's own year, month and day in t's
// location (no conversion to UTC). Times outside the supported range give
// the zero JalaliDate.
func ToJalali(t time.Time) JalaliDate {
	y, m, d := t.Date()
	jy, jm, jd := GregorianToJalali(y, int(m), d)
	return JalaliDate{Year: jy, Month: jm, Day: jd}
}

// FromJalali returns midnight at the start of the Jalali date jy-jm-jd in
// loc (UTC if loc is nil). Unlike JalaliToGregorian it does not normalise:
// it returns an error if the date does not exist, for example month 13,
// day 31 in months 7–12, or 30 Esfand in a common year.
func FromJalali(jy, jm, jd int, loc *time.Location) (time.Time, error) {
	if err := validateJalali(jy, jm, jd); err != nil {
		return time.Time{}, err
	}
	if loc == nil {
		loc = time.UTC
	}
	gy, gm, gd := JalaliToGregorian(jy, jm, jd)
	return time.Date(gy, time.Month(gm), gd, 0, 0, 0, 0, loc), nil
}

func validateJalali(jy, jm, jd int) error {
	if jy < minJalaliYear || jy > maxJalaliYear {
		return fmt.Errorf("date: jalali year %d out of supported range %d-%d", jy, minJalaliYear, maxJalaliYear)
	}
	if jm < 1 || jm > 12 {
		return fmt.Errorf("date: month %d out of range 1-12", jm)
	}
	if n := JalaliMonthLength(jy, jm); jd < 1 || jd > n {
		if jm == 12 && jd == 30 {
			return fmt.Errorf("date: day 30 out of range 1-29 for Esfand %d (not a leap year)", jy)
		}
		return fmt.Errorf("date: day %d out of range 1-%d for jalali month %d", jd, n, jm)
	}
	return nil
}

// daysFromCivil returns the number of days from 1970-01-01 to the proleptic
// Gregorian date y-m-d (m must be 1..12; d is linear). Howard Hinnant,
// "chrono-Compatible Low-Level Date Algorithms".
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400          // [0, 399]
	mp := (m + 9) % 12          // March = 0
	doy := (153*mp+2)/5 + d - 1 // day of the year starting 1 March
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int) (y, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // March = 0
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	y = yoe + era*400
	if m <= 2 {
		y++
	}
	return y, m, d
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int) int {
	return a - floorDiv(a, b)*b
}

// small reports whether |x| <= maxComponent.
func small(x int) bool {
	return -maxComponent <= x && x <= maxComponent
}
