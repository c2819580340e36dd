package web

import (
	"net/http"
	"strconv"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

type usersPage struct {
	base
	Users      []*crm.User
	Invites    []*crm.Invite
	Roles      []crm.Role
	InviteForm form
	Error      *message // a failed row action (role, activation, revoke)
	NewInvite  *newInvite
}

// newInvite is shown once, right after the invitation is made: the link
// carries the only copy of the token.
type newInvite struct {
	Invite *crm.Invite
	Link   string
}

var inviteCreateFieldKeys = map[string]string{
	"email": "error.email_invalid",
	"role":  "error.choose_option",
}

func (s *server) usersPage(r *http.Request) (*usersPage, error) {
	ctx := r.Context()
	users, err := s.auth.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	invites, err := s.auth.ListInvites(ctx)
	if err != nil {
		return nil, err
	}
	return &usersPage{base: s.page(r, "users.title"), Users: users, Invites: invites, Roles: crm.Roles,
		InviteForm: form{Values: map[string]string{"role": string(crm.RoleSales)}}}, nil
}

func (s *server) handleUsersPage(w http.ResponseWriter, r *http.Request) {
	d, err := s.usersPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "users", d)
}

func (s *server) handleInviteCreate(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	f := newForm(r, "email", "role")
	token, inv, err := s.auth.Invite(r.Context(), f.V("email"), crm.Role(f.V("role")))
	status := http.StatusOK
	if err != nil {
		f.fail(st.p, err, inviteCreateFieldKeys)
		status = problem.Status(err)
	}
	d, lerr := s.usersPage(r)
	if lerr != nil {
		s.renderError(w, r, lerr)
		return
	}
	if err != nil {
		d.InviteForm = f
	} else {
		d.NewInvite = &newInvite{Invite: inv, Link: s.absoluteURL(r, "/invite/"+token)}
	}
	s.render(w, r, status, "users", d)
}

// absoluteURL builds a link to this server as the browser reached it.
func (s *server) absoluteURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || s.secure || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

func (s *server) handleUserRole(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	role := crm.Role(r.PostFormValue("role"))
	if _, err := s.auth.UpdateUser(r.Context(), id, crm.UserUpdate{Role: &role}); err != nil {
		s.usersActionFailed(w, r, err)
		return
	}
	redirect(w, r, "/settings/users", "role_changed")
}

func (s *server) handleUserActive(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	active := r.PostFormValue("active") == "true"
	if _, err := s.auth.UpdateUser(r.Context(), id, crm.UserUpdate{Active: &active}); err != nil {
		s.usersActionFailed(w, r, err)
		return
	}
	notice := "user_deactivated"
	if active {
		notice = "user_reactivated"
	}
	redirect(w, r, "/settings/users", notice)
}

func (s *server) handleInviteRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.auth.RevokeInvite(r.Context(), id); err != nil {
		s.usersActionFailed(w, r, err)
		return
	}
	redirect(w, r, "/settings/users", "invite_revoked")
}

// usersActionFailed shows the users page again with what went wrong, or
// the error page when the failure is not about the input.
func (s *server) usersActionFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch crm.ErrorCode(err) {
	case crm.ECONFLICT, crm.EINVALID:
	default:
		s.renderError(w, r, err)
		return
	}
	d, lerr := s.usersPage(r)
	if lerr != nil {
		s.renderError(w, r, lerr)
		return
	}
	m := explain(state(r).p, err)
	if crm.ErrorCode(err) == crm.ECONFLICT && crm.ErrorFields(err)["role"] != "" {
		m = message{Text: state(r).p.T("users.error.last_admin")}
	}
	d.Error = &m
	s.render(w, r, problem.Status(err), "users", d)
}

// pathID reads the {id} path value.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}
