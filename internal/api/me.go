package api

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

// me is who the request acts as.
type me struct {
	User   *crm.User     `json:"user" openapi:"nonnull"`
	Role   crm.Role      `json:"role"`
	Scopes []string      `json:"scopes" openapi:"nonnull"`
	Token  *crm.APIToken `json:"token" openapi:"nonnull"`
}

func (a *API) handleMeGet(w http.ResponseWriter, r *http.Request) {
	u, t := crm.UserFromContext(r.Context()), crm.TokenFromContext(r.Context())
	a.writeJSON(w, r, http.StatusOK, me{User: u, Role: u.Role, Scopes: append([]string{}, t.Scopes...), Token: t})
}
