package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// The customer club's records: programs, tiers, earn rules and members.
// The club service (internal/club) validates and computes; these methods
// only store. The ledger, lots and balances are in club_ledger.go;
// rewards, coupons and referrals in club_rewards.go; reports in
// club_reports.go.

// ClubProgram is a loyalty program: how money becomes points, how long
// points stay pending and how long they live, how tiers are qualified and
// lost, what a point is worth and what a referral earns.
type ClubProgram struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Currency       string    `json:"currency"`
	EarnPoints     int64     `json:"earn_points"` // EarnPoints points …
	EarnAmount     int64     `json:"earn_amount"` // … per EarnAmount minor units of the currency
	Rounding       string    `json:"rounding"`    // down, nearest, up
	PendingDays    int       `json:"pending_days"`
	ExpiryMonths   int       `json:"expiry_months"` // 0: points never expire
	ReminderDays   int       `json:"reminder_days"` // 0: no reminder before expiry
	TierWindow     string    `json:"tier_window"`   // calendar_year, rolling_12m
	Downgrade      string    `json:"downgrade"`     // never, window_end, after_days
	DowngradeDays  int       `json:"downgrade_days"`
	GraceDays      int       `json:"grace_days"`
	PointValue     int64     `json:"point_value"`  // money, in minor units, that …
	ValuePoints    int64     `json:"value_points"` // … this many points are worth
	ReferrerPoints int64     `json:"referrer_points"`
	RefereePoints  int64     `json:"referee_points"`
	AutoEnrol      bool      `json:"auto_enrol"` // a buyer who is not a member is enrolled by their first order
	HoldHours      int       `json:"hold_hours"` // reservations not captured within this are cancelled; 0: never
	Signup         bool      `json:"signup"`     // people may join by themselves through the public form /join/{id}
	Active         bool      `json:"active"`
	Version        int64     `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// ClubTier is a level of a program, reached by qualifying spend.
type ClubTier struct {
	ID         int64     `json:"id"`
	ProgramID  int64     `json:"program_id"`
	Name       string    `json:"name"`
	Threshold  int64     `json:"threshold"`  // qualifying spend, minor units
	Multiplier int64     `json:"multiplier"` // hundredths: 200 is 2×
	Fee        int64     `json:"fee"`        // price of a paid year in the tier; 0: not for sale
	Benefits   string    `json:"benefits,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// ClubRule is an earn rule: a promotion multiplier, a bonus, a first
// purchase or birthday bonus.
type ClubRule struct {
	ID        int64      `json:"id"`
	ProgramID int64      `json:"program_id"`
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`     // multiplier, bonus, first_purchase, birthday
	Priority  int        `json:"priority"` // higher first
	Stacking  string     `json:"stacking"` // stack, stop
	Value     int64      `json:"value"`    // hundredths (multiplier) or points
	SKU       string     `json:"sku,omitempty"`
	Category  string     `json:"category,omitempty"`
	TierID    int64      `json:"tier_id,omitempty"`
	MinSpend  int64      `json:"min_spend,omitempty"`
	StartsAt  *time.Time `json:"starts_at,omitempty"`
	EndsAt    *time.Time `json:"ends_at,omitempty"`
	Active    bool       `json:"active"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// ClubMember is a person's membership of a program, with the balances the
// ledger projects.
type ClubMember struct {
	ID           int64      `json:"id"`
	ProgramID    int64      `json:"program_id"`
	ContactID    int64      `json:"contact_id"`
	Number       string     `json:"number"`
	CardCode     string     `json:"card_code"`
	TokenHash    string     `json:"-"`
	ReferralCode string     `json:"referral_code"`
	ReferredBy   int64      `json:"referred_by,omitempty"`
	TierID       int64      `json:"tier_id,omitempty"`
	TierSince    *time.Time `json:"tier_since,omitempty"`
	TierReviewAt *time.Time `json:"tier_review_at,omitempty"`
	GraceUntil   *time.Time `json:"grace_until,omitempty"`
	PaidTierID   int64      `json:"paid_tier_id,omitempty"`
	PaidUntil    *time.Time `json:"paid_until,omitempty"`
	Status       string     `json:"status"`
	EnrolledVia  string     `json:"enrolled_via"`
	Available    int64      `json:"available"`
	Pending      int64      `json:"pending"`
	Reserved     int64      `json:"reserved"`
	Debt         int64      `json:"debt"`
	Earned       int64      `json:"earned"`
	Orders       int64      `json:"orders"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// ClubContact is what the club reads of a person.
type ClubContact struct {
	ID        int64
	FirstName string
	LastName  string
	Language  string
	Birthday  string // YYYY-MM-DD or --MM-DD
}

// Name is the person's name as shown on a card.
func (c ClubContact) Name() string { return strings.TrimSpace(c.FirstName + " " + c.LastName) }

// ClubContact reads the name, language and birthday of a person.
func (tx *Tx) ClubContact(ctx context.Context, id int64) (ClubContact, error) {
	c := ClubContact{ID: id}
	err := tx.QueryRow(ctx, `SELECT first_name, last_name, language, birthday FROM contacts WHERE id = ?`, id).
		Scan(&c.FirstName, &c.LastName, &c.Language, &c.Birthday)
	if err != nil {
		return c, tx.NotFound(err, "Contact")
	}
	return c, nil
}

// ClubLastContactID is the highest contact id (0 without people): a
// person created after it has a higher one.
func (tx *Tx) ClubLastContactID(ctx context.Context) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM contacts`).Scan(&id)
	return id, tx.db.wrap("last contact", err)
}

// ClubContactNames returns the names of people by id.
func (tx *Tx) ClubContactNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, first_name, last_name FROM contacts WHERE id IN (`+Placeholders(len(ids))+`)`, anyArgs(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c ClubContact
		if err := rows.Scan(&c.ID, &c.FirstName, &c.LastName); err != nil {
			return nil, tx.db.wrap("scan contact", err)
		}
		out[c.ID] = c.Name()
	}
	return out, tx.db.wrap("contact names", rows.Err())
}

// Programs.

const clubProgramColumns = `id, name, currency, earn_points, earn_amount, rounding, pending_days, expiry_months, reminder_days,
	tier_window, downgrade, downgrade_days, grace_days, point_value, value_points, referrer_points, referee_points,
	auto_enrol, hold_hours, signup, active, version, created_at, updated_at`

func scanClubProgram(row rowScanner) (*ClubProgram, error) {
	var p ClubProgram
	err := row.Scan(&p.ID, &p.Name, &p.Currency, &p.EarnPoints, &p.EarnAmount, &p.Rounding, &p.PendingDays, &p.ExpiryMonths, &p.ReminderDays,
		&p.TierWindow, &p.Downgrade, &p.DowngradeDays, &p.GraceDays, &p.PointValue, &p.ValuePoints, &p.ReferrerPoints, &p.RefereePoints,
		&p.AutoEnrol, &p.HoldHours, &p.Signup, &p.Active, &p.Version, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// InsertClubProgram stores a new program; p.ID, Version and the times are
// filled in.
func (tx *Tx) InsertClubProgram(ctx context.Context, p *ClubProgram) error {
	p.CreatedAt, p.UpdatedAt, p.Version = tx.now, tx.now, 1
	id, err := tx.InsertID(ctx, `INSERT INTO club_programs (name, currency, earn_points, earn_amount, rounding, pending_days, expiry_months,
		reminder_days, tier_window, downgrade, downgrade_days, grace_days, point_value, value_points, referrer_points, referee_points,
		auto_enrol, hold_hours, signup, active, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
		p.Name, p.Currency, p.EarnPoints, p.EarnAmount, p.Rounding, p.PendingDays, p.ExpiryMonths,
		p.ReminderDays, p.TierWindow, p.Downgrade, p.DowngradeDays, p.GraceDays, p.PointValue, p.ValuePoints, p.ReferrerPoints, p.RefereePoints,
		p.AutoEnrol, p.HoldHours, p.Signup, p.Active, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert club program: %w", err)
	}
	p.ID = id
	return nil
}

// UpdateClubProgram stores every field of p and bumps its version.
func (tx *Tx) UpdateClubProgram(ctx context.Context, p *ClubProgram) error {
	p.UpdatedAt = tx.now
	if err := tx.expectOneRow(ctx, "Program", `UPDATE club_programs SET name = ?, currency = ?, earn_points = ?, earn_amount = ?, rounding = ?,
		pending_days = ?, expiry_months = ?, reminder_days = ?, tier_window = ?, downgrade = ?, downgrade_days = ?, grace_days = ?,
		point_value = ?, value_points = ?, referrer_points = ?, referee_points = ?, auto_enrol = ?, hold_hours = ?, signup = ?, active = ?,
		version = version + 1, updated_at = ? WHERE id = ?`,
		p.Name, p.Currency, p.EarnPoints, p.EarnAmount, p.Rounding, p.PendingDays, p.ExpiryMonths, p.ReminderDays, p.TierWindow,
		p.Downgrade, p.DowngradeDays, p.GraceDays, p.PointValue, p.ValuePoints, p.ReferrerPoints, p.RefereePoints, p.AutoEnrol,
		p.HoldHours, p.Signup, p.Active, tx.now, p.ID); err != nil {
		return err
	}
	return tx.QueryRow(ctx, `SELECT version FROM club_programs WHERE id = ?`, p.ID).Scan(&p.Version)
}

// TouchClubProgram bumps a program's version after a change to its tiers
// or rules, so cached copies are reloaded.
func (tx *Tx) TouchClubProgram(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Program", `UPDATE club_programs SET version = version + 1, updated_at = ? WHERE id = ?`, tx.now, id)
}

// ClubProgram reads one program.
func (tx *Tx) ClubProgram(ctx context.Context, id int64) (*ClubProgram, error) {
	p, err := scanClubProgram(tx.QueryRow(ctx, `SELECT `+clubProgramColumns+` FROM club_programs WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Program")
	}
	return p, nil
}

// ClubPrograms lists every program by id.
func (tx *Tx) ClubPrograms(ctx context.Context) ([]*ClubProgram, error) {
	rows, err := tx.Query(ctx, `SELECT `+clubProgramColumns+` FROM club_programs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ClubProgram
	for rows.Next() {
		p, err := scanClubProgram(rows)
		if err != nil {
			return nil, tx.db.wrap("scan program", err)
		}
		out = append(out, p)
	}
	return out, tx.db.wrap("list programs", rows.Err())
}

// ClubProgramVersion reads a program's version (to check a cache).
func (tx *Tx) ClubProgramVersion(ctx context.Context, id int64) (int64, error) {
	var v int64
	if err := tx.QueryRow(ctx, `SELECT version FROM club_programs WHERE id = ?`, id).Scan(&v); err != nil {
		return 0, tx.NotFound(err, "Program")
	}
	return v, nil
}

// Tiers.

const clubTierColumns = `id, program_id, name, threshold, multiplier, fee, benefits, created_at, updated_at`

func scanClubTier(row rowScanner) (*ClubTier, error) {
	var t ClubTier
	if err := row.Scan(&t.ID, &t.ProgramID, &t.Name, &t.Threshold, &t.Multiplier, &t.Fee, &t.Benefits, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// InsertClubTier stores a new tier.
func (tx *Tx) InsertClubTier(ctx context.Context, t *ClubTier) error {
	t.CreatedAt, t.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO club_tiers (program_id, name, threshold, multiplier, fee, benefits, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, t.ProgramID, t.Name, t.Threshold, t.Multiplier, t.Fee, t.Benefits, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert club tier: %w", err)
	}
	t.ID = id
	return nil
}

// UpdateClubTier stores every field of t.
func (tx *Tx) UpdateClubTier(ctx context.Context, t *ClubTier) error {
	t.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Tier", `UPDATE club_tiers SET name = ?, threshold = ?, multiplier = ?, fee = ?, benefits = ?, updated_at = ?
		WHERE id = ? AND program_id = ?`, t.Name, t.Threshold, t.Multiplier, t.Fee, t.Benefits, tx.now, t.ID, t.ProgramID)
}

// DeleteClubTier removes a tier; its members are left without a tier
// until the next purchase or review places them again.
func (tx *Tx) DeleteClubTier(ctx context.Context, programID, id int64) error {
	return tx.expectOneRow(ctx, "Tier", `DELETE FROM club_tiers WHERE id = ? AND program_id = ?`, id, programID)
}

// ClubTiers lists a program's tiers by threshold.
func (tx *Tx) ClubTiers(ctx context.Context, programID int64) ([]*ClubTier, error) {
	rows, err := tx.Query(ctx, `SELECT `+clubTierColumns+` FROM club_tiers WHERE program_id = ? ORDER BY threshold, id`, programID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ClubTier
	for rows.Next() {
		t, err := scanClubTier(rows)
		if err != nil {
			return nil, tx.db.wrap("scan tier", err)
		}
		out = append(out, t)
	}
	return out, tx.db.wrap("list tiers", rows.Err())
}

// Rules.

const clubRuleColumns = `id, program_id, name, kind, priority, stacking, value, sku, category, COALESCE(tier_id, 0), min_spend,
	starts_at, ends_at, active, created_at, updated_at`

func scanClubRule(row rowScanner) (*ClubRule, error) {
	var r ClubRule
	var starts, ends sql.NullTime
	if err := row.Scan(&r.ID, &r.ProgramID, &r.Name, &r.Kind, &r.Priority, &r.Stacking, &r.Value, &r.SKU, &r.Category, &r.TierID, &r.MinSpend,
		&starts, &ends, &r.Active, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.StartsAt, r.EndsAt = nullTimePtr(starts), nullTimePtr(ends)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// InsertClubRule stores a new rule.
func (tx *Tx) InsertClubRule(ctx context.Context, r *ClubRule) error {
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	r.StartsAt, r.EndsAt = utcMicroPtr(r.StartsAt), utcMicroPtr(r.EndsAt)
	id, err := tx.InsertID(ctx, `INSERT INTO club_rules (program_id, name, kind, priority, stacking, value, sku, category, tier_id, min_spend,
		starts_at, ends_at, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ProgramID, r.Name, r.Kind, r.Priority, r.Stacking, r.Value, r.SKU, r.Category, nullID(r.TierID), r.MinSpend,
		nullableTime(r.StartsAt), nullableTime(r.EndsAt), r.Active, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert club rule: %w", err)
	}
	r.ID = id
	return nil
}

// UpdateClubRule stores every field of r.
func (tx *Tx) UpdateClubRule(ctx context.Context, r *ClubRule) error {
	r.UpdatedAt = tx.now
	r.StartsAt, r.EndsAt = utcMicroPtr(r.StartsAt), utcMicroPtr(r.EndsAt)
	return tx.expectOneRow(ctx, "Rule", `UPDATE club_rules SET name = ?, kind = ?, priority = ?, stacking = ?, value = ?, sku = ?, category = ?,
		tier_id = ?, min_spend = ?, starts_at = ?, ends_at = ?, active = ?, updated_at = ? WHERE id = ? AND program_id = ?`,
		r.Name, r.Kind, r.Priority, r.Stacking, r.Value, r.SKU, r.Category, nullID(r.TierID), r.MinSpend,
		nullableTime(r.StartsAt), nullableTime(r.EndsAt), r.Active, tx.now, r.ID, r.ProgramID)
}

// DeleteClubRule removes a rule.
func (tx *Tx) DeleteClubRule(ctx context.Context, programID, id int64) error {
	return tx.expectOneRow(ctx, "Rule", `DELETE FROM club_rules WHERE id = ? AND program_id = ?`, id, programID)
}

// ClubRules lists a program's rules, highest priority first.
func (tx *Tx) ClubRules(ctx context.Context, programID int64) ([]*ClubRule, error) {
	rows, err := tx.Query(ctx, `SELECT `+clubRuleColumns+` FROM club_rules WHERE program_id = ? ORDER BY priority DESC, id`, programID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ClubRule
	for rows.Next() {
		r, err := scanClubRule(rows)
		if err != nil {
			return nil, tx.db.wrap("scan rule", err)
		}
		out = append(out, r)
	}
	return out, tx.db.wrap("list rules", rows.Err())
}

// Members.

const clubMemberColumns = `m.id, m.program_id, m.contact_id, m.number, m.card_code, m.token_hash, m.referral_code, COALESCE(m.referred_by, 0),
	COALESCE(m.tier_id, 0), m.tier_since, m.tier_review_at, m.grace_until, COALESCE(m.paid_tier_id, 0), m.paid_until, m.status, m.enrolled_via,
	m.available, m.pending, m.reserved, m.debt, m.earned, m.orders, m.created_at, m.updated_at`

func scanClubMember(row rowScanner) (*ClubMember, error) {
	var m ClubMember
	var since, review, grace, paid sql.NullTime
	err := row.Scan(&m.ID, &m.ProgramID, &m.ContactID, &m.Number, &m.CardCode, &m.TokenHash, &m.ReferralCode, &m.ReferredBy,
		&m.TierID, &since, &review, &grace, &m.PaidTierID, &paid, &m.Status, &m.EnrolledVia,
		&m.Available, &m.Pending, &m.Reserved, &m.Debt, &m.Earned, &m.Orders, &m.CreatedAt, &m.UpdatedAt)
	if err != nil {
		return nil, err
	}
	m.TierSince, m.TierReviewAt, m.GraceUntil, m.PaidUntil = nullTimePtr(since), nullTimePtr(review), nullTimePtr(grace), nullTimePtr(paid)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return &m, nil
}

// InsertClubMember stores a new member with zero balances. A member
// number, card code, token or referral code already taken is ECONFLICT
// (the service draws new ones and tries again).
func (tx *Tx) InsertClubMember(ctx context.Context, m *ClubMember) error {
	m.CreatedAt, m.UpdatedAt = tx.now, tx.now
	m.TierSince, m.TierReviewAt, m.PaidUntil = utcMicroPtr(m.TierSince), utcMicroPtr(m.TierReviewAt), utcMicroPtr(m.PaidUntil)
	id, err := tx.InsertID(ctx, `INSERT INTO club_members (program_id, contact_id, number, card_code, token_hash, referral_code, referred_by,
		tier_id, tier_since, tier_review_at, paid_tier_id, paid_until, status, enrolled_via, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.ProgramID, m.ContactID, m.Number, m.CardCode, m.TokenHash, m.ReferralCode, nullID(m.ReferredBy),
		nullID(m.TierID), nullableTime(m.TierSince), nullableTime(m.TierReviewAt), nullID(m.PaidTierID), nullableTime(m.PaidUntil),
		m.Status, m.EnrolledVia, tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert club member: %w", err)
	}
	m.ID = id
	return nil
}

// ClubCodeTaken reports whether a member number, card code or referral
// code is in use (column is number, card_code or referral_code).
func (tx *Tx) ClubCodeTaken(ctx context.Context, column, code string) (bool, error) {
	switch column {
	case "number", "card_code", "referral_code":
	default:
		return false, fmt.Errorf("store: club code column %q", column)
	}
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM club_members WHERE `+column+` = ?`, code).Scan(&n)
	return n > 0, tx.db.wrap("club code", err)
}

// ClubMember reads one member.
func (tx *Tx) ClubMember(ctx context.Context, id int64) (*ClubMember, error) {
	return tx.clubMemberWhere(ctx, `m.id = ?`, id)
}

// LockClubMember reads one member and, on PostgreSQL, locks the row until
// the transaction ends: every change to a member's balances or lots
// starts here, so they happen one at a time per member. SQLite has one
// writer and needs no lock.
func (tx *Tx) LockClubMember(ctx context.Context, id int64) (*ClubMember, error) {
	q := `SELECT ` + clubMemberColumns + ` FROM club_members m WHERE m.id = ?`
	if tx.Dialect() == Postgres {
		q += " FOR UPDATE"
	}
	m, err := scanClubMember(tx.QueryRow(ctx, q, id))
	if err != nil {
		return nil, tx.NotFound(err, "Member")
	}
	return m, nil
}

// ClubMemberOf reads a person's membership of a program.
func (tx *Tx) ClubMemberOf(ctx context.Context, programID, contactID int64) (*ClubMember, error) {
	return tx.clubMemberWhere(ctx, `m.program_id = ? AND m.contact_id = ?`, programID, contactID)
}

// ClubMemberByNumber reads the member with this member number or card code.
func (tx *Tx) ClubMemberByNumber(ctx context.Context, code string) (*ClubMember, error) {
	m, err := tx.clubMemberWhere(ctx, `m.number = ?`, code)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return tx.clubMemberWhere(ctx, `m.card_code = ?`, code)
	}
	return m, err
}

// ClubNumberContact returns the person a member number or card code
// belongs to (ENOTFOUND for nobody): the lookup of an order's customer
// at the till, one prepared statement in a write transaction.
func (tx *Tx) ClubNumberContact(ctx context.Context, code string) (int64, error) {
	var id int64
	if err := tx.hotQueryRow(ctx, qNumberContact, code, code).Scan(&id); err != nil {
		return 0, tx.NotFound(err, "Member")
	}
	return id, nil
}

// qNumberContact finds a member by number, else by card code (a number
// has 10 digits and a card code 16, so at most one of them matches).
const qNumberContact = `SELECT contact_id FROM club_members WHERE number = ? UNION ALL SELECT contact_id FROM club_members WHERE card_code = ? LIMIT 1`

// ClubMemberByToken reads the member whose page token hashes to hash.
func (tx *Tx) ClubMemberByToken(ctx context.Context, hash string) (*ClubMember, error) {
	return tx.clubMemberWhere(ctx, `m.token_hash = ?`, hash)
}

// ClubMemberByReferral reads the member with this referral code.
func (tx *Tx) ClubMemberByReferral(ctx context.Context, code string) (*ClubMember, error) {
	return tx.clubMemberWhere(ctx, `m.referral_code = ?`, code)
}

func (tx *Tx) clubMemberWhere(ctx context.Context, where string, args ...any) (*ClubMember, error) {
	m, err := scanClubMember(tx.QueryRow(ctx, `SELECT `+clubMemberColumns+` FROM club_members m WHERE `+where, args...))
	if err != nil {
		return nil, tx.NotFound(err, "Member")
	}
	return m, nil
}

// ClubMembersOfContact lists a person's memberships.
func (tx *Tx) ClubMembersOfContact(ctx context.Context, contactID int64) ([]*ClubMember, error) {
	return tx.clubMembers(ctx, `SELECT `+clubMemberColumns+` FROM club_members m WHERE m.contact_id = ? ORDER BY m.id`, contactID)
}

func (tx *Tx) clubMembers(ctx context.Context, q string, args ...any) ([]*ClubMember, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ClubMember
	for rows.Next() {
		m, err := scanClubMember(rows)
		if err != nil {
			return nil, tx.db.wrap("scan member", err)
		}
		out = append(out, m)
	}
	return out, tx.db.wrap("list members", rows.Err())
}

// ClubMemberFilter selects members for a list, newest first.
type ClubMemberFilter struct {
	ProgramID int64
	TierID    int64  // -1: members without a tier
	Query     string // a member number, card code or referral code, exactly
	Status    string
	Limit     int
	After     string
}

// ListClubMembers lists members, newest first, with keyset paging.
func (tx *Tx) ListClubMembers(ctx context.Context, f ClubMemberFilter) ([]*ClubMember, string, error) {
	var c conds
	if f.ProgramID != 0 {
		c.add("m.program_id = ?", f.ProgramID)
	}
	switch {
	case f.TierID > 0:
		c.add("m.tier_id = ?", f.TierID)
	case f.TierID < 0:
		c.add("m.tier_id IS NULL")
	}
	if f.Status != "" {
		c.add("m.status = ?", f.Status)
	}
	if f.Query != "" {
		c.add("(m.number = ? OR m.card_code = ? OR m.referral_code = ?)", f.Query, f.Query, f.Query)
	}
	after, err := crm.DecodeIDCursor(f.After)
	if err != nil {
		return nil, "", crm.Errorf(crm.EINVALID, "The cursor is not valid.")
	}
	if after > 0 {
		c.add("m.id < ?", after)
	}
	limit := crm.ClampLimit(f.Limit)
	out, err := pageRows(ctx, tx, `SELECT `+clubMemberColumns+` FROM club_members m`+c.sql()+` ORDER BY m.id DESC LIMIT ?`,
		c.args, limit, "members", func(r rowScanner) (*ClubMember, error) { return scanClubMember(r) })
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

// SetClubMemberToken replaces the hash of a member's page token.
func (tx *Tx) SetClubMemberToken(ctx context.Context, id int64, hash string) error {
	return tx.expectOneRow(ctx, "Member", `UPDATE club_members SET token_hash = ?, updated_at = ? WHERE id = ?`, hash, tx.now, id)
}

// SetClubMemberCard replaces a member's card code.
func (tx *Tx) SetClubMemberCard(ctx context.Context, id int64, code string) error {
	return tx.expectOneRow(ctx, "Member", `UPDATE club_members SET card_code = ?, updated_at = ? WHERE id = ?`, code, tx.now, id)
}

// SetClubMemberStatus changes a member's status (active, closed).
func (tx *Tx) SetClubMemberStatus(ctx context.Context, id int64, status string) error {
	return tx.expectOneRow(ctx, "Member", `UPDATE club_members SET status = ?, updated_at = ? WHERE id = ?`, status, tx.now, id)
}

// MoveClubMember gives a membership to another person (after a merge).
func (tx *Tx) MoveClubMember(ctx context.Context, id, contactID int64) error {
	return tx.expectOneRow(ctx, "Member", `UPDATE club_members SET contact_id = ?, updated_at = ? WHERE id = ?`, contactID, tx.now, id)
}

// SetClubMemberTier stores a member's tier and its review and grace times.
func (tx *Tx) SetClubMemberTier(ctx context.Context, m *ClubMember) error {
	m.TierSince, m.TierReviewAt, m.GraceUntil = utcMicroPtr(m.TierSince), utcMicroPtr(m.TierReviewAt), utcMicroPtr(m.GraceUntil)
	m.PaidUntil = utcMicroPtr(m.PaidUntil)
	return tx.expectOneRow(ctx, "Member", `UPDATE club_members SET tier_id = ?, tier_since = ?, tier_review_at = ?, grace_until = ?,
		paid_tier_id = ?, paid_until = ?, updated_at = ? WHERE id = ?`,
		nullID(m.TierID), nullableTime(m.TierSince), nullableTime(m.TierReviewAt), nullableTime(m.GraceUntil),
		nullID(m.PaidTierID), nullableTime(m.PaidUntil), tx.now, m.ID)
}

// ClubMembersDueForReview lists members whose tier review or grace ends
// at or before now, up to limit, by id.
func (tx *Tx) ClubMembersDueForReview(ctx context.Context, now time.Time, limit int) ([]*ClubMember, error) {
	return tx.clubMembers(ctx, `SELECT `+clubMemberColumns+` FROM club_members m
		WHERE m.id IN (SELECT id FROM club_members WHERE tier_review_at <= ?
			UNION SELECT id FROM club_members WHERE grace_until <= ?)
		ORDER BY m.id LIMIT ?`, now.UTC(), now.UTC(), limit)
}

// InsertClubTierChange logs a member's tier movement.
func (tx *Tx) InsertClubTierChange(ctx context.Context, programID, memberID, from, to int64, direction, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO club_tier_changes (program_id, member_id, from_tier, to_tier, direction, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, programID, memberID, from, to, direction, reason, tx.now)
	return err
}

// ClubTierChange is one logged tier movement.
type ClubTierChange struct {
	ID        int64     `json:"id"`
	MemberID  int64     `json:"member_id"`
	FromTier  int64     `json:"from_tier"`
	ToTier    int64     `json:"to_tier"`
	Direction string    `json:"direction"` // up, down, grace, paid
	Reason    string    `json:"reason"`
	CreatedAt time.Time `json:"created_at"`
}

// ClubTierChanges lists a member's tier movements, oldest first.
func (tx *Tx) ClubTierChanges(ctx context.Context, memberID int64) ([]ClubTierChange, error) {
	rows, err := tx.Query(ctx, `SELECT id, member_id, from_tier, to_tier, direction, reason, created_at FROM club_tier_changes
		WHERE member_id = ? ORDER BY id`, memberID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ClubTierChange
	for rows.Next() {
		var c ClubTierChange
		if err := rows.Scan(&c.ID, &c.MemberID, &c.FromTier, &c.ToTier, &c.Direction, &c.Reason, &c.CreatedAt); err != nil {
			return nil, tx.db.wrap("scan tier change", err)
		}
		c.CreatedAt = c.CreatedAt.UTC()
		out = append(out, c)
	}
	return out, tx.db.wrap("tier changes", rows.Err())
}

// The statements of the per-order paths (an order and its lines, an
// order's points) run for every order. On SQLite preparing a statement
// costs more than running it, so they are prepared once on the writer
// connection, outside any transaction (PrepareClub, PrepareOrders), and
// write transactions reuse them through Tx.StmtContext, as bulk.go does
// for imports. PostgreSQL's driver caches prepared statements per
// connection by itself. The methods that use them say "write
// transactions only": in a read transaction (another connection) the
// statement would be prepared again each time.

type hotStmtKey struct {
	db *DB
	q  string
}

var hotStmts sync.Map // hotStmtKey → *sql.Stmt

var clubHot = []string{qBuyerPrograms, qOrderSpend, qInsertOrderLot, qInsertEntry, qAddBalance, qEmit, qNumberContact}

// PrepareClub prepares the club's per-order statements (SQLite only; a
// no-op elsewhere). Call it outside a transaction; without it the
// statements are prepared on each use, which is slower but as correct.
func (db *DB) PrepareClub(ctx context.Context) error { return db.prepareHot(ctx, clubHot) }

// prepareHot prepares queries on the writer connection (SQLite only).
func (db *DB) prepareHot(ctx context.Context, queries []string) error {
	if db.dialect != SQLite {
		return nil
	}
	for _, q := range queries {
		q = sqliteNoReturning(q) // run by hotInsert without it
		k := hotStmtKey{db, q}
		if _, ok := hotStmts.Load(k); ok {
			continue
		}
		st, err := db.rw.PrepareContext(ctx, q)
		if err != nil {
			return db.wrap("prepare", err)
		}
		if _, loaded := hotStmts.LoadOrStore(k, st); loaded {
			st.Close()
		}
	}
	return nil
}

func (tx *Tx) hotStmt(ctx context.Context, q string) *sql.Stmt {
	if tx.read {
		return nil // prepared on the writer connection only
	}
	if v, ok := hotStmts.Load(hotStmtKey{tx.db, q}); ok {
		return tx.tx.StmtContext(ctx, v.(*sql.Stmt))
	}
	return nil
}

func (tx *Tx) hotQuery(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	ctx = tx.db.short(ctx)
	if st := tx.hotStmt(ctx, q); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, tx.db.wrap("query", err)
		}
		return rows, nil
	}
	return tx.Query(ctx, q, args...)
}

func (tx *Tx) hotQueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	ctx = tx.db.short(ctx)
	if st := tx.hotStmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRow(ctx, q, args...)
}

// hotInsert runs q, an INSERT … RETURNING id (prepared, as hotQuery),
// and returns the new row's id; inserted is false when an ON CONFLICT …
// DO NOTHING clause skipped the row (nothing changed then).
//
// On SQLite it runs q without its RETURNING clause and reads the id and
// the count from the statement's result instead. SQLite implements
// RETURNING like a trigger, which makes the INSERT a multi-write
// statement: inside a transaction it then opens a statement journal and
// copies there every page the INSERT is first to touch (4 KiB each, a
// malloc and a memcpy), on the one writer, for every order.
func (tx *Tx) hotInsert(ctx context.Context, q string, args ...any) (id int64, inserted bool, err error) {
	if tx.db.dialect == SQLite {
		res, err := tx.hotExec(ctx, sqliteNoReturning(q), args...)
		if err != nil {
			return 0, false, err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return 0, false, tx.db.wrap("insert", err)
		}
		id, err = res.LastInsertId()
		return id, err == nil, tx.db.wrap("insert", err)
	}
	rows, err := tx.hotQuery(ctx, q, args...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return 0, false, tx.db.wrap("insert", err)
		}
		inserted = true
	}
	return id, inserted, tx.db.wrap("insert", rows.Err())
}

// sqliteNoReturning is q without its trailing " RETURNING id" (see
// hotInsert).
func sqliteNoReturning(q string) string { return strings.TrimSuffix(q, " RETURNING id") }

func (tx *Tx) hotExec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	ctx = tx.db.short(ctx)
	if st := tx.hotStmt(ctx, q); st != nil {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return nil, tx.db.wrap("exec", err)
		}
		return res, nil
	}
	return tx.Exec(ctx, q, args...)
}

var qBuyerPrograms = `SELECT p.id, p.version, ` + clubMemberNullColumns + ` FROM club_programs p
	LEFT JOIN club_members m ON m.program_id = p.id AND m.contact_id = ? ORDER BY p.id`

// buyerPrograms keeps the programs ClubBuyerPrograms has read, by
// database and id: it reads only each program's id and version with the
// membership, and the whole row again only when the version moved on
// (every change of a program, its tiers or its rules raises it).
var buyerPrograms sync.Map // clubProgramKey → *ClubProgram

type clubProgramKey struct {
	db *DB
	id int64
}

// clubMemberNullColumns are clubMemberColumns for a LEFT JOIN: m.id is
// NULL when the person is not a member.
const clubMemberNullColumns = `COALESCE(m.id, 0), COALESCE(m.program_id, 0), COALESCE(m.contact_id, 0), COALESCE(m.number, ''),
	COALESCE(m.card_code, ''), COALESCE(m.token_hash, ''), COALESCE(m.referral_code, ''), COALESCE(m.referred_by, 0),
	COALESCE(m.tier_id, 0), m.tier_since, m.tier_review_at, m.grace_until, COALESCE(m.paid_tier_id, 0), m.paid_until,
	COALESCE(m.status, ''), COALESCE(m.enrolled_via, ''), COALESCE(m.available, 0), COALESCE(m.pending, 0), COALESCE(m.reserved, 0),
	COALESCE(m.debt, 0), COALESCE(m.earned, 0), COALESCE(m.orders, 0), m.created_at, m.updated_at`

// ClubBuyerPrograms lists every program with the person's membership of
// it (nil when they are not a member), for the points of their order, in
// one statement (write transactions only).
func (tx *Tx) ClubBuyerPrograms(ctx context.Context, contactID int64) ([]*ClubProgram, []*ClubMember, error) {
	rows, err := tx.hotQuery(ctx, qBuyerPrograms, contactID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ps []*ClubProgram
	var ms []*ClubMember
	for rows.Next() {
		var p ClubProgram
		var m ClubMember
		var since, review, grace, paid, created, updated sql.NullTime
		err := rows.Scan(&p.ID, &p.Version,
			&m.ID, &m.ProgramID, &m.ContactID, &m.Number, &m.CardCode, &m.TokenHash, &m.ReferralCode, &m.ReferredBy,
			&m.TierID, &since, &review, &grace, &m.PaidTierID, &paid, &m.Status, &m.EnrolledVia,
			&m.Available, &m.Pending, &m.Reserved, &m.Debt, &m.Earned, &m.Orders, &created, &updated)
		if err != nil {
			return nil, nil, tx.db.wrap("scan program", err)
		}
		ps = append(ps, &p) // filled in below, after the rows are closed
		if m.ID == 0 {
			ms = append(ms, nil)
			continue
		}
		m.TierSince, m.TierReviewAt, m.GraceUntil, m.PaidUntil = nullTimePtr(since), nullTimePtr(review), nullTimePtr(grace), nullTimePtr(paid)
		m.CreatedAt, m.UpdatedAt = created.Time.UTC(), updated.Time.UTC()
		ms = append(ms, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, tx.db.wrap("list programs", err)
	}
	rows.Close()
	for i, p := range ps {
		k := clubProgramKey{tx.db, p.ID}
		if v, ok := buyerPrograms.Load(k); ok && v.(*ClubProgram).Version == p.Version {
			c := *v.(*ClubProgram)
			ps[i] = &c
			continue
		}
		full, err := tx.ClubProgram(ctx, p.ID)
		if err != nil {
			return nil, nil, err
		}
		c := *full
		buyerPrograms.Store(k, &c)
		ps[i] = full
	}
	return ps, ms, nil
}

const qOrderSpend = `SELECT COALESCE(SUM(spend), 0) FROM club_ledger WHERE member_id = ? AND spend <> 0 AND spend_at >= ? AND spend_at <= ?`

// ClubOrderSpend is ClubSpend for the points of an order (write
// transactions only).
func (tx *Tx) ClubOrderSpend(ctx context.Context, memberID int64, from, to time.Time) (int64, error) {
	var s int64
	err := tx.hotQueryRow(ctx, qOrderSpend, memberID, from.UTC(), to.UTC()).Scan(&s)
	return s, tx.db.wrap("club spend", err)
}
