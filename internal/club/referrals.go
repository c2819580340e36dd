package club

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Referrals: a member's referral code given at enrolment makes the new
// member the referee. When the referee's first purchase clears the return
// window (its lot is released with points left in it), the referee gets
// the program's referee_points and the referrer its referrer_points, as
// available points; once per referee (the referral row's status and the
// ledger keys referral-referee:<id> and referral-referrer:<id>). Nobody
// can refer themselves, and only a new member can be referred.

type Referral = store.ClubReferral

// referralPayload is what club.referral_rewarded carries.
type referralPayload struct {
	RefereeID  int64 `json:"referee_id"`
	ReferrerID int64 `json:"referrer_id"`
	Points     int64 `json:"points"` // what this member got
}

// rewardReferral grants a pending referral of referee (locked by the
// caller); the referrer is locked after it (a referrer always joined
// before their referee, so locks are always taken newer → older and two
// of these cannot wait on each other).
func (s *Service) rewardReferral(ctx context.Context, tx *store.Tx, c *config, referee *Member) error {
	r, err := tx.ClubReferralOf(ctx, referee.ID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	}
	if err != nil || r.Status != "pending" {
		return err
	}
	if ok, err := tx.RewardClubReferral(ctx, referee.ID); err != nil || !ok {
		return err
	}
	if p := c.prog.RefereePoints; p > 0 {
		if _, err := s.creditAvailable(ctx, tx, c, referee, LotReferral, p, &Entry{Kind: KindReferral, IdemKey: key("referral-referee", referee.ID)}); err != nil {
			return err
		}
		if err := emit(ctx, tx, EventReferralRewarded, referee.ID, referee.ContactID, referralPayload{RefereeID: referee.ID, ReferrerID: r.ReferrerID, Points: p}); err != nil {
			return err
		}
	}
	if p := c.prog.ReferrerPoints; p > 0 {
		referrer, err := tx.LockClubMember(ctx, r.ReferrerID)
		if err != nil {
			return err
		}
		if referrer.Status != StatusActive {
			return nil
		}
		if _, err := s.creditAvailable(ctx, tx, c, referrer, LotReferral, p, &Entry{Kind: KindReferral, IdemKey: key("referral-referrer", referee.ID)}); err != nil {
			return err
		}
		return emit(ctx, tx, EventReferralRewarded, referrer.ID, referrer.ContactID, referralPayload{RefereeID: referee.ID, ReferrerID: referrer.ID, Points: p})
	}
	return nil
}

// Referrals lists the members a member referred.
func (s *Service) Referrals(ctx context.Context, memberID int64) ([]Referral, error) {
	var out []Referral
	err := s.read(ctx, func(tx *store.Tx) error {
		if _, err := tx.ClubMember(ctx, memberID); err != nil {
			return err
		}
		var err error
		out, err = tx.ClubReferrals(ctx, memberID)
		return err
	})
	return out, err
}
