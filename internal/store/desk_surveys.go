package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Satisfaction surveys and return requests of the service desk, and the
// order line a return names (read from the orders tables: the desk does
// not import the orders module).

const surveyColumns = `id, ticket_id, contact_id, agent_id, resolution, rating, comment, sent_at, answered_at, expires_at, created_at`

func scanSurvey(row rowScanner) (*crm.Survey, error) {
	var (
		s            crm.Survey
		sent, answer sql.NullTime
	)
	err := row.Scan(&s.ID, &s.TicketID, &s.ContactID, &s.AgentID, &s.Resolution, &s.Rating, &s.Comment, &sent, &answer, &s.ExpiresAt, &s.CreatedAt)
	if err != nil {
		return nil, err
	}
	s.SentAt, s.AnsweredAt = nullTimePtr(sent), nullTimePtr(answer)
	s.ExpiresAt, s.CreatedAt = s.ExpiresAt.UTC(), s.CreatedAt.UTC()
	return &s, nil
}

// InsertSurvey writes a survey with the hash of its link's token; a
// survey for the same resolution of the ticket already stored is not
// written again (inserted false).
func (tx *Tx) InsertSurvey(ctx context.Context, s *crm.Survey, tokenHash string) (inserted bool, err error) {
	s.CreatedAt = tx.now
	rows, err := tx.Query(ctx, `INSERT INTO desk_surveys (ticket_id, contact_id, agent_id, resolution, token_hash, expires_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticket_id, resolution) DO NOTHING RETURNING id`,
		s.TicketID, s.ContactID, s.AgentID, s.Resolution, tokenHash, s.ExpiresAt.UTC(), tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert survey: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return false, tx.db.wrap("insert survey", rows.Err())
	}
	if err := rows.Scan(&s.ID); err != nil {
		return false, tx.db.wrap("insert survey", err)
	}
	rows.Close()
	return true, tx.db.wrap("insert survey", rows.Err())
}

// SetSurveyToken sets the hash of a survey's token (which depends on its
// id, known only after the insert).
func (tx *Tx) SetSurveyToken(ctx context.Context, id int64, hash string) error {
	return tx.expectOneRow(ctx, "Survey", `UPDATE desk_surveys SET token_hash = ? WHERE id = ?`, hash, id)
}

// FindSurveyByToken returns the survey whose link's token hashes to hash.
// With lock the row stays locked until the transaction ends.
func (tx *Tx) FindSurveyByToken(ctx context.Context, hash string, lock bool) (*crm.Survey, error) {
	q := `SELECT ` + surveyColumns + ` FROM desk_surveys WHERE token_hash = ?`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	s, err := scanSurvey(tx.QueryRow(ctx, q, hash))
	if err != nil {
		return nil, tx.NotFound(err, "Survey")
	}
	return s, nil
}

// FindSurvey returns a survey by id.
func (tx *Tx) FindSurvey(ctx context.Context, id int64) (*crm.Survey, error) {
	s, err := scanSurvey(tx.QueryRow(ctx, `SELECT `+surveyColumns+` FROM desk_surveys WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Survey")
	}
	return s, nil
}

// AnswerSurvey records a rating and comment once; answered is false when
// the survey was answered before.
func (tx *Tx) AnswerSurvey(ctx context.Context, id int64, rating int, comment string) (answered bool, err error) {
	res, err := tx.Exec(ctx, `UPDATE desk_surveys SET rating = ?, comment = ?, answered_at = ? WHERE id = ? AND answered_at IS NULL`,
		rating, comment, tx.now, id)
	if err != nil {
		return false, fmt.Errorf("store: answer survey: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, tx.db.wrap("answer survey", err)
}

// MarkSurveySent records when the survey's email was accepted.
func (tx *Tx) MarkSurveySent(ctx context.Context, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE desk_surveys SET sent_at = ? WHERE id = ? AND sent_at IS NULL`, tx.now, id)
	return err
}

// TicketSurveys returns the surveys of a ticket, oldest first.
func (tx *Tx) TicketSurveys(ctx context.Context, ticketID int64) ([]*crm.Survey, error) {
	return tx.surveys(ctx, `WHERE ticket_id = ? ORDER BY id`, ticketID)
}

// ListSurveys returns answered surveys (all surveys unless answeredOnly)
// newest first, with keyset paging on the id.
func (tx *Tx) ListSurveys(ctx context.Context, answeredOnly bool, page crm.Page) ([]*crm.Survey, string, error) {
	limit := crm.ClampLimit(page.Limit)
	var w conds
	if answeredOnly {
		w.add(`answered_at IS NOT NULL`)
	}
	if page.After != "" {
		after, err := crm.DecodeIDCursor(page.After)
		if err != nil {
			return nil, "", err
		}
		w.add(`id < ?`, after)
	}
	out, err := pageRows(ctx, tx, `SELECT `+surveyColumns+` FROM desk_surveys`+w.sql()+` ORDER BY id DESC LIMIT ?`, w.args, limit, "surveys", scanSurvey)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	return out, next, nil
}

func (tx *Tx) surveys(ctx context.Context, where string, args ...any) ([]*crm.Survey, error) {
	rows, err := tx.Query(ctx, `SELECT `+surveyColumns+` FROM desk_surveys `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []*crm.Survey
	err = forEachRow(rows, func(r *sql.Rows) error {
		s, err := scanSurvey(r)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, tx.db.wrap("surveys", err)
}

// --- Returns ---

const deskReturnColumns = `id, ticket_id, contact_id, order_id, order_line_id, product, sku, quantity, reason, resolution, notes,
	COALESCE(created_by, 0), created_at, resolved_at, updated_at`

func scanDeskReturn(row rowScanner) (*crm.ReturnRequest, error) {
	var (
		r        crm.ReturnRequest
		resolved sql.NullTime
	)
	err := row.Scan(&r.ID, &r.TicketID, &r.ContactID, &r.OrderID, &r.OrderLineID, &r.Product, &r.SKU, &r.Quantity, &r.Reason, &r.Resolution,
		&r.Notes, &r.CreatedBy, &r.CreatedAt, &resolved, &r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	r.ResolvedAt = nullTimePtr(resolved)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// InsertReturnRequest writes r and fills in its id and times.
func (tx *Tx) InsertReturnRequest(ctx context.Context, r *crm.ReturnRequest) error {
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO desk_returns (ticket_id, contact_id, order_id, order_line_id, product, sku, quantity, reason,
		resolution, notes, created_by, created_at, resolved_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.TicketID, r.ContactID, r.OrderID, r.OrderLineID, r.Product, r.SKU, r.Quantity, r.Reason, r.Resolution, r.Notes, nullID(r.CreatedBy),
		tx.now, nullableTime(utcMicroPtr(r.ResolvedAt)), tx.now)
	if err != nil {
		return fmt.Errorf("store: insert return request: %w", err)
	}
	r.ID = id
	return nil
}

// UpdateReturnRequest writes r's reason, resolution and notes.
func (tx *Tx) UpdateReturnRequest(ctx context.Context, r *crm.ReturnRequest) error {
	r.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Return request", `UPDATE desk_returns SET reason = ?, resolution = ?, notes = ?, resolved_at = ?, updated_at = ? WHERE id = ?`,
		r.Reason, r.Resolution, r.Notes, nullableTime(utcMicroPtr(r.ResolvedAt)), tx.now, r.ID)
}

// FindReturnRequest returns a return request; with lock the row stays
// locked until the transaction ends.
func (tx *Tx) FindReturnRequest(ctx context.Context, id int64, lock bool) (*crm.ReturnRequest, error) {
	q := `SELECT ` + deskReturnColumns + ` FROM desk_returns WHERE id = ?`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	r, err := scanDeskReturn(tx.QueryRow(ctx, q, id))
	if err != nil {
		return nil, tx.NotFound(err, "Return request")
	}
	return r, nil
}

// ReturnRequestFilter selects return requests, newest first.
type ReturnRequestFilter struct {
	TicketID int64
	Open     bool // not resolved yet
	Reason   string
	From, To *time.Time
	Limit    int
	After    string
}

// ListReturnRequests lists return requests newest first with keyset
// paging.
func (tx *Tx) ListReturnRequests(ctx context.Context, f ReturnRequestFilter) ([]*crm.ReturnRequest, string, error) {
	limit := crm.ClampLimit(f.Limit)
	var w conds
	if f.TicketID != 0 {
		w.add(`ticket_id = ?`, f.TicketID)
	}
	if f.Open {
		w.add(`resolution = ''`)
	}
	if f.Reason != "" {
		w.add(`reason = ?`, f.Reason)
	}
	if f.From != nil {
		w.add(`created_at >= ?`, f.From.UTC())
	}
	if f.To != nil {
		w.add(`created_at < ?`, f.To.UTC())
	}
	if f.After != "" {
		after, err := crm.DecodeIDCursor(f.After)
		if err != nil {
			return nil, "", err
		}
		w.add(`id < ?`, after)
	}
	out, err := pageRows(ctx, tx, `SELECT `+deskReturnColumns+` FROM desk_returns`+w.sql()+` ORDER BY id DESC LIMIT ?`, w.args, limit, "returns", scanDeskReturn)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	return out, next, nil
}

// OrderLineRef is an order line as a return request names it.
type OrderLineRef struct {
	OrderID          int64
	LineID           int64
	ContactID        int64
	SKU              string
	Name             string
	Quantity         int64
	ReturnedQuantity int64
	PlacedAt         time.Time
}

// FindOrderLineRef returns an order line and its order's customer; ok is
// false when there is no such line.
func (tx *Tx) FindOrderLineRef(ctx context.Context, lineID int64) (OrderLineRef, bool, error) {
	r := OrderLineRef{LineID: lineID}
	err := tx.QueryRow(ctx, `SELECT l.order_id, o.contact_id, l.sku, l.name, l.quantity, l.returned_quantity, o.placed_at
		FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.id = ?`, lineID).
		Scan(&r.OrderID, &r.ContactID, &r.SKU, &r.Name, &r.Quantity, &r.ReturnedQuantity, &r.PlacedAt)
	if err == sql.ErrNoRows {
		return r, false, nil
	}
	r.PlacedAt = r.PlacedAt.UTC()
	return r, err == nil, tx.db.wrap("order line", err)
}

// OpenReturnQuantity is how many items of an order line the return
// requests not yet settled ask for.
func (tx *Tx) OpenReturnQuantity(ctx context.Context, lineID int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(quantity), 0) FROM desk_returns WHERE order_line_id = ? AND resolution = ''`, lineID).Scan(&n)
	return n, tx.db.wrap("open return quantity", err)
}

// ContactOrderLines returns the lines of a person's latest orders (newest
// order first), for the return form's choice.
func (tx *Tx) ContactOrderLines(ctx context.Context, contactID int64, limit int) ([]OrderLineRef, error) {
	rows, err := tx.Query(ctx, `SELECT l.order_id, l.id, o.contact_id, l.sku, l.name, l.quantity, l.returned_quantity, o.placed_at
		FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.contact_id = ? ORDER BY o.id DESC, l.id LIMIT ?`, contactID, limit)
	if err != nil {
		return nil, err
	}
	var out []OrderLineRef
	err = forEachRow(rows, func(r *sql.Rows) error {
		var x OrderLineRef
		if err := r.Scan(&x.OrderID, &x.LineID, &x.ContactID, &x.SKU, &x.Name, &x.Quantity, &x.ReturnedQuantity, &x.PlacedAt); err != nil {
			return err
		}
		x.PlacedAt = x.PlacedAt.UTC()
		out = append(out, x)
		return nil
	})
	return out, tx.db.wrap("contact order lines", err)
}
