// Package club runs the customer club (باشگاه مشتریان): programs, earn
// rules, tiers, the append-only points ledger, rewards, coupons, referrals
// and members. It learns about purchases from order.created and
// order.returned events.
//
// Every change of points is a ledger entry (club_ledger, only ever
// appended to) written in the same transaction as the balances and lots
// it moves, and every effect that comes from outside (an order, a return,
// a release, a redemption step) carries an idempotency key, so it happens
// once however often it is delivered. Every change to one member's
// points starts by locking the member's row (store.LockClubMember) or by
// a conditional update of it (store.TakeClubAvailable), so concurrent
// changes to one member happen one after the other on PostgreSQL too.
//
// Every exported method checks permissions with crm.Authorize against the
// user in the context; a context without a user is the system. See
// docs/club.md for the policies.
package club

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The club's records, as the store keeps them.
type (
	Program    = store.ClubProgram
	Tier       = store.ClubTier
	Rule       = store.ClubRule
	Member     = store.ClubMember
	Lot        = store.ClubLot
	Entry      = store.ClubEntry
	TierChange = store.ClubTierChange
)

// Event types the club writes. Those with a ContactID show on the
// person's timeline.
const (
	EventMemberEnrolled   = "club.member_enrolled"
	EventPointsEarned     = "club.points_earned"
	EventPointsReversed   = "club.points_reversed"
	EventPointsExpiring   = "club.points_expiring"
	EventPointsExpired    = "club.points_expired"
	EventPointsAdjusted   = "club.points_adjusted"
	EventRewardReserved   = "club.reward_reserved"
	EventRewardCaptured   = "club.reward_captured"
	EventRewardCancelled  = "club.reward_cancelled"
	EventTierChanged      = "club.tier_changed"
	EventReferralRewarded = "club.referral_rewarded"
	EventCouponRedeemed   = "club.coupon_redeemed"
)

// Ledger entry kinds.
const (
	KindEarn     = "earn"     // an order's points, pending (or available at once without a return window)
	KindRelease  = "release"  // pending → available when the return window closes
	KindReserve  = "reserve"  // available → reserved for a reward
	KindCapture  = "capture"  // reserved points spent on the reward
	KindCancel   = "cancel"   // reserved → available again
	KindExpire   = "expire"   // available points of a lot that reached its expiry
	KindReverse  = "reverse"  // taken back by a return
	KindAdjust   = "adjust"   // staff correction, with a reason
	KindReferral = "referral" // referral bonus
)

// Resolver finds the person a customer reference names inside tx, or
// creates them (internal/app composes it from the contacts module, as
// for orders). Errors name the reference's fields (customer.phone …).
type Resolver func(ctx context.Context, tx *store.Tx, ref crm.CustomerRef) (int64, error)

// Options configure a Service.
type Options struct {
	// Resolve finds or creates the person an enrolment names by phone,
	// email or name (Enrolment.Customer, the public join form). Without
	// it only contact ids can be enrolled.
	Resolve Resolver
	// Logger receives the sweep's and handlers' notes; slog.Default when nil.
	Logger *slog.Logger
	// SweepInterval is the longest the sweep waits between runs while
	// there is anything to do later (release, expiry, reminder, review);
	// 0 is 15 minutes. The sweep runs sooner when something falls due.
	SweepInterval time.Duration
}

// Service is the customer-club module.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	configs map[int64]*config // by program id, checked against the program's version
	slots   map[int64]bool    // sweep slots known to be queued (unix minutes)
}

// New returns the club service on db.
func New(db *store.DB, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = 15 * time.Minute
	}
	return &Service{db: db, opts: opts, log: opts.Logger, configs: map[int64]*config{}, slots: map[int64]bool{}}
}

// config is a program with its tiers (by threshold) and rules (highest
// priority first), as loaded at one version.
type config struct {
	prog  *Program
	tiers []*Tier
	rules []*Rule
	birth bool // a birthday rule exists: read the person's birthday
}

// tier returns the tier with id, or nil.
func (c *config) tier(id int64) *Tier {
	for _, t := range c.tiers {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// tiered reports whether spend can move a member between tiers (some
// tier starts above zero): only then is the qualifying spend read.
func (c *config) tiered() bool {
	for _, t := range c.tiers {
		if t.Threshold > 0 {
			return true
		}
	}
	return false
}

// config returns program id's configuration, from the cache when the
// program's version has not changed.
func (s *Service) config(ctx context.Context, tx *store.Tx, id int64) (*config, error) {
	p, err := tx.ClubProgram(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.configOf(ctx, tx, p)
}

// configOf is config for a program row already read.
func (s *Service) configOf(ctx context.Context, tx *store.Tx, p *Program) (*config, error) {
	s.mu.Lock()
	c := s.configs[p.ID]
	s.mu.Unlock()
	if c != nil && c.prog.Version == p.Version {
		c2 := *c
		c2.prog = p
		return &c2, nil
	}
	c = &config{prog: p}
	var err error
	if c.tiers, err = tx.ClubTiers(ctx, p.ID); err != nil {
		return nil, err
	}
	if c.rules, err = tx.ClubRules(ctx, p.ID); err != nil {
		return nil, err
	}
	for _, r := range c.rules {
		if r.Kind == RuleBirthday && r.Active {
			c.birth = true
		}
	}
	s.mu.Lock()
	s.configs[p.ID] = c
	s.mu.Unlock()
	return c, nil
}

// emit writes one club event.
func emit(ctx context.Context, tx *store.Tx, typ string, memberID, contactID int64, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("club: %s payload: %w", typ, err)
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: "club_member", SubjectID: memberID, ContactID: contactID, Payload: b})
}

// Read runs fn in a read transaction after checking club:read.
func (s *Service) read(ctx context.Context, fn func(tx *store.Tx) error) error {
	if err := crm.Authorize(ctx, crm.PermClubRead, false); err != nil {
		return err
	}
	return s.db.Read(ctx, fn)
}

// write runs fn in a write transaction after checking club:write.
func (s *Service) write(ctx context.Context, fn func(tx *store.Tx) error) error {
	if err := crm.Authorize(ctx, crm.PermClubWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, fn)
}

// key builds an idempotency key from its parts: "earn:12:345".
func key(kind string, ids ...int64) string {
	b := []byte(kind)
	for _, id := range ids {
		b = append(b, ':')
		b = fmt.Appendf(b, "%d", id)
	}
	return string(b)
}

// mustJSON marshals a payload struct of this package (which always
// marshals).
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
