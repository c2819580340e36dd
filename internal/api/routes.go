package api

import (
	"net/http"
	"strings"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
)

// route is one registered endpoint: a ServeMux pattern, its handler, and
// the operation metadata that documents it (see op in openapi.go).
type route struct {
	pattern string // "METHOD /api/v1/…"
	handler http.HandlerFunc
	op      op
}

// method returns the route's HTTP method.
func (rt route) method() string { m, _, _ := strings.Cut(rt.pattern, " "); return m }

// path returns the route's path pattern.
func (rt route) path() string { _, p, _ := strings.Cut(rt.pattern, " "); return p }

// routeTable lists every API route. Reads (GET) need a token with the read
// scope, everything else the write scope; Perm adds a role check at the
// route, on top of the one in the service.
func (a *API) routeTable() []route {
	rts := a.coreRoutes()
	for _, m := range moduleRoutes {
		rts = append(rts, m(a)...)
	}
	return rts
}

// moduleRoutes are the route tables of modules that keep their routes in
// their own file (orders.go, club.go …): each appends its function here in
// an init func, so modules do not edit one shared list.
var moduleRoutes []func(a *API) []route

// coreRoutes are the platform's and the contacts module's routes.
func (a *API) coreRoutes() []route {
	return []route{
		{"GET /api/v1/openapi.json", a.handleOpenAPI, op{ID: "getOpenAPI", Tag: "meta", Public: true,
			Summary: "This OpenAPI document", Out: map[string]any{}}},
		{"GET /api/v1/me", a.handleMeGet, op{ID: "getMe", Tag: "me",
			Summary: "The token's user, role and scopes", Out: me{}}},

		{"GET /api/v1/tokens", a.handleTokenList, op{ID: "listTokens", Tag: "tokens", Paged: true,
			Summary: "List your API tokens, revoked ones included", Out: list[*crm.APIToken]{}}},
		{"POST /api/v1/tokens", a.handleTokenCreate, op{ID: "createToken", Tag: "tokens", Status: http.StatusCreated,
			Summary: "Create an API token; the secret is returned only here", In: tokenCreate{}, Out: tokenCreated{}}},
		{"DELETE /api/v1/tokens/{id}", a.handleTokenDelete, op{ID: "deleteToken", Tag: "tokens", Status: http.StatusNoContent,
			Summary: "Revoke an API token"}},

		{"GET /api/v1/users", a.handleUserList, op{ID: "listUsers", Tag: "users", Paged: true,
			Summary: "List users", Out: list[*crm.User]{}}},
		{"POST /api/v1/users", a.handleUserCreate, op{ID: "createUser", Tag: "users", Perm: crm.PermUsersManage, Status: http.StatusCreated,
			Summary: "Create a user", In: crm.UserCreate{}, Out: &crm.User{}}},
		{"PATCH /api/v1/users/{id}", a.handleUserUpdate, op{ID: "updateUser", Tag: "users", Perm: crm.PermUsersManage,
			Summary: "Change a user's name, role or active flag", In: crm.UserUpdate{}, Out: &crm.User{}}},

		{"GET /api/v1/teams", a.handleTeamList, op{ID: "listTeams", Tag: "teams", Paged: true,
			Summary: "List teams with their members", Out: list[*crm.Team]{}}},
		{"POST /api/v1/teams", a.handleTeamCreate, op{ID: "createTeam", Tag: "teams", Perm: crm.PermUsersManage, Status: http.StatusCreated,
			Summary: "Create a team", In: teamCreate{}, Out: &crm.Team{}}},
		{"PUT /api/v1/teams/{id}/members", a.handleTeamMembersUpdate, op{ID: "setTeamMembers", Tag: "teams", Perm: crm.PermUsersManage,
			Summary: "Replace a team's members", In: teamMembers{}, Out: &crm.Team{}}},
		{"DELETE /api/v1/teams/{id}", a.handleTeamDelete, op{ID: "deleteTeam", Tag: "teams", Perm: crm.PermUsersManage, Status: http.StatusNoContent,
			Summary: "Delete a team"}},

		{"GET /api/v1/audit", a.handleAuditList, op{ID: "listAudit", Tag: "audit", Perm: crm.PermAuditRead, Paged: true, Query: auditParams,
			Summary: "Read the audit log, newest first", Out: list[*crm.AuditEntry]{}}},

		{"POST /api/v1/contacts", a.handleContactCreate, op{ID: "createContact", Tag: "contacts", Perm: crm.PermContactsWrite, Status: http.StatusCreated,
			Query:   []param{{Name: "allow_duplicate", Type: "boolean", Description: "Save even when the person looks like someone stored (as the body member allow_duplicate)."}},
			Summary: "Create a person", In: contactCreate{}, Out: &crm.Contact{}, Conflict: duplicatesProblem{},
			Description: "Emails are lower-cased and phones stored in E.164 (Persian and Arabic digits accepted). A person who shares an email, a phone or a full name with someone stored is refused with 409 and the matches in duplicates, unless allow_duplicate is true."}},
		{"GET /api/v1/contacts", a.handleContactList, op{ID: "listContacts", Tag: "contacts", Perm: crm.PermContactsRead, Paged: true, Query: contactFilterParams,
			Summary: "List people", Description: customFilterNote, Out: list[*crm.Contact]{}}},
		{"GET /api/v1/contacts/{id}", a.handleContactGet, op{ID: "getContact", Tag: "contacts", Perm: crm.PermContactsRead,
			Summary: "Read a person with companies and consents", Out: &crm.Contact{}}},
		{"PATCH /api/v1/contacts/{id}", a.handleContactUpdate, op{ID: "updateContact", Tag: "contacts", Perm: crm.PermContactsWrite,
			Summary: "Change a person: members sent are changed, the rest stay", In: contactPatch{}, Out: &crm.Contact{},
			Description: "owner_id null clears the owner; custom merges per key, a key set to null removing that value; lists replace the whole list."}},
		{"DELETE /api/v1/contacts/{id}", a.handleContactDelete, op{ID: "deleteContact", Tag: "contacts", Perm: crm.PermContactsDelete, Status: http.StatusNoContent,
			Summary: "Delete a person and their timeline"}},
		{"POST /api/v1/contacts/duplicates", a.handleContactDuplicates, op{ID: "findDuplicateContacts", Tag: "contacts", Perm: crm.PermContactsRead,
			Summary: "List stored people who look like this one, without saving", In: duplicateCheck{}, Out: list[crm.DuplicateMatch]{}}},
		{"POST /api/v1/contacts/merge", a.handleContactMerge, op{ID: "mergeContacts", Tag: "contacts", Perm: crm.PermContactsWrite,
			Summary: "Merge people into one, or preview the merge with dry_run", In: mergeRequest{}, Out: anyOf{&crm.MergePlan{}, &crm.Contact{}},
			Description: "With dry_run the answer is the MergePlan and nothing changes; otherwise the merged person (merging needs contacts:delete). choices names, per conflicting field (first_name, birthday, owner_id, custom.<key> …), the person whose value wins."}},
		{"POST /api/v1/contacts/bulk", a.handleContactBulk, op{ID: "bulkContacts", Tag: "contacts", Perm: crm.PermContactsWrite,
			Summary: "Tag, untag, assign or delete many people at once", In: bulkRequest{}, Out: changed{},
			Description: "action is add_tag or remove_tag (with tag), set_owner (with owner_id; absent or null clears) or delete (needs contacts:delete)."}},

		{"GET /api/v1/contacts/{id}/consents", a.handleConsentList, op{ID: "listConsents", Tag: "consent", Perm: crm.PermContactsRead,
			Summary: "A person's consent per channel", Out: list[crm.Consent]{}}},
		{"PUT /api/v1/contacts/{id}/consents/{channel}", a.handleConsentSet, op{ID: "setConsent", Tag: "consent", Perm: crm.PermContactsWrite,
			Summary: "Record that a person granted or withdrew consent for a channel", In: consentSet{}, Out: &crm.Consent{}}},
		{"GET /api/v1/contacts/{id}/consents/{channel}/check", a.handleConsentCheck, op{ID: "checkConsent", Tag: "consent", Perm: crm.PermContactsRead,
			Summary: "May we contact this person on this channel now?", Out: consentCheck{}}},

		{"GET /api/v1/contacts/{id}/export", a.handleContactPrivacyExport, op{ID: "exportPerson", Tag: "privacy", Perm: crm.PermContactsExport,
			Summary: "Everything held about one person, as JSON (audited)", Out: map[string]any{}}},
		{"POST /api/v1/contacts/{id}/erase", a.handleContactErase, op{ID: "erasePerson", Tag: "privacy", Perm: crm.PermContactsDelete, Status: http.StatusNoContent,
			Summary: "Erase a person: record, timeline and search entries; their addresses stay suppressed (audited)"}},

		{"GET /api/v1/contacts/export.csv", a.handleContactExportCSV, op{ID: "exportContactsCSV", Tag: "contacts", Perm: crm.PermContactsExport, Query: csvExportParams,
			Summary: "Download the people of the current filter as CSV", Description: customFilterNote, Out: "", MediaType: "text/csv"}},
		{"GET /api/v1/contacts/export.vcf", a.handleContactExportVCard, op{ID: "exportContactsVCard", Tag: "contacts", Perm: crm.PermContactsExport, Query: vcardExportParams,
			Summary: "Download the people of the current filter, or ids, as vCards", Description: customFilterNote, Out: "", MediaType: vcardContentType}},
		{"GET /api/v1/contacts/{id}/vcard", a.handleContactVCard, op{ID: "getContactVCard", Tag: "contacts", Perm: crm.PermContactsExport, Query: vcardParams,
			Summary: "Download one person as a vCard", Out: "", MediaType: vcardContentType}},

		{"POST /api/v1/companies", a.handleCompanyCreate, op{ID: "createCompany", Tag: "companies", Perm: crm.PermContactsWrite, Status: http.StatusCreated,
			Summary: "Create a company", In: companyFields{}, Out: &crm.Company{}}},
		{"GET /api/v1/companies", a.handleCompanyList, op{ID: "listCompanies", Tag: "companies", Perm: crm.PermContactsRead, Paged: true, Query: companyParams,
			Summary: "List companies", Description: customFilterNote, Out: list[*crm.Company]{}}},
		{"GET /api/v1/companies/{id}", a.handleCompanyGet, op{ID: "getCompany", Tag: "companies", Perm: crm.PermContactsRead,
			Summary: "Read a company", Out: &crm.Company{}}},
		{"PATCH /api/v1/companies/{id}", a.handleCompanyUpdate, op{ID: "updateCompany", Tag: "companies", Perm: crm.PermContactsWrite,
			Summary: "Change a company: members sent are changed, the rest stay", In: companyPatch{}, Out: &crm.Company{},
			Description: "owner_id null clears the owner; custom merges per key, a key set to null removing that value."}},
		{"DELETE /api/v1/companies/{id}", a.handleCompanyDelete, op{ID: "deleteCompany", Tag: "companies", Perm: crm.PermContactsDelete, Status: http.StatusNoContent,
			Summary: "Delete a company; its people stay, unlinked"}},
		{"GET /api/v1/companies/{id}/contacts", a.handleCompanyPeople, op{ID: "listCompanyContacts", Tag: "companies", Perm: crm.PermContactsRead, Paged: true,
			Summary: "List the people linked to a company, by name", Out: list[*crm.Contact]{}}},

		{"GET /api/v1/custom-fields", a.handleCustomFieldList, op{ID: "listCustomFields", Tag: "custom-fields", Perm: crm.PermContactsRead, Query: customFieldParams,
			Summary: "List custom field definitions", Out: list[*crm.CustomField]{}}},
		{"POST /api/v1/custom-fields", a.handleCustomFieldCreate, op{ID: "createCustomField", Tag: "custom-fields", Perm: crm.PermSettingsManage, Status: http.StatusCreated,
			Summary: "Define a custom field on people or companies", In: customFieldCreate{}, Out: &crm.CustomField{}}},
		{"PATCH /api/v1/custom-fields/{id}", a.handleCustomFieldUpdate, op{ID: "updateCustomField", Tag: "custom-fields", Perm: crm.PermSettingsManage,
			Summary: "Change a custom field's label, choices, currency, flags or position", In: customFieldPatch{}, Out: &crm.CustomField{}}},
		{"DELETE /api/v1/custom-fields/{id}", a.handleCustomFieldDelete, op{ID: "deleteCustomField", Tag: "custom-fields", Perm: crm.PermSettingsManage, Status: http.StatusNoContent,
			Summary: "Delete a custom field; stored values stay but are no longer shown"}},

		{"GET /api/v1/contacts/{id}/timeline", a.handleContactTimeline, op{ID: "getContactTimeline", Tag: "timeline", Perm: crm.PermContactsRead, Paged: true,
			Summary: "A person's timeline, newest first", Out: list[timelineItem]{}}},
		{"GET /api/v1/companies/{id}/timeline", a.handleCompanyTimeline, op{ID: "getCompanyTimeline", Tag: "timeline", Perm: crm.PermContactsRead, Paged: true,
			Summary: "A company's timeline, newest first", Out: list[timelineItem]{}}},
		{"POST /api/v1/interactions", a.handleInteractionCreate, op{ID: "logInteraction", Tag: "timeline", Perm: crm.PermContactsWrite, Status: http.StatusCreated,
			Summary: "Log a call, email, message or visit on a person's or company's timeline", In: interactionCreate{}, Out: &crm.Interaction{}}},
		{"GET /api/v1/interactions/{id}", a.handleInteractionGet, op{ID: "getInteraction", Tag: "timeline", Perm: crm.PermContactsRead,
			Summary: "Read an interaction with its whole text", Out: &crm.Interaction{}}},

		{"POST /api/v1/notes", a.handleNoteCreate, op{ID: "createNote", Tag: "notes", Perm: crm.PermContactsWrite, Status: http.StatusCreated,
			Summary: "Write a note on a timeline; @mentioned users are notified", In: noteCreate{}, Out: &crm.Note{}}},
		{"GET /api/v1/notes/{id}", a.handleNoteGet, op{ID: "getNote", Tag: "notes", Perm: crm.PermContactsRead,
			Summary: "Read a note", Out: &crm.Note{}}},
		{"PATCH /api/v1/notes/{id}", a.handleNoteUpdate, op{ID: "updateNote", Tag: "notes", Perm: crm.PermContactsWrite,
			Summary: "Replace a note's text (its author, or a user who may delete contacts)", In: notePatch{}, Out: &crm.Note{}}},
		{"DELETE /api/v1/notes/{id}", a.handleNoteDelete, op{ID: "deleteNote", Tag: "notes", Perm: crm.PermContactsWrite, Status: http.StatusNoContent,
			Summary: "Delete a note (its author, or a user who may delete contacts)"}},

		{"GET /api/v1/tasks", a.handleTaskList, op{ID: "listTasks", Tag: "tasks", Perm: crm.PermContactsRead, Paged: true, Query: taskParams,
			Summary: "List tasks by due date, undated last", Out: list[*crm.Task]{}}},
		{"POST /api/v1/tasks", a.handleTaskCreate, op{ID: "createTask", Tag: "tasks", Perm: crm.PermContactsWrite, Status: http.StatusCreated,
			Summary: "Create a task; a reminder time notifies the assignee then", In: taskCreate{}, Out: &crm.Task{}}},
		{"GET /api/v1/tasks/{id}", a.handleTaskGet, op{ID: "getTask", Tag: "tasks", Perm: crm.PermContactsRead,
			Summary: "Read a task", Out: &crm.Task{}}},
		{"PATCH /api/v1/tasks/{id}", a.handleTaskUpdate, op{ID: "updateTask", Tag: "tasks", Perm: crm.PermContactsWrite,
			Summary: "Change a task: members sent are changed; due_at or remind_at null clears it", In: taskPatch{}, Out: &crm.Task{}}},
		{"POST /api/v1/tasks/{id}/complete", a.handleTaskComplete, op{ID: "completeTask", Tag: "tasks", Perm: crm.PermContactsWrite,
			Summary: "Mark a task done", Out: &crm.Task{}}},
		{"POST /api/v1/tasks/{id}/reopen", a.handleTaskReopen, op{ID: "reopenTask", Tag: "tasks", Perm: crm.PermContactsWrite,
			Summary: "Mark a done task open again", Out: &crm.Task{}}},
		{"DELETE /api/v1/tasks/{id}", a.handleTaskDelete, op{ID: "deleteTask", Tag: "tasks", Perm: crm.PermContactsWrite, Status: http.StatusNoContent,
			Summary: "Delete a task (its creator, or a user who may delete contacts)"}},

		{"GET /api/v1/notifications", a.handleNotificationList, op{ID: "listNotifications", Tag: "notifications", Paged: true, Query: notificationParams,
			Summary: "Your notifications, newest first", Out: list[*crm.Notification]{}}},
		{"POST /api/v1/notifications/read", a.handleNotificationsRead, op{ID: "markNotificationsRead", Tag: "notifications",
			Summary: "Mark some (ids) or all (all: true) of your notifications as read", In: notificationsRead{}, Out: changed{}}},

		{"POST /api/v1/imports", a.handleImportCreate, op{ID: "createImport", Tag: "imports", Perm: crm.PermContactsWrite, Status: http.StatusAccepted,
			Query: importParams, Upload: importUpload, Location: true, Out: &contact.Import{},
			Summary:     "Import people from a CSV file: upload it and queue the import",
			Description: "Send the file as multipart/form-data (part file; options as parts or query parameters) or as the text/csv body (options as query parameters). The header is read and the mapping checked at once, so a file that cannot be imported is refused with 422 naming the line, column or option; otherwise the import is queued and runs as a job: follow it at Location. The mapping is detected from the header (Google Contacts, Outlook, HubSpot, Pivand exports, plain English, Persian and Arabic headers); mapping changes any column's field."}},
		{"GET /api/v1/imports", a.handleImportList, op{ID: "listImports", Tag: "imports", Perm: crm.PermContactsRead, Paged: true,
			Summary: "List imports, newest first", Out: list[*contact.Import]{}}},
		{"GET /api/v1/imports/{id}", a.handleImportGet, op{ID: "getImport", Tag: "imports", Perm: crm.PermContactsRead,
			Summary: "An import's status and counts", Out: &contact.Import{},
			Description: "status is pending, running, done, failed (message says why) or cancelled; byte_offset of file_size says how far it is. During a dry run created and updated count what would be."}},
		{"GET /api/v1/imports/{id}/problems", a.handleImportProblems, op{ID: "listImportProblems", Tag: "imports", Perm: crm.PermContactsRead, Paged: true,
			Summary: "An import's problems by line: rows with errors, and duplicates with the person they match", Out: list[contact.ImportProblem]{}}},
		{"POST /api/v1/imports/{id}/cancel", a.handleImportCancel, op{ID: "cancelImport", Tag: "imports", Perm: crm.PermContactsWrite,
			Summary: "Stop a pending or running import; the rows already imported stay", Out: &contact.Import{},
			Description: "Cancelling an import that has finished is a conflict (409)."}},

		{"GET /api/v1/search", a.handleSearch, op{ID: "search", Tag: "search", Perm: crm.PermContactsRead,
			Query: []param{
				{Name: "q", Description: "What to look for: any part of a name, email, phone or company; prefixes match, Persian and Arabic spellings too."},
				{Name: "limit", Type: "integer", Description: "Results of each kind (people, companies), 1 to 50; 10 unless asked."},
			},
			Summary: "Find people and companies, best matches first", Out: list[crm.SearchHit]{}}},
	}
}

// chain wraps a route's handler in what every API route gets: bearer
// authentication with the scope and permission checks, and Idempotency-Key
// handling on writes. The body limit wraps the whole mux (limitBody).
func (a *API) chain(rt route) http.Handler {
	h := http.Handler(rt.handler)
	if rt.op.Public {
		return h
	}
	scope := crm.ScopeRead
	if rt.write() {
		scope = crm.ScopeWrite
		if rt.op.Upload != nil {
			h = a.idempotentUpload(h) // spools the file to disk, not memory
		} else {
			h = a.idempotent(h)
		}
	}
	return a.authenticate(scope, rt.op.Perm, h)
}

// write reports whether the route changes data (anything but GET).
func (rt route) write() bool { return rt.method() != http.MethodGet }

// fallback answers every /api/ request no route matched: 405 with Allow
// when the path exists under another method, 404 otherwise, both as
// problem documents (ServeMux's own answers are plain text).
func (a *API) fallback(mux *http.ServeMux) http.Handler {
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range methods {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			a.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
				msg: "This address does not accept " + r.Method + "; use " + strings.Join(allow, ", ") + "."})
			return
		}
		a.writeError(w, r, crm.Errorf(crm.ENOTFOUND, "There is no API endpoint at %s.", r.URL.Path))
	})
}
