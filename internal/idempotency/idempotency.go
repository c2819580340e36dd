// Package idempotency makes retried writes safe: a client sends an
// Idempotency-Key with a write request, the first response is stored per
// (user, key), and a replay of the same request within the TTL gets that
// response again instead of doing the work twice. The HTTP side lives in
// package api; this package holds the rules and talks to the store.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Header is the request header that carries the key; errors about the key
// name it as their field.
const Header = "Idempotency-Key"

// MaxKeyLength bounds a key. UUIDs (36) and ULIDs (26) fit easily.
const MaxKeyLength = 255

// Defaults for a new Service.
const (
	DefaultTTL             = 24 * time.Hour
	DefaultInFlightTimeout = 10 * time.Minute
	DefaultPurgeEvery      = time.Hour
)

// Service stores and replays responses by idempotency key.
type Service struct {
	db *store.DB

	// TTL is how long a key and its response are kept; a key older than
	// that counts as unused. InFlightTimeout is how long a first request may
	// hold its key before the key counts as abandoned (the process died
	// mid-request). PurgeEvery spaces out the lazy purge done by Begin.
	TTL             time.Duration
	InFlightTimeout time.Duration
	PurgeEvery      time.Duration

	lastPurge atomic.Int64 // UnixNano of the last lazy purge
}

// New returns a Service with the default TTL (24 h) and timeouts.
func New(db *store.DB) *Service {
	return &Service{db: db, TTL: DefaultTTL, InFlightTimeout: DefaultInFlightTimeout, PurgeEvery: DefaultPurgeEvery}
}

// Request identifies one write request: who sent it, under which key, and
// what it asked for. Method, Path and Body are hashed to tell a genuine
// replay from a different request that reuses the key.
type Request struct {
	UserID int64
	Key    string
	Method string
	Path   string
	Body   []byte
}

// Response is what the first request answered.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// ValidKey checks a client's key: 1 to 255 visible ASCII characters.
func ValidKey(key string) error {
	bad := func(msg string) error {
		return &crm.Error{Code: crm.EINVALID, Message: "The Idempotency-Key header is not valid.", Fields: map[string]string{Header: msg}}
	}
	if key == "" {
		return bad("The key is empty.")
	}
	if len(key) > MaxKeyLength {
		return bad(fmt.Sprintf("The key is longer than %d characters.", MaxKeyLength))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return bad("Use visible ASCII characters only, such as a UUID.")
		}
	}
	return nil
}

// Begin claims req.Key for req. It returns (nil, nil) when the caller should
// go ahead and must later call Complete or Release; the stored response when
// the same request was already answered; EINVALID naming Idempotency-Key when
// the key was used for a different request; and ECONFLICT while the first
// request with the key is still in flight.
func (s *Service) Begin(ctx context.Context, req Request) (*Response, error) {
	if err := ValidKey(req.Key); err != nil {
		return nil, err
	}
	if req.UserID == 0 {
		return nil, crm.Errorf(crm.EUNAUTHORIZED, "Idempotency keys need a signed-in user.")
	}
	claim := &store.IdempotencyKey{UserID: req.UserID, Key: req.Key, Method: req.Method, Path: req.Path, RequestHash: hash(req)}
	var (
		replay *Response
		refuse error // returned after the commit, so a lazy purge sticks
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.maybePurge(ctx, tx); err != nil {
			return err
		}
		ok, err := tx.InsertIdempotencyKey(ctx, claim)
		if err != nil || ok {
			return err
		}
		old, err := tx.FindIdempotencyKey(ctx, req.UserID, req.Key)
		if err != nil {
			return err
		}
		age := tx.Now().Sub(old.CreatedAt)
		if age >= s.TTL || (old.Status == 0 && age >= s.InFlightTimeout) {
			// Expired or abandoned: the key is free again.
			if err := tx.DeleteIdempotencyKey(ctx, req.UserID, req.Key); err != nil {
				return err
			}
			_, err := tx.InsertIdempotencyKey(ctx, claim)
			return err
		}
		if old.RequestHash != claim.RequestHash {
			refuse = &crm.Error{Code: crm.EINVALID, Message: "This Idempotency-Key was already used for a different request.",
				Fields: map[string]string{Header: "Already used with another method, path or body; send a new key for a new request."}}
			return nil
		}
		if old.Status == 0 {
			refuse = crm.Errorf(crm.ECONFLICT, "A request with this Idempotency-Key is still in progress; retry later.")
			return nil
		}
		replay = &Response{Status: old.Status, ContentType: old.ContentType, Body: old.Body}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: begin: %w", err)
	}
	return replay, refuse
}

// Complete stores the response of a request that Begin let through, for
// replays within the TTL.
func (s *Service) Complete(ctx context.Context, req Request, resp Response) error {
	if resp.Status == 0 {
		return fmt.Errorf("idempotency: complete %q: status is 0", req.Key)
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.CompleteIdempotencyKey(ctx, req.UserID, req.Key, resp.Status, resp.ContentType, resp.Body)
	})
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	return nil
}

// Release frees the key of a request that Begin let through but that
// failed in a way worth retrying (a server error or a panic).
func (s *Service) Release(ctx context.Context, req Request) error {
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.DeleteIdempotencyKey(ctx, req.UserID, req.Key)
	})
	if err != nil {
		return fmt.Errorf("idempotency: release: %w", err)
	}
	return nil
}

// Purge deletes keys older than the TTL and reports how many went. The app
// calls it periodically; Begin also does it lazily, at most once per
// PurgeEvery.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.PurgeIdempotencyKeys(ctx, tx.Now().Add(-s.TTL))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("idempotency: purge: %w", err)
	}
	s.lastPurge.Store(time.Now().UnixNano())
	return n, nil
}

// maybePurge purges expired keys inside tx when the last purge is older
// than PurgeEvery. Only one concurrent caller wins the turn.
func (s *Service) maybePurge(ctx context.Context, tx *store.Tx) error {
	last := s.lastPurge.Load()
	now := time.Now().UnixNano()
	if now-last < int64(s.PurgeEvery) || !s.lastPurge.CompareAndSwap(last, now) {
		return nil
	}
	_, err := tx.PurgeIdempotencyKeys(ctx, tx.Now().Add(-s.TTL))
	return err
}

// hash fingerprints a request: method, path and body.
func hash(req Request) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", req.Method, req.Path)
	h.Write(req.Body)
	return hex.EncodeToString(h.Sum(nil))
}
