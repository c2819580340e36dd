package web

import (
	"html/template"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/chart"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
)

// The sales panels of the dashboards (reports_dashboards.go's registry):
// pipeline value by stage, the stage-to-stage funnel, win rate and sales
// cycle per owner, won and lost by reason, activity per rep and the
// weighted forecast. They replace the registry's "pipeline" placeholder
// (this file's init runs after reports_widgets.go's, files being
// initialised in name order) and join the sales and manager dashboards.
// Each covers the dashboard's range where a period applies; the pipeline
// and the forecast are as of now.

func init() {
	on := func(s *server) bool { return s.sales != nil }
	reads := []crm.Permission{crm.PermSalesRead}
	registerWidget(reportWidget{Key: "pipeline", Perms: reads, Module: "module.sales", On: on, Load: loadSalesPipeline})
	registerWidget(reportWidget{Key: "sales_funnel", Perms: reads, Module: "module.sales", On: on, Load: loadSalesFunnel})
	registerWidget(reportWidget{Key: "sales_win_rate", Perms: reads, Module: "module.sales", On: on, Load: loadSalesWinRate})
	registerWidget(reportWidget{Key: "sales_reasons", Perms: reads, Module: "module.sales", On: on, Load: loadSalesReasons})
	registerWidget(reportWidget{Key: "sales_activity", Perms: []crm.Permission{crm.PermSalesRead, crm.PermContactsRead}, Module: "module.sales", On: on,
		Load: loadSalesActivity})
	registerWidget(reportWidget{Key: "sales_forecast", Perms: reads, Module: "module.sales", On: on, Load: loadSalesForecast})
	for _, k := range []string{"sales_forecast", "sales_funnel", "sales_win_rate", "sales_reasons", "sales_activity"} {
		addToDashboard("sales", k)
	}
	for _, k := range []string{"sales_forecast", "sales_win_rate"} {
		addToDashboard("manager", k)
	}
}

// salesPeriod is the dashboard's range as instants in the business time
// zone.
func salesPeriod(rq *reportRequest) sales.Period {
	loc := time.UTC
	if rq.status != nil {
		loc = locationOr(rq.status.TimeZone)
	}
	return sales.Period{From: rq.q.Range.From.Start(loc), To: rq.q.Range.To.AddDays(1).Start(loc)}
}

// salesCurrencyOf picks the currency a panel draws: the one asked for
// when it has figures, else the one with the most deals.
func salesCurrencyOf(rq *reportRequest, lists ...[]sales.Amount) string {
	count := map[string]int64{}
	for _, l := range lists {
		for _, a := range l {
			count[a.Currency] += max(a.Count, 1)
		}
	}
	if _, ok := count[rq.q.Currency]; ok && rq.q.Currency != "" {
		return rq.q.Currency
	}
	best := ""
	for c, n := range count {
		if best == "" || n > count[best] || n == count[best] && c < best {
			best = c
		}
	}
	return best
}

func amountOf(list []sales.Amount, currency string) sales.Amount {
	for _, a := range list {
		if a.Currency == currency {
			return a
		}
	}
	return sales.Amount{Currency: currency}
}

func loadSalesPipeline(s *server, rq *reportRequest) (*reportPanel, error) {
	p := rq.p
	out := newPanel(rq, "pipeline")
	out.Description = p.T("sales.report.pipeline.description")
	out.Notes = append(out.Notes, p.T("sales.report.as_of_now"))
	pipes, err := s.sales.Pipelines(rq.ctx)
	if err != nil {
		return nil, err
	}
	type row struct {
		pipe string
		col  sales.BoardColumn
	}
	var rows []row
	var all [][]sales.Amount
	for _, pl := range pipes {
		_, cols, err := s.sales.StageValues(rq.ctx, pl.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			rows = append(rows, row{pl.Name, c})
			all = append(all, c.Totals)
		}
	}
	cur := salesCurrencyOf(rq, all...)
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("sales.report.col.pipeline")}, {Label: p.T("sales.report.col.stage")},
		{Label: p.T("sales.report.col.probability"), Num: true}, {Label: p.T("sales.report.col.deals"), Num: true},
		{Label: p.T("sales.report.col.value", "currency", cur), Num: true}, {Label: p.T("sales.report.col.weighted", "currency", cur), Num: true}}}
	value := chart.Series{Name: p.T("sales.forecast.value")}
	weighted := chart.Series{Name: p.T("sales.forecast.weighted")}
	var labels []string
	var n, tv, tw int64
	for _, r := range rows {
		a := amountOf(r.col.Totals, cur)
		label := r.col.Stage.Name
		if len(pipes) > 1 {
			label = r.pipe + " › " + label
		}
		labels = append(labels, label)
		value.Values = append(value.Values, major(a.Value, cur))
		weighted.Values = append(weighted.Values, major(a.Weighted, cur))
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(r.pipe), textCell(r.col.Stage.Name), shareCell(p, float64(r.col.Stage.Probability)/100),
			intCell(p, a.Count), moneyCell(p, a.Value, cur), moneyCell(p, a.Weighted, cur)})
		n, tv, tw = n+a.Count, tv+a.Value, tw+a.Weighted
	}
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), {}, {}, intCell(p, n), moneyCell(p, tv, cur), moneyCell(p, tw, cur)}
	out.Table = tbl
	out.More = &reportLink{Label: p.T("sales.report.open_board"), Href: "/sales"}
	if n == 0 {
		out.Empty = p.T("sales.report.empty.open")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("sales.report.kpi.open", "currency", cur), Value: moneyAmount(p, tv, cur)},
		{Label: p.T("sales.report.kpi.weighted", "currency", cur), Value: moneyAmount(p, tw, cur)},
		{Label: p.T("sales.report.kpi.deals"), Value: p.Number(n)}}
	c := chart.Bar{Common: rq.common("pipeline", out.Title, p.T("sales.report.pipeline.chart", "currency", cur)), Labels: labels,
		Series: []chart.Series{value, weighted}, Horizontal: true}
	c.Height = 70 + 44*len(labels)
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(value.Name, weighted.Name))
	return out, nil
}

func loadSalesFunnel(s *server, rq *reportRequest) (*reportPanel, error) {
	p := rq.p
	out := newPanel(rq, "sales_funnel")
	pipes, err := s.sales.Pipelines(rq.ctx)
	if err != nil {
		return nil, err
	}
	if len(pipes) == 0 {
		out.Empty = p.T("sales.report.empty.pipelines")
		return out, nil
	}
	f, err := s.sales.Funnel(rq.ctx, pipes[0].ID, salesPeriod(rq))
	if err != nil {
		return nil, err
	}
	out.Notes = append(out.Notes, p.T("sales.report.funnel.note", "pipeline", f.Pipeline.Name))
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("sales.report.col.stage")}, {Label: p.T("sales.report.col.reached"), Num: true},
		{Label: p.T("sales.report.col.conversion"), Num: true}, {Label: p.T("sales.report.col.of_all"), Num: true}}}
	var labels []string
	var values []float64
	for _, st := range f.Steps {
		labels = append(labels, st.Stage.Name)
		values = append(values, float64(st.Reached))
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(st.Stage.Name), intCell(p, st.Reached), shareCell(p, st.Conversion), shareCell(p, ratioOf(st.Reached, f.Deals))})
	}
	won, _ := f.Pipeline.StageOfKind(crm.StageWon)
	last := int64(0)
	if len(f.Steps) > 0 {
		last = f.Steps[len(f.Steps)-1].Reached
	}
	labels = append(labels, won.Name)
	values = append(values, float64(f.Won))
	tbl.Rows = append(tbl.Rows, []reportCell{textCell(won.Name), intCell(p, f.Won), shareCell(p, ratioOf(f.Won, last)), shareCell(p, ratioOf(f.Won, f.Deals))})
	out.Table = tbl
	if f.Deals == 0 {
		out.Empty = p.T("sales.report.empty.created")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("sales.report.kpi.new_deals"), Value: p.Number(f.Deals)}, {Label: p.T("sales.report.kpi.won"), Value: p.Number(f.Won)},
		{Label: p.T("sales.report.kpi.lost"), Value: p.Number(f.Lost)}, {Label: p.T("sales.report.kpi.still_open"), Value: p.Number(f.Open)}}
	c := chart.Bar{Common: rq.common("sales-funnel", out.Title, p.T("sales.report.funnel.chart")), Labels: labels,
		Series: []chart.Series{{Name: p.T("sales.report.col.reached"), Values: values}}, Funnel: true, ValueLabels: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 60 + 40*len(labels)
	out.Chart = template.HTML(c.SVG())
	return out, nil
}

func ratioOf(a, b int64) float64 {
	if b <= 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

func ownerLabel(rq *reportRequest, names *sales.Names, id int64) string {
	if n := names.Users[id]; n != "" {
		return n
	}
	return rq.p.T("sales.no_owner")
}

func loadSalesWinRate(s *server, rq *reportRequest) (*reportPanel, error) {
	p := rq.p
	out := newPanel(rq, "sales_win_rate")
	o, err := s.sales.Outcomes(rq.ctx, 0, salesPeriod(rq))
	if err != nil {
		return nil, err
	}
	var all [][]sales.Amount
	for _, ow := range o.Owners {
		all = append(all, ow.WonValue)
	}
	cur := salesCurrencyOf(rq, all...)
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("sales.report.col.owner")}, {Label: p.T("sales.report.col.won"), Num: true},
		{Label: p.T("sales.report.col.lost"), Num: true}, {Label: p.T("sales.report.col.win_rate"), Num: true},
		{Label: p.T("sales.report.col.cycle"), Num: true}, {Label: p.T("sales.report.col.won_value", "currency", cur), Num: true}}}
	won := chart.Series{Name: p.T("sales.report.col.won")}
	lost := chart.Series{Name: p.T("sales.report.col.lost")}
	var labels []string
	for _, ow := range o.Owners {
		name := ownerLabel(rq, o.Names, ow.OwnerID)
		labels = append(labels, name)
		won.Values = append(won.Values, float64(ow.Won))
		lost.Values = append(lost.Values, float64(ow.Lost))
		cycle := math.NaN()
		if ow.Won > 0 {
			cycle = ow.Cycle.Hours() / 24
		}
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(name), intCell(p, ow.Won), intCell(p, ow.Lost), shareCell(p, ow.WinRate),
			decimalCell(p, cycle, 1), moneyCell(p, amountOf(ow.WonValue, cur).Value, cur)})
	}
	cycle := math.NaN()
	if o.Won > 0 {
		cycle = o.Cycle.Hours() / 24
	}
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), intCell(p, o.Won), intCell(p, o.Lost), shareCell(p, o.WinRate), decimalCell(p, cycle, 1),
		moneyCell(p, amountOf(o.WonValue, cur).Value, cur)}
	out.Table = tbl
	out.Notes = append(out.Notes, p.T("sales.report.win_rate.note"))
	if o.Won+o.Lost == 0 {
		out.Empty = p.T("sales.report.empty.closed")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("sales.report.col.win_rate"), Value: shareCell(p, o.WinRate).Text},
		{Label: p.T("sales.report.kpi.cycle"), Value: p.T("sales.duration.days", "count", int64(math.Round(cycle)))}}
	c := chart.Bar{Common: rq.common("sales-win-rate", out.Title, p.T("sales.report.win_rate.chart")), Labels: labels,
		Series: []chart.Series{won, lost}, Horizontal: true, Stacked: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 70 + 40*len(labels)
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(won.Name, lost.Name))
	return out, nil
}

func loadSalesReasons(s *server, rq *reportRequest) (*reportPanel, error) {
	p := rq.p
	out := newPanel(rq, "sales_reasons")
	o, err := s.sales.Outcomes(rq.ctx, 0, salesPeriod(rq))
	if err != nil {
		return nil, err
	}
	var all [][]sales.Amount
	for _, r := range o.Reasons {
		all = append(all, r.Value)
	}
	all = append(all, o.WonValue)
	cur := salesCurrencyOf(rq, all...)
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("sales.report.col.outcome")}, {Label: p.T("sales.report.col.deals"), Num: true},
		{Label: p.T("sales.report.col.value", "currency", cur), Num: true}, {Label: p.T("sales.report.col.share_lost"), Num: true}}}
	wonV := amountOf(o.WonValue, cur)
	tbl.Rows = append(tbl.Rows, []reportCell{textCell(p.T("sales.report.won_row")), intCell(p, o.Won), moneyCell(p, wonV.Value, cur), {}})
	var labels []string
	var values []float64
	for _, r := range o.Reasons {
		name := r.Name
		if r.ReasonID == 0 {
			name = p.T("sales.report.no_reason")
		}
		labels = append(labels, name)
		values = append(values, float64(r.Lost))
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(p.T("sales.report.lost_row", "reason", name)), intCell(p, r.Lost),
			moneyCell(p, amountOf(r.Value, cur).Value, cur), shareCell(p, ratioOf(r.Lost, o.Lost))})
	}
	out.Table = tbl
	if o.Won+o.Lost == 0 {
		out.Empty = p.T("sales.report.empty.closed")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("sales.report.kpi.won"), Value: p.Number(o.Won)}, {Label: p.T("sales.report.kpi.lost"), Value: p.Number(o.Lost)}}
	if len(labels) == 0 {
		return out, nil
	}
	c := chart.Bar{Common: rq.common("sales-reasons", out.Title, p.T("sales.report.reasons.chart")), Labels: labels,
		Series: []chart.Series{{Name: p.T("sales.report.kpi.lost"), Values: values}}, Horizontal: true, ValueLabels: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 60 + 36*len(labels)
	out.Chart = template.HTML(c.SVG())
	return out, nil
}

func loadSalesActivity(s *server, rq *reportRequest) (*reportPanel, error) {
	p := rq.p
	out := newPanel(rq, "sales_activity")
	reps, err := s.sales.ActivityPerRep(rq.ctx, salesPeriod(rq))
	if err != nil {
		return nil, err
	}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("sales.report.col.rep")}, {Label: p.T("activity.kind.call"), Num: true},
		{Label: p.T("activity.kind.meeting"), Num: true}, {Label: p.T("activity.kind.task"), Num: true}, {Label: p.T("sales.report.col.done"), Num: true},
		{Label: p.T("sales.report.col.overdue_now"), Num: true}}}
	calls := chart.Series{Name: p.T("activity.kind.call")}
	meetings := chart.Series{Name: p.T("activity.kind.meeting")}
	tasks := chart.Series{Name: p.T("activity.kind.task")}
	var labels []string
	var done int64
	for _, r := range reps {
		name := r.Name
		if name == "" {
			name = "#" + strconv.FormatInt(r.UserID, 10)
		}
		labels = append(labels, name)
		calls.Values = append(calls.Values, float64(r.Calls))
		meetings.Values = append(meetings.Values, float64(r.Meetings))
		tasks.Values = append(tasks.Values, float64(r.Tasks))
		href := "/sales/activities?view=overdue&user=" + strconv.FormatInt(r.UserID, 10)
		tbl.Rows = append(tbl.Rows, []reportCell{linkCell(name, href), intCell(p, r.Calls), intCell(p, r.Meetings), intCell(p, r.Tasks),
			intCell(p, r.Done()), intCell(p, r.Overdue)})
		done += r.Done()
	}
	out.Table = tbl
	out.Notes = append(out.Notes, p.T("sales.report.activity.note"))
	if len(reps) == 0 {
		out.Empty = p.T("sales.report.empty.activity")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("sales.report.col.done"), Value: p.Number(done)}}
	if done == 0 {
		return out, nil
	}
	c := chart.Bar{Common: rq.common("sales-activity", out.Title, p.T("sales.report.activity.chart")), Labels: labels,
		Series: []chart.Series{calls, meetings, tasks}, Horizontal: true, Stacked: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 70 + 40*len(labels)
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(calls.Name, meetings.Name, tasks.Name))
	return out, nil
}

func loadSalesForecast(s *server, rq *reportRequest) (*reportPanel, error) {
	p := rq.p
	out := newPanel(rq, "sales_forecast")
	f, err := s.sales.Forecast(rq.ctx, sales.ForecastQuery{Calendar: rq.q.Calendar, Start: p.In(nowFunc()), Months: 6})
	if err != nil {
		return nil, err
	}
	cur := salesCurrencyOf(rq, f.Totals.Total)
	out.Notes = append(out.Notes, p.T("sales.report.as_of_now"), p.T("sales.report.forecast.note"))
	out.More = &reportLink{Label: p.T("sales.report.open_forecast"), Href: "/sales/forecast"}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.month")}, {Label: p.T("reports.col.from"), CSVOnly: true},
		{Label: p.T("reports.col.to"), CSVOnly: true}, {Label: p.T("sales.report.col.deals"), Num: true},
		{Label: p.T("sales.report.col.value", "currency", cur), Num: true}, {Label: p.T("sales.report.col.weighted", "currency", cur), Num: true}}}
	value := chart.Series{Name: p.T("sales.forecast.value")}
	weighted := chart.Series{Name: p.T("sales.forecast.weighted")}
	var labels []string
	addRow := func(label, from, to string, list []sales.Amount) {
		a := amountOf(list, cur)
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(label), {CSV: from}, {CSV: to}, intCell(p, a.Count), moneyCell(p, a.Value, cur), moneyCell(p, a.Weighted, cur)})
	}
	addRow(p.T("sales.forecast.overdue"), "", "", f.Totals.Overdue)
	for i, m := range f.Months {
		label := monthName(p, f.Calendar, m)
		labels = append(labels, label)
		a := amountOf(f.Totals.Cells[i], cur)
		value.Values = append(value.Values, major(a.Value, cur))
		weighted.Values = append(weighted.Values, major(a.Weighted, cur))
		addRow(label, m.First, m.Last, f.Totals.Cells[i])
	}
	addRow(p.T("sales.forecast.no_date"), "", "", f.Totals.NoDate)
	t := amountOf(f.Totals.Total, cur)
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), {}, {}, intCell(p, t.Count), moneyCell(p, t.Value, cur), moneyCell(p, t.Weighted, cur)}
	out.Table = tbl
	if f.Empty() {
		out.Empty = p.T("sales.report.empty.open")
		return out, nil
	}
	out.KPIs = []reportKPI{{Label: p.T("sales.report.kpi.weighted", "currency", cur), Value: moneyAmount(p, t.Weighted, cur)}}
	if slices.ContainsFunc(weighted.Values, func(v float64) bool { return v != 0 }) || slices.ContainsFunc(value.Values, func(v float64) bool { return v != 0 }) {
		c := chart.Bar{Common: rq.common("sales-forecast", out.Title, p.T("sales.forecast.chart", "currency", cur)), Labels: labels,
			Series: []chart.Series{weighted, value}}
		out.Chart = template.HTML(c.SVG())
		out.Legend = template.HTML(chart.Legend(weighted.Name, value.Name))
	}
	return out, nil
}
