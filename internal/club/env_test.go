package club_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable db.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is one database with the club service, an event dispatcher and a
// clock. Orders and returns are written as the orders module writes them:
// order.created and order.returned events, in a transaction.
type env struct {
	t        *testing.T
	db       *store.DB
	svc      *club.Service
	d        *event.Dispatcher
	clk      *clock
	ctx      context.Context
	contacts *contact.Service
	nextID   int64
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	db.Now = clk.Now
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	e := &env{t: t, db: db, svc: club.New(db, club.Options{Logger: quiet, Resolve: contacts.ResolveCustomer}), d: event.NewDispatcher(db, quiet),
		clk: clk, ctx: context.Background(), contacts: contacts, nextID: 1000}
	e.svc.Subscribe(e.d)
	return e
}

func (e *env) now() time.Time { return e.clk.Now() }

// person creates a contact.
func (e *env) person(first, lang, birthday string) int64 {
	e.t.Helper()
	c, err := e.contacts.CreateContact(e.ctx, &crm.Contact{FirstName: first, LastName: "Test", Language: lang, Birthday: birthday}, true)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// program creates a program: USD, 10 points per 1.00, round down, a
// 14-day return window and 12-month expiry unless changed by mod.
func (e *env) program(mod func(*club.ProgramInput)) *club.Program {
	e.t.Helper()
	in := club.ProgramInput{Name: "Club", Currency: "USD", EarnPoints: 10, EarnAmount: 100, PendingDays: 14, ExpiryMonths: 12, ReminderDays: 30,
		PointValue: 1, ValuePoints: 1}
	if mod != nil {
		mod(&in)
	}
	p, err := e.svc.CreateProgram(e.ctx, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// member enrols a new person in program p.
func (e *env) member(p *club.Program, first string) *club.Member {
	e.t.Helper()
	c := e.person(first, "fa", "")
	r, err := e.svc.Enrol(e.ctx, club.Enrolment{ProgramID: p.ID, ContactID: c})
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Member
}

// get reads a member.
func (e *env) get(id int64) *club.Member {
	e.t.Helper()
	d, err := e.svc.Member(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Member
}

// emit writes an event as the orders module would, and delivers it.
func (e *env) emit(typ string, subject, contactID int64, payload any) {
	e.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	err = e.db.Write(e.ctx, func(tx *store.Tx) error {
		return tx.Emit(e.ctx, &crm.Event{Type: typ, SubjectType: "order", SubjectID: subject, ContactID: contactID, Payload: b})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.drain()
}

func (e *env) drain() {
	e.t.Helper()
	if err := e.d.Drain(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// order places an order of total (minor units) for a member now (or at
// placed), with optional lines; it returns the order.
func (e *env) order(m *club.Member, total int64, placed time.Time, lines ...crm.OrderLine) crm.Order {
	e.t.Helper()
	e.nextID++
	if placed.IsZero() {
		placed = e.now()
	}
	sub := total
	if len(lines) > 0 {
		sub = 0
		for _, l := range lines {
			sub += l.Total
		}
	}
	o := crm.Order{ID: e.nextID, Source: "pos", ExternalID: "o" + itoa(e.nextID), ContactID: m.ContactID, Status: crm.OrderPlaced, Currency: "USD",
		Subtotal: sub, Discount: sub - total, Total: total, Channel: crm.ChannelInStore, PlacedAt: placed, Lines: lines}
	e.emit(crm.EventOrderCreated, o.ID, m.ContactID, o)
	return o
}

// ret returns amount of order o; returned is the order's returned total
// after it.
func (e *env) ret(o crm.Order, amount, returned int64) int64 {
	e.t.Helper()
	e.nextID++
	p := crm.OrderReturnedPayload{Return: crm.OrderReturn{ID: e.nextID, OrderID: o.ID, ContactID: o.ContactID, Reason: crm.ReturnChangedMind,
		Amount: amount}, OrderTotal: o.Total, ReturnedTotal: returned, Currency: o.Currency}
	e.emit(crm.EventOrderReturned, e.nextID, o.ContactID, p)
	return e.nextID
}

func (e *env) sweep() club.SweepResult {
	e.t.Helper()
	r, err := e.svc.Sweep(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// check asserts the ledger invariants and the recomputation.
func (e *env) check() {
	e.t.Helper()
	probs, err := e.svc.Check(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	diffs, err := e.svc.Recompute(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(probs)+len(diffs) > 0 {
		e.t.Fatalf("ledger check:\n%s\nrecompute:\n%s", strings.Join(probs, "\n"), strings.Join(diffs, "\n"))
	}
}

// balances asserts a member's available, pending and reserved points.
func (e *env) balances(id, available, pending, reserved int64) {
	e.t.Helper()
	m := e.get(id)
	if m.Available != available || m.Pending != pending || m.Reserved != reserved {
		e.t.Fatalf("member %d: available/pending/reserved = %d/%d/%d, want %d/%d/%d", id, m.Available, m.Pending, m.Reserved, available, pending, reserved)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// code returns the crm code of err, failing on nil.
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	return crm.ErrorCode(err)
}
