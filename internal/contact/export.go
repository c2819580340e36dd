package contact

import (
	"context"
	"io"
	"slices"

	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// ExportOptions shape a CSV export.
type ExportOptions struct {
	// Columns to write (contactfile.Col* or "custom:<key>"); nil writes
	// contactfile.DefaultCSVColumns with one column per custom field, which
	// the importer reads back unchanged.
	Columns []string
	// BOM starts the file with a UTF-8 byte order mark, which Excel needs
	// to read Persian and Arabic correctly.
	BOM bool
	// Extra adds columns after Columns, filled one page of people at a
	// time: what other modules know of the people (customer analytics).
	Extra *ExtraColumns
}

// ExtraColumns are columns another module adds to an export: their
// names, and Values giving the cells of a page of people by id (people
// missing from the map get empty cells).
type ExtraColumns struct {
	Names  []string
	Values func(people []*crm.Contact) (map[int64][]string, error)
}

// exportPage is how many people one read transaction of an export loads.
const exportPage = 500

// ExportCSV writes the people matching f as CSV to w, streaming page by
// page (memory does not grow with the number of people), with company
// names, the owner's email and custom field values. f.Limit and f.After
// are ignored: everything matching is written. It needs the export
// permission, is audited once, and returns how many people it wrote.
func (s *Service) ExportCSV(ctx context.Context, f crm.ContactFilter, w io.Writer, opts ExportOptions) (int, error) {
	if err := crm.Authorize(ctx, crm.PermContactsExport, false); err != nil {
		return 0, err
	}
	cols := opts.Columns
	if len(cols) == 0 {
		fields, err := s.ListCustomFields(ctx, "contact")
		if err != nil {
			return 0, err
		}
		keys := make([]string, 0, len(fields))
		for _, fd := range fields {
			keys = append(keys, fd.Key)
		}
		cols = contactfile.DefaultCSVColumns(keys...)
	}
	cw, err := contactfile.NewCSVWriter(w, cols)
	if err != nil {
		return 0, &crm.Error{Code: crm.EINVALID, Message: err.Error(), Fields: map[string]string{"columns": err.Error()}}
	}
	cw.BOM = opts.BOM
	needOwners := slices.Contains(cols, contactfile.ColOwnerEmail)
	var (
		extra     map[int64][]string
		pageExtra func([]*crm.Contact) error
	)
	if opts.Extra != nil {
		cw.Extra = opts.Extra.Names
		pageExtra = func(people []*crm.Contact) (err error) {
			extra, err = opts.Extra.Values(people)
			return err
		}
	}
	n, err := s.exportPages(ctx, f, needOwners, pageExtra, func(c *crm.Contact, companies []string, owner string) error {
		return cw.Write(contactfile.ExportRecord{Contact: *c, CompanyNames: companies, OwnerEmail: owner, Extra: extra[c.ID]})
	})
	if err == nil {
		err = cw.Flush()
	}
	return n, s.auditExport(ctx, f, "csv", n, err)
}

// ExportVCard writes the people matching f as vCards (version "3.0" or
// "4.0") to w, streaming like ExportCSV.
func (s *Service) ExportVCard(ctx context.Context, f crm.ContactFilter, w io.Writer, version string) (int, error) {
	if err := crm.Authorize(ctx, crm.PermContactsExport, false); err != nil {
		return 0, err
	}
	if version == "" {
		version = "3.0"
	}
	vw, err := contactfile.NewVCardWriter(w, version)
	if err != nil {
		return 0, &crm.Error{Code: crm.EINVALID, Message: "Use vCard version 3.0 or 4.0.", Fields: map[string]string{"version": "Use 3.0 or 4.0."}}
	}
	n, err := s.exportPages(ctx, f, false, nil, func(c *crm.Contact, companies []string, _ string) error {
		return vw.Write(*c, companies)
	})
	return n, s.auditExport(ctx, f, "vcard "+version, n, err)
}

// exportPages lists every person matching f, a page per read transaction,
// and calls write for each with their company names (in CompanyIDs
// order) and owner's email; page, when set, sees each page first.
func (s *Service) exportPages(ctx context.Context, f crm.ContactFilter, owners bool, page func([]*crm.Contact) error,
	write func(c *crm.Contact, companies []string, owner string) error) (int, error) {
	f.Limit, f.After = exportPage, ""
	n := 0
	for {
		people, next, err := s.ListContacts(ctx, f)
		if err != nil {
			return n, err
		}
		var (
			companyIDs, ownerIDs []int64
			names                map[int64]string
			emails               map[int64]string
		)
		for _, c := range people {
			companyIDs = append(companyIDs, c.CompanyIDs...)
			if owners && c.OwnerID != nil {
				ownerIDs = append(ownerIDs, *c.OwnerID)
			}
		}
		err = s.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			if names, err = tx.CompanyNames(ctx, companyIDs); err != nil {
				return err
			}
			emails, err = tx.UserEmails(ctx, ownerIDs)
			return err
		})
		if err != nil {
			return n, err
		}
		if page != nil {
			if err := page(people); err != nil {
				return n, err
			}
		}
		for _, c := range people {
			var companies []string
			for _, id := range c.CompanyIDs {
				if name, ok := names[id]; ok {
					companies = append(companies, name)
				}
			}
			owner := ""
			if c.OwnerID != nil {
				owner = emails[*c.OwnerID]
			}
			if err := write(c, companies, owner); err != nil {
				return n, err
			}
			n++
		}
		if next == "" {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		f.After = next
	}
}

// auditExport records an export (also one that failed half way: the
// people written are out) and returns err.
func (s *Service) auditExport(ctx context.Context, f crm.ContactFilter, format string, n int, err error) error {
	filter := map[string]any{}
	if f.Q != "" {
		filter["q"] = f.Q
	}
	if f.Tag != "" {
		filter["tag"] = f.Tag
	}
	if f.OwnerID != nil {
		filter["owner_id"] = *f.OwnerID
	}
	if f.CompanyID != 0 {
		filter["company_id"] = f.CompanyID
	}
	if len(f.Custom) > 0 {
		filter["custom"] = f.Custom
	}
	if f.CreatedFrom != nil {
		filter["created_from"] = f.CreatedFrom
	}
	if f.CreatedTo != nil {
		filter["created_to"] = f.CreatedTo
	}
	if len(f.IDs) > 0 {
		filter["ids"] = len(f.IDs)
	}
	after := map[string]any{"format": format, "count": n, "filter": filter}
	if err != nil {
		after["error"] = crm.ErrorMessage(err)
	}
	wctx := context.WithoutCancel(ctx)
	aerr := s.db.Write(wctx, func(tx *store.Tx) error {
		return tx.Audit(wctx, "contact.export", "contact", 0, nil, after)
	})
	if err != nil {
		return err
	}
	return aerr
}
