package contact

import (
	"context"
	"slices"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/customfield"
	"github.com/pivand/pivand/internal/store"
)

// ListCustomFields returns the custom fields of "contact", "company" or
// "deal" (the definitions of every entity are kept here; the sales module
// reads the deal fields through the store and validates deals with them).
func (s *Service) ListCustomFields(ctx context.Context, entity string) ([]*crm.CustomField, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	if !slices.Contains(customfield.Entities, entity) {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"entity": "Use contact, company or deal."}}
	}
	var out []*crm.CustomField
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListCustomFields(ctx, entity)
		return err
	})
	return out, err
}

func validateField(f *crm.CustomField, creating bool) error {
	return customfield.CheckDefinition(f, creating)
}

// CreateCustomField adds a field definition.
func (s *Service) CreateCustomField(ctx context.Context, f *crm.CustomField) (*crm.CustomField, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	if err := validateField(f, true); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertCustomField(ctx, f); err != nil {
			return err
		}
		return tx.Audit(ctx, "custom_field.create", "custom_field", f.ID, nil, f)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// UpdateCustomField changes a field's label, choices, currency, required
// flag, list visibility and position; its key and type are fixed.
func (s *Service) UpdateCustomField(ctx context.Context, id int64, in *crm.CustomField) (*crm.CustomField, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var out *crm.CustomField
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindCustomField(ctx, id)
		if err != nil {
			return err
		}
		f := *before
		f.Label, f.Options, f.Currency, f.Required, f.ShowInList, f.Position = in.Label, in.Options, in.Currency, in.Required, in.ShowInList, in.Position
		if err := validateField(&f, false); err != nil {
			return err
		}
		if err := tx.UpdateCustomField(ctx, &f); err != nil {
			return err
		}
		out = &f
		return tx.Audit(ctx, "custom_field.update", "custom_field", id, before, &f)
	})
	return out, err
}

// DeleteCustomField removes a definition. Stored values stay in records'
// JSON (so re-creating the key brings them back) but are no longer shown.
func (s *Service) DeleteCustomField(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindCustomField(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteCustomField(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "custom_field.delete", "custom_field", id, before, nil)
	})
}
