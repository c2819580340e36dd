package sales_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var sys = context.Background()

// fixture is the sales service on a real database, finding and creating
// people and companies through the real contact service as internal/app
// wires it, with a few users and a pipeline.
type fixture struct {
	t        *testing.T
	db       *store.DB
	contacts *contact.Service
	sales    *sales.Service
	events   *event.Dispatcher
	now      time.Time

	admin, rep, mate, other *crm.User // rep and mate share a team; other does not
	pipe                    *crm.Pipeline
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, now: time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)}
	db.Now = func() time.Time { return f.now }
	f.contacts = contact.New(db, contact.Options{DefaultRegion: "IR"})
	f.sales = sales.New(db, sales.Options{Person: f.contacts.PersonForLead, Company: f.contacts.CompanyForLead, Region: "IR"})
	f.events = event.NewDispatcher(db, nil)
	f.sales.Subscribe(f.events)
	f.admin = f.user("admin@example.com", "Admin", crm.RoleAdmin)
	f.rep = f.user("rep@example.com", "Reza Rep", crm.RoleSales)
	f.mate = f.user("mate@example.com", "Mina Mate", crm.RoleSales)
	f.other = f.user("other@example.com", "Omid Other", crm.RoleSales)
	err := db.Write(sys, func(tx *store.Tx) error {
		team := &crm.Team{Name: "North"}
		if err := tx.CreateTeam(sys, team); err != nil {
			return err
		}
		return tx.SetTeamMembers(sys, team.ID, []int64{f.rep.ID, f.mate.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	f.pipe = f.pipeline("Main", "IRR", []string{"Lead in", "Qualified", "Proposal", "Negotiation"}, []int{10, 30, 60, 80})
	// The subscriber starts from now: its first run sets its cursor.
	if err := f.events.Drain(sys); err != nil {
		t.Fatal(err)
	}
	return f
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

// drain delivers the events written so far. The clock is frozen, so it
// moves on a minute between two drains for the dispatcher to pass the
// gaps erasures leave in the ids on PostgreSQL (it waits for a
// transaction that may still commit them).
func (f *fixture) drain() {
	f.t.Helper()
	for range 2 {
		if err := f.events.Drain(sys); err != nil {
			f.t.Fatal(err)
		}
		f.now = f.now.Add(time.Minute)
	}
}

func (f *fixture) as(u *crm.User) context.Context { return crm.NewContextWithUser(sys, u) }

func (f *fixture) pipeline(name, currency string, stages []string, probs []int) *crm.Pipeline {
	f.t.Helper()
	in := sales.PipelineInput{Name: name, Currency: currency}
	for i, s := range stages {
		p := probs[i]
		in.Stages = append(in.Stages, sales.StageInput{Name: s, Probability: &p})
	}
	p, err := f.sales.CreatePipeline(f.as(f.admin), in)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// stage returns the stage of the fixture's pipeline named name.
func (f *fixture) stage(name string) crm.Stage {
	f.t.Helper()
	p, err := f.sales.Pipeline(sys, f.pipe.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range p.Stages {
		if s.Name == name {
			return s
		}
	}
	f.t.Fatalf("no stage %q", name)
	return crm.Stage{}
}

func (f *fixture) deal(ctx context.Context, title string, value int64, stage string) *crm.Deal {
	f.t.Helper()
	d, err := f.sales.CreateDeal(ctx, sales.DealInput{Title: title, Value: &value, StageID: f.stage(stage).ID})
	if err != nil {
		f.t.Fatalf("create deal %s: %v", title, err)
	}
	return d
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.Read(sys, func(tx *store.Tx) error { return tx.QueryRow(sys, q, args...).Scan(&n) }); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// snapshot counts every table a sales change writes to.
func (f *fixture) snapshot() string {
	f.t.Helper()
	var parts []string
	for _, table := range []string{"deals", "deal_lines", "deal_tags", "deal_stage_history", "quotes", "leads", "events", "audit_log", "contacts", "companies"} {
		parts = append(parts, fmt.Sprintf("%s=%d", table, f.count("SELECT COUNT(*) FROM "+table)))
	}
	var versions []string
	rows := 0
	_ = f.db.Read(sys, func(tx *store.Tx) error {
		r, err := tx.Query(sys, `SELECT id, stage_id, version, value FROM deals ORDER BY id`)
		if err != nil {
			return err
		}
		defer r.Close()
		for r.Next() {
			var id, st, v, val int64
			_ = r.Scan(&id, &st, &v, &val)
			versions = append(versions, fmt.Sprintf("%d:%d:%d:%d", id, st, v, val))
			rows++
		}
		return r.Err()
	})
	return strings.Join(parts, " ") + " " + strings.Join(versions, ",")
}

// fieldErr checks err's code and that it names each field.
func fieldErr(t *testing.T, err error, code string, fields ...string) {
	t.Helper()
	if crm.ErrorCode(err) != code {
		t.Fatalf("want %s, got %v", code, err)
	}
	for _, f := range fields {
		if crm.ErrorFields(err)[f] == "" {
			t.Errorf("want an error on %s, got %v", f, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// each runs fn on SQLite and, when configured, PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, f *fixture)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newFixture(t, db)) })
}

// field defines a deal custom field through the contact service, as the
// settings page does.
func (f *fixture) field(key, typ string, mod func(*crm.CustomField)) *crm.CustomField {
	f.t.Helper()
	cf := &crm.CustomField{Entity: "deal", Key: key, Label: strings.ToUpper(key[:1]) + key[1:], Type: typ}
	if mod != nil {
		mod(cf)
	}
	out, err := f.contacts.CreateCustomField(f.as(f.admin), cf)
	if err != nil {
		f.t.Fatalf("field %s: %v", key, err)
	}
	return out
}
