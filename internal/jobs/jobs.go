// Package jobs is Pivand's durable job queue, kept in the jobs table of the
// main database so that it works the same on SQLite and PostgreSQL, needs no
// other server, and survives restarts.
//
// Work is enqueued with Enqueue inside the caller's transaction, so a job
// exists exactly when the change that asked for it committed (the event
// dispatcher enqueues jobs for every external effect: emails, webhooks).
// A Runner claims due jobs with a lease and runs their handlers. Delivery is
// at least once: a handler may run again after a crash or a lost lease, so
// handlers must be idempotent (or make their external call idempotent, for
// example with the job id as an idempotency key).
//
// See docs/decisions/0003-events-and-jobs.md.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// DefaultMaxAttempts is the number of attempts of a job that sets none.
const DefaultMaxAttempts = 10

// Job is work to enqueue.
type Job struct {
	Kind string
	// Payload is marshalled to JSON; nil is {}. A json.RawMessage is stored
	// as is.
	Payload any
	// RunAt is when the job becomes due; zero is now (the transaction's
	// time).
	RunAt time.Time
	// MaxAttempts bounds the attempts before the job fails; 0 is
	// DefaultMaxAttempts.
	MaxAttempts int
	// UniqueKey, when set, makes Enqueue idempotent while a job with the
	// same key is queued or running: the second Enqueue returns the first
	// job's id and adds nothing. Once that job is done or failed, the key
	// is free again. Use it for "recompute X" work where one pending run
	// is enough, but note that a running job does not see changes made
	// after it started.
	UniqueKey string
}

// Enqueue adds j to the queue inside tx and returns the job's id. The job
// becomes visible to runners when tx commits; runners in this process are
// woken at once.
func Enqueue(ctx context.Context, tx *store.Tx, j Job) (int64, error) {
	var v crm.Validation
	if j.Kind == "" {
		v.Add("kind", "A job needs a kind.")
	}
	if j.MaxAttempts < 0 {
		v.Add("max_attempts", "Must not be negative.")
	}
	if err := v.Err(); err != nil {
		return 0, err
	}
	if j.MaxAttempts == 0 {
		j.MaxAttempts = DefaultMaxAttempts
	}
	payload := json.RawMessage("{}")
	if j.Payload != nil {
		b, err := json.Marshal(j.Payload)
		if err != nil {
			return 0, fmt.Errorf("jobs: enqueue %s: %w", j.Kind, err)
		}
		payload = b
	}
	id, created, err := tx.InsertJob(ctx, store.NewJob{
		Kind:        j.Kind,
		Payload:     payload,
		RunAt:       j.RunAt,
		MaxAttempts: j.MaxAttempts,
		UniqueKey:   j.UniqueKey,
	})
	if err != nil {
		return 0, err
	}
	if created {
		tx.AfterCommit(wakeRunners)
	}
	return id, nil
}

// Claimed is a job a worker holds: the handler's view of it.
type Claimed struct {
	ID          int64
	Kind        string
	Payload     json.RawMessage
	Attempt     int // 1 for the first attempt
	MaxAttempts int
	UniqueKey   string
	LastError   string // the previous attempt's error, "" on the first
	RunAt       time.Time
	CreatedAt   time.Time
}

// Decode unmarshals the payload into v. A payload that does not decode
// never will, so the error is Permanent.
func (c *Claimed) Decode(v any) error {
	if err := json.Unmarshal(c.Payload, v); err != nil {
		return Permanent(fmt.Errorf("jobs: decode %s payload: %w", c.Kind, err))
	}
	return nil
}

// LastAttempt reports whether a failure now fails the job for good.
func (c *Claimed) LastAttempt() bool { return c.Attempt >= c.MaxAttempts }

// Permanent wraps err so that the runner fails the job at once instead of
// retrying it: for input that will never work (a malformed payload, a
// deleted record, a 4xx answer from a webhook endpoint).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Stats counts jobs by status (queued, running, done, failed); every
// status is present.
func Stats(ctx context.Context, db *store.DB) (map[string]int, error) {
	var out map[string]int
	err := db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.JobStats(ctx)
		return err
	})
	return out, err
}

// Cleanup deletes done jobs finished more than olderThan ago, in small
// batches, and returns how many it deleted. Failed jobs are kept for
// inspection.
func Cleanup(ctx context.Context, db *store.DB, olderThan time.Duration) (int64, error) {
	const batch = 500
	var total int64
	for {
		var n int64
		err := db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeleteDoneJobs(ctx, tx.Now().Add(-olderThan), batch)
			return err
		})
		total += n
		if err != nil || n < batch {
			return total, err
		}
	}
}

// Local wake-ups: Enqueue wakes every runner of this process after commit,
// so a job enqueued here starts without waiting for the poll interval.
// Runners in other processes find it on their next poll.
var (
	wakeMu sync.Mutex
	wakeCh = map[chan struct{}]struct{}{}
)

func wakeRunners() {
	wakeMu.Lock()
	defer wakeMu.Unlock()
	for ch := range wakeCh {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func listenWake() (ch chan struct{}, stop func()) {
	ch = make(chan struct{}, 1)
	wakeMu.Lock()
	wakeCh[ch] = struct{}{}
	wakeMu.Unlock()
	return ch, func() {
		wakeMu.Lock()
		delete(wakeCh, ch)
		wakeMu.Unlock()
	}
}
