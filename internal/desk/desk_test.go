package desk_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestStateMachine tries every transition from every status: the legal
// ones move the ticket, the others are refused with a conflict that names
// the transition and leave the ticket as it was.
func TestStateMachine(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := as(f.admin)
		// How to bring a new ticket into each status.
		paths := map[string][]string{
			crm.TicketNew:     nil,
			crm.TicketOpen:    {crm.TicketOpen},
			crm.TicketPending: {crm.TicketPending},
			crm.TicketOnHold:  {crm.TicketOnHold},
			crm.TicketSolved:  {crm.TicketSolved},
			crm.TicketClosed:  {crm.TicketSolved, crm.TicketClosed},
		}
		legal := 0
		for _, from := range crm.TicketStatuses {
			for _, to := range crm.TicketStatuses {
				tk := f.ticket(fmt.Sprintf("%s to %s", from, to))
				for _, st := range paths[from] {
					if _, err := f.desk.SetStatus(ctx, tk.ID, st, 0); err != nil {
						t.Fatalf("path to %s: %v", from, err)
					}
				}
				got, err := f.desk.SetStatus(ctx, tk.ID, to, 0)
				if crm.TicketTransitionAllowed(from, to) {
					legal++
					if err != nil || got.Status != to {
						t.Errorf("%s → %s refused: %v", from, to, err)
					}
					continue
				}
				if crm.ErrorCode(err) != crm.ECONFLICT || !strings.Contains(crm.ErrorMessage(err), "from "+from+" to "+to) ||
					crm.ErrorFields(err)["status"] == "" {
					t.Errorf("%s → %s: %v, want a conflict naming the transition", from, to, err)
				}
				now, _ := f.desk.Ticket(ctx, tk.ID)
				if now.Status != from {
					t.Errorf("%s → %s refused but the ticket is %s", from, to, now.Status)
				}
			}
		}
		if legal != 15 {
			t.Errorf("%d legal transitions, want 15", legal)
		}
		if _, err := f.desk.SetStatus(ctx, 1, "archived", 0); crm.ErrorFields(err)["status"] == "" {
			t.Errorf("unknown status: %v", err)
		}
		// A stale version is refused.
		tk := f.ticket("versions")
		if _, err := f.desk.SetStatus(ctx, tk.ID, crm.TicketOpen, tk.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SetStatus(ctx, tk.ID, crm.TicketPending, tk.Version); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("stale version: %v", err)
		}
		// Events: created, then one status_changed per change, solved once.
		solved := f.ticket("events")
		f.desk.SetStatus(ctx, solved.ID, crm.TicketSolved, 0)
		evs := f.events(solved.ID)
		if !slices.Equal(evs, []string{crm.EventTicketSolved, crm.EventTicketStatusChanged, crm.EventTicketCreated}) { // newest first
			t.Errorf("events %v", evs)
		}
		// Support may work tickets; marketing may not.
		mk := f.user("mk@example.com", "M", crm.RoleMarketing)
		if _, err := f.desk.SetStatus(as(mk), tk.ID, crm.TicketOpen, 0); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("marketing changed a ticket: %v", err)
		}
	})
}

func TestCreateValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		_, err := f.desk.Create(as(f.admin), desk.TicketInput{Subject: " ", Channel: "fax", Priority: "meh", Tier: "7",
			Attachments: []desk.FileInput{{Filename: "big", Data: make([]byte, desk.MaxAttachmentBytes+1)}}})
		fields := crm.ErrorFields(err)
		for _, k := range []string{"subject", "channel", "priority", "tier", "customer", "attachments[0]"} {
			if fields[k] == "" {
				t.Errorf("no error on %s: %v", k, err)
			}
		}
		tk := f.ticket("Printer", func(in *desk.TicketInput) {
			in.Tags = []string{"vip", " vip ", "printer"}
			in.Attachments = []desk.FileInput{{Filename: "../../x.html", ContentType: "image/png", Data: []byte("<html><script>alert(1)</script>")}}
		})
		if tk.Status != crm.TicketNew || tk.Priority != crm.PriorityNormal || tk.Tier != crm.Tier1 || !slices.Equal(tk.Tags, []string{"printer", "vip"}) {
			t.Errorf("ticket %+v", tk)
		}
		msgs, err := f.desk.Messages(as(f.admin), tk.ID)
		if err != nil || len(msgs) != 1 || len(msgs[0].Attachments) != 1 {
			t.Fatalf("messages %v %v", msgs, err)
		}
		a := msgs[0].Attachments[0]
		if a.Filename != "x.html" || a.ContentType != "text/html" || desk.InlineSafe(a.ContentType) {
			t.Errorf("attachment stored as %+v: HTML must be sniffed and never inline", a)
		}
		_, data, err := f.desk.Attachment(as(f.admin), a.ID)
		if err != nil || string(data) != "<html><script>alert(1)</script>" {
			t.Errorf("attachment bytes %q %v", data, err)
		}
	})
}

// TestSLAWeekendsHolidaysPauses follows a ticket through a weekend, the
// Nowruz holidays and a pending stretch with a frozen clock.
func TestSLAWeekendsHolidaysPauses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.policy()
		teh := mustLoc("Asia/Tehran")
		ctx := as(f.admin)
		// Thursday 2026-03-19, 11:30: half an hour of Thursday is left;
		// Friday is off and Saturday/Sunday are Nowruz.
		f.at(time.Date(2026, 3, 19, 11, 30, 0, 0, teh))
		tk := f.ticket("Before the holidays")
		fr, _ := tk.Timer(crm.MetricFirstResponse)
		if want := time.Date(2026, 3, 23, 8, 30, 0, 0, teh); fr.DueAt == nil || !fr.DueAt.Equal(want) {
			t.Fatalf("first response due %v, want %s", fr.DueAt, want)
		}
		res, _ := tk.Timer(crm.MetricResolution)
		if want := time.Date(2026, 3, 23, 11, 30, 0, 0, teh); !res.DueAt.Equal(want) {
			t.Errorf("resolution due %v, want %s", res.DueAt.In(teh), want)
		}
		// Monday 08:10 the agent answers and sets it pending; it waits on
		// the customer until Tuesday 10:00.
		f.at(time.Date(2026, 3, 23, 8, 10, 0, 0, teh))
		if _, err := f.desk.Reply(ctx, tk.ID, desk.ReplyInput{Body: "Which model?", Status: crm.TicketPending}); err != nil {
			t.Fatal(err)
		}
		tk, _ = f.desk.Ticket(ctx, tk.ID)
		fr, _ = tk.Timer(crm.MetricFirstResponse)
		res, _ = tk.Timer(crm.MetricResolution)
		if fr.Status != crm.SLAHit || res.Status != crm.SLAPaused || res.Remaining != 240-30-10 {
			t.Errorf("while pending: first response %+v, resolution %+v", fr, res)
		}
		f.at(time.Date(2026, 3, 24, 10, 0, 0, 0, teh))
		if _, _, err := f.desk.AddCustomerMessage(ctx, tk.ID, desk.CustomerMessageInput{Body: "HP 1020"}); err != nil {
			t.Fatal(err)
		}
		tk, _ = f.desk.Ticket(ctx, tk.ID)
		res, _ = tk.Timer(crm.MetricResolution)
		// 200 working minutes left from Tuesday 10:00: 13:20.
		if tk.Status != crm.TicketOpen || res.Status != crm.SLAActive || !res.DueAt.Equal(time.Date(2026, 3, 24, 13, 20, 0, 0, teh)) {
			t.Errorf("after the customer answered: %s, %+v", tk.Status, res)
		}
		// Recomputed from the history, the timers are the stored ones.
		planned, err := f.desk.PlannedTimers(ctx, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range planned {
			stored, _ := tk.Timer(p.Metric)
			if !sameTime(p.DueAt, stored.DueAt) || !sameTime(p.SatisfiedAt, stored.SatisfiedAt) || p.Status != stored.Status {
				t.Errorf("%s: planned %+v, stored %+v", p.Metric, p, stored)
			}
		}
	})
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// TestSLATimersFireOnceAcrossRestarts: the warning and the breach of a
// timer fire exactly once, through restarts (a new service and job
// runner on the same database), recomputations that enqueue the same
// deadlines again, and a worker that died holding the job.
func TestSLATimersFireOnceAcrossRestarts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.policy()
		ctx := as(f.admin)
		tk := f.ticket("Broken screen") // Monday 09:00: first response due 10:00, warned 09:45
		fr, _ := tk.Timer(crm.MetricFirstResponse)
		if fr.WarnAt == nil || !fr.WarnAt.Equal(f.now.Add(45*time.Minute)) {
			t.Fatalf("warn at %v", fr.WarnAt)
		}
		f.work()
		if evs := f.events(tk.ID); count(evs, crm.EventTicketSLAWarning) != 0 {
			t.Fatalf("warned too early: %v", evs)
		}
		f.advance(46 * time.Minute)
		f.work()
		f.work()
		if n := count(f.events(tk.ID), crm.EventTicketSLAWarning); n != 1 {
			t.Fatalf("%d warnings at 09:46", n)
		}
		// Restart: a new service and runner; the deadline is recomputed
		// (which enqueues the breach job again) and the clock passes it.
		d2 := f.newDesk(desk.MailConfig{})
		f.runner = f.newRunner(d2)
		if _, err := d2.Recompute(ctx, tk.ID); err != nil {
			t.Fatal(err)
		}
		f.advance(15 * time.Minute) // 10:01
		// A worker claims the breach job and dies before finishing it.
		var claimed store.Job
		err := db.Write(sys, func(tx *store.Tx) error {
			var ok bool
			var err error
			claimed, ok, err = tx.ClaimJob(sys, []string{desk.JobSLA}, time.Minute)
			if !ok && err == nil {
				err = fmt.Errorf("no due job")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		f.work() // nothing: the job is leased
		if n := count(f.events(tk.ID), crm.EventTicketSLABreached); n != 0 {
			t.Fatalf("breached while the job was leased (%d)", n)
		}
		f.advance(2 * time.Minute) // the lease runs out
		f.work()
		f.work()
		if _, err := d2.Recompute(ctx, tk.ID); err != nil {
			t.Fatal(err)
		}
		f.advance(time.Hour)
		f.work()
		evs := f.events(tk.ID)
		if count(evs, crm.EventTicketSLAWarning) != 1 || count(evs, crm.EventTicketSLABreached) != 1 {
			t.Errorf("events after restarts: %v (job %d)", evs, claimed.ID)
		}
		tk, _ = d2.Ticket(ctx, tk.ID)
		fr, _ = tk.Timer(crm.MetricFirstResponse)
		if fr.Status != crm.SLABreached || fr.WarnedAt == nil || fr.BreachedAt == nil {
			t.Errorf("timer %+v", fr)
		}
		// Answering late meets the target late: missed, and no new events.
		if _, err := d2.Reply(ctx, tk.ID, desk.ReplyInput{Body: "Sorry for the wait."}); err != nil {
			t.Fatal(err)
		}
		tk, _ = d2.Ticket(ctx, tk.ID)
		fr, _ = tk.Timer(crm.MetricFirstResponse)
		if fr.Status != crm.SLAMissed {
			t.Errorf("after a late reply: %+v", fr)
		}
		// The resolution target (13:00) breaches once as well, through a
		// pending stretch that moves it.
		if _, err := d2.SetStatus(ctx, tk.ID, crm.TicketPending, 0); err != nil {
			t.Fatal(err)
		}
		f.advance(5 * time.Hour)
		f.work()
		if n := count(f.events(tk.ID), crm.EventTicketSLABreached); n != 1 {
			t.Errorf("breached while pending: %d", n)
		}
		// Reopened at 16:03, after closing: 117 working minutes are left
		// (09:00–11:03 were used), so it is due Tuesday 09:57, warned 09:42.
		if _, err := d2.SetStatus(ctx, tk.ID, crm.TicketOpen, 0); err != nil {
			t.Fatal(err)
		}
		tk, _ = d2.Ticket(ctx, tk.ID)
		res, _ := tk.Timer(crm.MetricResolution)
		teh := mustLoc("Asia/Tehran")
		if want := time.Date(2026, 3, 3, 9, 57, 0, 0, teh); res.DueAt == nil || !res.DueAt.Equal(want) {
			t.Fatalf("resolution due %v, want %s", res.DueAt, want)
		}
		f.at(time.Date(2026, 3, 3, 9, 45, 0, 0, teh))
		f.work()
		f.advance(24 * time.Hour)
		f.work()
		f.runner = f.newRunner(f.newDesk(desk.MailConfig{}))
		f.work()
		evs = f.events(tk.ID)
		if count(evs, crm.EventTicketSLAWarning) != 2 || count(evs, crm.EventTicketSLABreached) != 2 {
			t.Errorf("two timers should have warned and breached once each: %v", evs)
		}
	})
}

// TestAssignmentCapacity: many tickets assigned at once to the same
// agents never give anyone more than their capacity.
func TestAssignmentCapacity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := as(f.admin)
		for _, u := range []*crm.User{f.ali, f.bita} {
			if _, err := f.desk.SaveAgent(admin, u.ID, desk.AgentInput{Capacity: 3}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.desk.SaveAgent(admin, f.cyrus.ID, desk.AgentInput{Capacity: 3, Away: true}); err != nil {
			t.Fatal(err)
		}
		if err := f.desk.SetTeamMode(admin, f.team.ID, crm.AssignLeastBusy); err != nil {
			t.Fatal(err)
		}
		// Automatic: 12 tickets for the team at once; ali and bita take 3
		// each, cyrus is away.
		var wg sync.WaitGroup
		errs := make(chan error, 24)
		for i := range 12 {
			wg.Go(func() {
				_, err := f.desk.Create(admin, desk.TicketInput{Subject: fmt.Sprint("auto ", i), Body: "x", Channel: crm.ChannelPhone,
					Customer: crm.CustomerRef{Phone: fmt.Sprintf("0912000%04d", i)}, TeamID: f.team.ID})
				errs <- err
			})
		}
		// Manual: 8 more tickets assigned to ali by hand at once: none fits.
		ids := make([]int64, 8)
		for i := range ids {
			ids[i] = f.ticket(fmt.Sprint("manual ", i)).ID
		}
		conflicts := make(chan error, 8)
		for _, id := range ids {
			wg.Go(func() {
				_, err := f.desk.Assign(admin, id, f.ali.ID, 0)
				conflicts <- err
			})
		}
		wg.Wait()
		close(errs)
		close(conflicts)
		for err := range errs {
			if err != nil {
				t.Errorf("create: %v", err)
			}
		}
		agents, err := f.desk.Agents(admin)
		if err != nil {
			t.Fatal(err)
		}
		loads := map[int64]int{}
		for _, a := range agents {
			loads[a.UserID] = a.Load
			if a.Load > a.Capacity {
				t.Errorf("%s has %d tickets, capacity %d", a.Name, a.Load, a.Capacity)
			}
		}
		assignedByHand := 0
		for err := range conflicts {
			switch crm.ErrorCode(err) {
			case "":
				assignedByHand++
			case crm.ECONFLICT:
			default:
				t.Errorf("manual assignment: %v", err)
			}
		}
		if loads[f.ali.ID] != 3 || loads[f.bita.ID] != 3 || loads[f.cyrus.ID] != 0 {
			t.Errorf("loads %v (ali %d, bita %d, cyrus %d), %d assigned by hand", loads, f.ali.ID, f.bita.ID, f.cyrus.ID, assignedByHand)
		}
		// Solving one of ali's frees a slot. The tickets tried next are
		// ones still unassigned: a manual assignment may have won a slot
		// before the automatic ones took the rest.
		mine, _, _ := f.desk.List(admin, crm.TicketFilter{AssigneeID: &f.ali.ID, Active: true})
		if _, err := f.desk.SetStatus(admin, mine[0].ID, crm.TicketSolved, 0); err != nil {
			t.Fatal(err)
		}
		var free []int64
		for _, id := range ids {
			if tk, _ := f.desk.Ticket(admin, id); tk.AssigneeID == 0 {
				free = append(free, id)
			}
		}
		if len(free) < 2 {
			t.Fatalf("only %d manual tickets unassigned", len(free))
		}
		if _, err := f.desk.Assign(admin, free[0], f.ali.ID, 0); err != nil {
			t.Errorf("assign after a slot freed: %v", err)
		}
		if _, err := f.desk.Assign(admin, free[1], f.ali.ID, 0); crm.ErrorCode(err) != crm.ECONFLICT || crm.ErrorFields(err)["assignee_id"] == "" {
			t.Errorf("over capacity: %v", err)
		}
		mk := f.user("m@example.com", "Mark", crm.RoleMarketing)
		if _, err := f.desk.Assign(admin, free[1], mk.ID, 0); crm.ErrorFields(err)["assignee_id"] == "" {
			t.Errorf("assigned to a marketing user: %v", err)
		}
	})
}

// TestRoundRobin: each free member in turn, skipping the away.
func TestRoundRobin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := as(f.admin)
		if err := f.desk.SetTeamMode(admin, f.team.ID, crm.AssignRoundRobin); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SaveAgent(as(f.bita), f.bita.ID, desk.AgentInput{Capacity: desk.DefaultCapacity, Away: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SaveAgent(as(f.bita), f.ali.ID, desk.AgentInput{Capacity: desk.DefaultCapacity, Away: true}); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Errorf("an agent marked someone else away: %v", err)
		}
		var got []int64
		for i := range 6 {
			tk := f.ticket(fmt.Sprint("rr ", i), func(in *desk.TicketInput) { in.TeamID = f.team.ID })
			got = append(got, tk.AssigneeID)
			f.advance(time.Second)
		}
		want := []int64{f.ali.ID, f.cyrus.ID, f.ali.ID, f.cyrus.ID, f.ali.ID, f.cyrus.ID}
		if !slices.Equal(got, want) {
			t.Errorf("round robin %v, want %v (bita %d away)", got, want, f.bita.ID)
		}
	})
}

func TestReopenAndFollowUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := as(f.admin)
		tk := f.ticket("Refund")
		if _, err := f.desk.SetStatus(ctx, tk.ID, crm.TicketSolved, 0); err != nil {
			t.Fatal(err)
		}
		f.advance(2 * 24 * time.Hour)
		_, got, err := f.desk.AddCustomerMessage(ctx, tk.ID, desk.CustomerMessageInput{Body: "Not refunded yet!"})
		if err != nil || got.ID != tk.ID || got.Status != crm.TicketOpen || got.SolvedAt != nil {
			t.Fatalf("reply within the window: %+v %v", got, err)
		}
		if _, err := f.desk.SetStatus(ctx, tk.ID, crm.TicketSolved, 0); err != nil {
			t.Fatal(err)
		}
		// The close job runs after the reopen window (7 days).
		f.advance(7*24*time.Hour + time.Minute)
		f.work()
		tk, _ = f.desk.Ticket(ctx, tk.ID)
		if tk.Status != crm.TicketClosed || tk.ClosedAt == nil {
			t.Fatalf("not closed after the window: %s", tk.Status)
		}
		m, follow, err := f.desk.AddCustomerMessage(ctx, tk.ID, desk.CustomerMessageInput{Body: "Still nothing."})
		if err != nil || follow.ID == tk.ID || follow.FollowUpOf != tk.ID || follow.Status != crm.TicketNew || m.TicketID != follow.ID {
			t.Fatalf("reply to a closed ticket: %+v %+v %v", follow, m, err)
		}
		if _, err := f.desk.Reply(ctx, tk.ID, desk.ReplyInput{Body: "x"}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("reply on a closed ticket: %v", err)
		}
	})
}

func TestEscalation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := as(f.admin)
		var specialists *crm.Team
		err := db.Write(sys, func(tx *store.Tx) error {
			specialists = &crm.Team{Name: "Specialists"}
			if err := tx.CreateTeam(sys, specialists); err != nil {
				return err
			}
			return tx.SetTeamMembers(sys, specialists.ID, []int64{f.cyrus.ID})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.desk.SetTeamMode(ctx, specialists.ID, crm.AssignLeastBusy); err != nil {
			t.Fatal(err)
		}
		f.policy()
		if _, err := f.desk.SaveRule(ctx, crm.EscalationRule{Name: "Urgent to tier 2", Active: true, Trigger: crm.EscalateOnCreate,
			Priorities: []string{crm.PriorityUrgent}, ToTier: crm.Tier2}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SaveRule(ctx, crm.EscalationRule{Name: "Breach to specialists", Active: true, Trigger: crm.EscalateOnBreach,
			Metrics: []string{crm.MetricFirstResponse}, ToTier: "next", ToTeamID: specialists.ID, Raise: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SaveRule(ctx, crm.EscalationRule{Name: "nothing", Trigger: "sometimes"}); crm.ErrorFields(err)["trigger"] == "" ||
			crm.ErrorFields(err)["to_tier"] == "" {
			t.Errorf("bad rule: %v", err)
		}
		urgent := f.ticket("Server down", func(in *desk.TicketInput) { in.Priority = crm.PriorityUrgent })
		if urgent.Tier != crm.Tier2 {
			t.Errorf("urgent ticket at %s", urgent.Tier)
		}
		tk := f.ticket("Slow answer", func(in *desk.TicketInput) { in.AssigneeID = f.ali.ID })
		f.advance(61 * time.Minute)
		f.work()
		tk, _ = f.desk.Ticket(ctx, tk.ID)
		if tk.Tier != crm.Tier2 || tk.TeamID != specialists.ID || tk.AssigneeID != f.cyrus.ID || tk.Priority != crm.PriorityHigh {
			t.Errorf("after the breach: tier %s team %d assignee %d priority %s", tk.Tier, tk.TeamID, tk.AssigneeID, tk.Priority)
		}
		if _, err := f.desk.Escalate(ctx, tk.ID, desk.EscalateInput{Reason: "needs the vendor"}); err != nil {
			t.Fatal(err)
		}
		_, esc, err := f.desk.History(ctx, tk.ID)
		if err != nil || len(esc) != 2 || esc[0].RuleID == 0 || esc[1].RuleID != 0 || esc[1].ToTier != crm.TierSpecialist {
			t.Errorf("escalations %+v %v", esc, err)
		}
		if _, err := f.desk.Escalate(ctx, tk.ID, desk.EscalateInput{}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("escalate past the top: %v", err)
		}
		if n := count(f.events(tk.ID), crm.EventTicketEscalated); n != 2 {
			t.Errorf("%d escalation events", n)
		}
	})
}

func TestPolicySelection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := as(f.admin)
		cal := f.calendar()
		vip, err := f.desk.SavePolicy(ctx, crm.SLAPolicy{Name: "VIP", Active: true, CalendarID: cal.ID, FirstResponseMinutes: 15, ResolutionMinutes: 60,
			Conditions: crm.SLAConditions{Tags: []string{"vip"}}})
		if err != nil {
			t.Fatal(err)
		}
		urgent, err := f.desk.SavePolicy(ctx, crm.SLAPolicy{Name: "Urgent", Active: true, FirstResponseMinutes: 30, ResolutionMinutes: 120,
			Conditions: crm.SLAConditions{Priorities: []string{crm.PriorityUrgent}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SavePolicy(ctx, crm.SLAPolicy{Name: "", FirstResponseMinutes: 0, CalendarID: 999,
			Conditions: crm.SLAConditions{Priorities: []string{"meh"}}}); crm.ErrorFields(err)["name"] == "" ||
			crm.ErrorFields(err)["first_response_minutes"] == "" || crm.ErrorFields(err)["conditions.priorities[0]"] == "" {
			t.Errorf("bad policy: %v", err)
		}
		plain := f.ticket("plain")
		hot := f.ticket("hot", func(in *desk.TicketInput) { in.Priority = crm.PriorityUrgent })
		if plain.SLAPolicyID != 0 || len(plain.SLA) != 0 || hot.SLAPolicyID != urgent.ID || len(hot.SLA) != 2 {
			t.Errorf("plain %d %v, hot %d %v", plain.SLAPolicyID, plain.SLA, hot.SLAPolicyID, hot.SLA)
		}
		// Tag the customer VIP: a recompute chooses the VIP policy.
		c, err := f.contacts.FindContactByID(ctx, plain.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		tags := append(c.Tags, "vip")
		if _, err := f.contacts.UpdateContact(ctx, c.ID, crm.ContactUpdate{Tags: &tags}); err != nil {
			t.Fatal(err)
		}
		if n, err := f.desk.RecomputeAll(ctx); err != nil || n != 2 {
			t.Fatalf("recompute %d %v", n, err)
		}
		plain, _ = f.desk.Ticket(ctx, plain.ID)
		hot, _ = f.desk.Ticket(ctx, hot.ID)
		if plain.SLAPolicyID != vip.ID || hot.SLAPolicyID != vip.ID {
			t.Errorf("after tagging: plain %d hot %d, want VIP %d first", plain.SLAPolicyID, hot.SLAPolicyID, vip.ID)
		}
	})
}
