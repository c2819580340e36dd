package club

import (
	"context"

	"github.com/pivand/pivand/internal/store"
)

// Reports: points issued, redeemed, expired and outstanding per month
// (outstanding points are a liability, shown with their money value),
// members per tier, tier movements, top rewards, redemption rate and
// coupon use.

// MonthPoints is one month of a program's points.
type MonthPoints struct {
	Month       string `json:"month"`        // YYYY-MM (UTC)
	Issued      int64  `json:"issued"`       // earned, referral bonuses, positive adjustments
	Reversed    int64  `json:"reversed"`     // taken back by returns
	Redeemed    int64  `json:"redeemed"`     // captured redemptions
	Expired     int64  `json:"expired"`      // expired
	AdjustedOut int64  `json:"adjusted_out"` // negative adjustments
	Outstanding int64  `json:"outstanding"`  // at the end of the month: available + pending + reserved
	Value       int64  `json:"value"`        // money value of Outstanding, minor units of the program's currency
}

// TierMembers is the number of active members in a tier.
type TierMembers struct {
	TierID  int64  `json:"tier_id,omitempty"`
	Name    string `json:"name"` // "" for members without a tier
	Members int64  `json:"members"`
}

// MovementMonth counts a month's tier movements.
type MovementMonth struct {
	Month string `json:"month"`
	Up    int64  `json:"up"`
	Down  int64  `json:"down"`
	Grace int64  `json:"grace"`
	Paid  int64  `json:"paid"` // paid tiers bought or renewed
}

// RewardUse is how often a reward was given.
type RewardUse = store.ClubRewardUse

// CouponUseStat sums the uses of a batch, a single code or the vouchers.
type CouponUseStat = store.ClubCouponStat

// Report is a program's report.
type Report struct {
	Program     *Program        `json:"program"`
	Months      []MonthPoints   `json:"months"` // oldest first, the last 24 with activity
	Issued      int64           `json:"issued"` // all time
	Redeemed    int64           `json:"redeemed"`
	Expired     int64           `json:"expired"`
	Reversed    int64           `json:"reversed"`
	Outstanding int64           `json:"outstanding"`
	Value       int64           `json:"value"`
	RateBP      int64           `json:"redemption_rate_bp"` // redeemed / issued, in basis points (1/100 of a percent)
	Tiers       []TierMembers   `json:"tiers"`
	Movements   []MovementMonth `json:"movements"`
	TopRewards  []RewardUse     `json:"top_rewards"`
	Coupons     []CouponUseStat `json:"coupons"` // the last 12 months
}

// Report builds a program's report.
func (s *Service) Report(ctx context.Context, programID int64) (*Report, error) {
	var out *Report
	err := s.read(ctx, func(tx *store.Tx) error {
		c, err := s.config(ctx, tx, programID)
		if err != nil {
			return err
		}
		r := &Report{Program: c.prog, Months: []MonthPoints{}, Tiers: []TierMembers{}, Movements: []MovementMonth{}}
		rows, err := tx.ClubLedgerByMonth(ctx, programID)
		if err != nil {
			return err
		}
		var cur *MonthPoints
		var running int64
		for _, row := range rows {
			if cur == nil || cur.Month != row.Month {
				r.Months = append(r.Months, MonthPoints{Month: row.Month})
				cur = &r.Months[len(r.Months)-1]
			}
			switch row.Kind {
			case KindEarn, KindReferral:
				cur.Issued += row.Positive
			case KindAdjust:
				cur.Issued += row.Positive
				cur.AdjustedOut -= row.Negative
			case KindReverse:
				cur.Reversed -= row.Negative
			case KindCapture:
				cur.Redeemed -= row.Negative
			case KindExpire:
				cur.Expired -= row.Negative
			}
			running += row.Positive + row.Negative
			cur.Outstanding = running
		}
		for i := range r.Months {
			m := &r.Months[i]
			m.Value = pointsValue(c.prog, m.Outstanding)
			r.Issued += m.Issued
			r.Redeemed += m.Redeemed
			r.Expired += m.Expired
			r.Reversed += m.Reversed
		}
		r.Outstanding = running
		r.Value = pointsValue(c.prog, running)
		if r.Issued > 0 {
			r.RateBP = mulDiv(r.Redeemed, 10000, r.Issued)
		}
		if len(r.Months) > 24 {
			r.Months = r.Months[len(r.Months)-24:]
		}
		counts, err := tx.ClubMembersPerTier(ctx, programID)
		if err != nil {
			return err
		}
		for _, n := range counts {
			tm := TierMembers{TierID: n.TierID, Members: n.Members}
			if t := c.tier(n.TierID); t != nil {
				tm.Name = t.Name
			}
			r.Tiers = append(r.Tiers, tm)
		}
		moves, err := tx.ClubTierMovements(ctx, programID)
		if err != nil {
			return err
		}
		for _, mv := range moves {
			if n := len(r.Movements); n == 0 || r.Movements[n-1].Month != mv.Month {
				r.Movements = append(r.Movements, MovementMonth{Month: mv.Month})
			}
			m := &r.Movements[len(r.Movements)-1]
			switch mv.Direction {
			case DirectionUp:
				m.Up += mv.Count
			case DirectionDown:
				m.Down += mv.Count
			case DirectionGrace:
				m.Grace += mv.Count
			case DirectionPaid:
				m.Paid += mv.Count
			}
		}
		if r.TopRewards, err = tx.ClubTopRewards(ctx, programID, 10); err != nil {
			return err
		}
		if r.Coupons, err = tx.ClubCouponStats(ctx, tx.Now().AddDate(-1, 0, 0), 20); err != nil {
			return err
		}
		if r.TopRewards == nil {
			r.TopRewards = []RewardUse{}
		}
		if r.Coupons == nil {
			r.Coupons = []CouponUseStat{}
		}
		out = r
		return nil
	})
	return out, err
}

// pointsValue is the money value of points in the program's currency.
func pointsValue(p *Program, points int64) int64 {
	if p.ValuePoints <= 0 || p.PointValue <= 0 {
		return 0
	}
	return mulDiv(points, p.PointValue, p.ValuePoints)
}
