package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// --- Webhook subscriptions (internal/webhook) ---

const webhookColumns = `id, name, url, event_types, secret, active, failures, disabled_at, last_success, created_at, updated_at`

func scanWebhook(row rowScanner) (*crm.WebhookSubscription, string, error) {
	var (
		w                 crm.WebhookSubscription
		types, secret     string
		disabled, success sql.NullTime
	)
	if err := row.Scan(&w.ID, &w.Name, &w.URL, &types, &secret, &w.Active, &w.Failures, &disabled, &success, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, "", err
	}
	w.EventTypes = strings.Fields(types)
	if disabled.Valid {
		t := disabled.Time.UTC()
		w.DisabledAt = &t
	}
	if success.Valid {
		t := success.Time.UTC()
		w.LastSuccess = &t
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	if len(secret) > 10 {
		w.SecretHint = secret[:10]
	}
	return &w, secret, nil
}

// InsertWebhook stores a new subscription with its signing secret.
func (tx *Tx) InsertWebhook(ctx context.Context, w *crm.WebhookSubscription, secret string) error {
	w.CreatedAt, w.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO webhook_subscriptions (name, url, event_types, secret, active, failures, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`, w.Name, w.URL, strings.Join(w.EventTypes, " "), secret, w.Active, tx.now, tx.now)
	if err != nil {
		return err
	}
	w.ID = id
	if len(secret) > 10 {
		w.SecretHint = secret[:10]
	}
	return nil
}

// UpdateWebhook changes a subscription's name, URL, types and state. A
// subscription switched on again starts with no failures counted.
func (tx *Tx) UpdateWebhook(ctx context.Context, w *crm.WebhookSubscription) error {
	w.UpdatedAt = tx.now
	if w.Active {
		w.Failures, w.DisabledAt = 0, nil
	}
	return tx.expectOneRow(ctx, "Webhook", `UPDATE webhook_subscriptions SET name = ?, url = ?, event_types = ?, active = ?,
		failures = ?, disabled_at = ?, updated_at = ? WHERE id = ?`,
		w.Name, w.URL, strings.Join(w.EventTypes, " "), w.Active, w.Failures, nullableTime(w.DisabledAt), tx.now, w.ID)
}

// SetWebhookSecret replaces a subscription's signing secret.
func (tx *Tx) SetWebhookSecret(ctx context.Context, id int64, secret string) error {
	return tx.expectOneRow(ctx, "Webhook", `UPDATE webhook_subscriptions SET secret = ?, updated_at = ? WHERE id = ?`, secret, tx.now, id)
}

// Webhook returns a subscription and its secret, or ENOTFOUND.
func (tx *Tx) Webhook(ctx context.Context, id int64) (*crm.WebhookSubscription, string, error) {
	w, secret, err := scanWebhook(tx.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhook_subscriptions WHERE id = ?`, id))
	if err != nil {
		return nil, "", tx.NotFound(err, "Webhook")
	}
	return w, secret, nil
}

// Webhooks returns every subscription by id; activeOnly leaves out those
// switched off.
func (tx *Tx) Webhooks(ctx context.Context, activeOnly bool) ([]*crm.WebhookSubscription, error) {
	q := `SELECT ` + webhookColumns + ` FROM webhook_subscriptions`
	if activeOnly {
		q += ` WHERE active = TRUE`
	}
	rows, err := tx.Query(ctx, q+` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.WebhookSubscription
	for rows.Next() {
		w, _, err := scanWebhook(rows)
		if err != nil {
			return nil, tx.db.wrap("scan webhooks", err)
		}
		out = append(out, w)
	}
	return out, tx.db.wrap("list webhooks", rows.Err())
}

// DeleteWebhook removes a subscription with its deliveries and log.
func (tx *Tx) DeleteWebhook(ctx context.Context, id int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE subscription_id = ?)`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE subscription_id = ?`, id); err != nil {
		return err
	}
	return tx.expectOneRow(ctx, "Webhook", `DELETE FROM webhook_subscriptions WHERE id = ?`, id)
}

// WebhookOutcome counts a finished automatic delivery of a subscription:
// a success resets its failures, a failure adds one. When the failures
// reach disableAfter (> 0) the subscription is switched off, once, and
// disabled reports it.
func (tx *Tx) WebhookOutcome(ctx context.Context, id int64, ok bool, disableAfter int) (disabled bool, err error) {
	if ok {
		_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET failures = 0, last_success = ? WHERE id = ?`, tx.now, id)
		return false, err
	}
	if _, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET failures = failures + 1 WHERE id = ?`, id); err != nil {
		return false, err
	}
	if disableAfter <= 0 {
		return false, nil
	}
	res, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET active = FALSE, disabled_at = ?, updated_at = ?
		WHERE id = ? AND active = TRUE AND failures >= ?`, tx.now, tx.now, id, disableAfter)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, tx.db.wrap("disable webhook", err)
}

// --- Deliveries ---

const webhookDeliveryColumns = `id, subscription_id, COALESCE(event_id, 0), event_type, body, status, attempts, next_attempt_at, status_code, manual, created_at, updated_at`

func scanWebhookDelivery(row rowScanner) (*crm.WebhookDelivery, error) {
	var (
		d    crm.WebhookDelivery
		body string
		next sql.NullTime
	)
	if err := row.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventType, &body, &d.Status, &d.Attempts, &next, &d.StatusCode, &d.Manual,
		&d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.Body = crm.RawJSON(body)
	if next.Valid {
		t := next.Time.UTC()
		d.NextAttemptAt = &t
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// InsertWebhookDelivery adds a pending delivery. For an event (EventID >
// 0) a second insert for the same subscription and event adds nothing and
// reports created=false.
func (tx *Tx) InsertWebhookDelivery(ctx context.Context, d *crm.WebhookDelivery) (created bool, err error) {
	d.Status, d.CreatedAt, d.UpdatedAt = crm.WebhookPending, tx.now, tx.now
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO webhook_deliveries (subscription_id, event_id, event_type, body, status, attempts, status_code, manual, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?, ?)
		ON CONFLICT (subscription_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
		RETURNING id`, d.SubscriptionID, nullID(d.EventID), d.EventType, string(d.Body), d.Status, d.Manual, tx.now, tx.now).Scan(&id)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, tx.db.wrap("insert webhook delivery", err)
	}
	d.ID = id
	return true, nil
}

// WebhookDelivery returns a delivery, or ENOTFOUND.
func (tx *Tx) WebhookDelivery(ctx context.Context, id int64) (*crm.WebhookDelivery, error) {
	d, err := scanWebhookDelivery(tx.QueryRow(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Delivery")
	}
	return d, nil
}

// WebhookDeliveries lists a subscription's deliveries newest first (one
// status when status is not ""), keyset-paged on the id.
func (tx *Tx) WebhookDeliveries(ctx context.Context, subID int64, status string, page crm.Page) ([]*crm.WebhookDelivery, string, error) {
	before, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(page.Limit)
	var c conds
	c.add("subscription_id = ?", subID)
	if status != "" {
		c.add("status = ?", status)
	}
	if before > 0 {
		c.add("id < ?", before)
	}
	out, err := pageRows(ctx, tx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries`+c.sql()+` ORDER BY id DESC LIMIT ?`, c.args, limit, "webhook deliveries", scanWebhookDelivery)
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

// UpdateWebhookDelivery records the outcome of attempt number attempt: the
// new status, when the next attempt is due (nil: none) and the answer's
// status code. It changes nothing and reports false when the delivery has
// moved on meanwhile (another worker recorded this attempt, or it was
// redelivered or skipped).
func (tx *Tx) UpdateWebhookDelivery(ctx context.Context, id int64, attempt int, status string, next *time.Time, code int) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, status_code = ?, updated_at = ?
		WHERE id = ? AND status = ? AND attempts = ?`, status, attempt, nullableTime(next), code, tx.now, id, crm.WebhookPending, attempt-1)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, tx.db.wrap("update webhook delivery", err)
}

// ReopenWebhookDelivery makes a finished delivery pending again for a
// manual redelivery and returns its attempt count. A pending delivery is
// left as it is (ECONFLICT).
func (tx *Tx) ReopenWebhookDelivery(ctx context.Context, id int64) (attempts int, err error) {
	err = tx.QueryRow(ctx, `UPDATE webhook_deliveries SET status = ?, manual = TRUE, next_attempt_at = ?, updated_at = ?
		WHERE id = ? AND status <> ? RETURNING attempts`, crm.WebhookPending, tx.now, tx.now, id, crm.WebhookPending).Scan(&attempts)
	if err == sql.ErrNoRows {
		if _, err := tx.WebhookDelivery(ctx, id); err != nil {
			return 0, err
		}
		return 0, crm.Errorf(crm.ECONFLICT, "This delivery is already queued.")
	}
	return attempts, tx.db.wrap("reopen webhook delivery", err)
}

// SkipWebhookDeliveries marks a subscription's pending automatic
// deliveries skipped (it was switched off) and returns how many.
func (tx *Tx) SkipWebhookDeliveries(ctx context.Context, subID int64) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = ?, next_attempt_at = NULL, updated_at = ?
		WHERE subscription_id = ? AND status = ? AND manual = FALSE`, crm.WebhookSkipped, tx.now, subID, crm.WebhookPending)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, tx.db.wrap("skip webhook deliveries", err)
}

// InsertWebhookAttempt logs one HTTP attempt.
func (tx *Tx) InsertWebhookAttempt(ctx context.Context, a *crm.WebhookAttempt) error {
	id, err := tx.InsertID(ctx, `INSERT INTO webhook_attempts (delivery_id, attempt, started_at, latency_ms, status_code, error, response, retry_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.DeliveryID, a.Attempt, a.StartedAt.UTC(), a.LatencyMS, a.StatusCode,
		a.Error, a.Response, nullableTime(a.RetryAt))
	if err != nil {
		return err
	}
	a.ID = id
	return nil
}

// WebhookAttempts returns the attempts of deliveries, oldest first, by
// delivery id.
func (tx *Tx) WebhookAttempts(ctx context.Context, deliveryIDs []int64) (map[int64][]crm.WebhookAttempt, error) {
	out := map[int64][]crm.WebhookAttempt{}
	if len(deliveryIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(deliveryIDs))
	for i, id := range deliveryIDs {
		args[i] = id
	}
	rows, err := tx.Query(ctx, `SELECT id, delivery_id, attempt, started_at, latency_ms, status_code, error, response, retry_at
		FROM webhook_attempts WHERE delivery_id IN (`+Placeholders(len(args))+`) ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a     crm.WebhookAttempt
			retry sql.NullTime
		)
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.Attempt, &a.StartedAt, &a.LatencyMS, &a.StatusCode, &a.Error, &a.Response, &retry); err != nil {
			return nil, tx.db.wrap("scan webhook attempts", err)
		}
		a.StartedAt = a.StartedAt.UTC()
		if retry.Valid {
			t := retry.Time.UTC()
			a.RetryAt = &t
		}
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, tx.db.wrap("list webhook attempts", rows.Err())
}

// --- Inbound hooks ---

const webhookInboundColumns = `id, name, active, token_prefix, received, last_at, created_at, updated_at`

func scanWebhookInbound(row rowScanner, extra ...any) (*crm.InboundHook, error) {
	var (
		h    crm.InboundHook
		last sql.NullTime
	)
	if err := row.Scan(append([]any{&h.ID, &h.Name, &h.Active, &h.TokenPrefix, &h.Received, &last, &h.CreatedAt, &h.UpdatedAt}, extra...)...); err != nil {
		return nil, err
	}
	if last.Valid {
		t := last.Time.UTC()
		h.LastAt = &t
	}
	h.CreatedAt, h.UpdatedAt = h.CreatedAt.UTC(), h.UpdatedAt.UTC()
	return &h, nil
}

// InsertInboundHook stores a hook by its token's prefix and hash.
func (tx *Tx) InsertInboundHook(ctx context.Context, h *crm.InboundHook, tokenHash string) error {
	h.CreatedAt, h.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO webhook_inbound (name, token_prefix, token_hash, active, received, created_at, updated_at)
		VALUES (?, ?, ?, ?, 0, ?, ?) RETURNING id`, h.Name, h.TokenPrefix, tokenHash, h.Active, tx.now, tx.now)
	if err != nil {
		return err
	}
	h.ID = id
	return nil
}

// UpdateInboundHook changes a hook's name and state.
func (tx *Tx) UpdateInboundHook(ctx context.Context, h *crm.InboundHook) error {
	h.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Inbound hook", `UPDATE webhook_inbound SET name = ?, active = ?, updated_at = ? WHERE id = ?`, h.Name, h.Active, tx.now, h.ID)
}

// SetInboundToken replaces a hook's token.
func (tx *Tx) SetInboundToken(ctx context.Context, id int64, prefix, hash string) error {
	return tx.expectOneRow(ctx, "Inbound hook", `UPDATE webhook_inbound SET token_prefix = ?, token_hash = ?, updated_at = ? WHERE id = ?`, prefix, hash, tx.now, id)
}

// InboundHook returns a hook, or ENOTFOUND.
func (tx *Tx) InboundHook(ctx context.Context, id int64) (*crm.InboundHook, error) {
	h, err := scanWebhookInbound(tx.QueryRow(ctx, `SELECT `+webhookInboundColumns+` FROM webhook_inbound WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Inbound hook")
	}
	return h, nil
}

// InboundHookByPrefix returns the hook whose token starts with prefix and
// the token's hash, or ENOTFOUND.
func (tx *Tx) InboundHookByPrefix(ctx context.Context, prefix string) (*crm.InboundHook, string, error) {
	var hash string
	h, err := scanWebhookInbound(tx.QueryRow(ctx, `SELECT `+webhookInboundColumns+`, token_hash FROM webhook_inbound WHERE token_prefix = ?`, prefix), &hash)
	if err != nil {
		return nil, "", tx.NotFound(err, "Inbound hook")
	}
	return h, hash, nil
}

// InboundHooks returns every inbound hook by id.
func (tx *Tx) InboundHooks(ctx context.Context) ([]*crm.InboundHook, error) {
	rows, err := tx.Query(ctx, `SELECT `+webhookInboundColumns+` FROM webhook_inbound ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.InboundHook
	for rows.Next() {
		h, err := scanWebhookInbound(rows)
		if err != nil {
			return nil, tx.db.wrap("scan inbound hooks", err)
		}
		out = append(out, h)
	}
	return out, tx.db.wrap("list inbound hooks", rows.Err())
}

// DeleteInboundHook removes a hook and what it received (the events stay).
func (tx *Tx) DeleteInboundHook(ctx context.Context, id int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM webhook_receipts WHERE hook_id = ?`, id); err != nil {
		return err
	}
	return tx.expectOneRow(ctx, "Inbound hook", `DELETE FROM webhook_inbound WHERE id = ?`, id)
}

// InsertInboundReceipt records a received document and counts it on its hook.
func (tx *Tx) InsertInboundReceipt(ctx context.Context, r *crm.InboundReceipt) error {
	r.ReceivedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO webhook_receipts (hook_id, event_id, received_at, remote_ip, size, body)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, r.HookID, r.EventID, tx.now, r.RemoteIP, r.Size, string(r.Body))
	if err != nil {
		return err
	}
	r.ID = id
	_, err = tx.Exec(ctx, `UPDATE webhook_inbound SET received = received + 1, last_at = ? WHERE id = ?`, tx.now, r.HookID)
	return err
}

// SetInboundReceiptEvent links a receipt to the event that announced it.
func (tx *Tx) SetInboundReceiptEvent(ctx context.Context, id, eventID int64) error {
	_, err := tx.Exec(ctx, `UPDATE webhook_receipts SET event_id = ? WHERE id = ?`, eventID, id)
	return err
}

// InboundReceipts lists what a hook received, newest first, keyset-paged.
func (tx *Tx) InboundReceipts(ctx context.Context, hookID int64, page crm.Page) ([]*crm.InboundReceipt, string, error) {
	before, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(page.Limit)
	var c conds
	c.add("hook_id = ?", hookID)
	if before > 0 {
		c.add("id < ?", before)
	}
	out, err := pageRows(ctx, tx, `SELECT id, hook_id, event_id, received_at, remote_ip, size, body FROM webhook_receipts`+c.sql()+` ORDER BY id DESC LIMIT ?`,
		c.args, limit, "inbound receipts", func(row rowScanner) (*crm.InboundReceipt, error) {
			var (
				r    crm.InboundReceipt
				body string
			)
			err := row.Scan(&r.ID, &r.HookID, &r.EventID, &r.ReceivedAt, &r.RemoteIP, &r.Size, &body)
			r.Body, r.ReceivedAt = crm.RawJSON(body), r.ReceivedAt.UTC()
			return &r, err
		})
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

// --- Settings ---

const webhookSettingsKey = "webhooks"

// WebhookSettings returns the installation's webhook rules (empty when
// never saved).
func (tx *Tx) WebhookSettings(ctx context.Context) (crm.WebhookSettings, error) {
	var (
		v   string
		out crm.WebhookSettings
	)
	err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, webhookSettingsKey).Scan(&v)
	if err == sql.ErrNoRows {
		return out, nil
	}
	if err != nil {
		return out, tx.db.wrap("webhook settings", err)
	}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return out, tx.db.wrap("webhook settings", err)
	}
	return out, nil
}

// SaveWebhookSettings stores the installation's webhook rules.
func (tx *Tx) SaveWebhookSettings(ctx context.Context, s crm.WebhookSettings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, webhookSettingsKey, string(b), tx.now)
	return err
}
