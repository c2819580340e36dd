package contact

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// PersonForForm finds or creates the person a lead form's submission
// names, inside the submission's transaction tx: the oldest person
// holding the email, else the phone (the keys duplicate detection uses);
// otherwise a new person with in.Source. A person found keeps what is
// stored and gains what was missing: a first or last name, the email or
// phone, the language; custom values typed in the form replace stored
// ones (the person just gave them). It writes contact.created or
// contact.updated (when something changed). The form is public, so the
// caller decides who may submit; problems name the form's keys (email,
// phone, first_name, custom.<key>).
func (s *Service) PersonForForm(ctx context.Context, tx *store.Tx, in crm.FormPerson) (int64, bool, error) {
	var (
		keys         []store.ContactKey
		email, phone string
	)
	if e := strings.TrimSpace(in.Email); e != "" {
		email = crm.NormalizeEmail(text.ToASCIIDigits(e))
		if !crm.ValidEmail(email) {
			return 0, false, customerError("email", "%q is not a valid email address.", e)
		}
		keys = append(keys, store.ContactKey{Kind: "email", Value: email})
	}
	if p := strings.TrimSpace(in.Phone); p != "" {
		e164, err := text.NormalizePhone(p, s.region)
		if err != nil {
			return 0, false, customerError("phone", "%q is not a phone number: %v", p, strings.TrimPrefix(err.Error(), "phone: "))
		}
		phone = e164
		keys = append(keys, store.ContactKey{Kind: "phone", Value: e164})
	}
	found, err := firstMatch(ctx, tx, keys)
	if err != nil {
		return 0, false, err
	}
	if found == 0 {
		c := &crm.Contact{FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName), Language: in.Language,
			Source: in.Source, Custom: in.Custom}
		if email != "" {
			c.Emails = []crm.Labeled{{Value: email, Label: "work"}}
		}
		if phone != "" {
			c.Phones = []crm.Labeled{{Value: phone, Label: "mobile"}}
		}
		r, err := s.row(ctx, tx, c, false, nil)
		if err != nil {
			return 0, false, formFields(err)
		}
		if err := tx.InsertContact(ctx, r); err != nil {
			return 0, false, err
		}
		if err := tx.Audit(ctx, "contact.create", "contact", c.ID, nil, c); err != nil {
			return 0, false, err
		}
		return c.ID, true, tx.Emit(ctx, contactEvent(crm.EventContactCreated, c, snapshot(c)))
	}
	before, err := tx.FindContactByID(ctx, found)
	if err != nil {
		return 0, false, err
	}
	after := *before
	after.Emails = slices.Clone(before.Emails)
	after.Phones = slices.Clone(before.Phones)
	after.Custom = maps.Clone(before.Custom)
	if after.FirstName == "" && after.LastName == "" {
		after.FirstName, after.LastName = strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	}
	if after.Language == "" {
		after.Language = in.Language
	}
	has := func(list []crm.Labeled, v string) bool {
		return slices.ContainsFunc(list, func(l crm.Labeled) bool { return strings.EqualFold(l.Value, v) })
	}
	if email != "" && !has(after.Emails, email) {
		after.Emails = append(after.Emails, crm.Labeled{Value: email, Label: "work"})
	}
	if phone != "" && !has(after.Phones, phone) {
		after.Phones = append(after.Phones, crm.Labeled{Value: phone, Label: "mobile"})
	}
	if len(in.Custom) > 0 {
		after.Custom = mergeCustom(after.Custom, in.Custom)
	}
	r, err := s.row(ctx, tx, &after, false, in.Custom)
	if err != nil {
		return 0, false, formFields(err)
	}
	changed := changedFields(before, &after)
	if len(changed) == 0 {
		return found, false, nil
	}
	if err := tx.UpdateContactRow(ctx, r); err != nil {
		return 0, false, err
	}
	if err := tx.Audit(ctx, "contact.update", "contact", found, before, &after); err != nil {
		return 0, false, err
	}
	return found, false, tx.Emit(ctx, contactEvent(crm.EventContactUpdated, &after, map[string]any{"name": after.DisplayName(), "changed": changed}))
}

// formFields renames a person's field errors after a form's keys:
// emails[0] → email, phones[0] → phone.
func formFields(err error) error {
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	out := map[string]string{}
	for k, v := range fields {
		switch {
		case strings.HasPrefix(k, "emails["):
			k = "email"
		case strings.HasPrefix(k, "phones["):
			k = "phone"
		}
		out[k] = v
	}
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: out}
}
