package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// modules lists the parts of Pivand that later versions add, by catalog
// key. The dashboard says plainly that they are not installed yet; a
// module removes its line when it lands.
var modulesNotInstalled = []string{
	"module.contacts",
	"module.sales",
	"module.service",
	"module.marketing",
	"module.club",
	"module.automation",
	"module.reports",
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
	d := &dashboardPage{base: s.page(r, "dashboard.title"), Today: time.Now(), NotInstalled: modulesNotInstalled}
	d.Greeting = greeting(st.p.In(d.Today).Hour())
	if s.contacts != nil {
		d.NotInstalled = slices.DeleteFunc(slices.Clone(modulesNotInstalled), func(k string) bool { return k == "module.contacts" })
		d.Installed = []installedModule{{Key: "module.contacts", Href: "/contacts"}}
		var err error
		if d.Work, err = s.workSummary(r); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	if s.sales != nil && u.Can(crm.PermSalesRead) {
		d.NotInstalled = slices.DeleteFunc(slices.Clone(d.NotInstalled), func(k string) bool { return k == "module.sales" })
		d.Installed = append(d.Installed, installedModule{Key: "module.sales", Href: "/sales"})
	}
	if s.reports != nil {
		d.NotInstalled = slices.DeleteFunc(slices.Clone(d.NotInstalled), func(k string) bool { return k == "module.reports" })
		d.Installed = append(d.Installed, installedModule{Key: "module.reports", Href: "/reports"})
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
