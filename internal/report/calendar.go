package report

import (
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/text"
)

// Day is a date in the business time zone, written yyyymmdd (Gregorian),
// as report_days stores it. Reports bucket orders by the local date on
// which they were placed: an order at 23:59 in Tehran belongs to that
// day, whatever the UTC date.
type Day int

// DayOf returns the local date of t in loc.
func DayOf(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Day(y*10000 + int(m)*100 + d)
}

// DayFromDate returns the Day of a Gregorian date.
func DayFromDate(y, m, d int) Day { return Day(y*10000 + m*100 + d) }

// Date returns the Gregorian year, month and day.
func (d Day) Date() (y, m, dd int) { return int(d) / 10000, int(d) / 100 % 100, int(d) % 100 }

// Start returns midnight at the start of the day in loc.
func (d Day) Start(loc *time.Location) time.Time {
	y, m, dd := d.Date()
	return time.Date(y, time.Month(m), dd, 0, 0, 0, 0, loc)
}

// civil returns the date as a UTC time, for date arithmetic.
func (d Day) civil() time.Time {
	y, m, dd := d.Date()
	return time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC)
}

// AddDays returns the date n days later (earlier when n < 0).
func (d Day) AddDays(n int) Day {
	t := d.civil().AddDate(0, 0, n)
	return DayFromDate(t.Year(), int(t.Month()), t.Day())
}

// Since returns the number of days from e to d.
func (d Day) Since(e Day) int { return int(d.civil().Sub(e.civil()).Hours() / 24) }

// Valid reports whether d is a real date.
func (d Day) Valid() bool {
	y, m, dd := d.Date()
	t := time.Date(y, time.Month(m), dd, 0, 0, 0, 0, time.UTC)
	return y >= 1 && y <= 9999 && t.Year() == y && int(t.Month()) == m && t.Day() == dd
}

// String is the date as YYYY-MM-DD.
func (d Day) String() string {
	y, m, dd := d.Date()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

// Calendars.
const (
	Gregorian = text.CalendarGregorian
	Jalali    = text.CalendarJalali
)

// Month numbers a month of a calendar: year*12 + month - 1, so months
// compare and subtract as integers (month m+1 follows m).
type Month int

// MonthOf returns the month of calendar that day d falls in.
func MonthOf(d Day, calendar string) Month {
	y, m, dd := d.Date()
	if calendar == Jalali {
		jy, jm, _ := text.GregorianToJalali(y, m, dd)
		return Month(jy*12 + jm - 1)
	}
	return Month(y*12 + m - 1)
}

// YearMonth returns the month's year and month (1-12) in its calendar.
func (m Month) YearMonth() (y, mo int) { return int(m) / 12, int(m)%12 + 1 }

// First returns the first day of month m of calendar.
func (m Month) First(calendar string) Day {
	y, mo := m.YearMonth()
	if calendar == Jalali {
		gy, gm, gd := text.JalaliToGregorian(y, mo, 1)
		return DayFromDate(gy, gm, gd)
	}
	return DayFromDate(y, mo, 1)
}

// Last returns the last day of month m of calendar.
func (m Month) Last(calendar string) Day { return (m + 1).First(calendar).AddDays(-1) }

// Range is a span of days, both ends included.
type Range struct {
	From, To Day
}

// Days returns the number of days in the range.
func (r Range) Days() int { return r.To.Since(r.From) + 1 }

// Contains reports whether d is in the range.
func (r Range) Contains(d Day) bool { return d >= r.From && d <= r.To }

// Previous returns the range of the same length just before r.
func (r Range) Previous() Range {
	n := r.Days()
	return Range{From: r.From.AddDays(-n), To: r.From.AddDays(-1)}
}

// Months returns the months of calendar that r touches, in order.
func (r Range) Months(calendar string) []Month {
	if r.To < r.From {
		return nil
	}
	var out []Month
	for m := MonthOf(r.From, calendar); m <= MonthOf(r.To, calendar); m++ {
		out = append(out, m)
	}
	return out
}

// Clip returns the part of month m of calendar inside r.
func (r Range) Clip(m Month, calendar string) Range {
	c := Range{From: m.First(calendar), To: m.Last(calendar)}
	c.From, c.To = max(c.From, r.From), min(c.To, r.To)
	return c
}

// WholeMonths reports whether r starts on the first day of a month of
// calendar and ends on the last day of one.
func (r Range) WholeMonths(calendar string) bool {
	return r.From == MonthOf(r.From, calendar).First(calendar) && r.To == MonthOf(r.To, calendar).Last(calendar)
}

// Preset names of common ranges, in the viewer's calendar, ending today.
const (
	PresetThisMonth    = "this_month"
	PresetLastMonth    = "last_month"
	PresetLast3Months  = "last_3_months"
	PresetLast12Months = "last_12_months"
	PresetThisYear     = "this_year"
	PresetLastYear     = "last_year"
)

// Presets lists the preset names in the order a picker shows them.
var Presets = []string{PresetThisMonth, PresetLastMonth, PresetLast3Months, PresetLast12Months, PresetThisYear, PresetLastYear}

// PresetRange returns the range of preset name in calendar, for a today;
// ok is false for an unknown name.
func PresetRange(name string, today Day, calendar string) (Range, bool) {
	cur := MonthOf(today, calendar)
	_, mo := cur.YearMonth()
	yearStart := cur - Month(mo-1)
	switch name {
	case PresetThisMonth:
		return Range{From: cur.First(calendar), To: today}, true
	case PresetLastMonth:
		return Range{From: (cur - 1).First(calendar), To: (cur - 1).Last(calendar)}, true
	case PresetLast3Months:
		return Range{From: (cur - 2).First(calendar), To: today}, true
	case PresetLast12Months:
		return Range{From: (cur - 11).First(calendar), To: today}, true
	case PresetThisYear:
		return Range{From: yearStart.First(calendar), To: today}, true
	case PresetLastYear:
		return Range{From: (yearStart - 12).First(calendar), To: (yearStart - 1).Last(calendar)}, true
	}
	return Range{}, false
}

// ParseDay reads a date typed in calendar (YYYY/MM/DD or YYYY-MM-DD, any
// digits: text.ParseDate) as a Day.
func ParseDay(s, calendar string) (Day, error) {
	t, err := text.ParseDate(s, calendar, time.UTC)
	if err != nil {
		return 0, err
	}
	return DayFromDate(t.Year(), int(t.Month()), t.Day()), nil
}

// FormatDay writes d in calendar as YYYY/MM/DD (ASCII digits), the form
// ParseDay reads.
func FormatDay(d Day, calendar string) string {
	y, m, dd := d.Date()
	if calendar == Jalali {
		y, m, dd = text.GregorianToJalali(y, m, dd)
	}
	return fmt.Sprintf("%04d/%02d/%02d", y, m, dd)
}
