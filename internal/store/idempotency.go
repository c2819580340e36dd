package store

import (
	"context"
	"time"
)

// IdempotencyKey is one row of idempotency_keys: a client's key for one
// write request and, once the request has finished, the response it got.
// Status 0 means the first request is still in flight.
type IdempotencyKey struct {
	UserID      int64
	Key         string
	Method      string
	Path        string
	RequestHash string
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

const idempotencyColumns = `user_id, key, method, path, request_hash, status, content_type, body, created_at`

// InsertIdempotencyKey claims (k.UserID, k.Key) for an in-flight request.
// It reports false, without error, when the key already exists; the caller
// then reads the existing row. k.CreatedAt is set to the transaction time.
func (tx *Tx) InsertIdempotencyKey(ctx context.Context, k *IdempotencyKey) (bool, error) {
	k.Status, k.ContentType, k.Body, k.CreatedAt = 0, "", nil, tx.now
	res, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (`+idempotencyColumns+`)
		VALUES (?, ?, ?, ?, ?, 0, '', '', ?) ON CONFLICT (user_id, key) DO NOTHING`,
		k.UserID, k.Key, k.Method, k.Path, k.RequestHash, tx.now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, tx.db.wrap("insert idempotency key", err)
	}
	return n == 1, nil
}

// FindIdempotencyKey returns a user's key or ENOTFOUND.
func (tx *Tx) FindIdempotencyKey(ctx context.Context, userID int64, key string) (*IdempotencyKey, error) {
	var (
		k    IdempotencyKey
		body string
	)
	err := tx.QueryRow(ctx, `SELECT `+idempotencyColumns+` FROM idempotency_keys WHERE user_id = ? AND key = ?`, userID, key).
		Scan(&k.UserID, &k.Key, &k.Method, &k.Path, &k.RequestHash, &k.Status, &k.ContentType, &body, &k.CreatedAt)
	if err != nil {
		return nil, tx.NotFound(err, "Idempotency key")
	}
	k.Body = []byte(body)
	return &k, nil
}

// CompleteIdempotencyKey stores the response of the request that holds the
// key. status must not be 0.
func (tx *Tx) CompleteIdempotencyKey(ctx context.Context, userID int64, key string, status int, contentType string, body []byte) error {
	_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE user_id = ? AND key = ?`,
		status, contentType, string(body), userID, key)
	return err
}

// DeleteIdempotencyKey removes a user's key (a failed request releases it
// so that the client may retry).
func (tx *Tx) DeleteIdempotencyKey(ctx context.Context, userID int64, key string) error {
	_, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = ? AND key = ?`, userID, key)
	return err
}

// PurgeIdempotencyKeys deletes every key created before cutoff and reports
// how many went.
func (tx *Tx) PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, cutoff)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n, tx.db.wrap("purge idempotency keys", err)
}
