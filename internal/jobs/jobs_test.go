package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable db.Now, safe for the runner's goroutines.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func useClock(db *store.DB) *clock {
	c := &clock{t: time.Now().UTC()}
	db.Now = c.Now
	return c
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func enqueue(t *testing.T, db *store.DB, j jobs.Job) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		var err error
		id, err = jobs.Enqueue(ctx, tx, j)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func find(t *testing.T, db *store.DB, id int64) store.Job {
	t.Helper()
	ctx := context.Background()
	var j store.Job
	err := db.Read(ctx, func(tx *store.Tx) error {
		var err error
		j, err = tx.FindJobByID(ctx, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func runOnce(t *testing.T, r *jobs.Runner, want int) {
	t.Helper()
	n, err := r.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("RunOnce worked %d jobs, want %d", n, want)
	}
}

func openURL(t *testing.T, url string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestJobs runs the queue's cases on one database per dialect; each case
// uses its own job kinds, so they do not see each other's jobs.
func TestJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := useClock(db)
		opts := jobs.Options{BackoffBase: time.Second, BackoffMax: time.Minute}

		t.Run("EnqueueAndWork", func(t *testing.T) {
			type payload struct {
				Email string `json:"email"`
				N     int    `json:"n"`
			}
			id := enqueue(t, db, jobs.Job{Kind: "mail.send", Payload: payload{"sara@example.com", 3}})
			j := find(t, db, id)
			if j.Status != store.JobQueued || j.MaxAttempts != jobs.DefaultMaxAttempts || !j.RunAt.Equal(clk.Now().Truncate(time.Microsecond)) {
				t.Fatalf("enqueued %+v", j)
			}
			r := jobs.NewRunner(db, quiet, opts)
			var got payload
			var claimed jobs.Claimed
			r.Handle("mail.send", func(ctx context.Context, c *jobs.Claimed) error {
				claimed = *c
				return c.Decode(&got)
			})
			runOnce(t, r, 1)
			if got != (payload{"sara@example.com", 3}) || claimed.ID != id || claimed.Attempt != 1 {
				t.Fatalf("handler saw %+v %+v", got, claimed)
			}
			if j := find(t, db, id); j.Status != store.JobDone || j.Attempts != 1 || !j.LockedUntil.IsZero() {
				t.Fatalf("after work: %+v", j)
			}
			runOnce(t, r, 0)
		})

		t.Run("RawPayloadAndNil", func(t *testing.T) {
			a := enqueue(t, db, jobs.Job{Kind: "raw", Payload: json.RawMessage(`{"x": [1, 2]}`)})
			b := enqueue(t, db, jobs.Job{Kind: "raw"})
			var seen []string
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("raw", func(ctx context.Context, c *jobs.Claimed) error {
				var v map[string]any
				if err := c.Decode(&v); err != nil {
					return err
				}
				seen = append(seen, fmt.Sprint(v))
				return nil
			})
			runOnce(t, r, 2)
			if strings.Join(seen, "|") != "map[x:[1 2]]|map[]" {
				t.Fatalf("payloads %q (jobs %d, %d)", seen, a, b)
			}
		})

		t.Run("Delayed", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "later", RunAt: clk.Now().Add(time.Hour)})
			ran := 0
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("later", func(context.Context, *jobs.Claimed) error { ran++; return nil })
			runOnce(t, r, 0)
			clk.Advance(time.Hour)
			runOnce(t, r, 1)
			if ran != 1 || find(t, db, id).Status != store.JobDone {
				t.Fatalf("ran %d", ran)
			}
		})

		t.Run("RetryWithBackoff", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "flaky"})
			calls := 0
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("flaky", func(ctx context.Context, c *jobs.Claimed) error {
				calls++
				if c.Attempt != calls {
					t.Errorf("attempt %d on call %d", c.Attempt, calls)
				}
				if calls > 1 && c.LastError != fmt.Sprintf("boom %d", calls-1) {
					t.Errorf("LastError = %q", c.LastError)
				}
				if calls < 3 {
					return fmt.Errorf("boom %d", calls)
				}
				return nil
			})
			for attempt, base := range []time.Duration{time.Second, 2 * time.Second} {
				runOnce(t, r, 1)
				j := find(t, db, id)
				wait := j.RunAt.Sub(clk.Now())
				lo, hi := base*8/10, base*12/10
				if j.Status != store.JobQueued || j.Attempts != attempt+1 || j.LastError != fmt.Sprintf("boom %d", attempt+1) ||
					wait < lo || wait > hi {
					t.Fatalf("after failure %d: %+v (wait %v, want %v..%v)", attempt+1, j, wait, lo, hi)
				}
				runOnce(t, r, 0) // not due yet
				clk.Advance(hi)
			}
			runOnce(t, r, 1)
			if j := find(t, db, id); j.Status != store.JobDone || j.Attempts != 3 || j.LastError != "" {
				t.Fatalf("after success: %+v", j)
			}
		})

		t.Run("MaxAttempts", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "doomed", MaxAttempts: 3})
			r := jobs.NewRunner(db, quiet, opts)
			calls := 0
			r.Handle("doomed", func(ctx context.Context, c *jobs.Claimed) error {
				calls++
				if c.LastAttempt() != (calls == 3) {
					t.Errorf("call %d: LastAttempt = %v", calls, c.LastAttempt())
				}
				return errors.New("never works")
			})
			for range 3 {
				runOnce(t, r, 1)
				clk.Advance(time.Minute)
			}
			runOnce(t, r, 0)
			if j := find(t, db, id); j.Status != store.JobFailed || j.Attempts != 3 || j.LastError != "never works" || calls != 3 {
				t.Fatalf("%+v after %d calls", j, calls)
			}
		})

		t.Run("Permanent", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "bad.input"})
			bad := enqueue(t, db, jobs.Job{Kind: "bad.payload", Payload: "not an object"})
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("bad.input", func(context.Context, *jobs.Claimed) error {
				return jobs.Permanent(errors.New("the contact was deleted"))
			})
			r.Handle("bad.payload", func(ctx context.Context, c *jobs.Claimed) error {
				var v struct{ N int }
				return c.Decode(&v) // a payload that does not decode never will
			})
			runOnce(t, r, 2)
			for _, id := range []int64{id, bad} {
				if j := find(t, db, id); j.Status != store.JobFailed || j.Attempts != 1 {
					t.Fatalf("%+v", j)
				}
			}
			if !jobs.IsPermanent(fmt.Errorf("wrapped: %w", jobs.Permanent(io.EOF))) || jobs.IsPermanent(io.EOF) || jobs.Permanent(nil) != nil {
				t.Fatal("IsPermanent")
			}
		})

		t.Run("PanicIsAFailure", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "panics"})
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("panics", func(context.Context, *jobs.Claimed) error { panic("bug") })
			runOnce(t, r, 1)
			if j := find(t, db, id); j.Status != store.JobQueued || j.LastError != "panic: bug" {
				t.Fatalf("%+v", j)
			}
		})

		t.Run("UniqueKey", func(t *testing.T) {
			j := jobs.Job{Kind: "segment.recompute", UniqueKey: "segment:7"}
			first := enqueue(t, db, j)
			var again, inTx int64
			err := db.Write(ctx, func(tx *store.Tx) error {
				var err error
				if again, err = jobs.Enqueue(ctx, tx, j); err != nil {
					return err
				}
				inTx, err = jobs.Enqueue(ctx, tx, j)
				return err
			})
			if err != nil || again != first || inTx != first {
				t.Fatalf("ids %d %d %d, %v; want one job", first, again, inTx, err)
			}
			other := enqueue(t, db, jobs.Job{Kind: "segment.recompute", UniqueKey: "segment:8"})
			if other == first {
				t.Fatal("different keys share a job")
			}
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("segment.recompute", func(context.Context, *jobs.Claimed) error { return nil })
			runOnce(t, r, 2)
			// Done: the key is free for a new job.
			next := enqueue(t, db, j)
			if next == first {
				t.Fatal("Enqueue after done returned the done job")
			}
			if got := find(t, db, next); got.UniqueKey != "segment:7" || got.Status != store.JobQueued {
				t.Fatalf("%+v", got)
			}
			runOnce(t, r, 1)
		})

		t.Run("LeaseExpiry", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "crashy"})
			// A worker claims the job and dies before it finishes.
			var claimed store.Job
			err := db.Write(ctx, func(tx *store.Tx) error {
				var ok bool
				var err error
				claimed, ok, err = tx.ClaimJob(ctx, []string{"crashy"}, time.Minute)
				if err == nil && !ok {
					err = errors.New("nothing claimed")
				}
				return err
			})
			if err != nil || claimed.ID != id || claimed.Status != store.JobRunning {
				t.Fatalf("claim: %+v, %v", claimed, err)
			}
			ran := 0
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("crashy", func(ctx context.Context, c *jobs.Claimed) error {
				ran++
				if c.Attempt != 2 {
					t.Errorf("attempt %d, want 2", c.Attempt)
				}
				return nil
			})
			runOnce(t, r, 0) // leased
			clk.Advance(time.Minute + time.Second)
			runOnce(t, r, 1)
			if j := find(t, db, id); ran != 1 || j.Status != store.JobDone || j.Attempts != 2 {
				t.Fatalf("ran %d: %+v", ran, j)
			}
			// The dead worker comes back and reports: the fence refuses it.
			err = db.Write(ctx, func(tx *store.Tx) error {
				ok, err := tx.FailJob(ctx, id, claimed.Attempts, "late")
				if err == nil && ok {
					err = errors.New("a stale worker overwrote the outcome")
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})

		t.Run("LeaseExpiryOnLastAttempt", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "crashy.last", MaxAttempts: 1})
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, _, err := tx.ClaimJob(ctx, []string{"crashy.last"}, time.Minute)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Minute)
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("crashy.last", func(context.Context, *jobs.Claimed) error {
				t.Error("ran a job past its last attempt")
				return nil
			})
			runOnce(t, r, 1)
			if j := find(t, db, id); j.Status != store.JobFailed {
				t.Fatalf("%+v", j)
			}
		})

		t.Run("UnknownKindStaysQueued", func(t *testing.T) {
			id := enqueue(t, db, jobs.Job{Kind: "from.the.future"})
			var logs bytes.Buffer
			r := jobs.NewRunner(db, slog.New(slog.NewTextHandler(&logs, nil)), opts)
			r.Handle("known.kind", func(context.Context, *jobs.Claimed) error { return nil })
			runOnce(t, r, 0)
			runOnce(t, r, 0)
			if j := find(t, db, id); j.Status != store.JobQueued || j.Attempts != 0 {
				t.Fatalf("%+v", j)
			}
			if n := strings.Count(logs.String(), "job_kind=from.the.future"); n != 1 {
				t.Fatalf("logged the unknown kind %d times, want once:\n%s", n, logs.String())
			}
		})

		t.Run("Validation", func(t *testing.T) {
			err := db.Write(ctx, func(tx *store.Tx) error {
				_, err := jobs.Enqueue(ctx, tx, jobs.Job{MaxAttempts: -1})
				return err
			})
			if crm.ErrorCode(err) != crm.EINVALID || len(crm.ErrorFields(err)) != 2 {
				t.Fatalf("err = %v", err)
			}
			err = db.Write(ctx, func(tx *store.Tx) error {
				_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: "x", Payload: func() {}})
				return err
			})
			if err == nil {
				t.Fatal("unmarshallable payload accepted")
			}
		})

		t.Run("RolledBackEnqueue", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.Write(ctx, func(tx *store.Tx) error {
				if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: "never"}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			r := jobs.NewRunner(db, quiet, opts)
			r.Handle("never", func(context.Context, *jobs.Claimed) error {
				t.Error("ran a job whose transaction rolled back")
				return nil
			})
			runOnce(t, r, 0)
		})
	})
}

func TestStatsAndCleanup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := useClock(db)
		old := enqueue(t, db, jobs.Job{Kind: "ok"})
		enqueue(t, db, jobs.Job{Kind: "fail"})
		r := jobs.NewRunner(db, quiet, jobs.Options{})
		r.Handle("ok", func(context.Context, *jobs.Claimed) error { return nil })
		r.Handle("fail", func(context.Context, *jobs.Claimed) error { return jobs.Permanent(io.EOF) })
		runOnce(t, r, 2)
		clk.Advance(10 * 24 * time.Hour)
		recent := enqueue(t, db, jobs.Job{Kind: "ok"})
		runOnce(t, r, 1)
		enqueue(t, db, jobs.Job{Kind: "ok"})
		enqueue(t, db, jobs.Job{Kind: "ok", UniqueKey: "u"})

		stats, err := jobs.Stats(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{"queued": 2, "running": 0, "done": 2, "failed": 1}; fmt.Sprint(stats) != fmt.Sprint(want) {
			t.Fatalf("stats %v, want %v", stats, want)
		}
		n, err := jobs.Cleanup(ctx, db, 7*24*time.Hour)
		if err != nil || n != 1 {
			t.Fatalf("cleanup deleted %d, %v; want 1", n, err)
		}
		err = db.Read(ctx, func(tx *store.Tx) error {
			_, err := tx.FindJobByID(ctx, old)
			return err
		})
		if crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("old done job: %v", err)
		}
		if j := find(t, db, recent); j.Status != store.JobDone {
			t.Fatalf("recent job %+v", j)
		}
	})
}

func TestBackoff(t *testing.T) {
	base, limit := time.Second, 10*time.Second
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: limit, 60: limit} {
		for range 50 {
			got := jobs.Backoff(base, limit, attempt)
			if got < want*8/10 || got > min(want*12/10, limit) {
				t.Fatalf("Backoff(attempt %d) = %v, want about %v", attempt, got, want)
			}
		}
	}
}

// TestSurvivesRestart enqueues a job, closes the database, and runs the job
// from a new process on the same database.
func TestSurvivesRestart(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			url := storetest.URL(t, d)
			db := openURL(t, url)
			id := enqueue(t, db, jobs.Job{Kind: "survivor", Payload: map[string]int{"n": 1}})
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openURL(t, url)
			r := jobs.NewRunner(db, quiet, jobs.Options{})
			ran := 0
			r.Handle("survivor", func(context.Context, *jobs.Claimed) error { ran++; return nil })
			runOnce(t, r, 1)
			if ran != 1 || find(t, db, id).Status != store.JobDone {
				t.Fatalf("ran %d", ran)
			}
		})
	}
}

// TestRun checks the long-running mode: jobs enqueued in this process start
// without waiting for the poll, and a shutdown puts an interrupted job back
// in the queue without counting the attempt.
func TestRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		r := jobs.NewRunner(db, quiet, jobs.Options{Workers: 2, PollInterval: time.Hour})
		quick := make(chan int64, 1)
		started := make(chan struct{})
		r.Handle("quick", func(ctx context.Context, c *jobs.Claimed) error { quick <- c.ID; return nil })
		r.Handle("slow", func(ctx context.Context, c *jobs.Claimed) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()

		id := enqueue(t, db, jobs.Job{Kind: "quick"})
		select {
		case got := <-quick:
			if got != id {
				t.Fatalf("ran %d, want %d", got, id)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("enqueued job did not wake the runner")
		}
		slow := enqueue(t, db, jobs.Job{Kind: "slow"})
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("slow job did not start")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if j := find(t, db, slow); j.Status != store.JobQueued || j.Attempts != 0 || j.LastError != "" {
			t.Fatalf("interrupted job: %+v", j)
		}
		// Wait for the quick job's completion to be recorded.
		if j := find(t, db, id); j.Status != store.JobDone {
			t.Fatalf("quick job: %+v", j)
		}
	})
}

// TestHeartbeat runs a job longer than its lease; the worker renews the
// lease so no other runner takes the job.
func TestHeartbeat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		lease := 240 * time.Millisecond
		id := enqueue(t, db, jobs.Job{Kind: "long"})
		other := jobs.NewRunner(db, quiet, jobs.Options{Lease: lease})
		other.Handle("long", func(context.Context, *jobs.Claimed) error {
			t.Error("a second runner took a job whose lease was renewed")
			return nil
		})
		r := jobs.NewRunner(db, quiet, jobs.Options{Lease: lease})
		r.Handle("long", func(ctx context.Context, c *jobs.Claimed) error {
			deadline := time.Now().Add(2 * lease)
			for time.Now().Before(deadline) {
				if _, err := other.RunOnce(ctx); err != nil {
					return err
				}
				time.Sleep(lease / 5)
			}
			return nil
		})
		runOnce(t, r, 1)
		if j := find(t, db, id); j.Status != store.JobDone || j.Attempts != 1 {
			t.Fatalf("%+v", j)
		}
	})
}

// TestConcurrentRunners: two processes with four workers each never run one
// job twice.
func TestConcurrentRunners(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			const total = 200
			url := storetest.URL(t, d)
			a, b := openURL(t, url), openURL(t, url)
			ctx := context.Background()
			err := a.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.Exec(ctx, `CREATE TABLE job_runs (job_id BIGINT PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
					return err
				}
				for i := range total {
					if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: "count", Payload: i}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var worked atomic.Int64
			runCtx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for _, db := range []*store.DB{a, b} {
				r := jobs.NewRunner(db, quiet, jobs.Options{Workers: 4, PollInterval: 20 * time.Millisecond})
				r.Handle("count", func(ctx context.Context, c *jobs.Claimed) error {
					err := db.Write(ctx, func(tx *store.Tx) error {
						_, err := tx.Exec(ctx, `INSERT INTO job_runs (job_id, n) VALUES (?, 1)
							ON CONFLICT (job_id) DO UPDATE SET n = job_runs.n + 1`, c.ID)
						return err
					})
					if err == nil {
						worked.Add(1)
					}
					return err
				})
				wg.Go(func() { r.Run(runCtx) })
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				stats, err := jobs.Stats(ctx, a)
				if err != nil {
					t.Fatal(err)
				}
				if stats[store.JobDone] == total {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("stats %v after 20s", stats)
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			wg.Wait()
			var rows, sum, maxN int
			err = a.Read(ctx, func(tx *store.Tx) error {
				return tx.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(MAX(n), 0) FROM job_runs`).Scan(&rows, &sum, &maxN)
			})
			if err != nil {
				t.Fatal(err)
			}
			if rows != total || sum != total || maxN != 1 || worked.Load() != total {
				t.Fatalf("job_runs: %d rows, sum %d, max %d, handler runs %d; want each of %d jobs once",
					rows, sum, maxN, worked.Load(), total)
			}
		})
	}
}

// TestStopLeavesNothingRunning stops runners again and again while they
// claim and finish short jobs: no job may be left claimed by a runner that
// has stopped (it would wait for its lease to run out), and each job runs
// to done exactly once in the end.
func TestStopLeavesNothingRunning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const total = 120
		for range total {
			enqueue(t, db, jobs.Job{Kind: "short"})
		}
		var ran atomic.Int64
		for round := 0; ; round++ {
			stats, err := jobs.Stats(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if stats[store.JobRunning] != 0 {
				t.Fatalf("round %d: %d jobs left running by stopped runners (%v)", round, stats[store.JobRunning], stats)
			}
			if stats[store.JobDone] == total {
				break
			}
			if round == 200 {
				t.Fatalf("not done after 200 rounds: %v", stats)
			}
			runCtx, cancel := context.WithCancel(ctx)
			r := jobs.NewRunner(db, quiet, jobs.Options{Workers: 4, PollInterval: time.Millisecond})
			r.Handle("short", func(ctx context.Context, c *jobs.Claimed) error {
				ran.Add(1)
				time.Sleep(time.Millisecond)
				return nil
			})
			done := make(chan struct{})
			go func() { r.Run(runCtx); close(done) }()
			time.Sleep(time.Duration(1+round%7) * time.Millisecond)
			cancel()
			<-done
		}
		if n := ran.Load(); n != total {
			t.Errorf("handlers ran %d times for %d jobs", n, total)
		}
	})
}
