package order

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// ReturnInput is goods given back: some lines of an order with quantities,
// or (no lines) everything not yet returned.
type ReturnInput struct {
	Source     string // with ExternalID, makes retries safe; defaults like an order's
	ExternalID string
	Reason     string // one of crm.ReturnReasons
	Note       string
	Lines      []ReturnLineInput
	// Amount is for orders stored without lines (known by their total
	// only): the money refunded, at most what is left; everything left
	// when nil. Orders with lines refund what their lines come to.
	Amount *int64
}

// ReturnLineInput is a quantity of one order line given back.
type ReturnLineInput struct {
	LineID   int64
	Quantity int64
}

// Return records goods given back from order orderID and refunds their
// share of what was paid: each line's total less its part of the
// order-level discount (shared out in proportion to the line totals), per
// unit, rounded so that returning everything refunds exactly the order's
// total. Nothing is returned twice: a line gives back at most the
// quantity bought. A return with a source and external id already stored
// is returned as it is (created false) when its content is the same, and
// is ECONFLICT otherwise. Needs orders:write.
func (s *Service) Return(ctx context.Context, orderID int64, in ReturnInput) (r *crm.OrderReturn, created bool, err error) {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, true); err != nil {
		return nil, false, err
	}
	in, fp, err := prepareReturn(ctx, orderID, in)
	if err != nil {
		return nil, false, err
	}
	err = retryRace(func() error {
		return s.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			r, created, err = s.returnTx(ctx, tx, orderID, in, fp, true)
			return err
		})
	})
	if err != nil {
		return nil, false, err
	}
	return r, created, nil
}

// prepareReturn checks what can be checked without the order.
func prepareReturn(ctx context.Context, orderID int64, in ReturnInput) (ReturnInput, string, error) {
	var v crm.Validation
	in.Source = strings.TrimSpace(in.Source)
	if in.Source == "" {
		in.Source = sourceFromContext(ctx)
	} else if len([]rune(in.Source)) > maxTextShort {
		v.Add("source", "Use at most %d characters.", maxTextShort)
	}
	in.ExternalID = strings.TrimSpace(in.ExternalID)
	if len([]rune(in.ExternalID)) > maxExternalID {
		v.Add("external_id", "Use at most %d characters.", maxExternalID)
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if !slices.Contains(crm.ReturnReasons, in.Reason) {
		v.Add("reason", "Use one of %s.", strings.Join(crm.ReturnReasons, ", "))
	}
	in.Note = strings.TrimSpace(in.Note)
	if len([]rune(in.Note)) > maxReturnNote {
		v.Add("note", "Use at most %d characters.", maxReturnNote)
	}
	seen := map[int64]bool{}
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d].", i)
		switch {
		case l.LineID <= 0:
			v.Add(f+"line_id", "Name a line of the order by its id.")
		case seen[l.LineID]:
			v.Add(f+"line_id", "Line %d is named twice.", l.LineID)
		}
		seen[l.LineID] = true
		if l.Quantity < 1 || l.Quantity > MaxQuantity {
			v.Add(f+"quantity", "Use a whole number from 1 to %d.", MaxQuantity)
		}
	}
	if len(in.Lines) > MaxLines {
		v.Add("lines", "A return has at most %d lines.", MaxLines)
	}
	if in.Amount != nil && *in.Amount < 0 {
		v.Add("amount", "Use an amount of 0 or more.")
	}
	if err := v.Err(); err != nil {
		return in, "", err
	}
	type line struct{ ID, Quantity int64 }
	c := struct {
		Order                int64
		Reason, Note, Amount string
		Lines                []line
	}{Order: orderID, Reason: in.Reason, Note: in.Note}
	if in.Amount != nil {
		c.Amount = fmt.Sprint(*in.Amount)
	}
	for _, l := range in.Lines {
		c.Lines = append(c.Lines, line{l.LineID, l.Quantity})
	}
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return in, hex.EncodeToString(sum[:16]), nil
}

// returnTx records the return inside tx.
func (s *Service) returnTx(ctx context.Context, tx *store.Tx, orderID int64, in ReturnInput, fp string, audit bool) (*crm.OrderReturn, bool, error) {
	if in.ExternalID != "" {
		old, oldFP, err := tx.FindReturnByExternalID(ctx, in.Source, in.ExternalID)
		switch {
		case err == nil && oldFP == fp:
			return old, false, nil
		case err == nil:
			return nil, false, conflict("external_id", "Return %q from %s was already stored (return %d of order %d) with different content.",
				in.ExternalID, in.Source, old.ID, old.OrderID)
		case crm.ErrorCode(err) != crm.ENOTFOUND:
			return nil, false, err
		}
	}
	o, err := tx.FindOrderByID(ctx, orderID, true)
	if err != nil {
		return nil, false, err
	}
	r, err := planReturn(o, in)
	if err != nil {
		return nil, false, err
	}
	status := crm.OrderPartiallyReturned
	if fullyReturned(o, r) {
		status = crm.OrderReturned
	}
	inserted, err := tx.InsertReturn(ctx, r, fp, status)
	if err != nil {
		return nil, false, err
	}
	if !inserted {
		return nil, false, errRace
	}
	if audit {
		if err := tx.Audit(ctx, "order.return", "order", o.ID, nil, r); err != nil {
			return nil, false, err
		}
	}
	payload, err := json.Marshal(crm.OrderReturnedPayload{Return: *r, OrderTotal: o.Total, ReturnedTotal: o.ReturnedTotal + r.Amount, Currency: o.Currency})
	if err != nil {
		return nil, false, fmt.Errorf("order: encode event: %w", err)
	}
	err = tx.Emit(ctx, &crm.Event{Type: crm.EventOrderReturned, SubjectType: "order", SubjectID: o.ID, ContactID: o.ContactID, Payload: payload})
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// planReturn works out the quantities and amounts of a return of o.
func planReturn(o *crm.Order, in ReturnInput) (*crm.OrderReturn, error) {
	r := &crm.OrderReturn{OrderID: o.ID, ContactID: o.ContactID, Source: in.Source, ExternalID: in.ExternalID,
		Reason: in.Reason, Note: in.Note, Lines: []crm.ReturnLine{}}
	left := o.Total - o.ReturnedTotal
	if len(o.Lines) == 0 {
		if len(in.Lines) > 0 {
			return nil, invalid("lines", "Order %d has no lines; return an amount instead.", o.ID)
		}
		if left <= 0 {
			return nil, crm.Errorf(crm.ECONFLICT, "Order %d was already returned in full.", o.ID)
		}
		r.Amount = left
		if in.Amount != nil {
			if *in.Amount == 0 || *in.Amount > left {
				return nil, invalid("amount", "Use an amount from 1 to what is left to refund (%d).", left)
			}
			r.Amount = *in.Amount
		}
		return r, nil
	}
	if in.Amount != nil {
		return nil, invalid("amount", "Order %d has lines: give the lines and quantities, and the amount follows from them.", o.ID)
	}
	net := netLines(o.Lines, o.Discount)
	byID := map[int64]int{}
	for i, l := range o.Lines {
		byID[l.ID] = i
	}
	want := in.Lines
	if len(want) == 0 { // everything not yet returned
		for _, l := range o.Lines {
			if n := l.Quantity - l.ReturnedQuantity; n > 0 {
				want = append(want, ReturnLineInput{LineID: l.ID, Quantity: n})
			}
		}
		if len(want) == 0 {
			return nil, crm.Errorf(crm.ECONFLICT, "Order %d was already returned in full.", o.ID)
		}
	}
	var v crm.Validation
	for i, w := range want {
		k, ok := byID[w.LineID]
		if !ok {
			v.Add(fmt.Sprintf("lines[%d].line_id", i), "Order %d has no line %d.", o.ID, w.LineID)
			continue
		}
		l := o.Lines[k]
		if left := l.Quantity - l.ReturnedQuantity; w.Quantity > left {
			v.Add(fmt.Sprintf("lines[%d].quantity", i), "Only %d of line %d are left to return (%d bought, %d returned).",
				max(left, 0), l.ID, l.Quantity, l.ReturnedQuantity)
			continue
		}
		amount := refund(net[k], l.Quantity, l.ReturnedQuantity, w.Quantity)
		r.Lines = append(r.Lines, crm.ReturnLine{LineID: l.ID, Quantity: w.Quantity, Amount: amount, SKU: l.SKU, Name: l.Name, Category: l.Category})
		r.Amount += amount
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(r.Lines, func(a, b crm.ReturnLine) int { return cmp.Compare(a.LineID, b.LineID) })
	return r, nil
}

// fullyReturned reports whether o is returned in full once r is added.
func fullyReturned(o *crm.Order, r *crm.OrderReturn) bool {
	if len(o.Lines) == 0 {
		return o.ReturnedTotal+r.Amount >= o.Total
	}
	back := map[int64]int64{}
	for _, l := range r.Lines {
		back[l.LineID] = l.Quantity
	}
	for _, l := range o.Lines {
		if l.ReturnedQuantity+back[l.ID] < l.Quantity {
			return false
		}
	}
	return true
}

// netLines is what each line was paid after the order-level discount:
// the line's total less its share of discount, shares proportional to the
// line totals and rounded by cumulative sums so they add up to discount
// exactly (the nets add up to the order's total).
func netLines(lines []crm.OrderLine, discount int64) []int64 {
	out := make([]int64, len(lines))
	var sum int64
	for _, l := range lines {
		sum += l.Total
	}
	var cum, prev int64
	for i, l := range lines {
		cum += l.Total
		share := mulDiv(discount, cum, sum)
		out[i] = l.Total - (share - prev)
		prev = share
	}
	return out
}

// refund is the money for q more units of a line paid net for quantity
// units, of which returned are already back: cumulative rounding, so the
// line's returns add up to net exactly once all units are back.
func refund(net, quantity, returned, q int64) int64 {
	return mulDiv(net, returned+q, quantity) - mulDiv(net, returned, quantity)
}

func invalid(field, format string, args ...any) error {
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{field: fmt.Sprintf(format, args...)}}
}
