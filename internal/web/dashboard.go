package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// modules are the parts of Pivand that came after the foundations, by
// catalog key, where each starts, whether this server has it, and what a
// user needs to open it. The dashboard lists the ones the user can open
// as installed and, plainly, the ones this server lacks as not installed;
// a module the user may not open is left out.
var modules = []struct {
	key  string
	href string
	on   func(s *server) bool
	perm crm.Permission
}{
	{"module.contacts", "/contacts", func(s *server) bool { return s.contacts != nil }, crm.PermContactsRead},
	{"module.sales", "/sales", func(s *server) bool { return s.sales != nil }, crm.PermSalesRead},
	{"module.service", "/service", func(s *server) bool { return s.desk != nil }, crm.PermServiceRead},
	{"module.marketing", "/campaigns", func(s *server) bool { return s.campaigns != nil }, crm.PermMarketingRead},
	{"module.club", "/club", func(s *server) bool { return s.club != nil }, crm.PermClubRead},
	{"module.automation", "/automation", func(s *server) bool { return s.workflows != nil }, crm.PermAutomation},
	{"module.reports", "/reports", func(s *server) bool { return s.reports != nil }, crm.PermReportsRead},
}

type dashboardPage struct {
	base
	Greeting     string
	Today        time.Time
	Teams        []*crm.Team
	Admin        *adminSummary // nil unless the user manages users
	Entries      []*crm.AuditEntry
	CanAudit     bool
	NotInstalled []string
	Installed    []installedModule // modules added since the foundations
	Work         *workSummary      // my tasks and notifications; nil without the contacts module
}

// installedModule is a module line of the dashboard: its catalog key and
// where it starts.
type installedModule struct {
	Key  string
	Href string
}

type adminSummary struct {
	Users, ActiveUsers, Teams, Invites int
}

func (s *server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	u := st.user
	d := &dashboardPage{base: s.page(r, "dashboard.title"), Today: time.Now()}
	d.Greeting = greeting(st.p.In(d.Today).Hour())
	for _, m := range modules {
		switch {
		case !m.on(s):
			d.NotInstalled = append(d.NotInstalled, m.key)
		case u.Can(m.perm):
			d.Installed = append(d.Installed, installedModule{Key: m.key, Href: m.href})
		}
	}
	if s.contacts != nil {
		var err error
		if d.Work, err = s.workSummary(r); err != nil {
			s.renderError(w, r, err)
			return
		}
	}

	teams, err := s.auth.ListTeams(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, t := range teams {
		if slices.Contains(t.MemberIDs, u.ID) {
			d.Teams = append(d.Teams, t)
		}
	}
	if u.Can(crm.PermUsersManage) {
		users, err := s.auth.ListUsers(ctx)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		invites, err := s.auth.ListInvites(ctx)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		sum := &adminSummary{Users: len(users), Teams: len(teams), Invites: len(invites)}
		for _, x := range users {
			if x.Active {
				sum.ActiveUsers++
			}
		}
		d.Admin = sum
	}
	if u.Can(crm.PermAuditRead) {
		d.CanAudit = true
		d.Entries, _, err = s.auth.ListAudit(ctx, crm.AuditFilter{Limit: 8})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "dashboard", d)
}

// greeting returns the catalog key greeting the user at this hour.
func greeting(hour int) string {
	switch {
	case hour >= 5 && hour < 12:
		return "dashboard.greeting.morning"
	case hour >= 12 && hour < 17:
		return "dashboard.greeting.afternoon"
	case hour >= 17 && hour < 22:
		return "dashboard.greeting.evening"
	default:
		return "dashboard.greeting.other"
	}
}
