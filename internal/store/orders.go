package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Orders: purchases with their lines, returns, the customer numbers of
// order sources, and a streaming reader for analytics. The orders service
// (internal/order) validates and computes; these methods only store.

const orderColumns = `o.id, o.source, o.external_id, o.contact_id, o.status, o.currency, o.subtotal, o.discount, o.total,
	o.returned_total, o.channel, o.store, o.coupon_code, o.placed_at, o.created_at, o.updated_at`

func scanOrder(row rowScanner) (*crm.Order, error) {
	var o crm.Order
	err := row.Scan(&o.ID, &o.Source, &o.ExternalID, &o.ContactID, &o.Status, &o.Currency, &o.Subtotal, &o.Discount, &o.Total,
		&o.ReturnedTotal, &o.Channel, &o.Store, &o.CouponCode, &o.PlacedAt, &o.CreatedAt, &o.UpdatedAt)
	if err != nil {
		return nil, err
	}
	o.PlacedAt, o.CreatedAt, o.UpdatedAt = o.PlacedAt.UTC(), o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	o.Lines = []crm.OrderLine{}
	return &o, nil
}

// forUpdate is appended to a SELECT of one row that the transaction will
// change after reading it: PostgreSQL locks the row until the end of the
// transaction (a concurrent return of the same order waits, then reads the
// new quantities); SQLite transactions take the write lock when they
// begin, so it needs nothing.
func (d Dialect) forUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// InsertOrder stores a new order and its lines. An order whose source and
// external id are already stored is not inserted: inserted is false and
// nothing changed (ON CONFLICT DO NOTHING keeps a PostgreSQL transaction
// usable; the caller reads the stored order). o.ID, the line ids and the
// times are filled in.
func (tx *Tx) InsertOrder(ctx context.Context, o *crm.Order, fingerprint string) (inserted bool, err error) {
	o.CreatedAt, o.UpdatedAt = tx.now, tx.now
	id, found, err := tx.hotInsert(ctx, qInsertOrder,
		o.Source, o.ExternalID, fingerprint, o.ContactID, o.Status, o.Currency, o.Subtotal, o.Discount, o.Total,
		o.ReturnedTotal, o.Channel, o.Store, o.CouponCode, o.PlacedAt.UTC(), tx.now, tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert order: %w", err)
	}
	if !found {
		return false, nil
	}
	o.ID = id
	return true, tx.insertOrderLines(ctx, o)
}

const qInsertOrder = `INSERT INTO orders (source, external_id, fingerprint, contact_id, status, currency, subtotal, discount, total,
	returned_total, channel, store, coupon_code, placed_at, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (source, external_id) WHERE external_id <> '' DO NOTHING RETURNING id`

// hotLines is how many lines the prepared line inserts cover (one
// statement per count, 1 … hotLines).
const hotLines = 8

// qInsertLines is the INSERT of n order lines.
func qInsertLines(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO order_lines (order_id, sku, name, category, quantity, unit_price, discount, total, returned_quantity) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(" RETURNING id")
	return b.String()
}

// qInsertLine is the INSERT of one order line.
var qInsertLine = qInsertLines(1)

var ordersHot = func() []string {
	qs := []string{qInsertOrder, qEmit, qAudit}
	for n := 1; n <= hotLines; n++ {
		qs = append(qs, qInsertLines(n))
	}
	return qs
}()

// PrepareOrders prepares the statements of an order's insert (SQLite
// only; a no-op elsewhere). Call it outside a transaction.
func (db *DB) PrepareOrders(ctx context.Context) error { return db.prepareHot(ctx, ordersHot) }

// orderLinesPerInsert bounds the rows of one INSERT (9 parameters each;
// SQLite allows 32,766 parameters, PostgreSQL 65,535).
const orderLinesPerInsert = 500

// insertOrderLines writes the lines of o with one INSERT per 500 lines
// and sets their ids. The ids of one statement grow in the order of its
// VALUES rows (a sequence, or SQLite's single writer), so the returned
// ids, sorted, belong to the lines in order.
func (tx *Tx) insertOrderLines(ctx context.Context, o *crm.Order) error {
	if tx.db.dialect == SQLite && len(o.Lines) <= hotLines {
		// One row per INSERT: a multi-row INSERT, like RETURNING, makes
		// SQLite journal the pages it touches (see hotInsert).
		for i := range o.Lines {
			l := &o.Lines[i]
			id, _, err := tx.hotInsert(ctx, qInsertLine, o.ID, l.SKU, l.Name, l.Category, l.Quantity, l.UnitPrice, l.Discount, l.Total, l.ReturnedQuantity)
			if err != nil {
				return fmt.Errorf("store: insert order lines: %w", err)
			}
			l.ID = id
		}
		return nil
	}
	for start := 0; start < len(o.Lines); start += orderLinesPerInsert {
		lines := o.Lines[start:min(start+orderLinesPerInsert, len(o.Lines))]
		args := make([]any, 0, 9*len(lines))
		for _, l := range lines {
			args = append(args, o.ID, l.SKU, l.Name, l.Category, l.Quantity, l.UnitPrice, l.Discount, l.Total, l.ReturnedQuantity)
		}
		rows, err := tx.hotQuery(ctx, qInsertLines(len(lines)), args...)
		if err != nil {
			return fmt.Errorf("store: insert order lines: %w", err)
		}
		ids := make([]int64, 0, len(lines))
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return tx.db.wrap("insert order lines", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return tx.db.wrap("insert order lines", err)
		}
		if len(ids) != len(lines) {
			return fmt.Errorf("store: insert order lines: %d ids for %d lines", len(ids), len(lines))
		}
		slices.Sort(ids)
		for i := range lines {
			lines[i].ID = ids[i]
		}
	}
	return nil
}

// FindOrderByID returns an order with its lines. With lock, the order row
// stays locked until the transaction ends (see forUpdate).
func (tx *Tx) FindOrderByID(ctx context.Context, id int64, lock bool) (*crm.Order, error) {
	q := `SELECT ` + orderColumns + ` FROM orders o WHERE o.id = ?`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	o, err := scanOrder(tx.QueryRow(ctx, q, id))
	if err != nil {
		return nil, tx.NotFound(err, "Order")
	}
	if err := tx.fillOrderLines(ctx, []*crm.Order{o}); err != nil {
		return nil, err
	}
	return o, nil
}

// FindOrderByExternalID returns the order a source stored under its own
// id, with its lines and the fingerprint of the request that made it.
func (tx *Tx) FindOrderByExternalID(ctx context.Context, source, externalID string) (*crm.Order, string, error) {
	var fp string
	o, err := scanOrder(scanPlus{tx.QueryRow(ctx, `SELECT `+orderColumns+`, o.fingerprint FROM orders o WHERE o.source = ? AND o.external_id = ?
		AND o.external_id <> ''`, source, externalID), &fp})
	if err != nil {
		return nil, "", tx.NotFound(err, "Order")
	}
	if err := tx.fillOrderLines(ctx, []*crm.Order{o}); err != nil {
		return nil, "", err
	}
	return o, fp, nil
}

// fillOrderLines reads the lines of orders in one query.
func (tx *Tx) fillOrderLines(ctx context.Context, orders []*crm.Order) error {
	if len(orders) == 0 {
		return nil
	}
	byID := make(map[int64]*crm.Order, len(orders))
	args := make([]any, 0, len(orders))
	for _, o := range orders {
		byID[o.ID] = o
		args = append(args, o.ID)
	}
	rows, err := tx.Query(ctx, `SELECT order_id, id, sku, name, category, quantity, unit_price, discount, total, returned_quantity
		FROM order_lines WHERE order_id IN (`+Placeholders(len(args))+`) ORDER BY order_id, id`, args...)
	if err != nil {
		return fmt.Errorf("store: order lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			oid int64
			l   crm.OrderLine
		)
		if err := rows.Scan(&oid, &l.ID, &l.SKU, &l.Name, &l.Category, &l.Quantity, &l.UnitPrice, &l.Discount, &l.Total, &l.ReturnedQuantity); err != nil {
			return tx.db.wrap("scan order lines", err)
		}
		if o := byID[oid]; o != nil {
			o.Lines = append(o.Lines, l)
		}
	}
	return tx.db.wrap("order lines", rows.Err())
}

// FindOrders lists orders matching f, newest first (by id), with their
// lines; next is the cursor of the following page, "" on the last one.
func (tx *Tx) FindOrders(ctx context.Context, f crm.OrderFilter) ([]*crm.Order, string, error) {
	before, err := crm.DecodeIDCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(f.Limit)
	var w conds
	if f.ContactID != 0 {
		w.add(`o.contact_id = ?`, f.ContactID)
	}
	if f.Status != "" {
		w.add(`o.status = ?`, f.Status)
	}
	if f.Channel != "" {
		w.add(`o.channel = ?`, f.Channel)
	}
	if f.Store != "" {
		w.add(`o.store = ?`, f.Store)
	}
	if f.From != nil {
		w.add(`o.placed_at >= ?`, f.From.UTC())
	}
	if f.To != nil {
		w.add(`o.placed_at < ?`, f.To.UTC())
	}
	if before > 0 {
		w.add(`o.id < ?`, before)
	}
	out, err := pageRows(ctx, tx, `SELECT `+orderColumns+` FROM orders o`+w.sql()+` ORDER BY o.id DESC LIMIT ?`, w.args, limit, "orders", scanOrder)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	if err := tx.fillOrderLines(ctx, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// OrderStores lists the distinct stores (branches) orders were placed
// at, for filter menus; at most limit of them.
func (tx *Tx) OrderStores(ctx context.Context, limit int) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT store FROM orders WHERE store <> '' ORDER BY store LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: order stores: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, tx.db.wrap("scan order stores", err)
		}
		out = append(out, s)
	}
	return out, tx.db.wrap("order stores", rows.Err())
}

// OrderTotals sums one person's orders per currency: how many, the money
// spent and the money refunded.
type OrderTotals struct {
	Currency string `json:"currency"`
	Orders   int64  `json:"orders"`
	Total    int64  `json:"total"`
	Returned int64  `json:"returned"`
}

// ContactOrderTotals sums a person's orders per currency.
func (tx *Tx) ContactOrderTotals(ctx context.Context, contactID int64) ([]OrderTotals, error) {
	rows, err := tx.Query(ctx, `SELECT currency, COUNT(*), COALESCE(SUM(total), 0), COALESCE(SUM(returned_total), 0)
		FROM orders WHERE contact_id = ? GROUP BY currency ORDER BY currency`, contactID)
	if err != nil {
		return nil, fmt.Errorf("store: order totals: %w", err)
	}
	defer rows.Close()
	out := []OrderTotals{}
	for rows.Next() {
		var t OrderTotals
		if err := rows.Scan(&t.Currency, &t.Orders, &t.Total, &t.Returned); err != nil {
			return nil, tx.db.wrap("scan order totals", err)
		}
		out = append(out, t)
	}
	return out, tx.db.wrap("order totals", rows.Err())
}

// InsertReturn stores a return with its lines, and adds its quantities
// and amount to the order and its lines (status set by the caller in
// r's order). A return whose source and external id are already stored
// is not inserted: inserted is false and nothing changed.
func (tx *Tx) InsertReturn(ctx context.Context, r *crm.OrderReturn, fingerprint, orderStatus string) (inserted bool, err error) {
	r.CreatedAt = tx.now
	rows, err := tx.Query(ctx, `INSERT INTO order_returns (order_id, contact_id, source, external_id, fingerprint, reason, note, amount, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, external_id) WHERE external_id <> '' DO NOTHING RETURNING id`,
		r.OrderID, r.ContactID, r.Source, r.ExternalID, fingerprint, r.Reason, r.Note, r.Amount, tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert return: %w", err)
	}
	found := false
	for rows.Next() {
		if err := rows.Scan(&r.ID); err != nil {
			rows.Close()
			return false, tx.db.wrap("insert return", err)
		}
		found = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, tx.db.wrap("insert return", err)
	}
	if !found {
		return false, nil
	}
	for _, l := range r.Lines {
		if _, err := tx.Exec(ctx, `INSERT INTO return_lines (return_id, line_id, quantity, amount) VALUES (?, ?, ?, ?)`,
			r.ID, l.LineID, l.Quantity, l.Amount); err != nil {
			return false, fmt.Errorf("store: insert return line: %w", err)
		}
		// The condition keeps "never more than bought" true in the
		// database too, whatever the caller computed.
		res, err := tx.Exec(ctx, `UPDATE order_lines SET returned_quantity = returned_quantity + ?
			WHERE id = ? AND order_id = ? AND returned_quantity + ? <= quantity`, l.Quantity, l.LineID, r.OrderID, l.Quantity)
		if err != nil {
			return false, fmt.Errorf("store: return order line: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return false, crm.Errorf(crm.ECONFLICT, "Line %d of order %d has fewer items left to return.", l.LineID, r.OrderID)
		}
	}
	res, err := tx.Exec(ctx, `UPDATE orders SET returned_total = returned_total + ?, status = ?, updated_at = ?
		WHERE id = ? AND returned_total + ? <= total`, r.Amount, orderStatus, tx.now, r.OrderID, r.Amount)
	if err != nil {
		return false, fmt.Errorf("store: return order: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, crm.Errorf(crm.ECONFLICT, "Order %d has less money left to refund.", r.OrderID)
	}
	return true, nil
}

const returnColumns = `r.id, r.order_id, r.contact_id, r.source, r.external_id, r.reason, r.note, r.amount, r.created_at`

func scanReturn(row rowScanner) (*crm.OrderReturn, error) {
	var r crm.OrderReturn
	if err := row.Scan(&r.ID, &r.OrderID, &r.ContactID, &r.Source, &r.ExternalID, &r.Reason, &r.Note, &r.Amount, &r.CreatedAt); err != nil {
		return nil, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	r.Lines = []crm.ReturnLine{}
	return &r, nil
}

// FindReturnByExternalID returns the return a source stored under its
// own id, with the fingerprint of the request that made it.
func (tx *Tx) FindReturnByExternalID(ctx context.Context, source, externalID string) (*crm.OrderReturn, string, error) {
	var fp string
	r, err := scanReturn(scanPlus{tx.QueryRow(ctx, `SELECT `+returnColumns+`, r.fingerprint FROM order_returns r
		WHERE r.source = ? AND r.external_id = ? AND r.external_id <> ''`, source, externalID), &fp})
	if err != nil {
		return nil, "", tx.NotFound(err, "Return")
	}
	if err := tx.fillReturnLines(ctx, []*crm.OrderReturn{r}); err != nil {
		return nil, "", err
	}
	return r, fp, nil
}

// FindReturns lists the returns of an order, oldest first, with lines.
func (tx *Tx) FindReturns(ctx context.Context, orderID int64) ([]*crm.OrderReturn, error) {
	rows, err := tx.Query(ctx, `SELECT `+returnColumns+` FROM order_returns r WHERE r.order_id = ? ORDER BY r.id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("store: returns: %w", err)
	}
	var out []*crm.OrderReturn
	for rows.Next() {
		r, err := scanReturn(rows)
		if err != nil {
			rows.Close()
			return nil, tx.db.wrap("scan returns", err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, tx.db.wrap("returns", err)
	}
	if err := tx.fillReturnLines(ctx, out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []*crm.OrderReturn{}
	}
	return out, nil
}

func (tx *Tx) fillReturnLines(ctx context.Context, rs []*crm.OrderReturn) error {
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[int64]*crm.OrderReturn, len(rs))
	args := make([]any, 0, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
		args = append(args, r.ID)
	}
	rows, err := tx.Query(ctx, `SELECT rl.return_id, rl.line_id, rl.quantity, rl.amount, l.sku, l.name, l.category
		FROM return_lines rl JOIN order_lines l ON l.id = rl.line_id
		WHERE rl.return_id IN (`+Placeholders(len(args))+`) ORDER BY rl.return_id, rl.line_id`, args...)
	if err != nil {
		return fmt.Errorf("store: return lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			rid int64
			l   crm.ReturnLine
		)
		if err := rows.Scan(&rid, &l.LineID, &l.Quantity, &l.Amount, &l.SKU, &l.Name, &l.Category); err != nil {
			return tx.db.wrap("scan return lines", err)
		}
		if r := byID[rid]; r != nil {
			r.Lines = append(r.Lines, l)
		}
	}
	return tx.db.wrap("return lines", rows.Err())
}

// FindOrderCustomer returns the person a source's customer number stands
// for; ENOTFOUND when the number is new.
func (tx *Tx) FindOrderCustomer(ctx context.Context, source, externalID string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT contact_id FROM order_customers WHERE source = ? AND external_id = ?`, source, externalID).Scan(&id)
	if err != nil {
		return 0, tx.NotFound(err, "Customer number")
	}
	return id, nil
}

// SetOrderCustomer records which person a source's customer number
// stands for.
func (tx *Tx) SetOrderCustomer(ctx context.Context, source, externalID string, contactID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO order_customers (source, external_id, contact_id) VALUES (?, ?, ?)
		ON CONFLICT (source, external_id) DO UPDATE SET contact_id = excluded.contact_id`, source, externalID, contactID)
	if err != nil {
		return fmt.Errorf("store: set order customer: %w", err)
	}
	return nil
}

// MoveOrders gives the orders, returns and customer numbers of the people
// fromIDs to toID (after a merge) and reports how many orders moved. A
// toID of 0 detaches them (the person was deleted or erased).
func (tx *Tx) MoveOrders(ctx context.Context, fromIDs []int64, toID int64) (int, error) {
	var ids []int64
	for _, id := range nonZeroUnique(fromIDs) {
		if id != toID {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	in := ` IN (` + Placeholders(len(ids)) + `)`
	args := append([]any{toID}, anyArgs(ids)...)
	res, err := tx.Exec(ctx, `UPDATE orders SET contact_id = ? WHERE contact_id`+in, args...)
	if err != nil {
		return 0, fmt.Errorf("store: move orders: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, tx.db.wrap("move orders", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE order_returns SET contact_id = ? WHERE contact_id`+in, args...); err != nil {
		return 0, fmt.Errorf("store: move returns: %w", err)
	}
	if toID == 0 {
		_, err = tx.Exec(ctx, `DELETE FROM order_customers WHERE contact_id`+in, anyArgs(ids)...)
	} else {
		_, err = tx.Exec(ctx, `UPDATE order_customers SET contact_id = ? WHERE contact_id`+in, args...)
	}
	if err != nil {
		return 0, fmt.Errorf("store: move customer numbers: %w", err)
	}
	return int(n), nil
}

// OrderStreamRow is one row of StreamOrderLines: an order line with its
// order's fields. An order without lines gives one row whose Line is zero.
type OrderStreamRow struct {
	OrderID       int64
	ContactID     int64
	Status        string
	Currency      string
	Channel       string
	Store         string
	Discount      int64
	Total         int64
	ReturnedTotal int64
	PlacedAt      time.Time
	Line          crm.OrderLine
}

// OrderStream says which orders StreamOrderLines reads and in which order.
type OrderStream struct {
	ByPlacedAt bool       // order by placed_at, then id; by id otherwise
	From, To   *time.Time // placed_at bounds: From inclusive, To exclusive
	Currency   string     // only this currency when set
	Limit      int        // at most this many rows when > 0
}

// StreamOrderLines calls fn for each order line of the orders selected by
// f, the lines of one order together and in line order. It holds one row
// at a time, so memory stays constant however many orders there are; run
// it in a read transaction. fn returning an error stops the stream with
// that error.
func (tx *Tx) StreamOrderLines(ctx context.Context, f OrderStream, fn func(*OrderStreamRow) error) error {
	var w conds
	if f.From != nil {
		w.add(`o.placed_at >= ?`, f.From.UTC())
	}
	if f.To != nil {
		w.add(`o.placed_at < ?`, f.To.UTC())
	}
	if f.Currency != "" {
		w.add(`o.currency = ?`, f.Currency)
	}
	order := ` ORDER BY o.id, l.id`
	if f.ByPlacedAt {
		order = ` ORDER BY o.placed_at, o.id, l.id`
	}
	q := `SELECT o.id, o.contact_id, o.status, o.currency, o.channel, o.store, o.discount, o.total, o.returned_total, o.placed_at,
		COALESCE(l.id, 0), COALESCE(l.sku, ''), COALESCE(l.name, ''), COALESCE(l.category, ''), COALESCE(l.quantity, 0),
		COALESCE(l.unit_price, 0), COALESCE(l.discount, 0), COALESCE(l.total, 0), COALESCE(l.returned_quantity, 0)
		FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id` + w.sql() + order
	args := w.args
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: stream orders: %w", err)
	}
	defer rows.Close()
	var r OrderStreamRow
	for rows.Next() {
		l := &r.Line
		if err := rows.Scan(&r.OrderID, &r.ContactID, &r.Status, &r.Currency, &r.Channel, &r.Store, &r.Discount, &r.Total, &r.ReturnedTotal, &r.PlacedAt,
			&l.ID, &l.SKU, &l.Name, &l.Category, &l.Quantity, &l.UnitPrice, &l.Discount, &l.Total, &l.ReturnedQuantity); err != nil {
			return tx.db.wrap("scan order stream", err)
		}
		r.PlacedAt = r.PlacedAt.UTC()
		if err := fn(&r); err != nil {
			return err
		}
	}
	return tx.db.wrap("stream orders", rows.Err())
}

// AdvisoryLock serialises transactions that use the same key until they
// end, for work no unique index can guard (finding or creating a customer
// by phone: two orders from a new number at the same moment must create
// one person). PostgreSQL takes a transaction-level advisory lock;
// SQLite's write transactions are already serial.
func (tx *Tx) AdvisoryLock(ctx context.Context, key string) error {
	if tx.Dialect() != Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, key)
	if err != nil {
		return fmt.Errorf("store: advisory lock: %w", err)
	}
	return nil
}

// --- Order imports ---

// Order import statuses.
const (
	OrderImportRunning = "running"
	OrderImportDone    = "done"
	OrderImportFailed  = "failed"
)

// OrderImport is the progress of one CSV import of orders: where it is in
// its file and what it did so far. Counters are cumulative across resumes.
type OrderImport struct {
	ID         int64
	FilePath   string
	FileSize   int64
	Source     string
	Options    string // JSON, the reader's options, so a resume reads the file the same way
	Status     string
	Offset     int64 // byte offset of the next unread record
	Line       int64 // its line number
	Rows       int64
	OrdersNew  int64
	OrdersOld  int64 // already imported before (replays)
	ReturnsNew int64
	Skipped    int64
	Errors     int64
	Message    string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

const orderImportColumns = `id, file_path, file_size, source, options, status, byte_offset, line, rows_read, orders_new, orders_old,
	returns_new, skipped_n, error_n, message, created_at, updated_at`

func scanOrderImport(row rowScanner) (*OrderImport, error) {
	var im OrderImport
	err := row.Scan(&im.ID, &im.FilePath, &im.FileSize, &im.Source, &im.Options, &im.Status, &im.Offset, &im.Line, &im.Rows,
		&im.OrdersNew, &im.OrdersOld, &im.ReturnsNew, &im.Skipped, &im.Errors, &im.Message, &im.CreatedAt, &im.UpdatedAt)
	if err != nil {
		return nil, err
	}
	return &im, nil
}

// InsertOrderImport starts recording an import.
func (tx *Tx) InsertOrderImport(ctx context.Context, im *OrderImport) error {
	im.CreatedAt, im.UpdatedAt = tx.now, tx.now
	if im.Status == "" {
		im.Status = OrderImportRunning
	}
	if im.Line == 0 {
		im.Line = 1
	}
	id, err := tx.InsertID(ctx, `INSERT INTO order_imports (file_path, file_size, source, options, status, byte_offset, line, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, im.FilePath, im.FileSize, im.Source, im.Options, im.Status, im.Offset, im.Line, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert order import: %w", err)
	}
	im.ID = id
	return nil
}

// SaveOrderImport writes an import's position, counters, status and
// message. Called in the transaction of each batch, so the position never
// runs ahead of (or behind) the rows committed.
func (tx *Tx) SaveOrderImport(ctx context.Context, im *OrderImport) error {
	im.UpdatedAt = tx.now
	_, err := tx.Exec(ctx, `UPDATE order_imports SET status = ?, byte_offset = ?, line = ?, rows_read = ?, orders_new = ?, orders_old = ?,
		returns_new = ?, skipped_n = ?, error_n = ?, message = ?, updated_at = ? WHERE id = ?`,
		im.Status, im.Offset, im.Line, im.Rows, im.OrdersNew, im.OrdersOld, im.ReturnsNew, im.Skipped, im.Errors, im.Message, tx.now, im.ID)
	if err != nil {
		return fmt.Errorf("store: save order import: %w", err)
	}
	return nil
}

// FindOrderImport returns an import by id.
func (tx *Tx) FindOrderImport(ctx context.Context, id int64) (*OrderImport, error) {
	im, err := scanOrderImport(tx.QueryRow(ctx, `SELECT `+orderImportColumns+` FROM order_imports WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Order import")
	}
	return im, nil
}

// FindRunningOrderImport returns the newest unfinished import of a file
// of that size, ENOTFOUND when there is none.
func (tx *Tx) FindRunningOrderImport(ctx context.Context, path string, size int64) (*OrderImport, error) {
	im, err := scanOrderImport(tx.QueryRow(ctx, `SELECT `+orderImportColumns+` FROM order_imports
		WHERE file_path = ? AND file_size = ? AND status = ? ORDER BY id DESC LIMIT 1`, path, size, OrderImportRunning))
	if err != nil {
		return nil, tx.NotFound(err, "Order import")
	}
	return im, nil
}

// OrderImportProblem is a problem with one row of an import.
type OrderImportProblem struct {
	Line    int64
	Field   string
	Message string
}

// MaxOrderImportProblems is how many problems an import keeps.
const MaxOrderImportProblems = 1000

// AddOrderImportProblems keeps problems of an import, up to
// MaxOrderImportProblems in all; a problem already kept (a batch redone
// after a crash) is not added twice.
func (tx *Tx) AddOrderImportProblems(ctx context.Context, importID int64, ps []OrderImportProblem) error {
	if len(ps) == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM order_import_problems WHERE import_id = ?`, importID).Scan(&n); err != nil {
		return tx.db.wrap("count order import problems", err)
	}
	for _, p := range ps {
		if n >= MaxOrderImportProblems {
			break
		}
		res, err := tx.Exec(ctx, `INSERT INTO order_import_problems (import_id, line, field, message) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, importID, p.Line, p.Field, truncateText(p.Message, 500))
		if err != nil {
			return fmt.Errorf("store: add order import problem: %w", err)
		}
		if k, _ := res.RowsAffected(); k > 0 {
			n++
		}
	}
	return nil
}

// OrderImportProblems lists the first limit problems of an import by line.
func (tx *Tx) OrderImportProblems(ctx context.Context, importID int64, limit int) ([]OrderImportProblem, error) {
	rows, err := tx.Query(ctx, `SELECT line, field, message FROM order_import_problems WHERE import_id = ? ORDER BY line, field LIMIT ?`, importID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: order import problems: %w", err)
	}
	defer rows.Close()
	var out []OrderImportProblem
	for rows.Next() {
		var p OrderImportProblem
		if err := rows.Scan(&p.Line, &p.Field, &p.Message); err != nil {
			return nil, tx.db.wrap("scan order import problems", err)
		}
		out = append(out, p)
	}
	return out, tx.db.wrap("order import problems", rows.Err())
}

// truncateText cuts s to at most n runes.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n]))
}

// ReturnableLine is a line of a person's order with items left to return.
type ReturnableLine struct {
	OrderID int64
	LineID  int64
	Left    int64 // quantity not yet returned
}

// FindReturnableLines lists the lines of a person's orders placed at or
// before `before` that sold sku and have items left to return, the most
// recent order first. It reads at most 100 lines.
func (tx *Tx) FindReturnableLines(ctx context.Context, contactID int64, sku string, before time.Time) ([]ReturnableLine, error) {
	rows, err := tx.Query(ctx, `SELECT o.id, l.id, l.quantity - l.returned_quantity FROM orders o JOIN order_lines l ON l.order_id = o.id
		WHERE o.contact_id = ? AND o.placed_at <= ? AND l.sku = ? AND l.returned_quantity < l.quantity
		ORDER BY o.placed_at DESC, o.id DESC, l.id LIMIT 100`, contactID, before.UTC(), sku)
	if err != nil {
		return nil, fmt.Errorf("store: returnable lines: %w", err)
	}
	defer rows.Close()
	var out []ReturnableLine
	for rows.Next() {
		var l ReturnableLine
		if err := rows.Scan(&l.OrderID, &l.LineID, &l.Left); err != nil {
			return nil, tx.db.wrap("scan returnable lines", err)
		}
		out = append(out, l)
	}
	return out, tx.db.wrap("returnable lines", rows.Err())
}

// Savepoint marks a point in the transaction that RollbackTo returns to,
// undoing what came after it without ending the transaction: batched
// work undoes one failed item and keeps the others. Names are fixed
// identifiers chosen by the caller, never input.
func (tx *Tx) Savepoint(ctx context.Context, name string) error {
	if _, err := tx.hotExec(ctx, `SAVEPOINT `+name); err != nil {
		return err
	}
	tx.marks = append(tx.marks, len(tx.after))
	return nil
}

// ReleaseSavepoint forgets a savepoint, keeping what came after it.
func (tx *Tx) ReleaseSavepoint(ctx context.Context, name string) error {
	if _, err := tx.hotExec(ctx, `RELEASE SAVEPOINT `+name); err != nil {
		return err
	}
	if n := len(tx.marks); n > 0 {
		tx.marks = tx.marks[:n-1]
	}
	return nil
}

// RollbackTo undoes everything after the savepoint and releases it. On
// PostgreSQL it also clears a failed statement's abort state. AfterCommit
// functions registered after the savepoint are dropped with the rest.
func (tx *Tx) RollbackTo(ctx context.Context, name string) error {
	if _, err := tx.hotExec(ctx, `ROLLBACK TO SAVEPOINT `+name); err != nil {
		return err
	}
	if n := len(tx.marks); n > 0 {
		tx.after = tx.after[:min(tx.marks[n-1], len(tx.after))]
	}
	return tx.ReleaseSavepoint(ctx, name)
}

// PrepareSavepoint prepares the statements of a savepoint used for every
// item of a batch (SQLite only; a no-op elsewhere). Call it outside a
// transaction.
func (db *DB) PrepareSavepoint(ctx context.Context, name string) error {
	return db.prepareHot(ctx, []string{`SAVEPOINT ` + name, `RELEASE SAVEPOINT ` + name, `ROLLBACK TO SAVEPOINT ` + name})
}
