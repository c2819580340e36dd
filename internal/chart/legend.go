package chart

import "strings"

// Legend returns an HTML list naming the series with their colour keys
// (span.chart-key with the series class), for beside or under a chart.
// It flows with the page's direction.
func Legend(names ...string) string {
	var b strings.Builder
	b.WriteString(`<ul class="chart-legend">`)
	for i, n := range names {
		b.WriteString(`<li><span class="chart-key ` + SeriesClass(i) + `" aria-hidden="true"></span>` + esc(n) + `</li>`)
	}
	b.WriteString(`</ul>`)
	return b.String()
}
