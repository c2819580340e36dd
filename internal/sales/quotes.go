package sales

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Quotes: numbered offers made from a deal's line items.

// QuoteInput is a new quote (or changes to a draft): when it is valid
// until (YYYY-MM-DD; the settings' number of days from today when empty)
// and notes printed on it.
type QuoteInput struct {
	ValidUntil string `json:"valid_until,omitempty"`
	Notes      string `json:"notes,omitempty"`
}

// QuoteNumber formats a quote's number with the settings' prefix.
func QuoteNumber(st Settings, n int64) string { return st.QuotePrefix + strconv.FormatInt(n, 10) }

// CreateQuote makes a draft quote of a deal's line items as they are now,
// numbered one more than the last quote. A deal without line items has
// nothing to quote (422 naming lines). Writes quote.created on the deal's
// person's and company's timelines. Needs sales:write.
func (s *Service) CreateQuote(ctx context.Context, dealID int64, in QuoteInput) (*crm.Quote, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var q *crm.Quote
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		d, err := s.findDeal(ctx, tx, dealID, true)
		if err != nil {
			return err
		}
		lines, err := tx.DealLines(ctx, dealID)
		if err != nil {
			return err
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		var v crm.Validation
		if len(lines) == 0 {
			v.Add("lines", "Add line items to the deal first: a quote lists them.")
		}
		q = &crm.Quote{DealID: dealID, Status: crm.QuoteDraft, Notes: checkText(&v, "notes", in.Notes, MaxText),
			ValidUntil: checkDate(&v, "valid_until", in.ValidUntil), CreatedBy: crm.UserIDFromContext(ctx)}
		if q.ValidUntil == "" {
			q.ValidUntil = tx.Now().AddDate(0, 0, st.QuoteValidDays).Format(time.DateOnly)
		}
		if err := v.Err(); err != nil {
			return err
		}
		fillQuote(q, d, lines)
		if q.Number, err = tx.NextQuoteNumber(ctx); err != nil {
			return err
		}
		if err := tx.InsertQuote(ctx, q); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "quote.create", "quote", q.ID, nil, q); err != nil {
			return err
		}
		return emitQuote(ctx, tx, crm.EventQuoteCreated, q, st)
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// fillQuote copies the deal's title, parties, currency and lines.
func fillQuote(q *crm.Quote, d *crm.Deal, lines []crm.DealLine) {
	q.Title, q.ContactID, q.CompanyID, q.Currency, q.Lines = d.Title, d.ContactID, d.CompanyID, d.Currency, lines
	q.Subtotal, q.Discount, q.Tax, q.Total = LinesTotals(lines)
}

func emitQuote(ctx context.Context, tx *store.Tx, typ string, q *crm.Quote, st Settings) error {
	b, err := json.Marshal(QuotePayload{QuoteID: q.ID, DealID: q.DealID, Number: QuoteNumber(st, q.Number), Status: q.Status,
		Total: q.Total, Currency: q.Currency, Title: q.Title})
	if err != nil {
		return fmt.Errorf("sales: quote payload: %w", err)
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: "quote", SubjectID: q.ID, ContactID: q.ContactID, CompanyID: q.CompanyID, Payload: b})
}

// QuoteUpdate changes a quote; nil fields stay. Refresh copies the deal's
// line items again (drafts only).
type QuoteUpdate struct {
	ValidUntil *string `json:"valid_until,omitempty"`
	Notes      *string `json:"notes,omitempty"`
	Refresh    bool    `json:"refresh,omitempty"`
}

// UpdateQuote changes a draft quote's dates, notes or lines; a quote sent
// to the customer is a conflict (make a new one). Needs sales:write.
func (s *Service) UpdateQuote(ctx context.Context, id int64, up QuoteUpdate) (*crm.Quote, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var q *crm.Quote
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if q, err = tx.FindQuote(ctx, id, true); err != nil {
			return err
		}
		d, err := s.findDeal(ctx, tx, q.DealID, true)
		if err != nil {
			return err
		}
		if q.Status != crm.QuoteDraft {
			return conflict("Quote %d is %s; only drafts change. Make a new quote instead.", q.Number, q.Status)
		}
		before := *q
		var v crm.Validation
		if up.ValidUntil != nil {
			q.ValidUntil = checkDate(&v, "valid_until", *up.ValidUntil)
		}
		if up.Notes != nil {
			q.Notes = checkText(&v, "notes", *up.Notes, MaxText)
		}
		if up.Refresh {
			lines, err := tx.DealLines(ctx, q.DealID)
			if err != nil {
				return err
			}
			if len(lines) == 0 {
				v.Add("refresh", "The deal has no line items left to quote.")
			}
			fillQuote(q, d, lines)
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.UpdateQuote(ctx, q); err != nil {
			return err
		}
		return tx.Audit(ctx, "quote.update", "quote", q.ID, before, q)
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// quoteMoves are the status changes a quote allows.
var quoteMoves = map[string][]string{
	crm.QuoteDraft: {crm.QuoteSent, crm.QuoteAccepted, crm.QuoteDeclined},
	crm.QuoteSent:  {crm.QuoteAccepted, crm.QuoteDeclined, crm.QuoteDraft},
}

// SetQuoteStatus moves a quote along draft → sent → accepted or declined
// (a sent quote may go back to draft for changes; accepted and declined
// are final). Writes quote.status_changed on the timelines. Needs
// sales:write.
func (s *Service) SetQuoteStatus(ctx context.Context, id int64, status string) (*crm.Quote, error) {
	if err := crm.Authorize(ctx, crm.PermSalesWrite, true); err != nil {
		return nil, err
	}
	var q *crm.Quote
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if q, err = tx.FindQuote(ctx, id, true); err != nil {
			return err
		}
		if _, err := s.findDeal(ctx, tx, q.DealID, false); err != nil {
			return err
		}
		if q.Status == status {
			return nil
		}
		valid := false
		for _, st := range crm.QuoteStatuses {
			valid = valid || st == status
		}
		if !valid {
			return fieldError("status", "Use draft, sent, accepted or declined.")
		}
		allowed := false
		for _, st := range quoteMoves[q.Status] {
			allowed = allowed || st == status
		}
		if !allowed {
			return conflict("Quote %d is %s and cannot become %s.", q.Number, q.Status, status)
		}
		before := *q
		now := tx.Now()
		q.Status = status
		switch status {
		case crm.QuoteSent:
			q.SentAt = &now
		case crm.QuoteAccepted, crm.QuoteDeclined:
			q.DecidedAt = &now
		case crm.QuoteDraft:
			q.SentAt = nil
		}
		if err := tx.UpdateQuote(ctx, q); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "quote.status", "quote", q.ID, before, q); err != nil {
			return err
		}
		st, err := s.settings(ctx, tx)
		if err != nil {
			return err
		}
		return emitQuote(ctx, tx, crm.EventQuoteStatus, q, st)
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// QuoteView is a quote with what its printed page shows.
type QuoteView struct {
	Quote    *crm.Quote
	Number   string // with the prefix
	Settings Settings
	Logo     string // a data: URL, "" without a logo
	Contact  *crm.Contact
	Company  *crm.Company
	Owner    string
}

// Quote returns a quote with its business and customer details. Needs
// sales:read (and the deal visible).
func (s *Service) Quote(ctx context.Context, id int64) (*QuoteView, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	out := &QuoteView{}
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		q, err := tx.FindQuote(ctx, id, false)
		if err != nil {
			return err
		}
		d, err := s.findDeal(ctx, tx, q.DealID, false)
		if err != nil {
			return crm.Errorf(crm.ENOTFOUND, "Quote was not found.")
		}
		out.Quote = q
		if out.Settings, err = s.settings(ctx, tx); err != nil {
			return err
		}
		out.Number = QuoteNumber(out.Settings, q.Number)
		if out.Settings.HasLogo {
			if out.Logo, _, err = tx.SalesSetting(ctx, "sales.logo"); err != nil {
				return err
			}
		}
		if q.ContactID != 0 {
			if c, err := tx.FindContactByID(ctx, q.ContactID); err == nil {
				out.Contact = c
			}
		}
		if q.CompanyID != 0 {
			if c, err := tx.FindCompanyByID(ctx, q.CompanyID); err == nil {
				out.Company = c
			}
		}
		names, err := tx.SalesNamesFor(ctx, nil, nil, []int64{d.OwnerID}, nil, nil)
		if err != nil {
			return err
		}
		out.Owner = names.Users[d.OwnerID]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DealQuotes lists a deal's quotes, newest first. Needs sales:read.
func (s *Service) DealQuotes(ctx context.Context, dealID int64) ([]*crm.Quote, error) {
	if err := crm.Authorize(ctx, crm.PermSalesRead, false); err != nil {
		return nil, err
	}
	var out []*crm.Quote
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := s.findDeal(ctx, tx, dealID, false); err != nil {
			return err
		}
		var err error
		out, err = tx.DealQuotes(ctx, dealID)
		return err
	})
	return out, err
}
