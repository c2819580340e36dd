package chart

import (
	"math"
	"strings"
)

// Donut shows the shares of a whole: one arc per label, clockwise from
// the top (counter-clockwise on right-to-left charts). Negative and
// missing values count as nothing.
type Donut struct {
	Common
	Labels []string
	Values []float64
	// Center is the text in the hole (the total, say).
	Center string
	Empty  string
}

// SVG draws the chart.
func (c *Donut) SVG() string {
	s := c.open("chart-donut")
	w, h := c.size()
	total := 0.0
	for i := range c.Labels {
		if i < len(c.Values) && finite(c.Values[i]) && c.Values[i] > 0 {
			total += c.Values[i]
		}
	}
	if total <= 0 || !finite(total) {
		s.empty(w, h, c.Empty)
		return s.close()
	}
	cx, cy := w/2, h/2
	r := math.Min(w, h)/2 - 8
	inner := r * 0.6
	angle := 0.0 // from the top, clockwise
	for i, l := range c.Labels {
		if i >= len(c.Values) || !finite(c.Values[i]) || c.Values[i] <= 0 {
			continue
		}
		v := c.Values[i]
		sweep := v / total * 2 * math.Pi
		title := l + ": " + c.format(v)
		cls := "chart-mark " + SeriesClass(i)
		if sweep >= 2*math.Pi-1e-9 { // one slice: two half arcs
			var d strings.Builder
			d.WriteString("M" + num(cx) + " " + num(cy-r) + "A" + num(r) + " " + num(r) + " 0 1 1 " + num(cx) + " " + num(cy+r))
			d.WriteString("A" + num(r) + " " + num(r) + " 0 1 1 " + num(cx) + " " + num(cy-r))
			d.WriteString("M" + num(cx) + " " + num(cy-inner) + "A" + num(inner) + " " + num(inner) + " 0 1 0 " + num(cx) + " " + num(cy+inner))
			d.WriteString("A" + num(inner) + " " + num(inner) + " 0 1 0 " + num(cx) + " " + num(cy-inner) + "Z")
			c.path(s, cls, d.String(), title)
			break
		}
		a0, a1 := angle, angle+sweep
		large := "0"
		if sweep > math.Pi {
			large = "1"
		}
		p := func(a, rad float64) (float64, float64) {
			x := cx + rad*math.Sin(a)
			if c.RTL {
				x = cx - rad*math.Sin(a)
			}
			return x, cy - rad*math.Cos(a)
		}
		sw, swBack := "1", "0"
		if c.RTL {
			sw, swBack = "0", "1"
		}
		x0, y0 := p(a0, r)
		x1, y1 := p(a1, r)
		x2, y2 := p(a1, inner)
		x3, y3 := p(a0, inner)
		d := "M" + num(x0) + " " + num(y0) +
			"A" + num(r) + " " + num(r) + " 0 " + large + " " + sw + " " + num(x1) + " " + num(y1) +
			"L" + num(x2) + " " + num(y2) +
			"A" + num(inner) + " " + num(inner) + " 0 " + large + " " + swBack + " " + num(x3) + " " + num(y3) + "Z"
		c.path(s, cls, d, title)
		angle = a1
	}
	if c.Center != "" {
		s.label("chart-center", cx, cy+6, anchorMiddle, c.Center)
	}
	return s.close()
}

func (c *Donut) path(s *svg, cls, d, title string) {
	s.b.WriteString(`<path class="` + cls + `" fill-rule="evenodd" d="` + d + `"><title>`)
	s.text(title)
	s.b.WriteString(`</title></path>`)
}
