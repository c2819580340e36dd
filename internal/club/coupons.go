package club

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Coupons and vouchers: single codes, batches of unique codes, and the
// vouchers captured rewards issue. A use is counted by one conditional
// update of the coupon's row (store.UseClubCoupon), which concurrent uses
// of the same code wait for on PostgreSQL, so a total limit of N admits
// exactly N uses however many tills try at once; per-member limits are
// counted after that row is held, so they are exact too. See docs/club.md.

type (
	Coupon      = store.ClubCoupon
	CouponBatch = store.ClubCouponBatch
	CouponUse   = store.ClubCouponUse
)

// Coupon kinds.
const (
	CouponPercent = "percent" // Value percent off the amount
	CouponFixed   = "fixed"   // Value minor units off, at most the amount
	CouponProduct = "product" // one product (SKU) free; the till prices it
)

// CouponKinds lists the coupon kinds.
var CouponKinds = []string{CouponPercent, CouponFixed, CouponProduct}

// MaxBatch bounds the codes of one batch.
const MaxBatch = 100_000

// CouponInput is a coupon to create: with a code, or without one to draw
// a code (batches always draw).
type CouponInput struct {
	Code           string     `json:"code,omitempty"`
	Kind           string     `json:"kind"`
	Value          int64      `json:"value"`
	Currency       string     `json:"currency,omitempty"` // required for fixed
	SKU            string     `json:"sku,omitempty"`      // required for product
	MinSpend       int64      `json:"min_spend,omitempty"`
	MaxUses        int64      `json:"max_uses,omitempty"`         // 0: no limit
	PerMemberLimit int64      `json:"per_member_limit,omitempty"` // 0: no limit
	StartsAt       *time.Time `json:"starts_at,omitempty"`
	EndsAt         *time.Time `json:"ends_at,omitempty"`
}

func (in *CouponInput) validate(v *crm.Validation) {
	in.Code = NormalizeCode(in.Code)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	in.SKU = strings.TrimSpace(in.SKU)
	if in.Code != "" && !validCouponCode(in.Code) {
		v.Add("code", "A code is 3 to 40 letters, digits and dashes.")
	}
	switch in.Kind {
	case CouponPercent:
		if in.Value < 1 || in.Value > 100 {
			v.Add("value", "A percent coupon's value is 1 to 100.")
		}
	case CouponFixed:
		if in.Value <= 0 {
			v.Add("value", "A fixed coupon's value must be above 0.")
		}
		if len(in.Currency) != 3 {
			v.Add("currency", "A fixed coupon needs an ISO 4217 currency code.")
		}
	case CouponProduct:
		if in.SKU == "" {
			v.Add("sku", "A product coupon needs the product's SKU.")
		}
	default:
		v.Add("kind", "Choose percent, fixed or product.")
	}
	if in.MinSpend < 0 {
		v.Add("min_spend", "The minimum spend must not be negative.")
	} else if in.MinSpend > 0 && in.Currency == "" && !v.Has("currency") {
		// An amount means nothing without its currency (and the code is
		// then only for orders in it).
		v.Add("currency", "Give the currency of the minimum spend.")
	}
	if in.Currency != "" && (len(in.Currency) != 3 || strings.Trim(in.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") && !v.Has("currency") {
		v.Add("currency", "Give an ISO 4217 currency code such as IRR, USD or AED.")
	}
	if in.MaxUses < 0 {
		v.Add("max_uses", "The limit must not be negative.")
	}
	if in.PerMemberLimit < 0 {
		v.Add("per_member_limit", "The limit must not be negative.")
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.EndsAt.After(*in.StartsAt) {
		v.Add("ends_at", "The end must be after the start.")
	}
}

func validCouponCode(s string) bool {
	if len(s) < 3 || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (in *CouponInput) coupon() *Coupon {
	return &Coupon{Code: in.Code, Kind: in.Kind, Value: in.Value, Currency: in.Currency, SKU: in.SKU, MinSpend: in.MinSpend,
		MaxUses: in.MaxUses, PerMemberLimit: in.PerMemberLimit, StartsAt: in.StartsAt, EndsAt: in.EndsAt, Active: true}
}

// CreateCoupon makes one coupon. A code already in use is ECONFLICT.
func (s *Service) CreateCoupon(ctx context.Context, in CouponInput) (*Coupon, error) {
	var v crm.Validation
	in.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	c := in.coupon()
	err := s.write(ctx, func(tx *store.Tx) error {
		for attempt := 0; ; attempt++ {
			if in.Code == "" {
				c.Code = randomCode(4) + "-" + randomCode(4)
			}
			ok, err := tx.InsertClubCoupon(ctx, c)
			if err != nil {
				return err
			}
			if ok {
				break
			}
			if in.Code != "" {
				return &crm.Error{Code: crm.ECONFLICT, Message: "This code is already in use.", Fields: map[string]string{"code": "This code is already in use."}}
			}
			if attempt == 8 {
				return crm.Errorf(crm.EUNAVAILABLE, "Could not draw a free code; try again.")
			}
		}
		return tx.Audit(ctx, "club.coupon_create", "club_coupon", c.ID, nil, c)
	})
	return c, err
}

// BatchInput asks for count unique codes with the same terms: each code
// is the prefix and 8 random characters (no 0/O or 1/I/L).
type BatchInput struct {
	Name   string `json:"name"`
	Prefix string `json:"prefix,omitempty"`
	Count  int    `json:"count"`
	CouponInput
}

// CreateBatch makes a batch of unique codes in one transaction: all of
// them or none.
func (s *Service) CreateBatch(ctx context.Context, in BatchInput) (*CouponBatch, error) {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	in.Prefix = NormalizeCode(in.Prefix)
	if in.Name == "" {
		v.Add("name", "A batch needs a name.")
	} else if utf8.RuneCountInString(in.Name) > 200 {
		v.Add("name", "Name is longer than 200 characters.")
	}
	if in.Prefix != "" && (!validCouponCode(in.Prefix+"XXX") || len(in.Prefix) > 20) {
		v.Add("prefix", "A prefix is up to 20 letters, digits and dashes.")
	}
	if in.Count < 1 || in.Count > MaxBatch {
		v.Add("count", "A batch has 1 to %d codes.", MaxBatch)
	}
	if in.Code != "" {
		v.Add("code", "A batch draws its codes; give a prefix instead.")
	}
	in.CouponInput.validate(&v)
	if err := v.Err(); err != nil {
		return nil, err
	}
	b := &CouponBatch{Name: in.Name, Prefix: in.Prefix, Count: int64(in.Count)}
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertClubCouponBatch(ctx, b); err != nil {
			return err
		}
		c := in.CouponInput.coupon()
		c.BatchID = b.ID
		misses := 0
		for made := 0; made < in.Count; {
			c.Code = in.Prefix + randomCode(8)
			ok, err := tx.InsertClubCoupon(ctx, c)
			if err != nil {
				return err
			}
			if ok {
				made++
				continue
			}
			if misses++; misses > 100 {
				return crm.Errorf(crm.EUNAVAILABLE, "Could not draw enough free codes; try a longer prefix.")
			}
		}
		return tx.Audit(ctx, "club.coupon_batch", "club_coupon_batch", b.ID, nil, b)
	})
	return b, err
}

// Batches lists coupon batches, newest first.
func (s *Service) Batches(ctx context.Context) ([]*CouponBatch, error) {
	var out []*CouponBatch
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ClubCouponBatches(ctx)
		return err
	})
	return out, err
}

// CouponFilter selects coupons.
type CouponFilter = store.ClubCouponFilter

// Coupons lists coupons, newest first.
func (s *Service) Coupons(ctx context.Context, f CouponFilter) ([]*Coupon, string, error) {
	var out []*Coupon
	var next string
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.ListClubCoupons(ctx, f)
		return err
	})
	return out, next, err
}

// SetCouponActive switches a coupon on or off.
func (s *Service) SetCouponActive(ctx context.Context, id int64, active bool) (*Coupon, error) {
	var out *Coupon
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := tx.SetClubCouponActive(ctx, id, active); err != nil {
			return err
		}
		var err error
		out, err = tx.ClubCoupon(ctx, id)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, "club.coupon_active", "club_coupon", id, nil, map[string]bool{"active": active})
	})
	return out, err
}

// CouponCheck asks whether a code can be used on an amount by a person.
type CouponCheck struct {
	Code      string `json:"code"`
	ContactID int64  `json:"contact_id,omitempty"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference,omitempty"` // redemption only: the order's source:external id; a second use with it returns the first
}

// CouponVerdict is the answer: whether it is valid, why not (a stable
// reason: unknown, inactive, not_started, ended, currency, min_spend,
// used_up, member_limit, not_yours), and the discount it gives.
type CouponVerdict struct {
	Valid    bool    `json:"valid"`
	Reason   string  `json:"reason,omitempty"`
	Discount int64   `json:"discount"`
	SKU      string  `json:"sku,omitempty"`
	Coupon   *Coupon `json:"coupon,omitempty"`
}

func (in *CouponCheck) validate() error {
	var v crm.Validation
	in.Code = NormalizeCode(in.Code)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	in.Reference = strings.TrimSpace(in.Reference)
	if in.Code == "" {
		v.Add("code", "Give the code.")
	}
	if in.Amount < 0 {
		v.Add("amount", "The amount must not be negative.")
	}
	if len(in.Currency) != 3 {
		v.Add("currency", "Give the ISO 4217 currency code of the amount.")
	}
	if utf8.RuneCountInString(in.Reference) > 200 {
		v.Add("reference", "The reference is longer than 200 characters.")
	}
	return v.Err()
}

// judge checks a coupon's terms (not its use limits) for a check.
func judge(c *Coupon, in *CouponCheck, now time.Time, ownerContact int64) CouponVerdict {
	out := CouponVerdict{Coupon: c, SKU: c.SKU}
	switch {
	case !c.Active:
		out.Reason = "inactive"
	case c.StartsAt != nil && now.Before(*c.StartsAt):
		out.Reason = "not_started"
	case c.EndsAt != nil && !now.Before(*c.EndsAt):
		out.Reason = "ended"
	case c.Currency != "" && c.Currency != in.Currency:
		out.Reason = "currency"
	case in.Amount < c.MinSpend:
		out.Reason = "min_spend"
	case c.MemberID != 0 && ownerContact != in.ContactID:
		out.Reason = "not_yours"
	case c.MaxUses > 0 && c.Uses >= c.MaxUses:
		out.Reason = "used_up"
	default:
		out.Valid = true
	}
	switch c.Kind {
	case CouponPercent:
		out.Discount = mulDiv(in.Amount, c.Value, 100)
	case CouponFixed:
		out.Discount = min(c.Value, in.Amount)
	}
	if !out.Valid {
		out.Discount = 0
	}
	return out
}

func (s *Service) ownerContact(ctx context.Context, tx *store.Tx, c *Coupon) (int64, error) {
	if c.MemberID == 0 {
		return 0, nil
	}
	m, err := tx.ClubMember(ctx, c.MemberID)
	if err != nil {
		return 0, err
	}
	return m.ContactID, nil
}

// ValidateCoupon tells whether a code can be used now, without using it.
func (s *Service) ValidateCoupon(ctx context.Context, in CouponCheck) (*CouponVerdict, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out CouponVerdict
	err := s.read(ctx, func(tx *store.Tx) error {
		if err := personExists(ctx, tx, in.ContactID); err != nil {
			return err
		}
		c, err := tx.ClubCouponByCode(ctx, in.Code)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			out = CouponVerdict{Reason: "unknown"}
			return nil
		}
		if err != nil {
			return err
		}
		owner, err := s.ownerContact(ctx, tx, c)
		if err != nil {
			return err
		}
		out = judge(c, &in, tx.Now(), owner)
		if out.Valid && c.PerMemberLimit > 0 && in.ContactID != 0 {
			n, err := tx.ClubCouponUsesBy(ctx, c.ID, in.ContactID)
			if err != nil {
				return err
			}
			if n >= c.PerMemberLimit {
				out = CouponVerdict{Coupon: c, Reason: "member_limit"}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// personExists refuses a check or use for a person who is not in the
// CRM (a mistyped number must not count as a stranger with no uses, which
// would let a per-person limit pass).
func personExists(ctx context.Context, tx *store.Tx, contactID int64) error {
	if contactID == 0 {
		return nil
	}
	if _, err := tx.ClubContact(ctx, contactID); err != nil {
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return fieldError("contact_id", "There is no person %d.", contactID)
		}
		return err
	}
	return nil
}

var errReplay = errors.New("club: replay")

// RedeemCoupon uses a code: it checks the terms and both limits and
// records the use, or refuses with ECONFLICT naming the reason (Key
// club.coupon.reason.<reason>). A second redemption with the same
// reference returns the first use and counts nothing.
func (s *Service) RedeemCoupon(ctx context.Context, in CouponCheck) (*CouponUse, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.Reference == "" {
		in.Reference = "api:" + randomCode(12)
	}
	var out *CouponUse
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := personExists(ctx, tx, in.ContactID); err != nil {
			return err
		}
		c, err := tx.ClubCouponByCode(ctx, in.Code)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return couponRefused("unknown")
		}
		if err != nil {
			return err
		}
		owner, err := s.ownerContact(ctx, tx, c)
		if err != nil {
			return err
		}
		// The conditional count first: it holds the coupon's row until
		// commit, so what is read after it is what the uses before were.
		counted, err := tx.UseClubCoupon(ctx, c.ID, false)
		if err != nil {
			return err
		}
		if u, err := tx.ClubCouponUseByRef(ctx, c.ID, in.Reference); err == nil {
			out = u
			return errReplay
		} else if crm.ErrorCode(err) != crm.ENOTFOUND {
			return err
		}
		if c, err = tx.ClubCoupon(ctx, c.ID); err != nil {
			return err
		}
		if counted {
			c.Uses-- // judge the state before this use
		}
		verdict := judge(c, &in, tx.Now(), owner)
		if !verdict.Valid {
			return couponRefused(verdict.Reason)
		}
		if !counted {
			return couponRefused("used_up")
		}
		if c.PerMemberLimit > 0 {
			if in.ContactID == 0 {
				return fieldError("contact_id", "This code is limited per person: say who uses it.")
			}
			n, err := tx.ClubCouponUsesBy(ctx, c.ID, in.ContactID)
			if err != nil {
				return err
			}
			if n >= c.PerMemberLimit {
				return couponRefused("member_limit")
			}
		}
		u := &CouponUse{CouponID: c.ID, ContactID: in.ContactID, Reference: in.Reference, Amount: in.Amount, Discount: verdict.Discount}
		if ok, err := tx.InsertClubCouponUse(ctx, u); err != nil || !ok {
			if err == nil {
				err = crm.Errorf(crm.ECONFLICT, "The same use was recorded at the same time; try again.")
			}
			return err
		}
		out = u
		if in.ContactID != 0 {
			return tx.Emit(ctx, &crm.Event{Type: EventCouponRedeemed, SubjectType: "club_coupon", SubjectID: c.ID, ContactID: in.ContactID,
				Payload: mustJSON(couponPayload{CouponID: c.ID, Code: c.Code, Discount: u.Discount, Amount: u.Amount, Currency: in.Currency})})
		}
		return nil
	})
	if errors.Is(err, errReplay) {
		return out, nil
	}
	return out, err
}

// couponPayload is what club.coupon_redeemed carries.
type couponPayload struct {
	CouponID  int64  `json:"coupon_id"`
	Code      string `json:"code"`
	Discount  int64  `json:"discount"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	OrderID   int64  `json:"order_id,omitempty"`
	OverLimit bool   `json:"over_limit,omitempty"`
}

func couponRefused(reason string) error {
	return &crm.Error{Code: crm.ECONFLICT, Key: "club.coupon.reason." + reason, Message: "The code cannot be used: " + strings.ReplaceAll(reason, "_", " ") + ".",
		Fields: map[string]string{"code": reason}}
}

// orderCoupon records the coupon an order used. A use redeemed before
// with the order's reference (its source and external id) is linked to
// the order; otherwise a use is recorded now, counted even past the
// limits (the sale happened) and then flagged over_limit.
func (s *Service) orderCoupon(ctx context.Context, tx *store.Tx, o *crm.Order) error {
	c, err := tx.ClubCouponByCode(ctx, NormalizeCode(o.CouponCode))
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil // not one of the club's codes
	}
	if err != nil {
		return err
	}
	refs := []string{"order:" + strconv.FormatInt(o.ID, 10)}
	if o.ExternalID != "" {
		refs = append([]string{o.Source + ":" + o.ExternalID}, refs...)
	}
	for _, ref := range refs {
		u, err := tx.ClubCouponUseByRef(ctx, c.ID, ref)
		if err == nil {
			if u.OrderID == 0 {
				return tx.SetClubCouponUseOrder(ctx, u.ID, o.ID)
			}
			return nil
		}
		if crm.ErrorCode(err) != crm.ENOTFOUND {
			return err
		}
	}
	counted, err := tx.UseClubCoupon(ctx, c.ID, false)
	if err != nil {
		return err
	}
	over := !counted
	if !counted {
		if _, err := tx.UseClubCoupon(ctx, c.ID, true); err != nil {
			return err
		}
	}
	if c.PerMemberLimit > 0 {
		n, err := tx.ClubCouponUsesBy(ctx, c.ID, o.ContactID)
		if err != nil {
			return err
		}
		over = over || n >= c.PerMemberLimit
	}
	u := &CouponUse{CouponID: c.ID, ContactID: o.ContactID, OrderID: o.ID, Reference: refs[0], Amount: o.Subtotal, Discount: o.Discount, OverLimit: over}
	if _, err := tx.InsertClubCouponUse(ctx, u); err != nil {
		return err
	}
	return tx.Emit(ctx, &crm.Event{Type: EventCouponRedeemed, SubjectType: "club_coupon", SubjectID: c.ID, ContactID: o.ContactID,
		Payload: mustJSON(couponPayload{CouponID: c.ID, Code: c.Code, Discount: o.Discount, Amount: o.Subtotal, Currency: o.Currency, OrderID: o.ID, OverLimit: over})})
}

// CouponKindValid reports whether k is a coupon kind.
func CouponKindValid(k string) bool { return slices.Contains(CouponKinds, k) }
