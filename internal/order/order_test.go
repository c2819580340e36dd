package order_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var sys = context.Background()

// fixture is the orders service on a real database, resolving customers
// through the real contact service (as internal/app wires it, without the
// club).
type fixture struct {
	db       *store.DB
	contacts *contact.Service
	orders   *order.Service
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	cs := contact.New(db, contact.Options{DefaultRegion: "IR"})
	return &fixture{db: db, contacts: cs, orders: order.New(db, order.Options{Resolve: cs.ResolveCustomer})}
}

func (f *fixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	err := f.db.Read(sys, func(tx *store.Tx) error { return tx.QueryRow(sys, q, args...).Scan(&n) })
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// snapshot counts every table an order or a return writes to.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	var parts []string
	for _, table := range []string{"orders", "order_lines", "order_returns", "return_lines", "events", "audit_log", "contacts", "order_customers"} {
		parts = append(parts, fmt.Sprintf("%s=%d", table, f.count(t, "SELECT COUNT(*) FROM "+table)))
	}
	return strings.Join(parts, " ")
}

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

func basket() order.Input {
	return order.Input{
		Source: "pos-1", ExternalID: "A-1001", Currency: "irr", Channel: crm.ChannelInStore, Store: "Tehran 1",
		Customer: crm.CustomerRef{Phone: "0912 345 6789", FirstName: "Sara", LastName: "Rezaei"},
		Discount: 10_000,
		Lines: []order.LineInput{
			{SKU: "TEA-1", Name: "Tea", Category: "drinks", Quantity: 3, UnitPrice: 50_000},
			{SKU: "CUP-2", Name: "Cup", Quantity: 1, UnitPrice: 120_000, Discount: 20_000},
		},
	}
}

func TestCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		o, created, err := f.orders.Create(sys, basket())
		if err != nil || !created {
			t.Fatalf("create: %v %v", created, err)
		}
		if o.Currency != "IRR" || o.Subtotal != 250_000 || o.Total != 240_000 || o.Status != crm.OrderPlaced || len(o.Lines) != 2 ||
			o.Lines[1].Total != 100_000 || o.Lines[0].ID == 0 || o.ContactID == 0 {
			t.Fatalf("order = %+v", o)
		}
		c, err := f.contacts.FindContactByID(sys, o.ContactID)
		if err != nil || c.FirstName != "Sara" || c.Phones[0].Value != "+989123456789" || c.Source != contact.CustomerSource {
			t.Fatalf("customer = %+v, %v", c, err)
		}
		// The event carries the whole order and is on the customer's timeline.
		var ev crm.Event
		err = db.Read(sys, func(tx *store.Tx) error {
			evs, _, err := tx.FindEventsBySubject(sys, "order", o.ID, crm.Page{})
			if len(evs) == 1 {
				ev = evs[0]
			}
			return err
		})
		if err != nil || ev.Type != crm.EventOrderCreated || ev.ContactID != o.ContactID {
			t.Fatalf("event = %+v, %v", ev, err)
		}
		var p crm.Order
		if err := json.Unmarshal(ev.Payload, &p); err != nil || p.ID != o.ID || len(p.Lines) != 2 || p.Lines[0].SKU != "TEA-1" || p.ContactID != o.ContactID || p.Total != 240_000 {
			t.Fatalf("payload = %s, %v", ev.Payload, err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'order.create' AND entity_id = ?`, o.ID); n != 1 {
			t.Errorf("audit entries = %d", n)
		}

		// The same phone (written another way) is the same person.
		in := basket()
		in.ExternalID = "A-1002"
		in.Customer = crm.CustomerRef{Phone: "+98 912 345 6789"}
		o2, _, err := f.orders.Create(sys, in)
		if err != nil || o2.ContactID != o.ContactID {
			t.Fatalf("second order: %+v %v", o2, err)
		}
		// An email finds the same person once they have it; a new email makes a new person.
		in.ExternalID, in.Customer = "A-1003", crm.CustomerRef{Email: "NEW@example.com", FirstName: "Nima"}
		o3, _, err := f.orders.Create(sys, in)
		if err != nil || o3.ContactID == o.ContactID {
			t.Fatalf("third order: %+v %v", o3, err)
		}
		in.ExternalID, in.Customer = "A-1004", crm.CustomerRef{Email: "new@example.com"}
		o4, _, err := f.orders.Create(sys, in)
		if err != nil || o4.ContactID != o3.ContactID {
			t.Fatalf("fourth order: %+v %v", o4, err)
		}
		// A contact id must exist.
		in.ExternalID, in.Customer = "A-1005", crm.CustomerRef{ContactID: 999999}
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "customer.contact_id")
		in.Customer = crm.CustomerRef{ContactID: o.ContactID}
		if o5, _, err := f.orders.Create(sys, in); err != nil || o5.ContactID != o.ContactID {
			t.Fatalf("by contact id: %v", err)
		}

		// A source's customer number is remembered per source.
		in = order.Input{Source: "shop", ExternalID: "W-1", Currency: "USD", Customer: crm.CustomerRef{ExternalID: "17850"}, Total: ptr(int64(1999))}
		w1, _, err := f.orders.Create(sys, in)
		if err != nil {
			t.Fatal(err)
		}
		in.ExternalID = "W-2"
		w2, _, err := f.orders.Create(sys, in)
		if err != nil || w2.ContactID != w1.ContactID || w2.Subtotal != 1999 || len(w2.Lines) != 0 {
			t.Fatalf("customer number: %+v %v", w2, err)
		}
		in.Source, in.ExternalID = "other-shop", "W-1"
		w3, _, err := f.orders.Create(sys, in)
		if err != nil || w3.ContactID == w1.ContactID {
			t.Fatalf("another source's number 17850 is another person: %+v %v", w3, err)
		}
	})
}

func TestCreateValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		before := f.snapshot(t)
		in := basket()
		in.Customer = crm.CustomerRef{}
		in.Currency = "XYZ"
		in.Channel = "fax"
		in.Lines = append(in.Lines, order.LineInput{Name: "Bad", Quantity: 0, UnitPrice: 10}, order.LineInput{Quantity: 1, UnitPrice: -5})
		_, _, err := f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "customer", "currency", "channel", "lines[2].quantity", "lines[3].name", "lines[3].unit_price")

		in = basket()
		in.Total = ptr(int64(1))
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "total")
		in = basket()
		in.Discount = 1_000_000
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "discount")
		in = basket()
		in.Lines[0].Discount = 150_001
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "lines[0].discount")
		in = basket()
		in.Lines = nil
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "lines")
		in = basket()
		in.PlacedAt = ptr(time.Now().Add(72 * time.Hour))
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "placed_at")
		in = basket()
		in.Lines[0].Quantity, in.Lines[0].UnitPrice = order.MaxQuantity, order.MaxUnitPrice
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "lines[0].quantity")
		in = basket()
		in.Customer = crm.CustomerRef{Phone: "12"}
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.EINVALID, "customer.phone")
		if after := f.snapshot(t); after != before {
			t.Errorf("a refused order wrote something:\n before %s\n after  %s", before, after)
		}
	})
}

func TestCreateIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		first, created, err := f.orders.Create(sys, basket())
		if err != nil || !created {
			t.Fatal(err)
		}
		before := f.snapshot(t)
		again, created, err := f.orders.Create(sys, basket())
		if err != nil || created || again.ID != first.ID || again.Total != first.Total || len(again.Lines) != 2 {
			t.Fatalf("replay: %+v created=%v %v", again, created, err)
		}
		if after := f.snapshot(t); after != before {
			t.Errorf("a replay changed something:\n before %s\n after  %s", before, after)
		}
		// The same id with other content is a conflict on external_id.
		in := basket()
		in.Lines[0].Quantity = 4
		_, _, err = f.orders.Create(sys, in)
		fieldErr(t, err, crm.ECONFLICT, "external_id")
		// Another source may use the same id.
		in.Source = "pos-2"
		if _, created, err := f.orders.Create(sys, in); err != nil || !created {
			t.Fatalf("other source: %v", err)
		}
		// Without an external id every request is a new order.
		in.ExternalID = ""
		a, _, err1 := f.orders.Create(sys, in)
		b, _, err2 := f.orders.Create(sys, in)
		if err1 != nil || err2 != nil || a.ID == b.ID {
			t.Fatalf("no external id: %v %v", err1, err2)
		}
	})
}

// TestCreateConcurrent sends the same order from many goroutines at once:
// exactly one order (and one customer) is stored, and every caller gets it.
func TestCreateConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		const n = 12
		ids := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				o, _, err := f.orders.Create(sys, basket())
				errs[i] = err
				if err == nil {
					ids[i] = o.ID
				}
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || ids[i] != ids[0] {
				t.Fatalf("caller %d: id %d (first %d), %v", i, ids[i], ids[0], errs[i])
			}
		}
		if got := f.count(t, `SELECT COUNT(*) FROM orders`); got != 1 {
			t.Errorf("orders = %d", got)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM contacts`); got != 1 {
			t.Errorf("contacts = %d", got)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM events WHERE type = ?`, crm.EventOrderCreated); got != 1 {
			t.Errorf("order.created events = %d", got)
		}
		// Different orders of one new customer at once: one person.
		var wg2 sync.WaitGroup
		for i := range n {
			wg2.Go(func() {
				in := basket()
				in.ExternalID = fmt.Sprintf("B-%d", i)
				in.Customer = crm.CustomerRef{Email: "same@example.com"}
				_, _, errs[i] = f.orders.Create(sys, in)
			})
		}
		wg2.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("order %d: %v", i, err)
			}
		}
		if got := f.count(t, `SELECT COUNT(*) FROM contacts`); got != 2 {
			t.Errorf("contacts = %d, want 2", got)
		}
	})
}

// TestGroupCommitIsolation sends good and bad orders at once: the bad
// ones (an unknown contact, a replay with other content) fail alone, and
// the good ones sharing their transaction are stored whole.
func TestGroupCommitIsolation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		if _, _, err := f.orders.Create(sys, basket()); err != nil {
			t.Fatal(err)
		}
		before := f.count(t, `SELECT COUNT(*) FROM order_lines`)
		const n = 24
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				in := basket()
				in.ExternalID = fmt.Sprintf("G-%d", i)
				switch i % 3 {
				case 1:
					in.Customer = crm.CustomerRef{ContactID: 999999}
				case 2:
					in.ExternalID = "A-1001" // stored with other content
					in.Lines = in.Lines[:1]
				}
				_, _, errs[i] = f.orders.Create(sys, in)
			})
		}
		wg.Wait()
		for i, err := range errs {
			want := map[int]string{0: "", 1: crm.EINVALID, 2: crm.ECONFLICT}[i%3]
			if crm.ErrorCode(err) != want {
				t.Errorf("order %d: %v, want %q", i, err, want)
			}
		}
		if got := f.count(t, `SELECT COUNT(*) FROM orders`); got != 1+n/3 {
			t.Errorf("orders = %d, want %d", got, 1+n/3)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM order_lines`); got != before+2*n/3 {
			t.Errorf("lines = %d, want %d", got, before+2*n/3)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM events WHERE type = ?`, crm.EventOrderCreated); got != 1+n/3 {
			t.Errorf("events = %d", got)
		}
	})
}

func TestReturns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		// Lines 3×50,000 and 1×(120,000 − 20,000); order discount 10,000
		// shared 150:100 → 6,000 and 4,000; nets 144,000 and 96,000.
		o, _, err := f.orders.Create(sys, basket())
		if err != nil {
			t.Fatal(err)
		}
		tea := o.Lines[0].ID
		r1, created, err := f.orders.Return(sys, o.ID, order.ReturnInput{Source: "pos-1", ExternalID: "R-1", Reason: crm.ReturnDefect,
			Lines: []order.ReturnLineInput{{LineID: tea, Quantity: 1}}})
		if err != nil || !created || r1.Amount != 48_000 || len(r1.Lines) != 1 || r1.Lines[0].SKU != "TEA-1" || r1.ContactID != o.ContactID {
			t.Fatalf("return 1: %+v %v", r1, err)
		}
		got, _ := f.orders.Find(sys, o.ID)
		if got.Status != crm.OrderPartiallyReturned || got.ReturnedTotal != 48_000 || got.Lines[0].ReturnedQuantity != 1 {
			t.Fatalf("after return 1: %+v", got)
		}
		// A replay changes nothing; other content under the same id conflicts.
		before := f.snapshot(t)
		again, created, err := f.orders.Return(sys, o.ID, order.ReturnInput{Source: "pos-1", ExternalID: "R-1", Reason: crm.ReturnDefect,
			Lines: []order.ReturnLineInput{{LineID: tea, Quantity: 1}}})
		if err != nil || created || again.ID != r1.ID {
			t.Fatalf("replay: %+v %v %v", again, created, err)
		}
		if after := f.snapshot(t); after != before {
			t.Errorf("replay changed something:\n %s\n %s", before, after)
		}
		_, _, err = f.orders.Return(sys, o.ID, order.ReturnInput{Source: "pos-1", ExternalID: "R-1", Reason: crm.ReturnDefect,
			Lines: []order.ReturnLineInput{{LineID: tea, Quantity: 2}}})
		fieldErr(t, err, crm.ECONFLICT, "external_id")

		// Never more than bought.
		_, _, err = f.orders.Return(sys, o.ID, order.ReturnInput{Reason: crm.ReturnChangedMind,
			Lines: []order.ReturnLineInput{{LineID: tea, Quantity: 3}}})
		fieldErr(t, err, crm.EINVALID, "lines[0].quantity")
		_, _, err = f.orders.Return(sys, o.ID, order.ReturnInput{Reason: "bored", Lines: []order.ReturnLineInput{{LineID: 424242, Quantity: 1}}})
		fieldErr(t, err, crm.EINVALID, "reason")
		_, _, err = f.orders.Return(sys, o.ID, order.ReturnInput{Reason: crm.ReturnOther, Lines: []order.ReturnLineInput{{LineID: 424242, Quantity: 1}}})
		fieldErr(t, err, crm.EINVALID, "lines[0].line_id")
		_, _, err = f.orders.Return(sys, 999999, order.ReturnInput{Reason: crm.ReturnOther})
		if crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("no such order: %v", err)
		}

		// The rest: everything not yet returned, refunding exactly what is left.
		r2, _, err := f.orders.Return(sys, o.ID, order.ReturnInput{Reason: crm.ReturnChangedMind, Note: "all of it"})
		if err != nil || r2.Amount != 240_000-48_000 || len(r2.Lines) != 2 || r2.Lines[0].Quantity != 2 || r2.Lines[1].Quantity != 1 || r2.Lines[1].Amount != 96_000 {
			t.Fatalf("return 2: %+v %v", r2, err)
		}
		got, _ = f.orders.Find(sys, o.ID)
		if got.Status != crm.OrderReturned || got.ReturnedTotal != got.Total {
			t.Fatalf("after return 2: %+v", got)
		}
		_, _, err = f.orders.Return(sys, o.ID, order.ReturnInput{Reason: crm.ReturnOther})
		if crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("nothing left: %v", err)
		}
		rs, err := f.orders.Returns(sys, o.ID)
		if err != nil || len(rs) != 2 || rs[1].Note != "all of it" {
			t.Fatalf("returns: %+v %v", rs, err)
		}
		// The event tells subscribers how much of the order is refunded.
		var p crm.OrderReturnedPayload
		err = db.Read(sys, func(tx *store.Tx) error {
			evs, _, err := tx.FindEventsBySubject(sys, "order", o.ID, crm.Page{})
			if err == nil && evs[0].Type == crm.EventOrderReturned && evs[0].ContactID == o.ContactID {
				err = json.Unmarshal(evs[0].Payload, &p)
			}
			return err
		})
		if err != nil || p.Return.ID != r2.ID || p.OrderTotal != 240_000 || p.ReturnedTotal != 240_000 || p.Currency != "IRR" || len(p.Return.Lines) != 2 {
			t.Fatalf("order.returned payload = %+v, %v", p, err)
		}

		// An order known by its total alone returns amounts.
		a, _, err := f.orders.Create(sys, order.Input{Source: "old", ExternalID: "1", Currency: "USD", Customer: crm.CustomerRef{ContactID: o.ContactID}, Total: ptr(int64(1000))})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.orders.Return(sys, a.ID, order.ReturnInput{Reason: crm.ReturnLate, Amount: ptr(int64(1001))})
		fieldErr(t, err, crm.EINVALID, "amount")
		ra, _, err := f.orders.Return(sys, a.ID, order.ReturnInput{Reason: crm.ReturnLate, Amount: ptr(int64(400))})
		if err != nil || ra.Amount != 400 {
			t.Fatal(err)
		}
		rb, _, err := f.orders.Return(sys, a.ID, order.ReturnInput{Reason: crm.ReturnLate})
		if err != nil || rb.Amount != 600 {
			t.Fatalf("rest: %+v %v", rb, err)
		}
	})
}

// TestReturnAmountsAddUp returns every unit of odd-sized orders one at a
// time: the refunds add up to exactly the total, each line's to its net.
func TestReturnAmountsAddUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		in := order.Input{Currency: "USD", Customer: crm.CustomerRef{Email: "odd@example.com"}, Discount: 1001, Lines: []order.LineInput{
			{Name: "a", Quantity: 7, UnitPrice: 333}, {Name: "b", Quantity: 3, UnitPrice: 1001, Discount: 17}, {Name: "c", Quantity: 1, UnitPrice: 1},
		}}
		o, _, err := f.orders.Create(sys, in)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, l := range o.Lines {
			for range l.Quantity {
				r, _, err := f.orders.Return(sys, o.ID, order.ReturnInput{Reason: crm.ReturnOther, Lines: []order.ReturnLineInput{{LineID: l.ID, Quantity: 1}}})
				if err != nil {
					t.Fatal(err)
				}
				sum += r.Amount
			}
		}
		got, _ := f.orders.Find(sys, o.ID)
		if sum != o.Total || got.ReturnedTotal != o.Total || got.Status != crm.OrderReturned {
			t.Fatalf("refunded %d of %d; order %+v", sum, o.Total, got)
		}
	})
}

// TestReturnsConcurrent: many returns of the same line at once never give
// back more than was bought.
func TestReturnsConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		o, _, err := f.orders.Create(sys, basket())
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg sync.WaitGroup
			mu sync.Mutex
			ok int
		)
		for range 10 {
			wg.Go(func() {
				_, _, err := f.orders.Return(sys, o.ID, order.ReturnInput{Reason: crm.ReturnOther, Lines: []order.ReturnLineInput{{LineID: o.Lines[0].ID, Quantity: 1}}})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else if crm.ErrorCode(err) != crm.EINVALID {
					t.Errorf("return: %v", err)
				}
			})
		}
		wg.Wait()
		got, _ := f.orders.Find(sys, o.ID)
		if ok != 3 || got.Lines[0].ReturnedQuantity != 3 || got.ReturnedTotal != 144_000 {
			t.Fatalf("%d returns succeeded; order %+v", ok, got)
		}
	})
}

func TestListAndStream(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		base := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
		var ids []int64
		for i := range 7 {
			in := basket()
			in.ExternalID = fmt.Sprintf("L-%d", i)
			in.PlacedAt = ptr(base.Add(time.Duration(7-i) * 24 * time.Hour)) // later ids placed earlier
			if i%2 == 1 {
				in.Channel, in.Store = crm.ChannelWeb, ""
				in.Customer = crm.CustomerRef{Email: "web@example.com"}
			}
			if i == 6 {
				in.Lines, in.Discount, in.Total = nil, 0, ptr(int64(5))
			}
			o, _, err := f.orders.Create(sys, in)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
		}
		all, next, err := f.orders.List(sys, crm.OrderFilter{Limit: 3})
		if err != nil || len(all) != 3 || all[0].ID != ids[6] || next == "" || len(all[1].Lines) != 2 {
			t.Fatalf("page 1: %v %q %v", len(all), next, err)
		}
		var seen []int64
		for after := ""; ; {
			page, nxt, err := f.orders.List(sys, crm.OrderFilter{Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page {
				seen = append(seen, o.ID)
			}
			if nxt == "" {
				break
			}
			after = nxt
		}
		if len(seen) != 7 || seen[0] != ids[6] || seen[6] != ids[0] {
			t.Fatalf("paged ids %v", seen)
		}
		web, _, err := f.orders.List(sys, crm.OrderFilter{Channel: crm.ChannelWeb})
		if err != nil || len(web) != 3 {
			t.Fatalf("web: %d %v", len(web), err)
		}
		from, to := base.Add(2*24*time.Hour), base.Add(5*24*time.Hour)
		mid, _, err := f.orders.List(sys, crm.OrderFilter{From: &from, To: &to, Store: "Tehran 1"})
		if err != nil || len(mid) != 1 || mid[0].ID != ids[4] {
			t.Fatalf("range: %d %v", len(mid), err)
		}
		mine, _, err := f.orders.ListForContact(sys, web[0].ContactID, crm.Page{})
		if err != nil || len(mine) != 3 {
			t.Fatalf("for contact: %d %v", len(mine), err)
		}
		_, _, err = f.orders.List(sys, crm.OrderFilter{Status: "lost", Channel: "fax"})
		fieldErr(t, err, crm.EINVALID, "status", "channel")
		_, _, err = f.orders.List(sys, crm.OrderFilter{After: "nonsense"})
		fieldErr(t, err, crm.EINVALID, "after")
		totals, err := f.orders.ContactTotals(sys, web[0].ContactID)
		if err != nil || len(totals) != 1 || totals[0].Orders != 3 || totals[0].Total != 3*240_000 {
			t.Fatalf("totals %+v %v", totals, err)
		}

		// Streaming by placed_at: oldest first, lines together.
		var streamed []int64
		lines := 0
		err = f.orders.Stream(sys, store.OrderStream{ByPlacedAt: true}, func(o *crm.Order) error {
			streamed = append(streamed, o.ID)
			lines += len(o.Lines)
			if len(o.Lines) > 0 && o.Subtotal != 250_000 {
				t.Errorf("order %d subtotal %d", o.ID, o.Subtotal)
			}
			return nil
		})
		if err != nil || len(streamed) != 7 || streamed[0] != ids[6] || streamed[6] != ids[0] || lines != 12 {
			t.Fatalf("stream %v lines %d %v", streamed, lines, err)
		}
		rows := 0
		err = db.Read(sys, func(tx *store.Tx) error {
			return tx.StreamOrderLines(sys, store.OrderStream{From: &from}, func(r *store.OrderStreamRow) error {
				rows++
				if r.PlacedAt.Before(from) {
					t.Errorf("row before from: %+v", r)
				}
				return nil
			})
		})
		if err != nil || rows != 6*2 {
			t.Fatalf("rows %d %v", rows, err)
		}
	})
}

// TestMergeMovesOrders merges two customers: the dispatcher hands
// contact.merged to the orders module, which moves the orders and the
// customer numbers to the survivor; deleting the survivor detaches them.
func TestMergeMovesOrders(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		d := event.NewDispatcher(db, nil)
		f.orders.RegisterSubscribers(d)
		in := basket()
		in.Customer = crm.CustomerRef{ExternalID: "C-9", Email: "a@example.com"}
		a, _, err := f.orders.Create(sys, in)
		if err != nil {
			t.Fatal(err)
		}
		in.ExternalID, in.Customer = "A-2", crm.CustomerRef{Email: "b@example.com"}
		b, _, err := f.orders.Create(sys, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.orders.Return(sys, b.ID, order.ReturnInput{Reason: crm.ReturnOther}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.contacts.Merge(sys, []int64{b.ContactID, a.ContactID}, b.ContactID, nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Drain(sys); err != nil {
			t.Fatal(err)
		}
		mine, _, err := f.orders.ListForContact(sys, b.ContactID, crm.Page{})
		if err != nil || len(mine) != 2 {
			t.Fatalf("survivor's orders: %d %v", len(mine), err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM order_returns WHERE contact_id = ?`, b.ContactID); n != 1 {
			t.Errorf("returns moved: %d", n)
		}
		// The customer number now names the survivor.
		in.ExternalID, in.Customer = "A-3", crm.CustomerRef{ExternalID: "C-9"}
		c, _, err := f.orders.Create(sys, in)
		if err != nil || c.ContactID != b.ContactID {
			t.Fatalf("customer number after merge: %+v %v", c, err)
		}
		// A deleted person's orders stay, detached.
		if err := f.contacts.DeleteContact(sys, b.ContactID); err != nil {
			t.Fatal(err)
		}
		if err := d.Drain(sys); err != nil {
			t.Fatal(err)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM orders WHERE contact_id = 0`); n != 3 {
			t.Errorf("detached orders = %d", n)
		}
		if n := f.count(t, `SELECT COUNT(*) FROM order_customers`); n != 0 {
			t.Errorf("customer numbers kept = %d", n)
		}
	})
}

func TestPermissions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		support := crm.NewContextWithUser(sys, &crm.User{ID: 1, Role: crm.RoleSupport, Active: true})
		if _, _, err := f.orders.Create(support, basket()); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("support creates: %v", err)
		}
		if _, _, err := f.orders.List(support, crm.OrderFilter{}); err != nil {
			t.Fatalf("support lists: %v", err)
		}
	})
}

func TestValidCurrency(t *testing.T) {
	for _, c := range []string{"IRR", "USD", "EUR", "AED", "SAR", "TMN", "AFN", "ZWG", "CAD"} {
		if !order.ValidCurrency(c) {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"", "usd", "XYZ", "RR ", "D C", "IR", "IRRX", "DAE"} {
		if order.ValidCurrency(c) {
			t.Errorf("%q accepted", c)
		}
	}
}
