package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// The products catalogue, the line items of deals and quotes.

// --- Products ---

const productColumns = `id, name, sku, description, price, currency, tax_rate, active, created_at, updated_at`

func scanProduct(row rowScanner) (*crm.Product, error) {
	var p crm.Product
	err := row.Scan(&p.ID, &p.Name, &p.SKU, &p.Description, &p.Price, &p.Currency, &p.TaxRate, &p.Active, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// InsertProduct writes p and fills in its id and times. A SKU already in
// use is ECONFLICT.
func (tx *Tx) InsertProduct(ctx context.Context, p *crm.Product) error {
	p.CreatedAt, p.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO products (name, sku, description, price, currency, tax_rate, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, p.Name, p.SKU, p.Description, p.Price, p.Currency, p.TaxRate, p.Active, tx.now, tx.now)
	if err != nil {
		return err
	}
	p.ID = id
	return nil
}

// UpdateProduct writes every field of p.
func (tx *Tx) UpdateProduct(ctx context.Context, p *crm.Product) error {
	p.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Product", `UPDATE products SET name = ?, sku = ?, description = ?, price = ?, currency = ?, tax_rate = ?, active = ?,
		updated_at = ? WHERE id = ?`, p.Name, p.SKU, p.Description, p.Price, p.Currency, p.TaxRate, p.Active, tx.now, p.ID)
}

// FindProduct returns one product.
func (tx *Tx) FindProduct(ctx context.Context, id int64) (*crm.Product, error) {
	p, err := scanProduct(tx.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Product")
	}
	return p, nil
}

// ProductsByID returns the products with the given ids.
func (tx *Tx) ProductsByID(ctx context.Context, ids []int64) (map[int64]*crm.Product, error) {
	out := map[int64]*crm.Product{}
	ids = nonZeroUnique(ids)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT `+productColumns+` FROM products WHERE id IN (`+Placeholders(len(ids))+`)`, anyArgs(ids)...)
	if err != nil {
		return nil, fmt.Errorf("store: products: %w", err)
	}
	return out, tx.db.wrap("products", forEachRow(rows, func(r *sql.Rows) error {
		p, err := scanProduct(r)
		if err == nil {
			out[p.ID] = p
		}
		return err
	}))
}

// ProductFilter narrows the catalogue.
type ProductFilter struct {
	Q      string // part of the name or the SKU
	Active *bool
	Limit  int
	After  string
}

// FindProducts lists products by name with keyset paging.
func (tx *Tx) FindProducts(ctx context.Context, f ProductFilter) ([]*crm.Product, string, error) {
	key, afterID, err := crm.DecodeCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(f.Limit)
	var w conds
	if f.Active != nil {
		w.add(`active = ?`, *f.Active)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		like := tx.Dialect().CaseInsensitiveLike()
		w.add(`(name `+like+` ? ESCAPE '\' OR sku `+like+` ? ESCAPE '\')`, "%"+likeLiteral(q)+"%", likeLiteral(q)+"%")
	}
	if afterID > 0 {
		w.add(`(name > ? OR (name = ? AND id > ?))`, key, key, afterID)
	}
	out, err := pageRows(ctx, tx, `SELECT `+productColumns+` FROM products`+w.sql()+` ORDER BY name, id LIMIT ?`, w.args, limit, "products", scanProduct)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeCursor(out[limit-1].Name, out[limit-1].ID)
	}
	return out, next, nil
}

// --- Deal lines ---

const dealLineColumns = `id, COALESCE(product_id, 0), name, sku, quantity, unit_price, discount, tax_rate, subtotal, tax, total`

func scanDealLine(row rowScanner) (crm.DealLine, error) {
	var l crm.DealLine
	err := row.Scan(&l.ID, &l.ProductID, &l.Name, &l.SKU, &l.Quantity, &l.UnitPrice, &l.Discount, &l.TaxRate, &l.Subtotal, &l.Tax, &l.Total)
	return l, err
}

// ReplaceDealLines makes lines the deal's line items, in order, and fills
// in their ids.
func (tx *Tx) ReplaceDealLines(ctx context.Context, dealID int64, lines []crm.DealLine) error {
	if _, err := tx.Exec(ctx, `DELETE FROM deal_lines WHERE deal_id = ?`, dealID); err != nil {
		return fmt.Errorf("store: replace deal lines: %w", err)
	}
	for i := range lines {
		l := &lines[i]
		id, err := tx.InsertID(ctx, `INSERT INTO deal_lines (deal_id, position, product_id, name, sku, quantity, unit_price, discount, tax_rate, subtotal, tax, total)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			dealID, i+1, nullID(l.ProductID), l.Name, l.SKU, l.Quantity, l.UnitPrice, l.Discount, l.TaxRate, l.Subtotal, l.Tax, l.Total)
		if err != nil {
			return fmt.Errorf("store: insert deal line: %w", err)
		}
		l.ID = id
	}
	return nil
}

// DealLines returns a deal's line items in order.
func (tx *Tx) DealLines(ctx context.Context, dealID int64) ([]crm.DealLine, error) {
	rows, err := tx.Query(ctx, `SELECT `+dealLineColumns+` FROM deal_lines WHERE deal_id = ? ORDER BY position, id`, dealID)
	if err != nil {
		return nil, fmt.Errorf("store: deal lines: %w", err)
	}
	out := []crm.DealLine{}
	return out, tx.db.wrap("deal lines", forEachRow(rows, func(r *sql.Rows) error {
		l, err := scanDealLine(r)
		out = append(out, l)
		return err
	}))
}

// --- Quotes ---

const quoteColumns = `id, deal_id, number, status, title, contact_id, company_id, currency, lines, subtotal, discount, tax, total,
	valid_until, notes, sent_at, decided_at, COALESCE(created_by, 0), created_at, updated_at`

func scanQuote(row rowScanner) (*crm.Quote, error) {
	var (
		q            crm.Quote
		lines        string
		sent, decide sql.NullTime
	)
	err := row.Scan(&q.ID, &q.DealID, &q.Number, &q.Status, &q.Title, &q.ContactID, &q.CompanyID, &q.Currency, &lines, &q.Subtotal,
		&q.Discount, &q.Tax, &q.Total, &q.ValidUntil, &q.Notes, &sent, &decide, &q.CreatedBy, &q.CreatedAt, &q.UpdatedAt)
	if err != nil {
		return nil, err
	}
	q.Lines = []crm.DealLine{}
	if err := json.Unmarshal([]byte(lines), &q.Lines); err != nil {
		return nil, fmt.Errorf("quote %d lines: %w", q.ID, err)
	}
	q.SentAt, q.DecidedAt = nullTimePtr(sent), nullTimePtr(decide)
	q.CreatedAt, q.UpdatedAt = q.CreatedAt.UTC(), q.UpdatedAt.UTC()
	return &q, nil
}

// NextQuoteNumber returns the number the next quote gets: one more than
// the highest so far. The caller inserts the quote in the same
// transaction; on PostgreSQL an advisory lock serialises numbering.
func (tx *Tx) NextQuoteNumber(ctx context.Context) (int64, error) {
	if err := tx.AdvisoryLock(ctx, "quote-number"); err != nil {
		return 0, err
	}
	var n int64
	err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM quotes`).Scan(&n)
	return n, tx.db.wrap("quote number", err)
}

// InsertQuote writes q and fills in its id and times.
func (tx *Tx) InsertQuote(ctx context.Context, q *crm.Quote) error {
	q.CreatedAt, q.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO quotes (deal_id, number, status, title, contact_id, company_id, currency, lines, subtotal, discount, tax, total,
		valid_until, notes, sent_at, decided_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		q.DealID, q.Number, q.Status, q.Title, q.ContactID, q.CompanyID, q.Currency, mustJSON(q.Lines), q.Subtotal, q.Discount, q.Tax, q.Total,
		q.ValidUntil, q.Notes, nullableTime(utcMicroPtr(q.SentAt)), nullableTime(utcMicroPtr(q.DecidedAt)), nullID(q.CreatedBy), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert quote: %w", err)
	}
	q.ID = id
	return nil
}

// UpdateQuote writes every changeable field of q.
func (tx *Tx) UpdateQuote(ctx context.Context, q *crm.Quote) error {
	q.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Quote", `UPDATE quotes SET status = ?, title = ?, contact_id = ?, company_id = ?, currency = ?, lines = ?,
		subtotal = ?, discount = ?, tax = ?, total = ?, valid_until = ?, notes = ?, sent_at = ?, decided_at = ?, updated_at = ? WHERE id = ?`,
		q.Status, q.Title, q.ContactID, q.CompanyID, q.Currency, mustJSON(q.Lines), q.Subtotal, q.Discount, q.Tax, q.Total, q.ValidUntil, q.Notes,
		nullableTime(utcMicroPtr(q.SentAt)), nullableTime(utcMicroPtr(q.DecidedAt)), tx.now, q.ID)
}

// FindQuote returns one quote; with lock its row stays locked.
func (tx *Tx) FindQuote(ctx context.Context, id int64, lock bool) (*crm.Quote, error) {
	q := `SELECT ` + quoteColumns + ` FROM quotes WHERE id = ?`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	out, err := scanQuote(tx.QueryRow(ctx, q, id))
	if err != nil {
		return nil, tx.NotFound(err, "Quote")
	}
	return out, nil
}

// DealQuotes returns a deal's quotes, newest first.
func (tx *Tx) DealQuotes(ctx context.Context, dealID int64) ([]*crm.Quote, error) {
	rows, err := tx.Query(ctx, `SELECT `+quoteColumns+` FROM quotes WHERE deal_id = ? ORDER BY id DESC`, dealID)
	if err != nil {
		return nil, fmt.Errorf("store: deal quotes: %w", err)
	}
	out := []*crm.Quote{}
	return out, tx.db.wrap("deal quotes", forEachRow(rows, func(r *sql.Rows) error {
		q, err := scanQuote(r)
		if err == nil {
			out = append(out, q)
		}
		return err
	}))
}

// ProductsBySKU returns the active products with the given SKUs, by SKU.
func (tx *Tx) ProductsBySKU(ctx context.Context, skus []string) (map[string]*crm.Product, error) {
	out := map[string]*crm.Product{}
	if len(skus) == 0 {
		return out, nil
	}
	args := make([]any, len(skus))
	for i, s := range skus {
		args[i] = s
	}
	rows, err := tx.Query(ctx, `SELECT `+productColumns+` FROM products WHERE active = TRUE AND sku IN (`+Placeholders(len(skus))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: products by sku: %w", err)
	}
	return out, tx.db.wrap("products by sku", forEachRow(rows, func(r *sql.Rows) error {
		p, err := scanProduct(r)
		if err == nil {
			out[p.SKU] = p
		}
		return err
	}))
}
