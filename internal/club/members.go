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

// Member statuses and the ways a person joins.
const (
	StatusActive = "active"
	StatusClosed = "closed"

	ViaStaff = "staff"
	ViaWeb   = "web"
	ViaAPI   = "api"
	ViaOrder = "order"
)

// EnrolVias lists the ways a person can be enrolled by hand.
var EnrolVias = []string{ViaStaff, ViaWeb, ViaAPI}

// Enrolment asks to make a person a member of a program: a person by
// contact id, or by Customer (a phone, an email, a name: the person is
// found, or created with that name, phone and email).
type Enrolment struct {
	ProgramID    int64            `json:"program_id"`
	ContactID    int64            `json:"contact_id,omitempty"`
	Customer     *crm.CustomerRef `json:"customer,omitempty"`      // instead of contact_id
	Via          string           `json:"via,omitempty"`           // staff (default), web or api
	ReferralCode string           `json:"referral_code,omitempty"` // the referring member's code
}

// Enrolled is a new member and the token of their private page, which is
// shown only now (the database keeps its hash).
type Enrolled struct {
	Member *Member `json:"member"`
	Token  string  `json:"token"`
	// NewPerson is true when the person was created by this enrolment
	// (named by Customer and not found).
	NewPerson bool `json:"new_person,omitempty"`
}

func (in *Enrolment) validate() error {
	var v crm.Validation
	if in.ProgramID <= 0 {
		v.Add("program_id", "Choose a program.")
	}
	switch {
	case in.Customer != nil && in.ContactID != 0:
		v.Add("customer", "Give contact_id or customer, not both.")
	case in.Customer != nil:
		c := in.Customer
		c.Phone, c.Email = strings.TrimSpace(c.Phone), strings.TrimSpace(c.Email)
		c.FirstName, c.LastName = strings.TrimSpace(c.FirstName), strings.TrimSpace(c.LastName)
		if c.MemberNumber != "" || c.ExternalID != "" {
			v.Add("customer", "Name the person by contact id, phone, email or name.")
		} else if c.ContactID == 0 && c.Phone == "" && c.Email == "" && c.FirstName == "" && c.LastName == "" {
			v.Add("customer", "Give the person's phone, email or name.")
		}
		for f, s := range map[string]string{"customer.first_name": c.FirstName, "customer.last_name": c.LastName, "customer.phone": c.Phone} {
			if utf8.RuneCountInString(s) > 100 {
				v.Add(f, "Use at most 100 characters.")
			}
		}
		if utf8.RuneCountInString(c.Email) > 254 {
			v.Add("customer.email", "Use at most 254 characters.")
		}
	case in.ContactID <= 0:
		v.Add("contact_id", "Choose a person.")
	}
	if in.Via == "" {
		in.Via = ViaStaff
	} else if !slices.Contains(EnrolVias, in.Via) {
		v.Add("via", "Choose staff, web or api.")
	}
	in.ReferralCode = NormalizeCode(in.ReferralCode)
	return v.Err()
}

// Enrol makes a person a member: a member number and card code, the
// private page's token, the program's entry tier (a tier with threshold
// 0), and the referral when a referral code is given. A person named by
// Customer is found or created in the same transaction.
func (s *Service) Enrol(ctx context.Context, in Enrolment) (*Enrolled, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out *Enrolled
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.enrolTx(ctx, tx, in)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, "club.enrol", "club_member", out.Member.ID, nil, out.Member)
	})
	return out, err
}

func (s *Service) enrolTx(ctx context.Context, tx *store.Tx, in Enrolment) (*Enrolled, error) {
	c, err := s.config(ctx, tx, in.ProgramID)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, fieldError("program_id", "There is no program %d.", in.ProgramID)
	}
	if err != nil {
		return nil, err
	}
	if !c.prog.Active {
		return nil, fieldError("program_id", "The program %q is not active.", c.prog.Name)
	}
	contactID := in.ContactID
	newPerson := false
	if in.Customer != nil {
		if s.opts.Resolve == nil {
			return nil, fieldError("customer", "People can be named only by contact id here.")
		}
		// Whoever the resolver creates gets an id above every id now.
		last, err := tx.ClubLastContactID(ctx)
		if err != nil {
			return nil, err
		}
		if contactID, err = s.opts.Resolve(ctx, tx, *in.Customer); err != nil {
			return nil, err
		}
		newPerson = contactID > last
	}
	if _, err := tx.ClubContact(ctx, contactID); err != nil {
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil, fieldError("contact_id", "There is no person %d.", contactID)
		}
		return nil, err
	}
	var referrer *Member
	if in.ReferralCode != "" {
		referrer, err = tx.ClubMemberByReferral(ctx, in.ReferralCode)
		switch {
		case crm.ErrorCode(err) == crm.ENOTFOUND || err == nil && referrer.ProgramID != in.ProgramID:
			return nil, fieldError("referral_code", "No member of this program has the referral code %q.", in.ReferralCode)
		case err != nil:
			return nil, err
		case referrer.ContactID == contactID:
			return nil, fieldError("referral_code", "A person cannot refer themselves.")
		}
	}
	m, token, err := s.enrol(ctx, tx, c, contactID, in.Via, referrer)
	if err != nil {
		return nil, err
	}
	return &Enrolled{Member: m, Token: token, NewPerson: newPerson}, nil
}

// JoinRequest is what a person types into a program's public join form.
type JoinRequest struct {
	ProgramID    int64
	FirstName    string
	LastName     string
	Phone        string
	Email        string
	ReferralCode string
}

// Joined answers a join form. Token, the member's private page, is set
// only when the person is new to the CRM: someone who typed a phone or
// email already known (perhaps not theirs) must not see that person's
// card, so they are told to ask at the counter, as is someone who is a
// member already.
type Joined struct {
	Program *Program
	Token   string
}

// PublicProgram returns a program whose join form is open (active, with
// signup on); ENOTFOUND otherwise. It needs no user: the form is public.
func (s *Service) PublicProgram(ctx context.Context, id int64) (*Program, error) {
	var out *Program
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		p, err := tx.ClubProgram(ctx, id)
		if err != nil || !p.Active || !p.Signup {
			return crm.Errorf(crm.ENOTFOUND, "This club has no join form.")
		}
		out = p
		return nil
	})
	return out, err
}

// Join enrols the person a public join form names (via web): a phone is
// required, a first name too; the person is found by phone, then email,
// or created. It needs no user (the form is public) and works only for a
// program with signup on. See Joined for what it reveals.
func (s *Service) Join(ctx context.Context, in JoinRequest) (*Joined, error) {
	var v crm.Validation
	in.FirstName, in.LastName = strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	in.Phone, in.Email = strings.TrimSpace(in.Phone), strings.TrimSpace(in.Email)
	if in.FirstName == "" {
		v.Add("first_name", "Give your first name.")
	}
	if in.Phone == "" {
		v.Add("phone", "Give your mobile number: it is how the shop finds your card.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	en := Enrolment{ProgramID: in.ProgramID, Via: ViaWeb, ReferralCode: in.ReferralCode,
		Customer: &crm.CustomerRef{FirstName: in.FirstName, LastName: in.LastName, Phone: in.Phone, Email: in.Email}}
	if err := en.validate(); err != nil {
		return nil, joinFields(err)
	}
	out := &Joined{}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		p, err := tx.ClubProgram(ctx, in.ProgramID)
		if err != nil || !p.Active || !p.Signup {
			return crm.Errorf(crm.ENOTFOUND, "This club has no join form.")
		}
		out.Program = p
		res, err := s.enrolTx(ctx, tx, en)
		if crm.ErrorCode(err) == crm.ECONFLICT {
			return nil // a member already: the same answer as for a known person
		}
		if err != nil {
			return joinFields(err)
		}
		if res.NewPerson {
			out.Token = res.Token
		}
		return tx.Audit(ctx, "club.join", "club_member", res.Member.ID, nil, res.Member)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// joinFields renames an enrolment's field errors after the join form's
// fields (customer.phone → phone).
func joinFields(err error) error {
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return err
	}
	out := map[string]string{}
	for k, v := range fields {
		k = strings.TrimPrefix(k, "customer.")
		if k == "customer" || k == "contact_id" {
			k = "phone"
		}
		out[k] = v
	}
	return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: out}
}

func fieldError(field, format string, args ...any) error {
	var v crm.Validation
	v.Add(field, format, args...)
	return v.Err()
}

// enrol stores a new member of c's program inside tx.
func (s *Service) enrol(ctx context.Context, tx *store.Tx, c *config, contactID int64, via string, referrer *Member) (*Member, string, error) {
	if m, err := tx.ClubMemberOf(ctx, c.prog.ID, contactID); err == nil {
		return nil, "", crm.Errorf(crm.ECONFLICT, "This person is already member %s of %s.", FormatNumber(m.Number), c.prog.Name)
	} else if crm.ErrorCode(err) != crm.ENOTFOUND {
		return nil, "", err
	}
	token, hash := newToken()
	m := &Member{ProgramID: c.prog.ID, ContactID: contactID, TokenHash: hash, Status: StatusActive, EnrolledVia: via}
	var err error
	if m.Number, err = uniqueCode(ctx, tx, "number", newMemberNumber); err != nil {
		return nil, "", err
	}
	if m.CardCode, err = uniqueCode(ctx, tx, "card_code", newCardCode); err != nil {
		return nil, "", err
	}
	if m.ReferralCode, err = uniqueCode(ctx, tx, "referral_code", func() string { return randomCode(8) }); err != nil {
		return nil, "", err
	}
	if referrer != nil {
		m.ReferredBy = referrer.ID
	}
	now := tx.Now()
	if t := tierFor(c.tiers, 0); t != nil {
		m.TierID, m.TierSince = t.ID, &now
	}
	if err := tx.InsertClubMember(ctx, m); err != nil {
		return nil, "", err
	}
	if referrer != nil {
		if err := tx.InsertClubReferral(ctx, m.ID, referrer.ID); err != nil {
			return nil, "", err
		}
	}
	err = emit(ctx, tx, EventMemberEnrolled, m.ID, contactID, enrolledPayload{MemberID: m.ID, ProgramID: c.prog.ID, Program: c.prog.Name,
		Number: m.Number, Via: via, ReferredBy: m.ReferredBy})
	return m, token, err
}

// enrolledPayload is what club.member_enrolled carries.
type enrolledPayload struct {
	MemberID   int64  `json:"member_id"`
	ProgramID  int64  `json:"program_id"`
	Program    string `json:"program"`
	Number     string `json:"number"`
	Via        string `json:"via"`
	ReferredBy int64  `json:"referred_by,omitempty"`
}

// uniqueCode draws codes until one is free in column.
func uniqueCode(ctx context.Context, tx *store.Tx, column string, draw func() string) (string, error) {
	for range 8 {
		c := draw()
		taken, err := tx.ClubCodeTaken(ctx, column, c)
		if err != nil {
			return "", err
		}
		if !taken {
			return c, nil
		}
	}
	return "", crm.Errorf(crm.EUNAVAILABLE, "Could not draw a free %s; try again.", strings.ReplaceAll(column, "_", " "))
}

// MemberContact returns the person a member number or card code belongs
// to, inside the caller's transaction (the orders module resolves an
// order's customer with it). Persian and Arabic digits, spaces and dashes
// are accepted. An unknown or mistyped number is ENOTFOUND.
func (s *Service) MemberContact(ctx context.Context, tx *store.Tx, memberNumber string) (contactID int64, err error) {
	n, ok := NormalizeNumber(memberNumber)
	if !ok {
		return 0, crm.Errorf(crm.ENOTFOUND, "No member has the number %q (it is not a valid member number or card code).", memberNumber)
	}
	id, err := tx.ClubNumberContact(ctx, n)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return 0, crm.Errorf(crm.ENOTFOUND, "No member has the number %s.", FormatNumber(n))
	}
	return id, err
}

// MemberDetail is a member with what a card or a staff page shows: the
// person's name and language, the program, the effective tier and the
// next one, the qualifying spend, and points about to expire.
type MemberDetail struct {
	Member        *Member    `json:"member"`
	Name          string     `json:"name"`
	Language      string     `json:"language,omitempty"`
	Program       *Program   `json:"program"`
	Tier          *Tier      `json:"tier,omitempty"`      // the tier the member earns at now (qualified, or paid)
	NextTier      *Tier      `json:"next_tier,omitempty"` // the next tier up, if any
	Spend         int64      `json:"spend"`               // qualifying spend in the current window
	ToNextTier    int64      `json:"to_next_tier"`        // spend still needed for NextTier
	WindowStart   time.Time  `json:"window_start"`
	Expiring      int64      `json:"expiring"` // available points expiring within the reminder period (30 days without one)
	ExpiringAt    *time.Time `json:"expiring_at,omitempty"`
	Tiers         []*Tier    `json:"tiers"`
	ReferralCount int        `json:"referral_count"`
}

// Member reads a member with their detail.
func (s *Service) Member(ctx context.Context, id int64) (*MemberDetail, error) {
	var out *MemberDetail
	err := s.read(ctx, func(tx *store.Tx) error {
		m, err := tx.ClubMember(ctx, id)
		if err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, m)
		return err
	})
	return out, err
}

// MemberByToken reads the member whose private page token is token,
// without a signed-in user: the token is the credential. Closed members'
// pages are not found.
func (s *Service) MemberByToken(ctx context.Context, token string) (*MemberDetail, error) {
	if len(token) < 40 || len(token) > 64 {
		return nil, crm.Errorf(crm.ENOTFOUND, "This member page does not exist.")
	}
	var out *MemberDetail
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		m, err := tx.ClubMemberByToken(ctx, hashToken(token))
		if crm.ErrorCode(err) == crm.ENOTFOUND || err == nil && m.Status != StatusActive {
			return crm.Errorf(crm.ENOTFOUND, "This member page does not exist.")
		}
		if err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, m)
		return err
	})
	return out, err
}

// MemberByNumber reads a member by member number or card code.
func (s *Service) MemberByNumber(ctx context.Context, number string) (*MemberDetail, error) {
	n, ok := NormalizeNumber(number)
	if !ok {
		return nil, crm.Errorf(crm.ENOTFOUND, "No member has the number %q.", number)
	}
	var out *MemberDetail
	err := s.read(ctx, func(tx *store.Tx) error {
		m, err := tx.ClubMemberByNumber(ctx, n)
		if err != nil {
			return err
		}
		out, err = s.detail(ctx, tx, m)
		return err
	})
	return out, err
}

func (s *Service) detail(ctx context.Context, tx *store.Tx, m *Member) (*MemberDetail, error) {
	c, err := s.config(ctx, tx, m.ProgramID)
	if err != nil {
		return nil, err
	}
	d := &MemberDetail{Member: m, Program: c.prog, Tiers: c.tiers}
	if pc, err := tx.ClubContact(ctx, m.ContactID); err == nil {
		d.Name, d.Language = pc.Name(), pc.Language
	} else if crm.ErrorCode(err) != crm.ENOTFOUND {
		return nil, err
	}
	now := tx.Now()
	d.Tier = effectiveTier(c, m, now)
	d.WindowStart = windowStart(c.prog, now)
	if d.Spend, err = tx.ClubSpend(ctx, m.ID, d.WindowStart, now); err != nil {
		return nil, err
	}
	for _, t := range c.tiers {
		if t.Threshold > d.Spend && (d.Tier == nil || t.Threshold > d.Tier.Threshold) {
			d.NextTier, d.ToNextTier = t, t.Threshold-d.Spend
			break
		}
	}
	days := c.prog.ReminderDays
	if days <= 0 {
		days = 30
	}
	lots, err := tx.ClubSpendableLots(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	by := now.AddDate(0, 0, days)
	for _, l := range lots {
		if l.ExpiresAt != nil && !l.ExpiresAt.After(by) {
			d.Expiring += l.Remaining
			if d.ExpiringAt == nil {
				t := *l.ExpiresAt
				d.ExpiringAt = &t
			}
		}
	}
	if d.ReferralCount, err = tx.ClubReferralCount(ctx, m.ID); err != nil {
		return nil, err
	}
	return d, nil
}

// effectiveTier is the tier a member earns at: the one they hold, or the
// paid tier while it is paid for, whichever is higher.
func effectiveTier(c *config, m *Member, at time.Time) *Tier {
	t := c.tier(m.TierID)
	if m.PaidTierID != 0 && m.PaidUntil != nil && m.PaidUntil.After(at) {
		t = higher(t, c.tier(m.PaidTierID))
	}
	return t
}

// MemberFilter selects members for a list.
type MemberFilter struct {
	ProgramID int64
	TierID    int64  // -1: members without a tier
	Query     string // a member number, card code or referral code
	Status    string
	Limit     int
	After     string
}

// MemberRow is a member in a list, with the person's name.
type MemberRow struct {
	*Member
	Name string `json:"name"`
}

// Members lists members, newest first.
func (s *Service) Members(ctx context.Context, f MemberFilter) ([]MemberRow, string, error) {
	var out []MemberRow
	var next string
	q := strings.TrimSpace(f.Query)
	if n, ok := NormalizeNumber(q); ok {
		q = n
	} else if q != "" {
		q = NormalizeCode(q)
	}
	err := s.read(ctx, func(tx *store.Tx) error {
		ms, nx, err := tx.ListClubMembers(ctx, store.ClubMemberFilter{ProgramID: f.ProgramID, TierID: f.TierID, Query: q, Status: f.Status,
			Limit: f.Limit, After: f.After})
		if err != nil {
			return err
		}
		next = nx
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.ContactID
		}
		names, err := tx.ClubContactNames(ctx, ids)
		if err != nil {
			return err
		}
		out = make([]MemberRow, len(ms))
		for i, m := range ms {
			out[i] = MemberRow{Member: m, Name: names[m.ContactID]}
		}
		return nil
	})
	return out, next, err
}

// MembersOfContact lists a person's memberships.
func (s *Service) MembersOfContact(ctx context.Context, contactID int64) ([]*Member, error) {
	var out []*Member
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ClubMembersOfContact(ctx, contactID)
		return err
	})
	return out, err
}

// NewPageLink replaces a member's private page token and returns the new
// one (shown only now; the old link stops working).
func (s *Service) NewPageLink(ctx context.Context, memberID int64) (string, error) {
	token, hash := newToken()
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := tx.SetClubMemberToken(ctx, memberID, hash); err != nil {
			return err
		}
		return tx.Audit(ctx, "club.page_link", "club_member", memberID, nil, nil)
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// NewCard gives a member a new card code (a lost card): the old code
// stops working.
func (s *Service) NewCard(ctx context.Context, memberID int64) (*Member, error) {
	var out *Member
	err := s.write(ctx, func(tx *store.Tx) error {
		m, err := tx.ClubMember(ctx, memberID)
		if err != nil {
			return err
		}
		old := m.CardCode
		if m.CardCode, err = uniqueCode(ctx, tx, "card_code", newCardCode); err != nil {
			return err
		}
		if err := tx.SetClubMemberCard(ctx, memberID, m.CardCode); err != nil {
			return err
		}
		out = m
		return tx.Audit(ctx, "club.new_card", "club_member", memberID, map[string]string{"card_code": old}, map[string]string{"card_code": m.CardCode})
	})
	return out, err
}

// SetStatus closes or reopens a membership. A closed member earns
// nothing, cannot redeem, and their page is gone; their points stay.
func (s *Service) SetStatus(ctx context.Context, memberID int64, status string) (*Member, error) {
	if status != StatusActive && status != StatusClosed {
		return nil, fieldError("status", "Choose active or closed.")
	}
	var out *Member
	err := s.write(ctx, func(tx *store.Tx) error {
		m, err := tx.LockClubMember(ctx, memberID)
		if err != nil {
			return err
		}
		before := m.Status
		if err := tx.SetClubMemberStatus(ctx, memberID, status); err != nil {
			return err
		}
		m.Status = status
		out = m
		return tx.Audit(ctx, "club.member_status", "club_member", memberID, map[string]string{"status": before}, map[string]string{"status": status})
	})
	return out, err
}

// History lists a member's ledger entries, newest first.
func (s *Service) History(ctx context.Context, memberID int64, page crm.Page) ([]*Entry, string, error) {
	var out []*Entry
	var next string
	err := s.read(ctx, func(tx *store.Tx) error {
		if _, err := tx.ClubMember(ctx, memberID); err != nil {
			return err
		}
		var err error
		out, next, err = tx.ClubEntries(ctx, memberID, page)
		return err
	})
	return out, next, err
}

// HistoryByToken lists the newest ledger entries of the member whose
// page token is token (the private member page).
func (s *Service) HistoryByToken(ctx context.Context, token string, limit int) ([]*Entry, error) {
	var out []*Entry
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		m, err := tx.ClubMemberByToken(ctx, hashToken(token))
		if err != nil || m.Status != StatusActive {
			return crm.Errorf(crm.ENOTFOUND, "This member page does not exist.")
		}
		out, _, err = tx.ClubEntries(ctx, m.ID, crm.Page{Limit: limit})
		return err
	})
	return out, err
}
