package store

import (
	"context"
	"database/sql"

	"github.com/pivand/pivand/internal/crm"
)

// CreateInvite stores an invite by the hash of its token.
func (tx *Tx) CreateInvite(ctx context.Context, inv *crm.Invite, tokenHash string) error {
	inv.CreatedAt = tx.now
	var by any
	if inv.InvitedBy != 0 {
		by = inv.InvitedBy
	}
	id, err := tx.InsertID(ctx, `INSERT INTO invites (email, role, token_hash, invited_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, inv.Email, string(inv.Role), tokenHash, by, tx.now, inv.ExpiresAt)
	if err != nil {
		return err
	}
	inv.ID = id
	return nil
}

func scanInvite(row interface{ Scan(...any) error }) (*crm.Invite, error) {
	var (
		inv crm.Invite
		by  sql.NullInt64
	)
	if err := row.Scan(&inv.ID, &inv.Email, &inv.Role, &by, &inv.CreatedAt, &inv.ExpiresAt); err != nil {
		return nil, err
	}
	inv.InvitedBy = by.Int64
	return &inv, nil
}

// FindPendingInvite returns an unexpired, unaccepted invite by token hash.
func (tx *Tx) FindPendingInvite(ctx context.Context, tokenHash string) (*crm.Invite, error) {
	inv, err := scanInvite(tx.QueryRow(ctx, `SELECT id, email, role, invited_by, created_at, expires_at FROM invites
		WHERE token_hash = ? AND accepted_at IS NULL AND expires_at > ?`, tokenHash, tx.now))
	if err != nil {
		return nil, tx.NotFound(err, "Invitation")
	}
	return inv, nil
}

// ListPendingInvites returns invites not accepted and not expired.
func (tx *Tx) ListPendingInvites(ctx context.Context) ([]*crm.Invite, error) {
	rows, err := tx.Query(ctx, `SELECT id, email, role, invited_by, created_at, expires_at FROM invites
		WHERE accepted_at IS NULL AND expires_at > ? ORDER BY id DESC`, tx.now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.Invite
	for rows.Next() {
		inv, err := scanInvite(rows)
		if err != nil {
			return nil, tx.db.wrap("scan invites", err)
		}
		out = append(out, inv)
	}
	return out, tx.db.wrap("list invites", rows.Err())
}

// AcceptInvite marks an invite used.
func (tx *Tx) AcceptInvite(ctx context.Context, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE invites SET accepted_at = ? WHERE id = ?`, tx.now, id)
	return err
}

// DeleteInvite removes an invite.
func (tx *Tx) DeleteInvite(ctx context.Context, id int64) error {
	res, err := tx.Exec(ctx, `DELETE FROM invites WHERE id = ? AND accepted_at IS NULL`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return crm.Errorf(crm.ENOTFOUND, "Invitation was not found.")
	}
	return nil
}
