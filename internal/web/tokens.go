package web

import (
	"net/http"
	"slices"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

type tokensPage struct {
	base
	Tokens []*crm.APIToken
	Form   form
	Scopes []string
	Picked []string // scopes ticked in the form
	Secret string   // the new token's secret, shown once
	New    *crm.APIToken
}

var tokenFieldKeys = map[string]string{
	"name":   "error.token_name",
	"scopes": "error.token_scopes",
}

func (s *server) tokensPage(r *http.Request, f form, picked []string) (*tokensPage, error) {
	tokens, err := s.auth.ListTokens(r.Context(), state(r).user.ID)
	if err != nil {
		return nil, err
	}
	return &tokensPage{base: s.page(r, "tokens.title"), Tokens: tokens, Form: f,
		Scopes: []string{crm.ScopeRead, crm.ScopeWrite}, Picked: picked}, nil
}

func (s *server) handleTokensPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.tokensPage(r, form{Values: map[string]string{}}, []string{crm.ScopeRead})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "tokens", d)
}

func (s *server) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	f := newForm(r, "name")
	var scopes []string
	for _, sc := range r.PostForm["scope"] {
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if f.V("name") == "" {
		f.invalid(st.p, "name", "error.required")
	}
	if len(scopes) == 0 {
		f.invalid(st.p, "scopes", "error.token_scopes")
	}
	var (
		secret string
		tok    *crm.APIToken
		status = http.StatusUnprocessableEntity
	)
	if f.ok() {
		var err error
		secret, tok, err = s.auth.CreateToken(r.Context(), st.user.ID, f.V("name"), scopes)
		if err != nil {
			f.fail(st.p, err, tokenFieldKeys)
			status = problem.Status(err)
		}
	}
	if tok != nil {
		f, scopes, status = form{Values: map[string]string{}}, []string{crm.ScopeRead}, http.StatusOK
	}
	d, err := s.tokensPage(r, f, scopes)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Secret, d.New = secret, tok
	s.render(w, r, status, "tokens", d)
}

func (s *server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.auth.RevokeToken(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/tokens", "token_revoked")
}
