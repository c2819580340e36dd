package chart

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"
)

// fuzzInput turns fuzz bytes into chart data: values from raw float64
// bits (so NaN, ±Inf, -0, subnormals and huge numbers all occur), labels
// cut from the text.
type fuzzInput struct {
	data []byte
}

func (f *fuzzInput) float() float64 {
	if len(f.data) < 8 {
		if len(f.data) == 0 {
			return 0
		}
		v := float64(int8(f.data[0]))
		f.data = f.data[1:]
		return v
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(f.data))
	f.data = f.data[8:]
	return v
}

func (f *fuzzInput) values(n int) []float64 {
	out := make([]float64, max(n, 0))
	for i := range out {
		out[i] = f.float()
	}
	return out
}

func labels(text string, n int) []string {
	parts := strings.Split(text, "|")
	out := make([]string, n)
	for i := range out {
		out[i] = parts[i%len(parts)]
	}
	return out
}

func seeds(f *testing.F) {
	b := make([]byte, 0, 64)
	for _, v := range []float64{1, 2.5, -3, math.NaN(), math.Inf(1), math.Inf(-1), 1e308, -1e308, 5e-324, 0} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	f.Add("Farvardin|اردیبهشت|<b>&\"'", uint8(3), uint8(2), uint8(0), b)
	f.Add("", uint8(0), uint8(0), uint8(7), []byte{})
	f.Add("a", uint8(40), uint8(9), uint8(255), []byte{1, 2, 3, 250, 0, 0, 0, 0, 0, 0, 240, 127})
	f.Add("\x00\xff|\u202e", uint8(1), uint8(1), uint8(1), b[:16])
}

// format is a caller's formatter: it never writes an exponent, as the
// pages' formatters do not.
func format(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func FuzzBar(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, text string, nLabels, nSeries, flags uint8, data []byte) {
		in := &fuzzInput{data: data}
		n, k := int(nLabels%50), int(nSeries%6)
		c := Bar{Common: Common{ID: text, Title: text, Desc: text, RTL: flags&1 != 0, Format: format,
			Width: int(flags) * 7, Height: int(flags) * 3},
			Labels: labels(text, n), Horizontal: flags&2 != 0, Stacked: flags&4 != 0, Funnel: flags&8 != 0, ValueLabels: flags&16 != 0, Empty: text}
		for i := 0; i < k; i++ {
			c.Series = append(c.Series, Series{Name: text, Values: in.values(int(flags>>5) + n - 1)})
		}
		checkOutput(t, c.SVG())
	})
}

func FuzzLine(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, text string, nPoints, nSeries, flags uint8, data []byte) {
		in := &fuzzInput{data: data}
		n, k := int(nPoints%70), int(nSeries%5)
		c := Line{Common: Common{ID: text, Title: text, RTL: flags&1 != 0, Format: format}, Area: flags&2 != 0, Diagonal: flags&4 != 0, Empty: text}
		if flags&8 != 0 {
			c.X = in.values(n)
			c.XMin, c.XMax = in.float(), in.float()
			c.FormatX = format
			c.Markers = []Marker{{X: in.float(), Label: text}}
		} else {
			c.Labels = labels(text, n)
		}
		if flags&16 != 0 {
			c.YFixed, c.YMin, c.YMax = true, in.float(), in.float()
		}
		for i := 0; i < k; i++ {
			c.Series = append(c.Series, Series{Name: text, Values: in.values(n + int(flags>>6) - 1)})
		}
		checkOutput(t, c.SVG())
	})
}

func FuzzHistogram(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, text string, nBins, _, flags uint8, data []byte) {
		in := &fuzzInput{data: data}
		n := int(nBins % 60)
		c := Histogram{Common: Common{Title: text, RTL: flags&1 != 0, Format: format}, Edges: in.values(n + 1 - int(flags>>7)), Counts: in.values(n), Empty: text}
		checkOutput(t, c.SVG())
	})
}

func FuzzDonut(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, text string, n, _, flags uint8, data []byte) {
		in := &fuzzInput{data: data}
		c := Donut{Common: Common{Title: text, RTL: flags&1 != 0, Format: format}, Labels: labels(text, int(n%20)), Values: in.values(int(n % 20)), Center: text}
		checkOutput(t, c.SVG())
	})
}

func FuzzHeatMap(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, text string, rows, cols, flags uint8, data []byte) {
		in := &fuzzInput{data: data}
		r, c := int(rows%20), int(cols%20)
		m := HeatMap{ID: text, Caption: text, Corner: text, RowLabels: labels(text, r), ColLabels: labels(text, c), Max: in.float(), Format: format}
		if flags&1 != 0 {
			m.RowNotes, m.NoteLabel = labels(text, r), text
		}
		for i := 0; i < r; i++ {
			m.Values = append(m.Values, in.values(c-int(flags>>7)))
		}
		out := m.HTML()
		parse(t, out)
		if strings.Contains(out, "NaN") && !strings.Contains(text, "NaN") || strings.Contains(out, "Inf") && !strings.Contains(text, "Inf") {
			t.Fatalf("NaN or Inf in the table: %s", out)
		}
	})
}
