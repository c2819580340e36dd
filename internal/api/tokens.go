package api

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

// tokenCreate is the body of POST /tokens.
type tokenCreate struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// tokenCreated answers POST /tokens: the token and, this once, its secret.
type tokenCreated struct {
	Token  *crm.APIToken `json:"token" openapi:"nonnull"`
	Secret string        `json:"secret"`
}

func (a *API) handleTokenList(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	tokens, err := a.auth.ListTokens(r.Context(), crm.UserIDFromContext(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := pageByID(tokens, func(t *crm.APIToken) int64 { return t.ID }, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, next)
}

func (a *API) handleTokenCreate(w http.ResponseWriter, r *http.Request) {
	var in tokenCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	secret, t, err := a.auth.CreateToken(r.Context(), crm.UserIDFromContext(r.Context()), in.Name, in.Scopes)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, tokenCreated{Token: t, Secret: secret})
}

func (a *API) handleTokenDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.auth.RevokeToken(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
