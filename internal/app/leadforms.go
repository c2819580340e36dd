package app

import (
	"context"

	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
)

// The lead forms' connections to the other modules (leadform.Options):
// the person through the contacts' duplicate matching, the lead through
// sales, confirmation mail through the campaign SMTP settings, and the
// scoring rules' conditions through the segment language's checker.

// leadForForm stores a submission's lead with the sales service.
func (a *App) leadForForm(ctx context.Context, tx *store.Tx, l leadform.Lead) (int64, error) {
	owner := l.OwnerID
	lead, err := a.Sales.LeadForForm(ctx, tx, sales.LeadInput{FirstName: l.FirstName, LastName: l.LastName, Email: l.Email, Phone: l.Phone,
		CompanyName: l.CompanyName, JobTitle: l.JobTitle, Notes: l.Notes, Source: l.Source, OwnerID: &owner})
	if err != nil {
		return 0, err
	}
	return lead.ID, nil
}
