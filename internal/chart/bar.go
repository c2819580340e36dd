package chart

import "math"

// Bar is a bar chart: one bar per category and series, side by side
// (grouped) or on top of each other (Stacked), upright or Horizontal.
// Funnel draws horizontal bars centred on the middle of the plot, widest
// first, for the stages of a funnel (one series).
type Bar struct {
	Common
	Labels     []string // one per category
	Series     []Series // each with one value per label (missing: none)
	Horizontal bool
	Stacked    bool
	Funnel     bool
	// ValueLabels writes each bar's value at its end (horizontal bars and
	// funnels; upright bars only when there is room).
	ValueLabels bool
	// Empty is the note drawn when there is nothing to show.
	Empty string
}

// value returns series si's value for category ci, 0 when missing.
func (c *Bar) value(si, ci int) float64 {
	if si >= len(c.Series) || ci >= len(c.Series[si].Values) {
		return 0
	}
	return clean(c.Series[si].Values[ci])
}

// has reports whether series si has a finite value for category ci.
func (c *Bar) has(si, ci int) bool {
	return si < len(c.Series) && ci < len(c.Series[si].Values) && finite(c.Series[si].Values[ci])
}

// extent returns the smallest and largest value the axis must show (0
// always included): sums of positives and negatives when stacked.
func (c *Bar) extent() (lo, hi float64) {
	for ci := range c.Labels {
		var pos, neg float64
		for si := range c.Series {
			v := c.value(si, ci)
			if c.Stacked {
				if v > 0 {
					pos += v
				} else {
					neg += v
				}
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if c.Stacked {
			lo, hi = math.Min(lo, neg), math.Max(hi, pos)
		}
	}
	return lo, hi
}

func (c *Bar) title(si, ci int) string {
	t := c.Labels[ci]
	if len(c.Series) > 1 || c.Series[si].Name != "" {
		t += c.sep() + c.Series[si].Name
	}
	return t + ": " + c.format(c.value(si, ci))
}

// SVG draws the chart.
func (c *Bar) SVG() string {
	kind := "chart-bar"
	if c.Horizontal || c.Funnel {
		kind += " chart-bar-horizontal"
	}
	s := c.open(kind)
	w, h := c.size()
	n := 0
	for ci := range c.Labels {
		for si := range c.Series {
			if c.has(si, ci) {
				n++
			}
		}
	}
	if n == 0 {
		s.empty(w, h, c.Empty)
		return s.close()
	}
	if c.Funnel || c.Horizontal {
		c.horizontal(s, w, h)
	} else {
		c.vertical(s, w, h)
	}
	return s.close()
}

const (
	fontPx = 12
	padTop = 12
)

func (c *Bar) vertical(s *svg, w, h float64) {
	lo, hi := c.extent()
	ticks, lo, hi := niceTicks(lo, hi, 5)
	gutter := 0.0
	for _, t := range ticks {
		gutter = math.Max(gutter, textWidth(c.format(t), fontPx))
	}
	gutter = math.Min(gutter+10, w/3)
	left, right := gutter, w-8
	top, bottom := float64(padTop), h-26
	y := scale{lo, hi, bottom, top}
	// Grid and value axis (mirrored to the right on RTL charts).
	for _, t := range ticks {
		ty := y.at(t)
		s.line("chart-grid", s.x(left), ty, s.x(right), ty)
		s.label("chart-tick", s.x(left-6), ty+4, s.mirrorAnchor(anchorRight), c.format(t))
	}
	n := len(c.Labels)
	band := (right - left) / float64(n)
	groups := len(c.Series)
	if c.Stacked || groups == 0 {
		groups = 1
	}
	barW := band * 0.72 / float64(groups)
	zero := y.at(0)
	for ci := range c.Labels {
		x0 := left + band*float64(ci) + band*0.14
		var pos, neg float64
		for si := range c.Series {
			if !c.has(si, ci) {
				continue
			}
			v := c.value(si, ci)
			cls := "chart-mark " + SeriesClass(si)
			switch {
			case c.Stacked && v >= 0:
				s.rect(cls, x0, y.at(pos), x0+barW, y.at(pos+v), c.title(si, ci))
				pos += v
			case c.Stacked:
				s.rect(cls, x0, y.at(neg), x0+barW, y.at(neg+v), c.title(si, ci))
				neg += v
			default:
				bx := x0 + barW*float64(si)
				s.rect(cls, bx, zero, bx+barW, y.at(v), c.title(si, ci))
				if c.ValueLabels && barW >= textWidth(c.format(v), fontPx-2) {
					ly := y.at(v) - 4
					if v < 0 {
						ly = y.at(v) + fontPx
					}
					s.label("chart-value", s.x(bx+barW/2), ly, anchorMiddle, c.format(v))
				}
			}
		}
	}
	s.line("chart-axis", s.x(left), zero, s.x(right), zero)
	// Category labels, thinned out when they would overlap.
	maxW := 0.0
	for _, l := range c.Labels {
		maxW = math.Max(maxW, textWidth(l, fontPx))
	}
	k := every(n, math.Min(maxW, band*4)+6, right-left)
	for ci, l := range c.Labels {
		if ci%k != 0 {
			continue
		}
		s.label("chart-tick", s.x(left+band*(float64(ci)+0.5)), h-8, anchorMiddle, fit(l, band*float64(k)-4, fontPx))
	}
}

func (c *Bar) horizontal(s *svg, w, h float64) {
	n := len(c.Labels)
	gutter := 0.0
	for _, l := range c.Labels {
		gutter = math.Max(gutter, textWidth(l, fontPx))
	}
	gutter = math.Min(gutter+10, w*0.35)
	lo, hi := c.extent()
	valueRoom := 0.0
	if c.ValueLabels {
		for ci := range c.Labels {
			for si := range c.Series {
				valueRoom = math.Max(valueRoom, textWidth(c.format(c.value(si, ci)), fontPx))
			}
		}
		valueRoom = math.Min(valueRoom+8, w/4)
	}
	left, right := gutter, w-8-valueRoom
	top, bottom := float64(padTop), h-8
	var x scale
	var ticks []float64
	if c.Funnel {
		lo, hi = 0, math.Max(hi, 0)
		x = scale{0, hi, 0, (right - left) / 2}
	} else {
		ticks, lo, hi = niceTicks(lo, hi, 5)
		bottom -= 18
		x = scale{lo, hi, left, right}
	}
	band := (bottom - top) / float64(n)
	groups := len(c.Series)
	if c.Stacked || c.Funnel || groups == 0 {
		groups = 1
	}
	barH := math.Min(band*0.72/float64(groups), 40)
	for _, t := range ticks {
		tx := x.at(t)
		s.line("chart-grid", s.x(tx), top, s.x(tx), bottom)
		s.label("chart-tick", s.x(tx), h-8, anchorMiddle, c.format(t))
	}
	mid := (left + right) / 2
	for ci, l := range c.Labels {
		y0 := top + band*float64(ci) + (band-barH*float64(groups))/2
		s.label("chart-tick", s.x(left-6), y0+barH*float64(groups)/2+4, s.mirrorAnchor(anchorRight), fit(l, gutter-10, fontPx))
		var pos, neg float64
		end := 0.0
		for si := range c.Series {
			if !c.has(si, ci) {
				continue
			}
			v := c.value(si, ci)
			cls := "chart-mark " + SeriesClass(si)
			switch {
			case c.Funnel:
				half := x.at(math.Max(v, 0))
				s.rect(cls, mid-half, y0, mid+half, y0+barH, c.title(si, ci))
				end = math.Max(end, mid+half)
			case c.Stacked && v >= 0:
				s.rect(cls, x.at(pos), y0, x.at(pos+v), y0+barH, c.title(si, ci))
				pos += v
				end = math.Max(end, x.at(pos))
			case c.Stacked:
				s.rect(cls, x.at(neg+v), y0, x.at(neg), y0+barH, c.title(si, ci))
				neg += v
			default:
				by := y0 + barH*float64(si)
				s.rect(cls, x.at(0), by, x.at(v), by+barH, c.title(si, ci))
				if c.ValueLabels {
					s.label("chart-value", s.x(math.Max(x.at(v), x.at(0))+4), by+barH/2+4, s.mirrorAnchor(anchorLeft), c.format(v))
				}
			}
		}
		if c.ValueLabels && (c.Stacked || c.Funnel) {
			total := 0.0
			for si := range c.Series {
				total += c.value(si, ci)
			}
			s.label("chart-value", s.x(end+4), y0+barH/2+4, s.mirrorAnchor(anchorLeft), c.format(total))
		}
	}
	if !c.Funnel {
		s.line("chart-axis", s.x(x.at(0)), top, s.x(x.at(0)), bottom)
	}
}
