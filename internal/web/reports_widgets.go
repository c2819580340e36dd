package web

import (
	"html/template"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/chart"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/report"
)

// The widgets of the dashboards: each reads one figure of the reports
// service and turns it into a chart, its table and key figures.

func init() {
	reads := []crm.Permission{crm.PermReportsRead}
	registerWidget(reportWidget{Key: "kpis", Perms: reads, Load: loadKPIs})
	registerWidget(reportWidget{Key: "revenue", Perms: reads, Load: loadRevenue})
	registerWidget(reportWidget{Key: "channels", Perms: reads, Load: loadChannels})
	registerWidget(reportWidget{Key: "customers", Perms: reads, Load: loadCustomers})
	registerWidget(reportWidget{Key: "cohorts", Perms: reads, Load: loadCohorts})
	registerWidget(reportWidget{Key: "pareto", Perms: reads, Load: loadPareto})
	registerWidget(reportWidget{Key: "segments", Perms: reads, Load: loadSegments})
	registerWidget(reportWidget{Key: "moves", Perms: reads, Load: loadMoves})
	registerWidget(reportWidget{Key: "clv", Perms: reads, Load: loadCLV})
	registerWidget(reportWidget{Key: "churn", Perms: []crm.Permission{crm.PermReportsRead, crm.PermContactsRead},
		On: func(s *server) bool { return s.contacts != nil }, Load: loadChurn})
	registerWidget(reportWidget{Key: "club", Perms: []crm.Permission{crm.PermClubRead}, Load: loadClub})
	registerWidget(reportWidget{Key: "returns", Perms: []crm.Permission{crm.PermOrdersRead}, Load: loadReturns})
	// Provided by modules that do not exist yet.
	registerWidget(reportWidget{Key: "pipeline", Perms: []crm.Permission{crm.PermSalesRead}, Module: "module.sales"})
	registerWidget(reportWidget{Key: "service_kpis", Perms: []crm.Permission{crm.PermServiceRead}, Module: "module.service"})
	registerWidget(reportWidget{Key: "campaigns", Perms: []crm.Permission{crm.PermMarketingRead}, Module: "module.marketing"})
}

func newPanel(rq *reportRequest, key string) *reportPanel {
	p := rq.p
	return &reportPanel{Title: p.T("reports.widget." + key + ".title"), Description: p.T("reports.widget." + key + ".description")}
}

// common returns the chart options every panel shares.
func (rq *reportRequest) common(id, title, desc string) chart.Common {
	p := rq.p
	return chart.Common{ID: "chart-" + id, Title: title, Desc: desc, RTL: rq.rtl, Sep: p.Sep(), Format: func(v float64) string { return compact(p, v) }}
}

// monthTicks labels months for a chart axis.
func monthTicks(p *locale.Printer, months []report.Month) []string {
	out := make([]string, len(months))
	for i, m := range months {
		out[i] = monthTick(p, m, i == 0)
	}
	return out
}

// monthCells are a month's label, and its first and last day (ISO, in
// the CSV only).
func monthCells(p *locale.Printer, m report.Month, from, to report.Day) []reportCell {
	return []reportCell{textCell(monthLabel(p, m)), {CSV: from.String()}, {CSV: to.String()}}
}

func monthColumns(p *locale.Printer) []reportColumn {
	return []reportColumn{{Label: p.T("reports.col.month")}, {Label: p.T("reports.col.from"), CSVOnly: true}, {Label: p.T("reports.col.to"), CSVOnly: true}}
}

// change formats the relative change from prev to cur.
func change(p *locale.Printer, cur, prev int64) (string, string) {
	if prev == 0 {
		return "", ""
	}
	f := float64(cur-prev) / math.Abs(float64(prev))
	s := percent(p, math.Abs(f), 1)
	switch {
	case f > 0:
		return "+" + s, "up"
	case f < 0:
		return "−" + s, "down"
	}
	return s, ""
}

func loadKPIs(s *server, rq *reportRequest) (*reportPanel, error) {
	rev, err := s.revenueOnce(rq)
	if err != nil {
		return nil, err
	}
	cs, err := s.reports.Customers(rq.ctx, rq.q)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "kpis")
	cur := rev.Currency
	t, pr := rev.Total, rev.Previous
	out.Notes = append(out.Notes, p.T("reports.note.previous", "from", dayText(p, rq.q.Range.Previous().From), "to", dayText(p, rq.q.Range.Previous().To)))
	kpi := func(label, value string, c, pv int64) reportKPI {
		ch, trend := change(p, c, pv)
		return reportKPI{Label: label, Value: value, Change: ch, Trend: trend}
	}
	if cur != "" {
		out.KPIs = append(out.KPIs,
			kpi(p.T("reports.kpi.net", "currency", cur), moneyAmount(p, t.Net, cur), t.Net, pr.Net),
			kpi(p.T("reports.kpi.orders"), p.Number(t.Orders), t.Orders, pr.Orders),
			kpi(p.T("reports.kpi.average", "currency", cur), moneyAmount(p, t.AverageOrder(), cur), t.AverageOrder(), pr.AverageOrder()),
			kpi(p.T("reports.kpi.returned", "currency", cur), moneyAmount(p, t.Returned, cur), t.Returned, pr.Returned))
	}
	out.KPIs = append(out.KPIs, reportKPI{Label: p.T("reports.kpi.new_customers"), Value: p.Number(cs.New)})
	if !cs.WholeMonths {
		out.Notes = append(out.Notes, p.T("reports.note.whole_months"))
	}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.figure")}, {Label: p.T("reports.col.this_period"), Num: true},
		{Label: p.T("reports.col.previous_period"), Num: true}, {Label: p.T("reports.col.change"), Num: true}}}
	row := func(label string, c, pv reportCell, cv, pvv int64) {
		f := math.NaN()
		if pvv != 0 {
			f = float64(cv-pvv) / math.Abs(float64(pvv))
		}
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(label), c, pv, shareCell(p, f)})
	}
	if cur != "" {
		row(p.T("reports.kpi.net", "currency", cur), moneyCell(p, t.Net, cur), moneyCell(p, pr.Net, cur), t.Net, pr.Net)
		row(p.T("reports.kpi.gross", "currency", cur), moneyCell(p, t.Gross, cur), moneyCell(p, pr.Gross, cur), t.Gross, pr.Gross)
		row(p.T("reports.kpi.returned", "currency", cur), moneyCell(p, t.Returned, cur), moneyCell(p, pr.Returned, cur), t.Returned, pr.Returned)
		row(p.T("reports.kpi.orders"), intCell(p, t.Orders), intCell(p, pr.Orders), t.Orders, pr.Orders)
		row(p.T("reports.kpi.average", "currency", cur), moneyCell(p, t.AverageOrder(), cur), moneyCell(p, pr.AverageOrder(), cur), t.AverageOrder(), pr.AverageOrder())
	}
	out.Table = tbl
	if t.Orders == 0 && pr.Orders == 0 {
		out.Empty = p.T("reports.empty.orders")
	}
	return out, nil
}

func loadRevenue(s *server, rq *reportRequest) (*reportPanel, error) {
	rev, err := s.revenueOnce(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	cur := rev.Currency
	out := newPanel(rq, "revenue")
	months := make([]report.Month, len(rev.Months))
	net := chart.Series{Name: p.T("reports.series.net")}
	ret := chart.Series{Name: p.T("reports.series.returned")}
	tbl := &reportTable{Caption: out.Title, Columns: append(monthColumns(p),
		reportColumn{Label: p.T("reports.col.orders"), Num: true},
		reportColumn{Label: p.T("reports.col.gross", "currency", cur), Num: true},
		reportColumn{Label: p.T("reports.col.returned", "currency", cur), Num: true},
		reportColumn{Label: p.T("reports.col.net", "currency", cur), Num: true},
		reportColumn{Label: p.T("reports.col.average", "currency", cur), Num: true})}
	for i, m := range rev.Months {
		months[i] = m.Month
		net.Values = append(net.Values, major(m.Net, cur))
		ret.Values = append(ret.Values, major(m.Returned, cur))
		tbl.Rows = append(tbl.Rows, append(monthCells(p, m.Month, m.From, m.To), intCell(p, m.Orders), moneyCell(p, m.Gross, cur),
			moneyCell(p, m.Returned, cur), moneyCell(p, m.Net, cur), moneyCell(p, m.AverageOrder(), cur)))
	}
	t := rev.Total
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), {CSV: rq.q.Range.From.String()}, {CSV: rq.q.Range.To.String()}, intCell(p, t.Orders),
		moneyCell(p, t.Gross, cur), moneyCell(p, t.Returned, cur), moneyCell(p, t.Net, cur), moneyCell(p, t.AverageOrder(), cur)}
	out.Table = tbl
	if t.Orders == 0 {
		out.Empty = p.T("reports.empty.orders")
		return out, nil
	}
	c := chart.Bar{Common: rq.common("revenue", out.Title, p.T("reports.widget.revenue.chart", "currency", cur)),
		Labels: monthTicks(p, months), Series: []chart.Series{net, ret}, Stacked: true}
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(net.Name, ret.Name))
	return out, nil
}

func loadChannels(s *server, rq *reportRequest) (*reportPanel, error) {
	rev, err := s.revenueOnce(rq)
	if err != nil {
		return nil, err
	}
	p := rq.p
	cur := rev.Currency
	out := newPanel(rq, "channels")
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.channel")}, {Label: p.T("reports.col.orders"), Num: true},
		{Label: p.T("reports.col.net", "currency", cur), Num: true}, {Label: p.T("reports.col.share"), Num: true}, {Label: p.T("reports.col.average", "currency", cur), Num: true}}}
	var labels []string
	var values []float64
	for _, c := range rev.Channels {
		name := channelName(p, c.Channel)
		labels = append(labels, name)
		values = append(values, major(c.Net, cur))
		share := math.NaN()
		if rev.Total.Net != 0 {
			share = float64(c.Net) / float64(rev.Total.Net)
		}
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(name), intCell(p, c.Orders), moneyCell(p, c.Net, cur), shareCell(p, share), moneyCell(p, c.AverageOrder(), cur)})
	}
	out.Table = tbl
	if len(rev.Channels) == 0 {
		out.Empty = p.T("reports.empty.orders")
		return out, nil
	}
	c := chart.Bar{Common: rq.common("channels", out.Title, p.T("reports.widget.channels.chart", "currency", cur)),
		Labels: labels, Series: []chart.Series{{Name: p.T("reports.series.net"), Values: values}}, Horizontal: true, ValueLabels: true}
	c.Height = 60 + 36*len(labels)
	out.Chart = template.HTML(c.SVG())
	return out, nil
}

// channelName translates an order channel.
func channelName(p *locale.Printer, ch string) string {
	if k := "orders.channel." + ch; p.Has(k) {
		return p.T(k)
	}
	return ch
}

func loadCustomers(s *server, rq *reportRequest) (*reportPanel, error) {
	cs, err := s.reports.Customers(rq.ctx, rq.q)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "customers")
	out.Notes = append(out.Notes, p.T("reports.note.customers"))
	newS := chart.Series{Name: p.T("reports.series.new")}
	retS := chart.Series{Name: p.T("reports.series.returning")}
	tbl := &reportTable{Caption: out.Title, Columns: append(monthColumns(p), reportColumn{Label: p.T("reports.col.active"), Num: true},
		reportColumn{Label: p.T("reports.col.new"), Num: true}, reportColumn{Label: p.T("reports.col.returning"), Num: true},
		reportColumn{Label: p.T("reports.col.returning_share"), Num: true})}
	months := make([]report.Month, len(cs.Months))
	var total int64
	for i, m := range cs.Months {
		months[i] = m.Month
		newS.Values = append(newS.Values, float64(m.New))
		retS.Values = append(retS.Values, float64(m.Returning))
		share := math.NaN()
		if m.Active > 0 {
			share = float64(m.Returning) / float64(m.Active)
		}
		tbl.Rows = append(tbl.Rows, append(monthCells(p, m.Month, m.Month.First(rq.q.Calendar), m.Month.Last(rq.q.Calendar)),
			intCell(p, m.Active), intCell(p, m.New), intCell(p, m.Returning), shareCell(p, share)))
		total += m.Active
	}
	out.Table = tbl
	if total == 0 {
		out.Empty = p.T("reports.empty.customers")
		return out, nil
	}
	c := chart.Bar{Common: rq.common("customers", out.Title, p.T("reports.widget.customers.chart")), Labels: monthTicks(p, months),
		Series: []chart.Series{newS, retS}, Stacked: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(newS.Name, retS.Name))
	return out, nil
}

func loadCohorts(s *server, rq *reportRequest) (*reportPanel, error) {
	co, err := s.reports.Cohorts(rq.ctx, rq.q)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "cohorts")
	out.Wide = true
	if len(co.Rows) >= report.MaxCohorts {
		out.Notes = append(out.Notes, p.T("reports.note.cohorts_max", "n", report.MaxCohorts))
	}
	hm := chart.HeatMap{ID: "heat-cohorts", Caption: out.Title, Corner: p.T("reports.col.cohort"), NoteLabel: p.T("reports.col.customers"),
		Max: 1, Format: func(v float64) string { return percent(p, v, 0) }}
	tbl := &reportTable{Caption: out.Title, Columns: append(monthColumns(p), reportColumn{Label: p.T("reports.col.customers"), Num: true})}
	for k := 0; k < co.Offsets; k++ {
		label := p.T("reports.col.month_n", "n", k)
		hm.ColLabels = append(hm.ColLabels, label)
		tbl.Columns = append(tbl.Columns, reportColumn{Label: label, Num: true, CSVLabel: p.T("reports.col.share_after", "n", k)})
	}
	// The counts behind the shares, in the CSV only (the page shows shares).
	for k := 0; k < co.Offsets; k++ {
		tbl.Columns = append(tbl.Columns, reportColumn{Label: p.T("reports.col.customers_after", "n", k), CSVOnly: true})
	}
	any := false
	for _, r := range co.Rows {
		hm.RowLabels = append(hm.RowLabels, monthLabel(p, r.Month))
		hm.RowNotes = append(hm.RowNotes, p.Number(r.Size))
		var vals []float64
		row := append(monthCells(p, r.Month, r.Month.First(rq.q.Calendar), r.Month.Last(rq.q.Calendar)), intCell(p, r.Size))
		for k := range r.Active {
			v := r.Rate(k)
			vals = append(vals, v)
			row = append(row, shareCell(p, v))
		}
		for range co.Offsets - len(r.Active) {
			row = append(row, reportCell{}) // months not reached yet
		}
		for k := range co.Offsets {
			if k < len(r.Active) {
				row = append(row, intCell(p, r.Active[k]))
			} else {
				row = append(row, reportCell{})
			}
		}
		if r.Size > 0 {
			any = true
		}
		hm.Values = append(hm.Values, vals)
		tbl.Rows = append(tbl.Rows, row)
	}
	out.Table = tbl
	if !any {
		out.Empty = p.T("reports.empty.customers")
		return out, nil
	}
	out.Heat = template.HTML(hm.HTML())
	return out, nil
}

func loadPareto(s *server, rq *reportRequest) (*reportPanel, error) {
	pa, err := s.reports.Pareto(rq.ctx, rq.q.Currency)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "pareto")
	out.Notes = append(out.Notes, p.T("reports.note.all_time", "time", p.DateTime(pa.ComputedAt)))
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.customer_share"), Num: true},
		{Label: p.T("reports.col.revenue_share"), Num: true}}}
	var xs, ys []float64
	for _, pt := range pa.Curve {
		xs = append(xs, pt.CustomerShare)
		ys = append(ys, pt.RevenueShare)
		tbl.Rows = append(tbl.Rows, []reportCell{shareCell(p, pt.CustomerShare), shareCell(p, pt.RevenueShare)})
	}
	out.Table = tbl
	if pa.Customers == 0 {
		out.Empty = p.T("reports.empty.orders")
		return out, nil
	}
	out.KPIs = []reportKPI{
		{Label: p.T("reports.kpi.top_share", "n", percent(p, pa.TopFraction, 0)), Value: percent(p, pa.TopShare, 1)},
		{Label: p.T("reports.kpi.customers"), Value: p.Number(pa.Customers)},
		{Label: p.T("reports.kpi.gini"), Value: decimalCell(p, pa.Gini, 2).Text},
	}
	pctFmt := func(v float64) string { return percent(p, v, 0) }
	c := chart.Line{Common: rq.common("pareto", out.Title, p.T("reports.widget.pareto.chart", "share", percent(p, pa.TopShare, 1), "n", percent(p, pa.TopFraction, 0))),
		X: xs, XMin: 0, XMax: 1, FormatX: pctFmt, YFixed: true, YMin: 0, YMax: 1, Area: true, Diagonal: true,
		Series:  []chart.Series{{Name: p.T("reports.series.revenue_share"), Values: ys}},
		Markers: []chart.Marker{{X: pa.TopFraction, Label: percent(p, pa.TopShare, 0)}}}
	c.Format = pctFmt
	out.Chart = template.HTML(c.SVG())
	return out, nil
}

// segmentName translates an RFM segment.
func segmentName(p *locale.Printer, seg string) string {
	if seg == "" {
		return p.T("reports.segment.none")
	}
	if k := "reports.segment." + seg; p.Has(k) {
		return p.T(k)
	}
	return seg
}

// scoresNote says which analytics run the figures come from, or why
// there are none.
func scoresPanel(s *server, rq *reportRequest, key string) (*reportPanel, *report.Scores, error) {
	sc, err := s.reports.Scores(rq.ctx)
	if err != nil {
		return nil, nil, err
	}
	p := rq.p
	out := newPanel(rq, key)
	if s.navHas("/analytics/") {
		out.More = &reportLink{Label: p.T("reports.more.analytics"), Href: "/analytics/customers"}
	}
	if sc == nil {
		out.Empty = p.T("reports.empty.scores")
		return out, nil, nil
	}
	when := ""
	if sc.FinishedAt != nil {
		when = p.DateTime(*sc.FinishedAt)
	}
	out.Notes = append(out.Notes, p.T("reports.note.run", "time", when, "currency", sc.Currency))
	return out, sc, nil
}

func loadSegments(s *server, rq *reportRequest) (*reportPanel, error) {
	out, sc, err := scoresPanel(s, rq, "segments")
	if err != nil || sc == nil {
		return out, err
	}
	p := rq.p
	var total int64
	for _, g := range sc.Segments {
		total += g.Customers
	}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.segment")}, {Label: p.T("reports.col.customers"), Num: true},
		{Label: p.T("reports.col.share"), Num: true}, {Label: p.T("reports.col.spent", "currency", sc.Currency), Num: true}}}
	var labels []string
	var values []float64
	for _, g := range sc.Segments {
		name := segmentName(p, g.Segment)
		labels = append(labels, name)
		values = append(values, float64(g.Customers))
		share := math.NaN()
		if total > 0 {
			share = float64(g.Customers) / float64(total)
		}
		href := ""
		if s.navHas("/analytics/") {
			href = "/contacts?segment=" + g.Segment
		}
		tbl.Rows = append(tbl.Rows, []reportCell{linkCell(name, href), intCell(p, g.Customers), shareCell(p, share), moneyCell(p, g.Spent, sc.Currency)})
	}
	tbl.Foot = []reportCell{textCell(p.T("reports.total")), intCell(p, total), shareCell(p, 1), {}}
	out.Table = tbl
	c := chart.Bar{Common: rq.common("segments", out.Title, p.T("reports.widget.segments.chart")), Labels: labels,
		Series: []chart.Series{{Name: p.T("reports.col.customers"), Values: values}}, Horizontal: true, ValueLabels: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 60 + 30*len(labels)
	out.Chart = template.HTML(c.SVG())
	return out, nil
}

func loadMoves(s *server, rq *reportRequest) (*reportPanel, error) {
	out, sc, err := scoresPanel(s, rq, "moves")
	if err != nil || sc == nil {
		return out, err
	}
	p := rq.p
	before, after, in, left := map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, m := range sc.Moves {
		if m.From != "" {
			before[m.From] += m.Customers
		}
		after[m.To] += m.Customers
		if m.From != m.To {
			in[m.To] += m.Customers
			if m.From != "" {
				left[m.From] += m.Customers
			}
		}
	}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.segment")}, {Label: p.T("reports.col.before"), Num: true},
		{Label: p.T("reports.col.now"), Num: true}, {Label: p.T("reports.col.came_in"), Num: true}, {Label: p.T("reports.col.left"), Num: true},
		{Label: p.T("reports.col.net_change"), Num: true}}}
	var labels []string
	bs := chart.Series{Name: p.T("reports.series.before")}
	as := chart.Series{Name: p.T("reports.series.now")}
	for _, seg := range analytics.RFMSegments {
		name := segmentName(p, seg)
		labels = append(labels, name)
		bs.Values = append(bs.Values, float64(before[seg]))
		as.Values = append(as.Values, float64(after[seg]))
		tbl.Rows = append(tbl.Rows, []reportCell{textCell(name), intCell(p, before[seg]), intCell(p, after[seg]), intCell(p, in[seg]),
			intCell(p, left[seg]), intCell(p, after[seg]-before[seg])})
	}
	out.Table = tbl
	// The largest flows between two segments, as a list.
	flows := slices.Clone(sc.Moves)
	slices.SortFunc(flows, func(a, b report.SegmentMove) int {
		if a.Customers != b.Customers {
			return int(b.Customers - a.Customers)
		}
		if a.From != b.From {
			return cmpStr(a.From, b.From)
		}
		return cmpStr(a.To, b.To)
	})
	list := &reportTable{Caption: p.T("reports.widget.moves.flows"), Columns: []reportColumn{{Label: p.T("reports.col.from_segment")},
		{Label: p.T("reports.col.to_segment")}, {Label: p.T("reports.col.customers"), Num: true}}}
	for _, f := range flows {
		if f.From == f.To || len(list.Rows) >= 10 {
			continue
		}
		list.Rows = append(list.Rows, []reportCell{textCell(segmentName(p, f.From)), textCell(segmentName(p, f.To)), intCell(p, f.Customers)})
	}
	if len(list.Rows) > 0 {
		out.Extra = list
	}
	c := chart.Bar{Common: rq.common("moves", out.Title, p.T("reports.widget.moves.chart")), Labels: labels,
		Series: []chart.Series{bs, as}, Horizontal: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 60 + 38*len(labels)
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(bs.Name, as.Name))
	return out, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func loadCLV(s *server, rq *reportRequest) (*reportPanel, error) {
	out, sc, err := scoresPanel(s, rq, "clv")
	if err != nil || sc == nil {
		return out, err
	}
	p := rq.p
	cur := sc.Currency
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.clv_from", "currency", cur), Num: true},
		{Label: p.T("reports.col.clv_to", "currency", cur), Num: true}, {Label: p.T("reports.col.customers"), Num: true}}}
	var edges, counts []float64
	var n int64
	for i, b := range sc.CLV {
		edges = append(edges, major(b.From, cur))
		counts = append(counts, float64(b.Customers))
		to := reportCell{Text: "∞", CSV: ""}
		if b.To > 0 {
			to = moneyCell(p, b.To, cur)
		}
		tbl.Rows = append(tbl.Rows, []reportCell{moneyCell(p, b.From, cur), to, intCell(p, b.Customers)})
		n += b.Customers
		if i == len(sc.CLV)-1 {
			// The last bucket is open above: drawn as wide as the one before.
			last := major(b.From, cur)
			if len(edges) > 1 {
				last += last - edges[len(edges)-2]
			} else {
				last = math.Max(last*2, 1)
			}
			edges = append(edges, last)
		}
	}
	out.Table = tbl
	if n == 0 {
		out.Empty = p.T("reports.empty.clv")
		return out, nil
	}
	money := func(v float64) string { return compact(p, v) }
	c := chart.Histogram{Common: rq.common("clv", out.Title, p.T("reports.widget.clv.chart", "currency", cur)), Edges: edges, Counts: counts, FormatX: money}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	out.Chart = template.HTML(c.SVG())
	return out, nil
}

func loadChurn(s *server, rq *reportRequest) (*reportPanel, error) {
	out, sc, err := scoresPanel(s, rq, "churn")
	if err != nil || sc == nil {
		return out, err
	}
	p := rq.p
	cur := sc.Currency
	out.Wide = true
	tbl := &reportTable{Caption: p.T("reports.widget.churn.bands"), Columns: []reportColumn{{Label: p.T("reports.col.band")},
		{Label: p.T("reports.col.customers"), Num: true}, {Label: p.T("reports.col.spent", "currency", cur), Num: true}}}
	var labels []string
	var values []float64
	for _, band := range []string{"high", "medium", "low", ""} {
		for _, b := range sc.Bands {
			if b.Band != band {
				continue
			}
			name := p.T("reports.band." + map[string]string{"": "none"}[band] + band)
			labels = append(labels, name)
			values = append(values, float64(b.Customers))
			href := ""
			if band != "" && s.navHas("/analytics/") {
				href = "/contacts?churn=" + band
			}
			tbl.Rows = append(tbl.Rows, []reportCell{linkCell(name, href), intCell(p, b.Customers), moneyCell(p, b.Spent, cur)})
		}
	}
	out.Table = tbl
	risk, err := s.reports.ChurnRisk(rq.ctx, 10)
	if err != nil {
		return nil, err
	}
	list := &reportTable{Caption: p.T("reports.widget.churn.list"), Columns: []reportColumn{{Label: p.T("reports.col.customer")},
		{Label: p.T("reports.col.segment")}, {Label: p.T("reports.col.orders"), Num: true}, {Label: p.T("reports.col.spent", "currency", cur), Num: true},
		{Label: p.T("reports.col.last_order")}, {Label: p.T("reports.col.p_alive"), Num: true}, {Label: p.T("reports.col.clv", "currency", cur), Num: true}}}
	for _, r := range risk {
		name := r.Name
		if name == "" {
			name = p.T("reports.unnamed", "id", r.ContactID)
		}
		alive := math.NaN()
		if r.PAlive != nil {
			alive = *r.PAlive
		}
		clv := reportCell{Text: "–", Class: "num"}
		if r.CLV != nil {
			clv = moneyCell(p, *r.CLV, cur)
		}
		last := reportCell{}
		if t, err := time.Parse(time.RFC3339, r.LastOrder); err == nil {
			last = reportCell{Text: p.Date(t), CSV: t.Format("2006-01-02")}
		}
		list.Rows = append(list.Rows, []reportCell{linkCell(name, "/contacts/"+strconv.FormatInt(r.ContactID, 10)), textCell(segmentName(p, r.Segment)),
			intCell(p, r.Orders), moneyCell(p, r.TotalSpent, cur), last, shareCell(p, alive), clv})
	}
	out.Extra = list
	if len(labels) == 0 {
		out.Empty = p.T("reports.empty.scores")
		return out, nil
	}
	c := chart.Bar{Common: rq.common("churn", out.Title, p.T("reports.widget.churn.chart")), Labels: labels,
		Series: []chart.Series{{Name: p.T("reports.col.customers"), Values: values}}, Horizontal: true, ValueLabels: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	c.Height = 60 + 34*len(labels)
	out.Chart = template.HTML(c.SVG())
	return out, nil
}

func loadClub(s *server, rq *reportRequest) (*reportPanel, error) {
	cl, err := s.reports.Club(rq.ctx)
	if err != nil {
		return nil, err
	}
	p := rq.p
	out := newPanel(rq, "club")
	out.Wide = true
	out.Notes = append(out.Notes, p.T("reports.note.as_of", "time", p.DateTime(cl.ComputedAt)))
	if s.club != nil {
		out.More = &reportLink{Label: p.T("reports.more.club"), Href: "/club/reports"}
	}
	tbl := &reportTable{Caption: out.Title, Columns: []reportColumn{{Label: p.T("reports.col.program")}, {Label: p.T("reports.col.members"), Num: true},
		{Label: p.T("reports.col.holders"), Num: true}, {Label: p.T("reports.col.available"), Num: true}, {Label: p.T("reports.col.pending"), Num: true},
		{Label: p.T("reports.col.reserved"), Num: true}, {Label: p.T("reports.col.points"), Num: true}, {Label: p.T("reports.col.value")},
		{Label: p.T("reports.col.currency"), CSVOnly: true}, {Label: p.T("reports.col.debt"), Num: true}}}
	var labels []string
	av := chart.Series{Name: p.T("reports.col.available")}
	pe := chart.Series{Name: p.T("reports.col.pending")}
	re := chart.Series{Name: p.T("reports.col.reserved")}
	values := map[string]int64{}
	var order []string
	for _, l := range cl.Programs {
		labels = append(labels, l.Name)
		av.Values = append(av.Values, float64(l.Available))
		pe.Values = append(pe.Values, float64(l.Pending))
		re.Values = append(re.Values, float64(l.Reserved))
		href := ""
		if s.club != nil {
			href = "/club/reports?program=" + strconv.FormatInt(l.ProgramID, 10)
		}
		tbl.Rows = append(tbl.Rows, []reportCell{linkCell(l.Name, href), intCell(p, l.Members), intCell(p, l.Holders), intCell(p, l.Available),
			intCell(p, l.Pending), intCell(p, l.Reserved), intCell(p, l.Points), {Text: formatMoney(p, l.Value, l.Currency), CSV: moneyPlain(l.Value, l.Currency), Class: "num"},
			{CSV: l.Currency}, intCell(p, l.Debt)})
		if _, ok := values[l.Currency]; !ok {
			order = append(order, l.Currency)
		}
		values[l.Currency] += l.Value
	}
	out.Table = tbl
	if len(cl.Programs) == 0 {
		out.Empty = p.T("reports.empty.club")
		return out, nil
	}
	var points int64
	for _, l := range cl.Programs {
		points += l.Points
	}
	out.KPIs = append(out.KPIs, reportKPI{Label: p.T("reports.kpi.points"), Value: p.Number(points)})
	for _, cur := range order {
		out.KPIs = append(out.KPIs, reportKPI{Label: p.T("reports.kpi.liability", "currency", cur), Value: moneyAmount(p, values[cur], cur)})
	}
	c := chart.Bar{Common: rq.common("club", out.Title, p.T("reports.widget.club.chart")), Labels: labels,
		Series: []chart.Series{av, pe, re}, Horizontal: true, Stacked: true, ValueLabels: true}
	c.Format = func(v float64) string { return compact(p, v) }
	c.Height = 60 + 40*len(labels)
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(av.Name, pe.Name, re.Name))
	return out, nil
}

func loadReturns(s *server, rq *reportRequest) (*reportPanel, error) {
	ret, err := s.reports.Returns(rq.ctx, rq.q)
	if err != nil {
		return nil, err
	}
	p := rq.p
	cur := ret.Currency
	out := newPanel(rq, "returns")
	out.Wide = true
	out.Notes = append(out.Notes, p.T("reports.note.returns"))
	tbl := &reportTable{Caption: out.Title, Columns: monthColumns(p)}
	series := make([]chart.Series, len(ret.Reasons))
	for i, r := range ret.Reasons {
		series[i].Name = returnReason(p, r)
		tbl.Columns = append(tbl.Columns, reportColumn{Label: series[i].Name, Num: true})
	}
	tbl.Columns = append(tbl.Columns, reportColumn{Label: p.T("reports.col.returns"), Num: true}, reportColumn{Label: p.T("reports.col.refunded", "currency", cur), Num: true})
	months := make([]report.Month, len(ret.Months))
	cal := rq.q.Calendar
	for i, m := range ret.Months {
		months[i] = m.Month
		c := rq.q.Range.Clip(m.Month, cal)
		row := monthCells(p, m.Month, c.From, c.To)
		for j, r := range m.Reasons {
			series[j].Values = append(series[j].Values, float64(r.Returns))
			row = append(row, intCell(p, r.Returns))
		}
		tbl.Rows = append(tbl.Rows, append(row, intCell(p, m.Returns), moneyCell(p, m.Amount, cur)))
	}
	foot := []reportCell{textCell(p.T("reports.total")), {CSV: rq.q.Range.From.String()}, {CSV: rq.q.Range.To.String()}}
	for _, r := range ret.Total {
		foot = append(foot, intCell(p, r.Returns))
	}
	tbl.Foot = append(foot, intCell(p, ret.Returns), moneyCell(p, ret.Amount, cur))
	out.Table = tbl
	if ret.Returns == 0 {
		out.Empty = p.T("reports.empty.returns")
		return out, nil
	}
	var names []string
	for _, sr := range series {
		names = append(names, sr.Name)
	}
	c := chart.Bar{Common: rq.common("returns", out.Title, p.T("reports.widget.returns.chart")), Labels: monthTicks(p, months), Series: series, Stacked: true}
	c.Format = func(v float64) string { return p.Number(int64(math.Round(v))) }
	out.Chart = template.HTML(c.SVG())
	out.Legend = template.HTML(chart.Legend(names...))
	return out, nil
}

// returnReason translates a return reason.
func returnReason(p *locale.Printer, r string) string {
	if k := "orders.reason." + r; p.Has(k) {
		return p.T(k)
	}
	return r
}
