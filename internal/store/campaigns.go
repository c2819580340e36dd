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

// Campaigns (internal/campaign): campaigns, their delivery rows (one per
// campaign and person, the unique key campaign_deliveries_one), tracking
// events and the campaign suppression list. Migration 0018.

const campaignColumns = `id, name, channel, status, audience_kind, audience_id, from_name, from_address, default_language, content,
	coupon_batch_id, attribution_days, audience_count, audience_ready, started_at, finished_at, COALESCE(created_by, 0), version, created_at, updated_at,
	ab_test, ab_winner, ab_decide_at, ab_decided_at, scheduled_at`

func scanCampaign(row rowScanner) (*crm.Campaign, error) {
	var (
		c               crm.Campaign
		content, ab     string
		started, finish sql.NullTime
		decide, decided sql.NullTime
		scheduled       sql.NullTime
	)
	err := row.Scan(&c.ID, &c.Name, &c.Channel, &c.Status, &c.AudienceKind, &c.AudienceID, &c.FromName, &c.FromAddress, &c.DefaultLanguage,
		&content, &c.CouponBatchID, &c.AttributionDays, &c.AudienceCount, &c.AudienceReady, &started, &finish, &c.CreatedBy, &c.Version,
		&c.CreatedAt, &c.UpdatedAt, &ab, &c.ABWinner, &decide, &decided, &scheduled)
	if err != nil {
		return nil, err
	}
	if ab != "" {
		c.AB = &crm.ABTest{}
		if err := json.Unmarshal([]byte(ab), c.AB); err != nil {
			return nil, fmt.Errorf("campaign %d ab_test: %w", c.ID, err)
		}
	}
	c.ABDecideAt, c.ABDecidedAt = nullTimePtr(decide), nullTimePtr(decided)
	c.Content = map[string]crm.CampaignContent{}
	if err := json.Unmarshal([]byte(content), &c.Content); err != nil {
		return nil, fmt.Errorf("campaign %d content: %w", c.ID, err)
	}
	c.StartedAt, c.FinishedAt = nullTimePtr(started), nullTimePtr(finish)
	c.ScheduledAt = nullTimePtr(scheduled)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// InsertCampaign stores a new campaign.
func (tx *Tx) InsertCampaign(ctx context.Context, c *crm.Campaign) error {
	content, err := json.Marshal(c.Content)
	if err != nil {
		return err
	}
	ab, err := abJSON(c.AB)
	if err != nil {
		return err
	}
	c.CreatedAt, c.UpdatedAt, c.Version, c.ABWinner = tx.now, tx.now, 1, -1
	c.ID, err = tx.InsertID(ctx, `INSERT INTO campaigns (name, channel, status, audience_kind, audience_id, from_name, from_address,
		default_language, content, coupon_batch_id, attribution_days, created_by, version, created_at, updated_at, ab_test)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`,
		c.Name, c.Channel, c.Status, c.AudienceKind, c.AudienceID, c.FromName, c.FromAddress, c.DefaultLanguage, string(content),
		c.CouponBatchID, c.AttributionDays, nullID(c.CreatedBy), tx.now, tx.now, ab)
	return err
}

// UpdateCampaign writes a campaign's editable fields and bumps its version.
func (tx *Tx) UpdateCampaign(ctx context.Context, c *crm.Campaign) error {
	content, err := json.Marshal(c.Content)
	if err != nil {
		return err
	}
	ab, err := abJSON(c.AB)
	if err != nil {
		return err
	}
	c.UpdatedAt = tx.now
	c.Version++
	return tx.expectOneRow(ctx, "Campaign", `UPDATE campaigns SET name = ?, channel = ?, audience_kind = ?, audience_id = ?, from_name = ?,
		from_address = ?, default_language = ?, content = ?, coupon_batch_id = ?, attribution_days = ?, version = ?, updated_at = ?,
		ab_test = ? WHERE id = ?`,
		c.Name, c.Channel, c.AudienceKind, c.AudienceID, c.FromName, c.FromAddress, c.DefaultLanguage, string(content), c.CouponBatchID,
		c.AttributionDays, c.Version, tx.now, ab, c.ID)
}

func abJSON(ab *crm.ABTest) (string, error) {
	if ab == nil {
		return "", nil
	}
	b, err := json.Marshal(ab)
	return string(b), err
}

// SetCampaignABDecideAt records when an A/B test's winner is to be picked.
func (tx *Tx) SetCampaignABDecideAt(ctx context.Context, id int64, at time.Time) error {
	return tx.expectOneRow(ctx, "Campaign", `UPDATE campaigns SET ab_decide_at = ?, updated_at = ? WHERE id = ?`, at.UTC(), tx.now, id)
}

// SetCampaignABWinner records an A/B test's winner (once: false when one
// was chosen already).
func (tx *Tx) SetCampaignABWinner(ctx context.Context, id int64, variant int) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE campaigns SET ab_winner = ?, ab_decided_at = ?, updated_at = ?, version = version + 1
		WHERE id = ? AND ab_winner < 0`, variant, tx.now, tx.now, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseHeldDeliveries queues the rest of an A/B test's audience with
// the variant chosen for them; it returns how many.
func (tx *Tx) ReleaseHeldDeliveries(ctx context.Context, campaignID int64, variant int) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET status = 'queued', variant = ?, next_at = ?, updated_at = ?
		WHERE campaign_id = ? AND status = 'held'`, variant, tx.now, tx.now, campaignID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CampaignHeld counts the deliveries of a campaign held for an A/B
// test's winner.
func (tx *Tx) CampaignHeld(ctx context.Context, campaignID int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM campaign_deliveries WHERE campaign_id = ? AND status = 'held'`, campaignID).Scan(&n)
	return n, tx.db.wrap("campaign held", err)
}

// FindCampaign returns a campaign; with lock the row stays locked until
// the transaction ends.
func (tx *Tx) FindCampaign(ctx context.Context, id int64, lock bool) (*crm.Campaign, error) {
	q := `SELECT ` + campaignColumns + ` FROM campaigns WHERE id = ?`
	if lock {
		q += tx.Dialect().forUpdate()
	}
	c, err := scanCampaign(tx.QueryRow(ctx, q, id))
	if err != nil {
		return nil, tx.NotFound(err, "Campaign")
	}
	return c, nil
}

// ListCampaigns lists campaigns newest first, filtered by status when set.
func (tx *Tx) ListCampaigns(ctx context.Context, status string, p crm.Page) ([]*crm.Campaign, string, error) {
	var c conds
	if status != "" {
		c.add("status = ?", status)
	}
	if p.After != "" {
		id, err := crm.DecodeIDCursor(p.After)
		if err != nil {
			return nil, "", err
		}
		c.add("id < ?", id)
	}
	limit := crm.ClampLimit(p.Limit)
	out, err := pageRows(ctx, tx, `SELECT `+campaignColumns+` FROM campaigns`+c.sql()+` ORDER BY id DESC LIMIT ?`, c.args, limit, "campaigns",
		func(r rowScanner) (*crm.Campaign, error) { return scanCampaign(r) })
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[len(out)-1].ID)
	}
	return out, next, nil
}

// DeleteCampaign removes a campaign and its rows.
func (tx *Tx) DeleteCampaign(ctx context.Context, id int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM campaign_events WHERE campaign_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM campaign_deliveries WHERE campaign_id = ?`, id); err != nil {
		return err
	}
	return tx.expectOneRow(ctx, "Campaign", `DELETE FROM campaigns WHERE id = ?`, id)
}

// SetCampaignStatus changes a campaign's status; started and finished
// times are set when given and not set yet.
func (tx *Tx) SetCampaignStatus(ctx context.Context, id int64, status string) error {
	q := `UPDATE campaigns SET status = ?, updated_at = ?, version = version + 1`
	args := []any{status, tx.now}
	switch status {
	case crm.CampaignSending:
		q += `, started_at = COALESCE(started_at, ?)`
		args = append(args, tx.now)
	case crm.CampaignDone, crm.CampaignCancelled:
		q += `, finished_at = COALESCE(finished_at, ?)`
		args = append(args, tx.now)
	}
	return tx.expectOneRow(ctx, "Campaign", q+` WHERE id = ?`, append(args, id)...)
}

// ScheduleCampaign sets a campaign's status with the time it is to start
// (status scheduled) or without one (at nil: back to draft, or started).
func (tx *Tx) ScheduleCampaign(ctx context.Context, id int64, status string, at *time.Time) error {
	var v any
	if at != nil {
		v = at.UTC()
	}
	return tx.expectOneRow(ctx, "Campaign", `UPDATE campaigns SET status = ?, scheduled_at = ?, updated_at = ?, version = version + 1 WHERE id = ?`,
		status, v, tx.now, id)
}

// AcquireCampaignLease takes the campaign for one sender (token) until
// until, when no other sender holds it (or its lease ran out). A sender
// renews with the same call.
func (tx *Tx) AcquireCampaignLease(ctx context.Context, id int64, token string, until time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE campaigns SET lease_token = ?, lease_until = ?
		WHERE id = ? AND (lease_token = ? OR lease_token = '' OR lease_until IS NULL OR lease_until < ?)`,
		token, until.UTC(), id, token, tx.now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseCampaignLease gives the campaign up when token still holds it.
func (tx *Tx) ReleaseCampaignLease(ctx context.Context, id int64, token string) error {
	_, err := tx.Exec(ctx, `UPDATE campaigns SET lease_token = '', lease_until = NULL WHERE id = ? AND lease_token = ?`, id, token)
	return err
}

// AddCampaignRecipients adds queued delivery rows for contacts; a person
// already in the campaign is not added again. It returns the rows added.
// variants, when not nil, gives each person's A/B variant: -1 holds the
// person for the test's winner (status held, ab_rest).
func (tx *Tx) AddCampaignRecipients(ctx context.Context, campaignID int64, contactIDs []int64, variants []int) (int64, error) {
	var added int64
	for len(contactIDs) > 0 {
		n := min(len(contactIDs), 200)
		batch := contactIDs[:n]
		contactIDs = contactIDs[n:]
		var vs []int
		if variants != nil {
			vs, variants = variants[:n], variants[n:]
		}
		var sb strings.Builder
		args := make([]any, 0, n*8)
		for i, id := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
			status, variant, rest := "queued", 0, false
			if vs != nil {
				variant = vs[i]
			}
			if variant < 0 {
				status, rest = crm.MessageHeld, true
			}
			args = append(args, campaignID, id, status, variant, rest, tx.now, tx.now, tx.now)
		}
		res, err := tx.Exec(ctx, `INSERT INTO campaign_deliveries (campaign_id, contact_id, status, variant, ab_rest, next_at, created_at, updated_at)
			VALUES `+sb.String()+` ON CONFLICT (campaign_id, contact_id) DO NOTHING`, args...)
		if err != nil {
			return added, fmt.Errorf("store: add campaign recipients: %w", err)
		}
		k, _ := res.RowsAffected()
		added += k
	}
	return added, nil
}

// SetCampaignAudienceReady records that the audience is stored.
func (tx *Tx) SetCampaignAudienceReady(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Campaign", `UPDATE campaigns SET audience_ready = TRUE,
		audience_count = (SELECT COUNT(*) FROM campaign_deliveries WHERE campaign_id = ?) WHERE id = ?`, id, id)
}

// AllContactIDs calls fn with the id of every person, in id order.
func (tx *Tx) AllContactIDs(ctx context.Context, fn func(id int64) error) error {
	// A page at a time, with no rows open while fn runs: fn may write in
	// tx, and a PostgreSQL connection runs one statement at a time (a
	// write while a result is being read breaks it).
	const page = 1000
	ids := make([]int64, 0, page)
	for after := int64(0); ; {
		rows, err := tx.Query(ctx, `SELECT id FROM contacts WHERE id > ? ORDER BY id LIMIT ?`, after, page)
		if err != nil {
			return err
		}
		ids = ids[:0]
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return tx.db.wrap("contact ids", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return tx.db.wrap("contact ids", err)
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(ids) < page {
			return nil
		}
		after = ids[len(ids)-1]
	}
}

// FailInterruptedDeliveries marks deliveries another sender claimed and
// never finished (it died) as failed: whether the server took the message
// is unknown, and sending again could send it twice (at most once).
func (tx *Tx) FailInterruptedDeliveries(ctx context.Context, campaignID int64, token string) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET status = 'failed', reason = 'interrupted', updated_at = ?
		WHERE campaign_id = ? AND status = 'sending' AND claim_token <> ?`, tx.now, campaignID, token)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ClaimDeliveries marks up to n due queued deliveries of a campaign as
// being sent by token and returns them, the longest due first. (In the
// order of campaign_deliveries_queue: by id alone, every claim sorted all
// the queued rows, a quadratic send.)
func (tx *Tx) ClaimDeliveries(ctx context.Context, campaignID int64, token string, n int) ([]*crm.CampaignDelivery, error) {
	rows, err := tx.Query(ctx, `UPDATE campaign_deliveries SET status = 'sending', claim_token = ?, attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM campaign_deliveries WHERE campaign_id = ? AND status = 'queued' AND next_at <= ? ORDER BY next_at, id LIMIT ?)
		RETURNING id, contact_id, attempts, variant, ab_rest`, token, tx.now, campaignID, tx.now, n)
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	defer rows.Close()
	var out []*crm.CampaignDelivery
	for rows.Next() {
		d := &crm.CampaignDelivery{CampaignID: campaignID, Status: crm.MessageSending}
		if err := rows.Scan(&d.ID, &d.ContactID, &d.Attempts, &d.Variant, &d.ABRest); err != nil {
			return nil, tx.db.wrap("claim deliveries", err)
		}
		out = append(out, d)
	}
	return out, tx.db.wrap("claim deliveries", rows.Err())
}

// FinishDelivery records the outcome of a claimed delivery (sent, failed
// or skipped), only while token still holds it; ok false means another
// sender took it over.
func (tx *Tx) FinishDelivery(ctx context.Context, d *crm.CampaignDelivery, token string) (bool, error) {
	var sent, until any
	if d.Status == crm.MessageSent {
		sent = tx.now
		if d.AttributionUntil != nil {
			until = d.AttributionUntil.UTC()
		}
	}
	var bounced any
	if d.BouncedAt != nil {
		bounced = tx.now
	}
	var coupon any
	if d.CouponCode != "" {
		coupon = couponIDArg(d)
	}
	res, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET status = ?, reason = ?, address = ?, language = ?, coupon_id = COALESCE(?, coupon_id),
		coupon_code = ?, sent_at = ?, bounced_at = ?, attribution_until = ?, updated_at = ? WHERE id = ? AND status = 'sending' AND claim_token = ?`,
		d.Status, d.Reason, d.Address, d.Language, coupon, d.CouponCode, sent, bounced, until, tx.now, d.ID, token)
	if err != nil {
		return false, fmt.Errorf("store: finish delivery: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// couponIDArg is the club coupon of a delivery, NULL for none.
func couponIDArg(d *crm.CampaignDelivery) any {
	if d.CouponID == 0 {
		return nil
	}
	return d.CouponID
}

// RequeueDelivery puts a claimed delivery back in the queue until next
// (a temporary failure, quiet hours), only while token holds it.
func (tx *Tx) RequeueDelivery(ctx context.Context, id int64, token, reason string, next time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET status = 'queued', reason = ?, next_at = ?, claim_token = '', updated_at = ?
		WHERE id = ? AND status = 'sending' AND claim_token = ?`, reason, next.UTC(), tx.now, id, token)
	return err
}

// SkipQueuedDeliveries marks every queued or held delivery of a campaign
// skipped with reason (a cancelled campaign); it returns how many.
func (tx *Tx) SkipQueuedDeliveries(ctx context.Context, campaignID int64, reason string) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET status = 'skipped', reason = ?, updated_at = ?
		WHERE campaign_id = ? AND status IN ('queued', 'held')`, reason, tx.now, campaignID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CampaignQueue reports how many deliveries of a campaign are queued or
// being sent, and when the earliest queued one is due (zero when none).
func (tx *Tx) CampaignQueue(ctx context.Context, campaignID int64) (pending int64, nextAt time.Time, err error) {
	err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM campaign_deliveries WHERE campaign_id = ? AND status IN ('queued', 'sending')`,
		campaignID).Scan(&pending)
	if err != nil {
		return 0, time.Time{}, tx.db.wrap("campaign queue", err)
	}
	err = tx.QueryRow(ctx, `SELECT next_at FROM campaign_deliveries WHERE campaign_id = ? AND status = 'queued' ORDER BY next_at LIMIT 1`,
		campaignID).Scan(&nextAt)
	if err == sql.ErrNoRows {
		return pending, time.Time{}, nil
	}
	return pending, nextAt.UTC(), tx.db.wrap("campaign queue", err)
}

// RecipientData reads what a campaign needs about one person: names,
// first email and phone, language, tags, the time_zone custom field,
// consents and available club points (all programs).
func (tx *Tx) RecipientData(ctx context.Context, contactID int64) (*crm.RecipientData, error) {
	rs, err := tx.RecipientsData(ctx, []int64{contactID})
	if err != nil {
		return nil, err
	}
	r := rs[contactID]
	if r == nil {
		return nil, crm.Errorf(crm.ENOTFOUND, "Contact was not found.")
	}
	return r, nil
}

// RecipientsData is RecipientData for the people of one sending batch,
// in three statements whatever their number: people, consents, points.
// People who no longer exist are missing from the map.
func (tx *Tx) RecipientsData(ctx context.Context, ids []int64) (map[int64]*crm.RecipientData, error) {
	out := make(map[int64]*crm.RecipientData, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := anyArgs(ids)
	in := Placeholders(len(ids))
	rows, err := tx.Query(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			rows.Close()
			return nil, tx.db.wrap("scan recipient", err)
		}
		r := &crm.RecipientData{ContactID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Language: c.Language, Tags: c.Tags,
			Consents: []crm.Consent{}}
		if len(c.Emails) > 0 {
			r.Email = c.Emails[0].Value
		}
		if len(c.Phones) > 0 {
			r.Phone = c.Phones[0].Value
		}
		if tz, ok := c.Custom["time_zone"].(string); ok {
			r.TimeZone = tz
		}
		out[c.ID] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, tx.db.wrap("recipients", err)
	}
	rows, err = tx.Query(ctx, `SELECT contact_id, channel, status, source, note, changed_by, changed_at FROM contact_consents
		WHERE contact_id IN (`+in+`) ORDER BY contact_id, channel`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			id int64
			c  crm.Consent
			by sql.NullInt64
		)
		if err := rows.Scan(&id, &c.Channel, &c.Status, &c.Source, &c.Note, &by, &c.ChangedAt); err != nil {
			rows.Close()
			return nil, tx.db.wrap("scan consents", err)
		}
		c.ChangedBy = by.Int64
		if r := out[id]; r != nil {
			r.Consents = append(r.Consents, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, tx.db.wrap("recipient consents", err)
	}
	rows, err = tx.Query(ctx, `SELECT contact_id, COALESCE(SUM(available), 0) FROM club_members
		WHERE contact_id IN (`+in+`) AND status = 'active' GROUP BY contact_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, points int64
		if err := rows.Scan(&id, &points); err != nil {
			return nil, tx.db.wrap("scan recipient points", err)
		}
		if r := out[id]; r != nil {
			r.Points = points
		}
	}
	return out, tx.db.wrap("recipient points", rows.Err())
}

// SuppressedHashes returns which of the hashes of erased people's
// addresses (IsSuppressed) are stored.
func (tx *Tx) SuppressedHashes(ctx context.Context, hashes []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(hashes) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT hash FROM suppressions WHERE hash IN (`+Placeholders(len(hashes))+`)`, anyArgs(hashes)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, tx.db.wrap("scan suppressions", err)
		}
		out[h] = true
	}
	return out, tx.db.wrap("suppressions", rows.Err())
}

// CampaignSuppressions is CampaignSuppressed for many addresses of one
// channel: the reason of each address that must not get campaigns.
func (tx *Tx) CampaignSuppressions(ctx context.Context, channel string, addrs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(addrs) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT address, reason FROM campaign_suppressions WHERE channel = ? AND address IN (`+
		Placeholders(len(addrs))+`)`, append([]any{channel}, anyArgs(addrs)...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a, reason string
		if err := rows.Scan(&a, &reason); err != nil {
			return nil, tx.db.wrap("scan campaign suppressions", err)
		}
		out[a] = reason
	}
	return out, tx.db.wrap("campaign suppressions", rows.Err())
}

// ContactsCampaignsSince is ContactCampaignsSince for many people: the
// messages sent to each since a time (people with none are missing).
func (tx *Tx) ContactsCampaignsSince(ctx context.Context, ids []int64, since time.Time) (map[int64]int, error) {
	out := map[int64]int{}
	if len(ids) == 0 {
		return out, nil
	}
	args := append(anyArgs(ids), since.UTC())
	rows, err := tx.Query(ctx, `SELECT contact_id, COUNT(*) FROM campaign_deliveries WHERE contact_id IN (`+Placeholders(len(ids))+
		`) AND sent_at >= ? GROUP BY contact_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, tx.db.wrap("scan contact campaigns", err)
		}
		out[id] = n
	}
	return out, tx.db.wrap("contacts campaigns", rows.Err())
}

// NextCampaignCoupon returns an active coupon of a club batch that no
// campaign delivery has been given yet; ENOTFOUND when the batch is used up.
func (tx *Tx) NextCampaignCoupon(ctx context.Context, batchID int64) (id int64, code string, err error) {
	err = tx.QueryRow(ctx, `SELECT c.id, c.code FROM club_coupons c WHERE c.batch_id = ? AND c.active
		AND NOT EXISTS (SELECT 1 FROM campaign_deliveries d WHERE d.coupon_id = c.id) ORDER BY c.id LIMIT 1`, batchID).Scan(&id, &code)
	if err != nil {
		return 0, "", tx.NotFound(err, "Coupon")
	}
	return id, code, nil
}

// SetDeliveryCoupon gives a claimed delivery its coupon at once, so that
// two deliveries in one batch never get the same one.
func (tx *Tx) SetDeliveryCoupon(ctx context.Context, deliveryID, couponID int64, code string) error {
	_, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET coupon_id = ?, coupon_code = ? WHERE id = ?`, couponID, code, deliveryID)
	return err
}

// CampaignSuppressed reports why an address must not get campaigns
// (hard_bounce, complaint), "" when it may.
func (tx *Tx) CampaignSuppressed(ctx context.Context, channel, address string) (string, error) {
	var reason string
	err := tx.QueryRow(ctx, `SELECT reason FROM campaign_suppressions WHERE channel = ? AND address = ?`, channel, address).Scan(&reason)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return reason, tx.db.wrap("campaign suppression", err)
}

// AddCampaignSuppression stops campaigns to an address.
func (tx *Tx) AddCampaignSuppression(ctx context.Context, channel, address, reason, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO campaign_suppressions (channel, address, reason, detail, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (channel, address) DO NOTHING`, channel, address, reason, detail, tx.now)
	return err
}

// ContactCampaignsSince counts the campaign messages sent to a person
// since a time, over every campaign.
func (tx *Tx) ContactCampaignsSince(ctx context.Context, contactID int64, since time.Time) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM campaign_deliveries WHERE contact_id = ? AND sent_at >= ?`, contactID, since.UTC()).Scan(&n)
	return n, tx.db.wrap("contact campaigns", err)
}

// CampaignMessagesSince counts the messages of a channel sent since a
// time, over every campaign (the hourly limit).
func (tx *Tx) CampaignMessagesSince(ctx context.Context, channel string, since time.Time) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM campaign_deliveries d JOIN campaigns c ON c.id = d.campaign_id
		WHERE d.sent_at >= ? AND c.channel = ?`, since.UTC(), channel).Scan(&n)
	return n, tx.db.wrap("campaign messages", err)
}

const deliveryColumns = `id, campaign_id, contact_id, status, reason, address, language, coupon_code, attempts, sent_at, opened_at,
	clicked_at, unsubscribed_at, bounced_at, updated_at, variant, ab_rest, attribution_until`

func scanDelivery(row rowScanner) (*crm.CampaignDelivery, error) {
	var (
		d                          crm.CampaignDelivery
		sent, opened, clicked, uns sql.NullTime
		bounced, until             sql.NullTime
	)
	if err := row.Scan(&d.ID, &d.CampaignID, &d.ContactID, &d.Status, &d.Reason, &d.Address, &d.Language, &d.CouponCode, &d.Attempts,
		&sent, &opened, &clicked, &uns, &bounced, &d.UpdatedAt, &d.Variant, &d.ABRest, &until); err != nil {
		return nil, err
	}
	d.AttributionUntil = nullTimePtr(until)
	d.SentAt, d.OpenedAt, d.ClickedAt, d.UnsubscribedAt, d.BouncedAt = nullTimePtr(sent), nullTimePtr(opened), nullTimePtr(clicked),
		nullTimePtr(uns), nullTimePtr(bounced)
	d.UpdatedAt = d.UpdatedAt.UTC()
	return &d, nil
}

// FindDelivery returns a delivery by id.
func (tx *Tx) FindDelivery(ctx context.Context, id int64) (*crm.CampaignDelivery, error) {
	d, err := scanDelivery(tx.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM campaign_deliveries WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Delivery")
	}
	return d, nil
}

// ListDeliveries lists a campaign's deliveries in id order, filtered by
// status when set.
func (tx *Tx) ListDeliveries(ctx context.Context, campaignID int64, status string, p crm.Page) ([]*crm.CampaignDelivery, string, error) {
	var c conds
	c.add("campaign_id = ?", campaignID)
	if status != "" {
		c.add("status = ?", status)
	}
	if p.After != "" {
		id, err := crm.DecodeIDCursor(p.After)
		if err != nil {
			return nil, "", err
		}
		c.add("id > ?", id)
	}
	limit := crm.ClampLimit(p.Limit)
	out, err := pageRows(ctx, tx, `SELECT `+deliveryColumns+` FROM campaign_deliveries`+c.sql()+` ORDER BY id LIMIT ?`, c.args, limit, "deliveries",
		func(r rowScanner) (*crm.CampaignDelivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[len(out)-1].ID)
	}
	return out, next, nil
}

// RecordCampaignEvent stores an open, click, unsubscribe or bounce of a
// delivery and sets the delivery's first time of that kind; first is true
// when this was the first event of the kind for the delivery.
func (tx *Tx) RecordCampaignEvent(ctx context.Context, d *crm.CampaignDelivery, kind, url string) (first bool, err error) {
	col := map[string]string{"opened": "opened_at", "clicked": "clicked_at", "unsubscribed": "unsubscribed_at", "bounced": "bounced_at"}[kind]
	if col == "" {
		return false, fmt.Errorf("store: unknown campaign event %q", kind)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO campaign_events (campaign_id, delivery_id, kind, url, created_at) VALUES (?, ?, ?, ?, ?)`,
		d.CampaignID, d.ID, kind, url, tx.now); err != nil {
		return false, err
	}
	res, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET `+col+` = ? WHERE id = ? AND `+col+` IS NULL`, tx.now, d.ID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if kind == "clicked" && n == 1 {
		// A click proves an open (images may be blocked).
		if _, err = tx.Exec(ctx, `UPDATE campaign_deliveries SET opened_at = ? WHERE id = ? AND opened_at IS NULL`, tx.now, d.ID); err != nil {
			return false, err
		}
		// The attribution window runs from the first click when that ends
		// it later than the send did.
		var days int
		if err := tx.QueryRow(ctx, `SELECT attribution_days FROM campaigns WHERE id = ?`, d.CampaignID).Scan(&days); err != nil {
			return false, tx.db.wrap("campaign attribution", err)
		}
		_, err = tx.Exec(ctx, `UPDATE campaign_deliveries SET attribution_until = ? WHERE id = ? AND sent_at IS NOT NULL`,
			tx.now.AddDate(0, 0, days), d.ID)
	}
	return n == 1, err
}

// CampaignResults counts a campaign's deliveries by status and engagement
// (revenue is CampaignRevenue's).
func (tx *Tx) CampaignResults(ctx context.Context, campaignID int64) (*crm.CampaignResults, error) {
	r := &crm.CampaignResults{Revenue: map[string]int64{}, SkipReasons: map[string]int64{}}
	err := tx.QueryRow(ctx, `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN status IN ('queued', 'sending') THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'held' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END), 0),
		COUNT(opened_at), COUNT(clicked_at), COUNT(unsubscribed_at), COUNT(bounced_at)
		FROM campaign_deliveries WHERE campaign_id = ?`, campaignID).Scan(&r.Audience, &r.Pending, &r.Held, &r.Sent, &r.Failed, &r.Skipped,
		&r.Opened, &r.Clicked, &r.Unsubscribed, &r.Bounced)
	if err != nil {
		return nil, tx.db.wrap("campaign results", err)
	}
	rows, err := tx.Query(ctx, `SELECT reason, COUNT(*) FROM campaign_deliveries WHERE campaign_id = ? AND status = 'skipped' GROUP BY reason`, campaignID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var reason string
		var n int64
		if err := rows.Scan(&reason, &n); err != nil {
			return nil, tx.db.wrap("campaign skips", err)
		}
		r.SkipReasons[reason] = n
	}
	return r, tx.db.wrap("campaign skips", rows.Err())
}

// RevenueRow is the revenue attributed to one variant group of a
// campaign in one currency.
type RevenueRow struct {
	Variant  int
	Rest     bool // the rest of an A/B test's audience
	Currency string
	Orders   int64
	Amount   int64 // minor units, net of returns
}

// CampaignRevenue is the revenue attributed to a campaign: the orders of
// each person sent the message, placed from the send until the end of
// the delivery's attribution window (attribution_until: the send or the
// first click plus the campaign's attribution days), fully returned
// orders left out and the rest net of returns, by variant group and
// currency. It is read from the orders as they are now, so a return
// lowers it at once. A campaign has one delivery per person, so an
// order counts once per campaign; an order within the windows of two
// campaigns counts in both.
//
// The join starts from the smaller side: the orders placed while any
// window of the campaign was open (an index range of orders_placed),
// or the campaign's deliveries (campaign_deliveries_one), whichever has
// fewer rows.
func (tx *Tx) CampaignRevenue(ctx context.Context, campaignID int64) ([]RevenueRow, error) {
	from, to, ok, err := tx.campaignWindow(ctx, campaignID)
	if err != nil || !ok {
		return nil, err
	}
	var orders, audience int64
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE placed_at >= ? AND placed_at < ?`, from, to).Scan(&orders); err != nil {
		return nil, tx.db.wrap("campaign revenue", err)
	}
	if err := tx.QueryRow(ctx, `SELECT audience_count FROM campaigns WHERE id = ?`, campaignID).Scan(&audience); err != nil {
		return nil, tx.db.wrap("campaign revenue", err)
	}
	return tx.CampaignRevenueVia(ctx, campaignID, orders < audience)
}

// campaignWindow bounds every attribution window of a campaign: from its
// start to its end (or now) or its last click, whichever is later, plus
// its attribution days. ok is false for a campaign not started.
func (tx *Tx) campaignWindow(ctx context.Context, campaignID int64) (from, to time.Time, ok bool, err error) {
	var (
		started, finished sql.NullTime
		days              int
	)
	err = tx.QueryRow(ctx, `SELECT started_at, finished_at, attribution_days FROM campaigns WHERE id = ?`, campaignID).Scan(&started, &finished, &days)
	if err != nil || !started.Valid {
		return from, to, false, tx.NotFound(err, "Campaign")
	}
	end := tx.now
	if finished.Valid {
		end = finished.Time
	}
	var click time.Time
	err = tx.QueryRow(ctx, `SELECT created_at FROM campaign_events WHERE campaign_id = ? AND kind = 'clicked' ORDER BY created_at DESC LIMIT 1`,
		campaignID).Scan(&click)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return from, to, false, tx.db.wrap("campaign window", err)
	case click.After(end):
		end = click
	}
	return started.Time.UTC(), end.UTC().AddDate(0, 0, days).Add(time.Second), true, nil
}

// CampaignRevenueVia is CampaignRevenue starting from the orders in the
// campaign's window (fromOrders) or from its deliveries; the answer is
// the same (SQLite keeps the order of a CROSS JOIN; PostgreSQL plans it
// as any inner join).
func (tx *Tx) CampaignRevenueVia(ctx context.Context, campaignID int64, fromOrders bool) ([]RevenueRow, error) {
	from, to, ok, err := tx.campaignWindow(ctx, campaignID)
	if err != nil || !ok {
		return nil, err
	}
	tables := "campaign_deliveries d CROSS JOIN orders o"
	if fromOrders {
		tables = "orders o CROSS JOIN campaign_deliveries d"
	}
	rows, err := tx.Query(ctx, `SELECT d.variant, d.ab_rest, o.currency, COUNT(*), SUM(o.total - o.returned_total)
		FROM `+tables+`
		WHERE d.campaign_id = ? AND d.contact_id = o.contact_id AND o.placed_at >= ? AND o.placed_at < ?
			AND o.placed_at >= d.sent_at AND o.placed_at < d.attribution_until
			AND d.sent_at IS NOT NULL AND d.attribution_until IS NOT NULL AND o.contact_id <> 0 AND o.status <> 'returned'
		GROUP BY d.variant, d.ab_rest, o.currency ORDER BY d.variant, d.ab_rest, o.currency`, campaignID, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RevenueRow
	for rows.Next() {
		var x RevenueRow
		if err := rows.Scan(&x.Variant, &x.Rest, &x.Currency, &x.Orders, &x.Amount); err != nil {
			return nil, tx.db.wrap("campaign revenue", err)
		}
		out = append(out, x)
	}
	return out, tx.db.wrap("campaign revenue", rows.Err())
}

// CampaignVariantCounts counts the test group of each A/B variant of a
// campaign: audience, sent, opened and clicked (the rest of the audience
// is left out).
func (tx *Tx) CampaignVariantCounts(ctx context.Context, campaignID int64) ([]crm.VariantResults, error) {
	rows, err := tx.Query(ctx, `SELECT variant, COUNT(*), COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0),
		COUNT(opened_at), COUNT(clicked_at)
		FROM campaign_deliveries WHERE campaign_id = ? AND NOT ab_rest GROUP BY variant ORDER BY variant`, campaignID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []crm.VariantResults
	for rows.Next() {
		v := crm.VariantResults{Revenue: map[string]int64{}}
		if err := rows.Scan(&v.Variant, &v.Audience, &v.Sent, &v.Opened, &v.Clicked); err != nil {
			return nil, tx.db.wrap("campaign variants", err)
		}
		out = append(out, v)
	}
	return out, tx.db.wrap("campaign variants", rows.Err())
}

// CampaignTimes returns the times of a campaign's sends and of its
// events of one kind (opened, clicked), oldest first, for charts; at most
// limit of each.
func (tx *Tx) CampaignTimes(ctx context.Context, campaignID int64, kind string, limit int) ([]time.Time, error) {
	q := `SELECT sent_at FROM campaign_deliveries WHERE campaign_id = ? AND sent_at IS NOT NULL ORDER BY sent_at LIMIT ?`
	args := []any{campaignID, limit}
	if kind != "sent" {
		q = `SELECT created_at FROM campaign_events WHERE campaign_id = ? AND kind = ? ORDER BY created_at LIMIT ?`
		args = []any{campaignID, kind, limit}
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var t time.Time
		if err := rows.Scan(&t); err != nil {
			return nil, tx.db.wrap("campaign times", err)
		}
		out = append(out, t.UTC())
	}
	return out, tx.db.wrap("campaign times", rows.Err())
}

// CampaignSetting returns a campaign setting (key campaign.*; "" when none).
func (tx *Tx) CampaignSetting(ctx context.Context, key string) (string, error) {
	v, _, err := tx.moduleSetting(ctx, "campaign", key)
	return v, err
}

// SaveCampaignSetting stores a campaign setting (key campaign.*).
func (tx *Tx) SaveCampaignSetting(ctx context.Context, key, value string) error {
	return tx.saveModuleSetting(ctx, "campaign", key, value)
}

// EraseCampaignContact removes a person's delivery rows and their
// tracking events (the person was erased: nothing personal stays).
func (tx *Tx) EraseCampaignContact(ctx context.Context, contactID int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM campaign_events WHERE delivery_id IN (SELECT id FROM campaign_deliveries WHERE contact_id = ?)`,
		contactID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM campaign_deliveries WHERE contact_id = ?`, contactID)
	return err
}

// MoveCampaignDeliveries gives merged people's deliveries to the
// survivor, except in campaigns where the survivor has one already (the
// one-per-campaign key): those stay with the merged id, as records.
func (tx *Tx) MoveCampaignDeliveries(ctx context.Context, from []int64, to int64) error {
	for _, id := range from {
		if _, err := tx.Exec(ctx, `UPDATE campaign_deliveries SET contact_id = ? WHERE contact_id = ?
			AND campaign_id NOT IN (SELECT campaign_id FROM campaign_deliveries WHERE contact_id = ?)`, to, id, to); err != nil {
			return err
		}
	}
	return nil
}
