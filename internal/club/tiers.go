package club

import (
	"context"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Tiers: qualification by spend in a window, upgrades at once, downgrades
// by policy with a grace period. See docs/club.md, "Tiers".

// Tier movement directions.
const (
	DirectionUp    = "up"
	DirectionDown  = "down"
	DirectionGrace = "grace"
)

// tierChangedPayload is what club.tier_changed carries.
type tierChangedPayload struct {
	MemberID   int64      `json:"member_id"`
	FromTierID int64      `json:"from_tier_id,omitempty"`
	FromTier   string     `json:"from_tier,omitempty"`
	ToTierID   int64      `json:"to_tier_id,omitempty"`
	ToTier     string     `json:"to_tier,omitempty"`
	Direction  string     `json:"direction"` // up, down, grace
	Reason     string     `json:"reason"`
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	PaidUntil  *time.Time `json:"paid_until,omitempty"`
}

// lowest reports whether t is the program's lowest tier (or none): it
// cannot be lost, so it is never reviewed.
func (c *config) lowest(t *Tier) bool {
	return t == nil || len(c.tiers) == 0 || t.Threshold <= c.tiers[0].Threshold
}

// reviewAfter returns when the downgrade policy next looks at tier t,
// reached or kept at time at; nil when never.
func reviewAfter(c *config, t *Tier, at time.Time) *time.Time {
	if c.lowest(t) {
		return nil
	}
	at = at.UTC()
	var r time.Time
	switch c.prog.Downgrade {
	case DowngradeWindowEnd:
		if c.prog.TierWindow == WindowRolling {
			r = at.AddDate(1, 0, 0)
		} else {
			r = windowEnd(c.prog, at)
		}
	case DowngradeAfterDays:
		r = at.AddDate(0, 0, max(c.prog.DowngradeDays, 1))
	default:
		return nil
	}
	return &r
}

// afterSpend places a member after a purchase brought their qualifying
// spend to spend at time at: up at once to the tier it reaches; a
// purchase that keeps them at their tier ends a grace period and, with
// the after_days policy, starts its count again.
func (s *Service) afterSpend(ctx context.Context, tx *store.Tx, c *config, m *Member, spend int64, at time.Time) error {
	cur := c.tier(m.TierID)
	q := tierFor(c.tiers, spend)
	switch {
	case q == nil:
		return nil
	case cur == nil || q.Threshold > cur.Threshold:
		return s.changeTier(ctx, tx, c, m, q, DirectionUp, "spend", at)
	case q.Threshold < cur.Threshold:
		return nil
	}
	changed := false
	if m.GraceUntil != nil {
		m.GraceUntil, m.TierReviewAt, changed = nil, reviewAfter(c, cur, at), true
	}
	if c.prog.Downgrade == DowngradeAfterDays {
		m.TierReviewAt, changed = reviewAfter(c, cur, at), true
	}
	if !changed {
		return nil
	}
	if err := tx.SetClubMemberTier(ctx, m); err != nil {
		return err
	}
	if err := s.schedule(ctx, tx, m.TierReviewAt); err != nil {
		return err
	}
	return nil
}

// changeTier moves a member to tier to (nil: no tier), logs the movement
// and writes club.tier_changed.
func (s *Service) changeTier(ctx context.Context, tx *store.Tx, c *config, m *Member, to *Tier, direction, reason string, at time.Time) error {
	from := c.tier(m.TierID)
	now := tx.Now()
	m.TierID = tierID(to)
	m.TierSince = &now
	m.GraceUntil = nil
	m.TierReviewAt = reviewAfter(c, to, at)
	if err := tx.SetClubMemberTier(ctx, m); err != nil {
		return err
	}
	if err := tx.InsertClubTierChange(ctx, c.prog.ID, m.ID, tierID(from), tierID(to), direction, reason); err != nil {
		return err
	}
	if err := s.schedule(ctx, tx, m.TierReviewAt); err != nil {
		return err
	}
	return emit(ctx, tx, EventTierChanged, m.ID, m.ContactID, tierChangedPayload{MemberID: m.ID, FromTierID: tierID(from), FromTier: tierName(from),
		ToTierID: tierID(to), ToTier: tierName(to), Direction: direction, Reason: reason})
}

func tierName(t *Tier) string {
	if t == nil {
		return ""
	}
	return t.Name
}

// review applies the downgrade policy to a member whose review time or
// grace end has come (now is the sweep's time).
//
// At a review the member's spend is judged: with window_end, the spend of
// the window that just ended (the calendar year before the review, or
// the 12 months before it); with after_days, the qualifying spend at the
// review. A member whose spend still reaches their tier keeps it until
// the next review. Otherwise, with a grace period, they keep it for
// grace_days more (club.tier_changed with direction grace); without one,
// or when grace ends without a purchase that requalifies, they move down
// to the tier their spend in the current window reaches.
func (s *Service) review(ctx context.Context, tx *store.Tx, c *config, m *Member, now time.Time) error {
	cur := c.tier(m.TierID)
	if m.GraceUntil != nil && !m.GraceUntil.After(now) {
		at := *m.GraceUntil
		spend, err := tx.ClubSpend(ctx, m.ID, windowStart(c.prog, at), at)
		if err != nil {
			return err
		}
		q := tierFor(c.tiers, spend)
		if cur != nil && q != nil && q.Threshold >= cur.Threshold {
			m.GraceUntil, m.TierReviewAt = nil, reviewAfter(c, cur, at)
			if err := tx.SetClubMemberTier(ctx, m); err != nil {
				return err
			}
			if err := s.schedule(ctx, tx, m.TierReviewAt); err != nil {
				return err
			}
			return nil
		}
		return s.changeTier(ctx, tx, c, m, q, DirectionDown, "grace_ended", at)
	}
	if m.TierReviewAt == nil || m.TierReviewAt.After(now) {
		return nil
	}
	at := *m.TierReviewAt
	if cur == nil || c.prog.Downgrade == DowngradeNever {
		m.TierReviewAt = nil
		return tx.SetClubMemberTier(ctx, m)
	}
	from, to := windowStart(c.prog, at), at
	if c.prog.Downgrade == DowngradeWindowEnd {
		from = windowStart(c.prog, at.Add(-time.Microsecond))
		to = at.Add(-time.Microsecond)
	}
	spend, err := tx.ClubSpend(ctx, m.ID, from, to)
	if err != nil {
		return err
	}
	q := tierFor(c.tiers, spend)
	if q != nil && q.Threshold >= cur.Threshold {
		m.TierReviewAt = reviewAfter(c, cur, at)
		if err := tx.SetClubMemberTier(ctx, m); err != nil {
			return err
		}
		if err := s.schedule(ctx, tx, m.TierReviewAt); err != nil {
			return err
		}
		return nil
	}
	if c.prog.GraceDays > 0 {
		g := at.AddDate(0, 0, c.prog.GraceDays)
		m.GraceUntil, m.TierReviewAt = &g, nil
		if err := tx.SetClubMemberTier(ctx, m); err != nil {
			return err
		}
		if err := tx.InsertClubTierChange(ctx, c.prog.ID, m.ID, cur.ID, cur.ID, DirectionGrace, "review"); err != nil {
			return err
		}
		if err := s.schedule(ctx, tx, &g); err != nil {
			return err
		}
		return emit(ctx, tx, EventTierChanged, m.ID, m.ContactID, tierChangedPayload{MemberID: m.ID, FromTierID: cur.ID, FromTier: cur.Name,
			ToTierID: cur.ID, ToTier: cur.Name, Direction: DirectionGrace, Reason: "review", GraceUntil: &g})
	}
	// Down to what the current window's spend reaches.
	now2, err := tx.ClubSpend(ctx, m.ID, windowStart(c.prog, at), at)
	if err != nil {
		return err
	}
	return s.changeTier(ctx, tx, c, m, higher(q, tierFor(c.tiers, now2)), DirectionDown, "review", at)
}

// DirectionPaid logs a paid tier bought or renewed.
const DirectionPaid = "paid"

// paidYear is how long a paid tier lasts.
func paidYear(from time.Time) time.Time { return from.AddDate(1, 0, 0) }

// SellPaidTier gives a member a year in a paid tier (a tier with a fee):
// from now, or from the end of the year already paid for the same tier.
// The member then earns at the higher of the tier they qualify for and
// the paid one. The fee itself is taken at the till (an order, if it is
// to count as a sale); here the purchase is logged with the tier
// movements (direction paid), written as club.tier_changed and audited.
func (s *Service) SellPaidTier(ctx context.Context, memberID, paidTierID int64) (*Member, error) {
	var out *Member
	err := s.write(ctx, func(tx *store.Tx) error {
		m, err := tx.LockClubMember(ctx, memberID)
		if err != nil {
			return err
		}
		if m.Status != StatusActive {
			return &crm.Error{Code: crm.ECONFLICT, Key: "club.error.member_closed", Message: "This membership is closed."}
		}
		c, err := s.config(ctx, tx, m.ProgramID)
		if err != nil {
			return err
		}
		t := c.tier(paidTierID)
		switch {
		case t == nil:
			return fieldError("tier_id", "There is no tier %d in this program.", paidTierID)
		case t.Fee <= 0:
			return fieldError("tier_id", "Tier %q is not for sale (it has no fee).", t.Name)
		}
		now := tx.Now()
		from := now
		if m.PaidTierID == t.ID && m.PaidUntil != nil && m.PaidUntil.After(now) {
			from = *m.PaidUntil // a renewal adds a year to the one running
		}
		before := effectiveTier(c, m, now)
		prev := m.PaidTierID
		until := paidYear(from)
		m.PaidTierID, m.PaidUntil = t.ID, &until
		if err := tx.SetClubMemberTier(ctx, m); err != nil {
			return err
		}
		if err := tx.InsertClubTierChange(ctx, c.prog.ID, m.ID, prev, t.ID, DirectionPaid, "paid"); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "club.paid_tier", "club_member", m.ID, nil,
			map[string]any{"tier_id": t.ID, "tier": t.Name, "fee": t.Fee, "currency": c.prog.Currency, "paid_until": until}); err != nil {
			return err
		}
		out = m
		return emit(ctx, tx, EventTierChanged, m.ID, m.ContactID, tierChangedPayload{MemberID: m.ID, FromTierID: tierID(before),
			FromTier: tierName(before), ToTierID: t.ID, ToTier: t.Name, Direction: DirectionPaid, Reason: "paid", PaidUntil: &until})
	})
	return out, err
}
