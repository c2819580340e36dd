package web

import (
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
)

// The member's own page, /m/{token}: their card with its QR code, points
// (available, pending, expiring), tier progress and the rewards they can
// have, in their language. No sign-in: the 256-bit token in the address
// is the credential (staff make a new one, which ends the old, from the
// member's staff page). The language is the one the visitor chose with
// the switcher, else the person's language in the CRM, else the
// browser's.

type memberPage struct {
	base
	clubFmt
	D        *club.MemberDetail
	QR       template.HTML
	Rewards  []*club.Reward
	History  []*club.Entry
	Progress int64
	Token    string
	JoinURL  string // the join form with this member's referral code, when the program has one
}

// Grouped shows a member number or card code in groups of four.
func (d *memberPage) Grouped(number string) string { return club.FormatNumber(number) }

// Shown is the number a member's history shows for an entry: what it
// changed of the points they can see (for a reservation, a cancelled one
// and a release, the available points; nothing for a reward given, whose
// points left at the reservation).
func (d *memberPage) Shown(e *club.Entry) int64 {
	switch e.Kind {
	case club.KindRelease, club.KindReserve, club.KindCancel:
		return e.Available
	case club.KindCapture:
		return 0
	}
	return e.Points
}

// publicPrinter is the language of a page without sign-in (the member's
// page, the join form): ?lang= in a link, else the visitor's choice
// with the switcher, else the person's language in the CRM (person),
// else the browser's.
func publicPrinter(r *http.Request, person string) *locale.Printer {
	lang := person
	if c, err := r.Cookie(langCookie); err == nil && locale.Supported(c.Value) {
		lang = c.Value
	}
	if q := r.URL.Query().Get("lang"); locale.Supported(q) {
		lang = q
	}
	if !locale.Supported(lang) {
		lang = visitorLanguage(r)
	}
	return locale.ForLanguage(lang)
}

func (s *server) handleMemberPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PathValue("token")
	d, err := s.club.MemberByToken(ctx, token)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := publicPrinter(r, d.Language)
	st := state(r)
	pg := &memberPage{base: base{L: p, CSRF: st.csrf, Title: p.T("club.card.title"), Path: r.URL.Path, Languages: locale.Languages, Version: s.version},
		clubFmt: clubFmt{p: p, cur: d.Program.Currency}, D: d, QR: cardQR(d.Member.CardCode), Progress: tierProgress(d), Token: token}
	if r.URL.Query().Get("joined") != "" {
		pg.Notice = p.T("club.notice.joined")
	}
	if d.Program.Signup {
		pg.JoinURL = absURL(r, "/join/"+strconv.FormatInt(d.Program.ID, 10)+"?ref="+d.Member.ReferralCode)
	}
	if pg.Rewards, err = s.club.RewardsForToken(ctx, token); err != nil {
		s.renderError(w, r, err)
		return
	}
	if pg.History, err = s.club.HistoryByToken(ctx, token, 10); err != nil {
		s.renderError(w, r, err)
		return
	}
	// A private page: not for search engines, caches or other sites.
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.render(w, r, http.StatusOK, "club_card", pg)
}

func (s *server) handleMemberPageQR(w http.ResponseWriter, r *http.Request) {
	d, err := s.club.MemberByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	serveQR(w, d.Member.CardCode)
}

// The public join form, /join/{program}: a program with signup on lets
// people enrol themselves (club.Service.Join). No sign-in; CSRF as for
// the sign-in form; a global limit of joins a minute against floods.

var joinLimit = newAttemptLimiter(120, time.Minute)

type joinPage struct {
	base
	Program *club.Program
	Form    form
	Thanks  bool // joined, or known already: ask at the till for the card
}

func (s *server) handleJoinPage(w http.ResponseWriter, r *http.Request) {
	s.renderJoin(w, r, http.StatusOK, form{Values: map[string]string{"referral_code": r.URL.Query().Get("ref")}}, false)
}

func (s *server) renderJoin(w http.ResponseWriter, r *http.Request, status int, f form, thanks bool) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	pr, err := s.club.PublicProgram(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := publicPrinter(r, "")
	st := state(r)
	d := &joinPage{base: base{L: p, CSRF: st.csrf, Title: p.T("club.join.title", "program", pr.Name), Path: r.URL.Path, Languages: locale.Languages,
		Version: s.version}, Program: pr, Form: f, Thanks: thanks}
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.render(w, r, status, "club_join", d)
}

var joinFields = []string{"first_name", "last_name", "phone", "email", "referral_code"}

func (s *server) handleJoin(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	p := publicPrinter(r, "")
	f := newForm(r, joinFields...)
	now := time.Now()
	if !joinLimit.allow(now) {
		f.Error = &message{Text: p.T("club.join.busy")}
		s.renderJoin(w, r, http.StatusTooManyRequests, f, false)
		return
	}
	joinLimit.fail(now) // every attempt counts
	res, err := s.club.Join(r.Context(), club.JoinRequest{ProgramID: id, FirstName: f.V("first_name"), LastName: f.V("last_name"),
		Phone: f.V("phone"), Email: f.V("email"), ReferralCode: f.V("referral_code")})
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, clubFieldKeys(joinFields...))
		s.renderJoin(w, r, http.StatusUnprocessableEntity, f, false)
		return
	}
	if res.Token != "" {
		// The card in the language the form was filled in (the new person
		// has none in the CRM yet).
		http.Redirect(w, r, "/m/"+res.Token+"?joined=1&lang="+p.Lang(), http.StatusSeeOther)
		return
	}
	s.renderJoin(w, r, http.StatusOK, form{}, true)
}
