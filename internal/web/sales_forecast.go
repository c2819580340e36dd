package web

import (
	"context"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/chart"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/text"
)

// The weighted forecast page, and the activities page: each user's
// overdue (or open, or done) calls, meetings and tasks.

type forecastPage struct {
	salesBase
	salesChoices
	F         *sales.Forecast
	Pipelines []*crm.Pipeline
	Filter    form
	Months    []int
	Charts    []forecastChart
}

// forecastChart is the chart of one currency.
type forecastChart struct {
	Currency string
	SVG      template.HTML
	Legend   template.HTML
}

// MonthName labels a month of the forecast in the user's language.
func (d *forecastPage) MonthName(m sales.Month) string { return monthName(d.L, d.F.Calendar, m) }

func monthName(p *locale.Printer, calendar string, m sales.Month) string {
	name := p.T("month.gregorian." + strconv.Itoa(m.Month))
	if calendar == text.CalendarJalali {
		name = text.JalaliMonthName(m.Month, p.Lang())
	}
	return p.T("sales.forecast.month", "month", name, "year", p.Digits(strconv.Itoa(m.Year)))
}

// Lines returns the owners' or the pipelines' lines.
func (d *forecastPage) Lines(kind string) []sales.ForecastLine {
	if kind == "owners" {
		return d.F.Owners
	}
	return d.F.Pipelines
}

// DealCount counts the deals of amounts of several currencies.
func (d *forecastPage) DealCount(list []sales.Amount) string {
	var n int64
	for _, a := range list {
		n += a.Count
	}
	return d.L.Number(n)
}

// Cell formats the weighted amounts of one month of a line.
func (d *forecastPage) Cell(l sales.ForecastLine, i int) string {
	if len(l.Cells[i]) == 0 {
		return ""
	}
	return totalsText(d.L, l.Cells[i], true)
}

// Name names an owner or pipeline line.
func (d *forecastPage) Name(l sales.ForecastLine, owners bool) string {
	switch {
	case l.Name != "":
		return l.Name
	case owners && l.ID == 0:
		return d.L.T("sales.no_owner")
	}
	return "#" + strconv.FormatInt(l.ID, 10)
}

func (s *server) handleForecast(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	q := r.URL.Query()
	d := &forecastPage{salesBase: s.salesPage(r, "sales.forecast.title", "forecast"), Filter: form{Values: map[string]string{}}, Months: []int{3, 6, 12}}
	for _, k := range []string{"pipeline", "owner", "months", "from"} {
		d.Filter.Values[k] = strings.TrimSpace(q.Get(k))
	}
	fq := sales.ForecastQuery{Calendar: p.Calendar(), Start: p.In(nowFunc()), Months: 6}
	if v := d.Filter.V("months"); v != "" {
		n, err := p.ParseInt(v)
		if err != nil || !slices.Contains(d.Months, int(n)) {
			d.Filter.invalid(p, "months", "error.choose_option")
		} else {
			fq.Months = int(n)
		}
	}
	if v := d.Filter.V("from"); v != "" {
		t, err := p.ParseDate(v)
		if err != nil {
			d.Filter.invalid(p, "from", "sales.error.date", "example", p.DateInput(nowFunc()))
		} else {
			fq.Start = t
		}
	}
	for _, k := range []string{"pipeline", "owner"} {
		if v := d.Filter.V(k); v != "" {
			id, err := strconv.ParseInt(text.ToASCIIDigits(v), 10, 64)
			if err != nil || id <= 0 {
				d.Filter.invalid(p, k, "error.choose_option")
				continue
			}
			if k == "pipeline" {
				fq.PipelineID = id
			} else {
				fq.OwnerID = id
			}
		}
	}
	status := http.StatusOK
	if !d.Filter.ok() {
		status = http.StatusUnprocessableEntity
	}
	var err error
	if d.F, err = s.sales.Forecast(ctx, fq); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Charts = forecastCharts(p, d.F)
	if d.Pipelines, err = s.sales.Pipelines(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.salesChoices, err = s.salesChoices(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "sales_forecast", d)
}

// forecastCharts draws, per currency, the weighted and the full value of
// each month.
func forecastCharts(p *locale.Printer, f *sales.Forecast) []forecastChart {
	var out []forecastChart
	rtl := p.Dir() == "rtl"
	for _, cur := range f.Currencies {
		labels := make([]string, len(f.Months))
		weighted := chart.Series{Name: p.T("sales.forecast.weighted")}
		value := chart.Series{Name: p.T("sales.forecast.value")}
		dated := false
		for i, m := range f.Months {
			labels[i] = monthName(p, f.Calendar, m)
			var wv, vv int64
			for _, a := range f.Totals.Cells[i] {
				if a.Currency == cur {
					wv, vv = a.Weighted, a.Value
					dated = dated || a.Count > 0
				}
			}
			weighted.Values = append(weighted.Values, major(wv, cur))
			value.Values = append(value.Values, major(vv, cur))
		}
		if !dated {
			// Only overdue or undated deals in this currency: an empty
			// chart would say nothing; the table below has them.
			continue
		}
		c := chart.Bar{Common: chart.Common{ID: "forecast-" + strings.ToLower(cur), Title: p.T("sales.forecast.chart", "currency", cur),
			Desc: p.T("sales.forecast.chart_desc"), RTL: rtl, Sep: p.Sep(), Format: func(v float64) string { return compact(p, v) }},
			Labels: labels, Series: []chart.Series{weighted, value}}
		out = append(out, forecastChart{Currency: cur, SVG: template.HTML(c.SVG()), Legend: template.HTML(chart.Legend(weighted.Name, value.Name))})
	}
	return out
}

// --- Activities ---

type activitiesPage struct {
	salesBase
	Tasks   []*crm.Task
	About   map[int64]taskRef
	Deals   map[int64]string
	Users   []*crm.User
	Names   map[int64]string
	Team    []sales.RepActivity
	Filter  form
	Views   []string
	Kinds   []string
	Back    string
	Overdue bool
}

// Kind names an activity kind.
func (d *activitiesPage) Kind(k string) string { return activityKind(d.L, k) }

func activityKind(p *locale.Printer, k string) string {
	if k == "" {
		k = crm.ActivityTask
	}
	return p.T("activity.kind." + k)
}

func (s *server) handleSalesActivities(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	q := r.URL.Query()
	d := &activitiesPage{salesBase: s.salesPage(r, "sales.activities.title", "activities"), Filter: form{Values: map[string]string{}},
		Views: []string{"overdue", "open", "done"}, Kinds: crm.ActivityKinds, Deals: map[int64]string{}}
	for _, k := range []string{"user", "view", "kind"} {
		d.Filter.Values[k] = strings.TrimSpace(q.Get(k))
	}
	if d.Filter.V("view") == "" {
		d.Filter.Values["view"] = "overdue"
	}
	if d.Filter.V("user") == "" {
		d.Filter.Values["user"] = strconv.FormatInt(st.user.ID, 10)
	}
	f := crm.TaskFilter{Kind: d.Filter.V("kind"), Limit: 100}
	if f.Kind != "" && !slices.Contains(crm.ActivityKinds, f.Kind) {
		d.Filter.invalid(p, "kind", "error.choose_option")
		f.Kind = ""
	}
	if id, err := strconv.ParseInt(d.Filter.V("user"), 10, 64); err == nil && id > 0 {
		f.AssigneeID = id
	} else {
		d.Filter.invalid(p, "user", "error.choose_option")
		f.AssigneeID = st.user.ID
	}
	now := nowFunc()
	open, done := true, false
	switch d.Filter.V("view") {
	case "overdue":
		f.Open, f.DueBefore = &open, &now
		d.Overdue = true
	case "open":
		f.Open = &open
	case "done":
		f.Open = &done
	default:
		d.Filter.invalid(p, "view", "error.choose_option")
		f.Open = &open
	}
	var err error
	if d.Tasks, _, err = s.activity.ListTasks(ctx, f); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.About, err = s.taskTargets(ctx, d.Tasks); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.dealTitles(ctx, d.Tasks, d.Deals)
	users, err := s.users(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Users, d.Names = users.Active, users.Names
	month := now.AddDate(0, 0, -30)
	if d.Team, err = s.sales.ActivityPerRep(ctx, sales.Period{From: month, To: now.Add(time.Minute)}); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Back = r.URL.RequestURI()
	status := http.StatusOK
	if !d.Filter.ok() {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "sales_activities", d)
}

// dealTitles names the deals of tasks the user may see.
func (s *server) dealTitles(ctx context.Context, tasks []*crm.Task, out map[int64]string) {
	for _, t := range tasks {
		if t.DealID == 0 {
			continue
		}
		if _, done := out[t.DealID]; done {
			continue
		}
		out[t.DealID] = ""
		if d, err := s.sales.Deal(ctx, t.DealID); err == nil {
			out[t.DealID] = d.Title
		}
	}
}

// Late says how long ago a task was due.
func (d *activitiesPage) Late(t *crm.Task) string {
	if t.DueAt == nil {
		return ""
	}
	return durationText(d.L, nowFunc().Sub(*t.DueAt))
}
