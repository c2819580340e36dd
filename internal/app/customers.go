package app

import (
	"context"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
)

// resolveCustomer finds the person an order names, inside the order's
// transaction: a contact id as given; a club member number through the
// club; otherwise the contact service matches phone or email or creates
// the person. It is where the orders, club and contacts modules meet
// without importing each other.
func (a *App) resolveCustomer(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (int64, error) {
	return CustomerResolver(a.Contacts, a.Club)(ctx, tx, ref)
}

// CustomerResolver composes the resolver of the orders service from the
// contacts and club services, for the app and for commands that take
// orders without a server (pivand import orders):
//
//   - a contact id must exist;
//   - a member number is the club's (an unknown number is an error on
//     customer.member_number: a typo at the till must not create a
//     stranger);
//   - otherwise phone, then email, finds the person, or a new one is
//     created (contact.Service.ResolveCustomer).
func CustomerResolver(contacts *contact.Service, clubs *club.Service) order.Resolver {
	return func(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (int64, error) {
		if ref.ContactID == 0 && ref.MemberNumber != "" {
			return memberContact(ctx, tx, clubs, ref.MemberNumber)
		}
		return contacts.ResolveCustomer(ctx, tx, ref)
	}
}

// memberContact looks a member number up in the club. An unknown number
// is an error on customer.member_number (422), not "not found" (404): the
// order exists, its customer field is wrong.
func memberContact(ctx context.Context, tx *store.Tx, clubs *club.Service, number string) (int64, error) {
	if clubs == nil {
		return 0, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
			Fields: map[string]string{"customer.member_number": "Member numbers need the customer club, which is not installed; name the customer by phone or email."}}
	}
	id, err := clubs.MemberContact(ctx, tx, number)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return 0, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
			Fields: map[string]string{"customer.member_number": crm.ErrorMessage(err)}}
	}
	return id, err
}
