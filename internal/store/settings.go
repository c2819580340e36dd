package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/pivand/pivand/internal/crm"
)

// A module keeps its settings in the settings table under its own name:
// the key is the module's name or starts with it and a dot ("desk",
// "desk.calendar", "campaign.smtp").

// moduleSetting reads the stored value of key, one of module's settings;
// ok is false when none was saved.
func (tx *Tx) moduleSetting(ctx context.Context, module, key string) (v string, ok bool, err error) {
	if err := checkSettingKey(module, key); err != nil {
		return "", false, err
	}
	err = tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, tx.db.wrap(module+" settings", err)
	}
	return v, true, nil
}

// saveModuleSetting stores value under key, one of module's settings.
func (tx *Tx) saveModuleSetting(ctx context.Context, module, key, value string) error {
	if err := checkSettingKey(module, key); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, tx.now)
	return err
}

func checkSettingKey(module, key string) error {
	if key != module && !strings.HasPrefix(key, module+".") {
		return crm.Errorf(crm.EINVALID, "%q is not a %s setting", key, module)
	}
	return nil
}
