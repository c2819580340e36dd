package chart

import "math"

// Histogram draws counts over adjacent bins: bin i covers
// [Edges[i], Edges[i+1]), so Edges has one more element than Counts. The
// x axis shows the edges (FormatX), the y axis the counts (Format).
type Histogram struct {
	Common
	Edges   []float64
	Counts  []float64
	FormatX func(float64) string
	Empty   string
}

// SVG draws the chart.
func (c *Histogram) SVG() string {
	s := c.open("chart-histogram")
	w, h := c.size()
	n := min(len(c.Counts), len(c.Edges)-1)
	hi := 0.0
	any := false
	for i := 0; i < n; i++ {
		if finite(c.Counts[i]) && c.Counts[i] > 0 {
			hi = math.Max(hi, c.Counts[i])
			any = true
		}
	}
	if !any {
		s.empty(w, h, c.Empty)
		return s.close()
	}
	ticks, lo, hi := niceTicks(0, hi, 5)
	gutter := 0.0
	for _, t := range ticks {
		gutter = math.Max(gutter, textWidth(c.format(t), fontPx))
	}
	gutter = math.Min(gutter+10, w/3)
	left, right := gutter, w-12
	top, bottom := float64(padTop), h-26
	y := scale{lo, hi, bottom, top}
	for _, t := range ticks {
		ty := y.at(t)
		s.line("chart-grid", s.x(left), ty, s.x(right), ty)
		s.label("chart-tick", s.x(left-6), ty+4, s.mirrorAnchor(anchorRight), c.format(t))
	}
	formatX := c.FormatX
	if formatX == nil {
		formatX = c.format
	}
	// Bins are drawn at equal widths: edges are often uneven (quantiles,
	// log bins), and the labels say where each one starts.
	band := (right - left) / float64(n)
	for i := 0; i < n; i++ {
		v := clean(c.Counts[i])
		if v <= 0 {
			continue
		}
		x0 := left + band*float64(i)
		t := formatX(clean(c.Edges[i])) + " – " + formatX(clean(c.Edges[i+1])) + ": " + c.format(v)
		s.rect("chart-mark "+SeriesClass(0), x0+0.5, y.at(0), x0+band-0.5, y.at(v), t)
	}
	labelW := 0.0
	for _, e := range c.Edges[:n+1] {
		labelW = math.Max(labelW, textWidth(formatX(clean(e)), fontPx))
	}
	k := every(n+1, labelW+6, right-left)
	for i := 0; i <= n; i += k {
		s.label("chart-tick", s.x(left+band*float64(i)), h-8, anchorMiddle, formatX(clean(c.Edges[i])))
	}
	s.line("chart-axis", s.x(left), bottom, s.x(right), bottom)
	return s.close()
}
