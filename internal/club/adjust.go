package club

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Adjustment is a staff correction of a member's available points.
type Adjustment struct {
	Points int64  `json:"points"` // positive adds, negative takes away
	Reason string `json:"reason"` // required: kept in the ledger and the audit log
	// Key, when set, makes the adjustment happen once: a second Adjust
	// with the same key changes nothing (workflows pass run + step).
	Key string `json:"-"`
}

// adjustedPayload is what club.points_adjusted carries.
type adjustedPayload struct {
	MemberID int64  `json:"member_id"`
	Points   int64  `json:"points"`
	Reason   string `json:"reason"`
}

// maxPoints bounds one adjustment, reward cost or rule value.
const maxPoints = 1_000_000_000_000

// Adjust corrects a member's available points, with a reason, audited.
// Added points are a new lot (they expire like earned points); taken
// points come from the lots soonest to expire, and never more than are
// available (ECONFLICT).
func (s *Service) Adjust(ctx context.Context, memberID int64, in Adjustment) (*Member, error) {
	var v crm.Validation
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Points == 0 || in.Points > maxPoints || in.Points < -maxPoints {
		v.Add("points", "Give the points to add (positive) or take away (negative), at most %d.", int64(maxPoints))
	}
	if in.Reason == "" {
		v.Add("reason", "Say why: the reason is kept in the ledger and the audit log.")
	} else if utf8.RuneCountInString(in.Reason) > 500 {
		v.Add("reason", "The reason is longer than 500 characters.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *Member
	err := s.write(ctx, func(tx *store.Tx) error {
		m, err := tx.LockClubMember(ctx, memberID)
		if err != nil {
			return err
		}
		before := *m
		actor := crm.UserIDFromContext(ctx)
		e := &Entry{Kind: KindAdjust, Reason: in.Reason, ActorID: actor, IdemKey: in.Key}
		if in.Key != "" {
			if done, err := tx.ClubEntryExists(ctx, in.Key); err != nil || done {
				out = m
				return err
			}
		}
		if in.Points > 0 {
			c, err := s.config(ctx, tx, m.ProgramID)
			if err != nil {
				return err
			}
			if _, err := s.creditAvailable(ctx, tx, c, m, LotAdjust, in.Points, e); err != nil {
				return err
			}
		} else {
			if _, err := s.releaseLocked(ctx, tx, m, tx.Now()); err != nil {
				return err
			}
			if _, err := s.spend(ctx, tx, m, -in.Points, false, e); err != nil {
				return err
			}
		}
		out = m
		if err := tx.Audit(ctx, "club.adjust", "club_member", m.ID, map[string]int64{"available": before.Available},
			map[string]any{"available": m.Available, "points": in.Points, "reason": in.Reason}); err != nil {
			return err
		}
		return emit(ctx, tx, EventPointsAdjusted, m.ID, m.ContactID, adjustedPayload{MemberID: m.ID, Points: in.Points, Reason: in.Reason})
	})
	return out, err
}
