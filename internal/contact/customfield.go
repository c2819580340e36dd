package contact

import (
	"context"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// ListCustomFields returns the custom fields of "contact" or "company".
func (s *Service) ListCustomFields(ctx context.Context, entity string) ([]*crm.CustomField, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	if entity != "contact" && entity != "company" {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"entity": "Use contact or company."}}
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
	var v crm.Validation
	if creating {
		if f.Entity != "contact" && f.Entity != "company" {
			v.Add("entity", "Use contact or company.")
		}
		f.Key = strings.TrimSpace(f.Key)
		if !keyRe.MatchString(f.Key) {
			v.Add("key", "Use lower-case letters, digits and _, starting with a letter (at most 40).")
		}
		if !slices.Contains(crm.CustomFieldTypes, f.Type) {
			v.Add("type", "Use one of %s.", strings.Join(crm.CustomFieldTypes, ", "))
		}
	}
	f.Label = clean(&v, "label", f.Label, 100)
	if f.Label == "" && !v.Has("label") {
		v.Add("label", "Label is required.")
	}
	var opts []string
	for _, o := range f.Options {
		o = strings.TrimSpace(o)
		if o != "" && !slices.Contains(opts, o) {
			opts = append(opts, o)
		}
	}
	f.Options = opts
	if f.Options == nil {
		f.Options = []string{}
	}
	if f.Type == crm.FieldSelect || f.Type == crm.FieldMultiSelect {
		if len(f.Options) == 0 {
			v.Add("options", "Give at least one choice.")
		}
	} else {
		f.Options = []string{}
	}
	if len(f.Options) > 200 {
		v.Add("options", "At most 200 choices.")
	}
	f.Currency = strings.ToUpper(strings.TrimSpace(f.Currency))
	if f.Type == crm.FieldMoney {
		if len(f.Currency) != 3 {
			v.Add("currency", "Give the ISO 4217 currency code, e.g. IRR, USD, EUR.")
		}
	} else {
		f.Currency = ""
	}
	return v.Err()
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
