package chart

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
)

// HeatLevels is the number of shades of a heat map (classes heat-0 …
// heat-9; heat-none marks a cell without a value).
const HeatLevels = 10

// HeatMap is a table whose cells are shaded by value (a cohort retention
// table: one row per cohort, one column per month since). It is HTML, not
// SVG: the numbers are the chart, readable by everyone and copyable.
type HeatMap struct {
	ID        string
	Caption   string
	Corner    string      // the header above the row labels
	RowLabels []string    // one per row
	ColLabels []string    // one per column
	Values    [][]float64 // by row, then column; NaN or missing: no value
	// Text is what each cell shows; nil, or "" for a cell, uses Format.
	Text [][]string
	// RowNotes is an extra cell after each row label (a cohort's size).
	RowNotes  []string
	NoteLabel string // the header of the RowNotes column
	// Max is the value of the darkest shade; 0 or less uses the largest
	// value.
	Max    float64
	Format func(float64) string
}

// esc escapes text for HTML, replacing invalid UTF-8
// (and characters XML does not allow) with U+FFFD, so that the table is
// well-formed XML too.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Level returns the shade class number of v on a scale up to top: 0 for
// v ≤ 0, HeatLevels-1 at top and above, -1 when v is not a number.
func Level(v, top float64) int {
	if !finite(v) {
		return -1
	}
	if v <= 0 || !finite(top) || top <= 0 {
		return 0
	}
	l := int(math.Ceil(v / top * float64(HeatLevels-1)))
	return min(max(l, 0), HeatLevels-1)
}

// HTML renders the table, every text escaped.
func (m *HeatMap) HTML() string {
	top := m.Max
	if top <= 0 || !finite(top) {
		top = 0
		for _, row := range m.Values {
			for _, v := range row {
				if finite(v) {
					top = math.Max(top, v)
				}
			}
		}
	}
	format := m.Format
	if format == nil {
		format = func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	}
	var b strings.Builder
	b.WriteString(`<table class="heatmap"`)
	if m.ID != "" {
		b.WriteString(` id="` + esc((&Common{ID: m.ID}).id()) + `"`)
	}
	b.WriteString(`>`)
	if m.Caption != "" {
		b.WriteString(`<caption>` + esc(m.Caption) + `</caption>`)
	}
	b.WriteString(`<thead><tr><th scope="col">` + esc(m.Corner) + `</th>`)
	if m.RowNotes != nil {
		b.WriteString(`<th scope="col">` + esc(m.NoteLabel) + `</th>`)
	}
	for _, c := range m.ColLabels {
		b.WriteString(`<th scope="col">` + esc(c) + `</th>`)
	}
	b.WriteString(`</tr></thead><tbody>`)
	for r, label := range m.RowLabels {
		b.WriteString(`<tr><th scope="row">` + esc(label) + `</th>`)
		if m.RowNotes != nil {
			note := ""
			if r < len(m.RowNotes) {
				note = m.RowNotes[r]
			}
			b.WriteString(`<td class="heat-note">` + esc(note) + `</td>`)
		}
		for c := range m.ColLabels {
			v := math.NaN()
			if r < len(m.Values) && c < len(m.Values[r]) {
				v = m.Values[r][c]
			}
			l := Level(v, top)
			if l < 0 {
				b.WriteString(`<td class="heat-none"></td>`)
				continue
			}
			t := ""
			if r < len(m.Text) && c < len(m.Text[r]) {
				t = m.Text[r][c]
			}
			if t == "" {
				t = format(v)
			}
			b.WriteString(`<td class="heat-` + strconv.Itoa(l) + `">` + esc(t) + `</td>`)
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table>`)
	return b.String()
}
