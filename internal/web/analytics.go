package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/text"
)

// The customer analytics (internal/insight) in the UI: the analytics page
// with the last run, live progress of a recompute, the fitted models, the
// RFM segments with their rules, the churn-risk list and the settings
// (/analytics/customers); the items of the basket analysis and what is
// bought together with each (/analytics/items, /analytics/item); and the
// results on the person's page, in the people list (columns, filters) and
// in its CSV export. Installed when Options.Insight is set.

func init() {
	webModules = append(webModules, webModule{
		on:     func(s *server) bool { return s.insight != nil && s.contacts != nil },
		nav:    []navItem{{Key: "analytics.nav", Href: "/analytics/customers", Perm: crm.PermReportsRead, Prefix: "/analytics/"}},
		routes: analyticsRoutes,
	})
}

func analyticsRoutes(s *server, mux *http.ServeMux) {
	reports := crm.PermReportsRead
	mux.HandleFunc("GET /analytics/customers", s.can(reports, s.handleAnalyticsCustomers))
	mux.Handle("GET /analytics", http.RedirectHandler("/analytics/customers", http.StatusSeeOther))
	mux.HandleFunc("POST /analytics/recompute", s.can(reports, s.handleAnalyticsRecompute))
	mux.HandleFunc("GET /analytics/runs/{id}/progress", s.can(reports, s.handleAnalyticsProgress))
	mux.HandleFunc("POST /analytics/settings", s.can(crm.PermSettingsManage, s.handleAnalyticsSettings))
	mux.HandleFunc("GET /analytics/items", s.can(reports, s.handleAnalyticsItems))
	mux.HandleFunc("GET /analytics/item", s.can(crm.PermOrdersRead, s.handleAnalyticsItem))
}

// afmt formats analytics figures for templates: money of the run's
// currency, shares, decimals, in the user's digits.
type afmt struct {
	p   *locale.Printer
	cur string
}

// Money shows minor units of the run's currency.
func (f afmt) Money(minor int64) string { return formatMoney(f.p, minor, f.cur) }

// MoneyPtr shows an optional amount; "" when nil.
func (f afmt) MoneyPtr(minor *int64) string {
	if minor == nil {
		return ""
	}
	return f.Money(*minor)
}

// Major shows an amount given in currency units (a model parameter).
func (f afmt) Major(v float64) string {
	return formatMoney(f.p, int64(math.Round(v*math.Pow10(minorDigits(f.cur)))), f.cur)
}

// Pct shows a share 0..1 as a percentage with one decimal ("12.5%",
// "30%").
func (f afmt) Pct(v float64) string {
	if pct := math.Round(v * 1000); math.Mod(pct, 10) == 0 {
		return f.Dec(pct/10, 0) + "%"
	}
	return f.Dec(v*100, 1) + "%"
}

// PctPtr shows an optional share.
func (f afmt) PctPtr(v *float64) string {
	if v == nil {
		return ""
	}
	return f.Pct(*v)
}

// Dec shows v with n decimals.
func (f afmt) Dec(v float64, n int) string {
	s := strconv.FormatFloat(v, 'f', n, 64)
	whole, frac, ok := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	out := f.p.Number(w)
	if ok {
		out += decimalSep(f.p) + f.p.Digits(frac)
	}
	if strings.HasPrefix(s, "-") {
		// An isolate keeps the minus on the number's left in right-to-left
		// text too.
		out = "\u2066-" + out + "\u2069"
	}
	return out
}

// DecPtr shows an optional number with n decimals.
func (f afmt) DecPtr(v *float64, n int) string {
	if v == nil {
		return ""
	}
	return f.Dec(*v, n)
}

// Sig shows a model parameter with six significant digits.
func (f afmt) Sig(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) < 1e-3 {
		return f.p.Digits(strconv.FormatFloat(v, 'e', 1, 64))
	}
	n := max(0, 5-int(math.Floor(math.Log10(math.Abs(v)))))
	return f.Dec(v, min(n, 8))
}

// Meter is a share as 0..100 for a <meter>.
func (f afmt) Meter(v float64) string { return strconv.FormatFloat(math.Round(v*1000)/10, 'f', 1, 64) }

// SegmentName is a segment's label.
func (f afmt) SegmentName(seg string) string {
	if seg == "" {
		return ""
	}
	return f.p.T("analytics.segment." + seg)
}

// Range shows a score range "4–5" or "5".
func (f afmt) Range(lo, hi int) string {
	if lo == hi {
		return f.p.Int(lo)
	}
	return f.p.Int(lo) + "–" + f.p.Int(hi)
}

// Period names the run's unit of time in the plural ("days").
func (f afmt) Period(s insight.Settings) string {
	u := s.Unit
	if u == "" {
		u = s.Period
	}
	return f.p.T("analytics.unit." + u)
}

// Day shows a YYYY-MM-DD day (a run's last day) in the user's calendar.
func (f afmt) Day(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return f.p.Digits(s)
	}
	return f.p.Date(time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, f.p.Location()))
}

// Duration shows milliseconds as seconds.
func (f afmt) Duration(ms int64) string { return f.Dec(float64(ms)/1000, 1) }

// runView is a run with what the progress box shows.
type runView struct {
	*insight.Run
	Percent   int
	PhaseText string
	Figures   string
}

func analyticsRunView(p *locale.Printer, r *insight.Run) *runView {
	if r == nil {
		return nil
	}
	v := &runView{Run: r}
	if r.Active() {
		phase := r.Progress.Phase
		if phase == "" {
			phase = "queued"
		}
		v.PhaseText = p.T("analytics.phase." + phase)
		v.Percent = phasePercent(r.Progress)
		if r.Progress.Total > 0 {
			v.Figures = p.T("analytics.progress_figures", "done", p.Number(r.Progress.Done), "total", p.Number(r.Progress.Total))
		}
	}
	return v
}

// phasePercent is the run's overall progress: each phase a share of the
// bar (reading and writing take most of a run's time).
func phasePercent(pr insight.Progress) int {
	spans := map[string][2]int{insight.PhaseReading: {0, 35}, insight.PhaseFitting: {35, 45}, insight.PhaseScoring: {45, 50},
		insight.PhaseWriting: {50, 85}, insight.PhaseBaskets: {85, 98}, insight.PhaseSwitching: {98, 100}}
	sp, ok := spans[pr.Phase]
	if !ok {
		return 0
	}
	frac := 0.0
	if pr.Total > 0 {
		frac = min(1, float64(pr.Done)/float64(pr.Total))
	}
	return sp[0] + int(frac*float64(sp[1]-sp[0]))
}

type churnRow struct {
	*insight.Score
	Name string
}

type analyticsCustomersPage struct {
	base
	F           afmt
	O           *insight.Overview
	Run         *runView // the run in use
	Active      *runView // queued or running
	Latest      *runView // the newest run, when it failed
	AtRisk      []churnRow
	Settings    insight.Settings
	Form        form
	CanSettings bool
	Zones       []string
	Tabs        []navLink
}

// analyticsTabs is the sub-navigation of the analytics pages.
var analyticsTabs = []navItem{
	{Key: "analytics.tab.customers", Href: "/analytics/customers", Perm: crm.PermReportsRead},
	{Key: "analytics.tab.items", Href: "/analytics/items", Perm: crm.PermReportsRead},
}

func (s *server) analyticsTabs(r *http.Request) []navLink {
	t := links(analyticsTabs, state(r).user, r.URL.Path)
	for i := range t {
		t[i].Current = t[i].Current || t[i].Href == "/analytics/items" && r.URL.Path == "/analytics/item"
	}
	return t
}

func (s *server) handleAnalyticsCustomers(w http.ResponseWriter, r *http.Request) {
	s.renderAnalyticsCustomers(w, r, http.StatusOK, form{Values: map[string]string{}})
}

func (s *server) renderAnalyticsCustomers(w http.ResponseWriter, r *http.Request, status int, f form) {
	ctx := r.Context()
	st := state(r)
	o, err := s.insight.Overview(ctx, 20)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &analyticsCustomersPage{base: s.page(r, "analytics.customers.title"), O: o, Form: f,
		CanSettings: st.user.Can(crm.PermSettingsManage), Tabs: s.analyticsTabs(r),
		Zones: []string{"UTC", "Asia/Tehran", "Asia/Dubai", "Asia/Riyadh", "Asia/Baghdad", "Asia/Kabul", "Europe/Istanbul", "Europe/London", "America/New_York"}}
	cur := ""
	if o.Run != nil {
		cur = o.Run.Currency
	}
	d.F = afmt{p: st.p, cur: cur}
	d.Run, d.Active = analyticsRunView(st.p, o.Run), analyticsRunView(st.p, o.Active)
	if len(o.Recent) > 0 && o.Recent[0].Status == "failed" {
		d.Latest = analyticsRunView(st.p, o.Recent[0])
	}
	if d.Settings, err = s.insight.Settings(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if !slices.Contains(d.Zones, d.Settings.TimeZone) {
		d.Zones = append(d.Zones, d.Settings.TimeZone)
	}
	if len(f.Values) == 0 {
		d.Form = settingsForm(st.p, d.Settings)
	}
	if len(o.AtRisk) > 0 {
		var ids []int64
		for _, sc := range o.AtRisk {
			ids = append(ids, sc.ContactID)
		}
		names, err := s.contactNames(r, ids)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		for _, sc := range o.AtRisk {
			d.AtRisk = append(d.AtRisk, churnRow{Score: sc, Name: names[sc.ContactID]})
		}
	}
	s.render(w, r, status, "analytics_customers", d)
}

// contactNames returns the display names of people by id.
func (s *server) contactNames(r *http.Request, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	people, _, err := s.contacts.ListContacts(r.Context(), crm.ContactFilter{IDs: ids, Limit: crm.MaxLimit})
	if err != nil {
		return nil, err
	}
	for _, c := range people {
		out[c.ID] = c.DisplayName()
	}
	return out, nil
}

// settingsForm shows the settings as a form's values, numbers in the
// user's digits where they are read back in any digits.
func settingsForm(p *locale.Printer, st insight.Settings) form {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	nightly := ""
	if st.Nightly {
		nightly = "on"
	}
	return form{Values: map[string]string{
		"currency": st.Currency, "period": st.Period, "unit": st.Unit, "predict_periods": num(st.PredictPeriods),
		"clv_months": strconv.Itoa(st.CLVMonths), "discount_rate": num(st.DiscountRate * 100),
		"churn_medium": num(st.ChurnMedium * 100), "churn_high": num(st.ChurnHigh * 100),
		"min_customers": strconv.Itoa(st.MinCustomers), "min_repeat_customers": strconv.Itoa(st.MinRepeat),
		"nightly": nightly, "nightly_at": st.NightlyAt, "time_zone": st.TimeZone,
		"basket_min_support": num(st.BasketMinSupport * 100), "basket_min_confidence": num(st.BasketMinConfidence * 100),
	}}
}

var analyticsSettingsFields = []string{"currency", "period", "unit", "predict_periods", "clv_months", "discount_rate", "churn_medium", "churn_high",
	"min_customers", "min_repeat_customers", "nightly", "nightly_at", "time_zone", "basket_min_support", "basket_min_confidence"}

func (s *server) handleAnalyticsSettings(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, analyticsSettingsFields...)
	st := insight.Settings{Currency: f.V("currency"), Period: f.V("period"), Unit: f.V("unit"), Nightly: f.V("nightly") != "",
		NightlyAt: strings.TrimSpace(text.ToASCIIDigits(f.V("nightly_at"))), TimeZone: f.V("time_zone")}
	number := func(name string, scale float64) float64 {
		v, err := strconv.ParseFloat(strings.ReplaceAll(strings.ReplaceAll(text.ToASCIIDigits(f.V(name)), "٫", "."), ",", ""), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			f.invalid(p, name, "analytics.settings.error")
			return 0
		}
		return v * scale
	}
	st.PredictPeriods = number("predict_periods", 1)
	st.CLVMonths = int(number("clv_months", 1))
	st.DiscountRate = number("discount_rate", 0.01)
	st.ChurnMedium = number("churn_medium", 0.01)
	st.ChurnHigh = number("churn_high", 0.01)
	st.MinCustomers = int(number("min_customers", 1))
	st.MinRepeat = int(number("min_repeat_customers", 1))
	st.BasketMinSupport = number("basket_min_support", 0.01)
	st.BasketMinConfidence = number("basket_min_confidence", 0.01)
	if f.ok() {
		if _, err := s.insight.SaveSettings(r.Context(), st); err != nil {
			keys := map[string]string{}
			for _, n := range analyticsSettingsFields {
				keys[n] = "analytics.settings.error"
			}
			f.fail(p, err, keys)
		}
	}
	if !f.ok() {
		s.renderAnalyticsCustomers(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	redirect(w, r, "/analytics/customers#settings", "analytics_settings_saved")
}

func (s *server) handleAnalyticsRecompute(w http.ResponseWriter, r *http.Request) {
	run, created, err := s.insight.Recompute(r.Context(), insight.ViaWeb, "")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	notice := "analytics_recompute_started"
	if !created {
		notice = "analytics_recompute_running"
	}
	redirect(w, r, "/analytics/customers?run="+strconv.FormatInt(run.ID, 10), notice)
}

// handleAnalyticsProgress answers the progress box's poll (analytics.js).
func (s *server) handleAnalyticsProgress(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	run, err := s.insight.Run(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := analyticsRunView(p, run)
	out := map[string]any{"status": run.Status, "finished": !run.Active(), "percent": v.Percent, "phase": v.PhaseText,
		"figures": v.Figures}
	b, _ := json.Marshal(out)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.Write(b)
}

// --- Items ---

type analyticsItemsPage struct {
	base
	F     afmt
	Run   *insight.Run
	Items []insight.Item
	Rules []insight.RuleView
	Q     string
	Tabs  []navLink
}

func (s *server) handleAnalyticsItems(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	d := &analyticsItemsPage{base: s.page(r, "analytics.items.title"), Q: strings.TrimSpace(r.URL.Query().Get("q")), Tabs: s.analyticsTabs(r)}
	var err error
	if d.Run, d.Items, err = s.insight.Items(ctx, d.Q, 100); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Run != nil {
		if _, d.Rules, err = s.insight.Rules(ctx, 30); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	d.F = afmt{p: st.p}
	s.render(w, r, http.StatusOK, "analytics_items", d)
}

type analyticsItemPage struct {
	base
	F afmt
	D *insight.ItemDetail
}

func (s *server) handleAnalyticsItem(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	key := r.URL.Query().Get("key")
	d, err := s.insight.Item(r.Context(), key, 20)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	pg := &analyticsItemPage{base: s.page(r, "analytics.item.title"), D: d, F: afmt{p: st.p}}
	pg.Title = itemLabel(d.Item)
	s.render(w, r, http.StatusOK, "analytics_item", pg)
}

// itemLabel names an item: its name, else its SKU.
func itemLabel(it insight.Item) string {
	switch {
	case it.Name != "":
		return it.Name
	case it.SKU != "":
		return it.SKU
	}
	_, v, _ := strings.Cut(it.Item, ":")
	return v
}

// itemHref is an item's page.
func itemHref(it insight.Item) string { return "/analytics/item?key=" + url.QueryEscape(it.Item) }

// analyticsFuncs are the template functions of the analytics pages.
var analyticsFuncs = map[string]any{
	"itemHref":  itemHref,
	"itemLabel": itemLabel,
	"itemLabels": func(p *locale.Printer, items []insight.Item) string {
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = itemLabel(it)
		}
		return strings.Join(names, p.T("list.separator"))
	},
	"words": func(w ...string) []string { return w },
	"deref64": func(v *float64) float64 {
		if v == nil {
			return 0
		}
		return *v
	},
}

// --- On the person's page ---

// contactAnalytics is the analytics card of a person's page.
type contactAnalytics struct {
	F       afmt
	I       *insight.CustomerInsight
	Periods string // "90 days": the expected-purchases horizon
	Bands   insight.Settings
	Reports bool // the user may open the analytics page
}

// customerAnalytics gathers the person's analytics card; nil when the
// module is not installed or the user may not read orders.
func (s *server) customerAnalytics(r *http.Request, contactID int64) (*contactAnalytics, error) {
	st := state(r)
	if s.insight == nil || !st.user.Can(crm.PermOrdersRead) {
		return nil, nil
	}
	in, err := s.insight.Customer(r.Context(), contactID, 5)
	if err != nil {
		return nil, err
	}
	a := &contactAnalytics{I: in, Reports: st.user.Can(crm.PermReportsRead)}
	if in.Run != nil {
		a.F = afmt{p: st.p, cur: in.Run.Currency}
		a.Bands = in.Run.Settings
		a.Periods = st.p.T("analytics.horizon", "n", a.F.Dec(in.Run.Settings.PredictPeriods, 0), "unit", a.F.Period(in.Run.Settings))
	}
	return a, nil
}

// --- In the people list ---

// analyticsColumnKeys are the optional columns of the people list.
var analyticsColumnKeys = []string{"analytics.segment", "analytics.rfm_cell", "analytics.churn_band", "analytics.p_alive", "analytics.clv", "analytics.total_spent"}

// analyticsListColumns returns the analytics columns of the people list,
// marking the ones this browser chose; without a choice, none, or, when
// the list is filtered by the analytics, the segment, churn band and CLV.
func (s *server) analyticsListColumns(r *http.Request, p *locale.Printer, la *listAnalytics) []listColumn {
	if la == nil {
		return nil
	}
	var chosen []string
	if c, err := r.Cookie(columnsCookie); err == nil && c.Value != "" {
		chosen = strings.Split(c.Value, "|")
	}
	var cols []listColumn
	for _, k := range analyticsColumnKeys {
		on := slices.Contains(chosen, k)
		if chosen == nil && la.Filtered {
			on = k == "analytics.segment" || k == "analytics.churn_band" || k == "analytics.clv"
		}
		cols = append(cols, listColumn{Key: k, Label: p.T("analytics.col." + strings.TrimPrefix(k, "analytics.")), On: on, Analytics: true})
	}
	return cols
}

// listAnalytics is what the people list shows of the analytics.
type listAnalytics struct {
	F        afmt
	Run      *insight.Run
	Scores   map[int64]*insight.Score
	Segments []string
	Bands    []string
	Filtered bool // an analytics filter is set
}

// analyticsFilterParams are the people list's analytics filters.
var analyticsFilterParams = []string{"segment", "churn", "clv_min", "clv_max"}

// analyticsFilter reads the analytics filters of the people list into
// filter (CLV in the current run's currency), marking bad values on f.
func (s *server) analyticsFilter(r *http.Request, q url.Values, f *form, filter *crm.ContactFilter) *listAnalytics {
	if s.insight == nil || !state(r).user.Can(crm.PermOrdersRead) {
		return nil
	}
	p := state(r).p
	la := &listAnalytics{Segments: analytics.RFMSegments, Bands: []string{"low", "medium", "high"}}
	cur, _, err := s.insight.CurrentRun(r.Context())
	if err == nil && cur != nil {
		la.Run = cur
		la.F = afmt{p: p, cur: cur.Currency}
	} else {
		la.F = afmt{p: p}
	}
	var sf crm.ScoreFilter
	for _, k := range analyticsFilterParams {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	if v := f.V("segment"); v != "" {
		if slices.Contains(analytics.RFMSegments, v) {
			sf.Segment = v
		} else {
			f.invalid(p, "segment", "error.choose_option")
		}
	}
	if v := f.V("churn"); v != "" {
		if slices.Contains(la.Bands, v) {
			sf.ChurnBand = v
		} else {
			f.invalid(p, "churn", "error.choose_option")
		}
	}
	for _, k := range []string{"clv_min", "clv_max"} {
		v := f.V(k)
		if v == "" {
			continue
		}
		n, err := parseMoney(v, la.F.cur)
		if err != nil || n < 0 {
			f.invalid(p, k, "analytics.filter.bad_amount")
			continue
		}
		if k == "clv_min" {
			sf.CLVMin = &n
		} else {
			sf.CLVMax = &n
		}
	}
	if !sf.IsZero() {
		filter.Scores = &sf
		la.Filtered = true
	}
	return la
}

// fillListAnalytics reads the scores of the people shown when an
// analytics column is.
func (s *server) fillListAnalytics(r *http.Request, la *listAnalytics, shown []listColumn, people []*crm.Contact) error {
	if la == nil || !slices.ContainsFunc(shown, func(c listColumn) bool { return c.Analytics }) {
		return nil
	}
	ids := make([]int64, len(people))
	for i, c := range people {
		ids[i] = c.ID
	}
	scores, _, err := s.insight.ScoresOf(r.Context(), ids)
	la.Scores = scores
	return err
}

// analyticsExportColumns are the columns the people CSV export adds, in
// the currency of the run in use, when the list shows an analytics
// column or filters by one.
var analyticsExportColumns = []string{"analytics_segment", "analytics_rfm_cell", "analytics_orders", "analytics_total_spent",
	"analytics_last_order", "analytics_p_alive", "analytics_churn_band", "analytics_expected_purchases", "analytics_clv", "analytics_currency",
	"analytics_as_of"}

// analyticsExport is what the people CSV export adds: the analytics of
// the run in use; nil without the module, a run, or the right to read
// orders.
func (s *server) analyticsExport(r *http.Request) *contact.ExtraColumns {
	if s.insight == nil || !state(r).user.Can(crm.PermOrdersRead) {
		return nil
	}
	if cur, _, err := s.insight.CurrentRun(r.Context()); err != nil || cur == nil {
		return nil
	}
	return &contact.ExtraColumns{Names: analyticsExportColumns, Values: s.analyticsExportValues(r)}
}

// analyticsExportValues gives the export's analytics cells of people.
func (s *server) analyticsExportValues(r *http.Request) func(people []*crm.Contact) (map[int64][]string, error) {
	return func(people []*crm.Contact) (map[int64][]string, error) {
		ids := make([]int64, len(people))
		for i, c := range people {
			ids[i] = c.ID
		}
		scores, run, err := s.insight.ScoresOf(r.Context(), ids)
		if err != nil {
			return nil, err
		}
		out := map[int64][]string{}
		num := func(v *float64, prec int) string {
			if v == nil {
				return ""
			}
			return strconv.FormatFloat(*v, 'f', prec, 64)
		}
		amount := func(v *int64, cur string) string {
			if v == nil {
				return ""
			}
			return decimalMinor(*v, cur)
		}
		for id, sc := range scores {
			asOf := ""
			if run != nil {
				asOf = run.ObservedTo
			}
			out[id] = []string{sc.Segment, sc.Cell, strconv.FormatInt(sc.Orders, 10), amount(&sc.TotalSpent, sc.Currency),
				sc.LastOrderAt.UTC().Format(time.DateOnly), num(sc.PAlive, 4), sc.ChurnBand, num(sc.ExpectedPurchases, 3),
				amount(sc.CLV, sc.Currency), sc.Currency, asOf}
		}
		return out, nil
	}
}

// decimalMinor writes minor units as a plain decimal ("1250.50").
func decimalMinor(minor int64, currency string) string {
	d := minorDigits(currency)
	if d == 0 {
		return strconv.FormatInt(minor, 10)
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	scale := int64(math.Pow10(d))
	return fmt.Sprintf("%s%d.%0*d", sign, minor/scale, d, minor%scale)
}
