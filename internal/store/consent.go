package store

import (
	"context"
	"database/sql"

	"github.com/pivand/pivand/internal/crm"
)

// Consents returns a person's current consent per channel.
func (tx *Tx) Consents(ctx context.Context, contactID int64) ([]crm.Consent, error) {
	rows, err := tx.Query(ctx, `SELECT channel, status, source, note, changed_by, changed_at FROM contact_consents
		WHERE contact_id = ? ORDER BY channel`, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []crm.Consent{}
	for rows.Next() {
		var (
			c  crm.Consent
			by sql.NullInt64
		)
		if err := rows.Scan(&c.Channel, &c.Status, &c.Source, &c.Note, &by, &c.ChangedAt); err != nil {
			return nil, tx.db.wrap("scan consents", err)
		}
		c.ChangedBy = by.Int64
		out = append(out, c)
	}
	return out, tx.db.wrap("consents", rows.Err())
}

// SetConsent records the current consent for one channel.
func (tx *Tx) SetConsent(ctx context.Context, contactID int64, c *crm.Consent) error {
	c.ChangedAt = tx.now
	_, err := tx.Exec(ctx, `INSERT INTO contact_consents (contact_id, channel, status, source, note, changed_by, changed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (contact_id, channel) DO UPDATE SET status = excluded.status, source = excluded.source,
			note = excluded.note, changed_by = excluded.changed_by, changed_at = excluded.changed_at`,
		contactID, c.Channel, c.Status, c.Source, c.Note, nullID(c.ChangedBy), tx.now)
	return err
}

// AddSuppression records the hash of an erased person's address.
func (tx *Tx) AddSuppression(ctx context.Context, hash, kind, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO suppressions (hash, kind, reason, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		hash, kind, reason, tx.now)
	return err
}

// IsSuppressed reports whether a hashed address is suppressed.
func (tx *Tx) IsSuppressed(ctx context.Context, hash string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM suppressions WHERE hash = ?`, hash).Scan(&n)
	return n > 0, tx.db.wrap("suppression", err)
}
