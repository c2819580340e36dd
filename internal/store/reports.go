package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The reports' aggregates (migration 0012_reports): days of orders and
// returns, each customer's months and net spend, cohort counts, the marks
// of what to recompute, and a cache of figures that need a full scan. The
// reports service (internal/report) decides what goes in; these methods
// only move rows.

// ReportState returns every key of report_state.
func (tx *Tx) ReportState(ctx context.Context) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT key, value FROM report_state`)
	if err != nil {
		return nil, fmt.Errorf("store: report state: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, tx.db.wrap("scan report state", err)
		}
		out[k] = v
	}
	return out, tx.db.wrap("report state", rows.Err())
}

// ReportStateValue returns one key of report_state, "" when unset.
func (tx *Tx) ReportStateValue(ctx context.Context, key string) (string, error) {
	var v string
	err := tx.QueryRow(ctx, `SELECT value FROM report_state WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return v, tx.db.wrap("report state", err)
}

// SetReportState sets key to value; an empty value deletes the key.
func (tx *Tx) SetReportState(ctx context.Context, key, value string) error {
	var err error
	if value == "" {
		_, err = tx.Exec(ctx, `DELETE FROM report_state WHERE key = ?`, key)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO report_state (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, tx.now)
	}
	if err != nil {
		return fmt.Errorf("store: set report state %s: %w", key, err)
	}
	return nil
}

// FirstAdminTimeZone returns the time zone preference of the oldest
// active administrator, "" when there is none.
func (tx *Tx) FirstAdminTimeZone(ctx context.Context) (string, error) {
	var z string
	err := tx.QueryRow(ctx, `SELECT time_zone FROM users WHERE role = 'admin' AND active ORDER BY id LIMIT 1`).Scan(&z)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return z, tx.db.wrap("first admin time zone", err)
}

// ClearReports empties every aggregate and mark, before a rebuild.
func (tx *Tx) ClearReports(ctx context.Context) error {
	for _, t := range []string{"report_days", "report_return_days", "report_customers", "report_customer_net", "report_cohorts", "report_dirty", "report_cache"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+t); err != nil {
			return fmt.Errorf("store: clear %s: %w", t, err)
		}
	}
	return nil
}

// --- Marks ---

// ReportMark is something to recompute: a day (Kind "day" or
// "return_day", ID yyyymmdd) or a customer (Kind "contact", ID the
// contact id). AfterEvent holds it back until the orders module has
// handled that event.
type ReportMark struct {
	Kind       string
	ID         int64
	AfterEvent int64
}

// MarkReports records marks; a mark already there keeps the larger
// AfterEvent.
func (tx *Tx) MarkReports(ctx context.Context, marks []ReportMark) error {
	head := `INSERT INTO report_dirty (kind, id, after_event) VALUES `
	tail := ` ON CONFLICT (kind, id) DO UPDATE SET after_event = CASE WHEN excluded.after_event > report_dirty.after_event
		THEN excluded.after_event ELSE report_dirty.after_event END`
	err := tx.insertMany(ctx, head, 3, len(marks), func(i int, args []any) []any {
		return append(args, marks[i].Kind, marks[i].ID, marks[i].AfterEvent)
	}, tail)
	if err != nil {
		return fmt.Errorf("store: mark reports: %w", err)
	}
	return nil
}

// DueReportMarks returns up to limit marks of kind, smallest id first,
// leaving out those held back for an event that subscriber waitFor has
// not handled yet (none are held back when waitFor has no cursor: the
// orders module is not subscribed in this installation).
func (tx *Tx) DueReportMarks(ctx context.Context, kind, waitFor string, limit int) ([]int64, error) {
	var handled sql.NullInt64
	err := tx.QueryRow(ctx, `SELECT last_id FROM event_cursors WHERE subscriber = ?`, waitFor).Scan(&handled)
	if err != nil && err != sql.ErrNoRows {
		return nil, tx.db.wrap("report marks", err)
	}
	limitEvent := int64(1) << 62
	if handled.Valid {
		limitEvent = handled.Int64
	}
	rows, err := tx.Query(ctx, `SELECT id FROM report_dirty WHERE kind = ? AND after_event <= ? ORDER BY id LIMIT ?`, kind, limitEvent, limit)
	if err != nil {
		return nil, fmt.Errorf("store: report marks: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, tx.db.wrap("scan report mark", err)
		}
		out = append(out, id)
	}
	return out, tx.db.wrap("report marks", rows.Err())
}

// UnmarkReports removes marks of kind.
func (tx *Tx) UnmarkReports(ctx context.Context, kind string, ids []int64) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := append([]any{kind}, anyArgs(ids[:n])...)
		if _, err := tx.Exec(ctx, `DELETE FROM report_dirty WHERE kind = ? AND id IN (`+Placeholders(n)+`)`, args...); err != nil {
			return fmt.Errorf("store: unmark reports: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// CountReportMarks counts the marks waiting, at most max+1.
func (tx *Tx) CountReportMarks(ctx context.Context, max int) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM report_dirty LIMIT ?) m`, max+1).Scan(&n)
	return n, tx.db.wrap("count report marks", err)
}

// OrderPlacedAt returns when order id was placed, or the zero time when
// there is no such order.
func (tx *Tx) OrderPlacedAt(ctx context.Context, id int64) (time.Time, error) {
	var t time.Time
	err := tx.QueryRow(ctx, `SELECT placed_at FROM orders WHERE id = ?`, id).Scan(&t)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	return t.UTC(), tx.db.wrap("order placed at", err)
}

// --- Days ---

// ReportDay is a day's orders in one currency and channel.
type ReportDay struct {
	Day      int // yyyymmdd
	Currency string
	Channel  string
	Orders   int64
	Gross    int64
	Returned int64
	Discount int64
}

// SumOrderDays sums the orders placed in [from, to) by currency and
// channel (Day is left 0).
func (tx *Tx) SumOrderDays(ctx context.Context, from, to time.Time) ([]ReportDay, error) {
	rows, err := tx.Query(ctx, `SELECT currency, channel, COUNT(*), COALESCE(SUM(total), 0), COALESCE(SUM(returned_total), 0), COALESCE(SUM(discount), 0)
		FROM orders WHERE placed_at >= ? AND placed_at < ? GROUP BY currency, channel ORDER BY 1, 2`, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: sum order day: %w", err)
	}
	defer rows.Close()
	var out []ReportDay
	for rows.Next() {
		var d ReportDay
		if err := rows.Scan(&d.Currency, &d.Channel, &d.Orders, &d.Gross, &d.Returned, &d.Discount); err != nil {
			return nil, tx.db.wrap("scan order day", err)
		}
		out = append(out, d)
	}
	return out, tx.db.wrap("sum order day", rows.Err())
}

// ReplaceReportDays deletes the rows of days and inserts rows.
func (tx *Tx) ReplaceReportDays(ctx context.Context, days []int, rows []ReportDay) error {
	if err := tx.deleteDays(ctx, "report_days", days); err != nil {
		return err
	}
	err := tx.insertMany(ctx, `INSERT INTO report_days (day, currency, channel, orders, gross, returned, discount) VALUES `, 7, len(rows),
		func(i int, args []any) []any {
			d := rows[i]
			return append(args, d.Day, d.Currency, d.Channel, d.Orders, d.Gross, d.Returned, d.Discount)
		}, "")
	if err != nil {
		return fmt.Errorf("store: write report days: %w", err)
	}
	return nil
}

func (tx *Tx) deleteDays(ctx context.Context, table string, days []int) error {
	for len(days) > 0 {
		n := min(len(days), 500)
		args := make([]any, n)
		for i, d := range days[:n] {
			args[i] = d
		}
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE day IN (`+Placeholders(n)+`)`, args...); err != nil {
			return fmt.Errorf("store: clear %s: %w", table, err)
		}
		days = days[n:]
	}
	return nil
}

// DayBucket is a sum of report rows over a span of days (bucket Bucket
// of the edges given), for one channel or reason when asked.
type DayBucket struct {
	Bucket   int
	Key      string // the channel or the reason; "" when not split
	Orders   int64  // orders, or returns
	Gross    int64  // gross, or the amount refunded
	Returned int64
	Discount int64
}

// bucketCase returns a CASE expression numbering the bucket of column
// day by edges (ascending starts), and its arguments.
func bucketCase(edges []int) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 2*len(edges))
	b.WriteString(`CASE`)
	for i := len(edges) - 2; i >= 0; i-- {
		b.WriteString(` WHEN day >= ? THEN ?`)
		args = append(args, edges[i], i)
	}
	b.WriteString(` ELSE -1 END`)
	return b.String(), args
}

// SumReportDays sums the orders of currency on the days of each bucket:
// bucket i covers days [edges[i], edges[i+1]) (yyyymmdd), so edges has
// one more element than there are buckets. byChannel splits each bucket
// by channel. The sums are done by the database, so a page reads one row
// per bucket however many days it covers.
func (tx *Tx) SumReportDays(ctx context.Context, currency string, edges []int, byChannel bool) ([]DayBucket, error) {
	if len(edges) < 2 {
		return nil, nil
	}
	cs, args := bucketCase(edges)
	key, group := `''`, `1`
	if byChannel {
		key, group = `channel`, `1, 2`
	}
	args = append(args, currency, edges[0], edges[len(edges)-1])
	rows, err := tx.Query(ctx, `SELECT `+cs+`, `+key+`, SUM(orders), SUM(gross), SUM(returned), SUM(discount) FROM report_days
		WHERE currency = ? AND day >= ? AND day < ? GROUP BY `+group+` ORDER BY `+group, args...)
	if err != nil {
		return nil, fmt.Errorf("store: sum report days: %w", err)
	}
	defer rows.Close()
	var out []DayBucket
	for rows.Next() {
		var d DayBucket
		if err := rows.Scan(&d.Bucket, &d.Key, &d.Orders, &d.Gross, &d.Returned, &d.Discount); err != nil {
			return nil, tx.db.wrap("scan report days", err)
		}
		out = append(out, d)
	}
	return out, tx.db.wrap("sum report days", rows.Err())
}

// ReportCurrencies returns the currencies of the orders in report_days,
// most orders first.
func (tx *Tx) ReportCurrencies(ctx context.Context) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT currency FROM report_days GROUP BY currency ORDER BY SUM(orders) DESC, currency`)
	if err != nil {
		return nil, fmt.Errorf("store: report currencies: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, tx.db.wrap("scan currency", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("report currencies", rows.Err())
}

// ReportReturnDay is a day's returns in one currency for one reason.
type ReportReturnDay struct {
	Day      int
	Currency string
	Reason   string
	Returns  int64
	Amount   int64
}

// SumReturnDays sums the returns made in [from, to) by the order's
// currency and the reason (Day is left 0).
func (tx *Tx) SumReturnDays(ctx context.Context, from, to time.Time) ([]ReportReturnDay, error) {
	rows, err := tx.Query(ctx, `SELECT o.currency, r.reason, COUNT(*), COALESCE(SUM(r.amount), 0)
		FROM order_returns r JOIN orders o ON o.id = r.order_id
		WHERE r.created_at >= ? AND r.created_at < ? GROUP BY o.currency, r.reason ORDER BY 1, 2`, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("store: sum return day: %w", err)
	}
	defer rows.Close()
	var out []ReportReturnDay
	for rows.Next() {
		var d ReportReturnDay
		if err := rows.Scan(&d.Currency, &d.Reason, &d.Returns, &d.Amount); err != nil {
			return nil, tx.db.wrap("scan return day", err)
		}
		out = append(out, d)
	}
	return out, tx.db.wrap("sum return day", rows.Err())
}

// ReplaceReturnDays deletes the rows of days and inserts rows.
func (tx *Tx) ReplaceReturnDays(ctx context.Context, days []int, rows []ReportReturnDay) error {
	if err := tx.deleteDays(ctx, "report_return_days", days); err != nil {
		return err
	}
	err := tx.insertMany(ctx, `INSERT INTO report_return_days (day, currency, reason, returns, amount) VALUES `, 5, len(rows),
		func(i int, args []any) []any {
			d := rows[i]
			return append(args, d.Day, d.Currency, d.Reason, d.Returns, d.Amount)
		}, "")
	if err != nil {
		return fmt.Errorf("store: write return days: %w", err)
	}
	return nil
}

// SumReturnBuckets sums the returns in currency on the days of each bucket
// (as SumReportDays), by reason: Orders is the number of returns, Gross
// the amount refunded.
func (tx *Tx) SumReturnBuckets(ctx context.Context, currency string, edges []int) ([]DayBucket, error) {
	if len(edges) < 2 {
		return nil, nil
	}
	cs, args := bucketCase(edges)
	args = append(args, currency, edges[0], edges[len(edges)-1])
	rows, err := tx.Query(ctx, `SELECT `+cs+`, reason, SUM(returns), SUM(amount) FROM report_return_days
		WHERE currency = ? AND day >= ? AND day < ? GROUP BY 1, 2 ORDER BY 1, 2`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: sum return days: %w", err)
	}
	defer rows.Close()
	var out []DayBucket
	for rows.Next() {
		var d DayBucket
		if err := rows.Scan(&d.Bucket, &d.Key, &d.Orders, &d.Gross); err != nil {
			return nil, tx.db.wrap("scan return days", err)
		}
		out = append(out, d)
	}
	return out, tx.db.wrap("sum return days", rows.Err())
}

// OrderFact is what the reports need of one order.
type OrderFact struct {
	ID            int64
	ContactID     int64
	Currency      string
	Channel       string
	Total         int64
	ReturnedTotal int64
	Discount      int64
	PlacedAt      time.Time
}

const orderFactColumns = `id, contact_id, currency, channel, total, returned_total, discount, placed_at`

func scanOrderFact(row rowScanner, f *OrderFact) error {
	if err := row.Scan(&f.ID, &f.ContactID, &f.Currency, &f.Channel, &f.Total, &f.ReturnedTotal, &f.Discount, &f.PlacedAt); err != nil {
		return err
	}
	f.PlacedAt = f.PlacedAt.UTC()
	return nil
}

// ContactOrderFacts returns the orders of the contacts ids, by contact.
func (tx *Tx) ContactOrderFacts(ctx context.Context, ids []int64) (map[int64][]OrderFact, error) {
	out := make(map[int64][]OrderFact, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		rows, err := tx.Query(ctx, `SELECT `+orderFactColumns+` FROM orders WHERE contact_id IN (`+Placeholders(n)+`)`, anyArgs(ids[:n])...)
		if err != nil {
			return nil, fmt.Errorf("store: contact orders: %w", err)
		}
		for rows.Next() {
			var f OrderFact
			if err := scanOrderFact(rows, &f); err != nil {
				rows.Close()
				return nil, tx.db.wrap("scan contact order", err)
			}
			out[f.ContactID] = append(out[f.ContactID], f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, tx.db.wrap("contact orders", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// StreamOrderFacts calls fn for every order with a contact id in
// (after, upTo] (after -1 includes the orders of nobody, contact 0), by
// contact id. fn's argument is reused.
func (tx *Tx) StreamOrderFacts(ctx context.Context, after, upTo int64, fn func(*OrderFact) error) error {
	q := `SELECT ` + orderFactColumns + ` FROM orders WHERE contact_id > ? AND contact_id <= ? ORDER BY contact_id`
	args := []any{after, upTo}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: stream orders: %w", err)
	}
	defer rows.Close()
	var f OrderFact
	for rows.Next() {
		if err := scanOrderFact(rows, &f); err != nil {
			return tx.db.wrap("scan order", err)
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	return tx.db.wrap("stream orders", rows.Err())
}

// StreamReturnFacts calls fn for every return: when it was made, the
// order's currency, the reason and the amount.
func (tx *Tx) StreamReturnFacts(ctx context.Context, fn func(at time.Time, currency, reason string, amount int64) error) error {
	rows, err := tx.Query(ctx, `SELECT r.created_at, o.currency, r.reason, r.amount FROM order_returns r JOIN orders o ON o.id = r.order_id ORDER BY r.id`)
	if err != nil {
		return fmt.Errorf("store: stream returns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var at time.Time
		var cur, reason string
		var amount int64
		if err := rows.Scan(&at, &cur, &reason, &amount); err != nil {
			return tx.db.wrap("scan return", err)
		}
		if err := fn(at.UTC(), cur, reason, amount); err != nil {
			return err
		}
	}
	return tx.db.wrap("stream returns", rows.Err())
}

// MaxOrderContactID returns the largest contact id with an order.
func (tx *Tx) MaxOrderContactID(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := tx.QueryRow(ctx, `SELECT MAX(contact_id) FROM orders`).Scan(&n)
	return n.Int64, tx.db.wrap("max order contact", err)
}

// --- Customers and cohorts ---

// ReportCustomer is a customer's months with an order (month numbers,
// ascending) in both calendars, and net spend per currency.
type ReportCustomer struct {
	ContactID int64
	MonthsG   []int
	MonthsJ   []int
	Net       []CustomerNet
}

// CustomerNet is a customer's orders and net spend in one currency.
type CustomerNet struct {
	Currency string
	Orders   int64
	Net      int64
}

// ReportCustomers returns the stored months of the contacts ids (Net is
// not read); a contact without a row is missing from the map.
func (tx *Tx) ReportCustomers(ctx context.Context, ids []int64) (map[int64]*ReportCustomer, error) {
	out := make(map[int64]*ReportCustomer, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		rows, err := tx.Query(ctx, `SELECT contact_id, months_g, months_j FROM report_customers WHERE contact_id IN (`+Placeholders(n)+`)`, anyArgs(ids[:n])...)
		if err != nil {
			return nil, fmt.Errorf("store: report customers: %w", err)
		}
		for rows.Next() {
			var c ReportCustomer
			var g, j string
			if err := rows.Scan(&c.ContactID, &g, &j); err != nil {
				rows.Close()
				return nil, tx.db.wrap("scan report customer", err)
			}
			if c.MonthsG, err = parseMonths(g); err == nil {
				c.MonthsJ, err = parseMonths(j)
			}
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: report customer %d: %w", c.ContactID, err)
			}
			out[c.ContactID] = &c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, tx.db.wrap("report customers", err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// SaveReportCustomers replaces the rows of the contacts ids with cs
// (a contact of ids missing from cs, or with no months, keeps no row).
func (tx *Tx) SaveReportCustomers(ctx context.Context, ids []int64, cs []*ReportCustomer) error {
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), 500)
		args := anyArgs(rest[:n])
		if _, err := tx.Exec(ctx, `DELETE FROM report_customers WHERE contact_id IN (`+Placeholders(n)+`)`, args...); err != nil {
			return fmt.Errorf("store: clear report customers: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM report_customer_net WHERE contact_id IN (`+Placeholders(n)+`)`, args...); err != nil {
			return fmt.Errorf("store: clear customer net: %w", err)
		}
		rest = rest[n:]
	}
	return tx.InsertReportCustomers(ctx, cs)
}

// InsertReportCustomers inserts rows for cs (which have none yet).
func (tx *Tx) InsertReportCustomers(ctx context.Context, cs []*ReportCustomer) error {
	keep := make([]*ReportCustomer, 0, len(cs))
	var nets []CustomerNet
	var netIDs []int64
	for _, c := range cs {
		if len(c.MonthsG) == 0 {
			continue
		}
		keep = append(keep, c)
		for _, n := range c.Net {
			nets = append(nets, n)
			netIDs = append(netIDs, c.ContactID)
		}
	}
	err := tx.insertMany(ctx, `INSERT INTO report_customers (contact_id, months_g, months_j) VALUES `, 3, len(keep), func(i int, args []any) []any {
		return append(args, keep[i].ContactID, formatMonths(keep[i].MonthsG), formatMonths(keep[i].MonthsJ))
	}, "")
	if err != nil {
		return fmt.Errorf("store: write report customers: %w", err)
	}
	err = tx.insertMany(ctx, `INSERT INTO report_customer_net (contact_id, currency, orders, net) VALUES `, 4, len(nets), func(i int, args []any) []any {
		return append(args, netIDs[i], nets[i].Currency, nets[i].Orders, nets[i].Net)
	}, "")
	if err != nil {
		return fmt.Errorf("store: write customer net: %w", err)
	}
	return nil
}

func formatMonths(ms []int) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, m)
	}
	return b.String()
}

func parseMonths(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	out := make([]int, 0, strings.Count(s, ",")+1)
	for f := range strings.SplitSeq(s, ",") {
		n := 0
		if f == "" {
			return nil, fmt.Errorf("bad month list %q", s)
		}
		for _, c := range []byte(f) {
			if c < '0' || c > '9' || n > 1<<40 {
				return nil, fmt.Errorf("bad month list %q", s)
			}
			n = n*10 + int(c-'0')
		}
		out = append(out, n)
	}
	return out, nil
}

// CohortCell is the number of customers of a cohort (first order in
// month Cohort) who ordered in Month, in one calendar; as a change, the
// number to add.
type CohortCell struct {
	Calendar  string
	Cohort    int
	Month     int
	Customers int64
}

// AddCohortCells adds each cell's Customers to the stored count (cells
// that reach 0 are removed).
func (tx *Tx) AddCohortCells(ctx context.Context, cells []CohortCell) error {
	err := tx.insertMany(ctx, `INSERT INTO report_cohorts (calendar, cohort, month, customers) VALUES `, 4, len(cells), func(i int, args []any) []any {
		c := cells[i]
		return append(args, c.Calendar, c.Cohort, c.Month, c.Customers)
	}, ` ON CONFLICT (calendar, cohort, month) DO UPDATE SET customers = report_cohorts.customers + excluded.customers`)
	if err != nil {
		return fmt.Errorf("store: add cohort cells: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM report_cohorts WHERE customers = 0`); err != nil {
		return fmt.Errorf("store: add cohort cells: %w", err)
	}
	return nil
}

// CohortMonth is a month's customers: those who ordered in it (Active)
// and those whose first order it was (New).
type CohortMonth struct {
	Month  int
	Active int64
	New    int64
}

// CohortMonths sums the cohort cells of calendar by month, for the months
// in [fromMonth, toMonth].
func (tx *Tx) CohortMonths(ctx context.Context, calendar string, fromMonth, toMonth int) ([]CohortMonth, error) {
	rows, err := tx.Query(ctx, `SELECT month, SUM(customers), SUM(CASE WHEN cohort = month THEN customers ELSE 0 END) FROM report_cohorts
		WHERE calendar = ? AND month >= ? AND month <= ? GROUP BY month ORDER BY month`, calendar, fromMonth, toMonth)
	if err != nil {
		return nil, fmt.Errorf("store: cohort months: %w", err)
	}
	defer rows.Close()
	var out []CohortMonth
	for rows.Next() {
		var m CohortMonth
		if err := rows.Scan(&m.Month, &m.Active, &m.New); err != nil {
			return nil, tx.db.wrap("scan cohort month", err)
		}
		out = append(out, m)
	}
	return out, tx.db.wrap("cohort months", rows.Err())
}

// CohortCells returns the cells of calendar whose month is in
// [fromMonth, toMonth], or (byCohort) whose cohort is.
func (tx *Tx) CohortCells(ctx context.Context, calendar string, fromMonth, toMonth int, byCohort bool) ([]CohortCell, error) {
	col := "month"
	if byCohort {
		col = "cohort"
	}
	rows, err := tx.Query(ctx, `SELECT cohort, month, customers FROM report_cohorts WHERE calendar = ? AND `+col+` >= ? AND `+col+` <= ?
		ORDER BY cohort, month`, calendar, fromMonth, toMonth)
	if err != nil {
		return nil, fmt.Errorf("store: cohort cells: %w", err)
	}
	defer rows.Close()
	var out []CohortCell
	for rows.Next() {
		c := CohortCell{Calendar: calendar}
		if err := rows.Scan(&c.Cohort, &c.Month, &c.Customers); err != nil {
			return nil, tx.db.wrap("scan cohort cell", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("cohort cells", rows.Err())
}

// CustomerNetTotals returns the number of customers with a positive net
// spend in currency and its sum.
func (tx *Tx) CustomerNetTotals(ctx context.Context, currency string) (customers, total int64, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(net), 0) FROM report_customer_net WHERE currency = ? AND net > 0`, currency).Scan(&customers, &total)
	return customers, total, tx.db.wrap("customer net totals", err)
}

// StreamCustomerNets calls fn with each customer's net spend in
// currency, largest first.
func (tx *Tx) StreamCustomerNets(ctx context.Context, currency string, fn func(net int64) error) error {
	rows, err := tx.Query(ctx, `SELECT net FROM report_customer_net WHERE currency = ? AND net > 0 ORDER BY net DESC`, currency)
	if err != nil {
		return fmt.Errorf("store: customer nets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return tx.db.wrap("scan customer net", err)
		}
		if err := fn(n); err != nil {
			return err
		}
	}
	return tx.db.wrap("customer nets", rows.Err())
}

// NetCurrencies lists the currencies of report_customer_net.
func (tx *Tx) NetCurrencies(ctx context.Context) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT currency FROM report_customer_net ORDER BY currency`)
	if err != nil {
		return nil, fmt.Errorf("store: net currencies: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, tx.db.wrap("scan currency", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("net currencies", rows.Err())
}

// --- Cache ---

// ReportCache returns a cached figure and when it was computed; ok is
// false when there is none.
func (tx *Tx) ReportCache(ctx context.Context, key string) (body string, at time.Time, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT body, computed_at FROM report_cache WHERE key = ?`, key).Scan(&body, &at)
	if err == sql.ErrNoRows {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, tx.db.wrap("report cache", err)
	}
	return body, at.UTC(), true, nil
}

// PutReportCache stores a figure computed now.
func (tx *Tx) PutReportCache(ctx context.Context, key, body string) error {
	_, err := tx.Exec(ctx, `INSERT INTO report_cache (key, body, computed_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET body = excluded.body, computed_at = excluded.computed_at`, key, body, tx.now)
	if err != nil {
		return fmt.Errorf("store: put report cache: %w", err)
	}
	return nil
}

// DeleteReportCacheExcept deletes the cached figures whose key starts
// with prefix, but keep.
func (tx *Tx) DeleteReportCacheExcept(ctx context.Context, prefix, keep string) error {
	_, err := tx.Exec(ctx, `DELETE FROM report_cache WHERE key LIKE ? AND key <> ?`, strings.ReplaceAll(prefix, "%", "")+"%", keep)
	if err != nil {
		return fmt.Errorf("store: delete report cache: %w", err)
	}
	return nil
}

// --- The club ---

// ClubLiability is one program's outstanding points: what its members
// hold (available, pending until the return window closes, reserved for
// a redemption) and owe (debt), with what the program says points are
// worth.
type ClubLiability struct {
	ProgramID   int64
	Name        string
	Currency    string
	Active      bool
	PointValue  int64 // money (minor units) that ValuePoints points are worth
	ValuePoints int64
	Members     int64 // active members
	Holders     int64 // members holding points
	Available   int64
	Pending     int64
	Reserved    int64
	Debt        int64
}

// ClubLiabilities sums the balances of every program's active members.
func (tx *Tx) ClubLiabilities(ctx context.Context) ([]ClubLiability, error) {
	rows, err := tx.Query(ctx, `SELECT p.id, p.name, p.currency, p.active, p.point_value, p.value_points,
		COALESCE(b.members, 0), COALESCE(b.holders, 0), COALESCE(b.available, 0), COALESCE(b.pending, 0), COALESCE(b.reserved, 0), COALESCE(b.debt, 0)
		FROM club_programs p LEFT JOIN (
			SELECT program_id, COUNT(*) AS members, SUM(CASE WHEN available + pending + reserved > 0 THEN 1 ELSE 0 END) AS holders,
				SUM(available) AS available, SUM(pending) AS pending, SUM(reserved) AS reserved, SUM(debt) AS debt
			FROM club_members WHERE status = 'active' GROUP BY program_id) b ON b.program_id = p.id
		ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("store: club liabilities: %w", err)
	}
	defer rows.Close()
	var out []ClubLiability
	for rows.Next() {
		var l ClubLiability
		if err := rows.Scan(&l.ProgramID, &l.Name, &l.Currency, &l.Active, &l.PointValue, &l.ValuePoints,
			&l.Members, &l.Holders, &l.Available, &l.Pending, &l.Reserved, &l.Debt); err != nil {
			return nil, tx.db.wrap("scan club liability", err)
		}
		out = append(out, l)
	}
	return out, tx.db.wrap("club liabilities", rows.Err())
}
