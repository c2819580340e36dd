package web

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/qr"
	"github.com/pivand/pivand/internal/text"
)

// The customer club's pages (internal/club): members with their card,
// points, history, adjustments and redemptions; the rewards catalogue;
// coupons; reports; the program settings (tiers and earn rules); and the
// member's own private page, /m/{token}, which needs no sign-in: the
// unguessable token is the credential. Installed when Options.Club is set.
// Program settings are in club_settings.go, the member page in
// club_member_page.go.

func init() {
	webModules = append(webModules, webModule{
		on:          func(s *server) bool { return s.club != nil },
		nav:         []navItem{{Key: "club.nav", Href: "/club", Perm: crm.PermClubRead, Prefix: "/club/"}},
		settingsNav: []navItem{{Key: "club.nav_settings", Href: "/settings/club", Perm: crm.PermSettingsManage, Prefix: "/settings/club/"}},
		routes:      clubRoutes,
	})
	for _, typ := range []string{club.EventMemberEnrolled, club.EventPointsEarned, club.EventPointsReversed, club.EventPointsExpiring,
		club.EventPointsExpired, club.EventPointsAdjusted, club.EventRewardReserved, club.EventRewardCaptured, club.EventRewardCancelled,
		club.EventTierChanged, club.EventReferralRewarded, club.EventCouponRedeemed} {
		registerTimeline(typ, timelineRenderer{Icon: "check", Payload: func() any { return new(clubEvent) }})
	}
}

func clubRoutes(s *server, mux *http.ServeMux) {
	read, write, manage := crm.PermClubRead, crm.PermClubWrite, crm.PermSettingsManage
	mux.HandleFunc("GET /club", s.can(read, s.handleClubMembers))
	mux.HandleFunc("GET /club/{$}", s.can(read, s.handleClubMembers))
	mux.HandleFunc("POST /club/members", s.can(write, s.handleClubEnrol))
	mux.HandleFunc("GET /club/members/{id}", s.can(read, s.handleClubMember))
	mux.HandleFunc("GET /club/members/{id}/qr.svg", s.can(read, s.handleClubMemberQR))
	mux.HandleFunc("POST /club/members/{id}/adjust", s.can(write, s.handleClubAdjust))
	mux.HandleFunc("POST /club/members/{id}/redeem", s.can(write, s.handleClubRedeem))
	mux.HandleFunc("POST /club/members/{id}/link", s.can(write, s.handleClubPageLink))
	mux.HandleFunc("POST /club/members/{id}/card", s.can(write, s.handleClubNewCard))
	mux.HandleFunc("POST /club/members/{id}/status", s.can(write, s.handleClubStatus))
	mux.HandleFunc("POST /club/members/{id}/paid-tier", s.can(write, s.handleClubPaidTier))
	mux.HandleFunc("POST /club/redemptions/{id}/{action}", s.can(write, s.handleClubRedemption))
	mux.HandleFunc("GET /club/rewards", s.can(read, s.handleClubRewards))
	mux.HandleFunc("POST /club/rewards", s.can(write, s.handleClubRewardCreate))
	mux.HandleFunc("POST /club/rewards/{id}/active", s.can(write, s.handleClubRewardActive))
	mux.HandleFunc("GET /club/coupons", s.can(read, s.handleClubCoupons))
	mux.HandleFunc("POST /club/coupons", s.can(write, s.handleClubCouponCreate))
	mux.HandleFunc("POST /club/coupons/batches", s.can(write, s.handleClubBatchCreate))
	mux.HandleFunc("GET /club/coupons/batches/{id}/codes.csv", s.can(read, s.handleClubBatchCSV))
	mux.HandleFunc("POST /club/coupons/check", s.can(read, s.handleClubCouponCheck))
	mux.HandleFunc("POST /club/coupons/{id}/active", s.can(write, s.handleClubCouponActive))
	mux.HandleFunc("GET /club/reports", s.can(crm.PermReportsRead, s.handleClubReports))
	mux.HandleFunc("GET /settings/club", s.can(manage, s.handleClubSettings))
	mux.HandleFunc("POST /settings/club", s.can(manage, s.handleClubProgramCreate))
	mux.HandleFunc("GET /settings/club/{id}", s.can(manage, s.handleClubProgram))
	mux.HandleFunc("POST /settings/club/{id}", s.can(manage, s.handleClubProgramUpdate))
	mux.HandleFunc("POST /settings/club/{id}/tiers", s.can(manage, s.handleClubTierSave))
	mux.HandleFunc("POST /settings/club/{id}/tiers/{tier}/delete", s.can(manage, s.handleClubTierDelete))
	mux.HandleFunc("POST /settings/club/{id}/rules", s.can(manage, s.handleClubRuleSave))
	mux.HandleFunc("POST /settings/club/{id}/rules/{rule}/delete", s.can(manage, s.handleClubRuleDelete))
	// The member's own page: no sign-in, the token is the credential.
	mux.HandleFunc("GET /m/{token}", s.handleMemberPage)
	mux.HandleFunc("GET /m/{token}/qr.svg", s.handleMemberPageQR)
	// The public join form of a program with signup on.
	mux.HandleFunc("GET /join/{id}", s.handleJoinPage)
	mux.HandleFunc("POST /join/{id}", s.handleJoin)
}

// clubTabs is the sub-navigation of the club pages.
var clubTabs = []navItem{
	{Key: "club.tab.members", Href: "/club", Perm: crm.PermClubRead},
	{Key: "club.tab.rewards", Href: "/club/rewards", Perm: crm.PermClubRead},
	{Key: "club.tab.coupons", Href: "/club/coupons", Perm: crm.PermClubRead},
	{Key: "club.tab.reports", Href: "/club/reports", Perm: crm.PermReportsRead},
}

// clubBase is the base of a club page, with the tabs.
type clubBase struct {
	base
	Tabs []navLink
}

func (s *server) clubPage(r *http.Request, titleKey string) clubBase {
	b := clubBase{base: s.page(r, titleKey)}
	b.Tabs = links(clubTabs, state(r).user, r.URL.Path)
	for i := range b.Tabs {
		b.Tabs[i].Current = b.Tabs[i].Href == r.URL.Path || b.Tabs[i].Href == "/club" && strings.HasPrefix(r.URL.Path, "/club/members")
	}
	return b
}

// clubFieldKeys maps the service's field names to the message shown for
// them in Persian and Arabic (English shows the service's own sentence).
func clubFieldKeys(names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = "club.error.field"
	}
	return m
}

// --- Members ---

type clubMembersPage struct {
	clubBase
	Programs []*club.Program
	Members  []club.MemberRow
	Filter   club.MemberFilter
	Tiers    map[int64]string
	Next     string
	First    string
	Form     form
	Found    string // the query was a member number: this is the member's page
}

func (s *server) handleClubMembers(w http.ResponseWriter, r *http.Request) {
	s.renderClubMembers(w, r, http.StatusOK, form{Values: map[string]string{"person": r.URL.Query().Get("contact_id")}})
}

func (s *server) renderClubMembers(w http.ResponseWriter, r *http.Request, status int, f form) {
	ctx := r.Context()
	p := state(r).p
	d := &clubMembersPage{clubBase: s.clubPage(r, "club.members.title"), Form: f, Tiers: map[int64]string{}}
	q := r.URL.Query()
	if r.Method == http.MethodGet {
		d.Filter.Query = strings.TrimSpace(q.Get("q"))
		d.Filter.After = q.Get("after")
		d.Filter.ProgramID, _ = strconv.ParseInt(q.Get("program"), 10, 64)
		d.Filter.TierID, _ = strconv.ParseInt(q.Get("tier"), 10, 64)
	}
	var err error
	if d.Programs, err = s.club.Programs(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, pr := range d.Programs {
		pd, err := s.club.Program(ctx, pr.ID)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, t := range pd.Tiers {
			d.Tiers[t.ID] = t.Name
		}
	}
	d.Filter.Limit = 50
	d.Members, d.Next, err = s.club.Members(ctx, d.Filter)
	if crm.ErrorCode(err) == crm.EINVALID && d.Filter.After != "" {
		d.Filter.After = ""
		d.Members, d.Next, err = s.club.Members(ctx, d.Filter)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if len(d.Members) == 1 && d.Filter.Query != "" {
		d.Found = "/club/members/" + strconv.FormatInt(d.Members[0].ID, 10)
	}
	if d.Next != "" {
		v := url.Values{"after": {d.Next}}
		if d.Filter.Query != "" {
			v.Set("q", d.Filter.Query)
		}
		if d.Filter.ProgramID != 0 {
			v.Set("program", strconv.FormatInt(d.Filter.ProgramID, 10))
		}
		if d.Filter.TierID != 0 {
			v.Set("tier", strconv.FormatInt(d.Filter.TierID, 10))
		}
		d.Next = "/club?" + v.Encode()
	}
	if d.Filter.After != "" {
		d.First = "/club"
	}
	_ = p
	s.render(w, r, status, "club_members", d)
}

func (s *server) handleClubEnrol(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, "program_id", "person", "first_name", "last_name", "referral_code")
	in := club.Enrolment{Via: club.ViaStaff, ReferralCode: f.V("referral_code")}
	var err error
	if in.ProgramID, err = p.ParseInt(f.V("program_id")); err != nil {
		f.invalid(p, "program_id", "club.error.field")
	}
	// The person by phone, email or contact number, recognised by shape;
	// someone new is created with the name given.
	switch ref, id, ok := s.personRef(f.V("person")); {
	case !ok:
		f.invalid(p, "person", "club.enrol.person_invalid")
	case id != 0:
		in.ContactID = id
	default:
		ref.FirstName, ref.LastName = f.V("first_name"), f.V("last_name")
		in.Customer = &ref
	}
	if !f.ok() {
		s.renderClubMembers(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	res, err := s.club.Enrol(r.Context(), in)
	if err != nil {
		f.fail(p, renameFields(err, enrolFields), clubFieldKeys("program_id", "person", "first_name", "last_name", "referral_code"))
		s.renderClubMembers(w, r, clubStatus(err), f)
		return
	}
	s.renderClubMember(w, r, http.StatusOK, res.Member.ID, clubMemberForms{NewLink: res.Token, Notice: "club.notice.enrolled"})
}

// enrolFields names the enrolment's fields after the form's: the person
// named in any way is the person field.
var enrolFields = map[string]string{"contact_id": "person", "customer": "person", "customer.phone": "person", "customer.email": "person",
	"customer.first_name": "first_name", "customer.last_name": "last_name"}

// renameFields returns err with its field errors renamed by names (the
// others kept).
func renameFields(err error, names map[string]string) error {
	var e *crm.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	out := map[string]string{}
	for k, v := range e.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		out[k] = v
	}
	return &crm.Error{Code: e.Code, Key: e.Key, Message: e.Message, Fields: out}
}

// personRef reads what staff typed to name a person: an email, a phone
// (starting with + or 0), or a contact number. ok is false for anything
// else (a name alone would make a new person every time).
func (s *server) personRef(v string) (ref crm.CustomerRef, contactID int64, ok bool) {
	v = strings.TrimSpace(v)
	a := strings.TrimSpace(text.ToASCIIDigits(v))
	switch {
	case v == "":
		return ref, 0, false
	case strings.Contains(v, "@"):
		return crm.CustomerRef{Email: v}, 0, true
	case strings.HasPrefix(a, "+") || strings.HasPrefix(a, "0"):
		if _, err := text.NormalizePhone(a, s.contactsRegion()); err != nil {
			return ref, 0, false
		}
		return crm.CustomerRef{Phone: a}, 0, true
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil || n <= 0 {
		return ref, 0, false
	}
	return ref, n, true
}

// clubStatus is the HTTP status of a failed form post.
func clubStatus(err error) int {
	switch crm.ErrorCode(err) {
	case crm.EINVALID:
		return http.StatusUnprocessableEntity
	case crm.ECONFLICT:
		return http.StatusConflict
	case crm.ENOTFOUND:
		return http.StatusNotFound
	case crm.EFORBIDDEN:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// clubMemberForms are the forms of a member's page and what a post left
// to show.
type clubMemberForms struct {
	Adjust  form
	Redeem  form
	Paid    form
	NewLink string // a page token just made: shown once
	Notice  string // a club.notice.* key
}

type clubMemberPage struct {
	clubBase
	clubFmt
	D           *club.MemberDetail
	QR          template.HTML
	History     []*club.Entry
	HistoryNext string
	Redemptions []*club.Redemption
	Rewards     []*club.Reward
	Referrals   []club.Referral
	Forms       clubMemberForms
	LinkURL     string
	CanWrite    bool
	Progress    int64        // percent of the way to the next tier
	FeeTiers    []*club.Tier // tiers for sale (with a fee), when the user may sell them
	PaidTier    *club.Tier   // the paid tier while it is paid for
}

// Grouped shows a member number or card code in groups of four.
func (d *clubMemberPage) Grouped(number string) string { return club.FormatNumber(number) }

func (s *server) handleClubMember(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	s.renderClubMember(w, r, http.StatusOK, id, clubMemberForms{Notice: r.URL.Query().Get("notice")})
}

func (s *server) renderClubMember(w http.ResponseWriter, r *http.Request, status int, id int64, forms clubMemberForms) {
	ctx := r.Context()
	st := state(r)
	d := &clubMemberPage{clubBase: s.clubPage(r, "club.member.title"), Forms: forms, CanWrite: st.user.Can(crm.PermClubWrite)}
	d.Path = "/club/members/" + strconv.FormatInt(id, 10)
	if forms.Notice != "" && st.p.Has(forms.Notice) {
		d.Notice = st.p.T(forms.Notice)
	}
	var err error
	if d.D, err = s.club.Member(ctx, id); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Title = st.p.T("club.member.title_of", "name", clubName(st.p, d.D.Name))
	d.clubFmt = clubFmt{p: st.p, cur: d.D.Program.Currency}
	d.QR = cardQR(d.D.Member.CardCode)
	after := ""
	if r.Method == http.MethodGet {
		after = r.URL.Query().Get("after")
	}
	if d.History, d.HistoryNext, err = s.club.History(ctx, id, crm.Page{Limit: 25, After: after}); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.HistoryNext != "" {
		d.HistoryNext = d.Path + "?after=" + url.QueryEscape(d.HistoryNext) + "#history"
	}
	if d.Redemptions, _, err = s.club.Redemptions(ctx, club.RedemptionFilter{MemberID: id, Limit: 20}); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Rewards, err = s.club.Rewards(ctx, d.D.Member.ProgramID, true); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Referrals, err = s.club.Referrals(ctx, id); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Progress = tierProgress(d.D)
	for _, t := range d.D.Tiers {
		if t.Fee > 0 && d.CanWrite && d.D.Member.Status == club.StatusActive {
			d.FeeTiers = append(d.FeeTiers, t)
		}
		if m := d.D.Member; t.ID == m.PaidTierID && m.PaidUntil != nil && m.PaidUntil.After(time.Now()) {
			d.PaidTier = t
		}
	}
	if forms.NewLink != "" {
		d.LinkURL = pageURL(r, forms.NewLink)
	}
	s.render(w, r, status, "club_member", d)
}

// clubName is a member's name, or a placeholder when the person is gone.
func clubName(p *locale.Printer, name string) string {
	if name == "" {
		return p.T("club.member.no_name")
	}
	return name
}

// tierProgress is how far, in percent, the member's qualifying spend is
// from their tier's threshold to the next one's.
func tierProgress(d *club.MemberDetail) int64 {
	if d.NextTier == nil {
		return 100
	}
	var from int64
	if d.Tier != nil {
		from = d.Tier.Threshold
	}
	span := d.NextTier.Threshold - from
	if span <= 0 {
		return 100
	}
	return max(0, min(100, (d.Spend-from)*100/span))
}

// pageURL is the absolute address of a member page token, for staff to
// send.
func pageURL(r *http.Request, token string) string { return absURL(r, "/m/"+token) }

// absURL is the absolute address of a path on this server, as the
// request reached it.
func absURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// cardQR is the QR code of a card code as inline SVG, or "" when it
// cannot be made (never for a valid card code).
func cardQR(code string) template.HTML {
	c, err := qr.Encode(code, qr.H)
	if err != nil {
		return ""
	}
	// The SVG holds only numbers and fixed markup (see internal/qr), never
	// the encoded text, so it is safe to inline.
	return template.HTML(c.SVG(6, qr.DefaultQuietZone))
}

func (s *server) pathInt(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return 0, false
	}
	return id, true
}

func (s *server) handleClubMemberQR(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	d, err := s.club.Member(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	serveQR(w, d.Member.CardCode)
}

func serveQR(w http.ResponseWriter, code string) {
	c, err := qr.Encode(code, qr.H)
	if err != nil {
		http.Error(w, "no QR code", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Write(c.SVG(8, qr.DefaultQuietZone))
}

func (s *server) handleClubAdjust(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := newForm(r, "points", "reason")
	pts, err := p.ParseInt(f.V("points"))
	if err != nil {
		f.invalid(p, "points", "club.error.field")
	}
	if f.ok() {
		if _, err = s.club.Adjust(r.Context(), id, club.Adjustment{Points: pts, Reason: f.V("reason")}); err == nil {
			redirect(w, r, "/club/members/"+strconv.FormatInt(id, 10), "")
			return
		}
		f.fail(p, err, clubFieldKeys("points", "reason"))
	}
	s.renderClubMember(w, r, statusOrInvalid(err), id, clubMemberForms{Adjust: f})
}

func statusOrInvalid(err error) int {
	if err == nil {
		return http.StatusUnprocessableEntity
	}
	return clubStatus(err)
}

func (s *server) handleClubRedeem(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := newForm(r, "reward_id", "capture")
	reward, err := p.ParseInt(f.V("reward_id"))
	if err != nil {
		f.invalid(p, "reward_id", "club.error.field")
	}
	if f.ok() {
		_, err = s.club.Redeem(r.Context(), club.RedeemRequest{MemberID: id, RewardID: reward, Capture: f.V("capture") != ""})
		if err == nil {
			redirect(w, r, "/club/members/"+strconv.FormatInt(id, 10), "")
			return
		}
		f.fail(p, err, clubFieldKeys("reward_id"))
	}
	s.renderClubMember(w, r, statusOrInvalid(err), id, clubMemberForms{Redeem: f})
}

func (s *server) handleClubRedemption(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	var d *club.Redemption
	var err error
	switch r.PathValue("action") {
	case "capture":
		d, err = s.club.Capture(r.Context(), id)
	case "cancel":
		d, err = s.club.Cancel(r.Context(), id)
	default:
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/club/members/"+strconv.FormatInt(d.MemberID, 10), "")
}

func (s *server) handleClubPageLink(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	token, err := s.club.NewPageLink(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	// Shown on this response only: the database keeps the token's hash.
	s.renderClubMember(w, r, http.StatusOK, id, clubMemberForms{NewLink: token, Notice: "club.notice.link"})
}

func (s *server) handleClubNewCard(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	if _, err := s.club.NewCard(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/club/members/"+strconv.FormatInt(id, 10), "")
}

func (s *server) handleClubPaidTier(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := newForm(r, "tier_id")
	tier, err := strconv.ParseInt(f.V("tier_id"), 10, 64)
	if err != nil {
		f.invalid(p, "tier_id", "club.error.field")
	}
	if f.ok() {
		if _, err = s.club.SellPaidTier(r.Context(), id, tier); err == nil {
			redirect(w, r, "/club/members/"+strconv.FormatInt(id, 10), "")
			return
		}
		f.fail(p, err, clubFieldKeys("tier_id"))
	}
	s.renderClubMember(w, r, statusOrInvalid(err), id, clubMemberForms{Paid: f})
}

func (s *server) handleClubStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	if _, err := s.club.SetStatus(r.Context(), id, r.PostFormValue("status")); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/club/members/"+strconv.FormatInt(id, 10), "")
}

// --- Rewards ---

type clubRewardsPage struct {
	clubBase
	clubFmt
	Programs   []*club.Program
	Rewards    []*club.Reward
	Names      map[int64]string // program names
	Currencies map[int64]string // program currencies
	Kinds      []string
	Form       form
	CanWrite   bool
}

func (s *server) handleClubRewards(w http.ResponseWriter, r *http.Request) {
	s.renderClubRewards(w, r, http.StatusOK, form{Values: map[string]string{"kind": club.RewardGiftCard}})
}

func (s *server) renderClubRewards(w http.ResponseWriter, r *http.Request, status int, f form) {
	ctx := r.Context()
	d := &clubRewardsPage{clubBase: s.clubPage(r, "club.rewards.title"), Form: f, Kinds: club.RewardKinds, Names: map[int64]string{}, Currencies: map[int64]string{},
		CanWrite: state(r).user.Can(crm.PermClubWrite)}
	var err error
	if d.Programs, err = s.club.Programs(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.clubFmt = clubFmt{p: state(r).p}
	for _, p := range d.Programs {
		d.Names[p.ID] = p.Name
		d.Currencies[p.ID] = p.Currency
	}
	if d.Rewards, err = s.club.Rewards(ctx, 0, false); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "club_rewards", d)
}

// programCurrency returns the currency of a program, "" when unknown.
func (s *server) programCurrency(ctx context.Context, id int64) string {
	pd, err := s.club.Program(ctx, id)
	if err != nil {
		return ""
	}
	return pd.Program.Currency
}

func (s *server) handleClubRewardCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, "program_id", "name", "description", "kind", "cost", "value", "percent", "sku", "stock", "per_member_limit", "valid_days")
	in := club.RewardInput{Name: f.V("name"), Description: f.V("description"), Kind: f.V("kind"), SKU: f.V("sku")}
	num := func(name string, dst *int64) {
		if f.V(name) == "" {
			return
		}
		n, err := p.ParseInt(f.V(name))
		if err != nil {
			f.invalid(p, name, "club.error.field")
		}
		*dst = n
	}
	num("program_id", &in.ProgramID)
	num("cost", &in.Cost)
	num("percent", &in.Percent)
	num("per_member_limit", &in.PerMemberLimit)
	var days int64
	num("valid_days", &days)
	in.ValidDays = int(days)
	if f.V("stock") != "" {
		var n int64
		num("stock", &n)
		in.Stock = &n
	}
	if v := f.V("value"); v != "" {
		m, err := parseMoney(v, s.programCurrency(r.Context(), in.ProgramID))
		if err != nil {
			f.invalid(p, "value", "club.error.field")
		}
		in.Value = m
	}
	if f.ok() {
		_, err := s.club.CreateReward(r.Context(), in)
		if err == nil {
			redirect(w, r, "/club/rewards", "")
			return
		}
		f.fail(p, err, clubFieldKeys("program_id", "name", "description", "kind", "cost", "value", "percent", "sku", "stock", "per_member_limit", "valid_days"))
	}
	s.renderClubRewards(w, r, http.StatusUnprocessableEntity, f)
}

func (s *server) handleClubRewardActive(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	rw, err := s.club.Reward(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	active := r.PostFormValue("active") == "true"
	in := club.RewardInput{ProgramID: rw.ProgramID, Name: rw.Name, Description: rw.Description, Kind: rw.Kind, Cost: rw.Cost, Value: rw.Value,
		Percent: rw.Percent, SKU: rw.SKU, Stock: rw.Stock, PerMemberLimit: rw.PerMemberLimit, ValidDays: rw.ValidDays,
		StartsAt: rw.StartsAt, EndsAt: rw.EndsAt, Active: &active}
	if _, err := s.club.UpdateReward(ctx, id, in); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/club/rewards", "")
}

// --- Coupons ---

type clubCouponsPage struct {
	clubBase
	clubFmt
	Batches  []*club.CouponBatch
	Coupons  []*club.Coupon
	Batch    *club.CouponBatch // the batch whose codes are listed, if any
	Next     string
	Single   form
	BatchF   form
	Check    form
	Verdict  *club.CouponVerdict
	Used     *club.CouponUse // a code just used
	Kinds    []string
	CanWrite bool
}

func (s *server) handleClubCoupons(w http.ResponseWriter, r *http.Request) {
	cur := s.clubCurrency(r.Context())
	s.renderClubCoupons(w, r, http.StatusOK, &clubCouponsPage{Single: form{Values: map[string]string{"kind": club.CouponPercent, "currency": cur}},
		BatchF: form{Values: map[string]string{"kind": club.CouponPercent, "max_uses": "1", "currency": cur}},
		Check:  form{Values: map[string]string{"currency": cur}}})
}

// clubCurrency is the currency of the first active program ("" without
// one): what coupons and orders are most likely in.
func (s *server) clubCurrency(ctx context.Context) string {
	ps, err := s.club.Programs(ctx)
	if err != nil {
		return ""
	}
	for _, p := range ps {
		if p.Active {
			return p.Currency
		}
	}
	return ""
}

func (s *server) renderClubCoupons(w http.ResponseWriter, r *http.Request, status int, d *clubCouponsPage) {
	ctx := r.Context()
	d.clubBase = s.clubPage(r, "club.coupons.title")
	d.Kinds = club.CouponKinds
	d.clubFmt = clubFmt{p: state(r).p}
	d.CanWrite = state(r).user.Can(crm.PermClubWrite)
	d.Path = "/club/coupons"
	var err error
	if d.Batches, err = s.club.Batches(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	f := club.CouponFilter{Single: true, Limit: 100}
	if r.Method == http.MethodGet {
		if b, err := strconv.ParseInt(r.URL.Query().Get("batch"), 10, 64); err == nil && b > 0 {
			f = club.CouponFilter{BatchID: b, Limit: 100, After: r.URL.Query().Get("after")}
			for _, x := range d.Batches {
				if x.ID == b {
					d.Batch = x
				}
			}
			if d.Batch == nil {
				s.notFound(w, r)
				return
			}
		}
	}
	d.Coupons, d.Next, err = s.club.Coupons(ctx, f)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Next != "" && d.Batch != nil {
		d.Next = "/club/coupons?batch=" + strconv.FormatInt(d.Batch.ID, 10) + "&after=" + url.QueryEscape(d.Next)
	} else {
		d.Next = ""
	}
	s.render(w, r, status, "club_coupons", d)
}

// couponForm reads the terms of a coupon from a posted form.
func couponForm(p *locale.Printer, f *form) club.CouponInput {
	in := club.CouponInput{Code: f.V("code"), Kind: f.V("kind"), Currency: strings.ToUpper(f.V("currency")), SKU: f.V("sku")}
	num := func(name string, dst *int64) {
		if f.V(name) == "" {
			return
		}
		n, err := p.ParseInt(f.V(name))
		if err != nil {
			f.invalid(p, name, "club.error.field")
		}
		*dst = n
	}
	num("max_uses", &in.MaxUses)
	num("per_member_limit", &in.PerMemberLimit)
	if in.Kind == club.CouponFixed {
		if v, err := parseMoney(f.V("value"), in.Currency); err == nil {
			in.Value = v
		} else {
			f.invalid(p, "value", "club.error.field")
		}
	} else {
		num("value", &in.Value)
	}
	if v := f.V("min_spend"); v != "" {
		if m, err := parseMoney(v, in.Currency); err == nil {
			in.MinSpend = m
		} else {
			f.invalid(p, "min_spend", "club.error.field")
		}
	}
	if v := f.V("starts"); v != "" {
		if t, err := p.ParseDate(v); err == nil {
			in.StartsAt = &t
		} else {
			f.invalid(p, "starts", "club.error.date")
		}
	}
	if v := f.V("ends"); v != "" {
		if t, err := p.ParseDate(v); err == nil {
			end := t.AddDate(0, 0, 1)
			in.EndsAt = &end
		} else {
			f.invalid(p, "ends", "club.error.date")
		}
	}
	return in
}

var couponFields = []string{"code", "kind", "value", "currency", "sku", "min_spend", "max_uses", "per_member_limit", "starts", "ends"}

func (s *server) handleClubCouponCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, couponFields...)
	in := couponForm(p, &f)
	if f.ok() {
		_, err := s.club.CreateCoupon(r.Context(), in)
		if err == nil {
			redirect(w, r, "/club/coupons", "")
			return
		}
		f.fail(p, err, clubFieldKeys(couponFields...))
	}
	s.renderClubCoupons(w, r, http.StatusUnprocessableEntity, &clubCouponsPage{Single: f, BatchF: form{Values: map[string]string{"kind": club.CouponPercent}}})
}

func (s *server) handleClubBatchCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, append([]string{"name", "prefix", "count"}, couponFields...)...)
	in := club.BatchInput{Name: f.V("name"), Prefix: f.V("prefix"), CouponInput: couponForm(p, &f)}
	in.Code = ""
	if n, err := p.ParseInt(f.V("count")); err == nil {
		in.Count = int(min(n, club.MaxBatch+1))
	} else {
		f.invalid(p, "count", "club.error.field")
	}
	if f.ok() {
		b, err := s.club.CreateBatch(r.Context(), in)
		if err == nil {
			redirect(w, r, "/club/coupons?batch="+strconv.FormatInt(b.ID, 10), "")
			return
		}
		f.fail(p, err, clubFieldKeys(append([]string{"name", "prefix", "count"}, couponFields...)...))
	}
	s.renderClubCoupons(w, r, http.StatusUnprocessableEntity, &clubCouponsPage{BatchF: f, Single: form{Values: map[string]string{"kind": club.CouponPercent}}})
}

// handleClubBatchCSV downloads a batch's codes, to print or to load into
// a shop.
func (s *server) handleClubBatchCSV(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="coupons-`+strconv.FormatInt(id, 10)+`.csv"`)
	w.Write([]byte("code,kind,value,currency,uses,max_uses\n"))
	after := ""
	for {
		cs, next, err := s.club.Coupons(ctx, club.CouponFilter{BatchID: id, Limit: crm.MaxLimit, After: after})
		if err != nil {
			s.log.ErrorContext(ctx, "web: coupon codes", "err", err)
			return
		}
		for _, c := range cs {
			w.Write([]byte(c.Code + "," + c.Kind + "," + strconv.FormatInt(c.Value, 10) + "," + c.Currency + "," +
				strconv.FormatInt(c.Uses, 10) + "," + strconv.FormatInt(c.MaxUses, 10) + "\n"))
		}
		if next == "" {
			return
		}
		after = next
	}
}

func (s *server) handleClubCouponCheck(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	f := newForm(r, "code", "amount", "currency", "person", "reference", "use")
	in := club.CouponCheck{Code: f.V("code"), Currency: strings.ToUpper(f.V("currency")), Reference: f.V("reference")}
	if a, err := parseMoney(f.V("amount"), in.Currency); err == nil {
		in.Amount = a
	} else {
		f.invalid(p, "amount", "club.error.field")
	}
	// The person by member number or card code, or by contact number.
	if v := f.V("person"); v != "" {
		if d, err := s.club.MemberByNumber(ctx, v); err == nil {
			in.ContactID = d.Member.ContactID
		} else if n, err := p.ParseInt(v); err == nil && n > 0 {
			in.ContactID = n
		} else {
			f.invalid(p, "person", "club.error.field")
		}
	}
	use := f.V("use") != ""
	d := &clubCouponsPage{Check: f, Single: form{Values: map[string]string{"kind": club.CouponPercent}},
		BatchF: form{Values: map[string]string{"kind": club.CouponPercent}}}
	status := http.StatusOK
	switch {
	case !d.Check.ok():
		status = http.StatusUnprocessableEntity
	case use:
		u, err := s.club.RedeemCoupon(ctx, in)
		if err != nil {
			d.Check.fail(p, renameFields(err, map[string]string{"contact_id": "person"}), clubFieldKeys("code", "amount", "currency", "person", "reference"))
			if reason := crm.ErrorFields(err)["code"]; crm.ErrorCode(err) == crm.ECONFLICT && reason != "" {
				d.Verdict = &club.CouponVerdict{Reason: reason} // why, in the user's words
				d.Check.Error, d.Check.Errors = nil, nil
			}
			status = clubStatus(err)
		} else {
			d.Used = u
		}
	default:
		v, err := s.club.ValidateCoupon(ctx, in)
		if err != nil {
			d.Check.fail(p, renameFields(err, map[string]string{"contact_id": "person"}), clubFieldKeys("code", "amount", "currency", "person"))
			status = clubStatus(err)
		}
		d.Verdict = v
	}
	s.renderClubCoupons(w, r, status, d)
}

func (s *server) handleClubCouponActive(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	c, err := s.club.SetCouponActive(r.Context(), id, r.PostFormValue("active") == "true")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	back := "/club/coupons"
	if c.BatchID != 0 {
		back += "?batch=" + strconv.FormatInt(c.BatchID, 10)
	}
	redirect(w, r, back, "")
}

// --- Reports ---

type clubReportsPage struct {
	clubBase
	clubFmt
	Programs []*club.Program
	Program  int64
	R        *club.Report
	MaxMonth int64 // the largest monthly figure, for the bars
}

func (s *server) handleClubReports(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &clubReportsPage{clubBase: s.clubPage(r, "club.reports.title")}
	var err error
	if d.Programs, err = s.club.Programs(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Program, _ = strconv.ParseInt(r.URL.Query().Get("program"), 10, 64)
	if d.Program == 0 && len(d.Programs) > 0 {
		d.Program = d.Programs[0].ID
	}
	if d.Program != 0 {
		if d.R, err = s.club.Report(ctx, d.Program); err != nil {
			s.renderError(w, r, err)
			return
		}
		d.clubFmt = clubFmt{p: state(r).p, cur: d.R.Program.Currency}
		for _, m := range d.R.Months {
			d.MaxMonth = max(d.MaxMonth, m.Issued, m.Redeemed, m.Expired, m.Reversed)
		}
	}
	s.render(w, r, http.StatusOK, "club_reports", d)
}

// --- Timeline ---

// clubEvent is the payload of every club event: the union of their
// fields (see internal/club), with what the partials need.
type clubEvent struct {
	MemberID     int64      `json:"member_id"`
	Program      string     `json:"program"`
	Number       string     `json:"number"`
	Via          string     `json:"via"`
	OrderID      int64      `json:"order_id"`
	ReturnID     int64      `json:"return_id"`
	Points       int64      `json:"points"`
	Pending      bool       `json:"pending"`
	ReleaseAt    time.Time  `json:"release_at"`
	Debt         int64      `json:"debt"`
	ExpiresAt    time.Time  `json:"expires_at"`
	Reason       string     `json:"reason"`
	Reward       string     `json:"reward"`
	CouponCode   string     `json:"coupon_code"`
	Code         string     `json:"code"`
	Discount     int64      `json:"discount"`
	Currency     string     `json:"currency"`
	FromTier     string     `json:"from_tier"`
	ToTier       string     `json:"to_tier"`
	Direction    string     `json:"direction"`
	GraceUntil   *time.Time `json:"grace_until"`
	RefereeID    int64      `json:"referee_id"`
	ReferrerID   int64      `json:"referrer_id"`
	RedemptionID int64      `json:"redemption_id"`
}

// MemberLink is the staff page of the member.
func (e *clubEvent) MemberLink() string { return "/club/members/" + strconv.FormatInt(e.MemberID, 10) }

// Abs is the absolute value of points, for sentences that say "took
// back 50".
func (e *clubEvent) Abs() int64 {
	if e.Points < 0 {
		return -e.Points
	}
	return e.Points
}

// clubFmt formats money and multipliers for the club's templates; pages
// embed it.
type clubFmt struct {
	p   *locale.Printer
	cur string // the program's currency
}

// Money shows an amount of the program's currency.
func (f clubFmt) Money(minor int64) string { return formatMoney(f.p, minor, f.cur) }

// MoneyIn shows an amount of another currency.
func (f clubFmt) MoneyIn(minor int64, currency string) string {
	return formatMoney(f.p, minor, currency)
}

// LastDay is the last moment before an exclusive end (a rule's or a
// code's ends_at): the date people call "until".
func (f clubFmt) LastDay(end *time.Time) time.Time {
	if end == nil {
		return time.Time{}
	}
	return end.Add(-time.Nanosecond)
}

// Mult shows a multiplier given in hundredths: 250 → 2.5×.
func (f clubFmt) Mult(h int64) string {
	s := f.p.Number(h / 100)
	if r := h % 100; r != 0 {
		d := strconv.FormatInt(r+100, 10)[1:]
		s += decimalSep(f.p) + f.p.Digits(strings.TrimRight(d, "0"))
	}
	return s + "×"
}

// Pct is v as a percentage of the largest monthly figure (for the bars).
func (d *clubReportsPage) Pct(v int64) int64 {
	if d.MaxMonth <= 0 {
		return 0
	}
	return v * 100 / d.MaxMonth
}

// Rate is the redemption rate in percent with two decimals.
func (d *clubReportsPage) Rate() string {
	if d.R == nil {
		return ""
	}
	bp := d.R.RateBP
	return d.p.Number(bp/100) + decimalSep(d.p) + d.p.Digits(strconv.FormatInt(bp%100+100, 10)[1:])
}
