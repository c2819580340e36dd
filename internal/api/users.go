package api

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

func (a *API) handleUserList(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	users, err := a.auth.ListUsers(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := pageByID(users, func(u *crm.User) int64 { return u.ID }, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, next)
}

func (a *API) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	var in crm.UserCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.auth.CreateUser(r.Context(), in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, u)
}

func (a *API) handleUserUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in crm.UserUpdate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.auth.UpdateUser(r.Context(), id, in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, u)
}
