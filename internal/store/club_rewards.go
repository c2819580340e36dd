package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Referrals, rewards and their redemptions, coupons and their uses.

// Referrals.

// ClubReferral is one member brought in by another.
type ClubReferral struct {
	RefereeID  int64      `json:"referee_id"`
	ReferrerID int64      `json:"referrer_id"`
	Status     string     `json:"status"` // pending, rewarded
	CreatedAt  time.Time  `json:"created_at"`
	RewardedAt *time.Time `json:"rewarded_at,omitempty"`
}

// InsertClubReferral records that referrer brought referee in. A referee
// has one referral at most (the primary key).
func (tx *Tx) InsertClubReferral(ctx context.Context, refereeID, referrerID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO club_referrals (referee_id, referrer_id, status, created_at) VALUES (?, ?, 'pending', ?)`,
		refereeID, referrerID, tx.now)
	return err
}

// ClubReferralOf reads the referral of a referee.
func (tx *Tx) ClubReferralOf(ctx context.Context, refereeID int64) (*ClubReferral, error) {
	var r ClubReferral
	var rewarded sql.NullTime
	err := tx.QueryRow(ctx, `SELECT referee_id, referrer_id, status, created_at, rewarded_at FROM club_referrals WHERE referee_id = ?`, refereeID).
		Scan(&r.RefereeID, &r.ReferrerID, &r.Status, &r.CreatedAt, &rewarded)
	if err != nil {
		return nil, tx.NotFound(err, "Referral")
	}
	r.CreatedAt, r.RewardedAt = r.CreatedAt.UTC(), nullTimePtr(rewarded)
	return &r, nil
}

// RewardClubReferral marks a pending referral rewarded; ok is false when
// it was not pending (already rewarded).
func (tx *Tx) RewardClubReferral(ctx context.Context, refereeID int64) (ok bool, err error) {
	r, err := tx.Exec(ctx, `UPDATE club_referrals SET status = 'rewarded', rewarded_at = ? WHERE referee_id = ? AND status = 'pending'`, tx.now, refereeID)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, tx.db.wrap("reward referral", err)
}

// ClubReferralCount counts the members a member referred.
func (tx *Tx) ClubReferralCount(ctx context.Context, referrerID int64) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM club_referrals WHERE referrer_id = ?`, referrerID).Scan(&n)
	return n, tx.db.wrap("referral count", err)
}

// ClubReferrals lists the referrals a member made, newest first.
func (tx *Tx) ClubReferrals(ctx context.Context, referrerID int64) ([]ClubReferral, error) {
	rows, err := tx.Query(ctx, `SELECT referee_id, referrer_id, status, created_at, rewarded_at FROM club_referrals
		WHERE referrer_id = ? ORDER BY referee_id DESC LIMIT 500`, referrerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubReferral
	for rows.Next() {
		var r ClubReferral
		var rewarded sql.NullTime
		if err := rows.Scan(&r.RefereeID, &r.ReferrerID, &r.Status, &r.CreatedAt, &rewarded); err != nil {
			return nil, tx.db.wrap("scan referral", err)
		}
		r.CreatedAt, r.RewardedAt = r.CreatedAt.UTC(), nullTimePtr(rewarded)
		out = append(out, r)
	}
	return out, tx.db.wrap("referrals", rows.Err())
}

// Rewards.

// ClubReward is an entry of the rewards catalogue.
type ClubReward struct {
	ID             int64      `json:"id"`
	ProgramID      int64      `json:"program_id"`
	Name           string     `json:"name"`
	Description    string     `json:"description,omitempty"`
	Kind           string     `json:"kind"` // gift_card, free_product, coupon
	Cost           int64      `json:"cost"` // points
	Value          int64      `json:"value,omitempty"`
	Percent        int64      `json:"percent,omitempty"`
	SKU            string     `json:"sku,omitempty"`
	Stock          *int64     `json:"stock,omitempty"` // absent: unlimited
	Issued         int64      `json:"issued"`
	PerMemberLimit int64      `json:"per_member_limit,omitempty"`
	ValidDays      int        `json:"valid_days,omitempty"`
	StartsAt       *time.Time `json:"starts_at,omitempty"`
	EndsAt         *time.Time `json:"ends_at,omitempty"`
	Active         bool       `json:"active"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

const clubRewardColumns = `id, program_id, name, description, kind, cost, value, percent, sku, stock, issued, per_member_limit, valid_days,
	starts_at, ends_at, active, created_at, updated_at`

func scanClubReward(row rowScanner) (*ClubReward, error) {
	var r ClubReward
	var stock sql.NullInt64
	var starts, ends sql.NullTime
	if err := row.Scan(&r.ID, &r.ProgramID, &r.Name, &r.Description, &r.Kind, &r.Cost, &r.Value, &r.Percent, &r.SKU, &stock, &r.Issued,
		&r.PerMemberLimit, &r.ValidDays, &starts, &ends, &r.Active, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	if stock.Valid {
		r.Stock = &stock.Int64
	}
	r.StartsAt, r.EndsAt = nullTimePtr(starts), nullTimePtr(ends)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

func nullableInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// InsertClubReward stores a new reward.
func (tx *Tx) InsertClubReward(ctx context.Context, r *ClubReward) error {
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	r.StartsAt, r.EndsAt = utcMicroPtr(r.StartsAt), utcMicroPtr(r.EndsAt)
	id, err := tx.InsertID(ctx, `INSERT INTO club_rewards (program_id, name, description, kind, cost, value, percent, sku, stock, issued,
		per_member_limit, valid_days, starts_at, ends_at, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ProgramID, r.Name, r.Description, r.Kind, r.Cost, r.Value, r.Percent, r.SKU, nullableInt(r.Stock),
		r.PerMemberLimit, r.ValidDays, nullableTime(r.StartsAt), nullableTime(r.EndsAt), r.Active, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert club reward: %w", err)
	}
	r.ID = id
	return nil
}

// UpdateClubReward stores the editable fields of r (not Issued).
func (tx *Tx) UpdateClubReward(ctx context.Context, r *ClubReward) error {
	r.UpdatedAt = tx.now
	r.StartsAt, r.EndsAt = utcMicroPtr(r.StartsAt), utcMicroPtr(r.EndsAt)
	return tx.expectOneRow(ctx, "Reward", `UPDATE club_rewards SET name = ?, description = ?, kind = ?, cost = ?, value = ?, percent = ?, sku = ?,
		stock = ?, per_member_limit = ?, valid_days = ?, starts_at = ?, ends_at = ?, active = ?, updated_at = ? WHERE id = ?`,
		r.Name, r.Description, r.Kind, r.Cost, r.Value, r.Percent, r.SKU, nullableInt(r.Stock), r.PerMemberLimit, r.ValidDays,
		nullableTime(r.StartsAt), nullableTime(r.EndsAt), r.Active, tx.now, r.ID)
}

// ClubReward reads one reward.
func (tx *Tx) ClubReward(ctx context.Context, id int64) (*ClubReward, error) {
	r, err := scanClubReward(tx.QueryRow(ctx, `SELECT `+clubRewardColumns+` FROM club_rewards WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Reward")
	}
	return r, nil
}

// ClubRewards lists the rewards of a program (of every program for 0) by
// cost.
func (tx *Tx) ClubRewards(ctx context.Context, programID int64, activeOnly bool) ([]*ClubReward, error) {
	var c conds
	if programID != 0 {
		c.add("program_id = ?", programID)
	}
	if activeOnly {
		c.add("active")
	}
	rows, err := tx.Query(ctx, `SELECT `+clubRewardColumns+` FROM club_rewards`+c.sql()+` ORDER BY cost, id`, c.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ClubReward
	for rows.Next() {
		r, err := scanClubReward(rows)
		if err != nil {
			return nil, tx.db.wrap("scan reward", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("rewards", rows.Err())
}

// TakeClubRewardStock counts one more redemption of a reward and takes
// one from its stock if it has a stock, in one conditional statement
// (which also locks the reward's row on PostgreSQL, so per-member limits
// are checked one redemption at a time). ok is false when it is out of
// stock.
func (tx *Tx) TakeClubRewardStock(ctx context.Context, id int64) (ok bool, err error) {
	r, err := tx.Exec(ctx, `UPDATE club_rewards SET issued = issued + 1, stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - 1 END,
		updated_at = ? WHERE id = ? AND (stock IS NULL OR stock > 0)`, tx.now, id)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, tx.db.wrap("reward stock", err)
}

// ReturnClubRewardStock undoes TakeClubRewardStock (a cancelled
// redemption).
func (tx *Tx) ReturnClubRewardStock(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Reward", `UPDATE club_rewards SET issued = issued - 1, stock = CASE WHEN stock IS NULL THEN NULL ELSE stock + 1 END,
		updated_at = ? WHERE id = ?`, tx.now, id)
}

// Redemptions.

// ClubRedemption is a member's claim of a reward: points reserved, then
// captured (the reward given) or cancelled (the points back).
type ClubRedemption struct {
	ID         int64      `json:"id"`
	RewardID   int64      `json:"reward_id"`
	MemberID   int64      `json:"member_id"`
	Points     int64      `json:"points"`
	Status     string     `json:"status"` // reserved, captured, cancelled
	CouponID   int64      `json:"coupon_id,omitempty"`
	CouponCode string     `json:"coupon_code,omitempty"`
	Reference  string     `json:"reference,omitempty"`
	HoldUntil  *time.Time `json:"hold_until,omitempty"`
	RewardName string     `json:"reward_name,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

const clubRedemptionColumns = `d.id, d.reward_id, d.member_id, d.points, d.status, d.coupon_id, COALESCE(c.code, ''), d.reference, d.hold_until,
	COALESCE(w.name, ''), d.created_at, d.updated_at`

const clubRedemptionFrom = ` FROM club_redemptions d LEFT JOIN club_coupons c ON c.id = d.coupon_id AND d.coupon_id <> 0
	LEFT JOIN club_rewards w ON w.id = d.reward_id`

func scanClubRedemption(row rowScanner) (*ClubRedemption, error) {
	var d ClubRedemption
	var hold sql.NullTime
	if err := row.Scan(&d.ID, &d.RewardID, &d.MemberID, &d.Points, &d.Status, &d.CouponID, &d.CouponCode, &d.Reference, &hold,
		&d.RewardName, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.HoldUntil = nullTimePtr(hold)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// InsertClubRedemption stores a new redemption.
func (tx *Tx) InsertClubRedemption(ctx context.Context, d *ClubRedemption) error {
	d.CreatedAt, d.UpdatedAt = tx.now, tx.now
	d.HoldUntil = utcMicroPtr(d.HoldUntil)
	id, err := tx.InsertID(ctx, `INSERT INTO club_redemptions (reward_id, member_id, points, status, coupon_id, reference, hold_until, created_at, updated_at)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?) RETURNING id`, d.RewardID, d.MemberID, d.Points, d.Status, d.Reference, nullableTime(d.HoldUntil), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert club redemption: %w", err)
	}
	d.ID = id
	return nil
}

// ClubRedemption reads one redemption.
func (tx *Tx) ClubRedemption(ctx context.Context, id int64) (*ClubRedemption, error) {
	d, err := scanClubRedemption(tx.QueryRow(ctx, `SELECT `+clubRedemptionColumns+clubRedemptionFrom+` WHERE d.id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Redemption")
	}
	return d, nil
}

// SetClubRedemptionStatus moves a redemption from status from to status
// to; ok is false when it was not in from.
func (tx *Tx) SetClubRedemptionStatus(ctx context.Context, id int64, from, to string, couponID int64) (ok bool, err error) {
	r, err := tx.Exec(ctx, `UPDATE club_redemptions SET status = ?, coupon_id = ?, updated_at = ? WHERE id = ? AND status = ?`,
		to, couponID, tx.now, id, from)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, tx.db.wrap("redemption status", err)
}

// ClubRedemptionCount counts a member's redemptions of a reward that are
// not cancelled.
func (tx *Tx) ClubRedemptionCount(ctx context.Context, rewardID, memberID int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM club_redemptions WHERE reward_id = ? AND member_id = ? AND status <> 'cancelled'`,
		rewardID, memberID).Scan(&n)
	return n, tx.db.wrap("redemption count", err)
}

// ClubRedemptionFilter selects redemptions, newest first.
type ClubRedemptionFilter struct {
	MemberID int64
	RewardID int64
	Status   string
	Limit    int
	After    string
}

// ListClubRedemptions lists redemptions, newest first.
func (tx *Tx) ListClubRedemptions(ctx context.Context, f ClubRedemptionFilter) ([]*ClubRedemption, string, error) {
	var c conds
	if f.MemberID != 0 {
		c.add("d.member_id = ?", f.MemberID)
	}
	if f.RewardID != 0 {
		c.add("d.reward_id = ?", f.RewardID)
	}
	if f.Status != "" {
		c.add("d.status = ?", f.Status)
	}
	after, err := crm.DecodeIDCursor(f.After)
	if err != nil {
		return nil, "", crm.Errorf(crm.EINVALID, "The cursor is not valid.")
	}
	if after > 0 {
		c.add("d.id < ?", after)
	}
	limit := crm.ClampLimit(f.Limit)
	out, err := pageRows(ctx, tx, `SELECT `+clubRedemptionColumns+clubRedemptionFrom+c.sql()+` ORDER BY d.id DESC LIMIT ?`, c.args, limit, "redemptions",
		func(r rowScanner) (*ClubRedemption, error) { return scanClubRedemption(r) })
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

// ClubHeldTooLong lists reserved redemptions whose hold ran out.
func (tx *Tx) ClubHeldTooLong(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM club_redemptions WHERE status = 'reserved' AND hold_until <= ? ORDER BY hold_until, id LIMIT ?`, now.UTC(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, tx.db.wrap("scan redemption", err)
		}
		out = append(out, id)
	}
	return out, tx.db.wrap("held redemptions", rows.Err())
}

// ClubAllocation is the points a reservation took from one lot.
type ClubAllocation struct {
	LotID  int64
	Points int64
}

// InsertClubAllocations records the lots a reservation took points from.
func (tx *Tx) InsertClubAllocations(ctx context.Context, redemptionID int64, as []ClubAllocation) error {
	for _, a := range as {
		if _, err := tx.Exec(ctx, `INSERT INTO club_redemption_lots (redemption_id, lot_id, points) VALUES (?, ?, ?)`, redemptionID, a.LotID, a.Points); err != nil {
			return err
		}
	}
	return nil
}

// ClubAllocations reads the lots a reservation took points from.
func (tx *Tx) ClubAllocations(ctx context.Context, redemptionID int64) ([]ClubAllocation, error) {
	rows, err := tx.Query(ctx, `SELECT lot_id, points FROM club_redemption_lots WHERE redemption_id = ? ORDER BY lot_id`, redemptionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubAllocation
	for rows.Next() {
		var a ClubAllocation
		if err := rows.Scan(&a.LotID, &a.Points); err != nil {
			return nil, tx.db.wrap("scan allocation", err)
		}
		out = append(out, a)
	}
	return out, tx.db.wrap("allocations", rows.Err())
}

// Coupons.

// ClubCoupon is a discount code: one on its own, or one of a batch.
type ClubCoupon struct {
	ID             int64      `json:"id"`
	Code           string     `json:"code"`
	BatchID        int64      `json:"batch_id,omitempty"`
	Kind           string     `json:"kind"`  // percent, fixed, product
	Value          int64      `json:"value"` // percent, or minor units
	Currency       string     `json:"currency,omitempty"`
	SKU            string     `json:"sku,omitempty"`
	MinSpend       int64      `json:"min_spend,omitempty"`
	MaxUses        int64      `json:"max_uses,omitempty"`
	PerMemberLimit int64      `json:"per_member_limit,omitempty"`
	Uses           int64      `json:"uses"`
	MemberID       int64      `json:"member_id,omitempty"`
	StartsAt       *time.Time `json:"starts_at,omitempty"`
	EndsAt         *time.Time `json:"ends_at,omitempty"`
	Active         bool       `json:"active"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

const clubCouponColumns = `id, code, COALESCE(batch_id, 0), kind, value, currency, sku, min_spend, max_uses, per_member_limit, uses, member_id,
	starts_at, ends_at, active, created_at, updated_at`

func scanClubCoupon(row rowScanner) (*ClubCoupon, error) {
	var c ClubCoupon
	var starts, ends sql.NullTime
	if err := row.Scan(&c.ID, &c.Code, &c.BatchID, &c.Kind, &c.Value, &c.Currency, &c.SKU, &c.MinSpend, &c.MaxUses, &c.PerMemberLimit, &c.Uses,
		&c.MemberID, &starts, &ends, &c.Active, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.StartsAt, c.EndsAt = nullTimePtr(starts), nullTimePtr(ends)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return &c, nil
}

// ClubCouponBatch is a set of unique codes made together.
type ClubCouponBatch struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Prefix    string    `json:"prefix,omitempty"`
	Count     int64     `json:"count"`
	CreatedAt time.Time `json:"created_at"`
}

// InsertClubCouponBatch stores a new batch.
func (tx *Tx) InsertClubCouponBatch(ctx context.Context, b *ClubCouponBatch) error {
	b.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO club_coupon_batches (name, prefix, count, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		b.Name, b.Prefix, b.Count, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert coupon batch: %w", err)
	}
	b.ID = id
	return nil
}

// ClubCouponBatches lists batches, newest first.
func (tx *Tx) ClubCouponBatches(ctx context.Context) ([]*ClubCouponBatch, error) {
	rows, err := tx.Query(ctx, `SELECT id, name, prefix, count, created_at FROM club_coupon_batches ORDER BY id DESC LIMIT 500`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ClubCouponBatch
	for rows.Next() {
		var b ClubCouponBatch
		if err := rows.Scan(&b.ID, &b.Name, &b.Prefix, &b.Count, &b.CreatedAt); err != nil {
			return nil, tx.db.wrap("scan batch", err)
		}
		b.CreatedAt = b.CreatedAt.UTC()
		out = append(out, &b)
	}
	return out, tx.db.wrap("batches", rows.Err())
}

// InsertClubCoupon stores a new coupon. A code already taken is not
// stored: inserted is false.
func (tx *Tx) InsertClubCoupon(ctx context.Context, c *ClubCoupon) (inserted bool, err error) {
	c.CreatedAt, c.UpdatedAt = tx.now, tx.now
	c.StartsAt, c.EndsAt = utcMicroPtr(c.StartsAt), utcMicroPtr(c.EndsAt)
	rows, err := tx.Query(ctx, `INSERT INTO club_coupons (code, batch_id, kind, value, currency, sku, min_spend, max_uses, per_member_limit, uses,
		member_id, starts_at, ends_at, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO NOTHING RETURNING id`,
		c.Code, nullID(c.BatchID), c.Kind, c.Value, c.Currency, c.SKU, c.MinSpend, c.MaxUses, c.PerMemberLimit,
		c.MemberID, nullableTime(c.StartsAt), nullableTime(c.EndsAt), c.Active, tx.now, tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert coupon: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&c.ID); err != nil {
			return false, tx.db.wrap("insert coupon", err)
		}
		inserted = true
	}
	return inserted, tx.db.wrap("insert coupon", rows.Err())
}

// SetClubCouponActive switches a coupon on or off.
func (tx *Tx) SetClubCouponActive(ctx context.Context, id int64, active bool) error {
	return tx.expectOneRow(ctx, "Coupon", `UPDATE club_coupons SET active = ?, updated_at = ? WHERE id = ?`, active, tx.now, id)
}

// ClubCouponByCode reads a coupon by its code.
func (tx *Tx) ClubCouponByCode(ctx context.Context, code string) (*ClubCoupon, error) {
	c, err := scanClubCoupon(tx.QueryRow(ctx, `SELECT `+clubCouponColumns+` FROM club_coupons WHERE code = ?`, code))
	if err != nil {
		return nil, tx.NotFound(err, "Coupon")
	}
	return c, nil
}

// ClubCoupon reads a coupon.
func (tx *Tx) ClubCoupon(ctx context.Context, id int64) (*ClubCoupon, error) {
	c, err := scanClubCoupon(tx.QueryRow(ctx, `SELECT `+clubCouponColumns+` FROM club_coupons WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Coupon")
	}
	return c, nil
}

// ClubCouponFilter selects coupons, newest first.
type ClubCouponFilter struct {
	BatchID  int64
	MemberID int64
	Single   bool // only coupons made one at a time (no batch, no member)
	Limit    int
	After    string
}

// ListClubCoupons lists coupons, newest first.
func (tx *Tx) ListClubCoupons(ctx context.Context, f ClubCouponFilter) ([]*ClubCoupon, string, error) {
	var c conds
	if f.BatchID != 0 {
		c.add("batch_id = ?", f.BatchID)
	}
	if f.MemberID != 0 {
		c.add("member_id = ?", f.MemberID)
	}
	if f.Single {
		c.add("batch_id IS NULL AND member_id = 0")
	}
	after, err := crm.DecodeIDCursor(f.After)
	if err != nil {
		return nil, "", crm.Errorf(crm.EINVALID, "The cursor is not valid.")
	}
	if after > 0 {
		c.add("id < ?", after)
	}
	limit := crm.ClampLimit(f.Limit)
	out, err := pageRows(ctx, tx, `SELECT `+clubCouponColumns+` FROM club_coupons`+c.sql()+` ORDER BY id DESC LIMIT ?`, c.args, limit, "coupons",
		func(r rowScanner) (*ClubCoupon, error) { return scanClubCoupon(r) })
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

// UseClubCoupon counts one more use of a coupon if its total limit
// allows, in one conditional statement that also locks the coupon's row
// on PostgreSQL (so per-member limits are checked one use at a time).
// force counts the use even past the limit (an order that already used
// the code). ok is false when the limit is reached.
func (tx *Tx) UseClubCoupon(ctx context.Context, id int64, force bool) (ok bool, err error) {
	q := `UPDATE club_coupons SET uses = uses + 1, updated_at = ? WHERE id = ? AND (max_uses = 0 OR uses < max_uses)`
	if force {
		q = `UPDATE club_coupons SET uses = uses + 1, updated_at = ? WHERE id = ?`
	}
	r, err := tx.Exec(ctx, q, tx.now, id)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, tx.db.wrap("use coupon", err)
}

// ClubCouponUsesBy counts the uses of a coupon by one person.
func (tx *Tx) ClubCouponUsesBy(ctx context.Context, couponID, contactID int64) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM club_coupon_uses WHERE coupon_id = ? AND contact_id = ?`, couponID, contactID).Scan(&n)
	return n, tx.db.wrap("coupon uses", err)
}

// ClubCouponUse is one use of a coupon.
type ClubCouponUse struct {
	ID        int64     `json:"id"`
	CouponID  int64     `json:"coupon_id"`
	ContactID int64     `json:"contact_id,omitempty"`
	OrderID   int64     `json:"order_id,omitempty"`
	Reference string    `json:"reference"`
	Amount    int64     `json:"amount"`
	Discount  int64     `json:"discount"`
	OverLimit bool      `json:"over_limit,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// InsertClubCouponUse records a use. A use with the same coupon and
// reference is not recorded again: inserted is false.
func (tx *Tx) InsertClubCouponUse(ctx context.Context, u *ClubCouponUse) (inserted bool, err error) {
	u.CreatedAt = tx.now
	rows, err := tx.Query(ctx, `INSERT INTO club_coupon_uses (coupon_id, contact_id, order_id, reference, amount, discount, over_limit, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (coupon_id, reference) DO NOTHING RETURNING id`,
		u.CouponID, u.ContactID, u.OrderID, u.Reference, u.Amount, u.Discount, u.OverLimit, tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert coupon use: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&u.ID); err != nil {
			return false, tx.db.wrap("insert coupon use", err)
		}
		inserted = true
	}
	return inserted, tx.db.wrap("insert coupon use", rows.Err())
}

// ClubCouponUseByRef reads the use of a coupon with a reference.
func (tx *Tx) ClubCouponUseByRef(ctx context.Context, couponID int64, ref string) (*ClubCouponUse, error) {
	var u ClubCouponUse
	err := tx.QueryRow(ctx, `SELECT id, coupon_id, contact_id, order_id, reference, amount, discount, over_limit, created_at
		FROM club_coupon_uses WHERE coupon_id = ? AND reference = ?`, couponID, ref).
		Scan(&u.ID, &u.CouponID, &u.ContactID, &u.OrderID, &u.Reference, &u.Amount, &u.Discount, &u.OverLimit, &u.CreatedAt)
	if err != nil {
		return nil, tx.NotFound(err, "Coupon use")
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// SetClubCouponUseOrder links a use to the order it was for.
func (tx *Tx) SetClubCouponUseOrder(ctx context.Context, id, orderID int64) error {
	return tx.expectOneRow(ctx, "Coupon use", `UPDATE club_coupon_uses SET order_id = ? WHERE id = ?`, orderID, id)
}
