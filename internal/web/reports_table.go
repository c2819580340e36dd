package web

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/text"
)

// The numbers of a report panel: one table that the page shows beside the
// chart and the CSV export writes, so both always hold the same figures.

// reportColumn is a column of a report table.
type reportColumn struct {
	Label   string // translated header
	Num     bool   // numbers: aligned to the end
	CSVOnly bool   // in the CSV export only (machine-readable extras such as ISO dates)
	// CSVLabel, when set, is the header in the CSV (where a terse page
	// header such as "+1" would be read as a number).
	CSVLabel string
}

// reportCell is one value: Text for the page (the user's digits and
// grouping), CSV for the export (ASCII digits, no grouping, a dot for
// decimals), and an optional link.
type reportCell struct {
	Text  string
	CSV   string
	Href  string
	Class string
}

// reportTable is the table of a panel.
type reportTable struct {
	Caption string
	Columns []reportColumn
	Rows    [][]reportCell
	Foot    []reportCell // totals; nil when none
}

// Visible returns the columns shown on the page.
func (t *reportTable) Visible() []int {
	var out []int
	for i, c := range t.Columns {
		if !c.CSVOnly {
			out = append(out, i)
		}
	}
	return out
}

// Cell returns row[i], or an empty cell when the row is short.
func (t *reportTable) Cell(row []reportCell, i int) reportCell {
	if i < len(row) {
		return row[i]
	}
	return reportCell{}
}

// writeCSV writes the table as CSV: UTF-8 with a byte-order mark (so that
// Excel reads Persian and Arabic text as UTF-8), a header row (in the
// user's language, ASCII digits), the rows and the totals. Every value is the number shown on the page, written
// for machines.
func (t *reportTable) writeCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		label := c.Label
		if c.CSVLabel != "" {
			label = c.CSVLabel
		}
		head[i] = csvSafe(text.ToASCIIDigits(label))
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	write := func(row []reportCell) error {
		rec := make([]string, len(t.Columns))
		for i := range t.Columns {
			if i < len(row) {
				rec[i] = csvSafe(row[i].CSV)
			}
		}
		return cw.Write(rec)
	}
	for _, row := range t.Rows {
		if err := write(row); err != nil {
			return err
		}
	}
	if t.Foot != nil {
		if err := write(t.Foot); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading text as a formula: a value
// starting with = + - @ (that is not a number) gets a leading apostrophe.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return s
		}
		return "'" + s
	}
	return s
}

// Cell constructors.

func textCell(s string) reportCell { return reportCell{Text: s, CSV: text.ToASCIIDigits(s)} }

func linkCell(s, href string) reportCell {
	c := textCell(s)
	c.Href = href
	return c
}

func intCell(p *locale.Printer, n int64) reportCell {
	return reportCell{Text: p.Number(n), CSV: strconv.FormatInt(n, 10), Class: "num"}
}

func moneyCell(p *locale.Printer, minor int64, currency string) reportCell {
	return reportCell{Text: moneyAmount(p, minor, currency), CSV: moneyPlain(minor, currency), Class: "num"}
}

// shareCell shows a fraction as a percentage with one decimal; NaN (no
// base to divide by) shows as a dash and is empty in the CSV.
func shareCell(p *locale.Printer, f float64) reportCell {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return reportCell{Text: "–", Class: "num"}
	}
	return reportCell{Text: percent(p, f, 1), CSV: strconv.FormatFloat(math.Round(f*1000)/10, 'f', 1, 64), Class: "num"}
}

// decimalCell shows a number with d decimals.
func decimalCell(p *locale.Printer, f float64, d int) reportCell {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return reportCell{Text: "–", Class: "num"}
	}
	s := strconv.FormatFloat(f, 'f', d, 64)
	return reportCell{Text: p.Digits(strings.Replace(s, ".", decimalSep(p), 1)), CSV: s, Class: "num"}
}

// percent formats a fraction as a percentage with d decimals in the
// user's digits and percent sign.
func percent(p *locale.Printer, f float64, d int) string {
	s := strconv.FormatFloat(f*100, 'f', d, 64)
	return p.T("reports.percent", "n", p.Digits(strings.Replace(s, ".", decimalSep(p), 1)))
}

// moneyPlain writes minor units as a plain decimal of major units:
// 125050 USD is "1250.50".
func moneyPlain(minor int64, currency string) string {
	d := minorDigits(currency)
	if d == 0 {
		return strconv.FormatInt(minor, 10)
	}
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-minor)
	}
	scale := uint64(math.Pow10(d))
	return fmt.Sprintf("%s%d.%0*d", sign, u/scale, d, u%scale)
}

// major converts minor units to major units for a chart.
func major(minor int64, currency string) float64 {
	return float64(minor) / math.Pow10(minorDigits(currency))
}

// compact formats a chart value briefly in the user's digits: 1.2K,
// 3.5M, 2B (in the user's language).
func compact(p *locale.Printer, v float64) string {
	a := math.Abs(v)
	key, div := "", 1.0
	switch {
	case a >= 1e9:
		key, div = "reports.compact.billion", 1e9
	case a >= 1e6:
		key, div = "reports.compact.million", 1e6
	case a >= 1e3:
		key, div = "reports.compact.thousand", 1e3
	}
	x := v / div
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if math.Abs(x-math.Round(x)) > 1e-9 {
		s = strconv.FormatFloat(x, 'f', 1, 64)
		s = strings.TrimSuffix(s, ".0")
	}
	if len(s) > 12 { // beyond the scale's words: plain digits
		s = strconv.FormatFloat(x, 'f', 0, 64)
	}
	s = p.Digits(strings.Replace(s, ".", decimalSep(p), 1))
	if key == "" {
		return s
	}
	return p.T(key, "n", s)
}

// monthLabel names a month of the report's calendar: "Farvardin 1404".
func monthLabel(p *locale.Printer, m report.Month) string {
	y, mo := m.YearMonth()
	return p.T("reports.month", "month", p.MonthName(mo), "year", p.Digits(strconv.Itoa(y)))
}

// monthTick is a month's label on a chart axis: the month's name, with
// the year on the first month shown and on the first month of a year.
func monthTick(p *locale.Printer, m report.Month, first bool) string {
	_, mo := m.YearMonth()
	if first || mo == 1 {
		return monthLabel(p, m)
	}
	return p.MonthName(mo)
}

// dayText shows a day of the business time zone in the user's calendar
// and digits.
func dayText(p *locale.Printer, d report.Day) string {
	return p.Digits(report.FormatDay(d, p.Calendar()))
}
