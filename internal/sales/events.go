package sales

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The payloads of the sales events: snapshots of what the timeline entry
// shows, so it reads the same after the deal, the stage or the user is
// renamed.

// DealPayload is what every deal event carries (deal.created,
// deal.updated, deal.reopened, deal.won, deal.deleted), embedded in the
// others.
type DealPayload struct {
	DealID     int64  `json:"deal_id"`
	Title      string `json:"title"`
	Value      int64  `json:"value"`
	Currency   string `json:"currency"`
	PipelineID int64  `json:"pipeline_id"`
	Pipeline   string `json:"pipeline"`
	StageID    int64  `json:"stage_id"`
	Stage      string `json:"stage"`
	Status     string `json:"status"`
	OwnerID    int64  `json:"owner_id,omitempty"`
	Owner      string `json:"owner,omitempty"`
}

// DealUpdatedPayload is what deal.updated carries: the fields that
// changed (title, value, currency, owner_id, contact_id, company_id,
// expected_close, source, tags, custom, lines, pipeline_id …).
type DealUpdatedPayload struct {
	DealPayload
	Changed []string `json:"changed"`
}

// StageChangedPayload is what deal.stage_changed carries: the stage it
// left and how long it stayed there.
type StageChangedPayload struct {
	DealPayload
	FromStageID int64  `json:"from_stage_id"`
	FromStage   string `json:"from_stage"`
	Seconds     int64  `json:"seconds_in_from_stage"`
}

// DealLostPayload is what deal.lost carries.
type DealLostPayload struct {
	DealPayload
	ReasonID int64  `json:"reason_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Note     string `json:"note,omitempty"`
}

// LeadPayload is what lead.created, lead.updated and lead.deleted carry.
type LeadPayload struct {
	LeadID  int64    `json:"lead_id"`
	Name    string   `json:"name"`
	Company string   `json:"company,omitempty"`
	Source  string   `json:"source,omitempty"`
	Status  string   `json:"status"`
	Changed []string `json:"changed,omitempty"`
}

// LeadConvertedPayload is what lead.converted carries: what it became.
type LeadConvertedPayload struct {
	LeadPayload
	ContactID int64  `json:"contact_id"`
	CompanyID int64  `json:"company_id,omitempty"`
	DealID    int64  `json:"deal_id,omitempty"`
	DealTitle string `json:"deal_title,omitempty"`
}

// QuotePayload is what quote.created and quote.status_changed carry.
type QuotePayload struct {
	QuoteID  int64  `json:"quote_id"`
	DealID   int64  `json:"deal_id"`
	Number   string `json:"number"` // with the prefix: Q-17
	Status   string `json:"status"`
	Total    int64  `json:"total"`
	Currency string `json:"currency"`
	Title    string `json:"title"`
}

// dealPayload snapshots d with the names of its pipeline, stage and owner.
func dealPayload(ctx context.Context, tx *store.Tx, d *crm.Deal) (DealPayload, error) {
	p := DealPayload{DealID: d.ID, Title: d.Title, Value: d.Value, Currency: d.Currency, PipelineID: d.PipelineID,
		StageID: d.StageID, Status: d.Status, OwnerID: d.OwnerID}
	names, err := tx.SalesNamesFor(ctx, nil, nil, []int64{d.OwnerID}, []int64{d.StageID}, []int64{d.PipelineID})
	if err != nil {
		return p, err
	}
	p.Pipeline, p.Stage, p.Owner = names.Pipelines[d.PipelineID], names.Stages[d.StageID].Name, names.Users[d.OwnerID]
	return p, nil
}

// emitDeal writes a deal event on the deal's person's and company's
// timelines.
func emitDeal(ctx context.Context, tx *store.Tx, typ string, d *crm.Deal, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("sales: %s payload: %w", typ, err)
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: "deal", SubjectID: d.ID, ContactID: d.ContactID, CompanyID: d.CompanyID, Payload: b})
}

func leadPayload(l *crm.Lead) LeadPayload {
	return LeadPayload{LeadID: l.ID, Name: l.DisplayName(), Company: l.CompanyName, Source: l.Source, Status: l.Status}
}

// emitLead writes a lead event; a converted lead's events go on the
// timelines of the person and company it became.
func emitLead(ctx context.Context, tx *store.Tx, typ string, l *crm.Lead, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("sales: %s payload: %w", typ, err)
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: "lead", SubjectID: l.ID, ContactID: l.ContactID, CompanyID: l.CompanyID, Payload: b})
}
