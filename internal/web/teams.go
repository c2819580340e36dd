package web

import (
	"net/http"
	"strconv"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

type teamsPage struct {
	base
	Teams     []*crm.Team
	Users     []*crm.User
	Names     map[int64]string // user ID → name (or email)
	CanManage bool
	Form      form     // the new-team form
	Error     *message // a failed member change or delete
}

var teamFieldKeys = map[string]string{"name": "error.team_name"}

func (s *server) teamsPage(r *http.Request) (*teamsPage, error) {
	ctx := r.Context()
	teams, err := s.auth.ListTeams(ctx)
	if err != nil {
		return nil, err
	}
	users, err := s.auth.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	d := &teamsPage{base: s.page(r, "teams.title"), Teams: teams, Users: users, Names: map[int64]string{},
		CanManage: state(r).user.Can(crm.PermUsersManage), Form: form{Values: map[string]string{}}}
	for _, u := range users {
		d.Names[u.ID] = displayName(u)
	}
	return d, nil
}

func displayName(u *crm.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

func (s *server) handleTeamsPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.teamsPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "teams", d)
}

func (s *server) handleTeamCreate(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "name")
	if f.V("name") == "" {
		f.invalid(state(r).p, "name", "error.required")
		s.teamsFailed(w, r, http.StatusUnprocessableEntity, f, nil)
		return
	}
	if _, err := s.auth.CreateTeam(r.Context(), f.V("name")); err != nil {
		f.fail(state(r).p, err, teamFieldKeys)
		if crm.ErrorCode(err) == crm.ECONFLICT {
			f.Errors = map[string]string{"name": state(r).p.T("teams.error.exists")}
		}
		s.teamsFailed(w, r, problem.Status(err), f, nil)
		return
	}
	redirect(w, r, "/settings/teams", "team_created")
}

func (s *server) handleTeamMembers(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	r.ParseForm()
	ids := []int64{}
	for _, v := range r.PostForm["member"] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.renderError(w, r, &crm.Error{Code: crm.EINVALID, Message: "Member IDs must be numbers."})
			return
		}
		ids = append(ids, n)
	}
	if _, err := s.auth.SetTeamMembers(r.Context(), id, ids); err != nil {
		s.teamsFailed(w, r, problem.Status(err), form{Values: map[string]string{}}, err)
		return
	}
	redirect(w, r, "/settings/teams", "team_saved")
}

func (s *server) handleTeamDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.auth.DeleteTeam(r.Context(), id); err != nil {
		s.teamsFailed(w, r, problem.Status(err), form{Values: map[string]string{}}, err)
		return
	}
	redirect(w, r, "/settings/teams", "team_deleted")
}

// teamsFailed shows the teams page again with the new-team form f and,
// for a failed row action, its error. Errors that are not about the
// input get the error page.
func (s *server) teamsFailed(w http.ResponseWriter, r *http.Request, status int, f form, actionErr error) {
	if actionErr != nil {
		switch crm.ErrorCode(actionErr) {
		case crm.EINVALID, crm.ECONFLICT:
		default:
			s.renderError(w, r, actionErr)
			return
		}
	}
	d, err := s.teamsPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Form = f
	if actionErr != nil {
		m := explain(state(r).p, actionErr)
		d.Error = &m
	}
	s.render(w, r, status, "teams", d)
}
