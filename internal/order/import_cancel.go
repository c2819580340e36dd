package order

import (
	"context"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Cancellations in an orders file (--cancellations return): a cancelled
// invoice (C536379) lists SKUs with negative quantities but not the
// invoice it cancels, so each of its lines is matched to the same
// customer's most recent earlier purchases of that SKU with items left to
// return, and one return (reason "other") is recorded per order matched,
// named <cancellation id>#1, #2 … A cancellation is recorded whole or not
// at all: a line that cannot be matched in full refuses it, with a
// problem on that row. Its customer must be known by customer_id (the
// source's customer number) or contact id, so that matching never creates
// a person.

// cancelLine is one line of a cancellation.
type cancelLine struct {
	rec      Record
	sku      string
	quantity int64
}

// cancellation reads the rows of a cancellation into g.returns, or
// problems.
func (r *importRun) cancellation(g *group) {
	bad := func(rec Record, field, format string, args ...any) {
		g.problems = append(g.problems, ImportProblem{Line: rec.Line, Field: r.column(field), Message: fmt.Sprintf(format, args...)})
	}
	m := r.im.Opts.Mapping
	if !m.Has(FieldSKU) || !m.Has(FieldQuantity) {
		bad(g.first, FieldOrderID, "Cancellation %s cannot be matched: the file has no sku and quantity columns.", g.id)
		return
	}
	if r.cell(g.first, FieldCustomerID) == "" {
		bad(g.first, FieldCustomerID, "Cancellation %s names no customer_id, which matching needs.", g.id)
		return
	}
	if _, err := ParseWhen(r.cell(g.first, FieldDate), r.im.Opts.Calendar, r.im.Opts.DateOrder, r.loc); err != nil {
		bad(g.first, FieldDate, "%v", err)
	}
	for _, rec := range g.rows {
		l := cancelLine{rec: rec, sku: r.cell(rec, FieldSKU)}
		n, err := ParseWhole(r.cell(rec, FieldQuantity))
		switch {
		case err != nil:
			bad(rec, FieldQuantity, "%v", err)
		case n == 0:
			bad(rec, FieldQuantity, "The quantity is 0.")
		default:
			l.quantity = max(n, -n) // cancellations write negative quantities
		}
		if l.sku == "" {
			bad(rec, FieldSKU, "The SKU is empty; cancellations are matched by SKU.")
		}
		g.returns = append(g.returns, l)
	}
}

// writeReturns records a cancellation as returns inside tx and reports
// how many it made, or the problems that refused it. A dry run checks
// nothing more (the orders it would match are not stored yet).
func (r *importRun) writeReturns(ctx context.Context, tx *store.Tx, g *group) (int64, []ImportProblem, error) {
	if r.im.Opts.DryRun {
		return int64(len(g.returns)), nil, nil
	}
	source := r.im.Opts.Source
	// Recorded before (a batch replayed after a crash): nothing to do.
	if _, _, err := tx.FindReturnByExternalID(ctx, source, g.id+"#1"); err == nil {
		return 0, nil, nil
	} else if crm.ErrorCode(err) != crm.ENOTFOUND {
		return 0, nil, err
	}
	problem := func(rec Record, field, format string, args ...any) (int64, []ImportProblem, error) {
		return 0, []ImportProblem{{Line: rec.Line, Field: r.column(field), Message: fmt.Sprintf(format, args...)}}, nil
	}
	customer := cleanNumber(r.cell(g.first, FieldCustomerID))
	contactID, err := tx.FindOrderCustomer(ctx, source, customer)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return problem(g.first, FieldCustomerID, "Cancellation %s: customer %s has no earlier orders from %s.", g.id, customer, source)
	}
	if err != nil {
		return 0, nil, err
	}
	when, _ := ParseWhen(r.cell(g.first, FieldDate), r.im.Opts.Calendar, r.im.Opts.DateOrder, r.loc)
	if when.IsZero() {
		when = time.Now()
	}
	taken := map[int64]int64{} // line id → quantity this cancellation takes
	var orders []int64
	byOrder := map[int64][]ReturnLineInput{}
	for _, cl := range g.returns {
		lines, err := tx.FindReturnableLines(ctx, contactID, cl.sku, when)
		if err != nil {
			return 0, nil, err
		}
		need := cl.quantity
		for _, l := range lines {
			if need == 0 {
				break
			}
			q := min(need, l.Left-taken[l.LineID])
			if q <= 0 {
				continue
			}
			taken[l.LineID] += q
			need -= q
			if _, ok := byOrder[l.OrderID]; !ok {
				orders = append(orders, l.OrderID)
			}
			byOrder[l.OrderID] = append(byOrder[l.OrderID], ReturnLineInput{LineID: l.LineID, Quantity: q})
		}
		if need > 0 {
			return problem(cl.rec, FieldQuantity, "Cancellation %s: customer %s bought too few of %s earlier (%d of %d cannot be matched).",
				g.id, customer, cl.sku, need, cl.quantity)
		}
	}
	var n int64
	for i, oid := range orders {
		in := ReturnInput{Source: source, ExternalID: fmt.Sprintf("%s#%d", g.id, i+1), Reason: crm.ReturnOther,
			Note: fmt.Sprintf("Cancellation %s (import, line %d)", g.id, g.first.Line), Lines: mergeReturnLines(byOrder[oid])}
		in, fp, err := prepareReturn(ctx, oid, in)
		if err != nil {
			return problem(g.first, FieldOrderID, "Cancellation %s: %s", g.id, crm.ErrorMessage(err))
		}
		if _, _, err := r.s.returnTx(ctx, tx, oid, in, fp, false); err != nil {
			if code := crm.ErrorCode(err); code == crm.EINVALID || code == crm.ECONFLICT {
				return 0, nil, fmt.Errorf("order: cancellation %s: %w", g.id, err) // the matching above is wrong if this happens
			}
			return 0, nil, err
		}
		n++
	}
	return n, nil, nil
}

// mergeReturnLines adds up the quantities of lines named more than once.
func mergeReturnLines(in []ReturnLineInput) []ReturnLineInput {
	var out []ReturnLineInput
	idx := map[int64]int{}
	for _, l := range in {
		if i, ok := idx[l.LineID]; ok {
			out[i].Quantity += l.Quantity
			continue
		}
		idx[l.LineID] = len(out)
		out = append(out, l)
	}
	return out
}
