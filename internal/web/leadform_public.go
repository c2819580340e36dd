package web

import (
	"net/http"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/locale"
)

// The public ends of lead forms: /f/{id} (the form, in its own language
// and direction; ?embed=1 without Pivand's top bar, for an iframe) and
// /f/{id}/confirm/{token} (double opt-in). They are served before the
// session and CSRF layers like the campaign links: a visitor has no
// account, and a form embedded in another site is posted from an iframe.
// Spam is held off by the honeypot field and the service's rate limits
// (per address and per form).

// honeypotField is the hidden input people never see and bots fill.
const honeypotField = "website"

func (s *server) leadformPublic(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /f/{id}", s.handlePublicForm)
	mux.HandleFunc("POST /f/{id}", s.handlePublicSubmit)
	mux.HandleFunc("GET /f/{id}/form.json", s.handlePublicFormJSON)
	mux.HandleFunc("OPTIONS /f/{id}/form.json", s.handlePublicPreflight)
	mux.HandleFunc("POST /f/{id}/submit", s.handlePublicSubmitJSON)
	mux.HandleFunc("OPTIONS /f/{id}/submit", s.handlePublicPreflight)
	mux.HandleFunc("GET /f/{id}/confirm/{token}", s.handleFormConfirmPage)
	mux.HandleFunc("POST /f/{id}/confirm/{token}", s.handleFormConfirm)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/f/") {
			mux.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// publicField is one input of the public form.
type publicField struct {
	Key      string
	ID       string
	Label    string
	Required bool
	Type     string // text, email, tel, number, date, textarea, select, checkbox
	Dir      string
	Auto     string
	Mode     string // inputmode
	Options  []string
	Value    string
	Error    string
}

type publicFormPage struct {
	base
	Form     *crm.LeadForm
	Fields   []publicField
	Action   string
	Embed    bool
	Consent  bool // the box was ticked (re-rendering)
	Honeypot string
	Error    *message
	Thanks   bool
	Pending  bool
}

// framable lets any site embed the page: the strict policy with
// frame-ancestors opened, for this route only.
func framable(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors *")
	h.Del("X-Frame-Options")
	h.Set("Referrer-Policy", "no-referrer")
}

func (s *server) handlePublicForm(w http.ResponseWriter, r *http.Request) {
	s.renderPublicForm(w, r, http.StatusOK, nil, nil, false, nil)
}

func (s *server) renderPublicForm(w http.ResponseWriter, r *http.Request, status int, values map[string]string, codes map[string]string,
	consent bool, res *leadform.SubmitResult) {
	pub, err := s.leadforms.Public(r.Context(), r.PathValue("id"))
	p := publicPrinter(r, "")
	if err == nil {
		p = locale.ForLanguage(pub.Form.Language)
	}
	r = r.WithContext(contextWithState(r, &reqState{p: p}))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := pub.Form
	embed := r.URL.Query().Get("embed") == "1" || r.PostFormValue("embed") == "1"
	d := &publicFormPage{base: base{L: p, Title: f.Name, Path: r.URL.Path, Version: s.version}, Form: f, Embed: embed, Consent: consent,
		Action: "/f/" + f.PublicID}
	if embed {
		d.Action += "?embed=1"
	}
	if res != nil {
		d.Thanks, d.Pending = true, res.Pending
	}
	if len(codes) > 0 {
		d.Error = &message{Text: p.T("leadform.public.fix")}
	}
	d.Fields = publicFields(p, pub, values, codes)
	framable(w)
	page := "leadform_public"
	if embed {
		page = "leadform_embed"
	}
	s.render(w, r, status, page, d)
}

// publicFields are a form's inputs in its language, with the values
// typed and the problems found (by key).
func publicFields(p *locale.Printer, pub *leadform.PublicForm, values, codes map[string]string) []publicField {
	var out []publicField
	f := pub.Form
	for _, fd := range f.Fields {
		pf := publicField{Key: fd.Key, ID: "lf-" + strings.ReplaceAll(fd.Key, ".", "-"), Required: fd.Required, Type: "text", Value: values[fd.Key]}
		pf.Label = fd.Labels[f.Language]
		switch {
		case fd.Key == "email":
			pf.Type, pf.Dir, pf.Auto = "email", "ltr", "email"
		case fd.Key == "phone":
			pf.Type, pf.Dir, pf.Auto = "tel", "ltr", "tel"
		case fd.Key == "first_name":
			pf.Auto = "given-name"
		case fd.Key == "last_name":
			pf.Auto = "family-name"
		case fd.Key == "company":
			pf.Auto = "organization"
		case fd.Key == "job_title":
			pf.Auto = "organization-title"
		case fd.Key == "message":
			pf.Type = "textarea"
		case strings.HasPrefix(fd.Key, "custom."):
			def := pub.Custom[strings.TrimPrefix(fd.Key, "custom.")]
			if def == nil {
				continue // deleted since the form was made
			}
			if pf.Label == "" {
				pf.Label = def.Label
			}
			switch def.Type {
			case crm.FieldNumber, crm.FieldMoney:
				pf.Dir, pf.Mode = "ltr", "decimal"
			case crm.FieldLongText:
				pf.Type = "textarea"
			case crm.FieldDate:
				pf.Type, pf.Dir = "date", "ltr"
			case crm.FieldBoolean:
				pf.Type = "checkbox"
			case crm.FieldSelect:
				pf.Type, pf.Options = "select", def.Options
			case crm.FieldEmail:
				pf.Type, pf.Dir = "email", "ltr"
			case crm.FieldURL:
				pf.Type, pf.Dir = "url", "ltr"
			case crm.FieldPhone:
				pf.Type, pf.Dir = "tel", "ltr"
			}
		}
		if pf.Label == "" {
			pf.Label = p.T("leadform.field." + fd.Key)
		}
		if c := codes[fd.Key]; c != "" {
			pf.Error = p.T("leadform.problem." + c)
		}
		out = append(out, pf)
	}
	return out
}

func (s *server) handlePublicSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	values := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 && k != honeypotField && k != "consent" && k != "embed" {
			values[k] = v[0]
		}
	}
	consent := r.PostFormValue("consent") != ""
	res, err := s.leadforms.Submit(r.Context(), leadform.SubmitInput{PublicID: r.PathValue("id"), Values: values, Consent: consent,
		Honeypot: r.PostFormValue(honeypotField), IP: clientIP(r)})
	if err != nil {
		if codes := leadform.ProblemCodes(err); codes != nil {
			s.renderPublicForm(w, r, http.StatusUnprocessableEntity, values, codes, consent, nil)
			return
		}
		pf, perr := s.leadforms.Public(r.Context(), r.PathValue("id"))
		p := publicPrinter(r, "")
		if perr == nil {
			p = locale.ForLanguage(pf.Form.Language)
		}
		r = r.WithContext(contextWithState(r, &reqState{p: p}))
		framable(w)
		s.renderError(w, r, err)
		return
	}
	s.renderPublicForm(w, r, http.StatusOK, nil, nil, false, res)
}

type formConfirmPage struct {
	base
	C     *leadform.Confirmation
	Token string
	Done  bool
}

func (s *server) handleFormConfirmPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.leadforms.Confirmation(r.Context(), r.PathValue("id"), r.PathValue("token"))
	s.renderFormConfirm(w, r, c, err, false)
}

func (s *server) handleFormConfirm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	c, err := s.leadforms.Confirm(r.Context(), r.PathValue("id"), r.PathValue("token"))
	s.renderFormConfirm(w, r, c, err, true)
}

func (s *server) renderFormConfirm(w http.ResponseWriter, r *http.Request, c *leadform.Confirmation, err error, done bool) {
	p := publicPrinter(r, "")
	if c != nil {
		p = locale.ForLanguage(c.Form.Language)
	}
	r = r.WithContext(contextWithState(r, &reqState{p: p}))
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &formConfirmPage{base: base{L: p, Title: p.T("leadform.confirm.title"), Path: r.URL.Path, Version: s.version}, C: c,
		Token: r.PathValue("token"), Done: done || c.Confirmed}
	s.render(w, r, http.StatusOK, "leadform_confirm", d)
}
