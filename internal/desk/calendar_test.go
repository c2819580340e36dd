package desk

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

var tehran = mustLoc("Asia/Tehran")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// iranWeek is a shop in Tehran: Saturday to Wednesday 08:00–16:00 with a
// lunch break 12:00–13:00, Thursday 08:00–12:00, Friday off; 1405/01/01
// (2026-03-21, a Saturday) and the day after are Nowruz holidays.
func iranWeek(t *testing.T) *Calendar {
	t.Helper()
	bc := &crm.BusinessCalendar{Name: "Tehran", TimeZone: "Asia/Tehran",
		Holidays: []crm.Holiday{{Date: "2026-03-21", Name: "Nowruz"}, {Date: "2026-03-22", Name: "Nowruz"}}}
	for _, d := range []int{6, 0, 1, 2, 3} {
		bc.Hours = append(bc.Hours, crm.WorkingSpan{Day: d, Start: "08:00", End: "12:00"}, crm.WorkingSpan{Day: d, Start: "13:00", End: "16:00"})
	}
	bc.Hours = append(bc.Hours, crm.WorkingSpan{Day: 4, Start: "08:00", End: "12:00"})
	c, err := CompileCalendar(bc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, tehran)
}

func TestCalendarAdd(t *testing.T) {
	c := iranWeek(t)
	// 2026-03-04 is a Wednesday.
	for _, tc := range []struct {
		name  string
		from  time.Time
		mins  int
		want  time.Time
		hours time.Duration // expected working time between, when not mins
	}{
		{"inside a span", at(2026, 3, 4, 9, 0), 60, at(2026, 3, 4, 10, 0), 0},
		{"over lunch", at(2026, 3, 4, 11, 30), 60, at(2026, 3, 4, 13, 30), 0},
		{"Wednesday evening to Thursday", at(2026, 3, 4, 15, 30), 60, at(2026, 3, 5, 8, 30), 0},
		{"Thursday noon over the weekend", at(2026, 3, 5, 11, 30), 60, at(2026, 3, 7, 8, 30), 0},
		{"created on Friday", at(2026, 3, 6, 10, 0), 60, at(2026, 3, 7, 9, 0), 0},
		{"before opening", at(2026, 3, 7, 6, 0), 30, at(2026, 3, 7, 8, 30), 0},
		{"after closing", at(2026, 3, 7, 20, 0), 30, at(2026, 3, 8, 8, 30), 0},
		{"a whole week", at(2026, 3, 7, 8, 0), 5*7*60 + 4*60, at(2026, 3, 12, 12, 0), 0},
		{"Nowruz holidays skipped", at(2026, 3, 19, 11, 0), 120, at(2026, 3, 23, 9, 0), 0},
		{"zero is now, even off hours", at(2026, 3, 6, 10, 0), 0, at(2026, 3, 6, 10, 0), 0},
	} {
		got, err := c.Add(tc.from, time.Duration(tc.mins)*time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !got.Equal(tc.want) {
			t.Errorf("%s: Add(%s, %dm) = %s, want %s", tc.name, tc.from, tc.mins, got.In(tehran), tc.want)
		}
		if b := c.Between(tc.from, got); b != time.Duration(tc.mins)*time.Minute {
			t.Errorf("%s: Between = %s, want %dm", tc.name, b, tc.mins)
		}
	}
}

// TestCalendarAddBetween: for random starts and durations, the working
// time between t and Add(t, d) is d, and Add lands on working time (or
// the end of a span).
func TestCalendarAddBetween(t *testing.T) {
	c := iranWeek(t)
	r := rand.New(rand.NewPCG(1, 2))
	base := at(2026, 1, 1, 0, 0)
	for range 2000 {
		from := base.Add(time.Duration(r.IntN(400*24*60)) * time.Minute)
		d := time.Duration(r.IntN(60*24*10)) * time.Minute
		got, err := c.Add(from, d)
		if err != nil {
			t.Fatal(err)
		}
		if b := c.Between(from, got); b != d {
			t.Fatalf("Between(%s, Add(…, %s) = %s) = %s", from, d, got, b)
		}
		if d > 0 && !c.Working(got.Add(-time.Minute)) {
			t.Fatalf("Add(%s, %s) = %s: the minute before is not working time", from, d, got.In(tehran))
		}
	}
}

func TestCalendarValidation(t *testing.T) {
	_, err := CompileCalendar(&crm.BusinessCalendar{TimeZone: "Mars/Olympus", Hours: []crm.WorkingSpan{
		{Day: 7, Start: "08:00", End: "16:00"}, {Day: 1, Start: "8", End: "16:00"}, {Day: 2, Start: "16:00", End: "08:00"},
		{Day: 3, Start: "08:00", End: "12:00"}, {Day: 3, Start: "11:00", End: "14:00"}, {Day: 4, Start: "08:00", End: "24:01"}},
		Holidays: []crm.Holiday{{Date: "1405/01/01"}}})
	f := crm.ErrorFields(err)
	for _, k := range []string{"time_zone", "hours[0].day", "hours[1].start", "hours[2].end", "hours", "hours[5].end", "holidays[0].date"} {
		if f[k] == "" {
			t.Errorf("no error on %s: %v", k, err)
		}
	}
	if _, err := CompileCalendar(&crm.BusinessCalendar{TimeZone: "UTC"}); crm.ErrorFields(err)["hours"] == "" {
		t.Errorf("a calendar without hours: %v", err)
	}
	c, err := CompileCalendar(&crm.BusinessCalendar{TimeZone: "UTC", Hours: []crm.WorkingSpan{{Day: 1, Start: "00:00", End: "24:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := c.Add(time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC), 2*time.Hour) // a Monday
	if want := time.Date(2026, 3, 9, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("24:00 span: %s, want %s", got, want)
	}
}

// policy is a first response in 60 and a resolution in 8 working hours,
// warned 15 minutes ahead.
func policy() *crm.SLAPolicy {
	return &crm.SLAPolicy{Name: "normal", Active: true, FirstResponseMinutes: 60, ResolutionMinutes: 480, WarnMinutes: 15}
}

func timerOf(t *testing.T, plans []timerPlan, metric string) timerPlan {
	t.Helper()
	for _, p := range plans {
		if p.Metric == metric {
			return p
		}
	}
	t.Fatalf("no %s timer", metric)
	return timerPlan{}
}

func ptr(t time.Time) *time.Time { return &t }

func TestPlanTimers(t *testing.T) {
	c := iranWeek(t)
	created := at(2026, 3, 4, 15, 30) // Wednesday, half an hour before closing
	changes := func(cs ...statusChange) []statusChange {
		return append([]statusChange{{At: created, To: crm.TicketNew}}, cs...)
	}
	t.Run("over the weekend", func(t *testing.T) {
		plans, err := planTimers(policy(), c, slaFacts{Created: created, Statuses: changes()})
		if err != nil {
			t.Fatal(err)
		}
		fr := timerOf(t, plans, crm.MetricFirstResponse)
		if !fr.DueAt.Equal(at(2026, 3, 5, 8, 30)) || !fr.WarnAt.Equal(at(2026, 3, 5, 8, 15)) || fr.SatisfiedAt != nil {
			t.Errorf("first response %+v", fr)
		}
		// 30 min Wed + 4h Thu + 3h30 Sat.
		res := timerOf(t, plans, crm.MetricResolution)
		if !res.DueAt.Equal(at(2026, 3, 7, 11, 30)) {
			t.Errorf("resolution due %s", res.DueAt.In(tehran))
		}
	})
	t.Run("pending pauses", func(t *testing.T) {
		open := at(2026, 3, 4, 15, 40)
		pend := at(2026, 3, 4, 15, 50) // 20 min used
		back := at(2026, 3, 7, 10, 0)  // the customer answers on Saturday
		f := slaFacts{Created: created, Statuses: changes(statusChange{open, crm.TicketNew, crm.TicketOpen},
			statusChange{pend, crm.TicketOpen, crm.TicketPending})}
		plans, _ := planTimers(policy(), c, f)
		fr := timerOf(t, plans, crm.MetricFirstResponse)
		if !fr.Paused || fr.Remaining != 40*time.Minute || fr.DueAt != nil {
			t.Errorf("while pending: %+v", fr)
		}
		f.Statuses = append(f.Statuses, statusChange{back, crm.TicketPending, crm.TicketOpen})
		plans, _ = planTimers(policy(), c, f)
		fr = timerOf(t, plans, crm.MetricFirstResponse)
		if fr.Paused || !fr.DueAt.Equal(at(2026, 3, 7, 10, 40)) {
			t.Errorf("after pending: %+v (due %s)", fr, fr.DueAt.In(tehran))
		}
	})
	t.Run("on hold pauses only when the policy says", func(t *testing.T) {
		hold := at(2026, 3, 4, 15, 45)
		f := slaFacts{Created: created, Statuses: changes(statusChange{hold, crm.TicketNew, crm.TicketOnHold})}
		plans, _ := planTimers(policy(), c, f)
		if fr := timerOf(t, plans, crm.MetricFirstResponse); fr.Paused {
			t.Errorf("on hold paused without pause_on_hold: %+v", fr)
		}
		p := policy()
		p.PauseOnHold = true
		plans, _ = planTimers(p, c, f)
		if fr := timerOf(t, plans, crm.MetricFirstResponse); !fr.Paused || fr.Remaining != 45*time.Minute {
			t.Errorf("on hold with pause_on_hold: %+v", fr)
		}
	})
	t.Run("met, missed and reopened", func(t *testing.T) {
		reply := at(2026, 3, 5, 9, 0) // after the 08:30 deadline
		solved := at(2026, 3, 5, 9, 30)
		f := slaFacts{Created: created, FirstReply: &reply, Statuses: changes(statusChange{reply, crm.TicketNew, crm.TicketOpen},
			statusChange{solved, crm.TicketOpen, crm.TicketSolved})}
		plans, _ := planTimers(policy(), c, f)
		fr := timerOf(t, plans, crm.MetricFirstResponse)
		if fr.SatisfiedAt == nil || !fr.SatisfiedAt.Equal(reply) || crm.TimerStatus(fr.DueAt, fr.SatisfiedAt, fr.Paused, solved) != crm.SLAMissed {
			t.Errorf("first response: %+v", fr)
		}
		res := timerOf(t, plans, crm.MetricResolution)
		if res.SatisfiedAt == nil || !res.SatisfiedAt.Equal(solved) || crm.TimerStatus(res.DueAt, res.SatisfiedAt, false, solved) != crm.SLAHit {
			t.Errorf("resolution: %+v", res)
		}
		// Reopened on Saturday 10:00: the time while solved does not count.
		reopen := at(2026, 3, 7, 10, 0)
		f.Statuses = append(f.Statuses, statusChange{reopen, crm.TicketSolved, crm.TicketOpen})
		plans, _ = planTimers(policy(), c, f)
		res = timerOf(t, plans, crm.MetricResolution)
		// Used: 30 min Wed + 1h30 Thu (08:00–09:30) = 2h; 6h left from Sat 10:00: 10–12, 13–16 (5h), Sun 08:00–09:00.
		if res.SatisfiedAt != nil || !res.DueAt.Equal(at(2026, 3, 8, 9, 0)) {
			t.Errorf("reopened: %+v (due %s)", res, res.DueAt.In(tehran))
		}
		if fr := timerOf(t, plans, crm.MetricFirstResponse); fr.SatisfiedAt == nil {
			t.Error("a reopen undid the first response")
		}
	})
	t.Run("solved without a reply meets the first response", func(t *testing.T) {
		solved := at(2026, 3, 4, 15, 50)
		f := slaFacts{Created: created, Statuses: changes(statusChange{solved, crm.TicketNew, crm.TicketSolved})}
		plans, _ := planTimers(policy(), c, f)
		if fr := timerOf(t, plans, crm.MetricFirstResponse); fr.SatisfiedAt == nil || !fr.SatisfiedAt.Equal(solved) {
			t.Errorf("%+v", fr)
		}
	})
	t.Run("around the clock", func(t *testing.T) {
		plans, _ := planTimers(policy(), AlwaysOpen(), slaFacts{Created: created, Statuses: changes()})
		if fr := timerOf(t, plans, crm.MetricFirstResponse); !fr.DueAt.Equal(created.Add(time.Hour)) {
			t.Errorf("%+v", fr)
		}
	})
	t.Run("warning longer than the target", func(t *testing.T) {
		p := policy()
		p.FirstResponseMinutes, p.WarnMinutes = 10, 30
		plans, _ := planTimers(p, c, slaFacts{Created: created, Statuses: changes()})
		if fr := timerOf(t, plans, crm.MetricFirstResponse); !fr.WarnAt.Equal(created) {
			t.Errorf("warn at %s", fr.WarnAt)
		}
	})
}

func TestChoosePolicy(t *testing.T) {
	urgent := &crm.SLAPolicy{ID: 1, Active: true, Conditions: crm.SLAConditions{Priorities: []string{crm.PriorityUrgent}}}
	vip := &crm.SLAPolicy{ID: 2, Active: true, Conditions: crm.SLAConditions{Tiers: []string{"Gold"}, Categories: []string{"billing"}}}
	off := &crm.SLAPolicy{ID: 3, Active: false}
	all := &crm.SLAPolicy{ID: 4, Active: true}
	ps := []*crm.SLAPolicy{urgent, vip, off, all}
	for _, tc := range []struct {
		f    policyFacts
		want int64
	}{
		{policyFacts{Priority: crm.PriorityUrgent}, 1},
		{policyFacts{Priority: crm.PriorityNormal, Category: "Billing", Tiers: []string{"gold"}}, 2},
		{policyFacts{Priority: crm.PriorityNormal, Category: "billing"}, 4},
		{policyFacts{Priority: crm.PriorityLow}, 4},
	} {
		if got := choosePolicy(ps, tc.f); got == nil || got.ID != tc.want {
			t.Errorf("%+v: got %v, want %d", tc.f, got, tc.want)
		}
	}
	if got := choosePolicy([]*crm.SLAPolicy{urgent, off}, policyFacts{Priority: crm.PriorityLow}); got != nil {
		t.Errorf("nothing should match, got %d", got.ID)
	}
}
