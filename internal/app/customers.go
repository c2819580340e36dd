package app

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// resolveCustomer finds the person an order names, inside the order's
// transaction: a contact id as given; a club member number through the
// club; otherwise the contact service matches phone or email or creates
// the person. It is where the orders, club and contacts modules meet
// without importing each other.
func (a *App) resolveCustomer(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (int64, error) {
	return 0, crm.Errorf(crm.EINVALID, "customer: resolution is not wired yet")
}
