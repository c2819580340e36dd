package order

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Input is a new order as a till, a shop, a form or an import sends it.
type Input struct {
	Source     string          // where it comes from ("pos-tehran-1", "shop"); defaults to api, web or system
	ExternalID string          // the source's own order id: makes retries safe
	Customer   crm.CustomerRef // who bought
	Currency   string          // ISO 4217 code (or TMN)
	Channel    string          // one of crm.OrderChannels; in_store when empty
	Store      string          // branch
	CouponCode string
	PlacedAt   *time.Time // when it was bought; now when nil
	Discount   int64      // order-level discount, minor units
	Total      *int64     // checked against the lines when given; required without lines
	Lines      []LineInput
}

// LineInput is one line of a new order: a product by SKU or free text.
type LineInput struct {
	SKU       string
	Name      string
	Category  string
	Quantity  int64
	UnitPrice int64
	Discount  int64
}

// Limits of an order.
const (
	MaxLines       = 1000
	MaxQuantity    = 1_000_000
	MaxUnitPrice   = 1_000_000_000_000_000 // 10^15 minor units
	maxTextShort   = 100
	maxName        = 300
	maxExternalID  = 200
	maxCouponCode  = 64
	maxFutureSkew  = 24 * time.Hour
	maxReturnNote  = 1000
	defaultChannel = crm.ChannelInStore
)

// prepared is a validated order, ready to store, with the fingerprint of
// its content.
type prepared struct {
	order       crm.Order
	customer    crm.CustomerRef
	fingerprint string
}

// sourceFromContext is the source of an order that names none: api for a
// token, web for a signed-in user, system otherwise (imports name theirs).
func sourceFromContext(ctx context.Context) string {
	switch {
	case crm.TokenFromContext(ctx) != nil:
		return "api"
	case crm.UserFromContext(ctx) != nil:
		return "web"
	}
	return "system"
}

// prepare validates in and computes the totals. Every problem is reported
// on its field: source, external_id, customer (customer.email …),
// currency, channel, store, coupon_code, placed_at, discount, total,
// lines, lines[2].quantity …
func prepare(ctx context.Context, in Input, now time.Time) (*prepared, error) {
	var v crm.Validation
	text := func(field, s string, max int) string {
		s = strings.TrimSpace(s)
		if !utf8.ValidString(s) {
			v.Add(field, "Use UTF-8 text.")
		} else if utf8.RuneCountInString(s) > max {
			v.Add(field, "Use at most %d characters.", max)
		}
		return s
	}
	o := crm.Order{Status: crm.OrderPlaced, Lines: []crm.OrderLine{}}
	o.Source = text("source", in.Source, maxTextShort)
	if o.Source == "" {
		o.Source = sourceFromContext(ctx)
	}
	o.ExternalID = text("external_id", in.ExternalID, maxExternalID)
	o.Store = text("store", in.Store, maxTextShort)
	o.CouponCode = text("coupon_code", in.CouponCode, maxCouponCode)

	ref := in.Customer
	ref.MemberNumber = text("customer.member_number", ref.MemberNumber, maxTextShort)
	ref.Phone = text("customer.phone", ref.Phone, maxTextShort)
	ref.Email = strings.ToLower(text("customer.email", ref.Email, 254))
	ref.ExternalID = text("customer.external_id", ref.ExternalID, maxExternalID)
	ref.FirstName = text("customer.first_name", ref.FirstName, maxTextShort)
	ref.LastName = text("customer.last_name", ref.LastName, maxTextShort)
	switch {
	case ref.ContactID < 0:
		v.Add("customer.contact_id", "Use a contact id (a positive number).")
	case ref.IsZero():
		v.Add("customer", "Say who bought: a contact id, a member number, a phone, an email or the source's customer number.")
	case ref.Email != "" && !strings.Contains(ref.Email, "@"):
		v.Add("customer.email", "Not an email address.")
	}

	o.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	switch {
	case o.Currency == "":
		v.Add("currency", "Give the currency (an ISO 4217 code such as IRR, USD, EUR).")
	case !ValidCurrency(o.Currency):
		v.Add("currency", "%q is not an ISO 4217 currency code (IRR, USD, EUR, AED …).", in.Currency)
	}
	o.Channel = strings.TrimSpace(in.Channel)
	if o.Channel == "" {
		o.Channel = defaultChannel
	} else if !slices.Contains(crm.OrderChannels, o.Channel) {
		v.Add("channel", "Use one of %s.", strings.Join(crm.OrderChannels, ", "))
	}
	o.PlacedAt = now
	if in.PlacedAt != nil {
		t := in.PlacedAt.UTC().Truncate(time.Microsecond)
		switch {
		case t.After(now.Add(maxFutureSkew)):
			v.Add("placed_at", "The order cannot be placed more than a day from now.")
		case t.Year() < 1900:
			v.Add("placed_at", "Use a time after 1900.")
		default:
			o.PlacedAt = t
		}
	}

	if len(in.Lines) > MaxLines {
		v.Add("lines", "An order has at most %d lines.", MaxLines)
		in.Lines = nil
	}
	var subtotal int64
	overflow := false
	for i, l := range in.Lines {
		f := fmt.Sprintf("lines[%d].", i)
		line := crm.OrderLine{
			SKU:       text(f+"sku", l.SKU, maxTextShort),
			Name:      text(f+"name", l.Name, maxName),
			Category:  text(f+"category", l.Category, maxTextShort),
			Quantity:  l.Quantity,
			UnitPrice: l.UnitPrice,
			Discount:  l.Discount,
		}
		if line.Name == "" && line.SKU == "" {
			v.Add(f+"name", "Give the product's name or its SKU.")
		}
		if line.Quantity < 1 || line.Quantity > MaxQuantity {
			v.Add(f+"quantity", "Use a whole number from 1 to %d.", MaxQuantity)
		}
		if line.UnitPrice < 0 || line.UnitPrice > MaxUnitPrice {
			v.Add(f+"unit_price", "Use an amount from 0 to %d (in minor units).", int64(MaxUnitPrice))
		}
		if v.Has(f+"quantity") || v.Has(f+"unit_price") {
			o.Lines = append(o.Lines, line)
			continue
		}
		gross, ok := mul(line.Quantity, line.UnitPrice)
		switch {
		case !ok:
			v.Add(f+"quantity", "Quantity × unit price is too large.")
		case line.Discount < 0 || line.Discount > gross:
			v.Add(f+"discount", "Use an amount from 0 to the line's quantity × unit price (%d).", gross)
		default:
			line.Total = gross - line.Discount
			if subtotal, ok = add(subtotal, line.Total); !ok {
				overflow = true
			}
		}
		o.Lines = append(o.Lines, line)
	}
	if overflow {
		v.Add("lines", "The order's total is too large.")
	}
	o.Discount = in.Discount
	if len(in.Lines) == 0 {
		// An order known by its amount alone (history from another system).
		switch {
		case in.Total == nil:
			v.Add("lines", "Give the order's lines, or its total.")
		case *in.Total < 0 || *in.Total > MaxUnitPrice:
			v.Add("total", "Use an amount from 0 to %d (in minor units).", int64(MaxUnitPrice))
		case o.Discount < 0:
			v.Add("discount", "Use an amount of 0 or more.")
		default:
			o.Total = *in.Total
			var ok bool
			if subtotal, ok = add(o.Total, o.Discount); !ok {
				v.Add("discount", "The discount is too large.")
			}
		}
		o.Subtotal = subtotal
	} else {
		o.Subtotal = subtotal
		switch {
		case o.Discount < 0 || o.Discount > subtotal:
			v.Add("discount", "Use an amount from 0 to the sum of the lines (%d).", subtotal)
		default:
			o.Total = subtotal - o.Discount
			if in.Total != nil && *in.Total != o.Total && !v.Has("lines") && !hasLineErrors(&v, len(in.Lines)) {
				v.Add("total", "The lines come to %d (%d − discount %d), not %d.", o.Total, subtotal, o.Discount, *in.Total)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return &prepared{order: o, customer: ref, fingerprint: fingerprint(o, ref, in.PlacedAt != nil)}, nil
}

func hasLineErrors(v *crm.Validation, n int) bool {
	for i := range n {
		for _, f := range []string{"sku", "name", "category", "quantity", "unit_price", "discount"} {
			if v.Has(fmt.Sprintf("lines[%d].%s", i, f)) {
				return true
			}
		}
	}
	return false
}

// fingerprint hashes what an order says (not when it was received), to
// tell a replay (same content) from a conflict (same external id,
// different content). placed_at counts only when the client gave it.
func fingerprint(o crm.Order, ref crm.CustomerRef, placedGiven bool) string {
	type line struct {
		SKU, Name, Category           string
		Quantity, UnitPrice, Discount int64
	}
	c := struct {
		Customer                         crm.CustomerRef
		Currency, Channel, Store, Coupon string
		Discount, Total                  int64
		PlacedAt                         string
		Lines                            []line
	}{Customer: ref, Currency: o.Currency, Channel: o.Channel, Store: o.Store, Coupon: o.CouponCode, Discount: o.Discount, Total: o.Total}
	if placedGiven {
		c.PlacedAt = o.PlacedAt.Format(time.RFC3339Nano)
	}
	for _, l := range o.Lines {
		c.Lines = append(c.Lines, line{l.SKU, l.Name, l.Category, l.Quantity, l.UnitPrice, l.Discount})
	}
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Create stores a new order, or returns the stored one when the source
// already sent this external id with the same content (created is then
// false and nothing changed). The same external id with different content
// is ECONFLICT naming external_id. Needs orders:write.
func (s *Service) Create(ctx context.Context, in Input) (o *crm.Order, created bool, err error) {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, true); err != nil {
		return nil, false, err
	}
	p, err := prepare(ctx, in, s.db.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return nil, false, err
	}
	s.prepareStatements(ctx)
	// Optimistic: the insert itself finds an order stored under the same
	// external id (ON CONFLICT DO NOTHING); its work is then rolled back,
	// so a replay changes nothing, and the stored order is compared.
	// Concurrent orders share a transaction (commit.go).
	for attempt := 0; ; attempt++ {
		o, created, err = s.submit(ctx, p)
		if !errors.Is(err, errRace) {
			break
		}
		o, err = s.stored(ctx, p)
		if crm.ErrorCode(err) != crm.ENOTFOUND || attempt > 0 {
			return o, false, err
		}
	}
	if err != nil {
		return nil, false, err
	}
	return o, created, nil
}

// errChecked ends Check's transaction, so that nothing it did is kept.
var errChecked = errors.New("order: checked, not stored")

// Check reports the problems Create would find with in, storing nothing:
// the fields' and the customer's (a member number or contact id nobody
// has) together, in one EINVALID error, or nil. The customer is looked up
// as Create does, in a transaction that is always rolled back (finding
// someone new by phone creates them there). For a form that found
// problems of its own and shows the rest with them. Needs orders:write.
func (s *Service) Check(ctx context.Context, in Input) error {
	if err := crm.Authorize(ctx, crm.PermOrdersWrite, true); err != nil {
		return err
	}
	_, err := prepare(ctx, in, s.db.Now().UTC().Truncate(time.Microsecond))
	if err != nil && crm.ErrorCode(err) != crm.EINVALID {
		return err
	}
	fields := map[string]string{}
	for k, v := range crm.ErrorFields(err) {
		fields[k] = v
	}
	customerOK := true
	for k := range fields {
		customerOK = customerOK && k != "customer" && !strings.HasPrefix(k, "customer.")
	}
	if customerOK {
		ref := in.Customer
		ref.MemberNumber, ref.Phone, ref.ExternalID = strings.TrimSpace(ref.MemberNumber), strings.TrimSpace(ref.Phone), strings.TrimSpace(ref.ExternalID)
		ref.Email = strings.ToLower(strings.TrimSpace(ref.Email))
		ref.FirstName, ref.LastName = strings.TrimSpace(ref.FirstName), strings.TrimSpace(ref.LastName)
		source := strings.TrimSpace(in.Source)
		if source == "" {
			source = sourceFromContext(ctx)
		}
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			if _, err := s.customer(ctx, tx, ref, source); err != nil {
				return err
			}
			return errChecked
		})
		switch {
		case errors.Is(err, errChecked):
		case crm.ErrorCode(err) == crm.EINVALID && len(crm.ErrorFields(err)) > 0:
			for k, v := range crm.ErrorFields(err) {
				fields[k] = v
			}
		default:
			return err
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: fields}
}

// stored returns the order stored under p's source and external id when
// its content is p's, ECONFLICT naming external_id when it differs.
func (s *Service) stored(ctx context.Context, p *prepared) (*crm.Order, error) {
	var (
		old *crm.Order
		fp  string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		old, fp, err = tx.FindOrderByExternalID(ctx, p.order.Source, p.order.ExternalID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if fp != p.fingerprint {
		return nil, conflict("external_id", "Order %q from %s was already stored (order %d) with different content.",
			p.order.ExternalID, p.order.Source, old.ID)
	}
	return old, nil
}

// createTx stores p inside tx (see Create); audit says whether to write
// an audit entry (imports write one per batch instead). With precheck an
// order already stored under the external id is looked up first and
// returned (or refused) inside tx, for callers that cannot roll back (an
// import's batch); without it, finding one is errRace after the insert.
func (s *Service) createTx(ctx context.Context, tx *store.Tx, p *prepared, audit, precheck bool) (*crm.Order, bool, error) {
	if precheck && p.order.ExternalID != "" {
		old, fp, err := tx.FindOrderByExternalID(ctx, p.order.Source, p.order.ExternalID)
		switch {
		case err == nil && fp == p.fingerprint:
			return old, false, nil
		case err == nil:
			return nil, false, conflict("external_id", "Order %q from %s was already stored (order %d) with different content.",
				p.order.ExternalID, p.order.Source, old.ID)
		case crm.ErrorCode(err) != crm.ENOTFOUND:
			return nil, false, err
		}
	}
	o := p.order // a copy: a retried transaction starts from the prepared order again
	o.Lines = slices.Clone(p.order.Lines)
	id, err := s.customer(ctx, tx, p.customer, o.Source)
	if err != nil {
		return nil, false, err
	}
	o.ContactID = id
	inserted, err := tx.InsertOrder(ctx, &o, p.fingerprint)
	if err != nil {
		return nil, false, err
	}
	if !inserted {
		return nil, false, errRace
	}
	payload, err := json.Marshal(&o)
	if err != nil {
		return nil, false, fmt.Errorf("order: encode event: %w", err)
	}
	if audit {
		if err := tx.Audit(ctx, "order.create", "order", o.ID, nil, json.RawMessage(payload)); err != nil {
			return nil, false, err
		}
	}
	if err := tx.Emit(ctx, &crm.Event{Type: crm.EventOrderCreated, SubjectType: "order", SubjectID: o.ID, ContactID: o.ContactID, Payload: payload}); err != nil {
		return nil, false, err
	}
	return &o, true, nil
}

func conflict(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &crm.Error{Code: crm.ECONFLICT, Message: msg, Fields: map[string]string{field: msg}}
}

// customer finds the person ref names inside tx. A source's customer
// number is looked up among the numbers the source used before; a new one
// is resolved by the other members of ref (or creates the person, named
// after the number when ref has no name) and remembered.
func (s *Service) customer(ctx context.Context, tx *store.Tx, ref crm.CustomerRef, source string) (int64, error) {
	if ref.ExternalID == "" {
		return s.resolve(ctx, tx, ref)
	}
	if err := tx.AdvisoryLock(ctx, "order-customer:"+source+":"+ref.ExternalID); err != nil {
		return 0, err
	}
	id, err := tx.FindOrderCustomer(ctx, source, ref.ExternalID)
	if err == nil {
		return id, nil
	}
	if crm.ErrorCode(err) != crm.ENOTFOUND {
		return 0, err
	}
	r := ref
	r.ExternalID = ""
	if r.IsZero() && r.FirstName == "" && r.LastName == "" {
		r.FirstName, r.LastName = "Customer", ref.ExternalID
	}
	if id, err = s.resolve(ctx, tx, r); err != nil {
		return 0, err
	}
	return id, tx.SetOrderCustomer(ctx, source, ref.ExternalID, id)
}

// resolve hands ref to the resolver; without one, only contact ids work.
func (s *Service) resolve(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (int64, error) {
	if s.opts.Resolve != nil {
		return s.opts.Resolve(ctx, tx, ref)
	}
	if ref.ContactID == 0 || ref.MemberNumber != "" || ref.Phone != "" || ref.Email != "" {
		return 0, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
			Fields: map[string]string{"customer": "Only contact ids can name customers here."}}
	}
	ok, err := tx.ContactExists(ctx, ref.ContactID)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
			Fields: map[string]string{"customer.contact_id": fmt.Sprintf("Contact %d does not exist.", ref.ContactID)}}
	}
	return ref.ContactID, nil
}

func decode(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("order: decode event payload: %w", err)
	}
	return nil
}
