package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

const tokenColumns = `id, user_id, name, prefix, scopes, created_at, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (*crm.APIToken, error) {
	var (
		t            crm.APIToken
		scopes       string
		used, revoke sql.NullTime
	)
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &scopes, &t.CreatedAt, &used, &revoke); err != nil {
		return nil, err
	}
	t.Scopes = strings.Fields(scopes)
	if used.Valid {
		t.LastUsedAt = &used.Time
	}
	if revoke.Valid {
		t.RevokedAt = &revoke.Time
	}
	return &t, nil
}

// CreateAPIToken stores a token by the hash of its secret.
func (tx *Tx) CreateAPIToken(ctx context.Context, t *crm.APIToken, secretHash string) error {
	t.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, created_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, t.UserID, t.Name, t.Prefix, secretHash, strings.Join(t.Scopes, " "), tx.now)
	if err != nil {
		return err
	}
	t.ID = id
	return nil
}

// FindAPITokenByHash returns a token (revoked or not) or ENOTFOUND.
func (tx *Tx) FindAPITokenByHash(ctx context.Context, secretHash string) (*crm.APIToken, error) {
	t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE token_hash = ?`, secretHash))
	if err != nil {
		return nil, tx.NotFound(err, "API token")
	}
	return t, nil
}

// FindAPITokenByID returns a token or ENOTFOUND.
func (tx *Tx) FindAPITokenByID(ctx context.Context, id int64) (*crm.APIToken, error) {
	t, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "API token")
	}
	return t, nil
}

// ListAPITokens returns a user's tokens, newest first.
func (tx *Tx) ListAPITokens(ctx context.Context, userID int64) ([]*crm.APIToken, error) {
	rows, err := tx.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, tx.db.wrap("scan tokens", err)
		}
		out = append(out, t)
	}
	return out, tx.db.wrap("list tokens", rows.Err())
}

// RevokeAPIToken marks a token revoked (idempotent).
func (tx *Tx) RevokeAPIToken(ctx context.Context, id int64) error {
	_, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, tx.now, id)
	return err
}

// RevokeUserAPITokens revokes every live token of a user.
func (tx *Tx) RevokeUserAPITokens(ctx context.Context, userID int64) error {
	_, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, tx.now, userID)
	return err
}

// TouchAPIToken records use of a token.
func (tx *Tx) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, at, id)
	return err
}
