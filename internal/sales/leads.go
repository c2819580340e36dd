package sales

import (
	"context"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Leads: people and companies not yet qualified, with where they came
// from, and their conversion in one step into a person, a company and a
// deal.

// LeadInput is a new lead, or (in UpdateLead) the fields to change. At
// least a name, a company, an email or a phone. OwnerID nil is the acting
// user (0: nobody).
type LeadInput struct {
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	CompanyName string `json:"company_name,omitempty"`
	JobTitle    string `json:"job_title,omitempty"`
	Source      string `json:"source,omitempty"`
	Status      string `json:"status,omitempty"`
	OwnerID     *int64 `json:"owner_id,omitempty"`
	Value       int64  `json:"value,omitempty"`
	Currency    string `json:"currency,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

// checkLead validates l in place.
func (s *Service) checkLead(v *crm.Validation, l *crm.Lead) {
	l.FirstName = checkText(v, "first_name", l.FirstName, MaxShort)
	l.LastName = checkText(v, "last_name", l.LastName, MaxShort)
	l.CompanyName = checkText(v, "company_name", l.CompanyName, MaxName)
	l.JobTitle = checkText(v, "job_title", l.JobTitle, MaxShort)
	l.Source = checkText(v, "source", l.Source, MaxShort)
	l.Notes = checkText(v, "notes", l.Notes, MaxText)
	l.Email = crm.NormalizeEmail(text.ToASCIIDigits(checkText(v, "email", l.Email, 254)))
	if l.Email != "" && !crm.ValidEmail(l.Email) {
		v.Add("email", "%q is not a valid email address.", l.Email)
	}
	if p := checkText(v, "phone", l.Phone, MaxShort); p != "" {
		e164, err := text.NormalizePhone(p, s.opts.Region)
		if err != nil {
			v.Add("phone", "%q is not a phone number: %s", p, strings.TrimPrefix(err.Error(), "phone: "))
		}
		l.Phone = e164
	}
	if l.FirstName == "" && l.LastName == "" && l.CompanyName == "" && l.Email == "" && l.Phone == "" {
		v.Add("first_name", "Give a name, a company, an email or a phone.")
	}
	if !slices.Contains(crm.LeadStatuses, l.Status) || l.Status == crm.LeadConverted {
		v.Add("status", "Use new, contacted, qualified or unqualified (a lead becomes converted by converting it).")
	}
	checkAmount(v, "value", l.Value)
	if l.Currency != "" || l.Value != 0 {
		l.Currency = checkCurrency(v, "currency", l.Currency)
	}
}

// CreateLead stores a lead and writes lead.created. Needs sales:write.
func (s *Service) CreateLead(ctx context.Context, in LeadInput) (*crm.Lead, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	l := &crm.Lead{FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone, CompanyName: in.CompanyName,
		JobTitle: in.JobTitle, Source: in.Source, Status: in.Status, Value: in.Value, Currency: in.Currency, Notes: in.Notes,
		CreatedBy: crm.UserIDFromContext(ctx)}
	if l.Status == "" {
		l.Status = crm.LeadNew
	}
	l.OwnerID = l.CreatedBy
	if in.OwnerID != nil {
		l.OwnerID = *in.OwnerID
	}
	var v crm.Validation
	s.checkLead(&v, l)
	if l.Source == "" {
		l.Source = sourceFromContext(ctx)
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := checkOwner(ctx, tx, &v, "owner_id", l.OwnerID); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.InsertLead(ctx, l); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "lead.create", "lead", l.ID, nil, l); err != nil {
			return err
		}
		return emitLead(ctx, tx, crm.EventLeadCreated, l, leadPayload(l))
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// LeadUpdate changes a lead; nil fields stay (OwnerID 0: nobody).
type LeadUpdate struct {
	FirstName   *string `json:"first_name,omitempty"`
	LastName    *string `json:"last_name,omitempty"`
	Email       *string `json:"email,omitempty"`
	Phone       *string `json:"phone,omitempty"`
	CompanyName *string `json:"company_name,omitempty"`
	JobTitle    *string `json:"job_title,omitempty"`
	Source      *string `json:"source,omitempty"`
	Status      *string `json:"status,omitempty"`
	OwnerID     *int64  `json:"owner_id,omitempty"`
	Value       *int64  `json:"value,omitempty"`
	Currency    *string `json:"currency,omitempty"`
	Notes       *string `json:"notes,omitempty"`
}

// UpdateLead changes a lead that is not converted yet and writes
// lead.updated with the changed fields. Needs sales:write.
func (s *Service) UpdateLead(ctx context.Context, id int64, up LeadUpdate) (*crm.Lead, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var l *crm.Lead
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if l, err = s.findLead(ctx, tx, id, true); err != nil {
			return err
		}
		if l.Status == crm.LeadConverted {
			return conflict("This lead was converted; change the person, company or deal it became instead.")
		}
		before := *l
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&l.FirstName, up.FirstName)
		set(&l.LastName, up.LastName)
		set(&l.Email, up.Email)
		set(&l.Phone, up.Phone)
		set(&l.CompanyName, up.CompanyName)
		set(&l.JobTitle, up.JobTitle)
		set(&l.Source, up.Source)
		set(&l.Status, up.Status)
		set(&l.Currency, up.Currency)
		set(&l.Notes, up.Notes)
		if up.Value != nil {
			l.Value = *up.Value
		}
		var v crm.Validation
		if up.OwnerID != nil && *up.OwnerID != l.OwnerID {
			l.OwnerID = *up.OwnerID
			if err := checkOwner(ctx, tx, &v, "owner_id", l.OwnerID); err != nil {
				return err
			}
		}
		s.checkLead(&v, l)
		if err := v.Err(); err != nil {
			return err
		}
		var changed []string
		for _, c := range []struct {
			f    string
			a, b any
		}{{"first_name", before.FirstName, l.FirstName}, {"last_name", before.LastName, l.LastName}, {"email", before.Email, l.Email},
			{"phone", before.Phone, l.Phone}, {"company_name", before.CompanyName, l.CompanyName}, {"job_title", before.JobTitle, l.JobTitle},
			{"source", before.Source, l.Source}, {"status", before.Status, l.Status}, {"owner_id", before.OwnerID, l.OwnerID},
			{"value", before.Value, l.Value}, {"currency", before.Currency, l.Currency}, {"notes", before.Notes, l.Notes}} {
			if c.a != c.b {
				changed = append(changed, c.f)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		if err := tx.UpdateLead(ctx, l); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "lead.update", "lead", l.ID, before, l); err != nil {
			return err
		}
		p := leadPayload(l)
		p.Changed = changed
		return emitLead(ctx, tx, crm.EventLeadUpdated, l, p)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (s *Service) findLead(ctx context.Context, tx *store.Tx, id int64, lock bool) (*crm.Lead, error) {
	sc, err := s.scope(ctx, tx)
	if err != nil {
		return nil, err
	}
	return tx.FindLead(ctx, id, sc, lock)
}

// Lead returns one lead. Needs sales:read.
func (s *Service) Lead(ctx context.Context, id int64) (*crm.Lead, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var l *crm.Lead
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		l, err = s.findLead(ctx, tx, id, false)
		return err
	})
	return l, err
}

// ListLeads lists leads matching f, newest first. Needs sales:read.
func (s *Service) ListLeads(ctx context.Context, f crm.LeadFilter) ([]*crm.Lead, string, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, "", err
	}
	if f.Status != "" && !slices.Contains(crm.LeadStatuses, f.Status) {
		return nil, "", fieldError("status", "Use one of %s.", strings.Join(crm.LeadStatuses, ", "))
	}
	var (
		out  []*crm.Lead
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		sc, err := s.scope(ctx, tx)
		if err != nil {
			return err
		}
		out, next, err = tx.FindLeads(ctx, f, sc)
		return err
	})
	return out, next, err
}

// DeleteLead removes a lead that is not converted. Needs sales:write.
func (s *Service) DeleteLead(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		l, err := s.findLead(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if l.Status == crm.LeadConverted {
			return conflict("This lead was converted; it stays as the record of where the customer came from.")
		}
		if err := tx.DeleteLead(ctx, id); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "lead.delete", "lead", id, l, nil); err != nil {
			return err
		}
		return emitLead(ctx, tx, crm.EventLeadDeleted, l, leadPayload(l))
	})
}

// ConvertInput says what a lead becomes. ContactID links an existing
// person instead of finding or creating one; CompanyID an existing
// company; NoCompany makes none even when the lead names one. Without
// NoDeal a deal is opened: Deal's empty fields come from the lead (title
// "<company or name>", value and currency, owner).
type ConvertInput struct {
	ContactID int64     `json:"contact_id,omitempty"`
	CompanyID int64     `json:"company_id,omitempty"`
	NoCompany bool      `json:"no_company,omitempty"`
	NoDeal    bool      `json:"no_deal,omitempty"`
	Deal      DealInput `json:"-"`
}

// Conversion is what a lead became.
type Conversion struct {
	Lead           *crm.Lead `json:"lead"`
	ContactID      int64     `json:"contact_id"`
	ContactCreated bool      `json:"contact_created"`
	CompanyID      int64     `json:"company_id"`
	CompanyCreated bool      `json:"company_created"`
	Deal           *crm.Deal `json:"deal"`
}

// ConvertLead turns a lead, in one transaction, into a person (found by
// phone or email, or created), a company (found by name, or created) and
// a deal, and marks it converted with links to them. Its history (the
// lead's events) moves onto the person's and company's timelines, and
// lead.converted is written there. Any problem changes nothing. Needs
// sales:write and contacts:write.
func (s *Service) ConvertLead(ctx context.Context, id int64, in ConvertInput) (*Conversion, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	out := &Conversion{}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		l, err := s.findLead(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if l.Status == crm.LeadConverted {
			return conflict("This lead was converted already (person %d, deal %d).", l.ContactID, l.DealID)
		}
		var v crm.Validation
		if err := checkParties(ctx, tx, &v, in.ContactID, in.CompanyID); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		// The company first, so that a new person can be linked to it.
		switch {
		case in.CompanyID != 0:
			out.CompanyID = in.CompanyID
		case in.NoCompany || l.CompanyName == "":
		case s.opts.Company == nil:
			return fieldError("company_id", "Companies cannot be created here; choose an existing company or convert without one.")
		default:
			if out.CompanyID, out.CompanyCreated, err = s.opts.Company(ctx, tx, crm.CompanyRef{Name: l.CompanyName, OwnerID: l.OwnerID}); err != nil {
				return err
			}
		}
		switch {
		case in.ContactID != 0 && s.opts.Person != nil:
			// The person chosen is linked to the company as a found one is.
			ref := crm.PersonRef{ID: in.ContactID, JobTitle: l.JobTitle, CompanyID: out.CompanyID}
			if out.ContactID, _, err = s.opts.Person(ctx, tx, ref); err != nil {
				return err
			}
		case in.ContactID != 0:
			out.ContactID = in.ContactID
		case s.opts.Person == nil:
			return fieldError("contact_id", "People cannot be created here; choose an existing person.")
		default:
			ref := crm.PersonRef{FirstName: l.FirstName, LastName: l.LastName, Email: l.Email, Phone: l.Phone, JobTitle: l.JobTitle,
				CompanyID: out.CompanyID, OwnerID: l.OwnerID}
			if ref.FirstName == "" && ref.LastName == "" && ref.Email == "" && ref.Phone == "" {
				ref.FirstName = l.CompanyName // a lead known only by its company: its contact person is unknown
			}
			if out.ContactID, out.ContactCreated, err = s.opts.Person(ctx, tx, ref); err != nil {
				return err
			}
		}
		if !in.NoDeal {
			din := in.Deal
			if strings.TrimSpace(din.Title) == "" {
				din.Title = l.CompanyName
				if din.Title == "" {
					din.Title = l.DisplayName()
				}
			}
			if din.Value == nil && !din.ValueFromLines && l.Value > 0 {
				din.Value = &l.Value
			}
			if din.Currency == "" && l.Currency != "" {
				din.Currency = l.Currency
			}
			if din.OwnerID == nil {
				owner := l.OwnerID
				din.OwnerID = &owner
			}
			if din.Source == "" {
				din.Source = l.Source
			}
			din.ContactID, din.CompanyID, din.LeadID = out.ContactID, out.CompanyID, l.ID
			if out.Deal, err = s.createDealTx(ctx, tx, din); err != nil {
				return dealFields(err)
			}
		}
		before := *l
		now := tx.Now()
		l.Status, l.ContactID, l.CompanyID, l.ConvertedAt = crm.LeadConverted, out.ContactID, out.CompanyID, &now
		if out.Deal != nil {
			l.DealID = out.Deal.ID
		}
		if err := tx.UpdateLead(ctx, l); err != nil {
			return err
		}
		if err := tx.AttachLeadHistory(ctx, l.ID, l.ContactID, l.CompanyID); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "lead.convert", "lead", l.ID, before, out); err != nil {
			return err
		}
		p := LeadConvertedPayload{LeadPayload: leadPayload(l), ContactID: l.ContactID, CompanyID: l.CompanyID, DealID: l.DealID}
		if out.Deal != nil {
			p.DealTitle = out.Deal.Title
		}
		out.Lead = l
		return emitLead(ctx, tx, crm.EventLeadConverted, l, p)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dealFields names a conversion's deal problems deal.<field>.
func dealFields(err error) error {
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	out := map[string]string{}
	for k, v := range fields {
		out["deal."+k] = v
	}
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: out}
}
