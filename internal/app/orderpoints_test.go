package app

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// orderPoints is the club and the orders wired as in New, on one database.
type orderPoints struct {
	t       *testing.T
	db      *store.DB
	clubs   *club.Service
	orders  *order.Service
	d       *event.Dispatcher
	numbers []string // member numbers
}

// newOrderPoints wires the club's points subscriber and enrols n members
// in a program.
func newOrderPoints(t *testing.T, db *store.DB, n int) *orderPoints {
	t.Helper()
	ctx := t.Context()
	quiet := slog.New(slog.DiscardHandler)
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	e := &orderPoints{t: t, db: db, clubs: club.New(db, club.Options{Logger: quiet})}
	e.orders = order.New(db, order.Options{Resolve: CustomerResolver(contacts, e.clubs)})
	e.d = event.NewDispatcher(db, quiet)
	e.clubs.Subscribe(e.d)
	p, err := e.clubs.CreateProgram(ctx, club.ProgramInput{Name: "Club", Currency: "IRR", EarnPoints: 1, EarnAmount: 10000, PendingDays: 14,
		ExpiryMonths: 12})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []club.TierInput{{Name: "Base", Threshold: 0, Multiplier: 100}, {Name: "Silver", Threshold: 2_000_000, Multiplier: 200}} {
		if _, err := e.clubs.SaveTier(ctx, p.ID, 0, tr); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.clubs.SaveRule(ctx, p.ID, 0, club.RuleInput{Name: "Welcome", Kind: club.RuleFirstPurchase, Value: 50, Priority: 10}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c, err := contacts.CreateContact(ctx, &crm.Contact{FirstName: fmt.Sprint("Member", i)}, true)
		if err != nil {
			t.Fatal(err)
		}
		en, err := e.clubs.Enrol(ctx, club.Enrolment{ProgramID: p.ID, ContactID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.numbers = append(e.numbers, en.Member.Number)
	}
	e.drain() // the subscriber's cursor exists, as in a running server
	return e
}

func (e *orderPoints) drain() {
	e.t.Helper()
	if err := e.d.Drain(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// buy records order ext for member i.
func (e *orderPoints) buy(ext string, i int) (*crm.Order, error) {
	o, _, err := e.orders.Create(e.t.Context(), order.Input{Source: "till", ExternalID: ext, Currency: "IRR",
		Customer: crm.CustomerRef{MemberNumber: e.numbers[i%len(e.numbers)]},
		Lines:    []order.LineInput{{Name: "Coffee", Quantity: 1 + int64(i%3), UnitPrice: 450_000}}})
	return o, err
}

// earns returns how many earn entries each order has.
func (e *orderPoints) earns() map[int64]int {
	e.t.Helper()
	ctx := e.t.Context()
	out := map[int64]int{}
	err := e.db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT order_id, COUNT(*) FROM club_ledger WHERE kind = 'earn' GROUP BY order_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			out[id] = n
		}
		return rows.Err()
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// checkOnce asserts one earn entry per order of ids and none for others,
// and that the ledger is consistent and recomputes to itself.
func (e *orderPoints) checkOnce(ids []int64) {
	e.t.Helper()
	got := e.earns()
	for _, id := range ids {
		if got[id] != 1 {
			e.t.Errorf("order %d earned %d times, want 1", id, got[id])
		}
	}
	if len(got) != len(ids) {
		e.t.Errorf("%d orders earned, want %d", len(got), len(ids))
	}
	probs, err := e.clubs.Check(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	diffs, err := e.clubs.Recompute(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	if len(probs)+len(diffs) > 0 {
		e.t.Fatalf("ledger check:\n%s\nrecompute:\n%s", strings.Join(probs, "\n"), strings.Join(diffs, "\n"))
	}
}

// TestOrderPointsGroupCommit: orders from concurrent tills share group
// commits (SQLite), each in its savepoint, so a replay or an unknown card
// in a group fails alone, and every order earns its points once, however
// often it is sent.
func TestOrderPointsGroupCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOrderPoints(t, db, 5)
		var ids []int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < 40; i += 8 {
					o, err := e.buy(fmt.Sprint("o", i), i)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					ids = append(ids, o.ID)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		// The tills send them all again, with new ones and unknown cards
		// among them.
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < 48; i += 8 {
					if i%8 == 3 { // an unknown card among them fails alone
						_, _, err := e.orders.Create(e.t.Context(), order.Input{Source: "till", ExternalID: fmt.Sprint("bad", i), Currency: "IRR",
							Customer: crm.CustomerRef{MemberNumber: "999999"}, Lines: []order.LineInput{{Name: "Tea", Quantity: 1, UnitPrice: 1000}}})
						if crm.ErrorFields(err)["customer.member_number"] == "" {
							t.Errorf("unknown member number: %v", err)
						}
					}
					o, err := e.buy(fmt.Sprint("o", i), i)
					if err != nil {
						t.Error(err)
						return
					}
					if i >= 40 {
						mu.Lock()
						ids = append(ids, o.ID)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		e.drain()
		e.checkOnce(ids)
	})
}
