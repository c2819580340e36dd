package app

import (
	"testing"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestCustomerResolver takes orders naming their customer by member
// number, phone, email and contact id through the resolver the app wires.
func TestCustomerResolver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
		clubs := club.New(db, club.Options{})
		orders := order.New(db, order.Options{Resolve: CustomerResolver(contacts, clubs)})
		p, err := clubs.CreateProgram(ctx, club.ProgramInput{Name: "Club", Currency: "IRR", EarnPoints: 1, EarnAmount: 10000})
		if err != nil {
			t.Fatal(err)
		}
		sara, err := contacts.CreateContact(ctx, &crm.Contact{FirstName: "Sara", Phones: []crm.Labeled{{Value: "09121234567"}}}, true)
		if err != nil {
			t.Fatal(err)
		}
		m, err := clubs.Enrol(ctx, club.Enrolment{ProgramID: p.ID, ContactID: sara.ID})
		if err != nil {
			t.Fatal(err)
		}
		buy := func(ref crm.CustomerRef) (*crm.Order, error) {
			o, _, err := orders.Create(ctx, order.Input{Currency: "IRR", Customer: ref, Lines: []order.LineInput{{Name: "Tea", Quantity: 1, UnitPrice: 50000}}})
			return o, err
		}
		for _, ref := range []crm.CustomerRef{{MemberNumber: m.Member.Number}, {Phone: "+98 912 123 4567"}, {ContactID: sara.ID}} {
			o, err := buy(ref)
			if err != nil || o.ContactID != sara.ID {
				t.Fatalf("%+v: %+v %v", ref, o, err)
			}
		}
		_, err = buy(crm.CustomerRef{MemberNumber: "999999999"})
		if crm.ErrorCode(err) != crm.EINVALID || crm.ErrorFields(err)["customer.member_number"] == "" {
			t.Fatalf("unknown member number: %v", err)
		}
		o, err := buy(crm.CustomerRef{Email: "new@example.com", FirstName: "Nima"})
		if err != nil || o.ContactID == sara.ID {
			t.Fatalf("new customer: %+v %v", o, err)
		}
		// Without the club, member numbers are refused on their field.
		plain := order.New(db, order.Options{Resolve: CustomerResolver(contacts, nil)})
		_, _, err = plain.Create(ctx, order.Input{Currency: "IRR", Customer: crm.CustomerRef{MemberNumber: m.Member.Number}, Total: new(int64)})
		if crm.ErrorFields(err)["customer.member_number"] == "" {
			t.Fatalf("no club: %v", err)
		}
	})
}
