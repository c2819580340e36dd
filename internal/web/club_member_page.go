package web

import (
	"html/template"
	"net/http"

	"github.com/pivand/pivand/internal/club"
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
}

func (s *server) handleMemberPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PathValue("token")
	d, err := s.club.MemberByToken(ctx, token)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	lang := d.Language
	if c, err := r.Cookie(langCookie); err == nil && locale.Supported(c.Value) {
		lang = c.Value
	}
	if !locale.Supported(lang) {
		lang = visitorLanguage(r)
	}
	p := locale.ForLanguage(lang)
	st := state(r)
	pg := &memberPage{base: base{L: p, CSRF: st.csrf, Title: p.T("club.card.title"), Path: r.URL.Path, Languages: locale.Languages, Version: s.version},
		clubFmt: clubFmt{p: p, cur: d.Program.Currency}, D: d, QR: cardQR(d.Member.CardCode), Progress: tierProgress(d), Token: token}
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
