// Package report computes the figures of the dashboards and reports:
// revenue by month net of returns, new and returning customers, cohort
// retention, the Pareto curve, returns by reason and the club's
// outstanding points, in the viewer's calendar (Gregorian or Jalali
// months of the business time zone), and reads the stored customer
// analytics (RFM segments and their movement, CLV, churn risk) of the
// current run.
//
// A dashboard must cost the same at ten million orders as at ten, so the
// figures come from aggregates (migration 0012_reports) that this package
// keeps as projections of the orders:
//
//   - Subscribe's handler marks what an order, a return, or a merge or
//     deletion of people changed (a day, a customer) in report_dirty, in
//     the event's own transaction;
//   - Run's worker recomputes each marked day and customer from the orders
//     (a mark handled twice does no harm: the result is the same) and
//     applies each customer's change to the cohort counts;
//   - the worker rebuilds everything from the orders the first time, when
//     the business time zone changes and when someone asks (Rebuild);
//   - figures that need a scan of a big table (the Pareto curve over every
//     customer, the club's balances, the analytics run's segment counts)
//     are cached and recomputed by the worker when stale.
//
// See docs/analytics.md, "Dashboards".
package report

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
)

// SubscriberName is the durable event cursor of the reports.
const SubscriberName = "report.aggregates"

// OrdersSubscriber is the orders module's contact subscriber, which moves
// orders to the survivor of a merge: a merge's marks wait until it has
// handled the merge.
const OrdersSubscriber = "order.contacts"

// Options configure the service.
type Options struct {
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PollInterval is how often the worker looks for marks written by
	// other processes (commits in this process wake it at once).
	PollInterval time.Duration
	// CacheTTL is how old a cached figure (Pareto, club balances) may get
	// while the data it comes from keeps changing; 10 minutes when 0.
	CacheTTL time.Duration
}

// Service computes and serves the report figures.
type Service struct {
	db   *store.DB
	log  *slog.Logger
	now  func() time.Time
	poll time.Duration
	ttl  time.Duration
	wake chan struct{}
	id   string // this process, for the worker's lease
}

// New returns the service on db.
func New(db *store.DB, opts Options) *Service {
	s := &Service{db: db, log: opts.Logger, now: opts.Now, poll: opts.PollInterval, ttl: opts.CacheTTL, wake: make(chan struct{}, 1)}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	if s.ttl <= 0 {
		s.ttl = 10 * time.Minute
	}
	s.id = newInstanceID()
	return s
}

// Subscribe registers the handler that marks what changed. It starts
// from the newest event: what came before is read from the orders by the
// first rebuild.
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe(SubscriberName, []string{crm.EventOrderCreated, crm.EventOrderReturned,
		crm.EventContactsMerged, crm.EventContactDeleted, crm.EventContactErased}, s.HandleEvent, event.SubscribeFromNow())
}

// Mark kinds.
const (
	markDay       = "day"
	markReturnDay = "return_day"
	markContact   = "contact"
)

// HandleEvent marks the days and customers an event changed.
func (s *Service) HandleEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	zone, err := tx.ReportStateValue(ctx, stateZone)
	if err != nil || zone == "" {
		return err // nothing built yet: the first rebuild reads the orders
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil // the worker rebuilds with a valid zone
	}
	var marks []store.ReportMark
	contact := func(id, after int64) {
		if id > 0 {
			marks = append(marks, store.ReportMark{Kind: markContact, ID: id, AfterEvent: after})
		}
	}
	switch ev.Type {
	case crm.EventOrderCreated:
		var o struct {
			ContactID int64     `json:"contact_id"`
			PlacedAt  time.Time `json:"placed_at"`
		}
		if err := json.Unmarshal(ev.Payload, &o); err != nil {
			s.log.Warn("report: unreadable order event", "event", ev.ID, "err", err)
			return nil
		}
		marks = append(marks, store.ReportMark{Kind: markDay, ID: int64(DayOf(o.PlacedAt, loc))})
		contact(o.ContactID, 0)
	case crm.EventOrderReturned:
		var p crm.OrderReturnedPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Warn("report: unreadable return event", "event", ev.ID, "err", err)
			return nil
		}
		placed, err := tx.OrderPlacedAt(ctx, p.Return.OrderID)
		if err != nil {
			return err
		}
		if !placed.IsZero() {
			marks = append(marks, store.ReportMark{Kind: markDay, ID: int64(DayOf(placed, loc))})
		}
		at := p.Return.CreatedAt
		if at.IsZero() {
			at = ev.CreatedAt
		}
		marks = append(marks, store.ReportMark{Kind: markReturnDay, ID: int64(DayOf(at, loc))})
		contact(p.Return.ContactID, 0)
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Warn("report: unreadable merge event", "event", ev.ID, "err", err)
			return nil
		}
		// The orders module moves the orders in its own subscriber: the
		// customers are recomputed once it has.
		contact(ev.SubjectID, ev.ID)
		for _, id := range p.MergedIDs {
			contact(id, ev.ID)
		}
	case crm.EventContactDeleted, crm.EventContactErased:
		contact(ev.SubjectID, ev.ID)
	}
	if len(marks) == 0 {
		return nil
	}
	if err := tx.MarkReports(ctx, marks); err != nil {
		return err
	}
	tx.AfterCommit(s.Wake)
	return nil
}

// Wake tells the worker there is work.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) read(ctx context.Context, fn func(tx *store.Tx) error) error {
	return s.db.Read(ctx, fn)
}
