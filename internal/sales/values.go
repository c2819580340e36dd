package sales

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/customfield"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// ValidCurrency reports whether code is an ISO 4217 currency code (upper
// case) or TMN, the informal code of tomans in Iran.
func ValidCurrency(code string) bool {
	if code == "TMN" {
		return true
	}
	if len(code) != 3 || strings.ToUpper(code) != code {
		return false
	}
	_, err := currency.ParseISO(code)
	return err == nil
}

// mul returns a·b for non-negative a and b, and false when it overflows.
func mul(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}

// add returns a+b for non-negative a and b, and false when it overflows.
func add(a, b int64) (int64, bool) {
	s := a + b
	if s < a || s < b {
		return 0, false
	}
	return s, true
}

// percentOf returns amount × rate / 10000 rounded half up, for a rate in
// hundredths of a percent (0–10000) and a non-negative amount, without
// overflow.
func percentOf(amount, rate int64) int64 {
	if amount <= 0 || rate <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(rate))
	lo, carry := bits.Add64(lo, 5000, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, 10000)
	return int64(q)
}

// Weighted is a deal's value weighted by a stage's probability (percent),
// rounded half up to a minor unit: what the forecast adds up.
func Weighted(value int64, probability int) int64 {
	if value <= 0 || probability <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(value), uint64(probability))
	lo, carry := bits.Add64(lo, 50, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, 100)
	return int64(q)
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// checkText trims s and records a problem on field when it is not UTF-8
// or longer than max characters.
func checkText(v *crm.Validation, field, s string, max int) string {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		v.Add(field, "Use UTF-8 text.")
	} else if utf8.RuneCountInString(s) > max {
		v.Add(field, "Use at most %d characters.", max)
	}
	return s
}

// checkDate normalises a date (YYYY-MM-DD, Persian or Arabic digits
// accepted) and records a problem on field when it is not a real
// Gregorian date between 1900 and 9999. "" stays "".
func checkDate(v *crm.Validation, field, s string) string {
	s = strings.TrimSpace(text.ToASCIIDigits(s))
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 1900 {
		v.Add(field, "Use a date as YYYY-MM-DD (Gregorian), such as 2025-06-30.")
		return s
	}
	return t.Format(time.DateOnly)
}

// checkCurrency upper-cases code and records a problem when it is not a
// currency.
func checkCurrency(v *crm.Validation, field, code string) string {
	c := strings.ToUpper(strings.TrimSpace(code))
	switch {
	case c == "":
		v.Add(field, "Give the currency (an ISO 4217 code such as IRR, USD, EUR).")
	case !ValidCurrency(c):
		v.Add(field, "%q is not an ISO 4217 currency code (IRR, USD, EUR, AED …).", code)
	}
	return c
}

func checkAmount(v *crm.Validation, field string, n int64) {
	if n < 0 || n > MaxAmount {
		v.Add(field, "Use an amount from 0 to %d (in minor units).", int64(MaxAmount))
	}
}

// checkTags trims, de-duplicates and bounds tags.
func checkTags(v *crm.Validation, tags []string) []string {
	out := []string{}
	for i, t := range tags {
		t = checkText(v, fmt.Sprintf("tags[%d]", i), t, MaxTag)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		v.Add("tags", "A deal has at most %d tags.", MaxTags)
	}
	slices.Sort(out)
	return out
}

// listDealFields returns the admin-defined custom fields of deals.
func listDealFields(ctx context.Context, tx *store.Tx) ([]*crm.CustomField, error) {
	return tx.ListCustomFields(ctx, customfield.EntityDeal)
}

// checkCustom checks a new deal's custom values against the deal fields
// (custom.<key> names each problem); with required, a required field
// without a value is a problem too.
func (s *Service) checkCustom(v *crm.Validation, in map[string]any, fields []*crm.CustomField, required bool) map[string]any {
	return customfield.Check(v, in, fields, s.opts.Region, required)
}

// updateCustom applies a custom-value update to stored: keys set to nil
// (or "") are removed, others replace the stored value, the rest stay.
// Values are checked against the deal fields; stored values of fields
// deleted since stay as they are; a required field cannot be emptied.
func (s *Service) updateCustom(v *crm.Validation, stored, up map[string]any, fields []*crm.CustomField) map[string]any {
	orphans := customfield.Orphans(stored, fields, up)
	merged := map[string]any{}
	for k, val := range stored {
		if _, orphan := orphans[k]; !orphan {
			merged[k] = val
		}
	}
	for k, val := range up {
		merged[k] = val
	}
	out := customfield.Check(v, merged, fields, s.opts.Region, false)
	for _, f := range fields {
		if _, sent := up[f.Key]; sent && f.Required && out[f.Key] == nil && !v.Has("custom."+f.Key) {
			v.Add("custom."+f.Key, "%s is required.", f.Label)
		}
	}
	for k, val := range orphans {
		out[k] = val
	}
	return out
}

// fieldConds checks the filter's custom-field conditions against the
// deal fields and fills f.Fields.
func (s *Service) fieldConds(ctx context.Context, tx *store.Tx, f *crm.DealFilter) error {
	f.Fields = nil
	if len(f.Custom) == 0 {
		return nil
	}
	fields, err := listDealFields(ctx, tx)
	if err != nil {
		return err
	}
	var v crm.Validation
	f.Fields = customfield.Conds(&v, f.Custom, fields, s.opts.Region)
	return v.Err()
}

// DealFields returns the custom fields admins defined for deals, in
// display order. Needs sales:read.
func (s *Service) DealFields(ctx context.Context) ([]*crm.CustomField, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []*crm.CustomField
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = listDealFields(ctx, tx)
		return err
	})
	return out, err
}

// checkOwner records a problem when id (not 0) is not an active user.
func checkOwner(ctx context.Context, tx *store.Tx, v *crm.Validation, field string, id int64) error {
	if id == 0 {
		return nil
	}
	if id < 0 {
		v.Add(field, "Choose an active user.")
		return nil
	}
	users, err := tx.UserRefs(ctx, []int64{id})
	if err != nil {
		return err
	}
	if u, ok := users[id]; !ok || !u.Active {
		v.Add(field, "Choose an active user.")
	}
	return nil
}

// checkParties records problems when the person or company (not 0) does
// not exist.
func checkParties(ctx context.Context, tx *store.Tx, v *crm.Validation, contactID, companyID int64) error {
	if contactID != 0 {
		ok := false
		if contactID > 0 {
			var err error
			if ok, err = tx.ContactExists(ctx, contactID); err != nil {
				return err
			}
		}
		if !ok {
			v.Add("contact_id", "Person %d does not exist.", contactID)
		}
	}
	if companyID != 0 {
		ok := false
		if companyID > 0 {
			var err error
			if ok, err = tx.CompanyExists(ctx, companyID); err != nil {
				return err
			}
		}
		if !ok {
			v.Add("company_id", "Company %d does not exist.", companyID)
		}
	}
	return nil
}

func fieldError(field, format string, args ...any) error {
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{field: fmt.Sprintf(format, args...)}}
}

func conflict(format string, args ...any) error {
	return crm.Errorf(crm.ECONFLICT, format, args...)
}

func sourceFromContext(ctx context.Context) string {
	switch {
	case crm.TokenFromContext(ctx) != nil:
		return "api"
	case crm.UserFromContext(ctx) != nil:
		return "manual"
	}
	return ""
}

func nan() float64 { return math.NaN() }
