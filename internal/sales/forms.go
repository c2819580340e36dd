package sales

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// LeadForForm stores the lead a lead form's submission makes, inside the
// submission's transaction tx, with its lead.created event. Status is
// new; Source is the form's lead source ("form" when empty); the owner is
// in.OwnerID (nil or 0: nobody). The form is public, so the caller
// decides who may submit.
func (s *Service) LeadForForm(ctx context.Context, tx *store.Tx, in LeadInput) (*crm.Lead, error) {
	l := &crm.Lead{FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, Phone: in.Phone, CompanyName: in.CompanyName,
		JobTitle: in.JobTitle, Source: in.Source, Status: crm.LeadNew, Notes: in.Notes}
	if l.Source == "" {
		l.Source = "form"
	}
	if in.OwnerID != nil {
		l.OwnerID = *in.OwnerID
	}
	var v crm.Validation
	s.checkLead(&v, l)
	if l.OwnerID != 0 {
		if u, err := tx.FindUserByID(ctx, l.OwnerID); err != nil || !u.Active {
			l.OwnerID = 0 // the form's owner left: the lead waits for someone to take it
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := tx.InsertLead(ctx, l); err != nil {
		return nil, err
	}
	if err := tx.Audit(ctx, "lead.create", "lead", l.ID, nil, l); err != nil {
		return nil, err
	}
	return l, emitLead(ctx, tx, crm.EventLeadCreated, l, leadPayload(l))
}
