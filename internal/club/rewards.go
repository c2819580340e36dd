package club

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The rewards catalogue and redemptions: a redemption reserves the
// reward's cost in points (and one of its stock), then is captured (the
// reward is given: a voucher code is issued) or cancelled (the points go
// back to the lots they came from, with their expiry dates, and the stock
// is returned). See docs/club.md, "Rewards".

type (
	Reward     = store.ClubReward
	Redemption = store.ClubRedemption
)

// Reward kinds.
const (
	RewardGiftCard    = "gift_card"    // a voucher of a fixed money value
	RewardFreeProduct = "free_product" // a voucher for one product (SKU)
	RewardCoupon      = "coupon"       // a discount voucher, percent or fixed
)

// RewardKinds lists the reward kinds.
var RewardKinds = []string{RewardGiftCard, RewardFreeProduct, RewardCoupon}

// Redemption statuses.
const (
	RedemptionReserved  = "reserved"
	RedemptionCaptured  = "captured"
	RedemptionCancelled = "cancelled"
)

// RewardInput is a reward to create or the new state of one.
type RewardInput struct {
	ProgramID      int64      `json:"program_id"`
	Name           string     `json:"name"`
	Description    string     `json:"description,omitempty"`
	Kind           string     `json:"kind"`
	Cost           int64      `json:"cost"`
	Value          int64      `json:"value,omitempty"`
	Percent        int64      `json:"percent,omitempty"`
	SKU            string     `json:"sku,omitempty"`
	Stock          *int64     `json:"stock,omitempty"`
	PerMemberLimit int64      `json:"per_member_limit,omitempty"`
	ValidDays      int        `json:"valid_days,omitempty"`
	StartsAt       *time.Time `json:"starts_at,omitempty"`
	EndsAt         *time.Time `json:"ends_at,omitempty"`
	Active         *bool      `json:"active,omitempty"` // true when absent
}

func (in *RewardInput) validate() error {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	in.SKU = strings.TrimSpace(in.SKU)
	if in.ProgramID <= 0 {
		v.Add("program_id", "Choose a program.")
	}
	if in.Name == "" {
		v.Add("name", "A reward needs a name.")
	} else if utf8.RuneCountInString(in.Name) > 200 {
		v.Add("name", "Name is longer than 200 characters.")
	}
	if utf8.RuneCountInString(in.Description) > 2000 {
		v.Add("description", "Description is longer than 2000 characters.")
	}
	if !slices.Contains(RewardKinds, in.Kind) {
		v.Add("kind", "Choose gift_card, free_product or coupon.")
	}
	if in.Cost <= 0 || in.Cost > maxPoints {
		v.Add("cost", "The cost must be between 1 and %d points.", int64(maxPoints))
	}
	switch in.Kind {
	case RewardGiftCard:
		if in.Value <= 0 {
			v.Add("value", "A gift card needs a value above 0.")
		}
		if in.Percent != 0 {
			v.Add("percent", "A gift card has a value, not a percent.")
		}
	case RewardFreeProduct:
		if in.SKU == "" {
			v.Add("sku", "A free product needs the product's SKU.")
		}
	case RewardCoupon:
		switch {
		case in.Value > 0 && in.Percent > 0:
			v.Add("percent", "Give a value or a percent, not both.")
		case in.Percent < 0 || in.Percent > 100:
			v.Add("percent", "The percent must be between 1 and 100.")
		case in.Value < 0:
			v.Add("value", "The value must not be negative.")
		case in.Value == 0 && in.Percent == 0:
			v.Add("value", "A coupon needs a value or a percent.")
		}
	}
	if in.Stock != nil && *in.Stock < 0 {
		v.Add("stock", "Stock must not be negative.")
	}
	if in.PerMemberLimit < 0 {
		v.Add("per_member_limit", "The limit must not be negative.")
	}
	if in.ValidDays < 0 || in.ValidDays > 3660 {
		v.Add("valid_days", "Validity must be between 0 (no end) and 3660 days.")
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.EndsAt.After(*in.StartsAt) {
		v.Add("ends_at", "The end must be after the start.")
	}
	return v.Err()
}

func (in *RewardInput) apply(r *Reward) {
	r.ProgramID, r.Name, r.Description, r.Kind, r.Cost = in.ProgramID, in.Name, in.Description, in.Kind, in.Cost
	r.Value, r.Percent, r.SKU, r.Stock, r.PerMemberLimit = in.Value, in.Percent, in.SKU, in.Stock, in.PerMemberLimit
	r.ValidDays, r.StartsAt, r.EndsAt = in.ValidDays, in.StartsAt, in.EndsAt
	r.Active = in.Active == nil || *in.Active
}

// CreateReward adds a reward to a program's catalogue.
func (s *Service) CreateReward(ctx context.Context, in RewardInput) (*Reward, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	r := &Reward{}
	in.apply(r)
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := tx.ClubProgram(ctx, in.ProgramID); err != nil {
			if crm.ErrorCode(err) == crm.ENOTFOUND {
				return fieldError("program_id", "There is no program %d.", in.ProgramID)
			}
			return err
		}
		if err := tx.InsertClubReward(ctx, r); err != nil {
			return err
		}
		return tx.Audit(ctx, "club.reward_create", "club_reward", r.ID, nil, r)
	})
	return r, err
}

// UpdateReward replaces a reward's fields (its program stays).
func (s *Service) UpdateReward(ctx context.Context, id int64, in RewardInput) (*Reward, error) {
	var out *Reward
	err := s.write(ctx, func(tx *store.Tx) error {
		r, err := tx.ClubReward(ctx, id)
		if err != nil {
			return err
		}
		in.ProgramID = r.ProgramID
		if err := in.validate(); err != nil {
			return err
		}
		before := *r
		in.apply(r)
		if err := tx.UpdateClubReward(ctx, r); err != nil {
			return err
		}
		out = r
		return tx.Audit(ctx, "club.reward_update", "club_reward", r.ID, before, r)
	})
	return out, err
}

// Reward reads one reward.
func (s *Service) Reward(ctx context.Context, id int64) (*Reward, error) {
	var out *Reward
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ClubReward(ctx, id)
		return err
	})
	return out, err
}

// Rewards lists a program's rewards (every program's for 0), cheapest
// first.
func (s *Service) Rewards(ctx context.Context, programID int64, activeOnly bool) ([]*Reward, error) {
	var out []*Reward
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ClubRewards(ctx, programID, activeOnly)
		return err
	})
	return out, err
}

// RewardsForToken lists the active rewards of the program of the member
// whose page token is token (the private member page).
func (s *Service) RewardsForToken(ctx context.Context, token string) ([]*Reward, error) {
	var out []*Reward
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		m, err := tx.ClubMemberByToken(ctx, hashToken(token))
		if err != nil || m.Status != StatusActive {
			return crm.Errorf(crm.ENOTFOUND, "This member page does not exist.")
		}
		out, err = tx.ClubRewards(ctx, m.ProgramID, true)
		return err
	})
	return out, err
}

// RedeemRequest asks for a reward for a member.
type RedeemRequest struct {
	MemberID  int64  `json:"member_id"`
	RewardID  int64  `json:"reward_id"`
	Reference string `json:"reference,omitempty"` // the till's or shop's own reference, kept with the redemption
	Capture   bool   `json:"capture,omitempty"`   // capture at once instead of only reserving
}

// redemptionPayload is what the club.reward_* events carry.
type redemptionPayload struct {
	MemberID     int64  `json:"member_id"`
	RedemptionID int64  `json:"redemption_id"`
	RewardID     int64  `json:"reward_id"`
	Reward       string `json:"reward"`
	Points       int64  `json:"points"`
	CouponCode   string `json:"coupon_code,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// Redeem reserves a reward's cost from a member's available points, and
// captures it at once when asked. With balance B and cost X, however many
// requests come at the same time, exactly ⌊B/X⌋ succeed: the balance is
// taken by one conditional update (store.TakeClubAvailable) on a row that
// concurrent redemptions of the member wait for. Stock and per-member
// limits are checked the same way. A member without enough points, a
// reward out of stock or over its limit is ECONFLICT.
func (s *Service) Redeem(ctx context.Context, in RedeemRequest) (*Redemption, error) {
	var v crm.Validation
	if in.MemberID <= 0 {
		v.Add("member_id", "Choose a member.")
	}
	if in.RewardID <= 0 {
		v.Add("reward_id", "Choose a reward.")
	}
	if utf8.RuneCountInString(in.Reference) > 200 {
		v.Add("reference", "The reference is longer than 200 characters.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var id int64
	err := s.write(ctx, func(tx *store.Tx) error {
		m, err := tx.LockClubMember(ctx, in.MemberID)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return fieldError("member_id", "There is no member %d.", in.MemberID)
		}
		if err != nil {
			return err
		}
		if m.Status != StatusActive {
			return &crm.Error{Code: crm.ECONFLICT, Key: "club.error.member_closed", Message: "This membership is closed."}
		}
		r, err := tx.ClubReward(ctx, in.RewardID)
		if crm.ErrorCode(err) == crm.ENOTFOUND || err == nil && r.ProgramID != m.ProgramID {
			return fieldError("reward_id", "There is no reward %d in the member's program.", in.RewardID)
		}
		if err != nil {
			return err
		}
		now := tx.Now()
		switch {
		case !r.Active, r.StartsAt != nil && now.Before(*r.StartsAt), r.EndsAt != nil && !now.Before(*r.EndsAt):
			return &crm.Error{Code: crm.ECONFLICT, Key: "club.error.reward_unavailable", Message: "This reward cannot be redeemed now."}
		}
		// Points whose return window has closed count, even before the
		// sweep gets to them.
		if _, err := s.releaseLocked(ctx, tx, m, now); err != nil {
			return err
		}
		if ok, err := tx.TakeClubRewardStock(ctx, r.ID); err != nil {
			return err
		} else if !ok {
			return &crm.Error{Code: crm.ECONFLICT, Key: "club.error.out_of_stock", Message: "This reward is out of stock."}
		}
		if r.PerMemberLimit > 0 {
			n, err := tx.ClubRedemptionCount(ctx, r.ID, m.ID)
			if err != nil {
				return err
			}
			if n >= r.PerMemberLimit {
				return &crm.Error{Code: crm.ECONFLICT, Key: "club.error.reward_limit", Message: "This member has redeemed this reward as often as allowed."}
			}
		}
		c, err := s.config(ctx, tx, m.ProgramID)
		if err != nil {
			return err
		}
		d := &Redemption{RewardID: r.ID, MemberID: m.ID, Points: r.Cost, Status: RedemptionReserved, Reference: in.Reference}
		if c.prog.HoldHours > 0 {
			h := now.Add(time.Duration(c.prog.HoldHours) * time.Hour)
			d.HoldUntil = &h
		}
		if err := tx.InsertClubRedemption(ctx, d); err != nil {
			return err
		}
		allocs, err := s.spend(ctx, tx, m, r.Cost, true, &Entry{Kind: KindReserve, RedemptionID: d.ID, IdemKey: key(KindReserve, d.ID)})
		if err != nil {
			return err
		}
		if err := tx.InsertClubAllocations(ctx, d.ID, allocs); err != nil {
			return err
		}
		if d.HoldUntil != nil {
			if err := s.schedule(ctx, tx, d.HoldUntil); err != nil {
				return err
			}
		}
		id = d.ID
		if err := emit(ctx, tx, EventRewardReserved, m.ID, m.ContactID, redemptionPayload{MemberID: m.ID, RedemptionID: d.ID, RewardID: r.ID,
			Reward: r.Name, Points: r.Cost}); err != nil {
			return err
		}
		if in.Capture {
			_, err := s.capture(ctx, tx, d.ID)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.redemption(ctx, id)
}

func (s *Service) redemption(ctx context.Context, id int64) (*Redemption, error) {
	var out *Redemption
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ClubRedemption(ctx, id)
		return err
	})
	return out, err
}

// Redemption reads one redemption.
func (s *Service) Redemption(ctx context.Context, id int64) (*Redemption, error) {
	if err := crm.Authorize(ctx, crm.PermClubRead, false); err != nil {
		return nil, err
	}
	return s.redemption(ctx, id)
}

// RedemptionFilter selects redemptions.
type RedemptionFilter = store.ClubRedemptionFilter

// Redemptions lists redemptions, newest first.
func (s *Service) Redemptions(ctx context.Context, f RedemptionFilter) ([]*Redemption, string, error) {
	var out []*Redemption
	var next string
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, next, err = tx.ListClubRedemptions(ctx, f)
		return err
	})
	return out, next, err
}

// Capture gives a reserved reward: the points are spent and a voucher
// code is issued. Capturing a captured redemption again returns it as it
// is; a cancelled one is ECONFLICT.
func (s *Service) Capture(ctx context.Context, id int64) (*Redemption, error) {
	err := s.write(ctx, func(tx *store.Tx) error {
		_, err := s.capture(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.redemption(ctx, id)
}

func (s *Service) capture(ctx context.Context, tx *store.Tx, id int64) (*Redemption, error) {
	d, err := tx.ClubRedemption(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := tx.LockClubMember(ctx, d.MemberID)
	if err != nil {
		return nil, err
	}
	// Read again under the member's lock: a concurrent capture or cancel
	// of the same redemption has committed by now.
	if d, err = tx.ClubRedemption(ctx, id); err != nil {
		return nil, err
	}
	switch d.Status {
	case RedemptionCaptured:
		return d, nil
	case RedemptionCancelled:
		return nil, &crm.Error{Code: crm.ECONFLICT, Key: "club.error.redemption_cancelled", Message: "This redemption was cancelled."}
	}
	r, err := tx.ClubReward(ctx, d.RewardID)
	if err != nil {
		return nil, err
	}
	c, err := s.config(ctx, tx, m.ProgramID)
	if err != nil {
		return nil, err
	}
	coupon, err := s.voucher(ctx, tx, c, m, r)
	if err != nil {
		return nil, err
	}
	if ok, err := tx.SetClubRedemptionStatus(ctx, id, RedemptionReserved, RedemptionCaptured, coupon.ID); err != nil || !ok {
		if err == nil {
			err = crm.Errorf(crm.ECONFLICT, "The redemption changed at the same time; try again.")
		}
		return nil, err
	}
	e := &Entry{MemberID: m.ID, Kind: KindCapture, Points: -d.Points, Reserved: -d.Points, RedemptionID: id, IdemKey: key(KindCapture, id)}
	if _, err := tx.InsertClubEntry(ctx, e); err != nil {
		return nil, err
	}
	if err := tx.AddClubBalance(ctx, m.ID, store.ClubBalanceDelta{Reserved: -d.Points}); err != nil {
		return nil, err
	}
	return d, emit(ctx, tx, EventRewardCaptured, m.ID, m.ContactID, redemptionPayload{MemberID: m.ID, RedemptionID: id, RewardID: r.ID,
		Reward: r.Name, Points: d.Points, CouponCode: coupon.Code})
}

// voucher issues the coupon a captured reward gives: for this member
// only, one use, valid for the reward's valid_days.
func (s *Service) voucher(ctx context.Context, tx *store.Tx, c *config, m *Member, r *Reward) (*Coupon, error) {
	cp := &Coupon{Kind: CouponFixed, Value: r.Value, Currency: c.prog.Currency, MaxUses: 1, PerMemberLimit: 1, MemberID: m.ID, Active: true}
	switch r.Kind {
	case RewardFreeProduct:
		cp.Kind, cp.Value, cp.SKU = CouponProduct, 0, r.SKU
	case RewardCoupon:
		if r.Percent > 0 {
			cp.Kind, cp.Value, cp.Currency = CouponPercent, r.Percent, ""
		}
	}
	if r.ValidDays > 0 {
		end := tx.Now().AddDate(0, 0, r.ValidDays)
		cp.EndsAt = &end
	}
	for range 8 {
		cp.Code = "RW-" + randomCode(4) + "-" + randomCode(4)
		ok, err := tx.InsertClubCoupon(ctx, cp)
		if err != nil {
			return nil, err
		}
		if ok {
			return cp, nil
		}
	}
	return nil, crm.Errorf(crm.EUNAVAILABLE, "Could not draw a free voucher code; try again.")
}

// Cancel cancels a reserved redemption: its points go back to the lots
// they came from and its stock is returned. Cancelling a cancelled
// redemption again returns it as it is; a captured one is ECONFLICT.
func (s *Service) Cancel(ctx context.Context, id int64) (*Redemption, error) {
	err := s.write(ctx, func(tx *store.Tx) error {
		_, err := s.cancel(ctx, tx, id, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.redemption(ctx, id)
}

func (s *Service) cancel(ctx context.Context, tx *store.Tx, id int64, reason string) (*Redemption, error) {
	d, err := tx.ClubRedemption(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := tx.LockClubMember(ctx, d.MemberID)
	if err != nil {
		return nil, err
	}
	if d, err = tx.ClubRedemption(ctx, id); err != nil {
		return nil, err
	}
	switch d.Status {
	case RedemptionCancelled:
		return d, nil
	case RedemptionCaptured:
		return nil, &crm.Error{Code: crm.ECONFLICT, Key: "club.error.redemption_captured", Message: "This redemption was captured; it cannot be cancelled."}
	}
	if ok, err := tx.SetClubRedemptionStatus(ctx, id, RedemptionReserved, RedemptionCancelled, 0); err != nil || !ok {
		if err == nil {
			err = crm.Errorf(crm.ECONFLICT, "The redemption changed at the same time; try again.")
		}
		return nil, err
	}
	allocs, err := tx.ClubAllocations(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := giveBack(ctx, tx, m, allocs, &Entry{Kind: KindCancel, RedemptionID: id, Reason: reason, IdemKey: key(KindCancel, id)}); err != nil {
		return nil, err
	}
	// Points given back to a lot that expired meanwhile expire at the
	// next sweep.
	now := tx.Now()
	if err := s.schedule(ctx, tx, &now); err != nil {
		return nil, err
	}
	if err := tx.ReturnClubRewardStock(ctx, d.RewardID); err != nil {
		return nil, err
	}
	return d, emit(ctx, tx, EventRewardCancelled, m.ID, m.ContactID, redemptionPayload{MemberID: m.ID, RedemptionID: id, RewardID: d.RewardID,
		Reward: d.RewardName, Points: d.Points, Reason: reason})
}
