package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

const userColumns = `id, email, name, role, active, language, calendar, digits, time_zone, created_at, updated_at, last_login_at`

func scanUser(row interface{ Scan(...any) error }) (*crm.User, error) {
	var (
		u    crm.User
		last sql.NullTime
	)
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Active,
		&u.Preferences.Language, &u.Preferences.Calendar, &u.Preferences.Digits, &u.Preferences.TimeZone,
		&u.CreatedAt, &u.UpdatedAt, &last)
	if err != nil {
		return nil, err
	}
	if last.Valid {
		t := last.Time
		u.LastLoginAt = &t
	}
	return &u, nil
}

// CreateUser inserts u with its password hash and fills in ID and times.
func (tx *Tx) CreateUser(ctx context.Context, u *crm.User, passwordHash string) error {
	u.CreatedAt, u.UpdatedAt = tx.now, tx.now
	p := u.Preferences
	id, err := tx.InsertID(ctx, `INSERT INTO users (email, name, password_hash, role, active, language, calendar, digits, time_zone, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Email, u.Name, passwordHash, string(u.Role), u.Active, p.Language, p.Calendar, p.Digits, p.TimeZone, tx.now, tx.now)
	if err != nil {
		if crm.ErrorCode(err) == crm.ECONFLICT {
			return &crm.Error{Code: crm.ECONFLICT, Message: "A user with this email already exists.",
				Fields: map[string]string{"email": "A user with this email already exists."}}
		}
		return err
	}
	u.ID = id
	return nil
}

// FindUserByID returns one user or ENOTFOUND.
func (tx *Tx) FindUserByID(ctx context.Context, id int64) (*crm.User, error) {
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, tx.NotFound(err, "User")
	}
	return u, nil
}

// FindUserByEmail returns the user with a normalised email and the
// password hash, or ENOTFOUND.
func (tx *Tx) FindUserByEmail(ctx context.Context, email string) (*crm.User, string, error) {
	var hash string
	row := tx.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = ?`, email)
	var (
		u    crm.User
		last sql.NullTime
	)
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Active,
		&u.Preferences.Language, &u.Preferences.Calendar, &u.Preferences.Digits, &u.Preferences.TimeZone,
		&u.CreatedAt, &u.UpdatedAt, &last, &hash)
	if err != nil {
		return nil, "", tx.NotFound(err, "User")
	}
	if last.Valid {
		u.LastLoginAt = &last.Time
	}
	return &u, hash, nil
}

// PasswordHash returns a user's password hash.
func (tx *Tx) PasswordHash(ctx context.Context, userID int64) (string, error) {
	var h string
	if err := tx.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = ?`, userID).Scan(&h); err != nil {
		return "", tx.NotFound(err, "User")
	}
	return h, nil
}

// ListUsers returns every user ordered by name, then email.
func (tx *Tx) ListUsers(ctx context.Context) ([]*crm.User, error) {
	rows, err := tx.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY name, email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*crm.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, tx.db.wrap("scan users", err)
		}
		out = append(out, u)
	}
	return out, tx.db.wrap("list users", rows.Err())
}

// CountUsers counts users; active only when activeOnly.
func (tx *Tx) CountUsers(ctx context.Context, role crm.Role, activeOnly bool) (int, error) {
	q := `SELECT COUNT(*) FROM users WHERE 1 = 1`
	var args []any
	if role != "" {
		q += ` AND role = ?`
		args = append(args, string(role))
	}
	if activeOnly {
		q += ` AND active = TRUE`
	}
	var n int
	err := tx.QueryRow(ctx, q, args...).Scan(&n)
	return n, tx.db.wrap("count users", err)
}

// UpdateUser writes name, role, active and preferences of u.
func (tx *Tx) UpdateUser(ctx context.Context, u *crm.User) error {
	u.UpdatedAt = tx.now
	p := u.Preferences
	_, err := tx.Exec(ctx, `UPDATE users SET name = ?, role = ?, active = ?, language = ?, calendar = ?, digits = ?, time_zone = ?, updated_at = ? WHERE id = ?`,
		u.Name, string(u.Role), u.Active, p.Language, p.Calendar, p.Digits, p.TimeZone, tx.now, u.ID)
	return err
}

// SetPasswordHash replaces a user's password hash.
func (tx *Tx) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	_, err := tx.Exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, tx.now, userID)
	return err
}

// TouchLogin records a successful sign-in.
func (tx *Tx) TouchLogin(ctx context.Context, userID int64) error {
	_, err := tx.Exec(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, tx.now, userID)
	return err
}

// CreateSession stores a session by the hash of its token.
func (tx *Tx) CreateSession(ctx context.Context, s *crm.Session, tokenHash, ip, userAgent string) error {
	s.CreatedAt = tx.now
	id, err := tx.InsertID(ctx, `INSERT INTO sessions (token_hash, user_id, csrf, ip, user_agent, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, tokenHash, s.UserID, s.CSRF, ip, userAgent, tx.now, s.ExpiresAt)
	if err != nil {
		return err
	}
	s.ID = id
	return nil
}

// FindSession returns an unexpired session by token hash, or ENOTFOUND.
func (tx *Tx) FindSession(ctx context.Context, tokenHash string) (*crm.Session, error) {
	var s crm.Session
	err := tx.QueryRow(ctx, `SELECT id, user_id, csrf, created_at, expires_at FROM sessions WHERE token_hash = ? AND expires_at > ?`,
		tokenHash, tx.now).Scan(&s.ID, &s.UserID, &s.CSRF, &s.CreatedAt, &s.ExpiresAt)
	if err != nil {
		return nil, tx.NotFound(err, "Session")
	}
	return &s, nil
}

// DeleteSession removes a session by token hash.
func (tx *Tx) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// DeleteUserSessions ends every session of a user.
func (tx *Tx) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	return err
}

// DeleteExpiredSessions removes sessions past their expiry.
func (tx *Tx) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, tx.now)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ExtendSession moves a session's expiry.
func (tx *Tx) ExtendSession(ctx context.Context, id int64, expires time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET expires_at = ? WHERE id = ?`, expires, id)
	return err
}
