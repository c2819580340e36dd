package web

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

// navItem is one entry of a navigation menu. Perm, when set, hides the
// entry from users without that permission; Prefix marks the entry
// current for every path under it.
type navItem struct {
	Key    string
	Href   string
	Perm   crm.Permission
	Prefix string
}

// mainNav is the top navigation. Modules add their entry here.
var mainNav = []navItem{
	{Key: "nav.dashboard", Href: "/"},
	{Key: "nav.settings", Href: "/settings/preferences", Prefix: "/settings/"},
}

// settingsNav is the menu beside every settings page.
var settingsNav = []navItem{
	{Key: "nav.preferences", Href: "/settings/preferences"},
	{Key: "nav.password", Href: "/settings/password"},
	{Key: "nav.tokens", Href: "/settings/tokens", Perm: crm.PermTokensOwn},
	{Key: "nav.users", Href: "/settings/users", Perm: crm.PermUsersManage},
	{Key: "nav.teams", Href: "/settings/teams"},
	{Key: "nav.audit", Href: "/settings/audit", Perm: crm.PermAuditRead},
}

// routes lists every route of the web UI.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()

	// Signing in and first run.
	mux.HandleFunc("GET /signin", s.handleSignInPage)
	mux.HandleFunc("POST /signin", s.handleSignIn)
	mux.HandleFunc("POST /signout", s.handleSignOut)
	mux.HandleFunc("GET /setup", s.handleSetupPage)
	mux.HandleFunc("POST /setup", s.handleSetup)
	mux.HandleFunc("GET /invite/{token}", s.handleInvitePage)
	mux.HandleFunc("POST /invite/{token}", s.handleInviteAccept)
	mux.HandleFunc("POST /language", s.handleLanguage)

	// Dashboard.
	mux.HandleFunc("GET /{$}", s.handleHome)

	// Settings.
	mux.HandleFunc("GET /settings", s.signedIn(s.handleSettingsIndex))
	mux.HandleFunc("GET /settings/{$}", s.signedIn(s.handleSettingsIndex))
	mux.HandleFunc("GET /settings/preferences", s.signedIn(s.handlePreferencesPage))
	mux.HandleFunc("POST /settings/preferences", s.signedIn(s.handlePreferences))
	mux.HandleFunc("GET /settings/password", s.signedIn(s.handlePasswordPage))
	mux.HandleFunc("POST /settings/password", s.signedIn(s.handlePassword))
	mux.HandleFunc("GET /settings/tokens", s.can(crm.PermTokensOwn, s.handleTokensPage))
	mux.HandleFunc("POST /settings/tokens", s.can(crm.PermTokensOwn, s.handleTokenCreate))
	mux.HandleFunc("POST /settings/tokens/{id}/revoke", s.can(crm.PermTokensOwn, s.handleTokenRevoke))
	mux.HandleFunc("GET /settings/users", s.can(crm.PermUsersManage, s.handleUsersPage))
	mux.HandleFunc("POST /settings/users/invite", s.can(crm.PermUsersManage, s.handleInviteCreate))
	mux.HandleFunc("POST /settings/users/{id}/role", s.can(crm.PermUsersManage, s.handleUserRole))
	mux.HandleFunc("POST /settings/users/{id}/active", s.can(crm.PermUsersManage, s.handleUserActive))
	mux.HandleFunc("POST /settings/invites/{id}/revoke", s.can(crm.PermUsersManage, s.handleInviteRevoke))
	mux.HandleFunc("GET /settings/teams", s.signedIn(s.handleTeamsPage))
	mux.HandleFunc("POST /settings/teams", s.can(crm.PermUsersManage, s.handleTeamCreate))
	mux.HandleFunc("POST /settings/teams/{id}/members", s.can(crm.PermUsersManage, s.handleTeamMembers))
	mux.HandleFunc("POST /settings/teams/{id}/delete", s.can(crm.PermUsersManage, s.handleTeamDelete))
	mux.HandleFunc("GET /settings/audit", s.can(crm.PermAuditRead, s.handleAuditPage))

	mux.HandleFunc("/", s.notFound)

	root := http.NewServeMux()
	root.Handle("GET /static/{hash}/{name...}", s.static)
	root.Handle("/", s.load(mux))
	return root
}
