package desk_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestQueues: the agents' views (mine, my team's, unassigned, breaching
// soon, all) hold the tickets they say, for the user who looks, and the
// counts agree with the lists; a pending ticket is never breaching soon
// (its clock stands still), and a ticket enters that queue when its
// target comes within the hour.
func TestQueues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.policy(func(p *crm.SLAPolicy) {
			p.Name, p.FirstResponseMinutes, p.ResolutionMinutes = "Urgent", 30, 120
			p.Conditions.Priorities = []string{crm.PriorityUrgent}
		})
		if _, err := f.desk.SavePolicy(as(f.admin), crm.SLAPolicy{Name: "High", Active: true, FirstResponseMinutes: 180, ResolutionMinutes: 480,
			Conditions: crm.SLAConditions{Priorities: []string{crm.PriorityHigh}}}); err != nil {
			t.Fatal(err)
		}
		f.work()
		mine := f.ticket("mine", func(in *desk.TicketInput) { in.AssigneeID = f.ali.ID })
		team := f.ticket("team", func(in *desk.TicketInput) { in.TeamID = f.team.ID })
		free := f.ticket("free")
		urgent := f.ticket("urgent", func(in *desk.TicketInput) { in.Priority = crm.PriorityUrgent })
		high := f.ticket("high", func(in *desk.TicketInput) { in.Priority = crm.PriorityHigh })
		waiting := f.ticket("waiting", func(in *desk.TicketInput) { in.Priority = crm.PriorityUrgent })
		done := f.ticket("done", func(in *desk.TicketInput) { in.AssigneeID = f.ali.ID })
		if _, err := f.desk.SetStatus(as(f.admin), waiting.ID, crm.TicketPending, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SetStatus(as(f.admin), done.ID, crm.TicketSolved, 0); err != nil {
			t.Fatal(err)
		}
		check := func(who *crm.User, want map[desk.Queue][]int64) {
			t.Helper()
			ctx := as(who)
			counts, err := f.desk.QueueCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for q, ids := range want {
				flt, ok := desk.QueueFilter(ctx, q, f.now)
				if !ok {
					t.Fatalf("no queue %s", q)
				}
				list, _, err := f.desk.List(ctx, flt)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, tk := range list {
					got = append(got, tk.ID)
				}
				slices.Sort(got)
				slices.Sort(ids)
				if !slices.Equal(got, ids) {
					t.Errorf("%s's %s queue: %v, want %v", who.Name, q, got, ids)
				}
				if q != desk.QueueSolved && counts[q] != len(ids) {
					t.Errorf("%s's %s count %d, want %d", who.Name, q, counts[q], len(ids))
				}
			}
		}
		active := []int64{mine.ID, team.ID, free.ID, urgent.ID, high.ID, waiting.ID}
		unassigned := []int64{team.ID, free.ID, urgent.ID, high.ID, waiting.ID}
		check(f.ali, map[desk.Queue][]int64{
			desk.QueueMine: {mine.ID}, desk.QueueTeam: {team.ID}, desk.QueueUnassigned: unassigned,
			desk.QueueBreaching: {urgent.ID}, desk.QueueAll: active, desk.QueueSolved: {done.ID},
		})
		check(f.bita, map[desk.Queue][]int64{desk.QueueMine: nil, desk.QueueTeam: {team.ID}})
		// 11:30: the high ticket's first response (12:00) is within the
		// hour; the urgent one is past due; the pending one still waits.
		f.advance(150 * time.Minute)
		f.work()
		check(f.ali, map[desk.Queue][]int64{desk.QueueBreaching: {urgent.ID, high.ID}})
		if _, ok := desk.QueueFilter(as(f.ali), "nope", f.now); ok {
			t.Error("an unknown queue was accepted")
		}
	})
}

// TestPolicyByClubTier: a policy for a club tier applies to the tickets
// of the tier's members, read from the club's own tables.
func TestPolicyByClubTier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := as(f.admin)
		cl := club.New(db, club.Options{Resolve: f.contacts.ResolveCustomer})
		prog, err := cl.CreateProgram(admin, club.ProgramInput{Name: "Club", Currency: "IRR", EarnPoints: 1, EarnAmount: 100, PointValue: 1, ValuePoints: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.SaveTier(admin, prog.ID, 0, club.TierInput{Name: "Gold", Threshold: 0, Multiplier: 100}); err != nil {
			t.Fatal(err)
		}
		c, err := f.contacts.CreateContact(admin, &crm.Contact{FirstName: "Mina", Emails: []crm.Labeled{{Value: "mina@example.com"}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Enrol(admin, club.Enrolment{ProgramID: prog.ID, ContactID: c.ID}); err != nil {
			t.Fatal(err)
		}
		gold := f.policy(func(p *crm.SLAPolicy) { p.Name = "Gold members"; p.Conditions.Tiers = []string{"gold"} })
		member := f.ticket("member", func(in *desk.TicketInput) { in.Customer = crm.CustomerRef{ContactID: c.ID} })
		other := f.ticket("not a member")
		if member.SLAPolicyID != gold.ID || other.SLAPolicyID != 0 {
			t.Errorf("member's ticket under policy %d, other's %d; want %d and none", member.SLAPolicyID, other.SLAPolicyID, gold.ID)
		}
	})
}

// TestUpdateTicket: custom fields, tags, category and priority change on
// a ticket; a new priority chooses another SLA policy; the change is a
// ticket.updated event on the customer's timeline; bad input names the
// field and changes nothing.
func TestUpdateTicket(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := as(f.ali)
		urgent := f.policy(func(p *crm.SLAPolicy) { p.Name = "Urgent"; p.Conditions.Priorities = []string{crm.PriorityUrgent} })
		tk := f.ticket("Invoice", func(in *desk.TicketInput) {
			in.Custom = map[string]any{"order_ref": "A-17", "warranty": true}
		})
		if tk.Custom["order_ref"] != "A-17" || tk.Custom["warranty"] != true || tk.SLAPolicyID != 0 {
			t.Fatalf("created %+v", tk)
		}
		pr, cat, tags := crm.PriorityUrgent, "billing", []string{"invoice", "vip"}
		got, err := f.desk.Update(ctx, tk.ID, desk.TicketPatch{Priority: &pr, Category: &cat, Tags: &tags,
			Custom: map[string]any{"warranty": nil, "serial": "SN-9"}, Version: tk.Version})
		if err != nil {
			t.Fatal(err)
		}
		if got.Priority != pr || got.Category != cat || !slices.Equal(got.Tags, tags) || got.SLAPolicyID != urgent.ID || len(got.SLA) != 2 {
			t.Errorf("updated %+v", got)
		}
		if _, ok := got.Custom["warranty"]; ok || got.Custom["serial"] != "SN-9" || got.Custom["order_ref"] != "A-17" {
			t.Errorf("custom fields %v", got.Custom)
		}
		again, _ := f.desk.Ticket(ctx, tk.ID)
		if again.Custom["serial"] != "SN-9" {
			t.Errorf("custom fields not stored: %v", again.Custom)
		}
		bad, empty := "meh", " "
		if _, err := f.desk.Update(ctx, tk.ID, desk.TicketPatch{Priority: &bad, Subject: &empty}); crm.ErrorFields(err)["priority"] == "" ||
			crm.ErrorFields(err)["subject"] == "" {
			t.Errorf("bad patch: %v", err)
		}
		if _, err := f.desk.Update(ctx, tk.ID, desk.TicketPatch{Category: &cat, Version: tk.Version}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Errorf("stale version: %v", err)
		}
		if n := count(f.events(tk.ID), crm.EventTicketUpdated); n != 1 {
			t.Errorf("%d ticket.updated events", n)
		}
	})
}

// TestEscalationOnWarningByCategory: a rule on the warning of a category
// (written with another case) moves the matching ticket up a tier when
// the warning fires, and leaves the others.
func TestEscalationOnWarningByCategory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.policy()
		if _, err := f.desk.SaveRule(as(f.admin), crm.EscalationRule{Name: "Billing warnings", Active: true, Trigger: crm.EscalateOnWarning,
			Categories: []string{"Billing"}, ToTier: "next"}); err != nil {
			t.Fatal(err)
		}
		billing := f.ticket("charged twice", func(in *desk.TicketInput) { in.Category = "billing" })
		delivery := f.ticket("late parcel", func(in *desk.TicketInput) { in.Category = "delivery" })
		f.advance(46 * time.Minute)
		f.work()
		billing, _ = f.desk.Ticket(as(f.admin), billing.ID)
		delivery, _ = f.desk.Ticket(as(f.admin), delivery.ID)
		if billing.Tier != crm.Tier2 || delivery.Tier != crm.Tier1 {
			t.Errorf("after the warning: billing %s, delivery %s", billing.Tier, delivery.Tier)
		}
		if count(f.events(billing.ID), crm.EventTicketEscalated) != 1 || count(f.events(delivery.ID), crm.EventTicketEscalated) != 0 {
			t.Errorf("escalation events: %v / %v", f.events(billing.ID), f.events(delivery.ID))
		}
	})
}

// TestLifecycleOnTimeline: every event the issue names lands on the
// customer's timeline — created, status changed, SLA warning and breach,
// solved, survey answered.
func TestLifecycleOnTimeline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.policy()
		admin := as(f.admin)
		tk := f.ticket("Broken kettle", func(in *desk.TicketInput) { in.AssigneeID = f.ali.ID })
		f.advance(46 * time.Minute)
		f.work()
		f.advance(15 * time.Minute)
		f.work()
		if _, err := f.desk.Reply(as(f.ali), tk.ID, desk.ReplyInput{Body: "A new one is on its way.", Status: crm.TicketSolved}); err != nil {
			t.Fatal(err)
		}
		svs, err := f.desk.TicketSurveys(admin, tk.ID)
		if err != nil || len(svs) != 1 {
			t.Fatalf("surveys %v %v", svs, err)
		}
		link, err := f.desk.SurveyLink(admin, svs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.AnswerSurvey(context.Background(), link[len("https://crm.example.com/survey/"):], 5, ""); err != nil {
			t.Fatal(err)
		}
		evs, _, err := timelineOf(f, tk.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		for _, typ := range []string{crm.EventTicketCreated, crm.EventTicketStatusChanged, crm.EventTicketSLAWarning, crm.EventTicketSLABreached,
			crm.EventTicketSolved, crm.EventSurveyAnswered, crm.EventTicketMessage} {
			if !slices.Contains(evs, typ) {
				t.Errorf("%s is not on the customer's timeline: %v", typ, evs)
			}
		}
	})
}

// TestSurveyLanguage: the survey page speaks the customer's language —
// their own when their record has one, else the one they wrote in.
func TestSurveyLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := as(f.admin)
		for _, tc := range []struct {
			subject, body, email, want string
		}{
			{"چاپگر کار نمی‌کند", "سلام، چاپگر کاغذ گیر می‌اندازد.", "sara@example.com", "fa"},
			{"الطابعة لا تعمل", "مرحبا، الطابعة لا تطبع.", "ahmad@example.com", "ar"},
			{"Printer broken", "Hello, it jams.", "john@example.com", "en"},
		} {
			tk := f.ticket(tc.subject, func(in *desk.TicketInput) { in.Body = tc.body; in.Customer = crm.CustomerRef{Email: tc.email} })
			if _, err := f.desk.SetStatus(admin, tk.ID, crm.TicketSolved, 0); err != nil {
				t.Fatal(err)
			}
			svs, _ := f.desk.TicketSurveys(admin, tk.ID)
			link, err := f.desk.SurveyLink(admin, svs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			ps, err := f.desk.SurveyByToken(context.Background(), link[len("https://crm.example.com/survey/"):])
			if err != nil || ps.Language != tc.want {
				t.Errorf("%s: survey in %q (%v), want %s", tc.subject, ps.Language, err, tc.want)
			}
		}
		// A language on the person's record wins over the words.
		c, _ := f.contacts.FindContactByID(admin, f.ticket("x", func(in *desk.TicketInput) { in.Customer = crm.CustomerRef{Email: "sara@example.com"} }).ContactID)
		lang := "ar"
		if _, err := f.contacts.UpdateContact(admin, c.ID, crm.ContactUpdate{Language: &lang}); err != nil {
			t.Fatal(err)
		}
		tk := f.ticket("چاپگر دوم", func(in *desk.TicketInput) { in.Customer = crm.CustomerRef{ContactID: c.ID} })
		f.desk.SetStatus(admin, tk.ID, crm.TicketSolved, 0)
		svs, _ := f.desk.TicketSurveys(admin, tk.ID)
		link, _ := f.desk.SurveyLink(admin, svs[0].ID)
		if ps, _ := f.desk.SurveyByToken(context.Background(), link[len("https://crm.example.com/survey/"):]); ps == nil || ps.Language != "ar" {
			t.Errorf("a person whose record says Arabic: %+v", ps)
		}
	})
}
