package contact

import (
	"context"
	"fmt"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// CustomerSource is the source of the people created for orders.
const CustomerSource = "order"

// ResolveCustomer finds the person an order names, inside the order's
// transaction tx, and creates them when nobody matches:
//
//   - ContactID: that person, who must exist;
//   - otherwise Phone (normalised to E.164 in the service's region), then
//     Email (lower-cased), looked up among the stored people's duplicate
//     keys; when several people share one, the oldest is chosen;
//   - nobody found: a new person with the reference's first and last
//     name, phone and email, source "order", written with its contact.created
//     event in tx (no custom field is required of them).
//
// Member numbers belong to the club and are not looked up here. Errors
// name the reference's fields: customer.contact_id, customer.phone,
// customer.email, customer. The order's own permission (orders:write)
// covers creating its customer.
func (s *Service) ResolveCustomer(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (int64, error) {
	if ref.ContactID != 0 {
		ok, err := tx.ContactExists(ctx, ref.ContactID)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, customerError("customer.contact_id", "Contact %d does not exist.", ref.ContactID)
		}
		return ref.ContactID, nil
	}
	var keys []store.ContactKey
	c := &crm.Contact{FirstName: ref.FirstName, LastName: ref.LastName, Source: CustomerSource}
	if p := strings.TrimSpace(ref.Phone); p != "" {
		e164, err := text.NormalizePhone(p, s.region)
		if err != nil {
			return 0, customerError("customer.phone", "%q is not a phone number: %v", p, strings.TrimPrefix(err.Error(), "phone: "))
		}
		keys = append(keys, store.ContactKey{Kind: "phone", Value: e164})
		c.Phones = []crm.Labeled{{Value: e164, Label: "mobile"}}
	}
	if e := strings.TrimSpace(ref.Email); e != "" {
		norm := crm.NormalizeEmail(text.ToASCIIDigits(e))
		if !crm.ValidEmail(norm) {
			return 0, customerError("customer.email", "%q is not a valid email address.", e)
		}
		keys = append(keys, store.ContactKey{Kind: "email", Value: norm})
		c.Emails = []crm.Labeled{{Value: norm}}
	}
	if len(keys) == 0 && ref.FirstName == "" && ref.LastName == "" {
		field := "customer"
		if ref.MemberNumber != "" {
			field = "customer.member_number"
		}
		return 0, customerError(field, "Say who bought: a contact id, a phone or an email.")
	}
	if best, err := firstMatch(ctx, tx, keys); err != nil || best != 0 {
		return best, err
	}
	r, err := s.row(ctx, tx, c, false, nil)
	if err != nil {
		return 0, customerFields(err)
	}
	if err := tx.InsertContact(ctx, r); err != nil {
		return 0, err
	}
	if err := tx.Audit(ctx, "contact.create", "contact", c.ID, nil, c); err != nil {
		return 0, err
	}
	if err := tx.Emit(ctx, contactEvent(crm.EventContactCreated, c, snapshot(c))); err != nil {
		return 0, err
	}
	return c.ID, nil
}

// firstMatch locks keys (PostgreSQL: two orders or conversions from a new
// number at the same moment must make one person, so the keys stay locked
// until the transaction ends) and returns the oldest person holding the
// first key that anyone holds (phone before email), or 0.
func firstMatch(ctx context.Context, tx *store.Tx, keys []store.ContactKey) (int64, error) {
	for _, k := range keys {
		if err := tx.AdvisoryLock(ctx, "contact-key:"+k.Kind+":"+k.Value); err != nil {
			return 0, err
		}
	}
	for _, k := range keys {
		found, err := tx.FindDuplicateContacts(ctx, []store.ContactKey{k}, nil)
		if err != nil {
			return 0, err
		}
		var best int64
		for id, kinds := range found {
			for _, kind := range kinds {
				if kind == k.Kind && (best == 0 || id < best) {
					best = id
				}
			}
		}
		if best != 0 {
			return best, nil
		}
	}
	return 0, nil
}

func customerError(field, format string, args ...any) error {
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{field: fmt.Sprintf(format, args...)}}
}

// customerFields renames a new person's field errors after the order's
// customer reference: first_name → customer.first_name, phones[0] →
// customer.phone, emails[0] → customer.email.
func customerFields(err error) error {
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	out := map[string]string{}
	for k, v := range fields {
		switch {
		case strings.HasPrefix(k, "phones"):
			k = "customer.phone"
		case strings.HasPrefix(k, "emails"):
			k = "customer.email"
		case k == "first_name" || k == "last_name":
			k = "customer." + k
		default:
			k = "customer"
		}
		out[k] = v
	}
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: out}
}
