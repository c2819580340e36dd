package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/store"
)

// Options tune a Runner. Zero values take the defaults shown.
type Options struct {
	// Workers is the number of jobs run at the same time (4).
	Workers int
	// PollInterval is how often an idle worker looks for due jobs (1s).
	// Jobs enqueued in this process wake the workers at once; the poll
	// finds jobs enqueued by other processes, retries and delayed jobs.
	PollInterval time.Duration
	// Lease is how long a claimed job stays locked to its worker (5m).
	// While the handler runs, the worker renews the lease every Lease/3;
	// when a worker dies, its job becomes due again once the lease ends.
	Lease time.Duration
	// BackoffBase and BackoffMax shape retries: attempt n waits
	// BackoffBase·2^(n-1), ±20% jitter, at most BackoffMax (10s, 1h).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// Retention is how long Run keeps done jobs before deleting them
	// (7 days); negative keeps them forever.
	Retention time.Duration
}

func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = 10 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = time.Hour
	}
	if o.BackoffMax < o.BackoffBase {
		o.BackoffMax = o.BackoffBase
	}
	if o.Retention == 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	return o
}

// HandlerFunc does the work of one job. Returning nil marks the job done;
// an error schedules a retry with backoff, or fails the job when it was
// the last attempt or the error is Permanent. ctx is cancelled when the
// runner shuts down (the job is then put back in the queue, uncounted) or
// when the worker lost its lease.
type HandlerFunc func(ctx context.Context, j *Claimed) error

// Runner works jobs from the queue.
type Runner struct {
	db     *store.DB
	logger *slog.Logger
	opts   Options

	mu       sync.Mutex
	handlers map[string]HandlerFunc
	kinds    []string        // sorted keys of handlers
	unknown  map[string]bool // kinds without a handler already logged
}

// NewRunner returns a runner on db; register handlers with Handle, then
// call Run (or RunOnce).
func NewRunner(db *store.DB, logger *slog.Logger, opts Options) *Runner {
	if logger == nil {
		logger = slog.Default()
	}
	return &Runner{
		db:       db,
		logger:   logger,
		opts:     opts.withDefaults(),
		handlers: map[string]HandlerFunc{},
		unknown:  map[string]bool{},
	}
}

// Handle registers fn for jobs of kind. A runner claims only kinds it has a
// handler for; jobs of other kinds stay queued for a process that knows
// them (during a rolling upgrade, for example). Registering a kind twice
// panics.
func (r *Runner) Handle(kind string, fn HandlerFunc) {
	if kind == "" || fn == nil {
		panic("jobs: Handle needs a kind and a function")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.handlers[kind]; dup {
		panic("jobs: handler for " + kind + " registered twice")
	}
	r.handlers[kind] = fn
	r.kinds = append(r.kinds, kind)
	slices.Sort(r.kinds)
}

func (r *Runner) handlerKinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.kinds)
}

func (r *Runner) handler(kind string) HandlerFunc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.handlers[kind]
}

// Run works jobs with Options.Workers workers until ctx is done, then
// waits for the running handlers to return and returns nil. Database
// errors are logged and retried after the poll interval. Run also deletes
// old done jobs (Options.Retention) and logs, once per kind, due jobs that
// no handler here can run.
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Go(func() { r.worker(ctx) })
	}
	wg.Go(func() { r.maintain(ctx) })
	wg.Wait()
	return nil
}

// RunOnce works, one at a time, every job that is due now and returns how
// many it worked (done, retried or failed). Handler errors are recorded on
// the jobs, not returned; the error is a database error. It is for tests
// and CLI commands.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	r.checkUnknown(ctx)
	n := 0
	for ctx.Err() == nil {
		worked, err := r.workOne(ctx)
		if err != nil {
			return n, err
		}
		if !worked {
			return n, nil
		}
		n++
	}
	return n, ctx.Err()
}

func (r *Runner) worker(ctx context.Context) {
	wake, stop := listenWake()
	defer stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		worked, err := r.workOne(ctx)
		if err != nil && ctx.Err() == nil {
			r.logger.Error("jobs: claim failed", "err", err)
		}
		if worked && err == nil {
			continue
		}
		// Spread the polls of many workers so they do not claim in step.
		// Since Go 1.23 Reset leaves no stale tick in timer.C.
		timer.Reset(r.opts.PollInterval/2 + rand.N(r.opts.PollInterval/2+1))
		select {
		case <-ctx.Done():
		case <-wake:
		case <-timer.C:
		}
	}
}

func (r *Runner) maintain(ctx context.Context) {
	const (
		unknownEvery = time.Minute
		cleanupEvery = time.Hour
	)
	check := time.NewTimer(r.opts.PollInterval)
	defer check.Stop()
	cleanup := time.NewTimer(r.opts.PollInterval)
	defer cleanup.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-check.C:
			r.checkUnknown(ctx)
			check.Reset(unknownEvery)
		case <-cleanup.C:
			if r.opts.Retention > 0 {
				n, err := Cleanup(ctx, r.db, r.opts.Retention)
				if err != nil && ctx.Err() == nil {
					r.logger.Error("jobs: cleanup failed", "err", err)
				} else if n > 0 {
					r.logger.Info("jobs: deleted old done jobs", "count", n)
				}
			}
			cleanup.Reset(cleanupEvery)
		}
	}
}

// checkUnknown logs, once per kind and runner, due jobs that no handler of
// this runner can run. They stay queued: another process (a newer version)
// may know them.
func (r *Runner) checkUnknown(ctx context.Context) {
	known := r.handlerKinds()
	var kinds []string
	err := r.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		kinds, err = tx.DueJobKinds(ctx, known, 20)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Error("jobs: look for unknown kinds", "err", err)
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range kinds {
		if _, known := r.handlers[k]; known || r.unknown[k] {
			continue
		}
		r.unknown[k] = true
		r.logger.Warn("jobs: due jobs have no handler here; leaving them queued", "job_kind", k)
	}
}

// workOne claims and works one due job; worked is false when none is due.
func (r *Runner) workOne(ctx context.Context) (worked bool, err error) {
	kinds := r.handlerKinds()
	if len(kinds) == 0 {
		return false, nil
	}
	var (
		job store.Job
		ok  bool
	)
	if ctx.Err() != nil {
		return false, nil
	}
	// The claim runs to its end even when shutdown starts meanwhile: on
	// PostgreSQL a commit cut short by a cancelled context may still have
	// committed, which left the job claimed by a worker that no longer
	// knew it, until its lease ran out (minutes). A job claimed as the
	// runner stops goes back to the queue at once.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	err = r.db.Write(cctx, func(tx *store.Tx) error {
		var err error
		job, ok, err = tx.ClaimJob(cctx, kinds, r.opts.Lease)
		return err
	})
	if err != nil || !ok {
		return false, err
	}
	if ctx.Err() != nil {
		r.release(ctx, r.logger.With("job_id", job.ID, "job_kind", job.Kind, "attempt", job.Attempts), job)
		return true, nil
	}
	r.work(ctx, job)
	return true, nil
}

var errLostLease = errors.New("jobs: lease lost to another worker")

func (r *Runner) work(ctx context.Context, job store.Job) {
	log := r.logger.With("job_id", job.ID, "job_kind", job.Kind, "attempt", job.Attempts)
	if job.Attempts > job.MaxAttempts {
		// The worker of the final attempt died and its lease expired.
		r.finish(ctx, log, job, Permanent(errors.New("the final attempt did not finish (its worker stopped)")))
		return
	}
	fn := r.handler(job.Kind)
	if fn == nil { // cannot happen: only kinds with a handler are claimed
		r.finish(ctx, log, job, fmt.Errorf("jobs: no handler for kind %q", job.Kind))
		return
	}
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var hb sync.WaitGroup
	stop := make(chan struct{})
	hb.Go(func() { r.heartbeat(jctx, log, job, cancel, stop) })

	err := call(jctx, fn, &Claimed{
		ID:          job.ID,
		Kind:        job.Kind,
		Payload:     job.Payload,
		Attempt:     job.Attempts,
		MaxAttempts: job.MaxAttempts,
		UniqueKey:   job.UniqueKey,
		LastError:   job.LastError,
		RunAt:       job.RunAt,
		CreatedAt:   job.CreatedAt,
	}, log)
	close(stop)
	hb.Wait()

	switch {
	case errors.Is(context.Cause(jctx), errLostLease):
		log.Warn("jobs: lease lost while the job ran; another worker has it now", "err", err)
	case err != nil && ctx.Err() != nil:
		// Shutting down: put the job back, uncounted.
		r.release(ctx, log, job)
	default:
		r.finish(ctx, log, job, err)
	}
}

// call runs fn, turning a panic into an error.
func call(ctx context.Context, fn HandlerFunc, c *Claimed, log *slog.Logger) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("jobs: handler panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(ctx, c)
}

// heartbeat renews the job's lease every Lease/3 until stop closes. When
// the job is no longer this worker's, it cancels the handler's context.
func (r *Runner) heartbeat(ctx context.Context, log *slog.Logger, job store.Job, cancel context.CancelCauseFunc, stop <-chan struct{}) {
	t := time.NewTicker(r.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ok bool
		err := r.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = tx.ExtendJobLease(ctx, job.ID, job.Attempts, r.opts.Lease)
			return err
		})
		switch {
		case err != nil:
			if ctx.Err() == nil {
				log.Error("jobs: renew lease", "err", err)
			}
		case !ok:
			cancel(errLostLease)
			return
		}
	}
}

// finishTimeout bounds the write that records a job's outcome; it runs
// even when the runner is shutting down.
const finishTimeout = 30 * time.Second

func (r *Runner) finish(ctx context.Context, log *slog.Logger, job store.Job, herr error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	var (
		ok    bool
		delay time.Duration
		final = herr != nil && (IsPermanent(herr) || job.Attempts >= job.MaxAttempts)
	)
	err := r.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		switch {
		case herr == nil:
			ok, err = tx.CompleteJob(ctx, job.ID, job.Attempts)
		case final:
			ok, err = tx.FailJob(ctx, job.ID, job.Attempts, herr.Error())
		default:
			delay = r.backoff(job.Attempts)
			ok, err = tx.RetryJobAt(ctx, job.ID, job.Attempts, tx.Now().Add(delay), herr.Error())
		}
		return err
	})
	switch {
	case err != nil:
		// The lease will expire and the job run again.
		log.Error("jobs: record job outcome", "err", err, "job_err", herr)
	case !ok:
		log.Warn("jobs: job was taken over by another worker before it finished here", "job_err", herr)
	case herr == nil:
		log.Debug("jobs: job done")
	case final:
		log.Error("jobs: job failed", "err", herr, "permanent", IsPermanent(herr))
	default:
		log.Warn("jobs: job attempt failed; will retry", "err", herr, "retry_in", delay.Round(time.Millisecond))
	}
}

func (r *Runner) release(ctx context.Context, log *slog.Logger, job store.Job) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	err := r.db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.ReleaseJob(ctx, job.ID, job.Attempts)
		return err
	})
	if err != nil {
		log.Error("jobs: release job at shutdown", "err", err)
		return
	}
	log.Info("jobs: job interrupted by shutdown; queued again")
}

// backoff returns the wait before the attempt after attempt:
// BackoffBase·2^(attempt-1) with ±20% jitter, at most BackoffMax.
func (r *Runner) backoff(attempt int) time.Duration {
	return Backoff(r.opts.BackoffBase, r.opts.BackoffMax, attempt)
}

// Backoff returns base·2^(attempt-1) with ±20% jitter, capped at limit.
func Backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	j := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(j, limit)
}
