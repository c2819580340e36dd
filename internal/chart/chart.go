// Package chart draws small charts as SVG on the server: bars (vertical
// or horizontal, grouped or stacked, and centred bars for funnels), lines
// and areas (with numeric or category axes), histograms and donuts, plus
// heat-map tables as HTML. It depends on the standard library only.
//
// The output is made for a page under a strict Content-Security-Policy:
// no style attribute or element and no script. Colours, fonts and strokes
// come from classes (chart, chart-s1 … chart-s8, chart-axis, chart-grid …)
// that the page's stylesheet defines; geometry is in SVG attributes.
//
// Every chart is accessible on its own terms (role="img" with a <title>
// and <desc> the page names through aria-labelledby, and a <title> on
// each bar or point for pointer users), but it is not a substitute for
// its numbers: the page shows them in a table beside it.
//
// Right to left: with RTL set, the horizontal axis runs from the right
// (the first category or the smallest x at the right edge, as time runs
// in Persian and Arabic), the value axis of vertical charts sits on the
// right and horizontal bars grow leftwards. Text is anchored so that it
// lands in the same place whatever the inherited direction.
//
// All text is escaped. Values that are NaN or ±Inf are treated as missing
// (drawn as nothing), so the output never holds NaN or Inf.
package chart

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Default size of the drawing, in SVG user units (the chart scales to
// its container through the viewBox).
const (
	DefaultWidth  = 640
	DefaultHeight = 300
)

// MaxSeries is the number of series colour classes (chart-s1 …
// chart-s8); further series reuse them in turn.
const MaxSeries = 8

// Common holds what every chart has.
type Common struct {
	// ID prefixes the ids of the chart's <title> and <desc>; it must be
	// unique on the page. Characters other than ASCII letters, digits,
	// '-' and '_' are dropped; empty means "chart".
	ID    string
	Title string // short name, read first by screen readers
	Desc  string // one or two sentences: what the chart shows
	// Width and Height of the drawing in user units; zero means
	// DefaultWidth and DefaultHeight.
	Width, Height int
	// RTL lays the chart out right to left (see the package comment).
	RTL bool
	// Format turns a value into text for the value axis and the bar
	// titles; nil formats with strconv ('g', up to 6 significant
	// digits). It is given finite numbers only.
	Format func(float64) string
	// Sep joins a category and a series name in the titles of bars and
	// points; empty means " · ". Persian and Arabic pass "، ": a middle
	// dot next to a number reads as the digit zero there.
	Sep string
}

// sep returns the separator of category and series names in titles.
func (c *Common) sep() string {
	if c.Sep == "" {
		return " · "
	}
	return c.Sep
}

// Series is one named list of values, one per category (or x position).
type Series struct {
	Name   string
	Values []float64
}

// SeriesClass returns the colour class of the i-th series (from 0).
func SeriesClass(i int) string {
	if i < 0 {
		i = 0
	}
	return "chart-s" + strconv.Itoa(i%MaxSeries+1)
}

func (c *Common) size() (w, h float64) {
	w, h = float64(c.Width), float64(c.Height)
	if c.Width <= 0 || c.Width > 4000 {
		w = DefaultWidth
	}
	if c.Height <= 0 || c.Height > 4000 {
		h = DefaultHeight
	}
	return w, h
}

func (c *Common) format(v float64) string {
	if !finite(v) {
		return ""
	}
	if c.Format != nil {
		return c.Format(v)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

// id returns the sanitised id prefix.
func (c *Common) id() string {
	var b strings.Builder
	for _, r := range c.ID {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "chart"
	}
	s := b.String()
	if s[0] >= '0' && s[0] <= '9' || s[0] == '-' {
		s = "c" + s
	}
	return s
}

// svg is the writer of one drawing.
type svg struct {
	b   strings.Builder
	rtl bool
	w   float64
}

// open writes the root element with its title and description; kind is
// an extra class (chart-bar, chart-line …).
func (c *Common) open(kind string) *svg {
	w, h := c.size()
	s := &svg{rtl: c.RTL, w: w}
	id := c.id()
	dir := "ltr"
	if c.RTL {
		dir = "rtl"
	}
	s.b.Grow(4096)
	s.b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" class="chart `)
	s.b.WriteString(kind)
	s.b.WriteString(`" viewBox="0 0 `)
	s.b.WriteString(num(w))
	s.b.WriteByte(' ')
	s.b.WriteString(num(h))
	s.b.WriteString(`" width="`)
	s.b.WriteString(num(w))
	s.b.WriteString(`" height="`)
	s.b.WriteString(num(h))
	s.b.WriteString(`" role="img" direction="`)
	s.b.WriteString(dir)
	s.b.WriteString(`" aria-labelledby="`)
	s.b.WriteString(id + "-title " + id + "-desc")
	s.b.WriteString(`"><title id="`)
	s.b.WriteString(id)
	s.b.WriteString(`-title">`)
	s.text(c.Title)
	s.b.WriteString(`</title><desc id="`)
	s.b.WriteString(id)
	s.b.WriteString(`-desc">`)
	s.text(c.Desc)
	s.b.WriteString(`</desc>`)
	return s
}

func (s *svg) close() string {
	s.b.WriteString(`</svg>`)
	return s.b.String()
}

// text writes escaped character data (invalid UTF-8 and characters XML
// does not allow become U+FFFD).
func (s *svg) text(t string) {
	xml.EscapeText(&s.b, []byte(t))
}

// x mirrors a horizontal coordinate on right-to-left charts.
func (s *svg) x(v float64) float64 {
	if s.rtl {
		return s.w - v
	}
	return v
}

// Geometric text anchors: where x is on the text, whatever the direction.
const (
	anchorLeft   = iota // x is the text's left edge
	anchorMiddle        // x is its centre
	anchorRight         // x is its right edge
)

// anchor returns the text-anchor value placing x at the geometric side a
// of the text, given the drawing's direction ("start" is the right edge in
// right-to-left text).
func (s *svg) anchor(a int) string {
	switch a {
	case anchorMiddle:
		return "middle"
	case anchorLeft:
		if s.rtl {
			return "end"
		}
		return "start"
	default:
		if s.rtl {
			return "start"
		}
		return "end"
	}
}

// mirrorAnchor swaps left and right on right-to-left charts: labels that
// sit "before" an axis in reading order.
func (s *svg) mirrorAnchor(a int) int {
	if !s.rtl || a == anchorMiddle {
		return a
	}
	return anchorLeft + anchorRight - a
}

// label writes a <text> element at (x, y) (x already mirrored).
func (s *svg) label(class string, x, y float64, anchor int, t string) {
	s.b.WriteString(`<text class="`)
	s.b.WriteString(class)
	s.b.WriteString(`" x="`)
	s.b.WriteString(num(x))
	s.b.WriteString(`" y="`)
	s.b.WriteString(num(y))
	s.b.WriteString(`" text-anchor="`)
	s.b.WriteString(s.anchor(anchor))
	s.b.WriteString(`">`)
	s.text(t)
	s.b.WriteString(`</text>`)
}

// line writes a <line> (coordinates already mirrored).
func (s *svg) line(class string, x1, y1, x2, y2 float64) {
	s.b.WriteString(`<line class="`)
	s.b.WriteString(class)
	s.b.WriteString(`" x1="`)
	s.b.WriteString(num(x1))
	s.b.WriteString(`" y1="`)
	s.b.WriteString(num(y1))
	s.b.WriteString(`" x2="`)
	s.b.WriteString(num(x2))
	s.b.WriteString(`" y2="`)
	s.b.WriteString(num(y2))
	s.b.WriteString(`"/>`)
}

// rect writes a <rect> from two corners in unmirrored coordinates, with a
// tooltip title.
func (s *svg) rect(class string, x1, y1, x2, y2 float64, title string) {
	x1, x2 = s.x(x1), s.x(x2)
	if x2 < x1 {
		x1, x2 = x2, x1
	}
	if y2 < y1 {
		y1, y2 = y2, y1
	}
	s.b.WriteString(`<rect class="`)
	s.b.WriteString(class)
	s.b.WriteString(`" x="`)
	s.b.WriteString(num(x1))
	s.b.WriteString(`" y="`)
	s.b.WriteString(num(y1))
	s.b.WriteString(`" width="`)
	s.b.WriteString(num(x2 - x1))
	s.b.WriteString(`" height="`)
	s.b.WriteString(num(y2 - y1))
	if title == "" {
		s.b.WriteString(`"/>`)
		return
	}
	s.b.WriteString(`"><title>`)
	s.text(title)
	s.b.WriteString(`</title></rect>`)
}

// empty writes the "no data" note in the middle of the drawing.
func (s *svg) empty(w, h float64, note string) {
	if note == "" {
		note = "—"
	}
	s.label("chart-empty", w/2, h/2, anchorMiddle, note)
}

// num formats a coordinate: at most two decimals, no exponent, never NaN
// or Inf (they become 0).
func num(v float64) string {
	if !finite(v) {
		v = 0
	}
	if math.Abs(v) < 1e15 {
		v = math.Round(v*100) / 100
	}
	if v == 0 {
		return "0" // also turns -0 into 0
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// clean returns v, or 0 when it is not finite.
func clean(v float64) float64 {
	if !finite(v) {
		return 0
	}
	return v
}

// textWidth estimates the drawn width of t at font size px: SVG cannot
// measure text on the server, so it counts characters (wide ones twice).
func textWidth(t string, px float64) float64 {
	w := 0.0
	for _, r := range t {
		switch {
		case r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 || r >= 0xf900 && r <= 0xfaff || r >= 0xff00 && r <= 0xff60):
			w += 1.0
		case r == ' ' || r == '.' || r == ',' || r == '٬' || r == '٫':
			w += 0.3
		default:
			w += 0.58
		}
	}
	return w * px
}

// fit shortens t with an ellipsis to about width at font size px.
func fit(t string, width, px float64) string {
	if textWidth(t, px) <= width {
		return t
	}
	rs := []rune(t)
	for len(rs) > 1 {
		rs = rs[:len(rs)-1]
		if textWidth(string(rs)+"…", px) <= width {
			break
		}
	}
	return strings.TrimSpace(string(rs)) + "…"
}

// scale maps values in [lo, hi] to [a, b].
type scale struct {
	lo, hi, a, b float64
}

func (s scale) at(v float64) float64 {
	if s.hi == s.lo {
		return s.a
	}
	return s.a + (clean(v)-s.lo)/(s.hi-s.lo)*(s.b-s.a)
}

// niceTicks returns about n round tick values covering [lo, hi], which it
// widens to the first and last tick. lo == hi gets a unit range.
func niceTicks(lo, hi float64, n int) (ticks []float64, nlo, nhi float64) {
	lo, hi = clean(lo), clean(hi)
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi == lo {
		if hi == 0 {
			hi = 1
		} else if hi > 0 {
			lo = 0
		} else {
			hi = 0
		}
	}
	if n < 2 {
		n = 2
	}
	span := hi - lo
	if !finite(span) { // the range overflows: fall back to its ends
		return []float64{lo, hi}, lo, hi
	}
	step := niceNum(span/float64(n-1), true)
	if step <= 0 || !finite(step) {
		return []float64{lo, hi}, lo, hi
	}
	nlo = math.Floor(lo/step) * step
	nhi = math.Ceil(hi/step) * step
	if !finite(nlo) || !finite(nhi) || (nhi-nlo)/step > 50 {
		return []float64{lo, hi}, lo, hi
	}
	for v := nlo; v <= nhi+step/2; v += step {
		t := math.Round(v/step) * step // no 0.30000000000000004
		if t == 0 {
			t = 0
		}
		ticks = append(ticks, t)
	}
	return ticks, nlo, nhi
}

// niceNum returns a 1, 2, 5 × 10^k number near x (Heckbert's "nice
// numbers for graph labels").
func niceNum(x float64, round bool) float64 {
	if x <= 0 || !finite(x) {
		return 0
	}
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case round && f < 1.5:
		nf = 1
	case round && f < 3:
		nf = 2
	case round && f < 7:
		nf = 5
	case round:
		nf = 10
	case f <= 1:
		nf = 1
	case f <= 2:
		nf = 2
	case f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// every returns k such that showing every k-th of n labels, each about
// labelW wide, fits in width.
func every(n int, labelW, width float64) int {
	if n <= 0 || width <= 0 {
		return 1
	}
	per := width / float64(n)
	if labelW <= per {
		return 1
	}
	return int(math.Ceil(labelW / per))
}
