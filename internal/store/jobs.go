package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Job statuses. A job is queued until a worker claims it (running), then
// done, queued again for a retry, or failed for good.
const (
	JobQueued  = "queued"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// JobStatuses lists every job status, in lifecycle order.
var JobStatuses = []string{JobQueued, JobRunning, JobDone, JobFailed}

// Job is a row of the durable job queue.
type Job struct {
	ID          int64
	Kind        string
	Payload     json.RawMessage
	Status      string
	UniqueKey   string // "" when none
	RunAt       time.Time
	Attempts    int // attempts started, the running one included
	MaxAttempts int
	LockedUntil time.Time // the lease of a running job; zero otherwise
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NewJob is what InsertJob writes.
type NewJob struct {
	Kind        string
	Payload     json.RawMessage // "{}" when empty
	RunAt       time.Time       // the transaction's time when zero
	MaxAttempts int
	UniqueKey   string
}

const jobColumns = `id, kind, payload, status, unique_key, run_at, attempts, max_attempts, locked_until, last_error, created_at, updated_at`

// maxErrorLen bounds last_error so a handler returning a huge error (a whole
// HTTP response body) cannot bloat the table.
const maxErrorLen = 2000

// InsertJob adds a job to the queue. With a UniqueKey, a job with the same
// key that is queued or running is kept and its id returned with
// created=false; a done or failed job gives its key up to the new one.
func (tx *Tx) InsertJob(ctx context.Context, j NewJob) (id int64, created bool, err error) {
	payload := string(j.Payload)
	if payload == "" {
		payload = "{}"
	}
	runAt := j.RunAt.UTC().Truncate(time.Microsecond)
	if j.RunAt.IsZero() {
		runAt = tx.now
	}
	var key any
	if j.UniqueKey != "" {
		key = j.UniqueKey
		// The unique index covers every row with a key; a finished job keeps
		// its key for display until a new job wants it.
		if _, err := tx.Exec(ctx, `UPDATE jobs SET unique_key = NULL, updated_at = ?
			WHERE unique_key = ? AND status IN (?, ?)`, tx.now, j.UniqueKey, JobDone, JobFailed); err != nil {
			return 0, false, fmt.Errorf("store: insert job %s: %w", j.Kind, err)
		}
	}
	err = tx.QueryRow(ctx, `INSERT INTO jobs (kind, payload, status, unique_key, run_at, attempts, max_attempts, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 0, ?, '', ?, ?)
		ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL DO NOTHING
		RETURNING id`,
		j.Kind, payload, JobQueued, key, runAt, j.MaxAttempts, tx.now, tx.now).Scan(&id)
	switch {
	case err == nil:
		return id, true, nil
	case !errNoRows(err):
		return 0, false, fmt.Errorf("store: insert job %s: %w", j.Kind, tx.db.wrap("insert", err))
	}
	// A live job holds the key.
	if err := tx.QueryRow(ctx, `SELECT id FROM jobs WHERE unique_key = ?`, j.UniqueKey).Scan(&id); err != nil {
		return 0, false, fmt.Errorf("store: insert job %s: %w", j.Kind, tx.db.wrap("scan", err))
	}
	return id, false, nil
}

// ClaimJob takes the next due job of one of kinds and leases it until
// now+lease: status running, attempts counted. A job is due when it is
// queued with run_at <= now, or running with an expired lease (its worker
// died). ok is false when no job is due. On PostgreSQL, SKIP LOCKED lets
// concurrent workers claim different jobs; SQLite's single writer
// serialises claims.
func (tx *Tx) ClaimJob(ctx context.Context, kinds []string, lease time.Duration) (job Job, ok bool, err error) {
	if len(kinds) == 0 {
		return Job{}, false, nil
	}
	args := []any{JobRunning, tx.now.Add(lease), tx.now, JobQueued, tx.now, JobRunning, tx.now}
	for _, k := range kinds {
		args = append(args, k)
	}
	row := tx.QueryRow(ctx, `UPDATE jobs SET status = ?, attempts = attempts + 1, locked_until = ?, updated_at = ?
		WHERE id = (
			SELECT id FROM jobs
			WHERE ((status = ? AND run_at <= ?) OR (status = ? AND locked_until < ?))
			  AND kind IN (`+Placeholders(len(kinds))+`)
			ORDER BY run_at, id
			LIMIT 1`+tx.Dialect().SkipLocked()+`
		)
		RETURNING `+jobColumns, args...)
	job, err = scanJob(row)
	if errNoRows(err) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("store: claim job: %w", tx.db.wrap("claim", err))
	}
	return job, true, nil
}

// ExtendJobLease moves a running job's lease to now+lease. attempt is the
// attempt number the worker claimed; false means the job is no longer this
// worker's (its lease expired and another worker took it).
func (tx *Tx) ExtendJobLease(ctx context.Context, id int64, attempt int, lease time.Duration) (bool, error) {
	return tx.updateRunningJob(ctx, "extend job lease", id, attempt,
		`locked_until = ?`, tx.now.Add(lease))
}

// CompleteJob marks a running job done.
func (tx *Tx) CompleteJob(ctx context.Context, id int64, attempt int) (bool, error) {
	return tx.updateRunningJob(ctx, "complete job", id, attempt,
		`status = ?, locked_until = NULL, last_error = ''`, JobDone)
}

// RetryJobAt puts a running job back in the queue to run at runAt, keeping
// the error of the attempt that failed.
func (tx *Tx) RetryJobAt(ctx context.Context, id int64, attempt int, runAt time.Time, lastError string) (bool, error) {
	return tx.updateRunningJob(ctx, "retry job", id, attempt,
		`status = ?, locked_until = NULL, run_at = ?, last_error = ?`,
		JobQueued, runAt.UTC().Truncate(time.Microsecond), truncateError(lastError))
}

// FailJob marks a running job failed for good.
func (tx *Tx) FailJob(ctx context.Context, id int64, attempt int, lastError string) (bool, error) {
	return tx.updateRunningJob(ctx, "fail job", id, attempt,
		`status = ?, locked_until = NULL, last_error = ?`, JobFailed, truncateError(lastError))
}

// ReleaseJob returns a running job to the queue, due now, without counting
// the attempt: the worker is shutting down and did not finish it.
func (tx *Tx) ReleaseJob(ctx context.Context, id int64, attempt int) (bool, error) {
	return tx.updateRunningJob(ctx, "release job", id, attempt,
		`status = ?, locked_until = NULL, run_at = ?, attempts = attempts - 1`, JobQueued, tx.now)
}

// updateRunningJob applies set to job id if it is still running under the
// worker's attempt number; the attempt number fences a worker whose lease
// expired from overwriting the outcome of the worker that took over.
func (tx *Tx) updateRunningJob(ctx context.Context, op string, id int64, attempt int, set string, args ...any) (bool, error) {
	args = append(args, tx.now, id, JobRunning, attempt)
	res, err := tx.Exec(ctx, `UPDATE jobs SET `+set+`, updated_at = ? WHERE id = ? AND status = ? AND attempts = ?`, args...)
	if err != nil {
		return false, fmt.Errorf("store: %s %d: %w", op, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: %s %d: %w", op, id, err)
	}
	return n == 1, nil
}

// FindJobByID returns one job, ENOTFOUND when it does not exist.
func (tx *Tx) FindJobByID(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(tx.QueryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return Job{}, tx.NotFound(err, "Job")
	}
	return j, nil
}

// JobStats counts jobs by status; every status is present in the map.
func (tx *Tx) JobStats(ctx context.Context) (map[string]int, error) {
	rows, err := tx.Query(ctx, `SELECT status, COUNT(*) FROM jobs GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: job stats: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int, len(JobStatuses))
	for _, s := range JobStatuses {
		out[s] = 0
	}
	for rows.Next() {
		var (
			status string
			n      int
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("store: job stats: %w", err)
		}
		out[status] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: job stats: %w", err)
	}
	return out, nil
}

// DueJobKinds returns up to limit distinct kinds of due, queued jobs whose
// kind is not in known: work no handler in this process can do.
func (tx *Tx) DueJobKinds(ctx context.Context, known []string, limit int) ([]string, error) {
	q := `SELECT kind FROM jobs WHERE status = ? AND run_at <= ?`
	args := []any{JobQueued, tx.now}
	if len(known) > 0 {
		q += ` AND kind NOT IN (` + Placeholders(len(known)) + `)`
		for _, k := range known {
			args = append(args, k)
		}
	}
	q += ` GROUP BY kind ORDER BY kind LIMIT ?`
	args = append(args, limit)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: due job kinds: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("store: due job kinds: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: due job kinds: %w", err)
	}
	return out, nil
}

// DeleteDoneJobs deletes up to limit done jobs last updated before before
// and returns how many it deleted. Callers loop in small batches so one
// transaction never holds the (SQLite) writer for long.
func (tx *Tx) DeleteDoneJobs(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM jobs WHERE id IN (
		SELECT id FROM jobs WHERE status = ? AND updated_at < ? ORDER BY id LIMIT ?)`,
		JobDone, before.UTC().Truncate(time.Microsecond), limit)
	if err != nil {
		return 0, fmt.Errorf("store: delete done jobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete done jobs: %w", err)
	}
	return n, nil
}

func scanJob(row *sql.Row) (Job, error) {
	var (
		j       Job
		payload string
		key     sql.NullString
		locked  sql.NullTime
	)
	err := row.Scan(&j.ID, &j.Kind, &payload, &j.Status, &key, &j.RunAt, &j.Attempts, &j.MaxAttempts,
		&locked, &j.LastError, &j.CreatedAt, &j.UpdatedAt)
	if err != nil {
		return Job{}, err
	}
	j.Payload = json.RawMessage(payload)
	j.UniqueKey = key.String
	if locked.Valid {
		j.LockedUntil = locked.Time.UTC()
	}
	j.RunAt = j.RunAt.UTC()
	j.CreatedAt = j.CreatedAt.UTC()
	j.UpdatedAt = j.UpdatedAt.UTC()
	return j, nil
}

func truncateError(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	// Cut on a rune boundary.
	cut := maxErrorLen
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
