package contact

import (
	"context"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// LeadSource is the source of the people and companies made from leads.
const LeadSource = "lead"

// PersonForLead finds the person a converted lead names, inside the
// conversion's transaction tx, or creates them: by phone, then email, the
// oldest person holding it; otherwise a new person (source "lead") with
// the lead's name, phone and email, linked to ref.CompanyID with the job
// title as role, and owned by the lead's owner, written with its
// contact.created event. A person found (or named by ref.ID) is linked to
// ref.CompanyID with the job title as role, unless already linked to it
// (contact.updated). The conversion's permissions (sales:write and
// contacts:write) cover it. Problems name the lead's fields (first_name,
// phone, email).
func (s *Service) PersonForLead(ctx context.Context, tx *store.Tx, ref crm.PersonRef) (int64, bool, error) {
	if ref.ID != 0 {
		return ref.ID, false, s.linkForLead(ctx, tx, ref.ID, ref)
	}
	c := &crm.Contact{FirstName: ref.FirstName, LastName: ref.LastName, Source: LeadSource}
	var keys []store.ContactKey
	if p := strings.TrimSpace(ref.Phone); p != "" {
		e164, err := text.NormalizePhone(p, s.region)
		if err != nil {
			return 0, false, customerError("phone", "%q is not a phone number: %v", p, strings.TrimPrefix(err.Error(), "phone: "))
		}
		keys = append(keys, store.ContactKey{Kind: "phone", Value: e164})
		c.Phones = []crm.Labeled{{Value: e164, Label: "work"}}
	}
	if e := strings.TrimSpace(ref.Email); e != "" {
		norm := crm.NormalizeEmail(text.ToASCIIDigits(e))
		if !crm.ValidEmail(norm) {
			return 0, false, customerError("email", "%q is not a valid email address.", e)
		}
		keys = append(keys, store.ContactKey{Kind: "email", Value: norm})
		c.Emails = []crm.Labeled{{Value: norm, Label: "work"}}
	}
	if best, err := firstMatch(ctx, tx, keys); err != nil || best != 0 {
		if err == nil {
			err = s.linkForLead(ctx, tx, best, ref)
		}
		return best, false, err
	}
	if ref.CompanyID != 0 {
		c.Memberships = []crm.Membership{{CompanyID: ref.CompanyID, Role: ref.JobTitle}}
	}
	if ref.OwnerID != 0 {
		owner := ref.OwnerID
		c.OwnerID = &owner
	}
	r, err := s.row(ctx, tx, c, false, nil)
	if err != nil {
		return 0, false, err
	}
	if err := tx.InsertContact(ctx, r); err != nil {
		return 0, false, err
	}
	if err := tx.Audit(ctx, "contact.create", "contact", c.ID, nil, c); err != nil {
		return 0, false, err
	}
	if err := tx.Emit(ctx, contactEvent(crm.EventContactCreated, c, snapshot(c))); err != nil {
		return 0, false, err
	}
	return c.ID, true, nil
}

// linkForLead links a stored person to the lead's company (with the job
// title as role) unless they are linked to it already, re-indexing their
// search text with the company's name and writing contact.updated.
func (s *Service) linkForLead(ctx context.Context, tx *store.Tx, id int64, ref crm.PersonRef) error {
	if ref.CompanyID == 0 {
		return nil
	}
	before, err := tx.FindContactByID(ctx, id)
	if err != nil {
		return err
	}
	for _, m := range before.Memberships {
		if m.CompanyID == ref.CompanyID {
			return nil
		}
	}
	after := *before
	after.Memberships = append(slices.Clone(before.Memberships), crm.Membership{CompanyID: ref.CompanyID, Role: strings.TrimSpace(ref.JobTitle)})
	after.CompanyIDs = append(slices.Clone(before.CompanyIDs), ref.CompanyID)
	if err := tx.SetMemberships(ctx, id, after.Memberships); err != nil {
		return err
	}
	if err := s.reindexPeople(ctx, tx, []int64{id}); err != nil {
		return err
	}
	if err := tx.Audit(ctx, "contact.update", "contact", id, before, &after); err != nil {
		return err
	}
	return tx.Emit(ctx, contactEvent(crm.EventContactUpdated, &after, map[string]any{"name": after.DisplayName(), "changed": []string{"memberships"}}))
}

// CompanyForLead finds the company a converted lead names by its name
// (compared as normalised text: case, Persian and Arabic letter forms and
// spacing do not matter), inside the conversion's transaction tx, or
// creates it (owned by the lead's owner) with its company.created event.
func (s *Service) CompanyForLead(ctx context.Context, tx *store.Tx, ref crm.CompanyRef) (int64, bool, error) {
	key := text.Normalize(ref.Name)
	if key == "" {
		return 0, false, customerError("company_name", "The lead names no company.")
	}
	if err := tx.AdvisoryLock(ctx, "company-name:"+key); err != nil {
		return 0, false, err
	}
	found, err := tx.FindCompanyByNameKey(ctx, key)
	if err == nil {
		return found.ID, false, nil
	}
	if crm.ErrorCode(err) != crm.ENOTFOUND {
		return 0, false, err
	}
	c := &crm.Company{Name: ref.Name}
	if ref.OwnerID != 0 {
		owner := ref.OwnerID
		c.OwnerID = &owner
	}
	fields, err := tx.ListCustomFields(ctx, "company")
	if err != nil {
		return 0, false, err
	}
	r, err := PrepareCompany(c, fields, s.region, false)
	if err != nil {
		return 0, false, renameField(err, "name", "company_name")
	}
	if err := tx.InsertCompany(ctx, r); err != nil {
		return 0, false, err
	}
	if err := tx.Audit(ctx, "company.create", "company", c.ID, nil, c); err != nil {
		return 0, false, err
	}
	if err := tx.Emit(ctx, &crm.Event{Type: crm.EventCompanyCreated, SubjectType: "company", SubjectID: c.ID, CompanyID: c.ID,
		Payload: mustJSON(map[string]string{"name": c.Name})}); err != nil {
		return 0, false, err
	}
	return c.ID, true, nil
}

// renameField renames one field of a validation error.
func renameField(err error, from, to string) error {
	fields := crm.ErrorFields(err)
	if _, ok := fields[from]; !ok {
		return err
	}
	out := map[string]string{}
	for k, v := range fields {
		if k == from {
			k = to
		}
		out[k] = v
	}
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: out}
}
