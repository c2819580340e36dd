package chart

import (
	"encoding/xml"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// element is one parsed element of a drawing.
type element struct {
	name  string
	attrs map[string]string
	text  string // character data directly inside
}

// parse checks that out is well-formed XML with an <svg> root and returns
// its elements in document order.
func parse(t testing.TB, out string) []element {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(out))
	dec.Strict = true
	var els []element
	var stack []int
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, out)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && tok.Name.Local != "svg" && tok.Name.Local != "table" && tok.Name.Local != "ul" {
				t.Fatalf("root element %q", tok.Name.Local)
			}
			e := element{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			els = append(els, e)
			stack = append(stack, len(els)-1)
			depth++
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			depth--
		case xml.CharData:
			if len(stack) > 0 {
				els[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	if depth != 0 || len(els) == 0 {
		t.Fatalf("unbalanced or empty output:\n%s", out)
	}
	return els
}

// checkOutput asserts the properties every drawing has.
func checkOutput(t testing.TB, out string) []element {
	t.Helper()
	for _, bad := range []string{"NaN", "Inf", "style=", "<script", "e+", "e-0"} {
		if strings.Contains(out, bad) {
			t.Fatalf("output contains %q:\n%s", bad, out)
		}
	}
	return parse(t, out)
}

func attr(t testing.TB, e element, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attrs[name], 64)
	if err != nil {
		t.Fatalf("%s %s=%q: %v", e.name, name, e.attrs[name], err)
	}
	return v
}

func marks(els []element, name string) []element {
	var out []element
	for _, e := range els {
		if e.name == name && strings.Contains(e.attrs["class"], "chart-mark") {
			out = append(out, e)
		}
	}
	return out
}

func TestBarGroupedAndMirrored(t *testing.T) {
	b := Bar{Common: Common{ID: "rev", Title: "Revenue <by> month", Desc: "Net & gross"},
		Labels: []string{"Farvardin", "Ordibehesht", "Khordad"},
		Series: []Series{{Name: "Gross", Values: []float64{100, 250, 0}}, {Name: "Net", Values: []float64{90, 200, math.NaN()}}}}
	ltr := checkOutput(t, b.SVG())
	if ltr[0].attrs["direction"] != "ltr" || ltr[0].attrs["role"] != "img" || ltr[0].attrs["aria-labelledby"] != "rev-title rev-desc" {
		t.Errorf("root attributes %v", ltr[0].attrs)
	}
	if ltr[1].name != "title" || ltr[1].text != "Revenue <by> month" || ltr[2].name != "desc" || ltr[2].text != "Net & gross" {
		t.Errorf("title/desc %+v %+v", ltr[1], ltr[2])
	}
	rects := marks(ltr, "rect")
	if len(rects) != 5 { // the NaN is not drawn; the zero is (a bar of no height)
		t.Fatalf("%d bars, want 5", len(rects))
	}
	// Grouped: within a category the series stand side by side.
	if !(attr(t, rects[0], "x") < attr(t, rects[1], "x")) {
		t.Error("series 2 is not after series 1 in a left-to-right chart")
	}
	// Heights follow values: 250 is 2.5 × 100.
	h0, h2 := attr(t, rects[0], "height"), attr(t, rects[2], "height")
	if math.Abs(h2/h0-2.5) > 0.02 {
		t.Errorf("heights %v and %v are not in proportion 2.5", h0, h2)
	}

	b.RTL = true
	rtl := checkOutput(t, b.SVG())
	if rtl[0].attrs["direction"] != "rtl" {
		t.Errorf("rtl direction %q", rtl[0].attrs["direction"])
	}
	rr := marks(rtl, "rect")
	if len(rr) != len(rects) {
		t.Fatalf("%d bars in RTL, %d in LTR", len(rr), len(rects))
	}
	for i := range rr {
		// Mirrored about the middle: x' = W − (x + width).
		x, w := attr(t, rects[i], "x"), attr(t, rects[i], "width")
		xr, wr := attr(t, rr[i], "x"), attr(t, rr[i], "width")
		if math.Abs(xr-(DefaultWidth-x-w)) > 0.02 || math.Abs(wr-w) > 0.02 || rr[i].attrs["y"] != rects[i].attrs["y"] {
			t.Errorf("bar %d: LTR x=%v w=%v, RTL x=%v w=%v: not mirrored", i, x, w, xr, wr)
		}
	}
	// The first month sits at the right edge of a right-to-left chart.
	if !(attr(t, rr[0], "x") > attr(t, rr[2], "x")) {
		t.Error("RTL: the first category is not to the right of the second")
	}
	// The value axis labels sit on the right, beyond the axis: their left
	// edge at x, which is text-anchor end in right-to-left text.
	for _, e := range rtl {
		if e.name == "text" && e.attrs["class"] == "chart-tick" && e.text == "0" {
			if attr(t, e, "x") < DefaultWidth/2 || e.attrs["text-anchor"] != "end" {
				t.Errorf("RTL value-axis label at x=%v anchor %q", attr(t, e, "x"), e.attrs["text-anchor"])
			}
		}
	}
}

func TestBarStackedAndHorizontal(t *testing.T) {
	b := Bar{Labels: []string{"a", "b"}, Stacked: true,
		Series: []Series{{Name: "new", Values: []float64{3, 1}}, {Name: "returning", Values: []float64{2, 4}}}}
	els := checkOutput(t, b.SVG())
	rects := marks(els, "rect")
	if len(rects) != 4 {
		t.Fatalf("%d bars", len(rects))
	}
	// Stacked: same x, the second on top of the first.
	if rects[0].attrs["x"] != rects[1].attrs["x"] {
		t.Error("stacked bars of one category are not in one column")
	}
	if y0, y1, h1 := attr(t, rects[0], "y"), attr(t, rects[1], "y"), attr(t, rects[1], "height"); math.Abs(y1+h1-y0) > 0.02 {
		t.Errorf("second segment (y=%v h=%v) does not sit on the first (y=%v)", y1, h1, y0)
	}

	b.Horizontal, b.ValueLabels, b.RTL = true, true, true
	els = checkOutput(t, b.SVG())
	rects = marks(els, "rect")
	// Right to left: bars grow leftwards from the right.
	if r0 := attr(t, rects[0], "x") + attr(t, rects[0], "width"); r0 < DefaultWidth/2 {
		t.Errorf("RTL horizontal bar ends at x=%v, want on the right half", r0)
	}
	if !(attr(t, rects[1], "x") < attr(t, rects[0], "x")) {
		t.Error("RTL: the second stacked segment is not to the left of the first")
	}
	var totals []string
	for _, e := range els {
		if e.attrs["class"] == "chart-value" {
			totals = append(totals, e.text)
		}
	}
	if !slices.Equal(totals, []string{"5", "5"}) {
		t.Errorf("stack totals %q", totals)
	}

	f := Bar{Funnel: true, Labels: []string{"leads", "qualified", "won"}, Series: []Series{{Values: []float64{100, 40, 10}}}}
	rects = marks(checkOutput(t, f.SVG()), "rect")
	for i := range rects {
		mid := attr(t, rects[i], "x") + attr(t, rects[i], "width")/2
		if math.Abs(mid-attr(t, rects[0], "x")-attr(t, rects[0], "width")/2) > 0.05 {
			t.Errorf("funnel bar %d is not centred", i)
		}
	}
	if !(attr(t, rects[0], "width") > attr(t, rects[1], "width") && attr(t, rects[1], "width") > attr(t, rects[2], "width")) {
		t.Error("funnel widths do not follow the values")
	}
}

func TestNegativeValues(t *testing.T) {
	b := Bar{Labels: []string{"a", "b"}, Series: []Series{{Values: []float64{-50, 100}}}}
	els := checkOutput(t, b.SVG())
	rects := marks(els, "rect")
	// The negative bar hangs below the zero line, the positive stands on it.
	if attr(t, rects[0], "y") != attr(t, rects[1], "y")+attr(t, rects[1], "height") {
		t.Errorf("bars do not share the zero line: %v / %v+%v", attr(t, rects[0], "y"), attr(t, rects[1], "y"), attr(t, rects[1], "height"))
	}
}

func TestEmpty(t *testing.T) {
	for name, out := range map[string]string{
		"bar":          (&Bar{Common: Common{Title: "x"}, Empty: "No orders"}).SVG(),
		"bar no data":  (&Bar{Labels: []string{"a"}, Series: []Series{{Values: []float64{math.NaN()}}}, Empty: "No orders"}).SVG(),
		"line":         (&Line{Labels: []string{"a", "b"}, Empty: "No orders"}).SVG(),
		"line all nan": (&Line{X: []float64{1, 2}, Series: []Series{{Values: []float64{math.Inf(1), math.NaN()}}}, Empty: "No orders"}).SVG(),
		"histogram":    (&Histogram{Edges: []float64{0}, Empty: "No orders"}).SVG(),
		"donut":        (&Donut{Labels: []string{"a"}, Values: []float64{-1}, Empty: "No orders"}).SVG(),
	} {
		els := checkOutput(t, out)
		found := false
		for _, e := range els {
			if e.attrs["class"] == "chart-empty" && e.text == "No orders" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no empty note:\n%s", name, out)
		}
	}
}

func TestLineNumericWithMarkers(t *testing.T) {
	l := Line{Common: Common{Title: "Pareto", RTL: true}, X: []float64{0, 0.2, 0.5, 1}, XMin: 0, XMax: 1,
		YFixed: true, YMin: 0, YMax: 1, Area: true, Diagonal: true,
		Series:  []Series{{Name: "share", Values: []float64{0, 0.8, 0.95, 1}}},
		Markers: []Marker{{X: 0.2, Label: "20%"}}}
	els := checkOutput(t, l.SVG())
	var poly, path element
	var circles []element
	for _, e := range els {
		switch {
		case e.name == "polyline":
			poly = e
		case e.name == "path":
			path = e
		case e.name == "circle":
			circles = append(circles, e)
		}
	}
	if poly.name == "" || path.name == "" || len(circles) != 4 {
		t.Fatalf("polyline %v, area %v, %d points", poly.name, path.name, len(circles))
	}
	// RTL: x = 0 is at the right, x = 1 at the left.
	if !(attr(t, circles[0], "cx") > attr(t, circles[3], "cx")) {
		t.Errorf("RTL numeric axis not mirrored: %v then %v", attr(t, circles[0], "cx"), attr(t, circles[3], "cx"))
	}
	// y = 1 is at the top.
	if !(attr(t, circles[3], "cy") < attr(t, circles[0], "cy")) {
		t.Error("higher values are not higher")
	}
	if circles[1].text != "" && !strings.Contains(els[0].attrs["class"], "chart-area") {
		t.Error("area class missing")
	}
}

func TestLineBreaksAtGaps(t *testing.T) {
	l := Line{Labels: []string{"a", "b", "c", "d", "e"}, Series: []Series{{Values: []float64{1, 2, math.NaN(), 4, 5}}}}
	n := 0
	for _, e := range checkOutput(t, l.SVG()) {
		if e.name == "polyline" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d line pieces around a gap, want 2", n)
	}
}

func TestHistogram(t *testing.T) {
	h := Histogram{Edges: []float64{0, 10, 20, 50}, Counts: []float64{5, 0, 2}}
	els := checkOutput(t, h.SVG())
	rects := marks(els, "rect")
	if len(rects) != 2 {
		t.Fatalf("%d bins drawn, want 2 (an empty bin is not drawn)", len(rects))
	}
	var title string
	for _, e := range els {
		if e.name == "title" && strings.Contains(e.text, "20 – 50") {
			title = e.text
		}
	}
	if title != "20 – 50: 2" {
		t.Errorf("bin title %q", title)
	}
}

func TestHeatMap(t *testing.T) {
	m := HeatMap{ID: "cohorts", Caption: "Retention <%>", Corner: "Cohort", RowLabels: []string{"Farvardin", "Ordibehesht"},
		ColLabels: []string{"0", "1", "2"}, RowNotes: []string{"10", "8"}, NoteLabel: "Customers",
		Values: [][]float64{{1, 0.5, 0.2}, {1, 0.25}}, Format: func(v float64) string { return strconv.Itoa(int(v*100)) + "%" }}
	out := m.HTML()
	els := parse(t, out)
	var cells []string
	for _, e := range els {
		if e.name == "td" {
			cells = append(cells, e.attrs["class"]+"="+e.text)
		}
	}
	want := []string{"heat-note=10", "heat-9=100%", "heat-5=50%", "heat-2=20%", "heat-note=8", "heat-9=100%", "heat-3=25%", "heat-none="}
	if !slices.Equal(cells, want) {
		t.Errorf("cells\n got %q\nwant %q", cells, want)
	}
	if !strings.Contains(out, "<caption>Retention &lt;%&gt;</caption>") {
		t.Errorf("caption not escaped: %s", out)
	}
	for v, want := range map[float64]int{math.NaN(): -1, -1: 0, 0: 0, 0.01: 1, 1: 9, 2: 9} {
		if got := Level(v, 1); got != want {
			t.Errorf("Level(%v) = %d, want %d", v, got, want)
		}
	}
}

func TestDonut(t *testing.T) {
	d := Donut{Labels: []string{"champions", "at risk", "lost"}, Values: []float64{50, 30, 20}, Center: "100"}
	els := checkOutput(t, d.SVG())
	if n := len(marks(els, "path")); n != 3 {
		t.Errorf("%d slices", n)
	}
	one := Donut{Labels: []string{"all"}, Values: []float64{7}}
	if n := len(marks(checkOutput(t, one.SVG()), "path")); n != 1 {
		t.Errorf("%d slices for a single value", n)
	}
}

func TestEscaping(t *testing.T) {
	evil := `</title><script>alert(1)</script>"' & ` + "\x00\xff"
	b := Bar{Common: Common{ID: `x" onload="y`, Title: evil, Desc: evil}, Labels: []string{evil}, Series: []Series{{Name: evil, Values: []float64{1}}}}
	out := b.SVG()
	els := checkOutput(t, out)
	if els[0].attrs["aria-labelledby"] != "xonloady-title xonloady-desc" {
		t.Errorf("id not sanitised: %q", els[0].attrs["aria-labelledby"])
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "onload=") {
		t.Errorf("markup injected: %s", out)
	}
	legend := Legend(evil, "b")
	parse(t, legend)
	if strings.Contains(legend, "<script") {
		t.Error("legend not escaped")
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi  float64
		want    []float64
		nlo, nh float64
	}{
		{0, 93, []float64{0, 20, 40, 60, 80, 100}, 0, 100},
		{0, 1, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}, 0, 1},
		{-30, 70, []float64{-40, -20, 0, 20, 40, 60, 80}, -40, 80},
		{0, 0, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}, 0, 1},
		{5, 5, []float64{0, 1, 2, 3, 4, 5}, 0, 5},
	} {
		got, nlo, nhi := niceTicks(c.lo, c.hi, 5)
		if len(got) != len(c.want) || nlo != c.nlo || nhi != c.nh {
			t.Errorf("niceTicks(%v, %v) = %v [%v, %v], want %v [%v, %v]", c.lo, c.hi, got, nlo, nhi, c.want, c.nlo, c.nh)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-9 {
				t.Errorf("niceTicks(%v, %v) = %v", c.lo, c.hi, got)
			}
		}
	}
	for _, v := range []float64{math.MaxFloat64, -math.MaxFloat64, 1e-300, math.SmallestNonzeroFloat64} {
		ticks, lo, hi := niceTicks(-v, v, 5)
		for _, x := range append(ticks, lo, hi) {
			if !finite(x) {
				t.Errorf("niceTicks(±%v) gave %v", v, x)
			}
		}
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", math.Copysign(0, -1): "0", 1.005: "1", 12.345: "12.35", -3.2: "-3.2",
		math.NaN(): "0", math.Inf(1): "0", 1e21: "1000000000000000000000"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
