package sales

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// DealCSVColumns are the columns of a deal export, in order, before one
// column per deal custom field ("custom.<key>", in the fields' order).
// Money is in major units with a point (12500.50), times RFC 3339 in UTC,
// tags and multiple choices joined with "; ".
var DealCSVColumns = []string{"id", "title", "pipeline", "stage", "status", "value", "currency", "weighted_value", "probability",
	"owner", "person", "company", "expected_close", "tags", "source", "lost_reason_id", "lost_note", "created_at", "closed_at"}

// ErrExportStarted wraps an error that happened after ExportCSV started
// writing: the response is under way and can only be cut short.
var ErrExportStarted = errors.New("sales: export started")

// ExportCSV writes the deals matching f as CSV (UTF-8 with a byte order
// mark, so spreadsheets read Persian and Arabic right), newest first,
// streaming: any number of deals in constant memory. The permission and
// the filter are checked first: such errors come back before anything is
// written; start is called just before the first byte. Later errors wrap
// ErrExportStarted. Needs sales:read.
func (s *Service) ExportCSV(ctx context.Context, w io.Writer, f crm.DealFilter, start func()) error {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return err
	}
	if err := checkFilter(&f); err != nil {
		return err
	}
	var fields []*crm.CustomField
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if err := s.fieldConds(ctx, tx, &f); err != nil {
			return err
		}
		var err error
		fields, err = listDealFields(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	if start != nil {
		start()
	}
	if err := s.writeCSV(ctx, w, f, fields); err != nil {
		return fmt.Errorf("%w: %w", ErrExportStarted, err)
	}
	return nil
}

func (s *Service) writeCSV(ctx context.Context, w io.Writer, f crm.DealFilter, fields []*crm.CustomField) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := slices.Clone(DealCSVColumns)
	for _, fd := range fields {
		head = append(head, "custom."+fd.Key)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	row := make([]string, len(head))
	err := s.StreamDeals(ctx, f, func(d *crm.Deal, n *store.SalesNames) error {
		st := n.Stages[d.StageID]
		closed := ""
		if d.ClosedAt != nil {
			closed = d.ClosedAt.UTC().Format(time.RFC3339)
		}
		lost := ""
		if d.LostReasonID != 0 {
			lost = strconv.FormatInt(d.LostReasonID, 10)
		}
		copy(row, []string{strconv.FormatInt(d.ID, 10), d.Title, n.Pipelines[d.PipelineID], st.Name, d.Status,
			MajorUnits(d.Value, d.Currency), d.Currency, MajorUnits(Weighted(d.Value, st.Probability), d.Currency), strconv.Itoa(st.Probability),
			n.Users[d.OwnerID], n.Contacts[d.ContactID], n.Companies[d.CompanyID], d.ExpectedClose, strings.Join(d.Tags, "; "),
			d.Source, lost, d.LostNote, d.CreatedAt.UTC().Format(time.RFC3339), closed})
		for i, fd := range fields {
			row[len(DealCSVColumns)+i] = CustomCell(fd, d.Custom[fd.Key])
		}
		for i := range row {
			row[i] = protectCell(row[i])
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// CustomCell writes a custom value for a CSV cell: money in major units of
// the field's currency, numbers as typed in Go ('f' format), multiple
// choices joined with "; ", booleans true or false, dates YYYY-MM-DD.
func CustomCell(f *crm.CustomField, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if f.Type == crm.FieldMoney && x == math.Trunc(x) {
			return MajorUnits(int64(x), f.Currency)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		if f.Type == crm.FieldMoney {
			return MajorUnits(x, f.Currency)
		}
		return strconv.FormatInt(x, 10)
	case []string:
		return strings.Join(x, "; ")
	case []any:
		parts := make([]string, 0, len(x))
		for _, it := range x {
			parts = append(parts, fmt.Sprint(it))
		}
		return strings.Join(parts, "; ")
	}
	return fmt.Sprint(v)
}

// MajorUnits writes an amount of minor units in major units with a point
// and the currency's decimals: 1250050 USD is "12500.50", 5000 IRR "5000".
func MajorUnits(minor int64, currency string) string {
	d := crm.CurrencyExponent(currency)
	s := strconv.FormatInt(minor, 10)
	if d == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= d {
		s = "0" + s
	}
	s = s[:len(s)-d] + "." + s[len(s)-d:]
	if neg {
		s = "-" + s
	}
	return s
}

// protectCell keeps a spreadsheet from reading a cell as a formula (the
// rule of internal/contactfile's exports): a cell starting with =, @, a
// tab or a carriage return, or with + or - followed by anything but a
// number, gets a leading apostrophe.
func protectCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return "'" + s
		}
	}
	return s
}
