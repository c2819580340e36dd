package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
)

func init() {
	analyzers["rfm"] = analyzer{
		summary: "recency, frequency and monetary quintile scores, RFM cells and segments",
		run:     cmdAnalyzeRFM,
	}
}

const analyzeRFMUsage = "pivand analyze rfm --input FILE [--end YYYY-MM-DD] [column flags] --format csv|json"

const analyzeRFMHelp = `
Scores every customer's recency, frequency and monetary value from 1 to 5
(quintiles with SQL NTILE(5) semantics, ties by customer id), gives the RFM
cell (555 is best) and the segment (champions … lost).

Recency is counted in days from the last purchase to the day after --end
(default: the date of the last transaction, so a purchase on that day has
recency 1); frequency is the number of transactions (orders, with
--order-col); monetary is their sum, rounded to cents.
` + miningInputHelp

// miningInputHelp describes the transaction file flags shared by the rfm
// and cohorts analyses.
const miningInputHelp = `
--input is a CSV file with the header customer_id,date,amount (other names
with --customer-col, --date-col, --amount-col), or - for standard input.
Dates are YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD, optionally with a time.
--quantity-col and --price-col give amount = quantity × price;
--order-col merges consecutive lines of one order into one transaction.
Negative amounts are errors; --clean skips them, and rows without a
customer, instead. --preset online-retail reads the UCI Online Retail file
with the cleaning rule of its reference outputs.
`

func cmdAnalyzeRFM(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("analyze rfm", flag.ContinueOnError)
	var in miningInput
	var endS, format string
	in.flags(fs)
	fs.StringVar(&endS, "end", "", "last day of observation, YYYY-MM-DD (default: the date of the last transaction)")
	fs.StringVar(&format, "format", "csv", "output format: csv or json")
	if err := parse(fs, env, args, analyzeRFMUsage); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(env.stdout, analyzeRFMHelp)
		}
		return err
	}
	if format != "csv" && format != "json" {
		return config.Usagef("--format %q is not csv or json", format)
	}
	end, err := miningDate("--end", endS)
	if err != nil {
		return err
	}
	cols, err := in.columns()
	if err != nil {
		return err
	}
	rfm := analytics.NewRFM(analytics.RFMOptions{End: end})
	stats, err := in.read(ctx, env, cols, func(t analytics.Transaction, i int) error { return rfm.AddIndexed(t, i) })
	if err != nil {
		return err
	}
	scores := rfm.Scores()
	if len(scores) == 0 {
		return crm.Errorf(crm.EINVALID, "%s: no transactions", miningFileName(in.path))
	}
	last, _ := rfm.End()
	var out bytes.Buffer
	if format == "csv" {
		idCol := cols.Customer
		if idCol == "" {
			idCol = "customer_id"
		}
		w := csv.NewWriter(&out)
		w.Write([]string{idCol, "recency_days", "frequency", "monetary", "tenure_days", "r_score", "f_score", "m_score", "rfm_cell", "segment"})
		for _, s := range scores {
			w.Write([]string{s.Customer, strconv.Itoa(s.Recency), strconv.Itoa(s.Frequency), analytics.FormatRate(s.Monetary),
				strconv.Itoa(s.Tenure), strconv.Itoa(s.R), strconv.Itoa(s.F), strconv.Itoa(s.M), s.Cell, s.Segment})
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
	} else {
		segments := map[string]int{}
		cells := map[string]int{}
		for _, s := range scores {
			segments[s.Segment]++
			cells[s.Cell]++
		}
		rep := struct {
			Customers    int                     `json:"customers"`
			End          string                  `json:"end"`
			Snapshot     string                  `json:"snapshot"`
			Read         analytics.ReadStats     `json:"read"`
			Ignored      int                     `json:"ignored_after_end"`
			Segments     map[string]int          `json:"segments"`
			Cells        map[string]int          `json:"cells"`
			SegmentRules []analytics.SegmentRule `json:"segment_rules"`
			FM           string                  `json:"fm_score"`
			Scores       []analytics.RFMScore    `json:"scores"`
		}{len(scores), last.Format(time.DateOnly), last.AddDate(0, 0, 1).Format(time.DateOnly), stats, rfm.Ignored(),
			segments, cells, analytics.RFMSegmentRules, "floor((f_score + m_score) / 2); the first matching rule gives the segment", scores}
		if err := miningJSON(&out, rep); err != nil {
			return err
		}
	}
	_, err = env.stdout.Write(out.Bytes())
	return err
}

// miningInput is the --input file of the rfm and cohorts analyses and the
// flags that say how to read it.
type miningInput struct {
	path, preset, sep    string
	cols                 analytics.Columns
	clean, noHeader      bool
	customer, date, amnt string
}

func (m *miningInput) flags(fs *flag.FlagSet) {
	fs.StringVar(&m.path, "input", "", "transactions CSV file, or - for standard input")
	fs.StringVar(&m.preset, "preset", "", "column preset: online-retail (UCI Online Retail, cleaned as its references)")
	fs.StringVar(&m.customer, "customer-col", "", "customer column (default customer_id)")
	fs.StringVar(&m.date, "date-col", "", "date column (default date)")
	fs.StringVar(&m.amnt, "amount-col", "", "amount column (default amount)")
	fs.StringVar(&m.cols.Quantity, "quantity-col", "", "quantity column: amount = quantity × price (with --price-col)")
	fs.StringVar(&m.cols.Price, "price-col", "", "unit price column (with --quantity-col)")
	fs.StringVar(&m.cols.Order, "order-col", "", "order id column: consecutive lines of one order are one transaction")
	fs.StringVar(&m.sep, "separator", "comma", "field separator: comma, semicolon, tab or space (runs of blanks, no quoting)")
	fs.BoolVar(&m.noHeader, "no-header", false, "the file has no header; the column flags are column numbers from 1")
	fs.StringVar(&m.cols.Calendar, "date-calendar", "gregorian", "calendar of the dates in the file: gregorian or jalali")
	fs.BoolVar(&m.clean, "clean", false, "skip rows without a customer or with a zero or negative amount, quantity or price")
}

func (m *miningInput) columns() (analytics.Columns, error) {
	if m.path == "" {
		return analytics.Columns{}, config.Usagef("missing --input FILE")
	}
	c := m.cols
	switch m.preset {
	case "":
	case "online-retail":
		c = analytics.OnlineRetailColumns
		c.Calendar = m.cols.Calendar
	default:
		return c, config.Usagef("--preset %q: the only preset is online-retail", m.preset)
	}
	if m.customer != "" {
		c.Customer = m.customer
	}
	if m.date != "" {
		c.Date = m.date
	}
	if m.amnt != "" {
		c.Amount = m.amnt
	}
	c.Clean = c.Clean || m.clean
	c.NoHeader = m.noHeader
	switch m.sep {
	case "comma", ",":
		c.Comma = ','
	case "semicolon", ";":
		c.Comma = ';'
	case "tab", "\t":
		c.Comma = '\t'
	case "space", " ":
		c.Comma = ' '
	default:
		return c, config.Usagef("--separator %q is not comma, semicolon, tab or space", m.sep)
	}
	if (c.Quantity == "") != (c.Price == "") {
		return c, config.Usagef("give both --quantity-col and --price-col, or neither")
	}
	switch strings.ToLower(c.Calendar) {
	case "gregorian", "jalali":
	default:
		return c, config.Usagef("--date-calendar %q is not gregorian or jalali", c.Calendar)
	}
	return c, nil
}

// read streams the transactions of the input to fn; errors name the file.
func (m *miningInput) read(ctx context.Context, env *environment, cols analytics.Columns, fn func(analytics.Transaction, int) error) (analytics.ReadStats, error) {
	var stats analytics.ReadStats
	err := miningOpen(env, m.path, func(r io.Reader) error {
		n := 0
		var err error
		stats, err = analytics.ReadCustomerTransactions(r, cols, func(t analytics.Transaction, i int) error {
			if n++; n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			return fn(t, i)
		})
		return err
	})
	return stats, err
}

// miningOpen opens FILE (or standard input for -) and runs fn on it; errors
// are prefixed with the file's name.
func miningOpen(env *environment, name string, fn func(io.Reader) error) error {
	var r io.Reader
	if name == "-" {
		r = env.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return crm.Errorf(crm.EINVALID, "cannot open %s: %v", name, err)
		}
		defer f.Close()
		r = f
	}
	if err := fn(bufio.NewReaderSize(r, 64<<10)); err != nil {
		var ce *crm.Error
		if errors.As(err, &ce) {
			return crm.Errorf(ce.Code, "%s: %s", miningFileName(name), ce.Message)
		}
		return fmt.Errorf("%s: %w", miningFileName(name), err)
	}
	return nil
}

func miningFileName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return filepath.Base(name)
}

// miningDate parses an optional YYYY-MM-DD flag.
func miningDate(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, config.Usagef("%s %q is not a date YYYY-MM-DD", flagName, s)
	}
	return t, nil
}

func miningJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
