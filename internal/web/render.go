package web

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

// base is embedded in every page struct: what the layout needs.
type base struct {
	L         *locale.Printer
	User      *crm.User // nil when signed out
	CSRF      string
	Title     string // translated page title
	Path      string // where the language switcher returns to
	Nav       []navLink
	SubNav    []navLink // the settings menu on settings pages
	Notice    string    // translated confirmation shown at the top
	Languages []locale.Language
	Version   string
	Page      string // the page template's name, set by render
	Search    bool   // show the search box in the top bar
	Query     string // what the search box holds
}

// setPage is how render tells the layout which page it shows.
func (b *base) setPage(name string) { b.Page = name }

type navLink struct {
	Key     string // catalog key of the label
	Href    string
	Current bool
}

// page returns the base of a page titled by catalog key titleKey.
func (s *server) page(r *http.Request, titleKey string) base {
	st := state(r)
	b := base{
		L:         st.p,
		User:      st.user,
		CSRF:      st.csrf,
		Title:     st.p.T(titleKey),
		Path:      r.URL.Path,
		Languages: locale.Languages,
		Version:   s.version,
	}
	if r.Method == http.MethodGet {
		u := *r.URL
		if q := u.Query(); q.Has("notice") {
			q.Del("notice") // a confirmation is shown once, not again in the new language
			u.RawQuery = q.Encode()
		}
		b.Path = u.RequestURI()
	} else {
		b.Path = refererPath(r)
	}
	if st.user != nil {
		b.Nav = links(s.nav, st.user, r.URL.Path)
		if strings.HasPrefix(r.URL.Path, "/settings/") {
			b.SubNav = links(s.settingsNav, st.user, r.URL.Path)
		}
		b.Search = s.contacts != nil && st.user.Can(crm.PermContactsRead)
	}
	if n := r.URL.Query().Get("notice"); n != "" && st.p.Has("notice."+n) {
		b.Notice = st.p.T("notice." + n)
	}
	return b
}

// refererPath returns the local page a form was posted from, so that the
// language switcher on a re-rendered form goes back to a page that
// answers GET. It falls back to the dashboard.
func refererPath(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != r.Host {
		return "/"
	}
	return localPath(u.RequestURI())
}

// links returns the navigation entries the user may see, marking the
// current one.
func links(items []navItem, u *crm.User, path string) []navLink {
	var out []navLink
	for _, it := range items {
		if it.Perm != "" && !u.Can(it.Perm) {
			continue
		}
		cur := path == it.Href
		if it.Prefix != "" && strings.HasPrefix(path, it.Prefix) {
			cur = true
		}
		out = append(out, navLink{Key: it.Key, Href: it.Href, Current: cur})
	}
	return out
}

// render writes page name with data and status.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if d, ok := data.(interface{ setPage(string) }); ok {
		d.setPage(name)
	}
	body, err := s.tmpl.execute(name, data)
	if err != nil {
		s.log.ErrorContext(r.Context(), "web: template", "page", name, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// redirect answers a successful form post (post/redirect/get). notice, if
// not empty, names a notice.* catalog key shown on the next page.
func redirect(w http.ResponseWriter, r *http.Request, path, notice string) {
	if notice != "" {
		// The notice goes into the query, before any #fragment.
		base, frag, hasFrag := strings.Cut(path, "#")
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		path = base + sep + "notice=" + notice
		if hasFrag {
			path += "#" + frag
		}
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// message is an error explained to the user: Text in their language and,
// when the service's own wording has no translation, Detail in English.
type message struct {
	Text   string
	Detail string
}

// explain turns an error into a message in the user's language: the
// error's catalog key when it has one, else a sentence for its code plus
// the service's English sentence as detail. Internal errors say nothing
// more than that something went wrong.
func explain(p *locale.Printer, err error) message {
	var ce *crm.Error
	if !errors.As(err, &ce) {
		return message{Text: p.T("error.code.internal")}
	}
	if ce.Key != "" && p.Has(ce.Key) {
		return message{Text: p.T(ce.Key)}
	}
	if ce.Code == crm.EINVALID && len(ce.Fields) > 0 {
		return message{Text: p.T("error.form_invalid")}
	}
	if p.Lang() == "en" && ce.Message != "" {
		return message{Text: ce.Message}
	}
	m := message{Text: p.T("error.code." + ce.Code)}
	if ce.Message != "" {
		m.Detail = ce.Message
	}
	return m
}

type errorPage struct {
	base
	Status  int
	Heading string
	Message message
}

// renderError shows the error page with the status problem.Status gives.
// A visitor who is not signed in and hits EUNAUTHORIZED is sent to sign in.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := problem.Status(err)
	if status == http.StatusUnauthorized && state(r).user == nil && r.Method == http.MethodGet {
		s.redirectToSignIn(w, r)
		return
	}
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := state(r).p
	d := &errorPage{base: s.page(r, "error.title"), Status: status, Message: explain(p, err)}
	d.Heading = p.T("error.heading." + crm.ErrorCode(err))
	s.render(w, r, status, "error", d)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, &crm.Error{Code: crm.ENOTFOUND, Key: "error.page_not_found", Message: "There is no page at this address."})
}

func (s *server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	// The cross-origin check runs before load: answer in the visitor's
	// language without touching the session.
	r = r.WithContext(contextWithState(r, &reqState{p: locale.ForLanguage(visitorLanguage(r))}))
	s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.cross_origin",
		Message: "This request came from another site and was refused."})
}

// form carries what the user typed and what is wrong with it, so a form
// can be shown again without losing input.
type form struct {
	Values map[string]string
	Errors map[string]string // by field, translated
	Error  *message          // for the whole form
}

// V returns the value of field name.
func (f form) V(name string) string { return f.Values[name] }

// E returns the error of field name, or "".
func (f form) E(name string) string { return f.Errors[name] }

// newForm copies the named fields from the posted form, trimmed of
// surrounding space (except passwords, which are never re-displayed).
func newForm(r *http.Request, names ...string) form {
	f := form{Values: map[string]string{}}
	for _, n := range names {
		f.Values[n] = strings.TrimSpace(r.PostFormValue(n))
	}
	return f
}

// fail records err on the form. fieldKeys maps a service's field names to
// the catalog keys that explain them in this form; field errors of fields
// the form does not show go into the form-wide message.
func (f *form) fail(p *locale.Printer, err error, fieldKeys map[string]string) {
	m := explain(p, err)
	f.Error = &m
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return
	}
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	var rest []string
	for name, msg := range fields {
		key, ok := fieldKeys[name]
		switch {
		case ok:
			if p.Lang() == "en" {
				f.Errors[name] = msg
			} else {
				f.Errors[name] = p.T(key, "min", crm.MinPasswordLength)
			}
		default:
			rest = append(rest, name+": "+msg)
		}
	}
	sort.Strings(rest)
	if len(rest) > 0 {
		f.Error.Detail = strings.TrimSpace(f.Error.Detail + " " + strings.Join(rest, "; "))
	}
}

// invalid adds a field error by catalog key, for checks done here.
func (f *form) invalid(p *locale.Printer, field, key string, args ...any) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = p.T(key, args...)
	}
	if f.Error == nil {
		f.Error = &message{Text: p.T("error.form_invalid")}
	}
}

// ok reports whether the form has no errors.
func (f *form) ok() bool { return f.Error == nil && len(f.Errors) == 0 }
