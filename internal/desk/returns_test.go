package desk_test

import (
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestReturnsCountOpenRequests: an order line's items already asked for
// by return requests not yet settled cannot be asked for again (one
// item bought, two requests for it was allowed); a rejected request
// frees them.
func TestReturnsCountOpenRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		admin := as(f.admin)
		orders := order.New(db, order.Options{Resolve: f.contacts.ResolveCustomer})
		o, _, err := orders.Create(admin, order.Input{Currency: "IRR", Customer: crm.CustomerRef{Email: "sara@example.com"},
			Lines: []order.LineInput{{SKU: "P-1", Name: "Printer", Quantity: 2, UnitPrice: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		tk := f.ticket("Printer jams")
		line := o.Lines[0].ID
		first, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: line, Quantity: 1, Reason: crm.ReturnDefect})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: line, Quantity: 2, Reason: crm.ReturnDefect}); crm.ErrorFields(err)["quantity"] == "" {
			t.Errorf("two more of a line of two with one asked for: %v", err)
		}
		if _, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: line, Quantity: 1, Reason: crm.ReturnDefect}); err != nil {
			t.Fatalf("the second item: %v", err)
		}
		if _, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: line, Quantity: 1, Reason: crm.ReturnDefect}); crm.ErrorFields(err)["quantity"] == "" {
			t.Errorf("a third request on a line of two: %v", err)
		}
		rejected := crm.ResolutionRejected
		if _, err := f.desk.UpdateReturn(admin, first.ID, desk.ReturnPatch{Resolution: &rejected}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.CreateReturn(admin, tk.ID, desk.ReturnInput{OrderLineID: line, Quantity: 1, Reason: crm.ReturnChangedMind}); err != nil {
			t.Errorf("after a rejection the item may be asked for again: %v", err)
		}
	})
}
