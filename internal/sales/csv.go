package sales

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// DealCSVColumns are the columns of a deal export, in order. Money is in
// major units with a point (12500.50), times RFC 3339 in UTC, tags joined
// with "; ".
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
	if start != nil {
		start()
	}
	if err := s.writeCSV(ctx, w, f); err != nil {
		return fmt.Errorf("%w: %w", ErrExportStarted, err)
	}
	return nil
}

func (s *Service) writeCSV(ctx context.Context, w io.Writer, f crm.DealFilter) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(DealCSVColumns); err != nil {
		return err
	}
	row := make([]string, len(DealCSVColumns))
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
