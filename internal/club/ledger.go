package club

import (
	"context"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The moves of points. Each function runs inside the caller's
// transaction, on a member the caller has locked (store.LockClubMember),
// and writes one ledger entry together with the balances and lots it
// moves, so that for every member:
//
//	sum(ledger) = available + pending + reserved
//	pending     = remaining points of pending lots
//	available   = remaining points of available lots − debt
//	reserved    = points of reserved redemptions
//
// Debt is what a return took back beyond the points left: the balance
// goes below zero by that much, and the next points credited pay it off
// before they can be spent (docs/club.md, "Returns").

// expiry returns when points credited at t expire, or nil.
func expiry(p *Program, t time.Time) *time.Time {
	if p.ExpiryMonths <= 0 {
		return nil
	}
	e := t.UTC().AddDate(0, p.ExpiryMonths, 0)
	return &e
}

// creditAvailable adds a new available lot of points to m (a referral, a
// positive adjustment) with its entry e (Kind, Reason, IdemKey … set by
// the caller; the deltas and lot are filled here). It returns false when
// e's idempotency key was already used (nothing changed).
func (s *Service) creditAvailable(ctx context.Context, tx *store.Tx, c *config, m *Member, kind string, points int64, e *Entry) (bool, error) {
	if e.IdemKey != "" {
		if done, err := tx.ClubEntryExists(ctx, e.IdemKey); err != nil || done {
			return false, err
		}
	}
	now := tx.Now()
	pay := min(m.Debt, points)
	lot := &Lot{MemberID: m.ID, Kind: kind, Points: points, Remaining: points - pay, ReleaseAt: now, ExpiresAt: expiry(c.prog, now), EarnedAt: now}
	if err := tx.InsertClubLot(ctx, lot); err != nil {
		return false, err
	}
	e.MemberID, e.LotID = m.ID, lot.ID
	e.Points, e.Available = points, points
	if ok, err := tx.InsertClubEntry(ctx, e); err != nil || !ok {
		if err == nil {
			err = crm.Errorf(crm.ECONFLICT, "The same change was recorded at the same time; try again.")
		}
		return false, err
	}
	if err := tx.AddClubBalance(ctx, m.ID, store.ClubBalanceDelta{Available: points, Debt: -pay, Earned: points}); err != nil {
		return false, err
	}
	m.Available += points
	m.Debt -= pay
	m.Earned += points
	if err := s.schedule(ctx, tx, lot.ExpiresAt); err != nil {
		return false, err
	}
	return true, nil
}

// takeLots takes up to points from m's available lots, soonest expiry
// first, and returns what it took from each.
func takeLots(ctx context.Context, tx *store.Tx, memberID, points int64) ([]store.ClubAllocation, int64, error) {
	if points <= 0 {
		return nil, 0, nil
	}
	lots, err := tx.ClubSpendableLots(ctx, memberID)
	if err != nil {
		return nil, 0, err
	}
	var out []store.ClubAllocation
	var took int64
	for _, l := range lots {
		if took == points {
			break
		}
		n := min(l.Remaining, points-took)
		if err := tx.AddClubLotRemaining(ctx, l.ID, -n); err != nil {
			return nil, 0, err
		}
		out = append(out, store.ClubAllocation{LotID: l.ID, Points: n})
		took += n
	}
	return out, took, nil
}

// spend takes points from m's available balance (a negative adjustment,
// a reservation when reserve is set) if they are there, with entry e.
// The conditional update refuses when the balance is short: ECONFLICT.
func (s *Service) spend(ctx context.Context, tx *store.Tx, m *Member, points int64, reserve bool, e *Entry) ([]store.ClubAllocation, error) {
	ok, err := tx.TakeClubAvailable(ctx, m.ID, points, reserve)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &crm.Error{Code: crm.ECONFLICT, Key: "club.error.not_enough_points",
			Message: fmt.Sprintf("Member %s has %d points available, fewer than %d.", FormatNumber(m.Number), m.Available, points)}
	}
	allocs, took, err := takeLots(ctx, tx, m.ID, points)
	if err != nil {
		return nil, err
	}
	if took != points {
		// available ≥ points means the lots hold them (there is no debt
		// while available is positive); anything else is a broken ledger.
		return nil, fmt.Errorf("club: member %d: lots hold %d of the %d available points taken", m.ID, took, points)
	}
	e.MemberID = m.ID
	e.Points, e.Available = -points, -points
	if reserve {
		e.Points, e.Reserved = 0, points
	}
	if ok, err := tx.InsertClubEntry(ctx, e); err != nil || !ok {
		if err == nil {
			err = crm.Errorf(crm.ECONFLICT, "The same change was recorded at the same time; try again.")
		}
		return nil, err
	}
	m.Available -= points
	if reserve {
		m.Reserved += points
	}
	return allocs, nil
}

// giveBack returns points to the lots they were taken from (a cancelled
// reservation), paying off debt first, and moves them from reserved to
// available with entry e.
func giveBack(ctx context.Context, tx *store.Tx, m *Member, allocs []store.ClubAllocation, e *Entry) error {
	var total int64
	debt := m.Debt
	for _, a := range allocs {
		n := a.Points
		pay := min(debt, n)
		debt -= pay
		if n-pay > 0 {
			if err := tx.AddClubLotRemaining(ctx, a.LotID, n-pay); err != nil {
				return err
			}
		}
		total += n
	}
	e.MemberID = m.ID
	e.Points, e.Available, e.Reserved = 0, total, -total
	if ok, err := tx.InsertClubEntry(ctx, e); err != nil || !ok {
		if err == nil {
			err = crm.Errorf(crm.ECONFLICT, "The same change was recorded at the same time; try again.")
		}
		return err
	}
	if err := tx.AddClubBalance(ctx, m.ID, store.ClubBalanceDelta{Available: total, Reserved: -total, Debt: debt - m.Debt}); err != nil {
		return err
	}
	m.Available += total
	m.Reserved -= total
	m.Debt = debt
	return nil
}

// release moves a pending lot to available (its return window closed),
// paying off m's debt from it first, and grants a pending referral when
// this is the referee's first cleared purchase.
func (s *Service) release(ctx context.Context, tx *store.Tx, c *config, m *Member, l *Lot) error {
	if err := tx.ReleaseClubLot(ctx, l.ID); err != nil {
		return err
	}
	r := l.Remaining
	if r > 0 {
		pay := min(m.Debt, r)
		if pay > 0 {
			if err := tx.AddClubLotRemaining(ctx, l.ID, -pay); err != nil {
				return err
			}
		}
		e := &Entry{MemberID: m.ID, Kind: KindRelease, Available: r, Pending: -r, LotID: l.ID, OrderID: l.OrderID, IdemKey: key(KindRelease, l.ID)}
		if ok, err := tx.InsertClubEntry(ctx, e); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("club: lot %d released twice", l.ID)
			}
			return err
		}
		if err := tx.AddClubBalance(ctx, m.ID, store.ClubBalanceDelta{Available: r, Pending: -r, Debt: -pay}); err != nil {
			return err
		}
		m.Available += r
		m.Pending -= r
		m.Debt -= pay
	}
	if err := s.schedule(ctx, tx, l.ExpiresAt); err != nil {
		return err
	}
	if m.ReferredBy != 0 && l.Kind == LotOrder && r > 0 {
		return s.rewardReferral(ctx, tx, c, m)
	}
	return nil
}

// expire removes what is left of an available lot that reached its
// expiry.
func (s *Service) expire(ctx context.Context, tx *store.Tx, m *Member, l *Lot) error {
	r := l.Remaining
	if r <= 0 {
		return nil
	}
	if err := tx.AddClubLotRemaining(ctx, l.ID, -r); err != nil {
		return err
	}
	e := &Entry{MemberID: m.ID, Kind: KindExpire, Points: -r, Available: -r, LotID: l.ID, OrderID: l.OrderID}
	if _, err := tx.InsertClubEntry(ctx, e); err != nil {
		return err
	}
	if err := tx.AddClubBalance(ctx, m.ID, store.ClubBalanceDelta{Available: -r}); err != nil {
		return err
	}
	m.Available -= r
	return emit(ctx, tx, EventPointsExpired, m.ID, m.ContactID, expiredPayload{MemberID: m.ID, Points: r, LotID: l.ID, EarnedAt: l.EarnedAt})
}

// expiredPayload is what club.points_expired carries.
type expiredPayload struct {
	MemberID int64     `json:"member_id"`
	Points   int64     `json:"points"`
	LotID    int64     `json:"lot_id"`
	EarnedAt time.Time `json:"earned_at"`
}

// Lot kinds.
const (
	LotOrder    = "order"
	LotReferral = "referral"
	LotAdjust   = "adjust"
)
