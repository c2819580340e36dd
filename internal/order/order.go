// Package order records purchases (from the till, the web shop, by phone
// or on Telegram) and their returns, idempotently, and tells the rest of
// Pivand through order.created and order.returned events.
//
// An order from a source (a till, a shop) that carries the source's own
// order id is stored once: sending it again returns the first order and
// changes nothing, and sending different content under the same id is a
// conflict. Returns work the same way with their own ids. See
// docs/orders.md.
package order

import (
	"context"
	"errors"
	"sync"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
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

	// SeparateCommits writes every order in a transaction of its own on
	// SQLite too, instead of sharing one commit among concurrent orders
	// (commit.go); for measurements.
	SeparateCommits bool
}

// Service is the orders module.
type Service struct {
	db      *store.DB
	opts    Options
	commit  committer // group commit of concurrent orders (commit.go)
	prepare sync.Once // the insert statements, prepared at the first order
}

// prepareStatements prepares the statements of an order's insert once, outside
// any transaction (see store.DB.PrepareOrders); a failure only costs
// speed.
func (s *Service) prepareStatements(ctx context.Context) {
	s.prepare.Do(func() {
		ctx := context.WithoutCancel(ctx)
		if s.db.PrepareOrders(ctx) == nil {
			_ = s.db.PrepareSavepoint(ctx, savepoint)
		}
	})
}

// New returns the orders service on db.
func New(db *store.DB, opts Options) *Service {
	return &Service{db: db, opts: opts}
}

// errRace says that a concurrent transaction stored the same source and
// external id first (PostgreSQL): the caller retries once and then finds
// the stored record.
var errRace = errors.New("order: stored concurrently")

// retryRace runs fn again once when it lost a race on an external id.
func retryRace(fn func() error) error {
	err := fn()
	if errors.Is(err, errRace) {
		err = fn()
	}
	if errors.Is(err, errRace) {
		return crm.Errorf(crm.EUNAVAILABLE, "The same order is being stored by another request; try again.")
	}
	return err
}

// SubscriberName is the durable event cursor of the orders module's
// contact subscriber.
const SubscriberName = "order.contacts"

// RegisterSubscribers subscribes the module to the contact events it
// follows: when people are merged, their orders, returns and customer
// numbers go to the survivor; when a person is deleted or erased, their
// orders stay as sales figures, detached from anyone (contact_id 0), and
// their customer numbers are forgotten.
func (s *Service) RegisterSubscribers(d *event.Dispatcher) {
	d.Subscribe(SubscriberName, []string{crm.EventContactsMerged, crm.EventContactDeleted, crm.EventContactErased}, s.HandleContactEvent)
}

// HandleContactEvent is the handler RegisterSubscribers installs.
func (s *Service) HandleContactEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	switch ev.Type {
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := decode(ev.Payload, &p); err != nil {
			return err
		}
		_, err := tx.MoveOrders(ctx, p.MergedIDs, ev.SubjectID)
		return err
	case crm.EventContactDeleted, crm.EventContactErased:
		_, err := tx.MoveOrders(ctx, []int64{ev.SubjectID}, 0)
		return err
	}
	return nil
}
