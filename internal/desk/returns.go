package desk

import (
	"context"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Return requests: goods a customer wants to give back, raised on a
// ticket, naming a line of one of their orders (read through the store:
// the desk does not import the orders module) or a product in words,
// with the reason categories the orders module uses (crm.ReturnReasons)
// and, once settled, a resolution and notes for the product team. The
// refund itself is recorded on the order (the orders module), which the
// request links to.

// ReturnInput is a new return request.
type ReturnInput struct {
	OrderLineID int64  // a line of one of the customer's orders; or
	Product     string // the product in words (and SKU), when there is no order line
	SKU         string
	Quantity    int64 // 1 unless set
	Reason      string
	Notes       string
}

// CreateReturn raises a return request on a ticket. Needs service:write.
func (s *Service) CreateReturn(ctx context.Context, ticketID int64, in ReturnInput) (*crm.ReturnRequest, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	in.Product = checkText(&v, "product", in.Product, 200)
	in.SKU = checkText(&v, "sku", in.SKU, MaxShort)
	in.Notes = checkText(&v, "notes", in.Notes, 5000)
	if in.Quantity == 0 {
		in.Quantity = 1
	}
	if in.Quantity < 1 || in.Quantity > 1_000_000 {
		v.Add("quantity", "Use a whole number from 1 to 1000000.")
	}
	if !slices.Contains(crm.ReturnReasons, in.Reason) {
		v.Add("reason", "Use one of %s.", strings.Join(crm.ReturnReasons, ", "))
	}
	if in.OrderLineID == 0 && in.Product == "" {
		v.Add("product", "Name the product, or choose a line of the customer's orders.")
	}
	if in.OrderLineID < 0 {
		v.Add("order_line_id", "Name an order line by its id.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *crm.ReturnRequest
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := tx.FindTicket(ctx, ticketID, true)
		if err != nil {
			return err
		}
		r := &crm.ReturnRequest{TicketID: t.ID, ContactID: t.ContactID, Product: in.Product, SKU: in.SKU, Quantity: in.Quantity,
			Reason: in.Reason, Notes: in.Notes, CreatedBy: actor(ctx)}
		if in.OrderLineID != 0 {
			line, ok, err := tx.FindOrderLineRef(ctx, in.OrderLineID)
			if err != nil {
				return err
			}
			switch {
			case !ok:
				return fieldErr(crm.EINVALID, "order_line_id", "Order line %d does not exist.", in.OrderLineID)
			case t.ContactID != 0 && line.ContactID != t.ContactID:
				return fieldErr(crm.EINVALID, "order_line_id", "Order line %d is on order %d of another customer.", in.OrderLineID, line.OrderID)
			}
			// Items already asked for by requests not yet settled are not
			// left to return either.
			asked, err := tx.OpenReturnQuantity(ctx, in.OrderLineID)
			if err != nil {
				return err
			}
			if left := max(line.Quantity-line.ReturnedQuantity-asked, 0); in.Quantity > left {
				return fieldErr(crm.EINVALID, "quantity", "Order line %d has %d left to return.", in.OrderLineID, left)
			}
			r.OrderID, r.OrderLineID, r.SKU = line.OrderID, line.LineID, line.SKU
			if r.Product == "" {
				r.Product = line.Name
			}
			if r.Product == "" {
				r.Product = line.SKU
			}
		}
		if err := tx.InsertReturnRequest(ctx, r); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "return.request", "ticket", t.ID, nil, r); err != nil {
			return err
		}
		if err := emit(ctx, tx, crm.EventReturnRequested, t, returnPayload(r)); err != nil {
			return err
		}
		out = r
		return nil
	})
	return out, err
}

func returnPayload(r *crm.ReturnRequest) ReturnPayload {
	return ReturnPayload{ReturnID: r.ID, TicketID: r.TicketID, OrderID: r.OrderID, Product: r.Product, SKU: r.SKU, Quantity: r.Quantity,
		Reason: r.Reason, Resolution: r.Resolution}
}

// ReturnPatch settles or corrects a return request; nil fields stay.
type ReturnPatch struct {
	Reason     *string
	Resolution *string // refund, exchange, repair, rejected; "" reopens it
	Notes      *string
}

// UpdateReturn settles or corrects a return request. Needs service:write.
func (s *Service) UpdateReturn(ctx context.Context, id int64, in ReturnPatch) (*crm.ReturnRequest, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	if in.Reason != nil && !slices.Contains(crm.ReturnReasons, *in.Reason) {
		v.Add("reason", "Use one of %s.", strings.Join(crm.ReturnReasons, ", "))
	}
	if in.Resolution != nil && *in.Resolution != "" && !slices.Contains(crm.ReturnResolutions, *in.Resolution) {
		v.Add("resolution", "Use one of %s.", strings.Join(crm.ReturnResolutions, ", "))
	}
	if in.Notes != nil {
		*in.Notes = checkText(&v, "notes", *in.Notes, 5000)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *crm.ReturnRequest
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.FindReturnRequest(ctx, id, true)
		if err != nil {
			return err
		}
		before := *r
		if in.Reason != nil {
			r.Reason = *in.Reason
		}
		if in.Notes != nil {
			r.Notes = *in.Notes
		}
		settled := false
		if in.Resolution != nil && *in.Resolution != r.Resolution {
			r.Resolution = *in.Resolution
			if r.Resolution == "" {
				r.ResolvedAt = nil
			} else {
				now := tx.Now()
				r.ResolvedAt, settled = &now, true
			}
		}
		if err := tx.UpdateReturnRequest(ctx, r); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "return.update", "ticket", r.TicketID, before, r); err != nil {
			return err
		}
		if settled {
			t, err := tx.FindTicket(ctx, r.TicketID, false)
			if err != nil {
				return err
			}
			if err := emit(ctx, tx, crm.EventReturnResolved, t, returnPayload(r)); err != nil {
				return err
			}
		}
		out = r
		return nil
	})
	return out, err
}

// Returns lists return requests newest first. Needs service:read.
func (s *Service) Returns(ctx context.Context, f store.ReturnRequestFilter) ([]*crm.ReturnRequest, string, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, "", err
	}
	if f.Reason != "" && !slices.Contains(crm.ReturnReasons, f.Reason) {
		return nil, "", fieldErr(crm.EINVALID, "reason", "Use one of %s.", strings.Join(crm.ReturnReasons, ", "))
	}
	var (
		out  []*crm.ReturnRequest
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.ListReturnRequests(ctx, f)
		return err
	})
	return out, next, err
}

// Return returns one return request. Needs service:read.
func (s *Service) Return(ctx context.Context, id int64) (*crm.ReturnRequest, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out *crm.ReturnRequest
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.FindReturnRequest(ctx, id, false)
		return err
	})
	return out, err
}

// OrderLines returns the lines of a customer's latest orders (newest
// first, at most 50) for the return form. Needs service:read.
func (s *Service) OrderLines(ctx context.Context, contactID int64) ([]store.OrderLineRef, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []store.OrderLineRef
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ContactOrderLines(ctx, contactID, 50)
		return err
	})
	return out, err
}
