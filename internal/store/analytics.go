package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Customer analytics results (migration 0011, docs/analytics.md "Stored
// results"): recompute runs, the per-customer scores of each run and its
// basket analysis. A run writes under its own run_id; analytics_current
// names the run whose rows readers use. Every read here takes the run id,
// so a caller reads one run consistently; CurrentAnalyticsRunID gives the
// one in use. The analytics service (internal/insight) computes; these
// methods only store and read.

// Analytics run statuses.
const (
	RunQueued  = "queued"
	RunRunning = "running"
	RunDone    = "done"
	RunFailed  = "failed"
)

// AnalyticsRun is one recompute of the customer analytics: its status and
// progress, the settings it used, what it read and skipped, the fitted
// models and its timings. The JSON members are documented in
// docs/analytics.md.
type AnalyticsRun struct {
	ID            int64
	Status        string
	Via           string // nightly, web, api, cli
	RequestedBy   int64  // 0: the system
	Params        string // JSON
	Currency      string
	ObservedTo    string // YYYY-MM-DD
	Phase         string
	Done, Total   int64
	Orders        int64
	Customers     int64
	Repeat        int64
	Skipped       string // JSON
	ModelStatus   string
	SpendStatus   string
	BGNBD         string // JSON, "" when not fitted
	GammaGamma    string // JSON, "" when not fitted
	LogLikelihood *float64
	BasketStatus  string
	Baskets       int64
	Itemsets      int64
	Rules         int64
	Timings       string // JSON
	Aggregates    string // JSON (RunAggregates), "{}" before the run has written its rows
	Message       string
	Attempts      int
	Cleared       bool
	StartedAt     *time.Time
	FinishedAt    *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

const analyticsRunColumns = `id, status, via, requested_by, params, currency, observed_to, phase, done_n, total_n, orders_n, customers_n,
	repeat_n, skipped, model_status, spend_status, bgnbd, gamma_gamma, log_likelihood, basket_status, baskets_n, itemsets_n, rules_n,
	timings, aggregates, message, attempts, cleared, started_at, finished_at, created_at, updated_at`

func scanAnalyticsRun(row rowScanner) (*AnalyticsRun, error) {
	var (
		r           AnalyticsRun
		by          sql.NullInt64
		ll          sql.NullFloat64
		start, stop sql.NullTime
	)
	err := row.Scan(&r.ID, &r.Status, &r.Via, &by, &r.Params, &r.Currency, &r.ObservedTo, &r.Phase, &r.Done, &r.Total, &r.Orders,
		&r.Customers, &r.Repeat, &r.Skipped, &r.ModelStatus, &r.SpendStatus, &r.BGNBD, &r.GammaGamma, &ll, &r.BasketStatus,
		&r.Baskets, &r.Itemsets, &r.Rules, &r.Timings, &r.Aggregates, &r.Message, &r.Attempts, &r.Cleared, &start, &stop, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	r.RequestedBy = by.Int64
	if ll.Valid {
		r.LogLikelihood = &ll.Float64
	}
	if start.Valid {
		t := start.Time.UTC()
		r.StartedAt = &t
	}
	if stop.Valid {
		t := stop.Time.UTC()
		r.FinishedAt = &t
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// InsertAnalyticsRun records a new run; r.ID and the times are filled in.
func (tx *Tx) InsertAnalyticsRun(ctx context.Context, r *AnalyticsRun) error {
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	if r.Params == "" {
		r.Params = "{}"
	}
	if r.Skipped == "" {
		r.Skipped = "{}"
	}
	if r.Timings == "" {
		r.Timings = "{}"
	}
	if r.Aggregates == "" {
		r.Aggregates = "{}"
	}
	id, err := tx.InsertID(ctx, `INSERT INTO analytics_runs (status, via, requested_by, params, skipped, timings, message, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Status, r.Via, nullID(r.RequestedBy), r.Params, r.Skipped, r.Timings, r.Message, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert analytics run: %w", err)
	}
	r.ID = id
	return nil
}

// SaveAnalyticsRun writes every changeable column of a run.
func (tx *Tx) SaveAnalyticsRun(ctx context.Context, r *AnalyticsRun) error {
	r.UpdatedAt = tx.now
	var ll any
	if r.LogLikelihood != nil {
		ll = *r.LogLikelihood
	}
	return tx.expectOneRow(ctx, "Analytics run", `UPDATE analytics_runs SET status = ?, params = ?, currency = ?, observed_to = ?, phase = ?,
		done_n = ?, total_n = ?, orders_n = ?, customers_n = ?, repeat_n = ?, skipped = ?, model_status = ?, spend_status = ?, bgnbd = ?,
		gamma_gamma = ?, log_likelihood = ?, basket_status = ?, baskets_n = ?, itemsets_n = ?, rules_n = ?, timings = ?, aggregates = ?,
		message = ?, attempts = ?, cleared = ?, started_at = ?, finished_at = ?, updated_at = ? WHERE id = ?`,
		r.Status, r.Params, r.Currency, r.ObservedTo, r.Phase, r.Done, r.Total, r.Orders, r.Customers, r.Repeat, r.Skipped,
		r.ModelStatus, r.SpendStatus, r.BGNBD, r.GammaGamma, ll, r.BasketStatus, r.Baskets, r.Itemsets, r.Rules, r.Timings, r.Aggregates,
		truncateText(r.Message, 2000), r.Attempts, r.Cleared, r.StartedAt, r.FinishedAt, tx.now, r.ID)
}

// SetAnalyticsRunProgress records how far a running run's phase is.
func (tx *Tx) SetAnalyticsRunProgress(ctx context.Context, id int64, phase string, done, total int64) error {
	_, err := tx.Exec(ctx, `UPDATE analytics_runs SET phase = ?, done_n = ?, total_n = ?, updated_at = ? WHERE id = ?`,
		phase, done, total, tx.now, id)
	return err
}

// TouchAnalyticsRun records that a running run is alive (its updated_at).
func (tx *Tx) TouchAnalyticsRun(ctx context.Context, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE analytics_runs SET updated_at = ? WHERE id = ? AND status = 'running'`, tx.now, id)
	return err
}

// NextQueuedAnalyticsRun returns the oldest queued run, ENOTFOUND when
// none is.
func (tx *Tx) NextQueuedAnalyticsRun(ctx context.Context) (*AnalyticsRun, error) {
	r, err := scanAnalyticsRun(tx.QueryRow(ctx, `SELECT `+analyticsRunColumns+` FROM analytics_runs
		WHERE status = 'queued' ORDER BY id LIMIT 1`))
	if err != nil {
		return nil, tx.NotFound(err, "Analytics run")
	}
	return r, nil
}

// FindAnalyticsRun returns a run, ENOTFOUND when there is none.
func (tx *Tx) FindAnalyticsRun(ctx context.Context, id int64) (*AnalyticsRun, error) {
	r, err := scanAnalyticsRun(tx.QueryRow(ctx, `SELECT `+analyticsRunColumns+` FROM analytics_runs WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Analytics run")
	}
	return r, nil
}

// AnalyticsRuns lists runs newest first, limit of them, those with ids
// below before when it is not 0; more reports whether older runs exist.
func (tx *Tx) AnalyticsRuns(ctx context.Context, limit int, before int64) (runs []*AnalyticsRun, more bool, err error) {
	var w conds
	if before > 0 {
		w.add(`id < ?`, before)
	}
	runs, err = pageRows(ctx, tx, `SELECT `+analyticsRunColumns+` FROM analytics_runs`+w.sql()+` ORDER BY id DESC LIMIT ?`, w.args, limit,
		"analytics runs", scanAnalyticsRun)
	if len(runs) > limit {
		runs, more = runs[:limit], true
	}
	return runs, more, err
}

// ActiveAnalyticsRun returns the newest queued or running run, ENOTFOUND
// when none is.
func (tx *Tx) ActiveAnalyticsRun(ctx context.Context) (*AnalyticsRun, error) {
	r, err := scanAnalyticsRun(tx.QueryRow(ctx, `SELECT `+analyticsRunColumns+` FROM analytics_runs
		WHERE status IN ('queued', 'running') ORDER BY id DESC LIMIT 1`))
	if err != nil {
		return nil, tx.NotFound(err, "Analytics run")
	}
	return r, nil
}

// CurrentAnalyticsRunID returns the run whose results are in use; ok is
// false before any run has finished.
func (tx *Tx) CurrentAnalyticsRunID(ctx context.Context) (id int64, ok bool, err error) {
	err = tx.QueryRow(ctx, `SELECT run_id FROM analytics_current WHERE singleton = 1`).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, tx.db.wrap("current analytics run", err)
	}
	return id, true, nil
}

// SetCurrentAnalyticsRun makes run id the one readers use: the switch
// from the previous results to a finished run's, and the view
// customer_scores onto its table, in the caller's transaction.
func (tx *Tx) SetCurrentAnalyticsRun(ctx context.Context, id int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO analytics_current (singleton, run_id) VALUES (1, ?)
		ON CONFLICT (singleton) DO UPDATE SET run_id = excluded.run_id`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DROP VIEW IF EXISTS customer_scores`); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `CREATE VIEW customer_scores AS SELECT * FROM `+scoreTable(id))
	return err
}

// UnclearedAnalyticsRuns lists the runs whose result rows are still stored
// and may go: not the current one, not the finished one before it (its
// scores give the next run's previous segments, and a reader that read the
// current run id just before a switch may still be reading it), not those
// queued or running.
func (tx *Tx) UnclearedAnalyticsRuns(ctx context.Context) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM analytics_runs WHERE NOT cleared AND status IN ('done', 'failed')
		AND id NOT IN (SELECT run_id FROM analytics_current)
		AND id <> COALESCE((SELECT MAX(r.id) FROM analytics_runs r WHERE r.status = 'done' AND r.id < (SELECT run_id FROM analytics_current)), 0)
		ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, tx.db.wrap("scan analytics runs", err)
		}
		out = append(out, id)
	}
	return out, tx.db.wrap("analytics runs", rows.Err())
}

// analyticsRunTables are the tables holding a run's rows, with the column
// that (after run_id) leads each one's primary key.
var analyticsRunTables = [][2]string{
	{"analytics_items", "item"},
	{"analytics_pairs", "item"},
	{"analytics_rules", "rank_n"},
	{"analytics_rule_items", "item"},
}

// DeleteAnalyticsRunRows drops run id's score table and deletes up to
// limit rows of each of its basket tables, and reports how much it deleted
// (the table counting as one); call it until it returns 0. Small batches
// keep SQLite's single writer free for orders in between.
func (tx *Tx) DeleteAnalyticsRunRows(ctx context.Context, id int64, limit int) (int64, error) {
	var total int64
	dropped, err := tx.DropScoreTable(ctx, id)
	if err != nil {
		return 0, err
	}
	if dropped {
		total++
	}
	for _, t := range analyticsRunTables {
		var q string
		if t[0] == "analytics_pairs" || t[0] == "analytics_rule_items" {
			// Keys of two or more columns: delete by rowid/ctid of a batch.
			q = `DELETE FROM ` + t[0] + ` WHERE run_id = ? AND ` + tx.Dialect().rowID() + ` IN (SELECT ` + tx.Dialect().rowID() + ` FROM ` + t[0] + ` WHERE run_id = ? LIMIT ?)`
		} else {
			q = `DELETE FROM ` + t[0] + ` WHERE run_id = ? AND ` + t[1] + ` IN (SELECT ` + t[1] + ` FROM ` + t[0] + ` WHERE run_id = ? LIMIT ?)`
		}
		res, err := tx.Exec(ctx, q, id, id, limit)
		if err != nil {
			return total, fmt.Errorf("store: delete analytics rows of %s: %w", t[0], err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// rowID names the physical row id of a table: SQLite's rowid, PostgreSQL's
// ctid.
func (d Dialect) rowID() string {
	if d == Postgres {
		return "ctid"
	}
	return "rowid"
}

// MarkAnalyticsRunCleared records that a run's rows are gone.
func (tx *Tx) MarkAnalyticsRunCleared(ctx context.Context, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE analytics_runs SET cleared = TRUE WHERE id = ?`, id)
	return err
}

// --- Reading orders for a run ---

// AnalyticsCurrency is how many orders (not fully returned) and customers
// a currency has.
type AnalyticsCurrency struct {
	Currency  string `json:"currency"`
	Orders    int64  `json:"orders"`
	Customers int64  `json:"customers"`
}

// AnalyticsCurrencies counts the orders of known customers that are not
// fully returned per currency, most orders first (Customers is left 0:
// counting them here would sort every order; the recompute counts them
// as it streams).
func (tx *Tx) AnalyticsCurrencies(ctx context.Context) ([]AnalyticsCurrency, error) {
	rows, err := tx.Query(ctx, `SELECT currency, COUNT(*) FROM orders
		WHERE contact_id > 0 AND status <> 'returned' GROUP BY currency ORDER BY 2 DESC, 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AnalyticsCurrency
	for rows.Next() {
		var c AnalyticsCurrency
		if err := rows.Scan(&c.Currency, &c.Orders); err != nil {
			return nil, tx.db.wrap("scan currencies", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("currencies", rows.Err())
}

// MaxOrderID returns the highest order id (0 without orders): about the
// number of orders, read from the primary key at once.
func (tx *Tx) MaxOrderID(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	if err := tx.QueryRow(ctx, `SELECT MAX(id) FROM orders`).Scan(&n); err != nil {
		return 0, tx.db.wrap("max order id", err)
	}
	return n.Int64, nil
}

// AnalyticsOrder is one order as the analytics read it: its customer, when
// it was placed, its currency and its value net of returns.
type AnalyticsOrder struct {
	ID        int64
	ContactID int64
	Currency  string
	PlacedAt  time.Time
	Net       int64 // total − returned_total, minor units
}

// StreamAnalyticsOrders calls fn with every order of a known customer that
// is not fully returned, by customer and then by id (the customer-led
// orders_contact_stats index; each customer's few orders are sorted by
// id), holding one row at a time; run it in a read transaction. The
// *AnalyticsOrder is reused.
func (tx *Tx) StreamAnalyticsOrders(ctx context.Context, fn func(*AnalyticsOrder) error) error {
	rows, err := tx.Query(ctx, `SELECT id, contact_id, currency, placed_at, total - returned_total FROM orders
		WHERE contact_id > 0 AND status <> 'returned' ORDER BY contact_id, id`)
	if err != nil {
		return fmt.Errorf("store: stream analytics orders: %w", err)
	}
	defer rows.Close()
	var o AnalyticsOrder
	for rows.Next() {
		if err := rows.Scan(&o.ID, &o.ContactID, &o.Currency, &o.PlacedAt, &o.Net); err != nil {
			return tx.db.wrap("scan analytics orders", err)
		}
		o.PlacedAt = o.PlacedAt.UTC()
		if err := fn(&o); err != nil {
			return err
		}
	}
	return tx.db.wrap("stream analytics orders", rows.Err())
}

// BasketLine is one order line as the basket analysis reads it.
type BasketLine struct {
	OrderID int64
	SKU     string
	Name    string
}

// StreamBasketLines calls fn with every order line not fully returned, the
// lines of one order together (by order id, then line id, the
// order_lines_order index); run it in a read transaction. A fully
// returned order has every line fully returned (returns of orders with
// lines go by line), so it gives none. The *BasketLine is reused.
func (tx *Tx) StreamBasketLines(ctx context.Context, fn func(*BasketLine) error) error {
	rows, err := tx.Query(ctx, `SELECT order_id, sku, name FROM order_lines
		WHERE returned_quantity < quantity ORDER BY order_id, id`)
	if err != nil {
		return fmt.Errorf("store: stream basket lines: %w", err)
	}
	defer rows.Close()
	var l BasketLine
	for rows.Next() {
		if err := rows.Scan(&l.OrderID, &l.SKU, &l.Name); err != nil {
			return tx.db.wrap("scan basket lines", err)
		}
		if err := fn(&l); err != nil {
			return err
		}
	}
	return tx.db.wrap("stream basket lines", rows.Err())
}

// ContactItems lists the items (ItemKey) a person bought and kept, from
// their newest orders back, at most limit distinct ones.
func (tx *Tx) ContactItems(ctx context.Context, contactID int64, limit int) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT l.sku, l.name FROM orders o JOIN order_lines l ON l.order_id = o.id
		WHERE o.contact_id = ? AND o.status <> 'returned' AND l.returned_quantity < l.quantity ORDER BY o.id DESC, l.id LIMIT 5000`, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var sku, name string
		if err := rows.Scan(&sku, &name); err != nil {
			return nil, tx.db.wrap("scan contact items", err)
		}
		k := ItemKey(sku, name)
		if k != "" && !seen[k] && len(out) < limit {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, tx.db.wrap("contact items", rows.Err())
}

// ItemKey is the basket-analysis item of an order line: "sku:<SKU>", or
// "name:<name>" for a line without a SKU; "" for neither.
func ItemKey(sku, name string) string {
	if s := strings.TrimSpace(sku); s != "" {
		return "sku:" + s
	}
	if n := strings.TrimSpace(name); n != "" {
		return "name:" + n
	}
	return ""
}

// --- Writing a run's results ---

// CustomerScore is one customer's results in one run. Money is minor units
// of Currency. The model's values are nil when the model was not fitted
// (see the run's model_status and spend_status).
type CustomerScore struct {
	RunID             int64     `json:"run_id"`
	ContactID         int64     `json:"contact_id"`
	Currency          string    `json:"currency"`
	Orders            int64     `json:"orders"`
	TotalSpent        int64     `json:"total_spent"`
	FirstOrderAt      time.Time `json:"first_order_at"`
	LastOrderAt       time.Time `json:"last_order_at"`
	Frequency         int       `json:"frequency"`
	Recency           float64   `json:"recency"`
	Age               float64   `json:"T"`
	MonetaryValue     int64     `json:"monetary_value"`
	RecencyDays       int       `json:"recency_days"`
	R                 int       `json:"r_score"`
	F                 int       `json:"f_score"`
	M                 int       `json:"m_score"`
	Cell              string    `json:"rfm_cell"`
	Segment           string    `json:"segment"`
	PrevSegment       string    `json:"previous_segment,omitempty"`
	PAlive            *float64  `json:"p_alive"`
	ChurnRisk         *float64  `json:"churn_risk"`
	ChurnBand         string    `json:"churn_band,omitempty"`
	ExpectedPurchases *float64  `json:"expected_purchases"`
	ExpectedValue     *int64    `json:"expected_value"`
	CLV               *int64    `json:"clv"`
}

const scoreColumns = `run_id, contact_id, currency, orders_n, total_spent, first_order_at, last_order_at, frequency, recency, age,
	monetary_value, recency_days, r_score, f_score, m_score, rfm_cell, segment, prev_segment, p_alive, churn_risk, churn_band,
	expected_purchases, expected_value, clv`

const scoreColumnCount = 24

// scoreTable is the table of run id's scores.
func scoreTable(runID int64) string { return "customer_scores_r" + strconv.FormatInt(runID, 10) }

// CreateScoreTable makes run id's empty score table (dropping a leftover
// of an interrupted attempt). Its only index is the primary key, on
// contact_id: the rows are written in that order, so writing appends;
// IndexScoreTable adds the others once the table is complete.
func (tx *Tx) CreateScoreTable(ctx context.Context, runID int64) error {
	if _, err := tx.DropScoreTable(ctx, runID); err != nil {
		return err
	}
	ty := func(lite, pg string) string {
		if tx.Dialect() == Postgres {
			return pg
		}
		return lite
	}
	integer, real, ts := ty("INTEGER", "BIGINT"), ty("REAL", "DOUBLE PRECISION"), ty("TIMESTAMP", "TIMESTAMPTZ")
	ddl := `CREATE TABLE ` + scoreTable(runID) + ` (
		run_id ` + integer + ` NOT NULL, contact_id ` + integer + ` NOT NULL PRIMARY KEY, currency TEXT NOT NULL,
		orders_n ` + integer + ` NOT NULL, total_spent ` + integer + ` NOT NULL, first_order_at ` + ts + ` NOT NULL, last_order_at ` + ts + ` NOT NULL,
		frequency ` + integer + ` NOT NULL, recency ` + real + ` NOT NULL, age ` + real + ` NOT NULL, monetary_value ` + integer + ` NOT NULL,
		recency_days ` + integer + ` NOT NULL, r_score ` + integer + ` NOT NULL, f_score ` + integer + ` NOT NULL, m_score ` + integer + ` NOT NULL,
		rfm_cell TEXT NOT NULL, segment TEXT NOT NULL, prev_segment TEXT, p_alive ` + real + `, churn_risk ` + real + `, churn_band TEXT,
		expected_purchases ` + real + `, expected_value ` + integer + `, clv ` + integer + `)`
	if tx.Dialect() == SQLite {
		ddl += ` WITHOUT ROWID`
	}
	if _, err := tx.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("store: create %s: %w", scoreTable(runID), err)
	}
	return nil
}

// IndexScoreTable adds the indexes of run id's score table, for the people
// list's filters and the segment compiler (segment; churn band by spend;
// CLV): built from the complete table, which is much faster than keeping
// them while a million rows go in at random places.
func (tx *Tx) IndexScoreTable(ctx context.Context, runID int64) error {
	t := scoreTable(runID)
	for _, ix := range []string{
		`CREATE INDEX ` + t + `_segment ON ` + t + `(segment, contact_id)`,
		`CREATE INDEX ` + t + `_churn ON ` + t + `(churn_band, total_spent)`,
		`CREATE INDEX ` + t + `_clv ON ` + t + `(clv)`,
	} {
		if _, err := tx.Exec(ctx, ix); err != nil {
			return fmt.Errorf("store: index %s: %w", t, err)
		}
	}
	return nil
}

// DropScoreTable drops run id's score table; dropped is false when it
// did not exist.
func (tx *Tx) DropScoreTable(ctx context.Context, runID int64) (dropped bool, err error) {
	exists, err := tx.scoreTableExists(ctx, runID)
	if err != nil || !exists {
		return false, err
	}
	if _, err := tx.Exec(ctx, `DROP TABLE `+scoreTable(runID)); err != nil {
		return false, fmt.Errorf("store: drop %s: %w", scoreTable(runID), err)
	}
	return true, nil
}

// HasScoreTable reports whether run id's score table exists.
func (tx *Tx) HasScoreTable(ctx context.Context, runID int64) (bool, error) {
	return tx.scoreTableExists(ctx, runID)
}

func (tx *Tx) scoreTableExists(ctx context.Context, runID int64) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if tx.Dialect() == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	if err := tx.QueryRow(ctx, q, scoreTable(runID)).Scan(&n); err != nil {
		return false, tx.db.wrap("score table", err)
	}
	return n > 0, nil
}

// scoreTables lists the runs whose score tables exist.
func (tx *Tx) scoreTables(ctx context.Context) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM analytics_runs WHERE NOT cleared AND status <> 'queued' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, tx.db.wrap("scan runs", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, tx.db.wrap("runs", err)
	}
	var out []int64
	for _, id := range ids {
		ok, err := tx.scoreTableExists(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertCustomerScores writes rows of one run into its table (made by
// CreateScoreTable), with one prepared
// single-row INSERT: on SQLite this needs no statement journal and no
// parsing per batch, which makes it faster than multi-row INSERTs here.
func (tx *Tx) InsertCustomerScores(ctx context.Context, rows []CustomerScore) error {
	if len(rows) == 0 {
		return nil
	}
	st, err := tx.tx.PrepareContext(ctx, tx.db.rebind(`INSERT INTO `+scoreTable(rows[0].RunID)+` (`+scoreColumns+`) VALUES (`+Placeholders(scoreColumnCount)+`)`))
	if err != nil {
		return tx.db.wrap("prepare customer scores", err)
	}
	defer st.Close()
	for i := range rows {
		s := &rows[i]
		if _, err := st.ExecContext(ctx, s.RunID, s.ContactID, s.Currency, s.Orders, s.TotalSpent, s.FirstOrderAt.UTC(), s.LastOrderAt.UTC(),
			s.Frequency, s.Recency, s.Age, s.MonetaryValue, s.RecencyDays, s.R, s.F, s.M, s.Cell, s.Segment, nullString(s.PrevSegment),
			s.PAlive, s.ChurnRisk, nullString(s.ChurnBand), s.ExpectedPurchases, s.ExpectedValue, s.CLV); err != nil {
			return fmt.Errorf("store: insert customer scores: %w", tx.db.wrap("insert", err))
		}
	}
	return nil
}

// ScoreSegments returns the segment of each of the people in [from, to]
// scored in run id, for carrying segments over to the next run.
func (tx *Tx) ScoreSegments(ctx context.Context, runID, from, to int64) (map[int64]string, error) {
	rows, err := tx.Query(ctx, `SELECT contact_id, segment FROM `+scoreTable(runID)+` WHERE contact_id BETWEEN ? AND ?`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var (
			id  int64
			seg string
		)
		if err := rows.Scan(&id, &seg); err != nil {
			return nil, tx.db.wrap("scan segments", err)
		}
		out[id] = seg
	}
	return out, tx.db.wrap("segments", rows.Err())
}

func scanScore(row rowScanner) (*CustomerScore, error) {
	var (
		s                CustomerScore
		prev, band       sql.NullString
		pa, risk, expect sql.NullFloat64
		ev, clv          sql.NullInt64
	)
	err := row.Scan(&s.RunID, &s.ContactID, &s.Currency, &s.Orders, &s.TotalSpent, &s.FirstOrderAt, &s.LastOrderAt, &s.Frequency,
		&s.Recency, &s.Age, &s.MonetaryValue, &s.RecencyDays, &s.R, &s.F, &s.M, &s.Cell, &s.Segment, &prev, &pa, &risk, &band,
		&expect, &ev, &clv)
	if err != nil {
		return nil, err
	}
	s.FirstOrderAt, s.LastOrderAt = s.FirstOrderAt.UTC(), s.LastOrderAt.UTC()
	s.PrevSegment, s.ChurnBand = prev.String, band.String
	if pa.Valid {
		s.PAlive = &pa.Float64
	}
	if risk.Valid {
		s.ChurnRisk = &risk.Float64
	}
	if expect.Valid {
		s.ExpectedPurchases = &expect.Float64
	}
	if ev.Valid {
		s.ExpectedValue = &ev.Int64
	}
	if clv.Valid {
		s.CLV = &clv.Int64
	}
	return &s, nil
}

// CustomerScoreOf returns a person's scores in run id, ENOTFOUND when the
// run did not score them.
func (tx *Tx) CustomerScoreOf(ctx context.Context, runID, contactID int64) (*CustomerScore, error) {
	s, err := scanScore(tx.QueryRow(ctx, `SELECT `+scoreColumns+` FROM `+scoreTable(runID)+` WHERE contact_id = ?`, contactID))
	if err != nil {
		return nil, tx.NotFound(err, "Customer score")
	}
	return s, nil
}

// CustomerScoresOf returns the scores in run id of those of ids it scored.
func (tx *Tx) CustomerScoresOf(ctx context.Context, runID int64, ids []int64) (map[int64]*CustomerScore, error) {
	out := map[int64]*CustomerScore{}
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		args := make([]any, 0, len(batch))
		for _, id := range batch {
			args = append(args, id)
		}
		rows, err := tx.Query(ctx, `SELECT `+scoreColumns+` FROM `+scoreTable(runID)+` WHERE contact_id IN (`+Placeholders(len(batch))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			s, err := scanScore(rows)
			if err != nil {
				rows.Close()
				return nil, tx.db.wrap("scan scores", err)
			}
			out[s.ContactID] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, tx.db.wrap("scores", err)
		}
	}
	return out, nil
}

// DeleteContactScores removes every stored result of the people ids, in
// every run (they were merged into someone else, deleted or erased).
func (tx *Tx) DeleteContactScores(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	runs, err := tx.scoreTables(ctx)
	if err != nil {
		return err
	}
	args := make([]any, 0, len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	for _, run := range runs {
		if _, err := tx.Exec(ctx, `DELETE FROM `+scoreTable(run)+` WHERE contact_id IN (`+Placeholders(len(ids))+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// RunAggregates are the figures a run counts as it writes its rows, kept
// on analytics_runs.aggregates: the segment, move, cell and band counts
// below would otherwise each take a pass over a run's table (seconds at
// a million customers). The Score* methods read them when the run has
// them.
type RunAggregates struct {
	Segments []SegmentSize `json:"segments"`
	Moves    []SegmentMove `json:"moves"`
	Cells    []CellCount   `json:"cells"`
	Bands    []BandCount   `json:"bands"`
	// CLVMin and CLVMax bound the CLVs (nil when no customer has one);
	// CLV is their distribution in about 20 round-width bars from 0
	// (edges from RoundEdges).
	CLVMin *int64      `json:"clv_min"`
	CLVMax *int64      `json:"clv_max"`
	CLV    []CLVBucket `json:"clv_histogram"`
}

// runAggregates reads run id's aggregates; ok is false when it has none.
func (tx *Tx) runAggregates(ctx context.Context, runID int64) (a RunAggregates, ok bool, err error) {
	var v string
	if err := tx.QueryRow(ctx, `SELECT aggregates FROM analytics_runs WHERE id = ?`, runID).Scan(&v); err != nil {
		return a, false, tx.NotFound(err, "Analytics run")
	}
	if v == "" || v == "{}" {
		return a, false, nil
	}
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return a, false, fmt.Errorf("store: analytics run %d aggregates: %w", runID, err)
	}
	return a, a.Segments != nil, nil
}

// SegmentSize is how many customers a segment holds in a run and what
// they spent.
type SegmentSize struct {
	Segment   string `json:"segment"`
	Customers int64  `json:"customers"`
	Spent     int64  `json:"total_spent"`
}

// ScoreSegmentSizes counts the customers of each segment of run id.
func (tx *Tx) ScoreSegmentSizes(ctx context.Context, runID int64) ([]SegmentSize, error) {
	if a, ok, err := tx.runAggregates(ctx, runID); err != nil || ok {
		return a.Segments, err
	}
	rows, err := tx.Query(ctx, `SELECT segment, COUNT(*), COALESCE(SUM(total_spent), 0) FROM `+scoreTable(runID)+`
		GROUP BY segment ORDER BY segment`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SegmentSize
	for rows.Next() {
		var s SegmentSize
		if err := rows.Scan(&s.Segment, &s.Customers, &s.Spent); err != nil {
			return nil, tx.db.wrap("scan segment sizes", err)
		}
		out = append(out, s)
	}
	return out, tx.db.wrap("segment sizes", rows.Err())
}

// SegmentMove is how many customers went from one segment (From, "" for
// customers new in the run) to another between a run and the one before.
type SegmentMove struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Customers int64  `json:"customers"`
}

// ScoreSegmentMoves counts the customers of run id by their segment in the
// run before it and in it.
func (tx *Tx) ScoreSegmentMoves(ctx context.Context, runID int64) ([]SegmentMove, error) {
	if a, ok, err := tx.runAggregates(ctx, runID); err != nil || ok {
		return a.Moves, err
	}
	rows, err := tx.Query(ctx, `SELECT COALESCE(prev_segment, ''), segment, COUNT(*) FROM `+scoreTable(runID)+`
		GROUP BY prev_segment, segment ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SegmentMove
	for rows.Next() {
		var m SegmentMove
		if err := rows.Scan(&m.From, &m.To, &m.Customers); err != nil {
			return nil, tx.db.wrap("scan segment moves", err)
		}
		out = append(out, m)
	}
	return out, tx.db.wrap("segment moves", rows.Err())
}

// CellCount is how many customers of a run have R score R and FM score FM
// (⌊(F+M)/2⌋): the cells of the RFM segment grid.
type CellCount struct {
	R         int   `json:"r"`
	FM        int   `json:"fm"`
	Customers int64 `json:"customers"`
}

// ScoreCellCounts counts the customers of run id in each (R, FM) cell.
func (tx *Tx) ScoreCellCounts(ctx context.Context, runID int64) ([]CellCount, error) {
	if a, ok, err := tx.runAggregates(ctx, runID); err != nil || ok {
		return a.Cells, err
	}
	rows, err := tx.Query(ctx, `SELECT r_score, (f_score + m_score) / 2, COUNT(*) FROM `+scoreTable(runID)+`
		GROUP BY r_score, (f_score + m_score) / 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CellCount
	for rows.Next() {
		var c CellCount
		if err := rows.Scan(&c.R, &c.FM, &c.Customers); err != nil {
			return nil, tx.db.wrap("scan cells", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("cells", rows.Err())
}

// BandCount is how many customers of a run are in a churn band ("" for
// those without one: the model was not fitted).
type BandCount struct {
	Band      string `json:"band"`
	Customers int64  `json:"customers"`
	Spent     int64  `json:"total_spent"`
}

// ScoreBandCounts counts the customers of run id by churn band.
func (tx *Tx) ScoreBandCounts(ctx context.Context, runID int64) ([]BandCount, error) {
	if a, ok, err := tx.runAggregates(ctx, runID); err != nil || ok {
		return a.Bands, err
	}
	rows, err := tx.Query(ctx, `SELECT COALESCE(churn_band, ''), COUNT(*), COALESCE(SUM(total_spent), 0) FROM `+scoreTable(runID)+`
		GROUP BY churn_band ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BandCount
	for rows.Next() {
		var b BandCount
		if err := rows.Scan(&b.Band, &b.Customers, &b.Spent); err != nil {
			return nil, tx.db.wrap("scan bands", err)
		}
		out = append(out, b)
	}
	return out, tx.db.wrap("bands", rows.Err())
}

// CLVBucket is one bar of the CLV distribution: the customers whose CLV is
// at least From and below To (To 0: no upper bound).
type CLVBucket struct {
	From      int64 `json:"from"`
	To        int64 `json:"to"`
	Customers int64 `json:"customers"`
}

// ScoreCLVHistogram counts the customers of run id with a CLV in each
// bucket given by edges (ascending, minor units): [edges[i], edges[i+1]),
// the last bucket open above. Customers below edges[0] or without a CLV
// are not counted.
func (tx *Tx) ScoreCLVHistogram(ctx context.Context, runID int64, edges []int64) ([]CLVBucket, error) {
	if a, ok, err := tx.runAggregates(ctx, runID); err != nil {
		return nil, err
	} else if ok && sameEdges(a.CLV, edges) {
		return a.CLV, nil
	}
	out := make([]CLVBucket, len(edges))
	for i, e := range edges {
		out[i].From = e
		if i+1 < len(edges) {
			out[i].To = edges[i+1]
		}
	}
	if len(edges) == 0 {
		return out, nil
	}
	var b strings.Builder
	args := []any{}
	b.WriteString(`SELECT CASE`)
	for i := len(edges) - 1; i >= 0; i-- {
		b.WriteString(` WHEN clv >= ? THEN ?`)
		args = append(args, edges[i], i)
	}
	b.WriteString(` ELSE -1 END AS bucket, COUNT(*) FROM ` + scoreTable(runID) + ` WHERE clv IS NOT NULL GROUP BY 1`)
	rows, err := tx.Query(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			i int
			n int64
		)
		if err := rows.Scan(&i, &n); err != nil {
			return nil, tx.db.wrap("scan clv histogram", err)
		}
		if i >= 0 && i < len(out) {
			out[i].Customers = n
		}
	}
	return out, tx.db.wrap("clv histogram", rows.Err())
}

// sameEdges reports whether the buckets have exactly these edges.
func sameEdges(b []CLVBucket, edges []int64) bool {
	if len(b) != len(edges) || len(b) == 0 {
		return false
	}
	for i, e := range edges {
		if b[i].From != e {
			return false
		}
	}
	return true
}

// RoundEdges returns histogram edges 0, w, 2w … covering [0, hi] in about
// n buckets, w a round number (1, 2 or 5 times a power of ten): the
// edges of RunAggregates.CLV for n = 20.
func RoundEdges(hi int64, n int) []int64 {
	if n < 1 {
		n = 10
	}
	if hi <= 0 {
		return []int64{0}
	}
	raw := float64(hi) / float64(n)
	p := math.Pow10(int(math.Floor(math.Log10(raw))))
	w := p
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			w = m * p
			break
		}
	}
	step := max(int64(w), 1)
	var edges []int64
	for e := int64(0); e <= hi; e += step {
		edges = append(edges, e)
	}
	return edges
}

// ScoreCLVRange returns the smallest and largest CLV of run id; ok is
// false when no customer has one.
func (tx *Tx) ScoreCLVRange(ctx context.Context, runID int64) (lo, hi int64, ok bool, err error) {
	if a, has, err := tx.runAggregates(ctx, runID); err != nil || has {
		if err != nil || a.CLVMin == nil {
			return 0, 0, false, err
		}
		return *a.CLVMin, *a.CLVMax, true, nil
	}
	var l, h sql.NullInt64
	err = tx.QueryRow(ctx, `SELECT MIN(clv), MAX(clv) FROM `+scoreTable(runID)+` WHERE clv IS NOT NULL`).Scan(&l, &h)
	if err != nil {
		return 0, 0, false, tx.db.wrap("clv range", err)
	}
	return l.Int64, h.Int64, l.Valid, nil
}

// TopChurnRisk lists the customers of run id in churn band band with the
// most spent first (the most valuable customers at risk), at most limit.
func (tx *Tx) TopChurnRisk(ctx context.Context, runID int64, band string, limit int) ([]*CustomerScore, error) {
	rows, err := tx.Query(ctx, `SELECT `+scoreColumns+` FROM `+scoreTable(runID)+` WHERE churn_band = ?
		ORDER BY total_spent DESC, contact_id LIMIT ?`, band, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*CustomerScore
	for rows.Next() {
		s, err := scanScore(rows)
		if err != nil {
			return nil, tx.db.wrap("scan churn risk", err)
		}
		out = append(out, s)
	}
	return out, tx.db.wrap("churn risk", rows.Err())
}

// scoreCond adds the conditions of an analytics filter of the people list
// (contacts aliased c) to w: people scored in the current run with that
// segment, churn band and CLV range. The subquery is answered from the
// customer_scores indexes.
func scoreCond(w *conds, f *crm.ScoreFilter) {
	if f == nil || f.IsZero() {
		return
	}
	var (
		in   []string
		args []any
	)
	if f.Segment != "" {
		in = append(in, `s.segment = ?`)
		args = append(args, f.Segment)
	}
	if f.ChurnBand != "" {
		in = append(in, `s.churn_band = ?`)
		args = append(args, f.ChurnBand)
	}
	if f.CLVMin != nil {
		in = append(in, `s.clv >= ?`)
		args = append(args, *f.CLVMin)
	}
	if f.CLVMax != nil {
		in = append(in, `s.clv <= ?`)
		args = append(args, *f.CLVMax)
	}
	q := `c.id IN (SELECT s.contact_id FROM customer_scores s WHERE ` + strings.Join(in, ` AND `)
	w.add(q+`)`, args...)
}

// --- Basket analysis ---

// AnalyticsItem is an item of a run's basket analysis.
type AnalyticsItem struct {
	Item    string `json:"item"`
	SKU     string `json:"sku,omitempty"`
	Name    string `json:"name"`
	Baskets int64  `json:"orders"`
}

// AnalyticsPair is an item often bought with another: the rule Item ⇒
// Other over the frequent pair, Rank 1 the best.
type AnalyticsPair struct {
	Item       string  `json:"item"`
	Other      string  `json:"other"`
	Rank       int     `json:"rank"`
	Count      int64   `json:"count"`
	Confidence float64 `json:"confidence"`
	Lift       float64 `json:"lift"`
}

// AnalyticsRule is an association rule LHS ⇒ RHS of a run, Rank 1 the
// best (lift, confidence, count).
type AnalyticsRule struct {
	Rank       int      `json:"rank"`
	LHS        []string `json:"lhs"`
	RHS        string   `json:"rhs"`
	Count      int64    `json:"count"`
	Support    float64  `json:"support"`
	Confidence float64  `json:"confidence"`
	Lift       float64  `json:"lift"`
}

// InsertAnalyticsItems writes items of run runID.
func (tx *Tx) InsertAnalyticsItems(ctx context.Context, runID int64, items []AnalyticsItem) error {
	return insertRows(ctx, tx, "analytics_items (run_id, item, sku, name, baskets_n)", 5, len(items), func(i int) []any {
		it := &items[i]
		return []any{runID, it.Item, it.SKU, it.Name, it.Baskets}
	})
}

// InsertAnalyticsPairs writes often-bought-together pairs of run runID.
func (tx *Tx) InsertAnalyticsPairs(ctx context.Context, runID int64, pairs []AnalyticsPair) error {
	return insertRows(ctx, tx, "analytics_pairs (run_id, item, other, rank_n, count_n, confidence, lift)", 7, len(pairs), func(i int) []any {
		p := &pairs[i]
		return []any{runID, p.Item, p.Other, p.Rank, p.Count, p.Confidence, p.Lift}
	})
}

// InsertAnalyticsRules writes rules of run runID with the items of their
// left-hand sides.
func (tx *Tx) InsertAnalyticsRules(ctx context.Context, runID int64, rules []AnalyticsRule) error {
	err := insertRows(ctx, tx, "analytics_rules (run_id, rank_n, lhs, lhs_n, rhs, count_n, support, confidence, lift)", 9, len(rules), func(i int) []any {
		r := &rules[i]
		return []any{runID, r.Rank, encodeItems(r.LHS), len(r.LHS), r.RHS, r.Count, r.Support, r.Confidence, r.Lift}
	})
	if err != nil {
		return err
	}
	type lhsItem struct {
		item string
		rank int
	}
	var items []lhsItem
	for _, r := range rules {
		for _, it := range r.LHS {
			items = append(items, lhsItem{it, r.Rank})
		}
	}
	return insertRows(ctx, tx, "analytics_rule_items (run_id, item, rank_n)", 3, len(items), func(i int) []any {
		return []any{runID, items[i].item, items[i].rank}
	})
}

// insertRows writes n rows of width columns into table (with its column
// list), many rows per INSERT.
func insertRows(ctx context.Context, tx *Tx, table string, width, n int, row func(i int) []any) error {
	per := max(1, 8000/width)
	one := "(" + Placeholders(width) + ")"
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " VALUES ")
		args := make([]any, 0, width*(end-start))
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, row(i)...)
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			name, _, _ := strings.Cut(table, " ")
			return fmt.Errorf("store: insert %s: %w", name, err)
		}
	}
	return nil
}

// encodeItems joins items with the unit separator (U+001F), which no SKU
// or line name holds (the orders module refuses control characters).
func encodeItems(items []string) string { return strings.Join(items, "\x1f") }

func decodeItems(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x1f")
}

// FindAnalyticsItem returns an item of run runID, ENOTFOUND when the run
// does not know it.
func (tx *Tx) FindAnalyticsItem(ctx context.Context, runID int64, item string) (*AnalyticsItem, error) {
	var it AnalyticsItem
	err := tx.QueryRow(ctx, `SELECT item, sku, name, baskets_n FROM analytics_items WHERE run_id = ? AND item = ?`, runID, item).
		Scan(&it.Item, &it.SKU, &it.Name, &it.Baskets)
	if err != nil {
		return nil, tx.NotFound(err, "Item")
	}
	return &it, nil
}

// AnalyticsItemsOf returns the items of run runID among keys.
func (tx *Tx) AnalyticsItemsOf(ctx context.Context, runID int64, keys []string) (map[string]*AnalyticsItem, error) {
	out := map[string]*AnalyticsItem{}
	for start := 0; start < len(keys); start += 500 {
		batch := keys[start:min(start+500, len(keys))]
		args := []any{runID}
		for _, k := range batch {
			args = append(args, k)
		}
		rows, err := tx.Query(ctx, `SELECT item, sku, name, baskets_n FROM analytics_items WHERE run_id = ? AND item IN (`+Placeholders(len(batch))+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var it AnalyticsItem
			if err := rows.Scan(&it.Item, &it.SKU, &it.Name, &it.Baskets); err != nil {
				rows.Close()
				return nil, tx.db.wrap("scan items", err)
			}
			out[it.Item] = &it
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, tx.db.wrap("items", err)
		}
	}
	return out, nil
}

// TopAnalyticsItems lists the items of run runID bought in the most orders
// first; q, when set, keeps those whose SKU or name contains it.
func (tx *Tx) TopAnalyticsItems(ctx context.Context, runID int64, q string, limit int) ([]AnalyticsItem, error) {
	w := conds{}
	w.add(`run_id = ?`, runID)
	if q = strings.TrimSpace(q); q != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
		op := tx.Dialect().CaseInsensitiveLike()
		w.add(`(sku `+op+` ? ESCAPE '\' OR name `+op+` ? ESCAPE '\')`, like, like)
	}
	rows, err := tx.Query(ctx, `SELECT item, sku, name, baskets_n FROM analytics_items`+w.sql()+` ORDER BY baskets_n DESC, item LIMIT ?`,
		append(w.args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AnalyticsItem
	for rows.Next() {
		var it AnalyticsItem
		if err := rows.Scan(&it.Item, &it.SKU, &it.Name, &it.Baskets); err != nil {
			return nil, tx.db.wrap("scan items", err)
		}
		out = append(out, it)
	}
	return out, tx.db.wrap("items", rows.Err())
}

// AnalyticsPairsOf lists the items often bought with item in run runID,
// best first, at most limit.
func (tx *Tx) AnalyticsPairsOf(ctx context.Context, runID int64, item string, limit int) ([]AnalyticsPair, error) {
	rows, err := tx.Query(ctx, `SELECT item, other, rank_n, count_n, confidence, lift FROM analytics_pairs
		WHERE run_id = ? AND item = ? ORDER BY rank_n LIMIT ?`, runID, item, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AnalyticsPair
	for rows.Next() {
		var p AnalyticsPair
		if err := rows.Scan(&p.Item, &p.Other, &p.Rank, &p.Count, &p.Confidence, &p.Lift); err != nil {
			return nil, tx.db.wrap("scan pairs", err)
		}
		out = append(out, p)
	}
	return out, tx.db.wrap("pairs", rows.Err())
}

func scanRules(tx *Tx, rows *sql.Rows) ([]AnalyticsRule, error) {
	defer rows.Close()
	var out []AnalyticsRule
	for rows.Next() {
		var (
			r   AnalyticsRule
			lhs string
		)
		if err := rows.Scan(&r.Rank, &lhs, &r.RHS, &r.Count, &r.Support, &r.Confidence, &r.Lift); err != nil {
			return nil, tx.db.wrap("scan rules", err)
		}
		r.LHS = decodeItems(lhs)
		out = append(out, r)
	}
	return out, tx.db.wrap("rules", rows.Err())
}

// TopAnalyticsRules lists the best rules of run runID, at most limit.
func (tx *Tx) TopAnalyticsRules(ctx context.Context, runID int64, limit int) ([]AnalyticsRule, error) {
	rows, err := tx.Query(ctx, `SELECT rank_n, lhs, rhs, count_n, support, confidence, lift FROM analytics_rules
		WHERE run_id = ? ORDER BY rank_n LIMIT ?`, runID, limit)
	if err != nil {
		return nil, err
	}
	return scanRules(tx, rows)
}

// AnalyticsRulesFor lists, best first, at most limit rules of run runID
// whose whole left-hand side is among have (their right-hand side may or
// may not be).
func (tx *Tx) AnalyticsRulesFor(ctx context.Context, runID int64, have []string, limit int) ([]AnalyticsRule, error) {
	if len(have) == 0 {
		return nil, nil
	}
	args := []any{runID}
	for _, h := range have {
		args = append(args, h)
	}
	args = append(args, runID, limit)
	rows, err := tx.Query(ctx, `SELECT r.rank_n, r.lhs, r.rhs, r.count_n, r.support, r.confidence, r.lift FROM analytics_rules r
		JOIN (SELECT rank_n, COUNT(*) AS n FROM analytics_rule_items WHERE run_id = ? AND item IN (`+Placeholders(len(have))+`)
		      GROUP BY rank_n) m ON m.rank_n = r.rank_n
		WHERE r.run_id = ? AND r.lhs_n = m.n ORDER BY r.rank_n LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return scanRules(tx, rows)
}

// --- Settings ---

// analyticsSettingsKey is the settings row holding the analytics settings.
const analyticsSettingsKey = "analytics"

// AnalyticsSettings returns the stored analytics settings (JSON); ok is
// false when none were saved.
func (tx *Tx) AnalyticsSettings(ctx context.Context) (string, bool, error) {
	var v string
	err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, analyticsSettingsKey).Scan(&v)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, tx.db.wrap("analytics settings", err)
	}
	return v, true, nil
}

// SaveAnalyticsSettings stores the analytics settings (JSON).
func (tx *Tx) SaveAnalyticsSettings(ctx context.Context, value string) error {
	_, err := tx.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, analyticsSettingsKey, value, tx.now)
	return err
}
