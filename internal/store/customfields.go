package store

import (
	"context"
	"encoding/json"

	"github.com/pivand/pivand/internal/crm"
)

const customFieldColumns = `id, entity, key, label, type, options, currency, required, show_in_list, position, created_at, updated_at`

func scanCustomField(row interface{ Scan(...any) error }) (*crm.CustomField, error) {
	var (
		f       crm.CustomField
		options string
	)
	if err := row.Scan(&f.ID, &f.Entity, &f.Key, &f.Label, &f.Type, &options, &f.Currency, &f.Required, &f.ShowInList,
		&f.Position, &f.CreatedAt, &f.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(options), &f.Options); err != nil {
		return nil, err
	}
	if f.Options == nil {
		f.Options = []string{}
	}
	return &f, nil
}

// ListCustomFields returns an entity's custom fields in display order.
func (tx *Tx) ListCustomFields(ctx context.Context, entity string) ([]*crm.CustomField, error) {
	rows, err := tx.Query(ctx, `SELECT `+customFieldColumns+` FROM custom_fields WHERE entity = ? ORDER BY position, id`, entity)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*crm.CustomField{}
	for rows.Next() {
		f, err := scanCustomField(rows)
		if err != nil {
			return nil, tx.db.wrap("scan custom fields", err)
		}
		out = append(out, f)
	}
	return out, tx.db.wrap("custom fields", rows.Err())
}

// FindCustomField returns one custom field or ENOTFOUND.
func (tx *Tx) FindCustomField(ctx context.Context, id int64) (*crm.CustomField, error) {
	f, err := scanCustomField(tx.QueryRow(ctx, `SELECT `+customFieldColumns+` FROM custom_fields WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "Custom field")
	}
	return f, nil
}

// InsertCustomField stores a new field definition.
func (tx *Tx) InsertCustomField(ctx context.Context, f *crm.CustomField) error {
	f.CreatedAt, f.UpdatedAt = tx.now, tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO custom_fields (entity, key, label, type, options, currency, required, show_in_list, position, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		f.Entity, f.Key, f.Label, f.Type, mustJSON(f.Options), f.Currency, f.Required, f.ShowInList, f.Position, tx.now, tx.now)
	if err != nil {
		if crm.ErrorCode(err) == crm.ECONFLICT {
			return &crm.Error{Code: crm.ECONFLICT, Message: "A field with this key already exists.", Fields: map[string]string{"key": "Already used."}}
		}
		return err
	}
	f.ID = id
	return nil
}

// UpdateCustomField writes the changeable parts of a field definition.
func (tx *Tx) UpdateCustomField(ctx context.Context, f *crm.CustomField) error {
	f.UpdatedAt = tx.now
	_, err := tx.Exec(ctx, `UPDATE custom_fields SET label = ?, options = ?, currency = ?, required = ?, show_in_list = ?, position = ?, updated_at = ? WHERE id = ?`,
		f.Label, mustJSON(f.Options), f.Currency, f.Required, f.ShowInList, f.Position, tx.now, f.ID)
	return err
}

// DeleteCustomField removes a field definition; values stay in records.
func (tx *Tx) DeleteCustomField(ctx context.Context, id int64) error {
	res, err := tx.Exec(ctx, `DELETE FROM custom_fields WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "Custom field was not found.")
	}
	return nil
}
