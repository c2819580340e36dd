package desk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Calendar is a business calendar ready for arithmetic: the working
// spans of each weekday in minutes from local midnight, the holidays,
// and the time zone. SLA targets are counted in its working time.
type Calendar struct {
	loc      *time.Location
	spans    [7][]span // by time.Weekday, sorted, not overlapping
	holidays map[string]bool
	always   bool // around the clock: no calendar
}

// span is working time on one day, [start, end) in minutes from local
// midnight; end may be 1440.
type span struct{ start, end int }

// maxCalendarDays bounds the days a deadline may be looked for in: ten
// years of a calendar with only holidays left is a mistake, not a date.
const maxCalendarDays = 3660

// AlwaysOpen is the calendar of a policy without one: every minute
// counts.
func AlwaysOpen() *Calendar { return &Calendar{loc: time.UTC, always: true} }

// CompileCalendar checks a business calendar and makes it ready for
// arithmetic. Problems are named by field: time_zone, hours[i].start …
func CompileCalendar(bc *crm.BusinessCalendar) (*Calendar, error) {
	var v crm.Validation
	c := &Calendar{holidays: map[string]bool{}}
	loc, err := time.LoadLocation(strings.TrimSpace(bc.TimeZone))
	if bc.TimeZone == "" || err != nil {
		v.Add("time_zone", "Use a time zone such as Asia/Tehran or Europe/Berlin.")
		loc = time.UTC
	}
	c.loc = loc
	for i, h := range bc.Hours {
		f := fmt.Sprintf("hours[%d].", i)
		if h.Day < 0 || h.Day > 6 {
			v.Add(f+"day", "Use a weekday from 0 (Sunday) to 6 (Saturday).")
			continue
		}
		s, ok1 := clockMinutes(h.Start)
		e, ok2 := clockMinutes(h.End)
		switch {
		case !ok1:
			v.Add(f+"start", "Use a time of day such as 08:00.")
		case !ok2:
			v.Add(f+"end", "Use a time of day such as 16:30, or 24:00 for midnight.")
		case e <= s:
			v.Add(f+"end", "The end (%s) must be after the start (%s).", h.End, h.Start)
		default:
			c.spans[h.Day] = append(c.spans[h.Day], span{s, e})
		}
	}
	for d := range c.spans {
		slices.SortFunc(c.spans[d], func(a, b span) int { return a.start - b.start })
		for i := 1; i < len(c.spans[d]); i++ {
			if c.spans[d][i].start < c.spans[d][i-1].end {
				v.Add("hours", "Two spans of %s overlap.", time.Weekday(d))
			}
		}
	}
	if len(bc.Hours) == 0 {
		v.Add("hours", "Give at least one span of working hours.")
	}
	for i, h := range bc.Holidays {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(h.Date))
		if err != nil {
			v.Add(fmt.Sprintf("holidays[%d].date", i), "Use a date such as 2026-03-21.")
			continue
		}
		c.holidays[t.Format(time.DateOnly)] = true
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// clockMinutes reads HH:MM (00:00 … 24:00) as minutes from midnight.
func clockMinutes(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 || len(h) < 1 || len(h) > 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return 0, false
	}
	return hh*60 + mm, true
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// day returns the working intervals of the local day that starts at
// midnight (in c.loc), as instants.
func (c *Calendar) day(midnight time.Time) [][2]time.Time {
	if c.holidays[midnight.Format(time.DateOnly)] {
		return nil
	}
	y, m, d := midnight.Date()
	spans := c.spans[midnight.Weekday()]
	out := make([][2]time.Time, 0, len(spans))
	for _, s := range spans {
		a := time.Date(y, m, d, s.start/60, s.start%60, 0, 0, c.loc)
		b := time.Date(y, m, d, s.end/60, s.end%60, 0, 0, c.loc)
		out = append(out, [2]time.Time{a, b})
	}
	return out
}

// midnight returns the start of the local day holding t.
func (c *Calendar) midnight(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc)
}

// Add returns the instant at which d of working time has passed since t.
// With d = 0 it is t itself. The error says the calendar has no working
// time within ten years.
func (c *Calendar) Add(t time.Time, d time.Duration) (time.Time, error) {
	if d <= 0 {
		return t, nil
	}
	if c.always {
		return t.Add(d), nil
	}
	day := c.midnight(t)
	for range maxCalendarDays {
		for _, iv := range c.day(day) {
			if !iv[1].After(t) {
				continue
			}
			s := iv[0]
			if t.After(s) {
				s = t
			}
			avail := iv[1].Sub(s)
			if d <= avail {
				return s.Add(d).UTC(), nil
			}
			d -= avail
		}
		y, m, dd := day.Date()
		day = time.Date(y, m, dd+1, 0, 0, 0, 0, c.loc)
	}
	return time.Time{}, crm.Errorf(crm.EINVALID, "The business calendar has no working time in the next ten years.")
}

// Between returns the working time in [a, b).
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c.always {
		return b.Sub(a)
	}
	var total time.Duration
	day := c.midnight(a)
	for range maxCalendarDays * 3 {
		if !day.Before(b) {
			break
		}
		for _, iv := range c.day(day) {
			s, e := iv[0], iv[1]
			if s.Before(a) {
				s = a
			}
			if e.After(b) {
				e = b
			}
			if e.After(s) {
				total += e.Sub(s)
			}
		}
		y, m, dd := day.Date()
		day = time.Date(y, m, dd+1, 0, 0, 0, 0, c.loc)
	}
	return total
}

// Working reports whether t falls in working time.
func (c *Calendar) Working(t time.Time) bool {
	if c.always {
		return true
	}
	for _, iv := range c.day(c.midnight(t)) {
		if !t.Before(iv[0]) && t.Before(iv[1]) {
			return true
		}
	}
	return false
}

// interval is a stretch of time, [Start, End); a zero End is still going.
type interval struct{ Start, End time.Time }

// deadline returns when target of working time has run since start,
// not counting the pauses (sorted, not overlapping; the last may still be
// going). When the clock stands still in a pause that is still going,
// paused is true and remaining is the working time left.
func (c *Calendar) deadline(start time.Time, target time.Duration, pauses []interval) (due time.Time, paused bool, remaining time.Duration, err error) {
	cur, rem := start, target
	for _, p := range pauses {
		if !p.End.IsZero() && !p.End.After(cur) {
			continue
		}
		if p.Start.After(cur) {
			avail := c.Between(cur, p.Start)
			if rem <= avail {
				due, err = c.Add(cur, rem)
				return due, false, 0, err
			}
			rem -= avail
		}
		if p.End.IsZero() {
			return time.Time{}, true, rem, nil
		}
		cur = p.End
	}
	due, err = c.Add(cur, rem)
	return due, false, 0, err
}
