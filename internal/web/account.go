package web

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

// Wrong setup codes allowed within setupWindow before /setup refuses for
// the rest of the window. The code is long and random; this only stops a
// script from trying codes while the owner is still reading the terminal.
const (
	setupMaxFailures = 10
	setupWindow      = 10 * time.Minute
)

// firstRun tells the sign-in and welcome pages whether Pivand has no user
// yet and whether the setup page is open.
type firstRun struct {
	NoUsers   bool
	SetupOpen bool
}

func (s *server) firstRun(r *http.Request) (firstRun, error) {
	n, err := s.auth.UserCount(r.Context())
	if err != nil {
		return firstRun{}, err
	}
	return firstRun{NoUsers: n == 0, SetupOpen: n == 0 && s.setupCode() != ""}, nil
}

type signInPage struct {
	base
	firstRun
	Form form
	Next string
}

func (s *server) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if state(r).user != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	fr, err := s.firstRun(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "signin", &signInPage{base: s.page(r, "signin.title"), firstRun: fr,
		Form: form{Values: map[string]string{}}, Next: next})
}

func (s *server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "email")
	next := localPath(r.PostFormValue("next"))
	sess, _, err := s.auth.SignIn(r.Context(), f.V("email"), r.PostFormValue("password"), clientIP(r), r.UserAgent())
	if err != nil {
		p := state(r).p
		switch crm.ErrorCode(err) {
		case crm.EUNAUTHORIZED:
			f.Error = &message{Text: p.T("signin.error.wrong")}
		case crm.ETOOMANY:
			f.Error = &message{Text: p.T("signin.error.too_many")}
		default:
			f.fail(p, err, nil)
		}
		fr, ferr := s.firstRun(r)
		if ferr != nil {
			s.renderError(w, r, ferr)
			return
		}
		status := problem.Status(err)
		s.render(w, r, status, "signin", &signInPage{base: s.page(r, "signin.title"), firstRun: fr, Form: f, Next: next})
		return
	}
	s.startSession(w, sess)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.auth.SignOut(r.Context(), c.Value); err != nil && crm.ErrorCode(err) != crm.EUNAUTHORIZED {
			s.renderError(w, r, err)
			return
		}
	}
	s.clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

type welcomePage struct {
	base
	firstRun
}

// handleHome shows the dashboard, or to visitors the sign-in page, or on
// a fresh installation the explanation of how to create the first admin.
func (s *server) handleHome(w http.ResponseWriter, r *http.Request) {
	if state(r).user != nil {
		s.handleDashboard(w, r)
		return
	}
	fr, err := s.firstRun(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if !fr.NoUsers {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "welcome", &welcomePage{base: s.page(r, "welcome.title"), firstRun: fr})
}

type setupPage struct {
	base
	Form form
}

var setupFieldKeys = map[string]string{
	"email":    "error.email_invalid",
	"name":     "error.name_too_long",
	"password": "error.password_policy",
}

func (s *server) setupOpen() bool { return s.setupCode() != "" }

func (s *server) handleSetupPage(w http.ResponseWriter, r *http.Request) {
	if !s.setupOpen() {
		s.notFound(w, r)
		return
	}
	s.render(w, r, http.StatusOK, "setup", &setupPage{base: s.page(r, "setup.title"), Form: form{Values: map[string]string{}}})
}

func (s *server) handleSetup(w http.ResponseWriter, r *http.Request) {
	code := s.setupCode()
	if code == "" {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	f := newForm(r, "code", "email", "name")
	now := time.Now()
	status := http.StatusUnprocessableEntity
	switch {
	case !s.setup.allow(now):
		f.Error = &message{Text: p.T("setup.error.too_many")}
		status = http.StatusTooManyRequests
	case subtle.ConstantTimeCompare([]byte(normalizeCode(f.V("code"))), []byte(normalizeCode(code))) != 1:
		s.setup.fail(now)
		f.invalid(p, "code", "setup.error.code")
	}
	password := r.PostFormValue("password")
	if f.ok() && r.PostFormValue("password_confirm") != password {
		f.invalid(p, "password_confirm", "error.password_mismatch")
	}
	if f.ok() {
		in := crm.UserCreate{Email: f.V("email"), Name: f.V("name"), Password: password, Role: crm.RoleAdmin, Language: p.Lang()}
		_, err := s.auth.SetupFirstAdmin(r.Context(), in)
		if err == nil {
			s.setupDone()
			sess, _, err := s.auth.SignIn(r.Context(), in.Email, password, clientIP(r), r.UserAgent())
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			s.startSession(w, sess)
			redirect(w, r, "/", "setup_done")
			return
		}
		if crm.ErrorCode(err) == crm.ECONFLICT {
			s.setupDone() // someone else finished first
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, setupFieldKeys)
		status = problem.Status(err)
	}
	s.render(w, r, status, "setup", &setupPage{base: s.page(r, "setup.title"), Form: f})
}

// normalizeCode lets people type the setup code with any case, spaces or
// dashes, and in Persian or Arabic digits.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '۰' && r <= '۹':
			b.WriteRune('0' + (r - '۰'))
		case r >= '٠' && r <= '٩':
			b.WriteRune('0' + (r - '٠'))
		case r == ' ' || r == '-' || r == '\u200c' || r == '\u200e' || r == '\u200f':
		default:
			b.WriteString(strings.ToUpper(string(r)))
		}
	}
	return b.String()
}

type invitePage struct {
	base
	Invite *crm.Invite
	Token  string
	Form   form
}

var inviteFieldKeys = map[string]string{
	"name":     "error.name_too_long",
	"password": "error.password_policy",
}

func (s *server) handleInvitePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	inv, err := s.auth.FindInvite(r.Context(), token)
	if err != nil {
		s.renderInviteError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "invite", &invitePage{base: s.page(r, "invite.title"), Invite: inv, Token: token,
		Form: form{Values: map[string]string{}}})
}

func (s *server) handleInviteAccept(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	p := state(r).p
	inv, err := s.auth.FindInvite(r.Context(), token)
	if err != nil {
		s.renderInviteError(w, r, err)
		return
	}
	f := newForm(r, "name")
	password := r.PostFormValue("password")
	if f.V("name") == "" {
		f.invalid(p, "name", "error.required")
	}
	if password != r.PostFormValue("password_confirm") {
		f.invalid(p, "password_confirm", "error.password_mismatch")
	}
	status := http.StatusUnprocessableEntity
	if f.ok() {
		u, err := s.auth.AcceptInvite(r.Context(), token, f.V("name"), password)
		if err == nil {
			sess, _, err := s.auth.SignIn(r.Context(), u.Email, password, clientIP(r), r.UserAgent())
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			s.startSession(w, sess)
			redirect(w, r, "/", "welcome")
			return
		}
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			s.renderInviteError(w, r, err)
			return
		}
		f.fail(p, err, inviteFieldKeys)
		status = problem.Status(err)
	}
	s.render(w, r, status, "invite", &invitePage{base: s.page(r, "invite.title"), Invite: inv, Token: token, Form: f})
}

func (s *server) renderInviteError(w http.ResponseWriter, r *http.Request, err error) {
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		err = &crm.Error{Code: crm.ENOTFOUND, Key: "invite.error.gone", Message: "This invitation link is not valid any more."}
	}
	s.renderError(w, r, err)
}

// handleLanguage is the language switcher. Visitors get a cookie; signed-in
// users get their preference stored. When a user's calendar and digits are
// still the defaults of their old language, they follow the new language
// too (Persian: Jalali and Persian digits); choices made on the preferences
// page are kept.
func (s *server) handleLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PostFormValue("lang")
	next := localPath(r.PostFormValue("next"))
	if !locale.Supported(lang) {
		s.renderError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Unknown language."})
		return
	}
	s.setCookie(w, langCookie, lang, 365*24*time.Hour)
	if u := state(r).user; u != nil && u.Preferences.Language != lang {
		prefs := u.Preferences
		old := crm.DefaultPreferences(prefs.Language)
		def := crm.DefaultPreferences(lang)
		if prefs.Calendar == old.Calendar && prefs.Digits == old.Digits {
			prefs.Calendar, prefs.Digits = def.Calendar, def.Digits
		}
		prefs.Language = lang
		if _, err := s.auth.UpdatePreferences(r.Context(), u.ID, prefs); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// attemptLimiter counts failures in a fixed window.
type attemptLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	start  time.Time
	fails  int
}

func newAttemptLimiter(max int, window time.Duration) *attemptLimiter {
	return &attemptLimiter{max: max, window: window}
}

func (l *attemptLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) > l.window {
		l.start, l.fails = now, 0
	}
	return l.fails < l.max
}

func (l *attemptLimiter) fail(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) > l.window {
		l.start, l.fails = now, 0
	}
	l.fails++
}
