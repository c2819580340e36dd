package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// CompanyRow is a prepared company with its indexed values.
type CompanyRow struct {
	Company    *crm.Company
	NameKey    string // normalised name, for sorting and duplicate checks
	SearchText string
}

const companyColumns = `co.id, co.name, co.domain, co.industry, co.size, co.emails, co.phones, co.addresses, co.owner_id, co.tags,
	co.notes, co.custom, co.created_at, co.updated_at`

func scanCompany(row interface{ Scan(...any) error }) (*crm.Company, error) {
	var (
		c                                       crm.Company
		emails, phones, addresses, tags, custom string
		owner                                   sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.Name, &c.Domain, &c.Industry, &c.Size, &emails, &phones, &addresses, &owner, &tags,
		&c.Notes, &custom, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if owner.Valid {
		c.OwnerID = &owner.Int64
	}
	for _, x := range []struct {
		src string
		dst any
	}{{emails, &c.Emails}, {phones, &c.Phones}, {addresses, &c.Addresses}, {tags, &c.Tags}, {custom, &c.Custom}} {
		if err := json.Unmarshal([]byte(x.src), x.dst); err != nil {
			return nil, fmt.Errorf("store: company %d: bad JSON column: %w", c.ID, err)
		}
	}
	return &c, nil
}

// InsertCompany stores a new company.
func (tx *Tx) InsertCompany(ctx context.Context, r *CompanyRow) error {
	c := r.Company
	if c.CreatedAt.IsZero() {
		c.CreatedAt = tx.now
	}
	c.UpdatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO companies (name, name_key, domain, industry, size, emails, phones, addresses, owner_id, tags,
		notes, custom, search_text, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Name, r.NameKey, c.Domain, c.Industry, c.Size, mustJSON(c.Emails), mustJSON(c.Phones), mustJSON(c.Addresses), ownerArg(c.OwnerID),
		mustJSON(c.Tags), c.Notes, mustJSON(c.Custom), r.SearchText, c.CreatedAt.UTC(), tx.now)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"owner_id": "No such user."}}
		}
		return err
	}
	c.ID = id
	return tx.writeCompanyTags(ctx, c, false)
}

// UpdateCompanyRow rewrites a company.
func (tx *Tx) UpdateCompanyRow(ctx context.Context, r *CompanyRow) error {
	c := r.Company
	c.UpdatedAt = tx.now
	res, err := tx.Exec(ctx, `UPDATE companies SET name = ?, name_key = ?, domain = ?, industry = ?, size = ?, emails = ?, phones = ?,
		addresses = ?, owner_id = ?, tags = ?, notes = ?, custom = ?, search_text = ?, updated_at = ? WHERE id = ?`,
		c.Name, r.NameKey, c.Domain, c.Industry, c.Size, mustJSON(c.Emails), mustJSON(c.Phones), mustJSON(c.Addresses), ownerArg(c.OwnerID),
		mustJSON(c.Tags), c.Notes, mustJSON(c.Custom), r.SearchText, tx.now, c.ID)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"owner_id": "No such user."}}
		}
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "Company was not found.")
	}
	return tx.writeCompanyTags(ctx, c, true)
}

func (tx *Tx) writeCompanyTags(ctx context.Context, c *crm.Company, replace bool) error {
	if replace {
		if _, err := tx.Exec(ctx, `DELETE FROM company_tags WHERE company_id = ?`, c.ID); err != nil {
			return err
		}
	}
	for _, t := range c.Tags {
		if _, err := tx.Exec(ctx, `INSERT INTO company_tags (tag, company_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, strings.ToLower(t), c.ID); err != nil {
			return err
		}
	}
	return nil
}

// FindCompanyByID returns one company or ENOTFOUND.
func (tx *Tx) FindCompanyByID(ctx context.Context, id int64) (*crm.Company, error) {
	c, err := scanCompany(tx.QueryRow(ctx, `SELECT `+companyColumns+` FROM companies co WHERE co.id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Company")
	}
	return c, nil
}

// CompanyExists reports whether a company exists.
func (tx *Tx) CompanyExists(ctx context.Context, id int64) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM companies WHERE id = ?`, id).Scan(&n)
	return n > 0, tx.db.wrap("company exists", err)
}

// CompanyNames returns the names of companies by id.
func (tx *Tx) CompanyNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := tx.Query(ctx, `SELECT id, name FROM companies WHERE id IN (`+Placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			name string
		)
		if err := rows.Scan(&id, &name); err != nil {
			return nil, tx.db.wrap("scan company names", err)
		}
		out[id] = name
	}
	return out, tx.db.wrap("company names", rows.Err())
}

// FindCompanyByNameKey returns the first company with a normalised name,
// for imports that name a company by text.
func (tx *Tx) FindCompanyByNameKey(ctx context.Context, key string) (*crm.Company, error) {
	c, err := scanCompany(tx.QueryRow(ctx, `SELECT `+companyColumns+` FROM companies co WHERE co.name_key = ? ORDER BY co.id LIMIT 1`, key))
	if err != nil {
		return nil, tx.NotFound(err, "Company")
	}
	return c, nil
}

// FindCompanies lists companies with keyset paging.
func (tx *Tx) FindCompanies(ctx context.Context, f crm.CompanyFilter, fts string, custom []CustomCond) ([]*crm.Company, string, error) {
	limit := crm.ClampLimit(f.Limit)
	key, afterID, err := crm.DecodeCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	var w conds
	if fts != "" {
		w.add(tx.Dialect().FullTextMatch("companies", "co"), fts)
	}
	if f.Tag != "" {
		w.add(`EXISTS (SELECT 1 FROM company_tags t WHERE t.company_id = co.id AND t.tag = ?)`, strings.ToLower(strings.TrimSpace(f.Tag)))
	}
	if f.OwnerID != nil {
		if *f.OwnerID == 0 {
			w.add(`co.owner_id IS NULL`)
		} else {
			w.add(`co.owner_id = ?`, *f.OwnerID)
		}
	}
	for _, cc := range custom {
		cond, a := tx.Dialect().customCond("co.custom", cc)
		w.add(cond, a...)
	}
	if len(f.IDs) > 0 {
		ids := make([]any, len(f.IDs))
		for i, id := range f.IDs {
			ids[i] = id
		}
		w.add(`co.id IN (`+Placeholders(len(ids))+`)`, ids...)
	}
	order := `co.name_key, co.id`
	switch f.Sort {
	case "", crm.SortName:
		if afterID > 0 {
			w.add(`(co.name_key > ? OR (co.name_key = ? AND co.id > ?))`, key, key, afterID)
		}
	case crm.SortCreatedDesc:
		order = `co.id DESC`
		if afterID > 0 {
			w.add(`co.id < ?`, afterID)
		}
	default:
		return nil, "", &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"sort": "Use name or -created."}}
	}
	var keys []string
	out, err := pageRows(ctx, tx, `SELECT `+companyColumns+`, co.name_key FROM companies co`+w.sql()+` ORDER BY `+order+` LIMIT ?`,
		w.args, limit, "companies", func(r rowScanner) (*crm.Company, error) {
			var nk string
			c, err := scanCompany(scanPlus{r, &nk})
			keys = append(keys, nk)
			return c, err
		})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		if f.Sort == crm.SortCreatedDesc {
			next = crm.EncodeCursor("", out[limit-1].ID)
		} else {
			next = crm.EncodeCursor(keys[limit-1], out[limit-1].ID)
		}
	}
	return out, next, nil
}

// SearchCompanies returns the best-ranked companies for a full-text query.
func (tx *Tx) SearchCompanies(ctx context.Context, fts string, limit int) ([]*crm.Company, error) {
	rows, err := tx.Query(ctx, tx.Dialect().RankedSearch("companies", "co", companyColumns), fts, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.Company
	for rows.Next() {
		c, err := scanCompany(rows)
		if err != nil {
			return nil, tx.db.wrap("scan companies", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("search companies", rows.Err())
}

// DeleteCompany removes a company; people stay, their links go.
func (tx *Tx) DeleteCompany(ctx context.Context, id int64) error {
	res, err := tx.Exec(ctx, `DELETE FROM companies WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "Company was not found.")
	}
	return nil
}

// CompanyContactIDs returns the people linked to a company.
func (tx *Tx) CompanyContactIDs(ctx context.Context, companyID int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT contact_id FROM contact_companies WHERE company_id = ? ORDER BY contact_id`, companyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, tx.db.wrap("scan company people", err)
		}
		out = append(out, id)
	}
	return out, tx.db.wrap("company people", rows.Err())
}

// SetContactSearchText rewrites one person's search text (after a linked
// company is renamed).
func (tx *Tx) SetContactSearchText(ctx context.Context, id int64, s string) error {
	_, err := tx.Exec(ctx, `UPDATE contacts SET search_text = ? WHERE id = ?`, s, id)
	return err
}
