package desk

import (
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// SLA targets are a pure function of the ticket's history, its policy
// and the policy's calendar (planTimers): recomputing them at any time
// gives the stored timers again. Only two facts are not recomputed, the
// warning and the breach having fired (warned_at, breached_at): each is
// written once, by the job that fires it (jobs.go).

// statusChange is one row of a ticket's status history.
type statusChange struct {
	At       time.Time
	From, To string
}

// slaFacts are what the timers of a ticket follow from.
type slaFacts struct {
	Created    time.Time
	Statuses   []statusChange // oldest first; the first is the ticket's first status
	FirstReply *time.Time     // the first public reply of an agent
}

// timerPlan is a timer as its history makes it.
type timerPlan struct {
	Metric      string
	DueAt       *time.Time
	WarnAt      *time.Time
	Paused      bool
	Remaining   time.Duration
	SatisfiedAt *time.Time
}

// intervals returns the stretches the ticket spent in one of the
// statuses, oldest first; the last has a zero End when it still does.
func (f slaFacts) intervals(in func(string) bool) []interval {
	var out []interval
	for i, c := range f.Statuses {
		if !in(c.To) {
			continue
		}
		iv := interval{Start: c.At}
		if i+1 < len(f.Statuses) {
			iv.End = f.Statuses[i+1].At
		}
		// Merge with the previous stretch when they touch (pending → on hold).
		if n := len(out); n > 0 && !out[n-1].End.IsZero() && !out[n-1].End.Before(iv.Start) {
			out[n-1].End = iv.End
			continue
		}
		out = append(out, iv)
	}
	return out
}

// current is the ticket's status now.
func (f slaFacts) current() string {
	if len(f.Statuses) == 0 {
		return crm.TicketNew
	}
	return f.Statuses[len(f.Statuses)-1].To
}

// firstInto returns when the ticket first went into status s.
func (f slaFacts) firstInto(s string) *time.Time {
	for _, c := range f.Statuses {
		if c.To == s {
			t := c.At
			return &t
		}
	}
	return nil
}

// lastInto returns when the ticket last went into status s.
func (f slaFacts) lastInto(s string) *time.Time {
	for i := len(f.Statuses) - 1; i >= 0; i-- {
		if f.Statuses[i].To == s {
			t := f.Statuses[i].At
			return &t
		}
	}
	return nil
}

// planTimers computes the first-response and resolution timers of a
// ticket under policy p on calendar cal.
//
//   - Both clocks start when the ticket is created and count only the
//     calendar's working time.
//   - Pending stops both clocks (on hold too, when the policy says so);
//     so does solved or closed, until a reopen starts them again.
//   - The first response is met by the first public reply of an agent,
//     or by solving the ticket, whichever comes first.
//   - The resolution is met while the ticket is solved or closed, at the
//     time it was (last) solved; a reopen makes it run again.
//   - The warning is due WarnMinutes of working time before the target
//     (at once when the target is shorter than that).
func planTimers(p *crm.SLAPolicy, cal *Calendar, f slaFacts) ([]timerPlan, error) {
	pausing := func(s string) bool {
		return s == crm.TicketPending || p.PauseOnHold && s == crm.TicketOnHold ||
			s == crm.TicketSolved || s == crm.TicketClosed
	}
	pauses := f.intervals(pausing)
	warn := time.Duration(p.WarnMinutes) * time.Minute

	var out []timerPlan
	// First response.
	{
		sat := f.FirstReply
		if solved := f.firstInto(crm.TicketSolved); solved != nil && (sat == nil || solved.Before(*sat)) {
			sat = solved
		}
		tp, err := plan(cal, crm.MetricFirstResponse, f.Created, time.Duration(p.FirstResponseMinutes)*time.Minute, warn, pauses, sat)
		if err != nil {
			return nil, err
		}
		out = append(out, tp)
	}
	// Resolution.
	{
		var sat *time.Time
		if cur := f.current(); cur == crm.TicketSolved || cur == crm.TicketClosed {
			sat = f.lastInto(crm.TicketSolved)
		}
		tp, err := plan(cal, crm.MetricResolution, f.Created, time.Duration(p.ResolutionMinutes)*time.Minute, warn, pauses, sat)
		if err != nil {
			return nil, err
		}
		out = append(out, tp)
	}
	return out, nil
}

// plan computes one timer. A met timer's deadline counts the pauses
// before it was met only.
func plan(cal *Calendar, metric string, start time.Time, target, warn time.Duration, pauses []interval, satisfied *time.Time) (timerPlan, error) {
	tp := timerPlan{Metric: metric, SatisfiedAt: satisfied}
	if satisfied != nil {
		var before []interval
		for _, p := range pauses {
			if p.Start.Before(*satisfied) {
				if p.End.IsZero() || p.End.After(*satisfied) {
					p.End = *satisfied
				}
				before = append(before, p)
			}
		}
		pauses = before
	}
	due, paused, rem, err := cal.deadline(start, target, pauses)
	if err != nil {
		return tp, err
	}
	if paused {
		tp.Paused, tp.Remaining = true, rem
		return tp, nil
	}
	tp.DueAt = &due
	w := start
	if target > warn {
		w, _, _, err = cal.deadline(start, target-warn, pauses)
		if err != nil {
			return tp, err
		}
	}
	tp.WarnAt = &w
	return tp, nil
}

// policyFacts are what policy conditions look at.
type policyFacts struct {
	Priority, Category, Channel string
	Tags, Tiers                 []string // the customer's
}

// matches reports whether the conditions select a ticket with facts f.
func matches(c crm.SLAConditions, f policyFacts) bool {
	in := func(list []string, v string) bool {
		return len(list) == 0 || slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
	}
	any := func(list, vals []string) bool {
		if len(list) == 0 {
			return true
		}
		for _, v := range vals {
			if in(list, v) {
				return true
			}
		}
		return false
	}
	return in(c.Priorities, f.Priority) && in(c.Categories, f.Category) && in(c.Channels, f.Channel) &&
		any(c.Tags, f.Tags) && any(c.Tiers, f.Tiers)
}

// choosePolicy returns the first active policy (by position) whose
// conditions select the ticket, or nil.
func choosePolicy(policies []*crm.SLAPolicy, f policyFacts) *crm.SLAPolicy {
	for _, p := range policies {
		if p.Active && matches(p.Conditions, f) {
			return p
		}
	}
	return nil
}
