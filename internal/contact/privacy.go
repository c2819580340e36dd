package contact

import (
	"context"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// ExportPerson gathers everything Pivand holds about one person (a data
// subject access request): the record, companies, consents, interactions,
// notes, tasks, timeline and the audit entries about them. The export is
// itself audited.
func (s *Service) ExportPerson(ctx context.Context, id int64) (map[string]any, error) {
	if err := crm.Authorize(ctx, crm.PermContactsExport, false); err != nil {
		return nil, err
	}
	var out map[string]any
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.FindContactByID(ctx, id)
		if err != nil {
			return err
		}
		names, err := tx.CompanyNames(ctx, c.CompanyIDs)
		if err != nil {
			return err
		}
		companies := []map[string]any{}
		for _, m := range c.Memberships {
			companies = append(companies, map[string]any{"id": m.CompanyID, "name": names[m.CompanyID], "role": m.Role})
		}
		act, err := tx.ContactActivityExport(ctx, id)
		if err != nil {
			return err
		}
		audit, err := tx.AuditOf(ctx, "contact", id)
		if err != nil {
			return err
		}
		if audit == nil {
			audit = []*crm.AuditEntry{}
		}
		out = map[string]any{
			"format":       "pivand-person-export/1",
			"exported_at":  tx.Now(),
			"contact":      c,
			"companies":    companies,
			"consents":     c.Consents,
			"interactions": act.Interactions,
			"notes":        act.Notes,
			"tasks":        act.Tasks,
			"timeline":     act.Timeline,
			"audit":        audit,
		}
		return tx.Audit(ctx, "contact.export", "contact", id, nil, nil)
	})
	return out, err
}

// ErasePerson removes a person under privacy law: the record, every
// interaction, note, task and timeline event about them, their search
// entries, and the personal data in audit snapshots. A hash of each email
// and phone is kept so they are never contacted again. Who erased whom and
// when stays in the audit log.
func (s *Service) ErasePerson(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermContactsDelete, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.FindContactByID(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range c.Emails {
			if err := tx.AddSuppression(ctx, suppressionHash("email", e.Value), "email", "erased"); err != nil {
				return err
			}
		}
		for _, p := range c.Phones {
			if err := tx.AddSuppression(ctx, suppressionHash("phone", p.Value), "phone", "erased"); err != nil {
				return err
			}
		}
		if err := tx.EraseContactActivity(ctx, id); err != nil {
			return err
		}
		if err := tx.DeleteContact(ctx, id); err != nil { // search rows go with it (FTS trigger / generated column)
			return err
		}
		if err := tx.ScrubAudit(ctx, "contact", id); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "contact.erase", "contact", id, nil, nil); err != nil {
			return err
		}
		return tx.Emit(ctx, &crm.Event{Type: crm.EventContactErased, SubjectType: "contact", SubjectID: id})
	})
}
