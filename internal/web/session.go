package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
)

// Cookie names.
const (
	sessionCookie = "pivand_session" // the raw session token
	csrfCookie    = "pivand_csrf"    // CSRF token for forms shown before sign-in
	langCookie    = "pivand_lang"    // language of visitors who are not signed in
	csrfField     = "csrf"           // hidden form field carrying the CSRF token
	csrfHeader    = "X-CSRF-Token"   // or this header, for scripts
	maxFormBytes  = 1 << 20
)

// reqState is what every handler knows about the request: who is signed
// in, how to print for them, and the CSRF token their forms must carry.
type reqState struct {
	user    *crm.User    // nil when signed out
	session *crm.Session // nil when signed out
	p       *locale.Printer
	csrf    string
}

type stateKey struct{}

func contextWithState(r *http.Request, st *reqState) context.Context {
	return context.WithValue(r.Context(), stateKey{}, st)
}

func state(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{p: locale.ForLanguage(locale.DefaultLanguage)}
}

// load authenticates the session cookie, picks the language, and checks the
// CSRF token of every state-changing request. Go's cross-origin protection
// (in New) already refuses cross-site requests from browsers that send
// Sec-Fetch-Site or Origin; the token covers older browsers.
func (s *server) load(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := crm.NewContextWithIP(r.Context(), clientIP(r))
		st := &reqState{}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			u, sess, err := s.auth.Authenticate(ctx, c.Value)
			switch {
			case err == nil:
				st.user, st.session = u, sess
				st.csrf = sess.CSRF
				ctx = crm.NewContextWithUser(ctx, u)
			case crm.ErrorCode(err) == crm.EUNAUTHORIZED:
				s.clearCookie(w, sessionCookie) // expired or revoked: forget it
			default:
				s.log.ErrorContext(ctx, "web: authenticate", "err", err)
				http.Error(w, "Service unavailable", http.StatusServiceUnavailable)
				return
			}
		}
		if st.user != nil {
			st.p = locale.For(st.user.Preferences)
		} else {
			st.p = locale.ForLanguage(visitorLanguage(r))
			st.csrf = s.anonymousCSRF(w, r)
		}
		ctx = context.WithValue(ctx, stateKey{}, st)
		r = r.WithContext(ctx)

		if !safeMethod(r.Method) && !s.streamedUpload(w, r) { // a file upload's handler checks the token as it reads
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			token := r.Header.Get(csrfHeader)
			if token == "" {
				token = r.PostFormValue(csrfField)
			}
			if st.csrf == "" || subtle.ConstantTimeCompare([]byte(token), []byte(st.csrf)) != 1 {
				s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.csrf",
					Message: "This form has expired. Go back, reload the page and try again."})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// anonymousCSRF returns the CSRF token of a visitor who is not signed in,
// kept in its own cookie (a double-submit token), so that the sign-in,
// setup and invitation forms are protected too.
func (s *server) anonymousCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	if !safeMethod(r.Method) {
		return "" // a POST without the cookie cannot carry a matching token
	}
	token := randomString(32)
	s.setCookie(w, csrfCookie, token, 0)
	return token
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// visitorLanguage picks the language of a visitor who is not signed in:
// the pivand_lang cookie, else the first supported Accept-Language entry.
func visitorLanguage(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && locale.Supported(c.Value) {
		return c.Value
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if locale.Supported(base) {
			return base
		}
	}
	return locale.DefaultLanguage
}

func (s *server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
		c.Expires = time.Now().Add(maxAge)
	}
	http.SetCookie(w, c)
}

func (s *server) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// startSession signs a user in on this browser.
func (s *server) startSession(w http.ResponseWriter, sess *crm.Session) {
	s.setCookie(w, sessionCookie, sess.Token, time.Until(sess.ExpiresAt))
	s.clearCookie(w, csrfCookie)
}

// clientIP returns the address of the peer. A reverse proxy's
// X-Forwarded-For is the server package's business, not ours.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath returns next if it is a path on this site, else "/". Only
// "/x" forms are allowed: "//host", "/\host" and anything with a scheme
// or host would send the user elsewhere after signing in.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	if strings.ContainsAny(next, "\r\n\t") {
		return "/"
	}
	return next
}

// signedIn wraps handlers that need a user: visitors are sent to the
// sign-in page, which brings them back afterwards.
func (s *server) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if state(r).user == nil {
			s.redirectToSignIn(w, r)
			return
		}
		h(w, r)
	}
}

// can wraps handlers that need a permission, on top of signedIn. Services
// check again; this gives a clear 403 page before any work is done.
func (s *server) can(p crm.Permission, h http.HandlerFunc) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request) {
		if !state(r).user.Can(p) {
			s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.forbidden",
				Message: "Your role does not allow this page."})
			return
		}
		h(w, r)
	})
}

func (s *server) redirectToSignIn(w http.ResponseWriter, r *http.Request) {
	next := "/"
	if r.Method == http.MethodGet {
		next = localPath(r.URL.RequestURI())
	}
	target := "/signin"
	if next != "/" {
		target += "?next=" + url.QueryEscape(next)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
