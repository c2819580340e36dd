package web

import (
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestDashboardModules: the dashboard lists the modules this server has
// as installed (those the user may open), and only the ones it lacks as
// not installed.
func TestDashboardModules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newServiceTestApp(t, db) // contacts, the service desk and reports; no sales, club, marketing or automation
		admin, _ := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
		r := admin.get("/")
		mustStatus(t, r, http.StatusOK)
		installed := regexp.MustCompile(`Installed</span> <a href="([^"]+)">`)
		var got []string
		for _, m := range installed.FindAllStringSubmatch(r.body, -1) {
			got = append(got, m[1])
		}
		if want := []string{"/contacts", "/service", "/reports"}; !slices.Equal(got, want) {
			t.Errorf("installed %v, want %v", got, want)
		}
		notInstalled := regexp.MustCompile(`Not installed</span> ([^<]+)</li>`)
		got = nil
		for _, m := range notInstalled.FindAllStringSubmatch(r.body, -1) {
			got = append(got, m[1])
		}
		if want := []string{"Sales: leads, deals and pipelines", "Marketing: segments and campaigns", "Customer club: points and rewards",
			"Automation and webhooks"}; !slices.Equal(got, want) {
			t.Errorf("not installed %v, want %v", got, want)
		}

		// Marketing people may not open the service desk: it is neither
		// installed nor missing for them.
		m, _ := sa.signedIn(t, "mina@example.com", crm.RoleMarketing, "en")
		r = m.get("/")
		mustStatus(t, r, http.StatusOK)
		if regexp.MustCompile(`href="/service">|Customer service: tickets and SLAs`).MatchString(r.body) {
			t.Error("the dashboard offers the service desk to a marketing user")
		}
	})
}
