package club

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
)

// Durable event cursor names of the club's subscribers. Keep them stable.
const (
	SubscriberOrders   = "club.orders"
	SubscriberContacts = "club.contacts"
)

// Subscribe registers the club's event handlers: points from orders and
// returns, and memberships following merged, deleted and erased people.
func (s *Service) Subscribe(d *event.Dispatcher) {
	if err := s.db.PrepareClub(context.Background()); err != nil {
		s.log.Warn("club: prepare statements", "err", err)
	}
	d.Subscribe(SubscriberOrders, []string{crm.EventOrderCreated, crm.EventOrderReturned}, s.HandleOrderEvent,
		event.Prepare(decodeOrderEvent))
	d.Subscribe(SubscriberContacts, []string{crm.EventContactsMerged, crm.EventContactDeleted, crm.EventContactErased}, s.HandleContactEvent)
}

// HandleOrderEvent awards points for order.created and takes them back
// for order.returned, inside the dispatcher's transaction. Each order
// and each return has one effect per member however often it is
// delivered: an order's lot is unique per (order, member), and a
// return's entry carries the idempotency key reverse:<member>:<return>;
// either refuses a second effect.
func (s *Service) HandleOrderEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	switch ev.Type {
	case crm.EventOrderCreated:
		o, ok := ev.Decoded.(*crm.Order)
		if !ok {
			o = new(crm.Order)
			if err := json.Unmarshal(ev.Payload, o); err != nil {
				s.log.Error("club: order.created payload does not decode; skipped", "event", ev.ID, "err", err)
				return nil
			}
		}
		if o.ID == 0 {
			o.ID = ev.SubjectID
		}
		if o.ContactID == 0 {
			o.ContactID = ev.ContactID
		}
		return s.orderCreated(ctx, tx, o)
	case crm.EventOrderReturned:
		var p crm.OrderReturnedPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Error("club: order.returned payload does not decode; skipped", "event", ev.ID, "err", err)
			return nil
		}
		if p.Return.ID == 0 {
			p.Return.ID = ev.SubjectID
		}
		return s.orderReturned(ctx, tx, &p)
	}
	return nil
}

// decodeOrderEvent decodes an order.created payload before the
// dispatcher's transaction (event.Prepare): off the one writer on SQLite.
// A payload that does not decode is left to HandleOrderEvent to report.
func decodeOrderEvent(ev *crm.Event) {
	if ev.Type != crm.EventOrderCreated {
		return
	}
	var o crm.Order
	if json.Unmarshal(ev.Payload, &o) == nil {
		ev.Decoded = &o
	}
}

func (s *Service) orderCreated(ctx context.Context, tx *store.Tx, o *crm.Order) error {
	if o.ContactID == 0 || o.ID == 0 {
		return nil
	}
	programs, members, err := tx.ClubBuyerPrograms(ctx, o.ContactID)
	if err != nil {
		return err
	}
	for i, p := range programs {
		if !p.Active || p.Currency != o.Currency {
			continue
		}
		m := members[i]
		if m == nil && !p.AutoEnrol {
			continue
		}
		c, err := s.configOf(ctx, tx, p)
		if err != nil {
			return err
		}
		if m == nil {
			if m, _, err = s.enrol(ctx, tx, c, o.ContactID, ViaOrder, nil); err != nil {
				return err
			}
		}
		if m.Status != StatusActive {
			continue
		}
		if err := s.earn(ctx, tx, c, m, o); err != nil {
			return err
		}
	}
	if o.CouponCode != "" {
		return s.orderCoupon(ctx, tx, o)
	}
	return nil
}

// earnedPayload is what club.points_earned carries.
type earnedPayload struct {
	MemberID  int64         `json:"member_id"`
	OrderID   int64         `json:"order_id"`
	Points    int64         `json:"points"`
	Pending   bool          `json:"pending"`
	ReleaseAt time.Time     `json:"release_at"`
	Segments  []segment     `json:"segments"`
	Rules     []appliedRule `json:"rules,omitempty"`
}

// earn credits an order's points to a member as a pending lot (available
// at once when the return window is 0 or already closed).
func (s *Service) earn(ctx context.Context, tx *store.Tx, c *config, m *Member, o *crm.Order) error {
	if o.Total <= 0 {
		return nil
	}
	if tx.Dialect() != store.SQLite {
		// Lock the row (SQLite's one writer needs no lock: m was read in
		// this transaction, and nobody else writes until it ends).
		var err error
		if m, err = tx.LockClubMember(ctx, m.ID); err != nil {
			return err
		}
	}
	placed := o.PlacedAt.UTC()
	if placed.IsZero() {
		placed = tx.Now()
	}
	st := earnState{Held: effectiveTier(c, m, placed), First: m.Orders == 0}
	var err error
	if c.tiered() {
		if st.SpendBefore, err = tx.ClubOrderSpend(ctx, m.ID, windowStart(c.prog, placed), placed); err != nil {
			return err
		}
	}
	if c.birth {
		if pc, err := tx.ClubContact(ctx, m.ContactID); err == nil {
			st.BirthMonth = birthMonth(pc.Birthday)
		}
	}
	res := computeEarn(c, st, earnOrder{Total: o.Total, Subtotal: o.Subtotal, Lines: o.Lines, PlacedAt: placed})

	releaseAt := placed.AddDate(0, 0, c.prog.PendingDays)
	// The lot first: an order has one lot per member, so a second delivery
	// of the order stops here, having changed nothing.
	lot := &Lot{MemberID: m.ID, Kind: LotOrder, OrderID: o.ID, Points: res.Points, Remaining: res.Points, Pending: true,
		ReleaseAt: releaseAt, ExpiresAt: expiry(c.prog, placed), EarnedAt: placed}
	if ok, err := tx.InsertClubOrderLot(ctx, lot); err != nil || !ok {
		return err
	}
	// The lot's uniqueness is the earn's idempotency: the entry needs no
	// key of its own (one index page fewer to write per order).
	e := &Entry{MemberID: m.ID, Kind: KindEarn, Points: res.Points, Pending: res.Points, Spend: o.Total, SpendAt: placed,
		LotID: lot.ID, OrderID: o.ID}
	if ok, err := tx.InsertClubEntry(ctx, e); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("club: order %d earned twice for member %d", o.ID, m.ID)
		}
		return err
	}
	if err := tx.AddClubBalance(ctx, m.ID, store.ClubBalanceDelta{Pending: res.Points, Earned: res.Points, Orders: 1}); err != nil {
		return err
	}
	m.Pending += res.Points
	m.Earned += res.Points
	m.Orders++
	if err := s.afterSpend(ctx, tx, c, m, st.SpendBefore+o.Total, placed); err != nil {
		return err
	}
	now := tx.Now()
	if err := emit(ctx, tx, EventPointsEarned, m.ID, m.ContactID, earnedPayload{MemberID: m.ID, OrderID: o.ID, Points: res.Points,
		Pending: releaseAt.After(now), ReleaseAt: releaseAt, Segments: res.Segments, Rules: res.Rules}); err != nil {
		return err
	}
	if !releaseAt.After(now) {
		return s.release(ctx, tx, c, m, lot)
	}
	return s.schedule(ctx, tx, &releaseAt)
}

// birthMonth reads the month of a YYYY-MM-DD or --MM-DD birthday.
func birthMonth(b string) int {
	if len(b) < 7 {
		return 0
	}
	mm := b[len(b)-5 : len(b)-3]
	n, err := strconv.Atoi(mm)
	if err != nil || n < 1 || n > 12 {
		return 0
	}
	return n
}

// reversedPayload is what club.points_reversed carries.
type reversedPayload struct {
	MemberID int64 `json:"member_id"`
	OrderID  int64 `json:"order_id"`
	ReturnID int64 `json:"return_id"`
	Points   int64 `json:"points"`         // taken back
	Debt     int64 `json:"debt,omitempty"` // of which the balance could not cover
	Amount   int64 `json:"amount"`         // money returned
}

func (s *Service) orderReturned(ctx context.Context, tx *store.Tx, p *crm.OrderReturnedPayload) error {
	if p.Return.OrderID == 0 || p.Return.ID == 0 {
		return nil
	}
	ids, err := tx.ClubOrderMembers(ctx, p.Return.OrderID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.reverse(ctx, tx, id, p); err != nil {
			return err
		}
	}
	return nil
}

// reverse takes back from a member the share of an order's points that
// its returns so far are of its total: after a return, the order has
// given back floor(earned × returned total / order total) in all, never
// more than it earned. The points come from the order's own lot first
// (pending or available), then from the member's other available points
// (soonest expiry first); what is still missing is debt, a negative
// balance (docs/club.md, "Returns").
func (s *Service) reverse(ctx context.Context, tx *store.Tx, memberID int64, p *crm.OrderReturnedPayload) error {
	k := key(KindReverse, memberID, p.Return.ID)
	if done, err := tx.ClubEntryExists(ctx, k); err != nil || done {
		return err
	}
	m, err := tx.LockClubMember(ctx, memberID)
	if err != nil {
		return err
	}
	orderID := p.Return.OrderID
	earned, reversed, spendLeft, err := tx.ClubOrderEffect(ctx, m.ID, orderID)
	if err != nil {
		return err
	}
	target := earned
	if p.OrderTotal > 0 && p.ReturnedTotal < p.OrderTotal {
		target = mulDiv(earned, max(p.ReturnedTotal, 0), p.OrderTotal)
	}
	take := max(min(target, earned)-reversed, 0)
	spendBack := min(max(p.Return.Amount, 0), max(spendLeft, 0))
	lot, err := tx.ClubLotOfOrder(ctx, m.ID, orderID)
	if err != nil {
		return err
	}
	var fromPending, fromAvail, toDebt int64
	if n := min(take, lot.Remaining); n > 0 {
		if err := tx.AddClubLotRemaining(ctx, lot.ID, -n); err != nil {
			return err
		}
		if lot.Pending {
			fromPending = n
		} else {
			fromAvail = n
		}
	}
	if rest := take - fromPending - fromAvail; rest > 0 {
		_, took, err := takeLots(ctx, tx, m.ID, rest)
		if err != nil {
			return err
		}
		fromAvail += took
		toDebt = rest - took
	}
	e := &Entry{MemberID: m.ID, Kind: KindReverse, Points: -take, Pending: -fromPending, Available: -(fromAvail + toDebt),
		Spend: -spendBack, SpendAt: lot.EarnedAt, LotID: lot.ID, OrderID: orderID, ReturnID: p.Return.ID, IdemKey: k}
	if _, err := tx.InsertClubEntry(ctx, e); err != nil {
		return err
	}
	if err := tx.AddClubBalance(ctx, m.ID, store.ClubBalanceDelta{Pending: -fromPending, Available: -(fromAvail + toDebt), Debt: toDebt}); err != nil {
		return err
	}
	m.Pending -= fromPending
	m.Available -= fromAvail + toDebt
	m.Debt += toDebt
	if take == 0 {
		return nil
	}
	return emit(ctx, tx, EventPointsReversed, m.ID, m.ContactID, reversedPayload{MemberID: m.ID, OrderID: orderID, ReturnID: p.Return.ID,
		Points: take, Debt: toDebt, Amount: p.Return.Amount})
}

// HandleContactEvent keeps memberships with their people: a merged
// person's memberships move to the survivor (unless the survivor is
// already a member of that program: then the merged membership is closed,
// its points kept for staff to move by adjustment); a deleted or erased
// person's memberships are closed and their page links stop working.
func (s *Service) HandleContactEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	var ids []int64
	switch ev.Type {
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Error("club: contact.merged payload does not decode; skipped", "event", ev.ID, "err", err)
			return nil
		}
		ids = p.MergedIDs
	case crm.EventContactDeleted, crm.EventContactErased:
		ids = []int64{ev.SubjectID}
	default:
		return nil
	}
	for _, id := range ids {
		ms, err := tx.ClubMembersOfContact(ctx, id)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if ev.Type == crm.EventContactsMerged {
				if _, err := tx.ClubMemberOf(ctx, m.ProgramID, ev.SubjectID); crm.ErrorCode(err) == crm.ENOTFOUND {
					if err := tx.MoveClubMember(ctx, m.ID, ev.SubjectID); err != nil {
						return err
					}
					continue
				} else if err != nil {
					return err
				}
			}
			if err := tx.SetClubMemberStatus(ctx, m.ID, StatusClosed); err != nil {
				return err
			}
			_, hash := newToken()
			if err := tx.SetClubMemberToken(ctx, m.ID, hash); err != nil {
				return err
			}
		}
	}
	return nil
}
