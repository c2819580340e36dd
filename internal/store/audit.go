package store

import (
	"context"
	"database/sql"

	"github.com/pivand/pivand/internal/crm"
)

// ListAudit returns audit entries newest first, filtered, with a cursor for
// the next page ("" when there is none).
func (tx *Tx) ListAudit(ctx context.Context, f crm.AuditFilter) ([]*crm.AuditEntry, string, error) {
	limit := crm.ClampLimit(f.Limit)
	after, err := crm.DecodeIDCursor(f.After)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT a.id, a.actor_id, COALESCE(u.email, ''), a.action, a.entity_type, a.entity_id, a.before_json, a.after_json, a.ip, a.created_at
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) { q += ` AND ` + cond; args = append(args, v) }
	if after > 0 {
		add(`a.id < ?`, after)
	}
	if f.EntityType != "" {
		add(`a.entity_type = ?`, f.EntityType)
	}
	if f.EntityID != 0 {
		add(`a.entity_id = ?`, f.EntityID)
	}
	if f.ActorID != 0 {
		add(`a.actor_id = ?`, f.ActorID)
	}
	if f.Action != "" {
		add(`a.action = ?`, f.Action)
	}
	if f.From != nil {
		add(`a.created_at >= ?`, f.From.UTC())
	}
	if f.To != nil {
		add(`a.created_at < ?`, f.To.UTC())
	}
	q += ` ORDER BY a.id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*crm.AuditEntry
	for rows.Next() {
		var (
			e     crm.AuditEntry
			actor sql.NullInt64
		)
		if err := rows.Scan(&e.ID, &actor, &e.ActorEmail, &e.Action, &e.EntityType, &e.EntityID, &e.Before, &e.After, &e.IP, &e.CreatedAt); err != nil {
			return nil, "", tx.db.wrap("scan audit", err)
		}
		e.ActorID = actor.Int64
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", tx.db.wrap("list audit", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = crm.EncodeIDCursor(out[limit-1].ID)
	}
	return out, next, nil
}

// ScrubAudit removes the before and after snapshots from the audit entries
// about one record (a person erased under privacy law); who did what and
// when stays.
func (tx *Tx) ScrubAudit(ctx context.Context, entityType string, entityID int64) error {
	_, err := tx.Exec(ctx, `UPDATE audit_log SET before_json = '', after_json = '' WHERE entity_type = ? AND entity_id = ?`, entityType, entityID)
	return err
}

// AuditOf returns every audit entry about one record, oldest first.
func (tx *Tx) AuditOf(ctx context.Context, entityType string, entityID int64) ([]*crm.AuditEntry, error) {
	var out []*crm.AuditEntry
	after := ""
	for {
		page, next, err := tx.ListAudit(ctx, crm.AuditFilter{EntityType: entityType, EntityID: entityID, Limit: crm.MaxLimit, After: after})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		after = next
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
