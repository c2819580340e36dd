package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// Leads: people and companies not yet qualified, and what they became.

const leadColumns = `l.id, l.first_name, l.last_name, l.email, l.phone, l.company_name, l.job_title, l.source, l.status,
	COALESCE(l.owner_id, 0), l.value, l.currency, l.notes, l.contact_id, l.company_id, l.deal_id, l.converted_at,
	COALESCE(l.created_by, 0), l.created_at, l.updated_at`

func scanLead(row rowScanner) (*crm.Lead, error) {
	var (
		l         crm.Lead
		converted sql.NullTime
	)
	err := row.Scan(&l.ID, &l.FirstName, &l.LastName, &l.Email, &l.Phone, &l.CompanyName, &l.JobTitle, &l.Source, &l.Status,
		&l.OwnerID, &l.Value, &l.Currency, &l.Notes, &l.ContactID, &l.CompanyID, &l.DealID, &converted, &l.CreatedBy, &l.CreatedAt, &l.UpdatedAt)
	if err != nil {
		return nil, err
	}
	l.ConvertedAt = nullTimePtr(converted)
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return &l, nil
}

// InsertLead writes l and fills in its id and times.
func (tx *Tx) InsertLead(ctx context.Context, l *crm.Lead) error {
	l.CreatedAt, l.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO leads (first_name, last_name, email, phone, company_name, job_title, source, status, owner_id, value,
		currency, notes, contact_id, company_id, deal_id, converted_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		l.FirstName, l.LastName, l.Email, l.Phone, l.CompanyName, l.JobTitle, l.Source, l.Status, nullID(l.OwnerID), l.Value,
		l.Currency, l.Notes, l.ContactID, l.CompanyID, l.DealID, nullableTime(utcMicroPtr(l.ConvertedAt)), nullID(l.CreatedBy), tx.now, tx.now)
	if err != nil {
		return fmt.Errorf("store: insert lead: %w", err)
	}
	l.ID = id
	return nil
}

// UpdateLead writes every changeable field of l.
func (tx *Tx) UpdateLead(ctx context.Context, l *crm.Lead) error {
	l.UpdatedAt = tx.now
	return tx.expectOneRow(ctx, "Lead", `UPDATE leads SET first_name = ?, last_name = ?, email = ?, phone = ?, company_name = ?, job_title = ?,
		source = ?, status = ?, owner_id = ?, value = ?, currency = ?, notes = ?, contact_id = ?, company_id = ?, deal_id = ?, converted_at = ?,
		updated_at = ? WHERE id = ?`,
		l.FirstName, l.LastName, l.Email, l.Phone, l.CompanyName, l.JobTitle, l.Source, l.Status, nullID(l.OwnerID), l.Value, l.Currency,
		l.Notes, l.ContactID, l.CompanyID, l.DealID, nullableTime(utcMicroPtr(l.ConvertedAt)), tx.now, l.ID)
}

// DeleteLead removes a lead.
func (tx *Tx) DeleteLead(ctx context.Context, id int64) error {
	return tx.expectOneRow(ctx, "Lead", `DELETE FROM leads WHERE id = ?`, id)
}

// FindLead returns a lead the scope shows; with lock its row stays locked.
func (tx *Tx) FindLead(ctx context.Context, id int64, scope SalesScope, lock bool) (*crm.Lead, error) {
	var w conds
	w.add(`l.id = ?`, id)
	scope.add(&w, "l.owner_id")
	q := `SELECT ` + leadColumns + ` FROM leads l` + w.sql()
	if lock {
		q += tx.Dialect().forUpdate()
	}
	l, err := scanLead(tx.QueryRow(ctx, q, w.args...))
	if err != nil {
		return nil, tx.NotFound(err, "Lead")
	}
	return l, nil
}

// FindLeads lists leads matching f that the scope shows, newest first.
func (tx *Tx) FindLeads(ctx context.Context, f crm.LeadFilter, scope SalesScope) ([]*crm.Lead, string, error) {
	before, err := crm.DecodeIDCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	limit := crm.ClampLimit(f.Limit)
	var w conds
	if f.Status != "" {
		w.add(`l.status = ?`, f.Status)
	}
	if f.OwnerID != nil {
		if *f.OwnerID == 0 {
			w.add(`l.owner_id IS NULL`)
		} else {
			w.add(`l.owner_id = ?`, *f.OwnerID)
		}
	}
	if f.Source != "" {
		w.add(`l.source = ?`, f.Source)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		like := tx.Dialect().CaseInsensitiveLike()
		p := "%" + likeLiteral(q) + "%"
		w.add(`(l.first_name `+like+` ? ESCAPE '\' OR l.last_name `+like+` ? ESCAPE '\' OR l.company_name `+like+` ? ESCAPE '\'
			OR l.email `+like+` ? ESCAPE '\' OR l.phone LIKE ? ESCAPE '\')`, p, p, p, p, p)
	}
	scope.add(&w, "l.owner_id")
	if before > 0 {
		w.add(`l.id < ?`, before)
	}
	out, err := pageRows(ctx, tx, `SELECT `+leadColumns+` FROM leads l`+w.sql()+` ORDER BY l.id DESC LIMIT ?`, w.args, limit, "leads", scanLead)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	return out, next, nil
}

// AttachLeadHistory puts a converted lead's events on the timelines of
// the person and company it became.
func (tx *Tx) AttachLeadHistory(ctx context.Context, leadID, contactID, companyID int64) error {
	_, err := tx.Exec(ctx, `UPDATE events SET contact_id = ?, company_id = ? WHERE subject_type = 'lead' AND subject_id = ?`,
		nullID(contactID), nullID(companyID), leadID)
	if err != nil {
		return fmt.Errorf("store: attach lead history: %w", err)
	}
	return nil
}

// EraseLeadsOf blanks the personal data of the leads that became person
// contactID (an erasure): names, email, phone, notes. The rows stay, as
// figures, without anyone in them.
func (tx *Tx) EraseLeadsOf(ctx context.Context, contactID int64) error {
	_, err := tx.Exec(ctx, `UPDATE leads SET first_name = '', last_name = '', email = '', phone = '', job_title = '', notes = '',
		contact_id = 0, updated_at = ? WHERE contact_id = ?`, tx.now, contactID)
	if err != nil {
		return fmt.Errorf("store: erase leads: %w", err)
	}
	return nil
}
