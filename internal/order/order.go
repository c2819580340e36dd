// Package order records purchases (from the till, the web shop, by phone
// or on Telegram) and their returns, idempotently, and tells the rest of
// Pivand through order.created and order.returned events.
package order

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Resolver finds (or creates) the customer of an order inside the
// order's transaction and returns the contact id. internal/app composes
// it from the club (member numbers) and the contact service (phone,
// email, create).
type Resolver func(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (contactID int64, err error)

// Options configure a Service.
type Options struct {
	Resolve Resolver // required to take orders that name a customer by anything but contact id
}

// Service is the orders module.
type Service struct {
	db   *store.DB
	opts Options
}

// New returns the orders service on db.
func New(db *store.DB, opts Options) *Service {
	return &Service{db: db, opts: opts}
}
