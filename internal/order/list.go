package order

import (
	"context"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Find returns an order with its lines. Needs orders:read.
func (s *Service) Find(ctx context.Context, id int64) (*crm.Order, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	var o *crm.Order
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		o, err = tx.FindOrderByID(ctx, id, false)
		return err
	})
	return o, err
}

// Returns lists the returns of an order, oldest first. Needs orders:read.
func (s *Service) Returns(ctx context.Context, orderID int64) ([]*crm.OrderReturn, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	var out []*crm.OrderReturn
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.FindOrderByID(ctx, orderID, false); err != nil {
			return err
		}
		var err error
		out, err = tx.FindReturns(ctx, orderID)
		return err
	})
	return out, err
}

// List lists orders matching f, newest first, with keyset paging: next is
// the cursor of the following page, "" on the last. Needs orders:read.
func (s *Service) List(ctx context.Context, f crm.OrderFilter) ([]*crm.Order, string, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, "", err
	}
	var v crm.Validation
	f.Status, f.Channel, f.Store = strings.TrimSpace(f.Status), strings.TrimSpace(f.Channel), strings.TrimSpace(f.Store)
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		v.Add("status", "Use one of %s.", strings.Join(Statuses, ", "))
	}
	if f.Channel != "" && !slices.Contains(crm.OrderChannels, f.Channel) {
		v.Add("channel", "Use one of %s.", strings.Join(crm.OrderChannels, ", "))
	}
	if f.ContactID < 0 {
		v.Add("contact_id", "Use a contact id.")
	}
	if f.From != nil && f.To != nil && !f.To.After(*f.From) {
		v.Add("to", "The end must come after the start.")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Order
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.FindOrders(ctx, f)
		return err
	})
	return out, next, err
}

// ListForContact lists one person's orders, newest first. Needs
// orders:read.
// A person who does not exist is ENOTFOUND.
func (s *Service) ListForContact(ctx context.Context, contactID int64, page crm.Page) ([]*crm.Order, string, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Order
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		ok, err := tx.ContactExists(ctx, contactID)
		if err != nil {
			return err
		}
		if !ok {
			return crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
		}
		out, next, err = tx.FindOrders(ctx, crm.OrderFilter{ContactID: contactID, Limit: page.Limit, After: page.After})
		return err
	})
	return out, next, err
}

// Statuses lists the order statuses.
var Statuses = []string{crm.OrderPlaced, crm.OrderPartiallyReturned, crm.OrderReturned}

// Totals is what one person bought, per currency.
type Totals = store.OrderTotals

// ContactTotals sums a person's orders per currency: how many, the money
// spent and refunded. Needs orders:read.
func (s *Service) ContactTotals(ctx context.Context, contactID int64) ([]Totals, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	var out []Totals
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ContactOrderTotals(ctx, contactID)
		return err
	})
	return out, err
}

// Stores lists the stores (branches) orders came from, for filters.
// Needs orders:read.
func (s *Service) Stores(ctx context.Context) ([]string, error) {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return nil, err
	}
	var out []string
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.OrderStores(ctx, 200)
		return err
	})
	return out, err
}

// Stream calls fn with each order selected by f, lines included, in
// placed_at or id order, holding one order at a time: analytics read
// millions of orders in constant memory this way. The *crm.Order passed
// to fn is reused for the next order; copy what you keep. Needs
// orders:read.
func (s *Service) Stream(ctx context.Context, f store.OrderStream, fn func(*crm.Order) error) error {
	if err := crm.Authorize(ctx, crm.PermOrdersRead, false); err != nil {
		return err
	}
	return s.db.Read(ctx, func(tx *store.Tx) error {
		var cur crm.Order
		have := false
		err := tx.StreamOrderLines(ctx, f, func(r *store.OrderStreamRow) error {
			if have && r.OrderID != cur.ID {
				if err := fn(&cur); err != nil {
					return err
				}
				have = false
			}
			if !have {
				cur = crm.Order{ID: r.OrderID, ContactID: r.ContactID, Status: r.Status, Currency: r.Currency, Channel: r.Channel,
					Store: r.Store, Discount: r.Discount, Total: r.Total, ReturnedTotal: r.ReturnedTotal, PlacedAt: r.PlacedAt,
					Lines: cur.Lines[:0]}
				have = true
			}
			if r.Line.ID != 0 {
				cur.Subtotal += r.Line.Total
				cur.Lines = append(cur.Lines, r.Line)
			} else {
				cur.Subtotal = r.Total + r.Discount
			}
			return nil
		})
		if err == nil && have {
			err = fn(&cur)
		}
		return err
	})
}
