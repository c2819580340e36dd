package chart

import (
	"math"
	"strings"
)

// Line is a line chart, or an area chart (Area): one line per series over
// categories (Labels, evenly spaced) or over numbers (X, shared by every
// series). A missing value (NaN) breaks the line.
type Line struct {
	Common
	Labels  []string  // categories, when X is nil
	X       []float64 // x positions, one per value
	FormatX func(float64) string
	// XMin, XMax fix the x range of a numeric axis; both 0 takes it from X.
	XMin, XMax float64
	// YMin, YMax fix the value range when YFixed; otherwise it is taken
	// from the data (0 always included).
	YFixed     bool
	YMin, YMax float64
	Series     []Series
	Area       bool
	// Diagonal draws a dashed reference line from the bottom-left corner
	// of the plot to the top-right one (equal shares on a Pareto or
	// Lorenz curve).
	Diagonal bool
	// Markers are dashed vertical reference lines on a numeric axis.
	Markers []Marker
	Empty   string
}

// Marker is a vertical reference line at X with a label.
type Marker struct {
	X     float64
	Label string
}

func (c *Line) formatX(v float64) string {
	if !finite(v) {
		return ""
	}
	if c.FormatX != nil {
		return c.FormatX(v)
	}
	return c.format(v)
}

// points returns the number of positions on the x axis.
func (c *Line) points() int {
	if c.X != nil {
		return len(c.X)
	}
	return len(c.Labels)
}

// SVG draws the chart.
func (c *Line) SVG() string {
	kind := "chart-line"
	if c.Area {
		kind = "chart-line chart-area"
	}
	s := c.open(kind)
	w, h := c.size()
	n := c.points()
	ylo, yhi := 0.0, 0.0
	count := 0
	for _, sr := range c.Series {
		for i, v := range sr.Values {
			if i >= n || !finite(v) || c.X != nil && !finite(c.X[i]) {
				continue
			}
			ylo, yhi = math.Min(ylo, v), math.Max(yhi, v)
			count++
		}
	}
	if count == 0 {
		s.empty(w, h, c.Empty)
		return s.close()
	}
	var ticks []float64
	if c.YFixed && finite(c.YMin) && finite(c.YMax) && c.YMax > c.YMin {
		ticks, _, _ = niceTicks(c.YMin, c.YMax, 5)
		ylo, yhi = c.YMin, c.YMax
		ticks = inside(ticks, ylo, yhi)
	} else {
		ticks, ylo, yhi = niceTicks(ylo, yhi, 5)
	}
	gutter := 0.0
	for _, t := range ticks {
		gutter = math.Max(gutter, textWidth(c.format(t), fontPx))
	}
	gutter = math.Min(gutter+10, w/3)
	left, right := gutter, w-12
	top, bottom := float64(padTop), h-26
	y := scale{ylo, yhi, bottom, top}
	for _, t := range ticks {
		ty := y.at(t)
		s.line("chart-grid", s.x(left), ty, s.x(right), ty)
		s.label("chart-tick", s.x(left-6), ty+4, s.mirrorAnchor(anchorRight), c.format(t))
	}

	// The x axis: numbers or categories.
	var xAt func(i int) float64
	if c.X != nil {
		xlo, xhi := c.XMin, c.XMax
		if xlo == 0 && xhi == 0 || !finite(xlo) || !finite(xhi) || xhi <= xlo {
			xlo, xhi = math.Inf(1), math.Inf(-1)
			for _, v := range c.X {
				if finite(v) {
					xlo, xhi = math.Min(xlo, v), math.Max(xhi, v)
				}
			}
			if !finite(xlo) {
				xlo, xhi = 0, 1
			}
		}
		xticks, nlo, nhi := niceTicks(xlo, xhi, 6)
		if c.XMin != 0 || c.XMax != 0 {
			xticks = inside(xticks, xlo, xhi)
		} else {
			xlo, xhi = nlo, nhi
		}
		x := scale{xlo, xhi, left, right}
		xAt = func(i int) float64 { return x.at(c.X[i]) }
		for _, t := range xticks {
			s.label("chart-tick", s.x(x.at(t)), h-8, anchorMiddle, c.formatX(t))
		}
		for _, m := range c.Markers {
			if !finite(m.X) || m.X < xlo || m.X > xhi {
				continue
			}
			mx := s.x(x.at(m.X))
			s.line("chart-marker", mx, top, mx, bottom)
			if m.Label != "" {
				s.label("chart-value", mx+sign(s.rtl)*4, top+fontPx, s.mirrorAnchor(anchorLeft), m.Label)
			}
		}
	} else {
		band := (right - left) / float64(max(n, 1))
		xAt = func(i int) float64 { return left + band*(float64(i)+0.5) }
		maxW := 0.0
		for _, l := range c.Labels {
			maxW = math.Max(maxW, textWidth(l, fontPx))
		}
		k := every(n, math.Min(maxW, band*4)+6, right-left)
		for i, l := range c.Labels {
			if i%k == 0 {
				s.label("chart-tick", s.x(xAt(i)), h-8, anchorMiddle, fit(l, band*float64(k)-4, fontPx))
			}
		}
	}
	if c.Diagonal {
		s.line("chart-marker", s.x(left), bottom, s.x(right), top)
	}
	zero := y.at(math.Max(ylo, math.Min(0, yhi)))
	for si, sr := range c.Series {
		cls := SeriesClass(si)
		for _, run := range c.runs(sr, n) {
			if c.Area {
				var d strings.Builder
				d.WriteString("M" + num(s.x(xAt(run[0]))) + " " + num(zero))
				for _, i := range run {
					d.WriteString("L" + num(s.x(xAt(i))) + " " + num(y.at(sr.Values[i])))
				}
				d.WriteString("L" + num(s.x(xAt(run[len(run)-1]))) + " " + num(zero) + "Z")
				s.b.WriteString(`<path class="chart-fill ` + cls + `" d="` + d.String() + `"/>`)
			}
			var pts strings.Builder
			for j, i := range run {
				if j > 0 {
					pts.WriteByte(' ')
				}
				pts.WriteString(num(s.x(xAt(i))) + "," + num(y.at(sr.Values[i])))
			}
			s.b.WriteString(`<polyline class="chart-stroke ` + cls + `" points="` + pts.String() + `"/>`)
		}
		// Points with their values as tooltips, when few enough to hover.
		if n <= 60 {
			for i := 0; i < n && i < len(sr.Values); i++ {
				if !c.valid(sr, i) {
					continue
				}
				t := c.pointLabel(i)
				if sr.Name != "" {
					t += c.sep() + sr.Name
				}
				t += ": " + c.format(sr.Values[i])
				s.b.WriteString(`<circle class="chart-point ` + cls + `" cx="` + num(s.x(xAt(i))) + `" cy="` + num(y.at(sr.Values[i])) + `" r="3"><title>`)
				s.text(t)
				s.b.WriteString(`</title></circle>`)
			}
		}
	}
	s.line("chart-axis", s.x(left), bottom, s.x(right), bottom)
	return s.close()
}

func (c *Line) pointLabel(i int) string {
	if c.X != nil {
		return c.formatX(c.X[i])
	}
	return c.Labels[i]
}

func (c *Line) valid(sr Series, i int) bool {
	return i < len(sr.Values) && finite(sr.Values[i]) && (c.X == nil || finite(c.X[i]))
}

// runs splits a series into stretches of consecutive valid points.
func (c *Line) runs(sr Series, n int) [][]int {
	var out [][]int
	var cur []int
	for i := 0; i < n; i++ {
		if c.valid(sr, i) {
			cur = append(cur, i)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// inside keeps the ticks within [lo, hi].
func inside(ticks []float64, lo, hi float64) []float64 {
	out := ticks[:0]
	eps := (hi - lo) * 1e-9
	for _, t := range ticks {
		if t >= lo-eps && t <= hi+eps {
			out = append(out, t)
		}
	}
	return out
}

func sign(rtl bool) float64 {
	if rtl {
		return -1
	}
	return 1
}
