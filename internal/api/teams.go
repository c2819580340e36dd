package api

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

// teamCreate is the body of POST /teams.
type teamCreate struct {
	Name string `json:"name"`
}

// teamMembers is the body of PUT /teams/{id}/members: the complete list.
type teamMembers struct {
	UserIDs []int64 `json:"user_ids"`
}

func (a *API) handleTeamList(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	teams, err := a.auth.ListTeams(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := pageByID(teams, func(t *crm.Team) int64 { return t.ID }, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, items, next)
}

func (a *API) handleTeamCreate(w http.ResponseWriter, r *http.Request) {
	var in teamCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	t, err := a.auth.CreateTeam(r.Context(), in.Name)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, t)
}

func (a *API) handleTeamMembersUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in teamMembers
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.UserIDs == nil {
		in.UserIDs = []int64{}
	}
	t, err := a.auth.SetTeamMembers(r.Context(), id, in.UserIDs)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, t)
}

func (a *API) handleTeamDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.auth.DeleteTeam(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
