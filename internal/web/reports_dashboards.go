package web

import (
	"context"
	"html/template"
	"slices"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/report"
)

// The dashboard registry. A dashboard is a role's page of panels
// (widgets); each widget is registered by key with the permission it
// needs and a loader. A widget another module provides (the sales
// pipeline, the service desk's KPIs, campaign results) is registered here
// with only its module's name, and the page says plainly that it is not
// available until that module is installed; the module replaces it with
// registerWidget in its own init func when it lands:
//
//	func init() {
//		registerWidget(reportWidget{Key: "pipeline", Perm: crm.PermSalesRead, On: func(s *server) bool { return s.sales != nil },
//			Load: loadPipeline})
//	}
//
// and may add widgets to dashboards with addToDashboard.

// reportDashboard is a role's dashboard.
type reportDashboard struct {
	Name    string     // its URL segment and catalog key reports.dashboard.<name>
	Roles   []crm.Role // who sees it; admin sees every dashboard
	Widgets []string   // widget keys, in page order
}

// reportDashboards are the dashboards, in tab order.
var reportDashboards = []*reportDashboard{
	{Name: "manager", Roles: []crm.Role{crm.RoleManager},
		Widgets: []string{"kpis", "revenue", "customers", "pareto", "club", "segments", "churn", "cohorts", "returns", "pipeline", "service_kpis"}},
	{Name: "sales", Roles: []crm.Role{crm.RoleManager, crm.RoleSales},
		Widgets: []string{"kpis", "revenue", "channels", "customers", "churn", "pipeline"}},
	{Name: "service", Roles: []crm.Role{crm.RoleManager, crm.RoleSupport},
		Widgets: []string{"returns", "service_kpis"}},
	{Name: "marketing", Roles: []crm.Role{crm.RoleManager, crm.RoleMarketing},
		Widgets: []string{"customers", "cohorts", "segments", "moves", "clv", "churn", "pareto", "campaigns"}},
	{Name: "club", Roles: []crm.Role{crm.RoleManager, crm.RoleMarketing, crm.RoleSales},
		Widgets: []string{"club", "customers", "cohorts"}},
}

// defaultDashboard is the dashboard /reports opens for a role.
var defaultDashboard = map[crm.Role]string{
	crm.RoleAdmin:     "manager",
	crm.RoleManager:   "manager",
	crm.RoleSales:     "sales",
	crm.RoleSupport:   "service",
	crm.RoleMarketing: "marketing",
}

// allows reports whether u sees the dashboard.
func (d *reportDashboard) allows(u *crm.User) bool {
	return u != nil && u.Active && (u.Role == crm.RoleAdmin || slices.Contains(d.Roles, u.Role))
}

func findDashboard(name string) *reportDashboard {
	for _, d := range reportDashboards {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// addToDashboard appends widget key to the named dashboard.
func addToDashboard(name, key string) {
	if d := findDashboard(name); d != nil && !slices.Contains(d.Widgets, key) {
		d.Widgets = append(d.Widgets, key)
	}
}

// reportWidget is a panel of a dashboard.
type reportWidget struct {
	Key string
	// Perms are all needed to see the panel (and its CSV); a user without
	// one does not see it.
	Perms []crm.Permission
	// Module, for a widget another module provides: its catalog key
	// (module.sales …). With no Load the panel says the module is not
	// installed.
	Module string
	// On reports whether the installation has what the widget needs; nil
	// means always.
	On   func(s *server) bool
	Load func(s *server, rq *reportRequest) (*reportPanel, error)
}

var reportWidgets = map[string]*reportWidget{}

// registerWidget adds or replaces a widget. A placeholder (no Load)
// never replaces a widget that has one, whatever order the files' init
// funcs run in.
func registerWidget(w reportWidget) {
	if old := reportWidgets[w.Key]; old != nil && old.Load != nil && w.Load == nil {
		return
	}
	reportWidgets[w.Key] = &w
}

// visible reports whether u may see the widget.
func (w *reportWidget) visible(u *crm.User) bool {
	for _, p := range w.Perms {
		if !u.Can(p) {
			return false
		}
	}
	return true
}

// reportPanel is what a widget shows: a chart with its numbers in a table
// beside it, key figures, notes, and where to go for more.
type reportPanel struct {
	Key         string
	Title       string
	Description string        // one line under the title
	Notes       []string      // what the figures cover (whole months, all time, as of …)
	KPIs        []reportKPI   // key figures above the chart
	Chart       template.HTML // SVG from internal/chart
	Legend      template.HTML
	Heat        template.HTML // a heat-map table (it is its own numbers)
	Table       *reportTable  // the chart's numbers (and the CSV export)
	Extra       *reportTable  // a second table (a list) below
	Empty       string        // shown instead of a chart when there is nothing yet
	Unavailable string        // the module that would provide it is not installed
	CSV         string        // the export URL of Table; "" without one
	ExtraCSV    string        // the export URL of Extra
	More        *reportLink   // details elsewhere
	Wide        bool          // spans the page (tables with many columns)
}

// reportKPI is a key figure with an optional comparison.
type reportKPI struct {
	Label  string
	Value  string
	Change string // "+12.5%" against the previous period; "" without one
	Trend  string // up, down or "" (for the arrow's class)
}

type reportLink struct {
	Label string
	Href  string
}

// reportRequest is one dashboard view: the viewer, the range and the
// figures already read (several panels share the revenue).
type reportRequest struct {
	ctx     context.Context
	p       *locale.Printer
	user    *crm.User
	q       report.Query
	status  *report.Status
	dash    string
	query   string // the range's query string, for CSV links
	rtl     bool
	revenue *report.Revenue
	service *desk.Report // the service desk's figures, read once (service_reports.go)
}

// extraSuffix names the export of a panel's second table (a list):
// /reports/{dashboard}/{widget}.list.csv.
const extraSuffix = ".list"

// csvURL is a widget's export address with the same range.
func (rq *reportRequest) csvURL(key string) string {
	u := "/reports/" + rq.dash + "/" + key + ".csv"
	if rq.query != "" {
		u += "?" + rq.query
	}
	return u
}

// revenueOnce reads the revenue report once per view.
func (s *server) revenueOnce(rq *reportRequest) (*report.Revenue, error) {
	if rq.revenue != nil {
		return rq.revenue, nil
	}
	rev, err := s.reports.Revenue(rq.ctx, rq.q)
	if err != nil {
		return nil, err
	}
	rq.revenue = rev
	return rev, nil
}

// loadPanels builds the panels of dashboard d the user may see.
func (s *server) loadPanels(rq *reportRequest, d *reportDashboard) ([]*reportPanel, error) {
	var out []*reportPanel
	for _, key := range d.Widgets {
		w := reportWidgets[key]
		if w == nil || !w.visible(rq.user) {
			continue
		}
		if w.Load == nil || w.On != nil && !w.On(s) {
			out = append(out, &reportPanel{Key: key, Title: rq.p.T("reports.widget." + key + ".title"),
				Unavailable: rq.p.T("reports.unavailable", "module", rq.p.T(w.Module))})
			continue
		}
		p, err := w.Load(s, rq)
		if err != nil {
			return nil, err
		}
		p.Key = key
		if p.Table != nil && p.CSV == "" {
			p.CSV = rq.csvURL(key)
		}
		if p.Extra != nil && p.ExtraCSV == "" {
			p.ExtraCSV = rq.csvURL(key + extraSuffix)
		}
		out = append(out, p)
	}
	return out, nil
}
