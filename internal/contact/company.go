package contact

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Company size bands.
var CompanySizes = []string{"1-10", "11-50", "51-200", "201-1000", "1000+"}

var domainRe = regexp.MustCompile(`^([a-z0-9\p{L}]([a-z0-9\p{L}-]{0,61}[a-z0-9\p{L}])?\.)+[a-z\p{L}]{2,}$`)

// PrepareCompany normalises and validates a company in place.
func PrepareCompany(c *crm.Company, fields []*crm.CustomField, region string, requireCustom bool) (*store.CompanyRow, error) {
	var v crm.Validation
	c.Name = clean(&v, "name", c.Name, maxNameLen)
	if c.Name == "" && !v.Has("name") {
		v.Add("name", "Name is required.")
	}
	d := strings.ToLower(strings.TrimSpace(c.Domain))
	d = strings.TrimPrefix(strings.TrimPrefix(d, "https://"), "http://")
	d = strings.TrimPrefix(d, "www.")
	d, _, _ = strings.Cut(d, "/")
	if d != "" && !domainRe.MatchString(d) {
		v.Add("domain", "%q is not a domain such as example.com.", c.Domain)
	}
	c.Domain = d
	c.Industry = clean(&v, "industry", c.Industry, 100)
	c.Size = strings.TrimSpace(c.Size)
	if c.Size != "" && !slices.Contains(CompanySizes, c.Size) {
		v.Add("size", "Use one of %s.", strings.Join(CompanySizes, ", "))
	}
	c.Notes = cleanLong(&v, "notes", c.Notes, maxNotesLen)
	c.Emails = prepareEmails(&v, "emails", c.Emails)
	c.Phones = preparePhones(&v, "phones", c.Phones, region)
	c.Addresses = prepareAddresses(&v, "addresses", c.Addresses)
	c.Tags = prepareTags(&v, "tags", c.Tags)
	if c.OwnerID != nil && *c.OwnerID <= 0 {
		c.OwnerID = nil
	}
	c.Custom = prepareCustom(&v, c.Custom, fields, region, requireCustom)
	if err := v.Err(); err != nil {
		return nil, err
	}
	for _, p := range []*[]crm.Labeled{&c.Emails, &c.Phones} {
		if *p == nil {
			*p = []crm.Labeled{}
		}
	}
	if c.Addresses == nil {
		c.Addresses = []crm.Address{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	r := &store.CompanyRow{Company: c, NameKey: text.Normalize(c.Name)}
	toks := text.NormalizeTokens(c.Name)
	if c.Domain != "" {
		toks = append(toks, text.NormalizeTokens(c.Domain)...)
	}
	for _, e := range c.Emails {
		toks = append(toks, text.NormalizeTokens(e.Value)...)
	}
	for _, p := range c.Phones {
		toks = append(toks, text.PhoneSearchForms(p.Value)...)
	}
	r.SearchText = strings.Join(dedupe(toks), " ")
	return r, nil
}

// CreateCompany validates and stores a company.
func (s *Service) CreateCompany(ctx context.Context, c *crm.Company) (*crm.Company, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	c.ID = 0
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		fields, err := tx.ListCustomFields(ctx, "company")
		if err != nil {
			return err
		}
		r, err := PrepareCompany(c, fields, s.region, true)
		if err != nil {
			return err
		}
		if err := checkOwner(ctx, tx, c.OwnerID); err != nil {
			return err
		}
		if err := tx.InsertCompany(ctx, r); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "company.create", "company", c.ID, nil, c); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: crm.EventCompanyCreated, SubjectType: "company", SubjectID: c.ID, CompanyID: c.ID,
			Payload: mustJSON(map[string]string{"name": c.Name})})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// FindCompanyByID returns one company.
func (s *Service) FindCompanyByID(ctx context.Context, id int64) (*crm.Company, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	var c *crm.Company
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.FindCompanyByID(ctx, id)
		return err
	})
	return c, err
}

// ListCompanies lists companies matching f.
func (s *Service) ListCompanies(ctx context.Context, f crm.CompanyFilter) ([]*crm.Company, string, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, "", err
	}
	var (
		out  []*crm.Company
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		fts, conds, none, err := s.listFilters(ctx, tx, "company", f.Q, f.Custom)
		if err != nil || none {
			return err
		}
		out, next, err = tx.FindCompanies(ctx, f, fts, conds)
		return err
	})
	if out == nil {
		out = []*crm.Company{}
	}
	return out, next, err
}

// UpdateCompany changes a company. A new name is re-indexed on every
// linked person, so searching the new name finds them.
func (s *Service) UpdateCompany(ctx context.Context, id int64, up crm.CompanyUpdate) (*crm.Company, error) {
	if err := crm.Authorize(ctx, crm.PermContactsWrite, true); err != nil {
		return nil, err
	}
	var c *crm.Company
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindCompanyByID(ctx, id)
		if err != nil {
			return err
		}
		after := *before
		applyCompanyUpdate(&after, up)
		fields, err := tx.ListCustomFields(ctx, "company")
		if err != nil {
			return err
		}
		r, err := PrepareCompany(&after, fields, s.region, false)
		if err != nil {
			return err
		}
		if up.OwnerID != nil {
			if err := checkOwner(ctx, tx, after.OwnerID); err != nil {
				return err
			}
		}
		if err := tx.UpdateCompanyRow(ctx, r); err != nil {
			return err
		}
		if before.Name != after.Name {
			people, err := tx.CompanyContactIDs(ctx, id)
			if err != nil {
				return err
			}
			if err := s.reindexPeople(ctx, tx, people); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, "company.update", "company", id, before, &after); err != nil {
			return err
		}
		c = &after
		return tx.Emit(ctx, &crm.Event{Type: crm.EventCompanyUpdated, SubjectType: "company", SubjectID: id, CompanyID: id,
			Payload: mustJSON(map[string]string{"name": c.Name})})
	})
	return c, err
}

// reindexPeople rewrites the search text of people whose company names
// changed (a company renamed or deleted).
func (s *Service) reindexPeople(ctx context.Context, tx *store.Tx, ids []int64) error {
	for _, id := range ids {
		p, err := tx.FindContactByID(ctx, id)
		if err != nil {
			return err
		}
		r := Derive(p)
		if err := s.addCompanyTokens(ctx, tx, r); err != nil {
			return err
		}
		if err := tx.SetContactSearchText(ctx, id, r.SearchText); err != nil {
			return err
		}
	}
	return nil
}

func applyCompanyUpdate(c *crm.Company, up crm.CompanyUpdate) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.Name, up.Name)
	set(&c.Domain, up.Domain)
	set(&c.Industry, up.Industry)
	set(&c.Size, up.Size)
	set(&c.Notes, up.Notes)
	if up.Emails != nil {
		c.Emails = *up.Emails
	}
	if up.Phones != nil {
		c.Phones = *up.Phones
	}
	if up.Addresses != nil {
		c.Addresses = *up.Addresses
	}
	if up.Tags != nil {
		c.Tags = *up.Tags
	}
	if up.OwnerID != nil {
		c.OwnerID = *up.OwnerID
	}
	if up.Custom != nil {
		c.Custom = mergeCustom(c.Custom, up.Custom)
	}
}

// DeleteCompany removes a company; its people stay, unlinked, and are
// re-indexed without its name.
func (s *Service) DeleteCompany(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermContactsDelete, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindCompanyByID(ctx, id)
		if err != nil {
			return err
		}
		people, err := tx.CompanyContactIDs(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteCompany(ctx, id); err != nil {
			return err
		}
		if err := s.reindexPeople(ctx, tx, people); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "company.delete", "company", id, before, nil); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: crm.EventCompanyDeleted, SubjectType: "company", SubjectID: id,
			Payload: mustJSON(map[string]string{"name": before.Name})})
	})
}

// CompanyPeople lists the people linked to a company.
func (s *Service) CompanyPeople(ctx context.Context, companyID int64, page crm.Page) ([]*crm.Contact, string, error) {
	return s.ListContacts(ctx, crm.ContactFilter{CompanyID: companyID, Sort: crm.SortName, Limit: page.Limit, After: page.After})
}
