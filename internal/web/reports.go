package web

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/text"
)

// The reports: role dashboards under /reports/{dashboard} with a date
// range in the viewer's calendar, a CSV export of every panel, and the
// reports' settings (the business time zone, a rebuild) under
// /settings/reports. The figures come from internal/report; the panels
// are registered in reports_dashboards.go and reports_widgets.go.

func init() {
	webModules = append(webModules, webModule{
		on:          func(s *server) bool { return s.reports != nil },
		nav:         []navItem{{Key: "reports.nav", Href: "/reports", Prefix: "/reports/"}},
		settingsNav: []navItem{{Key: "reports.nav_settings", Href: "/settings/reports", Perm: crm.PermSettingsManage}},
		routes:      reportRoutes,
	})
}

func reportRoutes(s *server, mux *http.ServeMux) {
	mux.HandleFunc("GET /reports", s.signedIn(s.handleReportsIndex))
	mux.HandleFunc("GET /reports/{$}", s.signedIn(s.handleReportsIndex))
	mux.HandleFunc("GET /reports/{dashboard}", s.signedIn(s.handleReportDashboard))
	mux.HandleFunc("GET /reports/{dashboard}/{file}", s.signedIn(s.handleReportCSV))
	manage := crm.PermSettingsManage
	mux.HandleFunc("GET /settings/reports", s.can(manage, s.handleReportSettings))
	mux.HandleFunc("POST /settings/reports", s.can(manage, s.handleReportSettingsSave))
	mux.HandleFunc("POST /settings/reports/rebuild", s.can(manage, s.handleReportRebuild))
}

// navHas reports whether the installation's navigation has an entry
// under prefix (so a link to another module's page only shows when the
// module is installed).
func (s *server) navHas(prefix string) bool {
	for _, n := range s.nav {
		if strings.HasPrefix(n.Href, prefix) || n.Prefix != "" && strings.HasPrefix(n.Prefix, prefix) {
			return true
		}
	}
	return false
}

// visibleDashboards returns the dashboards u may see.
func visibleDashboards(u *crm.User) []*reportDashboard {
	var out []*reportDashboard
	for _, d := range reportDashboards {
		if d.allows(u) {
			out = append(out, d)
		}
	}
	return out
}

// handleReportsIndex opens the dashboard of the user's role.
func (s *server) handleReportsIndex(w http.ResponseWriter, r *http.Request) {
	u := state(r).user
	name := defaultDashboard[u.Role]
	if d := findDashboard(name); d == nil || !d.allows(u) {
		name = ""
		if ds := visibleDashboards(u); len(ds) > 0 {
			name = ds[0].Name
		}
	}
	if name == "" {
		s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.forbidden", Message: "Your role does not allow this page."})
		return
	}
	target := "/reports/" + name
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

type reportTab struct {
	Label   string
	Href    string
	Current bool
}

type reportsPage struct {
	base
	Tabs        []reportTab
	Dashboard   string
	Form        form
	Presets     []choice
	Currencies  []string
	RangeText   string
	Status      *report.Status
	Panels      []*reportPanel
	CanSettings bool
	Placeholder string // an example date in the user's calendar
}

// maxReportDays bounds a range (about ten years).
const maxReportDays = 3700

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// reportRequestFor reads the dashboard and the range of a request.
func (s *server) reportRequestFor(r *http.Request) (*reportRequest, *reportDashboard, form, error) {
	st := state(r)
	p, u := st.p, st.user
	f := form{Values: map[string]string{}}
	d := findDashboard(r.PathValue("dashboard"))
	if d == nil {
		return nil, nil, f, &crm.Error{Code: crm.ENOTFOUND, Key: "error.page_not_found", Message: "There is no page at this address."}
	}
	if !d.allows(u) {
		return nil, nil, f, &crm.Error{Code: crm.EFORBIDDEN, Key: "reports.error.dashboard_forbidden", Message: "Your role does not see this dashboard."}
	}
	status, err := s.reports.Status(r.Context())
	if err != nil {
		return nil, nil, f, err
	}
	rq := &reportRequest{ctx: r.Context(), p: p, user: u, status: status, dash: d.Name, rtl: p.Dir() == "rtl"}
	zone := locationOr(status.TimeZone)
	today := report.DayOf(nowFunc(), zone)
	rq.q, f = parseReportRange(p, r.URL.Query(), today)
	return rq, d, f, nil
}

// parseReportRange reads preset, from, to and currency. A preset (the
// default: the last 12 months) wins unless it is "custom" or absent with
// dates given. Dates are in the user's calendar, in any digits.
func parseReportRange(p *locale.Printer, v url.Values, today report.Day) (report.Query, form) {
	cal := p.Calendar()
	f := form{Values: map[string]string{}}
	for _, k := range []string{"preset", "from", "to", "currency"} {
		f.Values[k] = strings.TrimSpace(v.Get(k))
	}
	q := report.Query{Calendar: cal, Currency: strings.ToUpper(text.ToASCIIDigits(f.V("currency")))}
	if q.Currency != "" && !currencyRE.MatchString(q.Currency) {
		f.invalid(p, "currency", "reports.error.currency")
		q.Currency = ""
	}
	preset := f.V("preset")
	if preset == "" && f.V("from") == "" && f.V("to") == "" {
		preset = report.PresetLast12Months
	}
	def, _ := report.PresetRange(report.PresetLast12Months, today, cal)
	if preset != "" && preset != "custom" {
		rg, ok := report.PresetRange(preset, today, cal)
		if !ok {
			f.invalid(p, "preset", "error.choose_option")
			rg = def
			preset = report.PresetLast12Months
		}
		q.Range = rg
		f.Values["preset"] = preset
	} else {
		f.Values["preset"] = "custom"
		q.Range = def
		from, to := def.From, today
		var err error
		if f.V("from") == "" {
			f.invalid(p, "from", "reports.error.from_required")
		} else if from, err = report.ParseDay(f.V("from"), cal); err != nil {
			f.invalid(p, "from", "error.date_invalid")
		}
		if f.V("to") != "" {
			if to, err = report.ParseDay(f.V("to"), cal); err != nil {
				f.invalid(p, "to", "error.date_invalid")
			}
		}
		switch {
		case !f.ok():
		case to < from:
			f.invalid(p, "to", "reports.error.range_order")
		case (report.Range{From: from, To: to}).Days() > maxReportDays:
			f.invalid(p, "to", "reports.error.range_long", "years", 10)
		default:
			q.Range = report.Range{From: from, To: to}
		}
	}
	if f.ok() {
		f.Values["from"] = dayText(p, q.Range.From)
		f.Values["to"] = dayText(p, q.Range.To)
	}
	return q, f
}

// rangeQuery is the query string that repeats a range (for links).
func rangeQuery(p *locale.Printer, q report.Query, preset string) string {
	v := url.Values{}
	if preset != "" && preset != "custom" {
		v.Set("preset", preset)
	} else {
		v.Set("from", report.FormatDay(q.Range.From, p.Calendar()))
		v.Set("to", report.FormatDay(q.Range.To, p.Calendar()))
	}
	if q.Currency != "" {
		v.Set("currency", q.Currency)
	}
	return v.Encode()
}

func (s *server) handleReportDashboard(w http.ResponseWriter, r *http.Request) {
	rq, d, f, err := s.reportRequestFor(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := rq.p
	page := &reportsPage{base: s.page(r, "reports.dashboard."+d.Name), Dashboard: d.Name, Form: f, Status: rq.status,
		CanSettings: rq.user.Can(crm.PermSettingsManage), Placeholder: dayText(p, report.DayOf(nowFunc(), locationOr(rq.status.TimeZone)))}
	for _, x := range visibleDashboards(rq.user) {
		page.Tabs = append(page.Tabs, reportTab{Label: p.T("reports.dashboard." + x.Name), Href: "/reports/" + x.Name, Current: x == d})
	}
	page.Presets = append(page.Presets, choice{Value: "custom", Label: p.T("reports.preset.custom")})
	for _, name := range report.Presets {
		page.Presets = append(page.Presets, choice{Value: name, Label: p.T("reports.preset." + name)})
	}
	if !f.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "reports", page)
		return
	}
	page.RangeText = p.T("reports.range", "from", dayText(p, rq.q.Range.From), "to", dayText(p, rq.q.Range.To))
	if page.Currencies, err = s.reports.Currencies(rq.ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if rq.q.Currency == "" && len(page.Currencies) > 0 {
		rq.q.Currency = page.Currencies[0]
	}
	if rq.q.Currency != "" && !slices.Contains(page.Currencies, rq.q.Currency) {
		page.Currencies = append(page.Currencies, rq.q.Currency)
	}
	f.Values["currency"] = rq.q.Currency
	rq.query = rangeQuery(p, rq.q, f.V("preset"))
	if page.Panels, err = s.loadPanels(rq, d); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "reports", page)
}

// handleReportCSV exports the table of one panel as CSV.
func (s *server) handleReportCSV(w http.ResponseWriter, r *http.Request) {
	key, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	key, extra := strings.CutSuffix(key, extraSuffix)
	rq, d, f, err := s.reportRequestFor(r)
	if err == nil && (!ok || !slices.Contains(d.Widgets, key)) {
		err = &crm.Error{Code: crm.ENOTFOUND, Key: "error.page_not_found", Message: "There is no page at this address."}
	}
	if err == nil && !f.ok() {
		err = &crm.Error{Code: crm.EINVALID, Key: "reports.error.range_invalid", Message: "The date range is not valid."}
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	wd := reportWidgets[key]
	if wd == nil || wd.Load == nil || wd.On != nil && !wd.On(s) {
		s.notFound(w, r)
		return
	}
	if !wd.visible(rq.user) {
		s.renderError(w, r, &crm.Error{Code: crm.EFORBIDDEN, Key: "error.forbidden", Message: "Your role does not allow this page."})
		return
	}
	panel, err := wd.Load(s, rq)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	table := panel.Table
	if extra {
		table, key = panel.Extra, key+"-list"
	}
	if table == nil {
		s.notFound(w, r)
		return
	}
	var buf bytes.Buffer
	if err := table.writeCSV(&buf); err != nil {
		s.renderError(w, r, err)
		return
	}
	cal := rq.p.Calendar()
	name := "pivand-" + key + "-" + strings.ReplaceAll(report.FormatDay(rq.q.Range.From, cal), "/", "-") + "-" +
		strings.ReplaceAll(report.FormatDay(rq.q.Range.To, cal), "/", "-") + ".csv"
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

type reportSettingsPage struct {
	base
	Form      form
	Zones     []choice
	OtherZone bool
	Status    *report.Status
}

func (s *server) reportSettingsPage(r *http.Request, f form) (*reportSettingsPage, error) {
	st, err := s.reports.Status(r.Context())
	if err != nil {
		return nil, err
	}
	d := &reportSettingsPage{base: s.page(r, "reports.settings.title"), Form: f, Status: st}
	if d.Form.Values == nil {
		d.Form.Values = map[string]string{"time_zone": st.TimeZone}
	}
	for _, z := range commonTimeZones {
		d.Zones = append(d.Zones, choice{Value: z, Label: z})
	}
	d.OtherZone = !slices.Contains(commonTimeZones, d.Form.V("time_zone"))
	return d, nil
}

func (s *server) handleReportSettings(w http.ResponseWriter, r *http.Request) {
	d, err := s.reportSettingsPage(r, form{})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "reports_settings", d)
}

func (s *server) handleReportSettingsSave(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "time_zone", "time_zone_other")
	zone := f.V("time_zone")
	if other := f.V("time_zone_other"); other != "" {
		zone = other
	}
	f.Values["time_zone"] = zone
	if err := s.reports.SetTimeZone(r.Context(), zone); err != nil {
		f.fail(state(r).p, err, map[string]string{"time_zone": "error.time_zone_invalid"})
		d, err2 := s.reportSettingsPage(r, f)
		if err2 != nil {
			s.renderError(w, r, err2)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, "reports_settings", d)
		return
	}
	redirect(w, r, "/settings/reports", "reports_saved")
}

func (s *server) handleReportRebuild(w http.ResponseWriter, r *http.Request) {
	if err := s.reports.Rebuild(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/reports", "reports_rebuilding")
}

// locationOr loads zone, or UTC when it is not a zone.
func locationOr(zone string) *time.Location {
	if loc, err := time.LoadLocation(zone); zone != "" && err == nil {
		return loc
	}
	return time.UTC
}
