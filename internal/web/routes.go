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

// contactsNav is the contacts module's part of the top navigation, put
// after the dashboard when the module is installed; contactsSettingsNav
// goes into the settings menu.
var (
	contactsNav = []navItem{
		{Key: "nav.contacts", Href: "/contacts", Perm: crm.PermContactsRead, Prefix: "/contacts/"},
		{Key: "nav.companies", Href: "/companies", Perm: crm.PermContactsRead, Prefix: "/companies/"},
		{Key: "nav.tasks", Href: "/tasks", Perm: crm.PermContactsRead, Prefix: "/tasks/"},
	}
	contactsSettingsNav = []navItem{
		{Key: "nav.custom_fields", Href: "/settings/custom-fields", Perm: crm.PermSettingsManage, Prefix: "/settings/custom-fields/"},
	}
)

// webModule is a module that keeps its pages in its own files (orders.go,
// club.go …): its routes, its entries in the top navigation (after the
// contacts module's) and in the settings menu. A module appends itself to
// webModules in an init func; on reports whether the installation has it
// (its service was given in Options).
type webModule struct {
	on          func(s *server) bool
	nav         []navItem
	settingsNav []navItem
	routes      func(s *server, mux *http.ServeMux)
}

var webModules []webModule

// navigation returns the top navigation and the settings menu of an
// installation: the platform's, the contacts module's when installed, and
// each installed web module's.
func (s *server) navigation() (top, settings []navItem) {
	top = append([]navItem{}, mainNav[:1]...)
	settings = append([]navItem{}, settingsNav...)
	if s.contacts != nil {
		top = append(top, contactsNav...)
		settings = append(settings, contactsSettingsNav...)
	}
	for _, m := range webModules {
		if m.on(s) {
			top = append(top, m.nav...)
			settings = append(settings, m.settingsNav...)
		}
	}
	top = append(top, mainNav[1:]...)
	return top, settings
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

	if s.contacts != nil {
		s.contactRoutes(mux)
	}
	for _, m := range webModules {
		if m.on(s) {
			m.routes(s, mux)
		}
	}

	mux.HandleFunc("/", s.notFound)

	root := http.NewServeMux()
	root.Handle("GET /static/{hash}/{name...}", s.static)
	root.Handle("/", s.load(mux))
	return root
}

// onlyPage serves h when the {page} path value is page, and answers 404
// otherwise.
func (s *server) onlyPage(page string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("page") != page {
			s.notFound(w, r)
			return
		}
		h(w, r)
	}
}

// contactRoutes lists the routes of the contacts module: people,
// companies, custom fields, the timeline, tasks, notifications and search.
func (s *server) contactRoutes(mux *http.ServeMux) {
	read, write, del, export := crm.PermContactsRead, crm.PermContactsWrite, crm.PermContactsDelete, crm.PermContactsExport

	// People.
	mux.HandleFunc("GET /contacts", s.can(read, s.handleContactIndex))
	mux.HandleFunc("GET /contacts/{$}", s.can(read, s.handleContactIndex))
	mux.HandleFunc("POST /contacts/columns", s.can(read, s.handleContactColumns))
	mux.HandleFunc("GET /contacts/export.csv", s.can(export, s.handleContactExportCSV))
	mux.HandleFunc("GET /contacts/export.vcf", s.can(export, s.handleContactExportVCard))
	mux.HandleFunc("POST /contacts/bulk", s.can(write, s.handleContactBulk))
	mux.HandleFunc("GET /contacts/new", s.can(write, s.handleContactNew))
	mux.HandleFunc("POST /contacts", s.can(write, s.handleContactCreate))
	mux.HandleFunc("GET /contacts/merge", s.can(write, s.handleMergePage))
	mux.HandleFunc("POST /contacts/merge", s.can(write, s.handleMerge))
	mux.HandleFunc("GET /contacts/{id}", s.can(read, s.handleContactShow))
	// The edit page is written with a wildcard, /contacts/{id}/{page}, so
	// that the import pages' /contacts/imports/{id} is more specific than it
	// (ServeMux refuses two patterns that overlap with neither more
	// specific, as /contacts/{id}/edit and /contacts/imports/{id} would).
	mux.HandleFunc("GET /contacts/{id}/{page}", s.can(write, s.onlyPage("edit", s.handleContactEdit)))
	mux.HandleFunc("POST /contacts/{id}", s.can(write, s.handleContactUpdate))
	mux.HandleFunc("POST /contacts/{id}/delete", s.can(del, s.handleContactDelete))
	mux.HandleFunc("POST /contacts/{id}/erase", s.can(del, s.handleContactErase))
	mux.HandleFunc("POST /contacts/{id}/export", s.can(export, s.handleContactExportPerson))
	mux.HandleFunc("POST /contacts/{id}/consent", s.can(write, s.handleContactConsent))
	mux.HandleFunc("POST /contacts/{id}/interactions", s.can(write, s.handleInteractionCreate))
	mux.HandleFunc("POST /contacts/{id}/notes", s.can(write, s.handleNoteCreate))
	mux.HandleFunc("POST /contacts/{id}/tasks", s.can(write, s.handleTaskCreate))

	// Importing people from CSV (imports.go).
	mux.HandleFunc("GET /contacts/import", s.can(write, s.handleImportForm))
	mux.HandleFunc("POST /contacts/import", s.can(write, s.handleImportUpload))
	mux.HandleFunc("GET /contacts/imports", s.can(read, s.handleImportIndex))
	mux.HandleFunc("POST /contacts/imports", s.can(write, s.handleImportCreate))
	mux.HandleFunc("GET /contacts/imports/{id}", s.can(read, s.handleImportShow))
	mux.HandleFunc("POST /contacts/imports/{id}/cancel", s.can(write, s.handleImportCancel))
	mux.HandleFunc("POST /contacts/imports/{id}/run", s.can(write, s.handleImportRun))

	// Companies.
	mux.HandleFunc("GET /companies", s.can(read, s.handleCompanyIndex))
	mux.HandleFunc("GET /companies/{$}", s.can(read, s.handleCompanyIndex))
	mux.HandleFunc("GET /companies/new", s.can(write, s.handleCompanyNew))
	mux.HandleFunc("POST /companies", s.can(write, s.handleCompanyCreate))
	mux.HandleFunc("GET /companies/{id}", s.can(read, s.handleCompanyShow))
	mux.HandleFunc("GET /companies/{id}/edit", s.can(write, s.handleCompanyEdit))
	mux.HandleFunc("POST /companies/{id}", s.can(write, s.handleCompanyUpdate))
	mux.HandleFunc("POST /companies/{id}/delete", s.can(del, s.handleCompanyDelete))
	mux.HandleFunc("POST /companies/{id}/interactions", s.can(write, s.handleInteractionCreate))
	mux.HandleFunc("POST /companies/{id}/notes", s.can(write, s.handleNoteCreate))
	mux.HandleFunc("POST /companies/{id}/tasks", s.can(write, s.handleTaskCreate))

	// Tasks and notifications.
	mux.HandleFunc("GET /tasks", s.can(read, s.handleTaskIndex))
	mux.HandleFunc("GET /tasks/{$}", s.can(read, s.handleTaskIndex))
	mux.HandleFunc("POST /tasks", s.can(write, s.handleTaskCreate))
	mux.HandleFunc("GET /tasks/{id}", s.can(read, s.handleTaskShow))
	mux.HandleFunc("POST /tasks/{id}/complete", s.can(write, s.handleTaskComplete))
	mux.HandleFunc("POST /tasks/{id}/reopen", s.can(write, s.handleTaskReopen))
	mux.HandleFunc("POST /notifications/{id}/open", s.signedIn(s.handleNotificationOpen))
	mux.HandleFunc("POST /notifications/read", s.signedIn(s.handleNotificationsRead))

	// Search.
	mux.HandleFunc("GET /search", s.can(read, s.handleSearch))

	// Custom fields.
	manage := crm.PermSettingsManage
	mux.HandleFunc("GET /settings/custom-fields", s.can(manage, s.handleCustomFieldIndex))
	mux.HandleFunc("POST /settings/custom-fields", s.can(manage, s.handleCustomFieldCreate))
	mux.HandleFunc("GET /settings/custom-fields/{id}/edit", s.can(manage, s.handleCustomFieldEdit))
	mux.HandleFunc("POST /settings/custom-fields/{id}", s.can(manage, s.handleCustomFieldUpdate))
	mux.HandleFunc("POST /settings/custom-fields/{id}/delete", s.can(manage, s.handleCustomFieldDelete))
}
