package desk

import (
	"context"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// Durable timers. The SLA warning and breach of every timer, the close of
// a solved ticket, outgoing mail and recomputations are jobs in the jobs
// table, enqueued in the transaction that makes them necessary. A job
// that fires a warning or a breach writes warned_at / breached_at only
// where it is still NULL, and emits its event only when it did: so each
// fires once, however often its job runs (after a crash, a lost lease, a
// deadline moved and moved back) and however many processes run jobs.

// Job kinds of the desk.
const (
	JobSLA       = "desk.sla"       // fire a timer's warning or breach when it is due
	JobClose     = "desk.close"     // close a solved ticket after the reopen window
	JobSend      = "desk.send"      // send an outgoing email (a reply, an acknowledgement)
	JobSurvey    = "desk.survey"    // email a satisfaction survey
	JobRecompute = "desk.recompute" // recompute the timers of the active tickets of a policy or calendar
)

// RegisterJobs registers the desk's job handlers on r.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobSLA, s.handleSLA)
	r.Handle(JobClose, s.handleClose)
	r.Handle(JobSend, s.handleSend)
	r.Handle(JobSurvey, s.handleSurvey)
	r.Handle(JobRecompute, s.handleRecompute)
}

// choosePolicy sets t.SLAPolicyID to the first active policy that
// selects it and returns that policy (nil for none).
func (s *Service) choosePolicy(ctx context.Context, tx *store.Tx, t *crm.Ticket) (*crm.SLAPolicy, error) {
	policies, err := tx.ListSLAPolicies(ctx)
	if err != nil {
		return nil, err
	}
	f := policyFacts{Priority: t.Priority, Category: t.Category, Channel: t.Channel}
	if t.ContactID != 0 {
		c, ok, err := tx.FindDeskContact(ctx, t.ContactID)
		if err != nil {
			return nil, err
		}
		if ok {
			f.Tags, f.Tiers = c.Tags, c.Tiers
		}
	}
	p := choosePolicy(policies, f)
	t.SLAPolicyID = 0
	if p != nil {
		t.SLAPolicyID = p.ID
	}
	return p, nil
}

// calendarOf compiles a policy's calendar (around the clock without
// one). Compiled calendars are kept per id and last change, so only the
// row is read again.
func (s *Service) calendarOf(ctx context.Context, tx *store.Tx, p *crm.SLAPolicy) (*Calendar, error) {
	if p.CalendarID == 0 {
		return AlwaysOpen(), nil
	}
	bc, err := tx.FindCalendar(ctx, p.CalendarID)
	if err != nil {
		return nil, err
	}
	if v, ok := s.calendars.Load(bc.ID); ok {
		if c := v.(compiledCalendar); c.updated.Equal(bc.UpdatedAt) {
			return c.cal, nil
		}
	}
	c, err := CompileCalendar(bc)
	if err != nil {
		return nil, err
	}
	s.calendars.Store(bc.ID, compiledCalendar{updated: bc.UpdatedAt, cal: c})
	return c, nil
}

type compiledCalendar struct {
	updated time.Time
	cal     *Calendar
}

// factsOf reads what a ticket's timers follow from.
func factsOf(ctx context.Context, tx *store.Tx, t *crm.Ticket) (slaFacts, error) {
	f := slaFacts{Created: t.CreatedAt, FirstReply: t.FirstRespondedAt}
	hist, err := tx.TicketHistory(ctx, t.ID, "status")
	if err != nil {
		return f, err
	}
	for _, h := range hist {
		f.Statuses = append(f.Statuses, statusChange{At: h.CreatedAt, From: h.Old, To: h.New})
	}
	if len(f.Statuses) == 0 {
		f.Statuses = []statusChange{{At: t.CreatedAt, To: t.Status}}
	}
	return f, nil
}

// planFor computes the timers of t under policy p from its history.
func (s *Service) planFor(ctx context.Context, tx *store.Tx, t *crm.Ticket, p *crm.SLAPolicy) ([]timerPlan, error) {
	cal, err := s.calendarOf(ctx, tx, p)
	if err != nil {
		return nil, err
	}
	f, err := factsOf(ctx, tx, t)
	if err != nil {
		return nil, err
	}
	return planTimers(p, cal, f)
}

// retime writes the timers of t under policy p (none: its timers go) and
// enqueues the job of the next warning or breach still to come.
func (s *Service) retime(ctx context.Context, tx *store.Tx, t *crm.Ticket, p *crm.SLAPolicy) error {
	if p == nil {
		return tx.DeleteSLATimers(ctx, t.ID)
	}
	plans, err := s.planFor(ctx, tx, t, p)
	if err != nil {
		return err
	}
	var fired map[string]store.SLATimerRow
	if t.Version > 1 || len(t.SLA) > 0 { // a new ticket has no timers yet
		old, err := tx.SLATimerRows(ctx, t.ID, false)
		if err != nil {
			return err
		}
		fired = map[string]store.SLATimerRow{}
		for _, o := range old {
			fired[o.Metric] = o
		}
	}
	rows := make([]store.SLATimerRow, 0, len(plans))
	for _, tp := range plans {
		row := store.SLATimerRow{PolicyID: p.ID}
		row.Metric, row.DueAt, row.WarnAt, row.SatisfiedAt = tp.Metric, tp.DueAt, tp.WarnAt, tp.SatisfiedAt
		row.Remaining = int64(tp.Remaining / time.Minute)
		if tp.Paused {
			row.Status = crm.SLAPaused
		}
		if err := tx.SaveSLATimer(ctx, t.ID, row); err != nil {
			return err
		}
		o := fired[tp.Metric]
		row.WarnedAt, row.BreachedAt = o.WarnedAt, o.BreachedAt
		rows = append(rows, row)
	}
	if at, ok := nextCheck(rows, time.Time{}); ok {
		return enqueueSLA(ctx, tx, t.ID, at)
	}
	return nil
}

// nextCheck returns the earliest instant after `after` at which one of
// the timers has a warning or a breach to fire (a warning only before its
// breach); ok is false when none has.
func nextCheck(rows []store.SLATimerRow, after time.Time) (at time.Time, ok bool) {
	consider := func(t time.Time) {
		if t.After(after) && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	for _, r := range rows {
		if r.SatisfiedAt != nil || r.Status == crm.SLAPaused || r.DueAt == nil || r.BreachedAt != nil {
			continue
		}
		if r.WarnedAt == nil && r.WarnAt != nil && r.WarnAt.Before(*r.DueAt) {
			consider(*r.WarnAt)
		}
		consider(*r.DueAt)
	}
	return at, ok
}

// slaJob is the payload of a desk.sla job.
type slaJob struct {
	TicketID int64 `json:"ticket_id"`
}

// enqueueSLA asks for a ticket's timers to be looked at at `at`. One job
// per ticket and instant: the key holds the time, so a moved deadline
// gets a job of its own, and an old job finds nothing due (or already
// fired) and only asks for the next look.
func enqueueSLA(ctx context.Context, tx *store.Tx, ticketID int64, at time.Time) error {
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSLA, Payload: slaJob{TicketID: ticketID}, RunAt: at,
		UniqueKey: fmt.Sprintf("desk.sla:%d:%d", ticketID, at.UnixMicro())})
	return err
}

// handleSLA fires the warnings and breaches of a ticket that are due now
// and have not fired: the events, and the escalation rules of the
// trigger; then asks for the next look.
func (s *Service) handleSLA(ctx context.Context, j *jobs.Claimed) error {
	var p slaJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		return s.fireSLA(ctx, tx, p.TicketID)
	})
}

func (s *Service) fireSLA(ctx context.Context, tx *store.Tx, ticketID int64) error {
	t, err := tx.FindTicket(ctx, ticketID, true)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil // deleted since
	}
	if err != nil {
		return err
	}
	rows, err := tx.SLATimerRows(ctx, t.ID, true)
	if err != nil {
		return err
	}
	now := tx.Now()
	for i := range rows {
		r := &rows[i]
		if r.SatisfiedAt != nil || r.Status == crm.SLAPaused || r.DueAt == nil {
			continue
		}
		var kinds []string
		// A warning is worth sending only before the breach (a server
		// that was down through both sends the breach alone).
		if r.WarnAt != nil && !now.Before(*r.WarnAt) && now.Before(*r.DueAt) && r.WarnedAt == nil && r.BreachedAt == nil {
			kinds = append(kinds, "warning")
		}
		if !now.Before(*r.DueAt) && r.BreachedAt == nil {
			kinds = append(kinds, "breach")
		}
		for _, kind := range kinds {
			var (
				fired   bool
				typ     string
				trigger string
			)
			if kind == "warning" {
				fired, err = tx.MarkSLAWarned(ctx, r.ID)
				typ, trigger = crm.EventTicketSLAWarning, crm.EscalateOnWarning
				r.WarnedAt = &now
			} else {
				fired, err = tx.MarkSLABreached(ctx, r.ID)
				typ, trigger = crm.EventTicketSLABreached, crm.EscalateOnBreach
				r.BreachedAt = &now
			}
			if err != nil {
				return err
			}
			if !fired {
				continue
			}
			policy := ""
			if r.PolicyID != 0 {
				if pol, err := tx.FindSLAPolicy(ctx, r.PolicyID); err == nil {
					policy = pol.Name
				}
			}
			tp, err := ticketPayload(ctx, tx, t)
			if err != nil {
				return err
			}
			if err := emit(ctx, tx, typ, t, SLAPayload{TicketPayload: tp, Metric: r.Metric, DueAt: *r.DueAt, Policy: policy}); err != nil {
				return err
			}
			if err := s.runRules(ctx, tx, t, trigger, r.Metric); err != nil {
				return err
			}
		}
	}
	if at, ok := nextCheck(rows, now); ok {
		return enqueueSLA(ctx, tx, t.ID, at)
	}
	return nil
}

// scheduleClose asks for a solved ticket to be closed once the reopen
// window is over.
func (s *Service) scheduleClose(ctx context.Context, tx *store.Tx, st Settings, t *crm.Ticket) error {
	at := tx.Now().Add(time.Duration(st.ReopenDays) * 24 * time.Hour)
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobClose, Payload: map[string]any{"ticket_id": t.ID, "solved_at": tx.Now()}, RunAt: at,
		UniqueKey: fmt.Sprintf("desk.close:%d:%d", t.ID, tx.Now().UnixMicro())})
	return err
}

// handleClose closes a ticket still solved since the solve that asked
// for it.
func (s *Service) handleClose(ctx context.Context, j *jobs.Claimed) error {
	var p struct {
		TicketID int64     `json:"ticket_id"`
		SolvedAt time.Time `json:"solved_at"`
	}
	if err := j.Decode(&p); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.FindTicket(ctx, p.TicketID, true)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if t.Status != crm.TicketSolved || t.SolvedAt == nil || !t.SolvedAt.Equal(p.SolvedAt.UTC().Truncate(time.Microsecond)) {
			return nil // reopened (and maybe solved again, with a job of its own)
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.transition(ctx, tx, st, t, crm.TicketClosed); err != nil {
			return err
		}
		return s.save(ctx, tx, t, true)
	})
}

// recomputeBatch is how many tickets one recompute transaction retimes.
const recomputeBatch = 200

// enqueueRecompute asks for the timers of the active tickets to be
// recomputed (after a policy or calendar changed). One pending job is
// enough: it reads the policies as they are when it runs.
func enqueueRecompute(ctx context.Context, tx *store.Tx) error {
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobRecompute, UniqueKey: "desk.recompute"})
	return err
}

// handleRecompute chooses the policy of every active ticket again and
// recomputes its timers, in batches.
func (s *Service) handleRecompute(ctx context.Context, j *jobs.Claimed) error {
	_, err := s.RecomputeAll(ctx)
	return err
}

// RecomputeAll chooses the SLA policy of every ticket still open or
// solved again and recomputes its timers from its history, in batches of
// 200, and returns how many it did. Needs settings:manage.
func (s *Service) RecomputeAll(ctx context.Context) (int, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return 0, err
	}
	var after int64
	n := 0
	for {
		var ids []int64
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			ids, err = tx.ActiveTicketIDs(ctx, after, 0, recomputeBatch)
			if err != nil {
				return err
			}
			for _, id := range ids {
				t, err := tx.FindTicket(ctx, id, true)
				if err != nil {
					return err
				}
				if err := s.save(ctx, tx, t, true); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		n += len(ids)
		if len(ids) < recomputeBatch {
			return n, nil
		}
		after = ids[len(ids)-1]
	}
}

// Recompute recomputes one ticket's timers from its history and returns
// the ticket; the stored timers and the recomputed ones agree unless a
// policy or calendar changed since. Needs service:write.
func (s *Service) Recompute(ctx context.Context, id int64) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var out *crm.Ticket
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.FindTicket(ctx, id, true)
		if err != nil {
			return err
		}
		if err := s.save(ctx, tx, t, true); err != nil {
			return err
		}
		out, err = s.reload(ctx, tx, id)
		return err
	})
	return out, err
}

// PlannedTimers computes a ticket's timers from its history without
// storing them (the check that stored timers are recomputable). Needs
// service:read.
func (s *Service) PlannedTimers(ctx context.Context, id int64) ([]crm.SLATimer, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []crm.SLATimer
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		t, err := tx.FindTicket(ctx, id, false)
		if err != nil {
			return err
		}
		if t.SLAPolicyID == 0 {
			return nil
		}
		p, err := tx.FindSLAPolicy(ctx, t.SLAPolicyID)
		if err != nil {
			return err
		}
		plans, err := s.planFor(ctx, tx, t, p)
		if err != nil {
			return err
		}
		for _, tp := range plans {
			out = append(out, crm.SLATimer{Metric: tp.Metric, DueAt: roundPtr(tp.DueAt), WarnAt: roundPtr(tp.WarnAt),
				SatisfiedAt: roundPtr(tp.SatisfiedAt), Remaining: int64(tp.Remaining / time.Minute),
				Status: crm.TimerStatus(tp.DueAt, tp.SatisfiedAt, tp.Paused, tx.Now())})
		}
		return nil
	})
	return out, err
}

func roundPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}
