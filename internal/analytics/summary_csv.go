package analytics

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// Column names accepted by ReadSummaries, canonical name first. The aliases
// are the column names of the CDNOW files that lifetimes and BTYD ship
// (x, t_x, T_cal, zbar, m_x).
var summaryColumnNames = [...][]string{
	colID:        {"customer_id", "id", "customerid", "cust"},
	colFrequency: {"frequency", "x"},
	colRecency:   {"recency", "t_x"},
	colT:         {"t", "t_cal"},
	colMonetary:  {"monetary_value", "zbar", "m_x"},
}

var summaryDisplayNames = [...]string{"customer_id", "frequency", "recency", "T", "monetary_value"}

const (
	colID = iota
	colFrequency
	colRecency
	colT
	colMonetary
	nSummaryCols
)

// SummaryFile describes what a summary CSV holds.
type SummaryFile struct {
	HasID       bool // a customer id column was found; else ids are row numbers
	HasMonetary bool // monetary values were given
	Rows        int
}

// summaryError names the line, the column (its number, from 1, and its
// name in the header) of a bad value.
func summaryError(line, col int, name, format string, args ...any) error {
	return crm.Errorf(crm.EINVALID, "line %d, column %d (%s): %s", line, col, name, fmt.Sprintf(format, args...))
}

// ReadSummaries streams a CSV of customer summaries with the header
// frequency,recency,T[,monetary_value] (any order, names case-insensitive,
// other columns ignored; an id column customer_id, id, CustomerID or cust
// is used when present). Each row must hold an integer frequency ≥ 0,
// 0 ≤ recency ≤ T, recency 0 when frequency is 0, and a monetary value ≥ 0.
// Errors name the line and column; fn's errors are returned as they are.
func ReadSummaries(r io.Reader, fn func(Summary) error) (SummaryFile, error) {
	var info SummaryFile
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return info, crm.Errorf(crm.EINVALID, "line 1: the file is empty; expected a header frequency,recency,T[,monetary_value]")
	}
	if err != nil {
		return info, csvError(err)
	}
	var at [nSummaryCols]int
	var names [nSummaryCols]string
	for i := range at {
		at[i] = -1
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		for c, aliases := range summaryColumnNames {
			for rank, a := range aliases {
				if h != a {
					continue
				}
				// A canonical name wins over an alias; else the first column.
				if at[c] < 0 || (rank == 0 && names[c] != aliases[0]) {
					at[c], names[c] = i, header[i]
				}
			}
		}
	}
	var missing []string
	for _, c := range []int{colFrequency, colRecency, colT} {
		if at[c] < 0 {
			missing = append(missing, summaryDisplayNames[c])
		}
	}
	if len(missing) > 0 {
		return info, crm.Errorf(crm.EINVALID, "line 1: missing column %s (the header must name frequency, recency and T)", strings.Join(missing, ", "))
	}
	info.HasID, info.HasMonetary = at[colID] >= 0, at[colMonetary] >= 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return info, nil
		}
		if err != nil {
			return info, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		num := func(c int) (float64, error) {
			i := at[c]
			if i >= len(rec) {
				return 0, summaryError(line, i+1, names[c], "the value is missing (the row has %d columns)", len(rec))
			}
			s := strings.TrimSpace(rec[i])
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				col := i + 1
				if s == "" {
					return 0, summaryError(line, col, names[c], "the value is empty")
				}
				return 0, summaryError(line, col, names[c], "%q is not a number", truncate(s, 40))
			}
			if v < 0 {
				return 0, summaryError(line, i+1, names[c], "%s is negative", s)
			}
			return v, nil
		}
		var s Summary
		f, err := num(colFrequency)
		if err != nil {
			return info, err
		}
		if f != math.Trunc(f) || f > 1e9 {
			return info, summaryError(line, at[colFrequency]+1, names[colFrequency], "%s is not a whole number of repeat purchases", strings.TrimSpace(rec[at[colFrequency]]))
		}
		s.Frequency = int(f)
		if s.Recency, err = num(colRecency); err != nil {
			return info, err
		}
		if s.T, err = num(colT); err != nil {
			return info, err
		}
		if s.Recency > s.T {
			return info, summaryError(line, at[colRecency]+1, names[colRecency], "recency %v is after T %v", s.Recency, s.T)
		}
		if s.Frequency == 0 && s.Recency != 0 {
			return info, summaryError(line, at[colRecency]+1, names[colRecency], "recency %v with frequency 0 (must be 0)", s.Recency)
		}
		if info.HasMonetary {
			if s.MonetaryValue, err = num(colMonetary); err != nil {
				return info, err
			}
		}
		info.Rows++
		if info.HasID {
			if at[colID] < len(rec) {
				s.Customer = strings.TrimSpace(rec[at[colID]])
			}
			if s.Customer == "" {
				return info, summaryError(line, at[colID]+1, names[colID], "the customer id is empty")
			}
		} else {
			s.Customer = strconv.Itoa(info.Rows)
		}
		if err := fn(s); err != nil {
			return info, err
		}
	}
}

// csvError turns an encoding/csv error into one naming line and column.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return crm.Errorf(crm.EINVALID, "line %d: %v (at character %d)", pe.Line, pe.Err, pe.Column)
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
