package sales

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The products catalogue and the line items of deals.

// ProductInput is a new product.
type ProductInput struct {
	Name        string `json:"name"`
	SKU         string `json:"sku,omitempty"`
	Description string `json:"description,omitempty"`
	Price       int64  `json:"price"`
	Currency    string `json:"currency"`
	TaxRate     int64  `json:"tax_rate,omitempty"`
	Active      *bool  `json:"active,omitempty"`
}

func checkProduct(v *crm.Validation, p *crm.Product) {
	p.Name = checkText(v, "name", p.Name, MaxName)
	if p.Name == "" {
		v.Add("name", "A product needs a name.")
	}
	p.SKU = checkText(v, "sku", p.SKU, MaxShort)
	p.Description = checkText(v, "description", p.Description, MaxText)
	checkAmount(v, "price", p.Price)
	p.Currency = checkCurrency(v, "currency", p.Currency)
	if p.TaxRate < 0 || p.TaxRate > MaxTaxRate {
		v.Add("tax_rate", "Use a rate from 0 to 10000 (hundredths of a percent: 900 is 9%%).")
	}
}

// skuTaken is the conflict of a SKU already in the catalogue.
func skuTaken(err error, sku string) error {
	if crm.ErrorCode(err) == crm.ECONFLICT {
		msg := fmt.Sprintf("SKU %q is already in the catalogue.", sku)
		return &crm.Error{Code: crm.ECONFLICT, Message: msg, Fields: map[string]string{"sku": msg}}
	}
	return err
}

// CreateProduct adds a product to the catalogue. Needs sales:manage.
func (s *Service) CreateProduct(ctx context.Context, in ProductInput) (*crm.Product, error) {
	if err := crm.Authorize(ctx, crm.PermSalesManage, true); err != nil {
		return nil, err
	}
	p := &crm.Product{Name: in.Name, SKU: in.SKU, Description: in.Description, Price: in.Price, Currency: in.Currency, TaxRate: in.TaxRate, Active: true}
	if in.Active != nil {
		p.Active = *in.Active
	}
	var v crm.Validation
	checkProduct(&v, p)
	if err := v.Err(); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertProduct(ctx, p); err != nil {
			return skuTaken(err, p.SKU)
		}
		return tx.Audit(ctx, "product.create", "product", p.ID, nil, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ProductUpdate changes a product; nil fields stay.
type ProductUpdate struct {
	Name        *string `json:"name,omitempty"`
	SKU         *string `json:"sku,omitempty"`
	Description *string `json:"description,omitempty"`
	Price       *int64  `json:"price,omitempty"`
	Currency    *string `json:"currency,omitempty"`
	TaxRate     *int64  `json:"tax_rate,omitempty"`
	Active      *bool   `json:"active,omitempty"`
}

// UpdateProduct changes a product. Deals' line items keep the price, name
// and tax they were given. Needs sales:manage.
func (s *Service) UpdateProduct(ctx context.Context, id int64, up ProductUpdate) (*crm.Product, error) {
	if err := crm.Authorize(ctx, crm.PermSalesManage, true); err != nil {
		return nil, err
	}
	var p *crm.Product
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = tx.FindProduct(ctx, id); err != nil {
			return err
		}
		before := *p
		if up.Name != nil {
			p.Name = *up.Name
		}
		if up.SKU != nil {
			p.SKU = *up.SKU
		}
		if up.Description != nil {
			p.Description = *up.Description
		}
		if up.Price != nil {
			p.Price = *up.Price
		}
		if up.Currency != nil {
			p.Currency = *up.Currency
		}
		if up.TaxRate != nil {
			p.TaxRate = *up.TaxRate
		}
		if up.Active != nil {
			p.Active = *up.Active
		}
		var v crm.Validation
		checkProduct(&v, p)
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.UpdateProduct(ctx, p); err != nil {
			return skuTaken(err, p.SKU)
		}
		return tx.Audit(ctx, "product.update", "product", p.ID, before, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Product returns one product. Needs sales:read.
func (s *Service) Product(ctx context.Context, id int64) (*crm.Product, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var p *crm.Product
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.FindProduct(ctx, id)
		return err
	})
	return p, err
}

// ProductFilter narrows the catalogue: Q (part of the name, or the start
// of the SKU), Active, and the page.
type ProductFilter = store.ProductFilter

// Products lists the catalogue by name. Needs sales:read.
func (s *Service) Products(ctx context.Context, f ProductFilter) ([]*crm.Product, string, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Product
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.FindProducts(ctx, f)
		return err
	})
	return out, next, err
}

// LineInput is a line item of a deal: a product of the catalogue
// (ProductID; its name, SKU, price and tax rate unless given) or a line
// typed in (Name required). Quantity is 1 when nil. Currency, when given,
// must be the deal's.
type LineInput struct {
	ProductID int64  `json:"product_id,omitempty"`
	Name      string `json:"name,omitempty"`
	SKU       string `json:"sku,omitempty"`
	Quantity  *int64 `json:"quantity,omitempty"`
	UnitPrice *int64 `json:"unit_price,omitempty"`
	Discount  int64  `json:"discount,omitempty"`
	TaxRate   *int64 `json:"tax_rate,omitempty"`
	Currency  string `json:"currency,omitempty"`
}

// prepareLines validates lines for a deal in currency and computes their
// amounts. Problems are named prefix[i].field (prefix "" names them
// field, for one line).
func (s *Service) prepareLines(ctx context.Context, tx *store.Tx, v *crm.Validation, currency string, in []LineInput, prefix string) ([]crm.DealLine, error) {
	if len(in) > MaxLines {
		v.Add(prefix, "A deal has at most %d line items.", MaxLines)
		return nil, nil
	}
	var ids []int64
	for _, l := range in {
		ids = append(ids, l.ProductID)
	}
	products, err := tx.ProductsByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]crm.DealLine, 0, len(in))
	for i, l := range in {
		f := fmt.Sprintf("%s[%d].", prefix, i)
		if prefix == "" {
			f = ""
		}
		line := crm.DealLine{ProductID: l.ProductID, Name: checkText(v, f+"name", l.Name, MaxName), SKU: checkText(v, f+"sku", l.SKU, MaxShort),
			Quantity: 1, Discount: l.Discount}
		if l.Quantity != nil {
			line.Quantity = *l.Quantity
		}
		if c := strings.ToUpper(strings.TrimSpace(l.Currency)); c != "" && c != currency {
			v.Add(f+"currency", "The deal is in %s; a line item cannot be in %s.", currency, c)
		}
		if l.ProductID != 0 {
			p := products[l.ProductID]
			switch {
			case p == nil:
				v.Add(f+"product_id", "Product %d is not in the catalogue.", l.ProductID)
			case p.Currency != currency:
				v.Add(f+"product_id", "Product %q is priced in %s; the deal is in %s.", p.Name, p.Currency, currency)
			default:
				if line.Name == "" {
					line.Name = p.Name
				}
				if line.SKU == "" {
					line.SKU = p.SKU
				}
				line.UnitPrice, line.TaxRate = p.Price, p.TaxRate
			}
		} else if line.Name == "" {
			v.Add(f+"name", "Give the line's name, or choose a product.")
		}
		if l.UnitPrice != nil {
			line.UnitPrice = *l.UnitPrice
		}
		if l.TaxRate != nil {
			line.TaxRate = *l.TaxRate
		}
		switch {
		case line.Quantity < 0:
			v.Add(f+"quantity", "The quantity cannot be negative; use a whole number from 1 to %d.", MaxQuantity)
		case line.Quantity < 1 || line.Quantity > MaxQuantity:
			v.Add(f+"quantity", "Use a whole number from 1 to %d.", MaxQuantity)
		}
		checkAmount(v, f+"unit_price", line.UnitPrice)
		if line.TaxRate < 0 || line.TaxRate > MaxTaxRate {
			v.Add(f+"tax_rate", "Use a rate from 0 to 10000 (hundredths of a percent: 900 is 9%%).")
		}
		if v.Has(f+"quantity") || v.Has(f+"unit_price") || v.Has(f+"tax_rate") {
			out = append(out, line)
			continue
		}
		gross, ok := mul(line.Quantity, line.UnitPrice)
		switch {
		case !ok || gross > MaxAmount:
			v.Add(f+"quantity", "Quantity × unit price is too large.")
		case line.Discount < 0 || line.Discount > gross:
			v.Add(f+"discount", "Use an amount from 0 to the line's quantity × unit price (%d).", gross)
		default:
			line.Subtotal = gross - line.Discount
			line.Tax = percentOf(line.Subtotal, line.TaxRate)
			line.Total = line.Subtotal + line.Tax
		}
		out = append(out, line)
	}
	if sum := int64(0); !v.Has(prefix) {
		for _, l := range out {
			var ok bool
			if sum, ok = add(sum, l.Total); !ok || sum > MaxAmount {
				v.Add(prefix, "The line items add up to more than %d.", int64(MaxAmount))
				break
			}
		}
	}
	return out, nil
}

// linesValue is what line items make a deal worth: their subtotals (after
// discounts, before tax).
func linesValue(lines []crm.DealLine) int64 {
	var n int64
	for _, l := range lines {
		n += l.Subtotal
	}
	return n
}

// LinesTotals sums line items: subtotal, discounts, tax and total.
func LinesTotals(lines []crm.DealLine) (subtotal, discount, tax, total int64) {
	for _, l := range lines {
		subtotal += l.Subtotal
		discount += l.Discount
		tax += l.Tax
		total += l.Total
	}
	return
}

// SetLines replaces a deal's line items (every line in one go: one bad
// line changes nothing, and the problems name lines[i].field). A deal
// whose value comes from its lines gets the new sum. version, when not 0,
// must be the deal's current version. Needs sales:write.
func (s *Service) SetLines(ctx context.Context, dealID int64, lines []LineInput, version int64) (*crm.Deal, error) {
	return s.changeLines(ctx, dealID, version, func(ctx context.Context, tx *store.Tx, d *crm.Deal, cur []crm.DealLine) ([]crm.DealLine, error) {
		var v crm.Validation
		out, err := s.prepareLines(ctx, tx, &v, d.Currency, lines, "lines")
		if err != nil {
			return nil, err
		}
		return out, v.Err()
	})
}

// AddLine adds one line item at the end of a deal's. Problems name the
// line's fields (quantity, product_id, currency …). Needs sales:write.
func (s *Service) AddLine(ctx context.Context, dealID int64, line LineInput) (*crm.Deal, error) {
	return s.changeLines(ctx, dealID, 0, func(ctx context.Context, tx *store.Tx, d *crm.Deal, cur []crm.DealLine) ([]crm.DealLine, error) {
		var v crm.Validation
		if len(cur) >= MaxLines {
			return nil, fieldError("lines", "A deal has at most %d line items.", MaxLines)
		}
		out, err := s.prepareLines(ctx, tx, &v, d.Currency, []LineInput{line}, "")
		if err != nil {
			return nil, err
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		return append(cur, out...), nil
	})
}

// RemoveLine removes one line item of a deal. Needs sales:write.
func (s *Service) RemoveLine(ctx context.Context, dealID, lineID int64) (*crm.Deal, error) {
	return s.changeLines(ctx, dealID, 0, func(ctx context.Context, tx *store.Tx, d *crm.Deal, cur []crm.DealLine) ([]crm.DealLine, error) {
		i := slices.IndexFunc(cur, func(l crm.DealLine) bool { return l.ID == lineID })
		if i < 0 {
			return nil, crm.Errorf(crm.ENOTFOUND, "Line item %d is not on deal %d.", lineID, dealID)
		}
		return slices.Delete(cur, i, i+1), nil
	})
}

func (s *Service) changeLines(ctx context.Context, dealID, version int64,
	fn func(context.Context, *store.Tx, *crm.Deal, []crm.DealLine) ([]crm.DealLine, error)) (*crm.Deal, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var d *crm.Deal
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = s.findDeal(ctx, tx, dealID, true); err != nil {
			return err
		}
		if err := checkVersion(d, version); err != nil {
			return err
		}
		cur, err := tx.DealLines(ctx, dealID)
		if err != nil {
			return err
		}
		lines, err := fn(ctx, tx, d, slices.Clone(cur))
		if err != nil {
			return err
		}
		before := *d
		if err := tx.ReplaceDealLines(ctx, dealID, lines); err != nil {
			return err
		}
		changed := []string{"lines"}
		if d.ValueFromLines {
			d.Value = linesValue(lines)
			if d.Value != before.Value {
				changed = append(changed, "value")
			}
		}
		ok, err := tx.UpdateDeal(ctx, d) // the version moves on with every change
		if err != nil {
			return err
		}
		if !ok {
			return s.conflictNow(ctx, tx, dealID)
		}
		d.Lines = lines
		if err := tx.Audit(ctx, "deal.lines", "deal", dealID, map[string]any{"lines": cur, "value": before.Value},
			map[string]any{"lines": lines, "value": d.Value}); err != nil {
			return err
		}
		pl, err := dealPayload(ctx, tx, d)
		if err != nil {
			return err
		}
		return emitDeal(ctx, tx, crm.EventDealUpdated, d, DealUpdatedPayload{DealPayload: pl, Changed: changed})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ItemKeys are a deal's line items as the basket analysis names items
// ("sku:T1", "name:Tea"), for cross-sell suggestions. Needs sales:read.
func (s *Service) ItemKeys(ctx context.Context, dealID int64) ([]string, error) {
	d, err := s.Deal(ctx, dealID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range d.Lines {
		if k := store.ItemKey(l.SKU, l.Name); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// ProductsBySKU returns the active products of the catalogue with the
// given SKUs, by SKU (cross-sell suggestions that can be added as lines).
// Needs sales:read.
func (s *Service) ProductsBySKU(ctx context.Context, skus []string) (map[string]*crm.Product, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out map[string]*crm.Product
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ProductsBySKU(ctx, skus)
		return err
	})
	return out, err
}
