package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// ContactKey is a normalised value used to find duplicates: kind "email"
// (lower-cased), "phone" (E.164) or "name" (normalised full name).
type ContactKey struct {
	Kind  string
	Value string
}

// ContactRow is a prepared person with the values the store indexes but
// the API does not show.
type ContactRow struct {
	Contact    *crm.Contact
	SortName   string
	SearchText string
	Keys       []ContactKey

	json *contactJSON // the JSON columns, when EncodeColumns ran
}

// contactJSON is a person's JSON columns, encoded.
type contactJSON struct{ emails, phones, addresses, tags, custom string }

// EncodeColumns encodes the person's JSON columns (emails, phones,
// addresses, tags, custom) now, so that a batch insert does not: importers
// call it on their worker goroutines, off the single writer. The Contact's
// lists and custom values must not change afterwards.
func (r *ContactRow) EncodeColumns() { r.json = r.encodeJSON() }

func (r *ContactRow) columns() *contactJSON {
	if r.json != nil {
		return r.json
	}
	return r.encodeJSON()
}

func (r *ContactRow) encodeJSON() *contactJSON {
	c := r.Contact
	return &contactJSON{emails: mustJSON(c.Emails), phones: mustJSON(c.Phones), addresses: mustJSON(c.Addresses),
		tags: mustJSON(c.Tags), custom: mustJSON(c.Custom)}
}

// CustomCond filters on one custom field; Value is already normalised for
// the field's type.
type CustomCond struct {
	Key   string
	Type  string
	Value any
}

const contactColumns = `c.id, c.prefix, c.first_name, c.middle_name, c.last_name, c.suffix, c.emails, c.phones, c.addresses,
	c.birthday, c.language, c.source, c.owner_id, c.tags, c.notes, c.custom, c.created_at, c.updated_at`

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: marshal %T: %v", v, err)) // only plain data types reach here
	}
	return string(b)
}

func scanContact(row interface{ Scan(...any) error }) (*crm.Contact, error) {
	var (
		c                                       crm.Contact
		emails, phones, addresses, tags, custom string
		owner                                   sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.Prefix, &c.FirstName, &c.MiddleName, &c.LastName, &c.Suffix, &emails, &phones, &addresses,
		&c.Birthday, &c.Language, &c.Source, &owner, &tags, &c.Notes, &custom, &c.CreatedAt, &c.UpdatedAt)
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
			return nil, fmt.Errorf("store: contact %d: bad JSON column: %w", c.ID, err)
		}
	}
	c.Memberships = []crm.Membership{}
	c.CompanyIDs = []int64{}
	return &c, nil
}

func ownerArg(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}

// InsertContact stores a new person with its keys, tags and company links.
// CreatedAt is kept when set (imports), else the transaction time.
func (tx *Tx) InsertContact(ctx context.Context, r *ContactRow) error {
	c := r.Contact
	if c.CreatedAt.IsZero() {
		c.CreatedAt = tx.now
	}
	c.UpdatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO contacts (prefix, first_name, middle_name, last_name, suffix, sort_name, emails, phones, addresses,
		birthday, language, source, owner_id, tags, notes, custom, search_text, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Prefix, c.FirstName, c.MiddleName, c.LastName, c.Suffix, r.SortName, mustJSON(c.Emails), mustJSON(c.Phones), mustJSON(c.Addresses),
		c.Birthday, c.Language, c.Source, ownerArg(c.OwnerID), mustJSON(c.Tags), c.Notes, mustJSON(c.Custom), r.SearchText, c.CreatedAt.UTC(), tx.now)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"owner_id": "No such user."}}
		}
		return err
	}
	c.ID = id
	return tx.writeContactLinks(ctx, r, false)
}

// UpdateContactRow rewrites a person and replaces its keys, tags and links.
func (tx *Tx) UpdateContactRow(ctx context.Context, r *ContactRow) error {
	c := r.Contact
	c.UpdatedAt = tx.now
	res, err := tx.Exec(ctx, `UPDATE contacts SET prefix = ?, first_name = ?, middle_name = ?, last_name = ?, suffix = ?, sort_name = ?,
		emails = ?, phones = ?, addresses = ?, birthday = ?, language = ?, source = ?, owner_id = ?, tags = ?, notes = ?, custom = ?,
		search_text = ?, updated_at = ? WHERE id = ?`,
		c.Prefix, c.FirstName, c.MiddleName, c.LastName, c.Suffix, r.SortName, mustJSON(c.Emails), mustJSON(c.Phones), mustJSON(c.Addresses),
		c.Birthday, c.Language, c.Source, ownerArg(c.OwnerID), mustJSON(c.Tags), c.Notes, mustJSON(c.Custom), r.SearchText, tx.now, c.ID)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"owner_id": "No such user."}}
		}
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
	}
	return tx.writeContactLinks(ctx, r, true)
}

func (tx *Tx) writeContactLinks(ctx context.Context, r *ContactRow, replace bool) error {
	c := r.Contact
	if replace {
		// A person a bulk load wrote may still have its keys staged.
		for _, q := range []string{`DELETE FROM contact_keys WHERE contact_id = ?`, `DELETE FROM contact_keys_load WHERE contact_id = ?`,
			`DELETE FROM contact_tags WHERE contact_id = ?`} {
			if _, err := tx.Exec(ctx, q, c.ID); err != nil {
				return err
			}
		}
	}
	for _, k := range r.Keys {
		if _, err := tx.Exec(ctx, `INSERT INTO contact_keys (kind, value, contact_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, k.Kind, k.Value, c.ID); err != nil {
			return err
		}
	}
	for _, t := range c.Tags {
		if _, err := tx.Exec(ctx, `INSERT INTO contact_tags (tag, contact_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, strings.ToLower(t), c.ID); err != nil {
			return err
		}
	}
	return tx.SetMemberships(ctx, c.ID, c.Memberships)
}

// SetMemberships replaces the companies a person is linked to.
func (tx *Tx) SetMemberships(ctx context.Context, contactID int64, ms []crm.Membership) error {
	if _, err := tx.Exec(ctx, `DELETE FROM contact_companies WHERE contact_id = ?`, contactID); err != nil {
		return err
	}
	for i, m := range ms {
		_, err := tx.Exec(ctx, `INSERT INTO contact_companies (contact_id, company_id, role, created_at) VALUES (?, ?, ?, ?)`,
			contactID, m.CompanyID, m.Role, tx.now)
		if err != nil {
			if crm.ErrorCode(err) == crm.EINVALID {
				return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.",
					Fields: map[string]string{fmt.Sprintf("memberships[%d].company_id", i): fmt.Sprintf("Company %d does not exist.", m.CompanyID)}}
			}
			return err
		}
	}
	return nil
}

// FindContactByID returns a person with memberships and consents.
func (tx *Tx) FindContactByID(ctx context.Context, id int64) (*crm.Contact, error) {
	c, consents, err := scanContactByID(tx.QueryRow(ctx, contactByIDQuery(tx.Dialect()), id))
	if err != nil {
		return nil, tx.NotFound(err, "Contact")
	}
	if consents {
		if c.Consents, err = tx.Consents(ctx, id); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ContactByID is FindContactByID without a transaction, for the hot path
// of reading one person (GET /api/v1/contacts/{id}): one statement,
// prepared once per reader connection, reads the person and its company
// links; people with consents (few) are read again in a transaction, so
// that consents and person come from one snapshot.
func (db *DB) ContactByID(ctx context.Context, id int64) (*crm.Contact, error) {
	st, err := db.readStmt(ctx, contactByIDQuery(db.dialect))
	if err != nil {
		return nil, err
	}
	c, consents, err := scanContactByID(st.QueryRowContext(db.short(ctx), id))
	if err == sql.ErrNoRows {
		return nil, crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
	}
	if err != nil {
		return nil, db.wrap("contact", err)
	}
	if consents {
		err = db.Read(ctx, func(tx *Tx) error {
			c, err = tx.FindContactByID(ctx, id)
			return err
		})
	}
	return c, err
}

// readStmt returns query (written with ? placeholders) prepared on the
// reader pool, preparing it the first time; database/sql then prepares
// it once on each reader connection that runs it.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := db.readStmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.ro.PrepareContext(ctx, db.rebind(query))
	if err != nil {
		return nil, db.wrap("prepare", err)
	}
	if old, loaded := db.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return old.(*sql.Stmt), nil
	}
	return st, nil
}

// contactByIDQuery selects a person (contactColumns), its company links
// as a JSON array of {company_id, role} in link order, and whether it has
// consents.
func contactByIDQuery(d Dialect) string {
	if d == Postgres {
		return `SELECT ` + contactColumns + `,
			COALESCE((SELECT json_agg(json_build_object('company_id', m.company_id, 'role', m.role) ORDER BY m.created_at, m.company_id)
				FROM contact_companies m WHERE m.contact_id = c.id)::text, '[]'),
			EXISTS (SELECT 1 FROM contact_consents k WHERE k.contact_id = c.id)
			FROM contacts c WHERE c.id = ?`
	}
	return `SELECT ` + contactColumns + `,
		(SELECT json_group_array(json_object('company_id', m.company_id, 'role', m.role)) FROM
			(SELECT company_id, role FROM contact_companies WHERE contact_id = c.id ORDER BY created_at, company_id) m),
		EXISTS (SELECT 1 FROM contact_consents k WHERE k.contact_id = c.id)
		FROM contacts c WHERE c.id = ?`
}

func scanContactByID(row rowScanner) (c *crm.Contact, consents bool, err error) {
	var links string
	c, err = scanContact(scanExtra{row, []any{&links, &consents}})
	if err != nil {
		return nil, false, err
	}
	if err := json.Unmarshal([]byte(links), &c.Memberships); err != nil {
		return nil, false, fmt.Errorf("store: contact %d: bad company links: %w", c.ID, err)
	}
	c.CompanyIDs = make([]int64, len(c.Memberships))
	for i, m := range c.Memberships {
		c.CompanyIDs[i] = m.CompanyID
	}
	c.Consents = []crm.Consent{}
	return c, consents, nil
}

// scanExtra scans a row followed by more columns.
type scanExtra struct {
	row   rowScanner
	extra []any
}

func (s scanExtra) Scan(dst ...any) error { return s.row.Scan(append(dst, s.extra...)...) }

// ContactExists reports whether a person exists.
func (tx *Tx) ContactExists(ctx context.Context, id int64) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contacts WHERE id = ?`, id).Scan(&n)
	return n > 0, tx.db.wrap("contact exists", err)
}

func (tx *Tx) fillMemberships(ctx context.Context, cs []*crm.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[int64]*crm.Contact, len(cs))
	args := make([]any, 0, len(cs))
	for _, c := range cs {
		byID[c.ID] = c
		args = append(args, c.ID)
	}
	rows, err := tx.Query(ctx, `SELECT contact_id, company_id, role FROM contact_companies WHERE contact_id IN (`+
		Placeholders(len(args))+`) ORDER BY contact_id, created_at, company_id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			cid int64
			m   crm.Membership
		)
		if err := rows.Scan(&cid, &m.CompanyID, &m.Role); err != nil {
			return tx.db.wrap("scan memberships", err)
		}
		c := byID[cid]
		c.Memberships = append(c.Memberships, m)
		c.CompanyIDs = append(c.CompanyIDs, m.CompanyID)
	}
	return tx.db.wrap("memberships", rows.Err())
}

// FindContacts lists people matching f with keyset paging; next is "" on
// the last page. "-created" (the default) pages by id, which grows with
// creation time.
func (tx *Tx) FindContacts(ctx context.Context, f crm.ContactFilter, fts string, custom []CustomCond) ([]*crm.Contact, string, error) {
	limit := crm.ClampLimit(f.Limit)
	key, afterID, err := crm.DecodeCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	var w conds
	if fts != "" {
		w.add(tx.Dialect().FullTextMatch("contacts", "c"), fts)
	}
	if f.Tag != "" {
		w.add(`EXISTS (SELECT 1 FROM contact_tags t WHERE t.contact_id = c.id AND t.tag = ?)`, strings.ToLower(strings.TrimSpace(f.Tag)))
	}
	if f.OwnerID != nil {
		if *f.OwnerID == 0 {
			w.add(`c.owner_id IS NULL`)
		} else {
			w.add(`c.owner_id = ?`, *f.OwnerID)
		}
	}
	if f.CompanyID != 0 {
		w.add(`EXISTS (SELECT 1 FROM contact_companies m WHERE m.contact_id = c.id AND m.company_id = ?)`, f.CompanyID)
	}
	for _, cc := range custom {
		cond, a := tx.Dialect().customCond("c.custom", cc)
		w.add(cond, a...)
	}
	if f.CreatedFrom != nil {
		w.add(`c.created_at >= ?`, f.CreatedFrom.UTC())
	}
	if f.CreatedTo != nil {
		w.add(`c.created_at < ?`, f.CreatedTo.UTC())
	}
	if len(f.IDs) > 0 {
		ids := make([]any, len(f.IDs))
		for i, id := range f.IDs {
			ids[i] = id
		}
		w.add(`c.id IN (`+Placeholders(len(ids))+`)`, ids...)
	}
	scoreCond(&w, f.Scores) // analytics.go
	if f.Segment != nil {   // conditions.go
		q, err := tx.CompileRules(ctx, f.Segment, tx.now)
		if err != nil {
			return nil, "", err
		}
		w.add(q.Where, q.Args...)
	}
	order := `c.id DESC`
	switch f.Sort {
	case "", crm.SortCreatedDesc:
		if afterID > 0 {
			w.add(`c.id < ?`, afterID)
		}
	case crm.SortCreatedAsc:
		order = `c.id`
		if afterID > 0 {
			w.add(`c.id > ?`, afterID)
		}
	case crm.SortName:
		order = `c.sort_name, c.id`
		if afterID > 0 {
			w.add(`(c.sort_name > ? OR (c.sort_name = ? AND c.id > ?))`, key, key, afterID)
		}
	case crm.SortUpdatedDesc:
		order = `c.updated_at DESC, c.id DESC`
		if afterID > 0 {
			t, err := time.Parse(time.RFC3339Nano, key)
			if err != nil {
				return nil, "", &crm.Error{Code: crm.EINVALID, Message: "The cursor is not valid.", Fields: map[string]string{"after": "Not a cursor returned by this list."}}
			}
			w.add(`(c.updated_at < ? OR (c.updated_at = ? AND c.id < ?))`, t, t, afterID)
		}
	default:
		return nil, "", &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"sort": "Use name, created, -created or -updated."}}
	}
	var sorts []string
	out, err := pageRows(ctx, tx, `SELECT `+contactColumns+`, c.sort_name FROM contacts c`+w.sql()+` ORDER BY `+order+` LIMIT ?`,
		w.args, limit, "contacts", func(r rowScanner) (*crm.Contact, error) {
			var sortName string
			c, err := scanContact(scanPlus{r, &sortName})
			sorts = append(sorts, sortName)
			return c, err
		})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		switch f.Sort {
		case crm.SortName:
			next = crm.EncodeCursor(sorts[limit-1], last.ID)
		case crm.SortUpdatedDesc:
			next = crm.EncodeCursor(last.UpdatedAt.UTC().Format(time.RFC3339Nano), last.ID)
		default:
			next = crm.EncodeCursor("", last.ID)
		}
	}
	if err := tx.fillMemberships(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// DeleteContact removes a person; keys, tags, links, consents and activity
// go with it (foreign keys cascade).
func (tx *Tx) DeleteContact(ctx context.Context, id int64) error {
	res, err := tx.Exec(ctx, `DELETE FROM contacts WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
	}
	return nil
}

// FindDuplicateContacts returns the people (other than exclude) sharing any
// of keys, with the kinds that matched.
func (tx *Tx) FindDuplicateContacts(ctx context.Context, keys []ContactKey, exclude []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(keys) == 0 {
		return out, nil
	}
	conds := make([]string, 0, len(keys))
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		conds = append(conds, `(kind = ? AND value = ?)`)
		args = append(args, k.Kind, k.Value)
	}
	rows, err := tx.Query(ctx, `SELECT contact_id, kind FROM contact_keys WHERE `+strings.Join(conds, ` OR `)+` ORDER BY contact_id LIMIT 200`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			kind string
		)
		if err := rows.Scan(&id, &kind); err != nil {
			return nil, tx.db.wrap("scan duplicates", err)
		}
		skip := false
		for _, x := range exclude {
			skip = skip || x == id
		}
		if skip {
			continue
		}
		if !contains(out[id], kind) {
			out[id] = append(out[id], kind)
		}
	}
	return out, tx.db.wrap("duplicates", rows.Err())
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// ContactNames returns display names for people, for duplicate warnings
// and merge previews.
func (tx *Tx) ContactNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := tx.Query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id IN (`+Placeholders(len(ids))+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, tx.db.wrap("scan contact", err)
		}
		out[c.ID] = c.DisplayName()
	}
	return out, tx.db.wrap("contact names", rows.Err())
}

// SearchContacts returns the best-ranked people for a full-text query.
func (tx *Tx) SearchContacts(ctx context.Context, fts string, limit int) ([]*crm.Contact, error) {
	rows, err := tx.Query(ctx, tx.Dialect().RankedSearch("contacts", "c", contactColumns), fts, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, tx.db.wrap("scan contacts", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("search contacts", rows.Err())
}
