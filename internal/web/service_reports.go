package web

import (
	"html/template"
	"math"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/chart"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
)

// The service panels of the dashboards (reports_dashboards.go's
// registry): the backlog now; for the dashboard's range, the volume by
// channel and category, first-response and resolution times per agent and
// team (fastest first), the SLA hit rate, satisfaction (CSAT) and the
// return reasons by product. They replace the registry's "service_kpis"
// placeholder (this file's init runs after reports_widgets.go's) and join
// the service and manager dashboards. One desk.Report is read per view.

func init() {
	on := func(s *server) bool { return s.desk != nil }
	reads := []crm.Permission{crm.PermServiceRead}
	registerWidget(reportWidget{Key: "service_kpis", Perms: reads, Module: "module.service", On: on, Load: loadServiceKPIs})
	registerWidget(reportWidget{Key: "service_backlog", Perms: reads, Module: "module.service", On: on, Load: loadServiceBacklog})
	registerWidget(reportWidget{Key: "service_volume", Perms: reads, Module: "module.service", On: on, Load: loadServiceVolume})
	registerWidget(reportWidget{Key: "service_times", Perms: reads, Module: "module.service", On: on, Load: loadServiceTimes})
	registerWidget(reportWidget{Key: "service_sla", Perms: reads, Module: "module.service", On: on, Load: loadServiceSLA})
	registerWidget(reportWidget{Key: "service_csat", Perms: reads, Module: "module.service", On: on, Load: loadServiceCSAT})
	registerWidget(reportWidget{Key: "service_returns", Perms: reads, Module: "module.service", On: on, Load: loadServiceReturns})
	for _, k := range []string{"service_backlog", "service_volume", "service_times", "service_sla", "service_csat", "service_returns"} {
		addToDashboard("service", k)
	}
	addToDashboard("manager", "service_csat")
}

// serviceReport reads the desk's report of the dashboard's range once per
// view (in the business time zone's days).
func (s *server) serviceReport(rq *reportRequest) (*desk.Report, error) {
	if rq.service != nil {
		return rq.service, nil
	}
	loc := time.UTC
	if rq.status != nil {
		loc = locationOr(rq.status.TimeZone)
	}
	r, err := s.desk.Report(rq.ctx, desk.ReportPeriod{From: rq.q.Range.From.Start(loc), To: rq.q.Range.To.AddDays(1).Start(loc)})
	if err != nil {
		return nil, err
	}
	rq.service = r
	return r, nil
}

func durationCell(rq *reportRequest, d time.Duration, n int) reportCell {
	if n == 0 {
		return reportCell{Text: "—"}
	}
	return reportCell{Text: serviceDuration(rq.p, d), CSV: fmtFloat(math.Round(d.Minutes()*10) / 10)}
}

// fmtFloat writes a number for the CSV: no exponent, no trailing zeros.
func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func loadServiceKPIs(s *server, rq *reportRequest) (*reportPanel, error) {
	r, err := s.serviceReport(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "service_kpis")
	out.Description = p.T("service.report.kpis.description")
	rate := func(m string) string {
		for _, x := range r.SLA {
			if x.Metric == m && x.Rate >= 0 {
				return percent(p, x.Rate, 0)
			}
		}
		return "—"
	}
	out.KPIs = []reportKPI{
		{Label: p.T("service.report.kpi.active"), Value: p.Number(r.Active)},
		{Label: p.T("service.report.kpi.created"), Value: p.Int(r.NewCount)},
		{Label: p.T("service.report.kpi.solved"), Value: p.Int(r.SolvedN)},
		{Label: p.T("service.report.kpi.first_response"), Value: medianText(rq, r.Overall.FirstResponse)},
		{Label: p.T("service.report.kpi.resolution"), Value: medianText(rq, r.Overall.Resolution)},
		{Label: p.T("service.report.kpi.sla_first"), Value: rate(crm.MetricFirstResponse)},
		{Label: p.T("service.report.kpi.csat"), Value: csatText(rq, r.CSAT)},
	}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.figure")}, {Label: p.T("service.report.col.value"), Num: true}}}
	for _, k := range out.KPIs {
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(k.Label), textCell(k.Value)})
	}
	out.Table = tbl
	out.More = &reportLink{Label: p.T("service.report.open_desk"), Href: "/service"}
	return out, nil
}

func medianText(rq *reportRequest, d desk.DurationStats) string {
	if d.N == 0 {
		return "—"
	}
	return serviceDuration(rq.p, d.Median)
}

func csatText(rq *reportRequest, c desk.CSAT) string {
	if c.Answers == 0 {
		return "—"
	}
	return rq.p.T("service.report.csat_value", "average", formatShare(rq, c.Average), "satisfied", percent(rq.p, c.Satisfied, 0))
}

func formatShare(rq *reportRequest, f float64) string {
	return rq.p.Digits(fmtFloat(math.Round(f*10) / 10))
}

func loadServiceBacklog(s *server, rq *reportRequest) (*reportPanel, error) {
	r, err := s.serviceReport(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "service_backlog")
	out.Description = p.T("service.report.backlog.description")
	out.Notes = append(out.Notes, p.T("service.report.as_of_now"))
	cols := []reportColumn{{Label: p.T("service.field.status")}}
	for _, pr := range crm.TicketPriorities {
		cols = append(cols, reportColumn{Label: p.T("service.priority." + pr), Num: true})
	}
	cols = append(cols, reportColumn{Label: p.T("reports.total"), Num: true})
	tbl := &reportTable{Caption: out.Title, Columns: cols}
	var labels []string
	series := make([]chart.Series, len(crm.TicketPriorities))
	for i, pr := range crm.TicketPriorities {
		series[i].Name = p.T("service.priority." + pr)
	}
	for _, st := range crm.ActiveTicketStatuses {
		row := []reportCell{textCell(p.T("service.status." + st))}
		var total int64
		for i, pr := range crm.TicketPriorities {
			n := r.Backlog[st][pr]
			total += n
			row = append(row, intCell(p, n))
			series[i].Values = append(series[i].Values, float64(n))
		}
		row = append(row, intCell(p, total))
		tbl.Rows = append(tbl.Rows, row)
		labels = append(labels, p.T("service.status."+st))
	}
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), {}, {}, {}, {}, intCell(p, r.Active)}
	out.Table = tbl
	out.More = &reportLink{Label: p.T("service.report.open_desk"), Href: "/service?queue=all"}
	if r.Active == 0 {
		out.Empty = p.T("service.report.empty.backlog")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("service.report.kpi.active"), Value: p.Number(r.Active)}}
	if r.Oldest != nil {
		out.KPIs = append(out.KPIs, reportKPI{Label: p.T("service.report.kpi.oldest"), Value: serviceDuration(p, nowFunc().Sub(*r.Oldest))})
	}
	c := chart.Bar{Common: rq.common("service-backlog", out.Title, p.T("service.report.backlog.chart")), Labels: labels, Series: series, Stacked: true}
	out.Chart = template.HTML(c.SVG())
	names := make([]string, len(series))
	for i, x := range series {
		names[i] = x.Name
	}
	out.Legend = template.HTML(chart.Legend(names...))
	return out, nil
}

func loadServiceVolume(s *server, rq *reportRequest) (*reportPanel, error) {
	r, err := s.serviceReport(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "service_volume")
	out.Description = p.T("service.report.volume.description")
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("service.report.col.by")}, {Label: p.T("service.report.col.value")},
		{Label: p.T("service.report.col.tickets"), Num: true}, {Label: p.T("service.report.col.share"), Num: true}}}
	var total int64
	for _, c := range r.ByChannel {
		total += c.N
	}
	var labels []string
	var values []float64
	for _, c := range r.ByChannel {
		name := p.T("service.channel." + c.Key)
		labels, values = append(labels, name), append(values, float64(c.N))
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(p.T("service.field.channel")), textCell(name), intCell(p, c.N), shareCell(p, ratioOf(c.N, total))})
	}
	for _, c := range r.ByCategory {
		name := c.Key
		if name == "" {
			name = p.T("service.report.no_category")
		}
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(p.T("service.field.category")), textCell(name), intCell(p, c.N), shareCell(p, ratioOf(c.N, total))})
	}
	out.Table = tbl
	if total == 0 {
		out.Empty = p.T("service.report.empty.created")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("service.report.kpi.created"), Value: p.Number(total)}}
	c := chart.Donut{Common: rq.common("service-channels", p.T("service.report.volume.chart"), p.T("service.report.volume.chart")),
		Labels: labels, Values: values, Center: p.Number(total)}
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(labels...))
	return out, nil
}

func loadServiceTimes(s *server, rq *reportRequest) (*reportPanel, error) {
	r, err := s.serviceReport(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "service_times")
	out.Description = p.T("service.report.times.description")
	out.Wide = true
	if r.Capped {
		out.Notes = append(out.Notes, p.T("service.report.capped"))
	}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("service.report.col.who")}, {Label: p.T("service.report.col.kind")},
		{Label: p.T("service.report.col.solved"), Num: true}, {Label: p.T("service.report.col.first_median"), Num: true},
		{Label: p.T("service.report.col.resolution_median"), Num: true}, {Label: p.T("service.report.col.resolution_average"), Num: true}}}
	add := func(kind string, t desk.AgentTimes) {
		name := t.Name
		if name == "" {
			name = "#" + strconv.FormatInt(t.ID, 10)
		}
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(name), textCell(kind), intCell(p, int64(t.Solved)),
			durationCell(rq, t.FirstResponse.Median, t.FirstResponse.N), durationCell(rq, t.Resolution.Median, t.Resolution.N),
			durationCell(rq, t.Resolution.Average, t.Resolution.N)})
	}
	var labels []string
	first := chart.Series{Name: p.T("service.report.col.first_median")}
	res := chart.Series{Name: p.T("service.report.col.resolution_median")}
	for _, a := range r.Agents {
		add(p.T("service.report.agent"), a)
		name := a.Name
		if name == "" {
			name = "#" + strconv.FormatInt(a.ID, 10)
		}
		labels = append(labels, name)
		first.Values = append(first.Values, a.FirstResponse.Median.Hours())
		res.Values = append(res.Values, a.Resolution.Median.Hours())
	}
	for _, t := range r.Teams {
		add(p.T("service.report.team"), t)
	}
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), {}, intCell(p, int64(r.Overall.Solved)),
		durationCell(rq, r.Overall.FirstResponse.Median, r.Overall.FirstResponse.N), durationCell(rq, r.Overall.Resolution.Median, r.Overall.Resolution.N),
		durationCell(rq, r.Overall.Resolution.Average, r.Overall.Resolution.N)}
	out.Table = tbl
	if r.Overall.Solved == 0 {
		out.Empty = p.T("service.report.empty.solved")
		return out, nil
	}
	if len(r.Agents) > 0 {
		out.KPIs = []reportKPI{{Label: p.T("service.report.kpi.fastest"), Value: nameOrID(r.Agents[0])}}
		c := chart.Bar{Common: rq.common("service-times", out.Title, p.T("service.report.times.chart")), Labels: labels, Series: []chart.Series{first, res},
			Horizontal: true}
		c.Format = func(v float64) string {
			return p.T("service.report.hours", "count", p.Digits(fmtFloat(math.Round(v*10)/10)))
		}
		c.Height = 70 + 44*len(labels)
		out.Chart = template.HTML(c.SVG())
		out.Legend = template.HTML(chart.Legend(first.Name, res.Name))
	}
	return out, nil
}

func nameOrID(t desk.AgentTimes) string {
	if t.Name != "" {
		return t.Name
	}
	return "#" + strconv.FormatInt(t.ID, 10)
}

func loadServiceSLA(s *server, rq *reportRequest) (*reportPanel, error) {
	r, err := s.serviceReport(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "service_sla")
	out.Description = p.T("service.report.sla.description")
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("service.report.col.target")},
		{Label: p.T("service.sla.status.hit"), Num: true}, {Label: p.T("service.sla.status.missed"), Num: true},
		{Label: p.T("service.sla.status.breached"), Num: true}, {Label: p.T("service.report.col.running"), Num: true},
		{Label: p.T("service.report.col.hit_rate"), Num: true}}}
	var labels []string
	hit := chart.Series{Name: p.T("service.sla.status.hit")}
	miss := chart.Series{Name: p.T("service.report.col.missed_or_breached")}
	any := false
	for _, x := range r.SLA {
		name := p.T("service.metric." + x.Metric)
		rate := math.NaN()
		if x.Rate >= 0 {
			rate = x.Rate
			any = true
		}
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(name), intCell(p, x.Hit), intCell(p, x.Missed), intCell(p, x.Breached), intCell(p, x.Open), shareCell(p, rate)})
		labels = append(labels, name)
		hit.Values = append(hit.Values, float64(x.Hit))
		miss.Values = append(miss.Values, float64(x.Missed+x.Breached))
		if x.Rate >= 0 {
			out.KPIs = append(out.KPIs, reportKPI{Label: p.T("service.report.kpi.rate_of", "metric", name), Value: percent(p, x.Rate, 0)})
		}
	}
	out.Table = tbl
	if !any {
		out.Empty = p.T("service.report.empty.sla")
		return out, nil
	}
	c := chart.Bar{Common: rq.common("service-sla", out.Title, p.T("service.report.sla.chart")), Labels: labels, Series: []chart.Series{hit, miss}, Stacked: true,
		Horizontal: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 160
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(hit.Name, miss.Name))
	return out, nil
}

func loadServiceCSAT(s *server, rq *reportRequest) (*reportPanel, error) {
	r, err := s.serviceReport(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "service_csat")
	out.Description = p.T("service.report.csat.description")
	c := r.CSAT
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("service.report.col.who")}, {Label: p.T("service.report.col.answers"), Num: true},
		{Label: p.T("service.report.col.average"), Num: true}}}
	for _, a := range c.ByAgent {
		name := a.Name
		if name == "" {
			name = "#" + strconv.FormatInt(a.ID, 10)
		}
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(name), intCell(p, a.Answers), {Text: formatShare(rq, a.Average), CSV: fmtFloat(math.Round(a.Average*100) / 100)}})
	}
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), intCell(p, c.Answers), {Text: formatShare(rq, c.Average), CSV: fmtFloat(math.Round(c.Average*100) / 100)}}
	out.Table = tbl
	if c.Answers == 0 {
		out.Empty = p.T("service.report.empty.csat")
		if c.Sent > 0 {
			out.Notes = append(out.Notes, p.T("service.report.csat_sent", "count", c.Sent))
		}
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("service.report.kpi.csat"), Value: csatText(rq, c)},
		{Label: p.T("service.report.kpi.answers"), Value: p.T("service.report.answers_of", "answers", p.Number(c.Answers), "sent", p.Number(c.Sent))}}
	var labels []string
	var values []float64
	for i := 4; i >= 0; i-- {
		labels = append(labels, stars(i+1))
		values = append(values, float64(c.Ratings[i]))
	}
	bar := chart.Bar{Common: rq.common("service-csat", out.Title, p.T("service.report.csat.chart")), Labels: labels,
		Series: []chart.Series{{Name: p.T("service.report.col.answers"), Values: values}}, Horizontal: true, ValueLabels: true}
	bar.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	bar.Height = 60 + 36*len(labels)
	out.Chart = template.HTML(bar.SVG())
	return out, nil
}

func stars(n int) string { return serviceFuncs["stars"].(func(int) string)(n) }

func loadServiceReturns(s *server, rq *reportRequest) (*reportPanel, error) {
	r, err := s.serviceReport(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "service_returns")
	out.Description = p.T("service.report.returns.description")
	out.Wide = true
	cols := []reportColumn{{Label: p.T("service.returns.product")}}
	for _, reason := range crm.ReturnReasons {
		cols = append(cols, reportColumn{Label: p.T("service.reason." + reason), Num: true})
	}
	cols = append(cols, reportColumn{Label: p.T("reports.total"), Num: true})
	tbl := &reportTable{Caption: out.Title, Columns: cols}
	series := make([]chart.Series, len(crm.ReturnReasons))
	for i, reason := range crm.ReturnReasons {
		series[i].Name = p.T("service.reason." + reason)
	}
	var labels []string
	for i, x := range r.Returns {
		row := []reportCell{textCell(x.Product)}
		for j, reason := range crm.ReturnReasons {
			row = append(row, intCell(p, x.Reasons[reason]))
			if i < 12 {
				series[j].Values = append(series[j].Values, float64(x.Reasons[reason]))
			}
		}
		row = append(row, intCell(p, x.Total))
		tbl.Rows = append(tbl.Rows, row)
		if i < 12 {
			labels = append(labels, x.Product)
		}
	}
	out.Table = tbl
	out.More = &reportLink{Label: p.T("service.report.open_returns"), Href: "/service/returns?open=0"}
	if len(r.Returns) == 0 {
		out.Empty = p.T("service.report.empty.returns")
		return out, nil
	}
	c := chart.Bar{Common: rq.common("service-returns", out.Title, p.T("service.report.returns.chart")), Labels: labels, Series: series, Stacked: true,
		Horizontal: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 70 + 40*len(labels)
	out.Chart = template.HTML(c.SVG())
	names := make([]string, len(series))
	for i, x := range series {
		names[i] = x.Name
	}
	out.Legend = template.HTML(chart.Legend(names...))
	return out, nil
}
