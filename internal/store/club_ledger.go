package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// The points ledger (append-only: only INSERTs), the lots it credits and
// the member balances it projects.

// ClubLot is one credit of points: an order's earn, a referral bonus, a
// positive adjustment. Remaining is what is left of it in the member's
// pending (Pending) or available balance.
type ClubLot struct {
	ID        int64      `json:"id"`
	MemberID  int64      `json:"member_id"`
	Kind      string     `json:"kind"` // order, referral, adjust
	OrderID   int64      `json:"order_id,omitempty"`
	Points    int64      `json:"points"`
	Remaining int64      `json:"remaining"`
	Pending   bool       `json:"pending"`
	ReleaseAt time.Time  `json:"release_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Reminded  bool       `json:"reminded"`
	EarnedAt  time.Time  `json:"earned_at"`
	CreatedAt time.Time  `json:"created_at"`
}

// ClubEntry is one ledger entry. Points is the change of the member's
// total; the three deltas say which balances it moved (they add up to
// Points). Spend is the change of qualifying spend, counted at SpendAt.
type ClubEntry struct {
	ID           int64     `json:"id"`
	MemberID     int64     `json:"member_id"`
	Kind         string    `json:"kind"`
	Points       int64     `json:"points"`
	Available    int64     `json:"available_delta"`
	Pending      int64     `json:"pending_delta"`
	Reserved     int64     `json:"reserved_delta"`
	Spend        int64     `json:"spend,omitempty"`
	SpendAt      time.Time `json:"spend_at"`
	LotID        int64     `json:"lot_id,omitempty"`
	OrderID      int64     `json:"order_id,omitempty"`
	ReturnID     int64     `json:"return_id,omitempty"`
	RedemptionID int64     `json:"redemption_id,omitempty"`
	ActorID      int64     `json:"actor_id,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	IdemKey      string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

const clubLotColumns = `id, member_id, kind, order_id, points, remaining, pending, release_at, expires_at, reminded, earned_at, created_at`

func scanClubLot(row rowScanner) (*ClubLot, error) {
	var l ClubLot
	var exp sql.NullTime
	if err := row.Scan(&l.ID, &l.MemberID, &l.Kind, &l.OrderID, &l.Points, &l.Remaining, &l.Pending, &l.ReleaseAt, &exp, &l.Reminded,
		&l.EarnedAt, &l.CreatedAt); err != nil {
		return nil, err
	}
	l.ExpiresAt = nullTimePtr(exp)
	l.ReleaseAt, l.EarnedAt, l.CreatedAt = l.ReleaseAt.UTC(), l.EarnedAt.UTC(), l.CreatedAt.UTC()
	return &l, nil
}

// InsertClubLot stores a new lot.
func (tx *Tx) InsertClubLot(ctx context.Context, l *ClubLot) error {
	l.CreatedAt = tx.now
	l.ReleaseAt, l.EarnedAt = l.ReleaseAt.UTC().Truncate(time.Microsecond), l.EarnedAt.UTC().Truncate(time.Microsecond)
	l.ExpiresAt = utcMicroPtr(l.ExpiresAt)
	id, err := tx.InsertID(ctx, `INSERT INTO club_lots (member_id, kind, order_id, points, remaining, pending, release_at, expires_at, reminded, earned_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		l.MemberID, l.Kind, l.OrderID, l.Points, l.Remaining, l.Pending, l.ReleaseAt, nullableTime(l.ExpiresAt), l.Reminded, l.EarnedAt, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert club lot: %w", err)
	}
	l.ID = id
	return nil
}

// InsertClubOrderLot stores the lot of a member's order unless that
// order already has one for the member: inserted is false then, and
// nothing changed (the order's points were already credited).
func (tx *Tx) InsertClubOrderLot(ctx context.Context, l *ClubLot) (inserted bool, err error) {
	l.CreatedAt = tx.now
	l.ReleaseAt, l.EarnedAt = l.ReleaseAt.UTC().Truncate(time.Microsecond), l.EarnedAt.UTC().Truncate(time.Microsecond)
	l.ExpiresAt = utcMicroPtr(l.ExpiresAt)
	id, inserted, err := tx.hotInsert(ctx, qInsertOrderLot,
		l.MemberID, l.Kind, l.OrderID, l.Points, l.Remaining, l.Pending, l.ReleaseAt, nullableTime(l.ExpiresAt), l.Reminded, l.EarnedAt, tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert club lot: %w", err)
	}
	if inserted {
		l.ID = id
	}
	return inserted, nil
}

const qInsertOrderLot = `INSERT INTO club_lots (member_id, kind, order_id, points, remaining, pending, release_at, expires_at, reminded, earned_at, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (order_id, member_id) WHERE order_id <> 0 DO NOTHING RETURNING id`

// ClubLotOfOrder reads the lot a member's order credited.
func (tx *Tx) ClubLotOfOrder(ctx context.Context, memberID, orderID int64) (*ClubLot, error) {
	l, err := scanClubLot(tx.QueryRow(ctx, `SELECT `+clubLotColumns+` FROM club_lots WHERE order_id = ? AND order_id <> 0 AND member_id = ?`, orderID, memberID))
	if err != nil {
		return nil, tx.NotFound(err, "Lot")
	}
	return l, nil
}

// ClubLotsByID reads lots by id.
func (tx *Tx) ClubLotsByID(ctx context.Context, ids []int64) (map[int64]*ClubLot, error) {
	out := map[int64]*ClubLot{}
	if len(ids) == 0 {
		return out, nil
	}
	lots, err := tx.clubLots(ctx, `SELECT `+clubLotColumns+` FROM club_lots WHERE id IN (`+Placeholders(len(ids))+`)`, anyArgs(ids)...)
	for _, l := range lots {
		out[l.ID] = l
	}
	return out, err
}

// ClubSpendableLots lists a member's available lots with points left, in
// the order they are spent: soonest expiry first (lots that never expire
// last), then oldest.
func (tx *Tx) ClubSpendableLots(ctx context.Context, memberID int64) ([]*ClubLot, error) {
	return tx.clubLots(ctx, `SELECT `+clubLotColumns+` FROM club_lots WHERE member_id = ? AND remaining > 0 AND NOT pending
		ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, id`, memberID)
}

// ClubMemberLots lists a member's lots, newest first, at most limit.
func (tx *Tx) ClubMemberLots(ctx context.Context, memberID int64, limit int) ([]*ClubLot, error) {
	return tx.clubLots(ctx, `SELECT `+clubLotColumns+` FROM club_lots WHERE member_id = ? ORDER BY id DESC LIMIT ?`, memberID, limit)
}

// ClubDueLots lists pending lots whose release time has come, oldest
// first: of one member when memberID is not 0.
func (tx *Tx) ClubDueLots(ctx context.Context, memberID int64, now time.Time, limit int) ([]*ClubLot, error) {
	if memberID != 0 {
		return tx.clubLots(ctx, `SELECT `+clubLotColumns+` FROM club_lots WHERE pending AND release_at <= ? AND member_id = ?
			ORDER BY release_at, id LIMIT ?`, now.UTC(), memberID, limit)
	}
	return tx.clubLots(ctx, `SELECT `+clubLotColumns+` FROM club_lots WHERE pending AND release_at <= ? ORDER BY release_at, id LIMIT ?`, now.UTC(), limit)
}

// ClubExpiredLots lists available lots with points left whose expiry has
// come, soonest first: of one member when memberID is not 0.
func (tx *Tx) ClubExpiredLots(ctx context.Context, memberID int64, now time.Time, limit int) ([]*ClubLot, error) {
	if memberID != 0 {
		return tx.clubLots(ctx, `SELECT `+clubLotColumns+` FROM club_lots
			WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL AND expires_at <= ? AND member_id = ? ORDER BY expires_at, id LIMIT ?`,
			now.UTC(), memberID, limit)
	}
	return tx.clubLots(ctx, `SELECT `+clubLotColumns+` FROM club_lots
		WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, now.UTC(), limit)
}

// ClubLotsToRemind lists a program's available lots with points left that
// expire at or before by and have had no reminder, by member.
func (tx *Tx) ClubLotsToRemind(ctx context.Context, programID int64, by time.Time, limit int) ([]*ClubLot, error) {
	return tx.clubLots(ctx, `SELECT `+clubPrefixed("l.", clubLotColumns)+` FROM club_lots l JOIN club_members m ON m.id = l.member_id
		WHERE l.remaining > 0 AND NOT l.pending AND l.expires_at IS NOT NULL AND l.expires_at <= ? AND NOT l.reminded AND m.program_id = ?
		ORDER BY l.member_id, l.expires_at, l.id LIMIT ?`, by.UTC(), programID, limit)
}

// clubPrefixed puts prefix before each column of a column list.
func clubPrefixed(prefix, cols string) string {
	var out []byte
	start := true
	for i := 0; i < len(cols); i++ {
		c := cols[i]
		if start && c != ' ' && c != '\t' && c != '\n' {
			out = append(out, prefix...)
			start = false
		}
		out = append(out, c)
		if c == ',' {
			start = true
		}
	}
	return string(out)
}

func (tx *Tx) clubLots(ctx context.Context, q string, args ...any) ([]*ClubLot, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ClubLot
	for rows.Next() {
		l, err := scanClubLot(rows)
		if err != nil {
			return nil, tx.db.wrap("scan lot", err)
		}
		out = append(out, l)
	}
	return out, tx.db.wrap("list lots", rows.Err())
}

// AddClubLotRemaining changes the points left in a lot. A lot never goes
// below zero: that is an error (the caller's arithmetic is wrong).
func (tx *Tx) AddClubLotRemaining(ctx context.Context, id, delta int64) error {
	return tx.expectOneRow(ctx, "Lot", `UPDATE club_lots SET remaining = remaining + ? WHERE id = ? AND remaining + ? >= 0`, delta, id, delta)
}

// ReleaseClubLot moves a lot from pending to available.
func (tx *Tx) ReleaseClubLot(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Lot", `UPDATE club_lots SET pending = ? WHERE id = ? AND pending`, false, id)
}

// MarkClubLotsReminded records that the members of these lots were told
// they expire.
func (tx *Tx) MarkClubLotsReminded(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE club_lots SET reminded = ? WHERE id IN (`+Placeholders(len(ids))+`)`, append([]any{true}, anyArgs(ids)...)...)
	return err
}

// ClubNextDue returns the earliest time at which the club's sweep has
// work: a pending lot to release, a lot to expire, a tier review or grace
// end, a reservation hold running out. ok is false when there is none.
// Reminders are not included (ClubNextReminder).
func (tx *Tx) ClubNextDue(ctx context.Context) (t time.Time, ok bool, err error) {
	qs := []string{
		`SELECT MIN(release_at) FROM club_lots WHERE pending`,
		`SELECT MIN(expires_at) FROM club_lots WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL`,
		`SELECT MIN(tier_review_at) FROM club_members WHERE tier_review_at IS NOT NULL`,
		`SELECT MIN(grace_until) FROM club_members WHERE grace_until IS NOT NULL`,
		`SELECT MIN(hold_until) FROM club_redemptions WHERE status = 'reserved'`,
	}
	for _, q := range qs {
		var v clubTimeText
		if err := tx.QueryRow(ctx, q).Scan(&v); err != nil {
			return t, false, tx.db.wrap("club next due", err)
		}
		if v.Valid && (!ok || v.Time.Before(t)) {
			t, ok = v.Time, true
		}
	}
	return t, ok, nil
}

// ClubNextReminder returns the earliest expiry among a program's
// available lots with points left that have had no reminder.
func (tx *Tx) ClubNextReminder(ctx context.Context, programID int64) (t time.Time, ok bool, err error) {
	var v clubTimeText
	err = tx.QueryRow(ctx, `SELECT MIN(l.expires_at) FROM club_lots l JOIN club_members m ON m.id = l.member_id
		WHERE l.remaining > 0 AND NOT l.pending AND l.expires_at IS NOT NULL AND NOT l.reminded AND m.program_id = ?`, programID).Scan(&v)
	if err != nil {
		return t, false, tx.db.wrap("club next reminder", err)
	}
	return v.Time, v.Valid, nil
}

// clubTimeText scans an aggregate of a timestamp column: SQLite returns
// MIN(ts) as text (the column type is lost), PostgreSQL as a time.
type clubTimeText struct {
	Time  time.Time
	Valid bool
}

func (n *clubTimeText) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.Valid = false
		return nil
	case time.Time:
		n.Time, n.Valid = x.UTC(), true
		return nil
	case string:
		return n.parse(x)
	case []byte:
		return n.parse(string(x))
	}
	return fmt.Errorf("store: cannot scan %T as a time", v)
}

func (n *clubTimeText) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			n.Time, n.Valid = t.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("store: cannot parse time %q", s)
}

// Ledger.

const clubEntryColumns = `id, member_id, kind, points, available_delta, pending_delta, reserved_delta, spend, spend_at, lot_id, order_id,
	return_id, redemption_id, actor_id, reason, COALESCE(idem_key, ''), created_at`

func scanClubEntry(row rowScanner) (*ClubEntry, error) {
	var e ClubEntry
	if err := row.Scan(&e.ID, &e.MemberID, &e.Kind, &e.Points, &e.Available, &e.Pending, &e.Reserved, &e.Spend, &e.SpendAt, &e.LotID, &e.OrderID,
		&e.ReturnID, &e.RedemptionID, &e.ActorID, &e.Reason, &e.IdemKey, &e.CreatedAt); err != nil {
		return nil, err
	}
	e.SpendAt, e.CreatedAt = e.SpendAt.UTC(), e.CreatedAt.UTC()
	return &e, nil
}

// InsertClubEntry appends an entry to the ledger. An entry whose IdemKey
// is already in the ledger is not added: inserted is false and nothing
// changed. The balances are not touched (AddClubBalance, TakeClubAvailable).
func (tx *Tx) InsertClubEntry(ctx context.Context, e *ClubEntry) (inserted bool, err error) {
	if e.Points != e.Available+e.Pending+e.Reserved {
		return false, fmt.Errorf("store: club entry %s: points %d is not the sum of its deltas", e.Kind, e.Points)
	}
	e.CreatedAt = tx.now
	if e.SpendAt.IsZero() {
		e.SpendAt = tx.now
	}
	e.SpendAt = e.SpendAt.UTC().Truncate(time.Microsecond)
	var key any
	if e.IdemKey != "" {
		key = e.IdemKey
	}
	id, inserted, err := tx.hotInsert(ctx, qInsertEntry,
		e.MemberID, e.Kind, e.Points, e.Available, e.Pending, e.Reserved, e.Spend, e.SpendAt,
		e.LotID, e.OrderID, e.ReturnID, e.RedemptionID, e.ActorID, e.Reason, key, tx.now)
	if err != nil {
		return false, fmt.Errorf("store: insert club entry: %w", err)
	}
	if inserted {
		e.ID = id
	}
	return inserted, nil
}

const qInsertEntry = `INSERT INTO club_ledger (member_id, kind, points, available_delta, pending_delta, reserved_delta, spend, spend_at,
	lot_id, order_id, return_id, redemption_id, actor_id, reason, idem_key, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) WHERE idem_key IS NOT NULL DO NOTHING RETURNING id`

// ClubEntryExists reports whether an entry with this idempotency key is
// in the ledger.
func (tx *Tx) ClubEntryExists(ctx context.Context, key string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM club_ledger WHERE idem_key = ?`, key).Scan(&n)
	return n > 0, tx.db.wrap("club entry", err)
}

// ClubBalanceDelta is a change of a member's balances.
type ClubBalanceDelta struct {
	Available, Pending, Reserved, Debt, Earned, Orders int64
}

const qAddBalance = `UPDATE club_members SET available = available + ?, pending = pending + ?, reserved = reserved + ?,
	debt = debt + ?, earned = earned + ?, orders = orders + ?, updated_at = ? WHERE id = ?`

// AddClubBalance changes a member's balances (write transactions only).
func (tx *Tx) AddClubBalance(ctx context.Context, memberID int64, d ClubBalanceDelta) error {
	r, err := tx.hotExec(ctx, qAddBalance, d.Available, d.Pending, d.Reserved, d.Debt, d.Earned, d.Orders, tx.now, memberID)
	if err != nil {
		return fmt.Errorf("store: member balance: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		if err == nil {
			err = crm.Errorf(crm.ENOTFOUND, "Member was not found.")
		}
		return err
	}
	return nil
}

// TakeClubAvailable takes points from a member's available balance only
// if that many are there, in one conditional statement: on PostgreSQL the
// row lock makes concurrent takers wait and then re-check the condition
// against the committed balance, so the balance never goes below zero
// however many ask at once. reserve moves the points to the reserved
// balance instead of removing them. ok is false when the balance is
// short; nothing changed then.
func (tx *Tx) TakeClubAvailable(ctx context.Context, memberID, points int64, reserve bool) (ok bool, err error) {
	res := int64(0)
	if reserve {
		res = points
	}
	r, err := tx.Exec(ctx, `UPDATE club_members SET available = available - ?, reserved = reserved + ?, updated_at = ?
		WHERE id = ? AND available >= ?`, points, res, tx.now, memberID, points)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, tx.db.wrap("take points", err)
}

// ClubOrderEffect sums what an order did to a member's points: the points
// it earned, the points its returns took back so far, and the qualifying
// spend left.
func (tx *Tx) ClubOrderEffect(ctx context.Context, memberID, orderID int64) (earned, reversed, spend int64, err error) {
	err = tx.QueryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN kind = 'earn' THEN points ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN kind = 'reverse' THEN -points ELSE 0 END), 0), COALESCE(SUM(spend), 0)
		FROM club_ledger WHERE order_id = ? AND order_id <> 0 AND member_id = ?`, orderID, memberID).Scan(&earned, &reversed, &spend)
	return earned, reversed, spend, tx.db.wrap("club order effect", err)
}

// ClubOrderMembers lists the members an order earned points for.
func (tx *Tx) ClubOrderMembers(ctx context.Context, orderID int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT member_id FROM club_ledger WHERE order_id = ? AND order_id <> 0 AND kind = 'earn' ORDER BY member_id`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, tx.db.wrap("scan member", err)
		}
		out = append(out, id)
	}
	return out, tx.db.wrap("order members", rows.Err())
}

// ClubSpend sums a member's qualifying spend counted at times in
// [from, to].
func (tx *Tx) ClubSpend(ctx context.Context, memberID int64, from, to time.Time) (int64, error) {
	var s int64
	err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(spend), 0) FROM club_ledger WHERE member_id = ? AND spend <> 0 AND spend_at >= ? AND spend_at <= ?`,
		memberID, from.UTC(), to.UTC()).Scan(&s)
	return s, tx.db.wrap("club spend", err)
}

// ClubEntries lists a member's ledger, newest first, with keyset paging.
func (tx *Tx) ClubEntries(ctx context.Context, memberID int64, page crm.Page) ([]*ClubEntry, string, error) {
	after, err := crm.DecodeIDCursor(page.After)
	if err != nil {
		return nil, "", crm.Errorf(crm.EINVALID, "The cursor is not valid.")
	}
	var c conds
	c.add("member_id = ?", memberID)
	if after > 0 {
		c.add("id < ?", after)
	}
	limit := crm.ClampLimit(page.Limit)
	out, err := pageRows(ctx, tx, `SELECT `+clubEntryColumns+` FROM club_ledger`+c.sql()+` ORDER BY id DESC LIMIT ?`, c.args, limit, "ledger",
		func(r rowScanner) (*ClubEntry, error) { return scanClubEntry(r) })
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	return out, next, nil
}

// EachClubEntry calls fn with every ledger entry in id order (for
// checks that recompute the ledger), reading in pages.
func (tx *Tx) EachClubEntry(ctx context.Context, fn func(*ClubEntry) error) error {
	var after int64
	for {
		rows, err := tx.Query(ctx, `SELECT `+clubEntryColumns+` FROM club_ledger WHERE id > ? ORDER BY id LIMIT 1000`, after)
		if err != nil {
			return err
		}
		var batch []*ClubEntry
		for rows.Next() {
			e, err := scanClubEntry(rows)
			if err != nil {
				rows.Close()
				return tx.db.wrap("scan entry", err)
			}
			batch = append(batch, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return tx.db.wrap("ledger", err)
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < 1000 {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}

// ClubLedgerCheck is, for one member, the sums of the ledger next to the
// balances and lots that project it.
type ClubLedgerCheck struct {
	MemberID                                int64
	Points, Available, Pending, Reserved    int64 // sums of the ledger
	BalAvailable, BalPending, BalReserved   int64 // the member row
	Debt                                    int64
	LotsPending, LotsAvailable, Reservation int64 // remaining in pending and available lots; points of open reservations
}

// ClubLedgerChecks returns the check of every member, by id.
func (tx *Tx) ClubLedgerChecks(ctx context.Context) ([]ClubLedgerCheck, error) {
	rows, err := tx.Query(ctx, `SELECT m.id, m.available, m.pending, m.reserved, m.debt,
		COALESCE(l.points, 0), COALESCE(l.a, 0), COALESCE(l.p, 0), COALESCE(l.r, 0),
		COALESCE(lots.p, 0), COALESCE(lots.a, 0), COALESCE(rd.s, 0)
		FROM club_members m
		LEFT JOIN (SELECT member_id, SUM(points) AS points, SUM(available_delta) AS a, SUM(pending_delta) AS p, SUM(reserved_delta) AS r
			FROM club_ledger GROUP BY member_id) l ON l.member_id = m.id
		LEFT JOIN (SELECT member_id, SUM(CASE WHEN pending THEN remaining ELSE 0 END) AS p, SUM(CASE WHEN pending THEN 0 ELSE remaining END) AS a
			FROM club_lots GROUP BY member_id) lots ON lots.member_id = m.id
		LEFT JOIN (SELECT member_id, SUM(points) AS s FROM club_redemptions WHERE status = 'reserved' GROUP BY member_id) rd ON rd.member_id = m.id
		ORDER BY m.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubLedgerCheck
	for rows.Next() {
		var c ClubLedgerCheck
		if err := rows.Scan(&c.MemberID, &c.BalAvailable, &c.BalPending, &c.BalReserved, &c.Debt, &c.Points, &c.Available, &c.Pending, &c.Reserved,
			&c.LotsPending, &c.LotsAvailable, &c.Reservation); err != nil {
			return nil, tx.db.wrap("scan check", err)
		}
		out = append(out, c)
	}
	return out, tx.db.wrap("ledger checks", rows.Err())
}
