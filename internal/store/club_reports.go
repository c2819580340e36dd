package store

import (
	"context"
	"time"
)

// The club's reports: sums over the ledger, members, tier movements,
// redemptions and coupon uses.

// clubMonth returns an SQL expression for the UTC month (YYYY-MM) of a
// timestamp column: SQLite keeps timestamps as text that starts with it;
// PostgreSQL formats the timestamptz in UTC.
func (d Dialect) clubMonth(col string) string {
	if d == Postgres {
		return "to_char(" + col + " AT TIME ZONE 'UTC', 'YYYY-MM')"
	}
	return "substr(" + col + ", 1, 7)"
}

// ClubLedgerMonth is the sum of one kind of ledger entry in a month, the
// positive and negative entries apart.
type ClubLedgerMonth struct {
	Month    string // YYYY-MM
	Kind     string
	Positive int64
	Negative int64 // a negative number
	Count    int64
}

// ClubLedgerByMonth sums a program's ledger by month and kind.
func (tx *Tx) ClubLedgerByMonth(ctx context.Context, programID int64) ([]ClubLedgerMonth, error) {
	m := tx.Dialect().clubMonth("l.created_at")
	rows, err := tx.Query(ctx, `SELECT `+m+`, l.kind, COALESCE(SUM(CASE WHEN l.points > 0 THEN l.points ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN l.points < 0 THEN l.points ELSE 0 END), 0), COUNT(*)
		FROM club_ledger l JOIN club_members mm ON mm.id = l.member_id WHERE mm.program_id = ?
		GROUP BY `+m+`, l.kind ORDER BY 1, 2`, programID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubLedgerMonth
	for rows.Next() {
		var r ClubLedgerMonth
		if err := rows.Scan(&r.Month, &r.Kind, &r.Positive, &r.Negative, &r.Count); err != nil {
			return nil, tx.db.wrap("scan ledger month", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("ledger by month", rows.Err())
}

// ClubTierCount is the number of active members in a tier (0: none).
type ClubTierCount struct {
	TierID  int64
	Members int64
}

// ClubMembersPerTier counts a program's active members by tier.
func (tx *Tx) ClubMembersPerTier(ctx context.Context, programID int64) ([]ClubTierCount, error) {
	rows, err := tx.Query(ctx, `SELECT COALESCE(tier_id, 0), COUNT(*) FROM club_members WHERE program_id = ? AND status = 'active'
		GROUP BY COALESCE(tier_id, 0) ORDER BY 1`, programID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubTierCount
	for rows.Next() {
		var r ClubTierCount
		if err := rows.Scan(&r.TierID, &r.Members); err != nil {
			return nil, tx.db.wrap("scan tier count", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("members per tier", rows.Err())
}

// ClubMovementMonth counts a month's tier movements in one direction.
type ClubMovementMonth struct {
	Month     string
	Direction string
	Count     int64
}

// ClubTierMovements counts a program's tier movements by month and
// direction.
func (tx *Tx) ClubTierMovements(ctx context.Context, programID int64) ([]ClubMovementMonth, error) {
	m := tx.Dialect().clubMonth("created_at")
	rows, err := tx.Query(ctx, `SELECT `+m+`, direction, COUNT(*) FROM club_tier_changes WHERE program_id = ?
		GROUP BY `+m+`, direction ORDER BY 1, 2`, programID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubMovementMonth
	for rows.Next() {
		var r ClubMovementMonth
		if err := rows.Scan(&r.Month, &r.Direction, &r.Count); err != nil {
			return nil, tx.db.wrap("scan movement", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("tier movements", rows.Err())
}

// ClubRewardUse is how often a reward was given.
type ClubRewardUse struct {
	RewardID    int64
	Name        string
	Redemptions int64
	Points      int64
}

// ClubTopRewards lists a program's most redeemed rewards (captured),
// most first, at most limit.
func (tx *Tx) ClubTopRewards(ctx context.Context, programID int64, limit int) ([]ClubRewardUse, error) {
	rows, err := tx.Query(ctx, `SELECT w.id, w.name, COUNT(*), COALESCE(SUM(d.points), 0) FROM club_redemptions d
		JOIN club_rewards w ON w.id = d.reward_id WHERE w.program_id = ? AND d.status = 'captured'
		GROUP BY w.id, w.name ORDER BY 3 DESC, 1 LIMIT ?`, programID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubRewardUse
	for rows.Next() {
		var r ClubRewardUse
		if err := rows.Scan(&r.RewardID, &r.Name, &r.Redemptions, &r.Points); err != nil {
			return nil, tx.db.wrap("scan reward use", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("top rewards", rows.Err())
}

// ClubCouponStat is the use of one coupon batch, or of one coupon made
// on its own (Batch empty), or of the rewards' vouchers (Vouchers).
type ClubCouponStat struct {
	BatchID   int64
	Batch     string
	Code      string
	Vouchers  bool
	Uses      int64
	Discount  int64
	OverLimit int64
}

// ClubCouponStats sums coupon uses since from by batch (single coupons
// and reward vouchers each on their own line), most used first, at most
// limit lines.
func (tx *Tx) ClubCouponStats(ctx context.Context, from time.Time, limit int) ([]ClubCouponStat, error) {
	rows, err := tx.Query(ctx, `SELECT COALESCE(c.batch_id, 0), COALESCE(b.name, ''),
		CASE WHEN c.batch_id IS NULL AND c.member_id = 0 THEN c.code ELSE '' END, c.member_id <> 0,
		COUNT(*), COALESCE(SUM(u.discount), 0), COALESCE(SUM(CASE WHEN u.over_limit THEN 1 ELSE 0 END), 0)
		FROM club_coupon_uses u JOIN club_coupons c ON c.id = u.coupon_id LEFT JOIN club_coupon_batches b ON b.id = c.batch_id
		WHERE u.created_at >= ?
		GROUP BY COALESCE(c.batch_id, 0), COALESCE(b.name, ''), CASE WHEN c.batch_id IS NULL AND c.member_id = 0 THEN c.code ELSE '' END, c.member_id <> 0
		ORDER BY 5 DESC LIMIT ?`, from.UTC(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubCouponStat
	for rows.Next() {
		var r ClubCouponStat
		if err := rows.Scan(&r.BatchID, &r.Batch, &r.Code, &r.Vouchers, &r.Uses, &r.Discount, &r.OverLimit); err != nil {
			return nil, tx.db.wrap("scan coupon stat", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("coupon stats", rows.Err())
}
