package club

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Checks of the ledger: the invariants the tests assert, usable on a live
// database too (pivand could run them from a command).

// Check verifies, for every member, that the ledger and its projections
// agree: the sum of the entries equals available + pending + reserved,
// per balance; pending is what pending lots hold; available is what
// available lots hold less debt; reserved is what open reservations hold;
// debt is never negative, and there is none while lots hold points. It
// returns one line per problem; none means the ledger is consistent.
func (s *Service) Check(ctx context.Context) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx *store.Tx) error {
		checks, err := tx.ClubLedgerChecks(ctx)
		if err != nil {
			return err
		}
		for _, c := range checks {
			bad := func(format string, args ...any) {
				out = append(out, fmt.Sprintf("member %d: ", c.MemberID)+fmt.Sprintf(format, args...))
			}
			if c.Points != c.BalAvailable+c.BalPending+c.BalReserved {
				bad("ledger sums to %d, balances to %d+%d+%d", c.Points, c.BalAvailable, c.BalPending, c.BalReserved)
			}
			if c.Available != c.BalAvailable || c.Pending != c.BalPending || c.Reserved != c.BalReserved {
				bad("ledger available/pending/reserved %d/%d/%d, balances %d/%d/%d", c.Available, c.Pending, c.Reserved,
					c.BalAvailable, c.BalPending, c.BalReserved)
			}
			if c.LotsPending != c.BalPending {
				bad("pending lots hold %d, pending balance is %d", c.LotsPending, c.BalPending)
			}
			if c.LotsAvailable-c.Debt != c.BalAvailable {
				bad("available lots hold %d less debt %d, available balance is %d", c.LotsAvailable, c.Debt, c.BalAvailable)
			}
			if c.Reservation != c.BalReserved {
				bad("open reservations hold %d, reserved balance is %d", c.Reservation, c.BalReserved)
			}
			if c.Debt < 0 || c.Debt > 0 && c.LotsAvailable > 0 {
				bad("debt %d with %d points in available lots", c.Debt, c.LotsAvailable)
			}
			if c.BalPending < 0 || c.BalReserved < 0 {
				bad("negative pending %d or reserved %d", c.BalPending, c.BalReserved)
			}
		}
		return nil
	})
	return out, err
}

// effect is an order's or a return's effect on one member's points.
type effect struct {
	Kind     string // earn, reverse
	MemberID int64
	Ref      int64 // order id (earn) or return id (reverse)
	Points   int64
	Spend    int64
}

func (e effect) String() string {
	return fmt.Sprintf("%s member %d #%d: %d points, spend %d", e.Kind, e.MemberID, e.Ref, e.Points, e.Spend)
}

// Recompute replays every order.created and order.returned event, in the
// order the club's subscriber handled them, through the earn rules and
// the reversal rule with the programs' current settings, and compares the
// points and qualifying spend each order and each return should have
// given each member with the ledger's earn and reverse entries. It
// returns one line per difference.
//
// A member takes part in an order when they were enrolled before it was
// handled (their club.member_enrolled event comes first), or were
// enrolled by it. Tier upgrades are recomputed; downgrades are taken from
// the logged tier movements at their time, paid tiers from their
// club.tier_changed events. It assumes the settings,
// tiers and rules did not change while the events were handled, and does
// not follow memberships moved by merges.
func (s *Service) Recompute(ctx context.Context) ([]string, error) {
	var diffs []string
	err := s.read(ctx, func(tx *store.Tx) error {
		want, err := s.replay(ctx, tx)
		if err != nil {
			return err
		}
		got := map[string]effect{}
		err = tx.EachClubEntry(ctx, func(e *Entry) error {
			var f effect
			switch e.Kind {
			case KindEarn:
				f = effect{Kind: KindEarn, MemberID: e.MemberID, Ref: e.OrderID, Points: e.Points, Spend: e.Spend}
			case KindReverse:
				f = effect{Kind: KindReverse, MemberID: e.MemberID, Ref: e.ReturnID, Points: e.Points, Spend: e.Spend}
			default:
				return nil
			}
			got[fmt.Sprint(f.Kind, f.MemberID, "/", f.Ref)] = f
			return nil
		})
		if err != nil {
			return err
		}
		for k, w := range want {
			g, ok := got[k]
			switch {
			case !ok:
				diffs = append(diffs, "missing from the ledger: "+w.String())
			case g != w:
				diffs = append(diffs, "ledger has "+g.String()+", recomputed "+w.String())
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok {
				diffs = append(diffs, "not recomputed: "+g.String())
			}
		}
		slices.Sort(diffs)
		return nil
	})
	return diffs, err
}

// replayMember is a member's state during a replay.
type replayMember struct {
	m       *Member
	c       *config
	enrolEv int64 // id of the member's club.member_enrolled event
	tier    *Tier
	orders  int64
	spends  []replaySpend
	earned  map[int64]int64 // order id → points
	revd    map[int64]int64 // order id → points reversed
	spent   map[int64]int64 // order id → qualifying spend left
	placed  map[int64]time.Time
	birth   int
	pending []*TierChange // logged downgrades not yet applied, oldest first
	// The paid tier as of the events replayed so far (club.tier_changed
	// with direction paid).
	paidTier  *Tier
	paidUntil time.Time
}

type replaySpend struct {
	at     time.Time
	amount int64
}

func (r *replayMember) spendIn(from, to time.Time) int64 {
	var n int64
	for _, s := range r.spends {
		if !s.at.Before(from) && !s.at.After(to) {
			n += s.amount
		}
	}
	return n
}

func (s *Service) replay(ctx context.Context, tx *store.Tx) (map[string]effect, error) {
	want := map[string]effect{}
	byContact := map[int64][]*replayMember{}
	byID := map[int64]*replayMember{}
	progs, err := tx.ClubPrograms(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range progs {
		c, err := s.config(ctx, tx, p.ID)
		if err != nil {
			return nil, err
		}
		var after string
		for {
			ms, next, err := tx.ListClubMembers(ctx, store.ClubMemberFilter{ProgramID: p.ID, Limit: crm.MaxLimit, After: after})
			if err != nil {
				return nil, err
			}
			for _, m := range ms {
				r := &replayMember{m: m, c: c, tier: tierFor(c.tiers, 0), earned: map[int64]int64{}, revd: map[int64]int64{},
					spent: map[int64]int64{}, placed: map[int64]time.Time{}}
				if c.birth {
					if pc, err := tx.ClubContact(ctx, m.ContactID); err == nil {
						r.birth = birthMonth(pc.Birthday)
					}
				}
				changes, err := tx.ClubTierChanges(ctx, m.ID)
				if err != nil {
					return nil, err
				}
				for i := range changes {
					if changes[i].Direction == DirectionDown {
						r.pending = append(r.pending, &changes[i])
					}
				}
				byContact[m.ContactID] = append(byContact[m.ContactID], r)
				byID[m.ID] = r
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	// Events in id order: enrolments, orders, returns.
	var lastOrder = map[int64]int64{} // contact → id of their latest order.created event so far
	var firstOrder = map[int64]int64{}
	var evs []crm.Event
	var cursor int64
	for {
		batch, err := tx.EventsAfter(ctx, cursor, 1000)
		if err != nil {
			return nil, err
		}
		for _, ev := range batch {
			switch ev.Type {
			case EventMemberEnrolled, crm.EventOrderCreated, crm.EventOrderReturned, EventTierChanged:
				evs = append(evs, ev)
			}
		}
		if len(batch) < 1000 {
			break
		}
		cursor = batch[len(batch)-1].ID
	}
	for _, ev := range evs {
		if ev.Type == EventMemberEnrolled {
			if r := byID[ev.SubjectID]; r != nil {
				r.enrolEv = ev.ID
				if r.m.EnrolledVia == ViaOrder {
					firstOrder[r.m.ID] = lastOrder[r.m.ContactID]
				}
			}
		} else if ev.Type == crm.EventOrderCreated {
			lastOrder[ev.ContactID] = ev.ID
		}
	}
	for _, ev := range evs {
		switch ev.Type {
		case EventTierChanged:
			// A paid tier sold: it counts for the orders handled after it.
			var pl tierChangedPayload
			if json.Unmarshal(ev.Payload, &pl) != nil || pl.Direction != DirectionPaid || pl.PaidUntil == nil {
				continue
			}
			if r := byID[ev.SubjectID]; r != nil {
				r.paidTier, r.paidUntil = r.c.tier(pl.ToTierID), *pl.PaidUntil
			}
		case crm.EventOrderCreated:
			var o crm.Order
			if json.Unmarshal(ev.Payload, &o) != nil {
				continue
			}
			if o.ID == 0 {
				o.ID = ev.SubjectID
			}
			if o.ContactID == 0 {
				o.ContactID = ev.ContactID
			}
			if o.Total <= 0 {
				continue
			}
			placed := o.PlacedAt.UTC()
			for _, r := range byContact[o.ContactID] {
				p := r.c.prog
				if p.Currency != o.Currency || r.enrolEv == 0 {
					continue
				}
				if r.m.EnrolledVia == ViaOrder {
					if ev.ID < firstOrder[r.m.ID] {
						continue
					}
				} else if ev.ID < r.enrolEv {
					continue
				}
				if _, seen := r.earned[o.ID]; seen {
					continue // delivered again: one effect
				}
				for len(r.pending) > 0 && !r.pending[0].CreatedAt.After(ev.CreatedAt) {
					r.tier = r.c.tier(r.pending[0].ToTier)
					r.pending = r.pending[1:]
				}
				held := r.tier
				if r.paidTier != nil && r.paidUntil.After(placed) {
					held = higher(held, r.paidTier)
				}
				before := r.spendIn(windowStart(p, placed), placed)
				res := computeEarn(r.c, earnState{Held: held, SpendBefore: before, First: r.orders == 0, BirthMonth: r.birth},
					earnOrder{Total: o.Total, Subtotal: o.Subtotal, Lines: o.Lines, PlacedAt: placed})
				r.orders++
				r.spends = append(r.spends, replaySpend{at: placed, amount: o.Total})
				r.earned[o.ID], r.spent[o.ID], r.placed[o.ID] = res.Points, o.Total, placed
				if q := tierFor(r.c.tiers, before+o.Total); q != nil && (r.tier == nil || q.Threshold > r.tier.Threshold) {
					r.tier = q
				}
				f := effect{Kind: KindEarn, MemberID: r.m.ID, Ref: o.ID, Points: res.Points, Spend: o.Total}
				want[fmt.Sprint(f.Kind, f.MemberID, "/", f.Ref)] = f
			}
		case crm.EventOrderReturned:
			var p crm.OrderReturnedPayload
			if json.Unmarshal(ev.Payload, &p) != nil {
				continue
			}
			if p.Return.ID == 0 {
				p.Return.ID = ev.SubjectID
			}
			var rs []*replayMember
			for _, r := range byID {
				if _, ok := r.earned[p.Return.OrderID]; ok {
					rs = append(rs, r)
				}
			}
			slices.SortFunc(rs, func(a, b *replayMember) int { return cmp.Compare(a.m.ID, b.m.ID) })
			for _, r := range rs {
				if _, seen := want[fmt.Sprint(KindReverse, r.m.ID, "/", p.Return.ID)]; seen {
					continue // delivered again: one effect
				}
				oid := p.Return.OrderID
				earned := r.earned[oid]
				target := earned
				if p.OrderTotal > 0 && p.ReturnedTotal < p.OrderTotal {
					target = mulDiv(earned, max(p.ReturnedTotal, 0), p.OrderTotal)
				}
				take := max(min(target, earned)-r.revd[oid], 0)
				back := min(max(p.Return.Amount, 0), max(r.spent[oid], 0))
				r.revd[oid] += take
				r.spent[oid] -= back
				r.spends = append(r.spends, replaySpend{at: r.placed[oid], amount: -back})
				f := effect{Kind: KindReverse, MemberID: r.m.ID, Ref: p.Return.ID, Points: -take, Spend: -back}
				want[fmt.Sprint(f.Kind, f.MemberID, "/", f.Ref)] = f
			}
		}
	}
	return want, nil
}
