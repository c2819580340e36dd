package desk_test

import (
	"context"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

var sys = context.Background()

// fixture is the desk on a real database, finding and creating people
// through the real contact service as internal/app wires it, with a
// frozen clock, three agents in a team and an admin.
type fixture struct {
	t        *testing.T
	db       *store.DB
	contacts *contact.Service
	desk     *desk.Service
	runner   *jobs.Runner
	now      time.Time

	admin, ali, bita, cyrus *crm.User // ali, bita and cyrus are support agents in team "Front"
	team                    *crm.Team
}

// tehranMonday is 09:00 on Monday 2026-03-02 in Tehran.
var tehranMonday = time.Date(2026, 3, 2, 9, 0, 0, 0, mustLoc("Asia/Tehran"))

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, now: tehranMonday.UTC()}
	db.Now = func() time.Time { return f.now }
	f.contacts = contact.New(db, contact.Options{DefaultRegion: "IR"})
	f.desk = f.newDesk(desk.MailConfig{})
	f.runner = f.newRunner(f.desk)
	f.admin = f.user("admin@example.com", "Admin", crm.RoleAdmin)
	f.ali = f.user("ali@example.com", "Ali", crm.RoleSupport)
	f.bita = f.user("bita@example.com", "Bita", crm.RoleSupport)
	f.cyrus = f.user("cyrus@example.com", "Cyrus", crm.RoleSupport)
	err := db.Write(sys, func(tx *store.Tx) error {
		f.team = &crm.Team{Name: "Front"}
		if err := tx.CreateTeam(sys, f.team); err != nil {
			return err
		}
		return tx.SetTeamMembers(sys, f.team.ID, []int64{f.ali.ID, f.bita.ID, f.cyrus.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) newDesk(mail desk.MailConfig) *desk.Service {
	return desk.New(f.db, desk.Options{Resolve: f.contacts.ResolveCustomer, BaseURL: "https://crm.example.com", Mail: mail})
}

func (f *fixture) newRunner(d *desk.Service) *jobs.Runner {
	r := jobs.NewRunner(f.db, nil, jobs.Options{})
	d.RegisterJobs(r)
	return r
}

// user stores a user directly (no password hashing: tests make many).
func (f *fixture) user(email, name string, role crm.Role) *crm.User {
	f.t.Helper()
	u := &crm.User{Email: email, Name: name, Role: role, Active: true, Preferences: crm.DefaultPreferences("en")}
	if err := f.db.Write(sys, func(tx *store.Tx) error { return tx.CreateUser(sys, u, "x") }); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// as is a context acting as u.
func as(u *crm.User) context.Context { return crm.NewContextWithUser(context.Background(), u) }

// ticket opens a ticket for a customer by email.
func (f *fixture) ticket(subject string, mod ...func(*desk.TicketInput)) *crm.Ticket {
	f.t.Helper()
	in := desk.TicketInput{Subject: subject, Body: "Help please.", Customer: crm.CustomerRef{Email: "sara@example.com", FirstName: "Sara"},
		Channel: crm.ChannelPhone}
	for _, m := range mod {
		m(&in)
	}
	t, err := f.desk.Create(as(f.admin), in)
	if err != nil {
		f.t.Fatalf("create ticket: %v", err)
	}
	return t
}

// advance moves the clock on.
func (f *fixture) advance(d time.Duration) { f.now = f.now.Add(d) }

// at sets the clock.
func (f *fixture) at(t time.Time) { f.now = t.UTC() }

// work runs the jobs due now.
func (f *fixture) work() int {
	f.t.Helper()
	n, err := f.runner.RunOnce(sys)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// events returns the types of a ticket's events, oldest first.
func (f *fixture) events(ticketID int64) []string {
	f.t.Helper()
	var out []string
	err := f.db.Read(sys, func(tx *store.Tx) error {
		after := ""
		for {
			evs, next, err := tx.FindEventsBySubject(sys, "ticket", ticketID, crm.Page{Limit: 500, After: after})
			if err != nil {
				return err
			}
			for _, e := range evs {
				out = append(out, e.Type)
				if e.ContactID == 0 {
					f.t.Errorf("event %s of ticket %d is on nobody's timeline", e.Type, ticketID)
				}
			}
			if next == "" {
				return nil
			}
			after = next
		}
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// calendar is Saturday–Wednesday 08:00–16:00, Thursday 08:00–12:00 in
// Tehran, with 2026-03-21/22 (Nowruz) off.
func (f *fixture) calendar() *crm.BusinessCalendar {
	f.t.Helper()
	bc := crm.BusinessCalendar{Name: "Tehran office", TimeZone: "Asia/Tehran",
		Holidays: []crm.Holiday{{Date: "2026-03-21", Name: "Nowruz"}, {Date: "2026-03-22", Name: "Nowruz"}}}
	for _, d := range []int{6, 0, 1, 2, 3} {
		bc.Hours = append(bc.Hours, crm.WorkingSpan{Day: d, Start: "08:00", End: "16:00"})
	}
	bc.Hours = append(bc.Hours, crm.WorkingSpan{Day: 4, Start: "08:00", End: "12:00"})
	c, err := f.desk.SaveCalendar(as(f.admin), bc)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// policy adds an SLA policy on the office calendar for every ticket:
// first response in 60, resolution in 240 working minutes, warned 15
// minutes ahead.
func (f *fixture) policy(mod ...func(*crm.SLAPolicy)) *crm.SLAPolicy {
	f.t.Helper()
	cal := f.calendar()
	p := crm.SLAPolicy{Name: "Standard", Active: true, CalendarID: cal.ID, FirstResponseMinutes: 60, ResolutionMinutes: 240, WarnMinutes: 15}
	for _, m := range mod {
		m(&p)
	}
	out, err := f.desk.SavePolicy(as(f.admin), p)
	if err != nil {
		f.t.Fatal(err)
	}
	f.work() // the recompute the change asked for
	return out
}
