package insight

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// A recompute run goes through these phases, each reported as progress
// on its analytics_runs row:
//
//	reading   stream every order of a known customer (not fully returned) by customer; per
//	          customer, the orders in the run's currency up to the end of observation become
//	          transactions (calendar days of the run's time zone, value net of returns) for the
//	          purchase summary and RFM
//	fitting   BG/NBD on all summaries, then Gamma-Gamma on the repeat buyers
//	scoring   P(alive), churn risk and band, expected purchases, E[M], CLV; RFM quintiles
//	writing   the rows of the run's own score table (customer_scores_r<id>), in batches of short
//	          transactions, appended in contact order
//	indexing  the table's indexes, built once it is complete
//	baskets   stream the order lines, mine frequent itemsets, derive rules and pairs, store them
//	switching make the run current (one transaction), then delete the previous run's rows
//
// Memory grows with customers (a summary, an RFM record and a score
// each), never with orders or lines: the orders of one customer at a time
// are held.

// Phases.
const (
	PhaseReading   = "reading"
	PhaseFitting   = "fitting"
	PhaseScoring   = "scoring"
	PhaseWriting   = "writing"
	PhaseIndexing  = "indexing"
	PhaseBaskets   = "baskets"
	PhaseSwitching = "switching"
)

const (
	// maxItemsets stops basket mining that explodes (support set too low).
	maxItemsets = 2_000_000
	// maxRules and pairsPerItem bound what a run stores of its rules.
	maxRules     = 20_000
	pairsPerItem = 20
	// minBaskets: fewer orders with lines and no basket analysis is done.
	minBaskets = 20
	// clearBatch is how many rows of a stale run one transaction deletes.
	clearBatch = 5000
)

var errActive = crm.Errorf(crm.ECONFLICT, "A recompute is already queued or running.")

const (
	// heartbeat is how often a running run records that it is alive;
	// staleAfter how long without a sign of life makes a running run
	// dead (its process was killed): asking for a run then gives it up.
	heartbeat  = 30 * time.Second
	staleAfter = 5 * time.Minute
)

// Recompute asks for a run now: a new run is queued as a job and
// returned with created true; when one is already queued or running, that
// one is returned with created false. end, "YYYY-MM-DD" or "", is the
// last day observed (default: the day the run starts, in the settings'
// time zone). Needs reports:read (and the write scope for tokens).
func (s *Service) Recompute(ctx context.Context, via, end string) (*Run, bool, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, true); err != nil {
		return nil, false, err
	}
	if err := checkEnd(end); err != nil {
		return nil, false, err
	}
	var (
		run     *store.AnalyticsRun
		created bool
		current int64
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		run, created, err = s.newRun(ctx, tx, via, end)
		if err != nil || !created {
			return err
		}
		if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobRecompute, Payload: map[string]int64{"run_id": run.ID},
			MaxAttempts: 3, UniqueKey: JobRecompute}); err != nil {
			return err
		}
		return tx.Audit(ctx, "analytics.recompute", "analytics_run", run.ID, nil, map[string]any{"via": via, "end": end})
	})
	if err != nil {
		return nil, false, err
	}
	_ = s.db.Read(ctx, func(tx *store.Tx) error {
		current, _, _ = tx.CurrentAnalyticsRunID(ctx)
		return nil
	})
	return toRun(run, current), created, nil
}

// RunNow runs a recompute in this goroutine (the command line), calling
// progress as it goes, and returns the finished run. It refuses
// (ECONFLICT) while another run is queued or running.
func (s *Service) RunNow(ctx context.Context, via, end string, progress func(Progress)) (*Run, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, true); err != nil {
		return nil, err
	}
	if err := checkEnd(end); err != nil {
		return nil, err
	}
	var run *store.AnalyticsRun
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, created, err := s.newRun(ctx, tx, via, end)
		if err == nil && !created {
			return errActive
		}
		run = r
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.execute(ctx, run.ID, progress); err != nil {
		return nil, err
	}
	return s.Run(ctx, run.ID)
}

func checkEnd(end string) error {
	if end == "" {
		return nil
	}
	t, err := time.Parse("2006-01-02", end)
	if err != nil || t.Year() < 1900 {
		return &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"end": "Use a date as YYYY-MM-DD."}}
	}
	return nil
}

// newRun records a queued run unless one is queued or running (then that
// one is returned, created false).
func (s *Service) newRun(ctx context.Context, tx *store.Tx, via, end string) (*store.AnalyticsRun, bool, error) {
	if err := tx.AdvisoryLock(ctx, JobRecompute); err != nil {
		return nil, false, err
	}
	if r, err := tx.ActiveAnalyticsRun(ctx); err == nil {
		if r.Status != store.RunRunning || tx.Now().Sub(r.UpdatedAt) < staleAfter {
			return r, false, nil
		}
		// Its process died (a running run shows a sign of life every
		// heartbeat): it is given up, and a new one starts.
		r.Status, r.Message = store.RunFailed, fmt.Sprintf("Interrupted: no sign of life since %s.", r.UpdatedAt.Format(time.RFC3339))
		r.FinishedAt = ptr(tx.Now())
		if err := tx.SaveAnalyticsRun(ctx, r); err != nil {
			return nil, false, err
		}
	} else if crm.ErrorCode(err) != crm.ENOTFOUND {
		return nil, false, err
	}
	st, err := loadSettings(ctx, tx)
	if err != nil {
		return nil, false, err
	}
	b, err := json.Marshal(params{Settings: st, End: end})
	if err != nil {
		return nil, false, err
	}
	r := &store.AnalyticsRun{Status: store.RunQueued, Via: via, RequestedBy: crm.UserIDFromContext(ctx), Params: string(b)}
	if err := tx.InsertAnalyticsRun(ctx, r); err != nil {
		return nil, false, err
	}
	return r, true, nil
}

func (s *Service) handleRecomputeJob(ctx context.Context, j *jobs.Claimed) error {
	var p struct {
		RunID int64 `json:"run_id"`
	}
	if err := j.Decode(&p); err != nil {
		return err
	}
	err := s.execute(ctx, p.RunID, nil)
	if err != nil && ctx.Err() == nil {
		return jobs.Permanent(err) // the run is marked failed; asking again starts a new one
	}
	if err != nil {
		return err
	}
	// A run asked for while this job was held by a worker that died got
	// no job of its own (the unique key was taken): work the queued ones.
	for ctx.Err() == nil {
		var next *store.AnalyticsRun
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			next, err = tx.NextQueuedAnalyticsRun(ctx)
			return err
		})
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.execute(ctx, next.ID, nil); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return jobs.Permanent(err)
		}
	}
	return ctx.Err()
}

// handleNightlyJob runs the nightly recompute, unless the settings moved
// or switched it off since the job was queued, or a run is already going;
// then it queues the next night's.
func (s *Service) handleNightlyJob(ctx context.Context, j *jobs.Claimed) error {
	var st Settings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		st, err = loadSettings(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	due := st.Nightly
	if at, err := parseClock(st.NightlyAt); err != nil {
		due = false
	} else if t := j.RunAt.In(st.location()); t.Hour()*60+t.Minute() != at {
		due = false // the time was changed; the job for the new time is queued
	}
	var run *store.AnalyticsRun
	if due {
		err = s.db.Write(ctx, func(tx *store.Tx) error {
			r, created, err := s.newRun(ctx, tx, ViaNightly, "")
			if created {
				run = r
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	if run != nil {
		if err := s.execute(ctx, run.ID, nil); err != nil {
			if ctx.Err() != nil {
				return err
			}
			s.log.Error("insight: nightly recompute failed", "run", run.ID, "err", err)
		}
	} else if due {
		s.log.Info("insight: nightly recompute skipped, a run is already queued or running")
	}
	return s.EnsureNightly(context.WithoutCancel(ctx))
}

// EnsureNightly queues the next nightly run when the settings ask for one
// and it is not queued yet. The app calls it at start.
func (s *Service) EnsureNightly(ctx context.Context) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		st, err := loadSettings(ctx, tx)
		if err != nil {
			return err
		}
		return s.scheduleNightly(ctx, tx, st)
	})
}

// scheduleNightly queues the nightly job for the next NightlyAt. The
// unique key is its time, so asking twice queues one job.
func (s *Service) scheduleNightly(ctx context.Context, tx *store.Tx, st Settings) error {
	if !st.Nightly {
		return nil
	}
	next, err := NextNightly(st, tx.Now())
	if err != nil {
		return err
	}
	_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobNightly, RunAt: next, MaxAttempts: 3,
		UniqueKey: JobNightly + ":" + next.UTC().Format(time.RFC3339)})
	return err
}

// NextNightly is the first NightlyAt in TimeZone after now.
func NextNightly(st Settings, now time.Time) (time.Time, error) {
	at, err := parseClock(st.NightlyAt)
	if err != nil {
		return time.Time{}, crm.Errorf(crm.EINVALID, "nightly_at %q is not HH:MM", st.NightlyAt)
	}
	loc := st.location()
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), at/60, at%60, 0, 0, loc)
	if !t.After(now) {
		t = time.Date(l.Year(), l.Month(), l.Day()+1, at/60, at%60, 0, 0, loc)
	}
	return t.UTC(), nil
}

// runState is one execution of a run.
type runState struct {
	s        *Service
	run      *store.AnalyticsRun
	st       Settings
	loc      *time.Location
	end      time.Time // the last day observed, as a UTC midnight
	currency string
	scale    float64 // 10^exponent of the currency
	progress func(Progress)
	prevRun  int64
	hasPrev  bool

	lastReport time.Time
	phaseStart time.Time
	timings    Timings
	skipped    Skipped
}

// execute works run id from start to end. A run found running was
// interrupted (its process died, or it lost its lease): its partial rows
// are deleted and it starts again. An error other than ctx's marks the
// run failed; after ctx ends the run is left running, to be restarted.
func (s *Service) execute(ctx context.Context, id int64, progress func(Progress)) error {
	var run *store.AnalyticsRun
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		run, err = tx.FindAnalyticsRun(ctx, id)
		return err
	})
	if err != nil {
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil // nothing to do
		}
		return err
	}
	switch run.Status {
	case store.RunDone, store.RunFailed:
		return nil // a duplicate delivery of a finished job
	case store.RunRunning:
		if err := s.clearRun(ctx, run.ID); err != nil {
			return err
		}
		run.Message = "Restarted after an interruption."
	}
	var p params
	if err := json.Unmarshal([]byte(run.Params), &p); err != nil {
		return s.fail(ctx, run, fmt.Errorf("the run's settings do not decode: %w", err))
	}
	rs := &runState{s: s, run: run, st: p.Settings, loc: p.Settings.location(), progress: progress}
	now := s.db.Now().In(rs.loc)
	rs.end = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if p.End != "" {
		if rs.end, err = time.Parse("2006-01-02", p.End); err != nil {
			return s.fail(ctx, run, fmt.Errorf("end %q is not a date", p.End))
		}
	}
	start := time.Now()
	run.Status, run.Attempts, run.ObservedTo = store.RunRunning, run.Attempts+1, rs.end.Format("2006-01-02")
	run.StartedAt = ptr(s.db.Now().UTC())
	run.Phase, run.Done, run.Total = PhaseReading, 0, 0
	if err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SaveAnalyticsRun(ctx, run); err != nil {
			return err
		}
		var err error
		if rs.prevRun, rs.hasPrev, err = tx.CurrentAnalyticsRunID(ctx); err != nil || !rs.hasPrev {
			return err
		}
		rs.hasPrev, err = tx.HasScoreTable(ctx, rs.prevRun)
		return err
	}); err != nil {
		return err
	}
	stopBeat := s.beat(ctx, run.ID)
	err = rs.work(ctx)
	stopBeat()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.fail(ctx, run, err)
	}
	rs.timings.Total = time.Since(start).Milliseconds()
	if err := rs.finish(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return s.fail(ctx, run, err)
	}
	if !s.opts.KeepOld {
		s.clearStale(ctx)
	}
	return nil
}

// ClearOld deletes the rows of runs no longer in use (done after every
// run unless Options.KeepOld).
func (s *Service) ClearOld(ctx context.Context) error {
	s.clearStale(ctx)
	return ctx.Err()
}

func ptr[T any](v T) *T { return &v }

// beat records every heartbeat that run id is alive, until stop is called.
func (s *Service) beat(ctx context.Context, id int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.db.Write(ctx, func(tx *store.Tx) error { return tx.TouchAnalyticsRun(ctx, id) }); err != nil && ctx.Err() == nil {
					s.log.Warn("insight: heartbeat", "run", id, "err", err)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// fail marks a run failed with err's message and returns err.
func (s *Service) fail(ctx context.Context, run *store.AnalyticsRun, err error) error {
	wctx := context.WithoutCancel(ctx)
	run.Status, run.Message = store.RunFailed, crm.ErrorMessage(err)
	run.FinishedAt = ptr(s.db.Now().UTC())
	if werr := s.db.Write(wctx, func(tx *store.Tx) error { return tx.SaveAnalyticsRun(wctx, run) }); werr != nil {
		s.log.Error("insight: mark run failed", "run", run.ID, "err", werr)
	}
	s.log.Warn("insight: recompute failed", "run", run.ID, "err", err)
	return err
}

// clearRun deletes every row of run id, in batches.
func (s *Service) clearRun(ctx context.Context, id int64) error {
	for {
		var n int64
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			n, err = tx.DeleteAnalyticsRunRows(ctx, id, clearBatch)
			return err
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// clearStale deletes the rows of runs that are no longer current (the one
// a run replaced, failed runs), in batches; errors are logged, and the
// next run tries again.
func (s *Service) clearStale(ctx context.Context) {
	var ids []int64
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		ids, err = tx.UnclearedAnalyticsRuns(ctx)
		return err
	})
	for _, id := range ids {
		if err = s.clearRun(ctx, id); err != nil {
			break
		}
		if err = s.db.Write(ctx, func(tx *store.Tx) error { return tx.MarkAnalyticsRunCleared(ctx, id) }); err != nil {
			break
		}
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("insight: delete the rows of old runs", "err", err)
	}
}

// report records progress: to the test hook and the caller every time,
// to the database at most twice a second (and always when force).
func (rs *runState) report(ctx context.Context, phase string, done, total int64, force bool) error {
	rs.run.Phase, rs.run.Done, rs.run.Total = phase, done, total
	if rs.progress != nil {
		rs.progress(Progress{phase, done, total})
	}
	rs.s.mu.Lock()
	hook := rs.s.progress
	rs.s.mu.Unlock()
	if hook != nil {
		if err := hook(phase, done); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !force && time.Since(rs.lastReport) < 500*time.Millisecond {
		return nil
	}
	rs.lastReport = time.Now()
	return rs.s.db.Write(ctx, func(tx *store.Tx) error { return tx.SetAnalyticsRunProgress(ctx, rs.run.ID, phase, done, total) })
}

// phase starts timing a phase and notes the heap.
func (rs *runState) phase(into *int64) func() {
	start := time.Now()
	return func() {
		*into = time.Since(start).Milliseconds()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		rs.timings.PeakHeap = max(rs.timings.PeakHeap, int64(m.HeapAlloc>>20))
	}
}

// customer is what the reading phase keeps of one scored customer besides
// the summary.
type customer struct {
	contact     int64
	orders      int32
	spent       int64
	first, last int64 // unix seconds
}

func (rs *runState) work(ctx context.Context) error {
	// Reading.
	stop := rs.phase(&rs.timings.Reading)
	sums, custs, rfm, err := rs.read(ctx)
	if err != nil {
		return err
	}
	stop()
	rs.run.Customers, rs.run.Repeat = int64(len(sums)), 0
	for _, sm := range sums {
		if sm.Frequency > 0 {
			rs.run.Repeat++
		}
	}

	// Fitting.
	if err := rs.report(ctx, PhaseFitting, 0, 1, true); err != nil {
		return err
	}
	stop = rs.phase(&rs.timings.Fitting)
	model, gg := rs.fit(sums)
	stop()
	// What is known so far shows while the rows are written.
	if err := rs.s.db.Write(ctx, func(tx *store.Tx) error { return tx.SaveAnalyticsRun(ctx, rs.run) }); err != nil {
		return err
	}

	// Scoring.
	if err := rs.report(ctx, PhaseScoring, 0, 1, true); err != nil {
		return err
	}
	stop = rs.phase(&rs.timings.Scoring)
	var scores []analytics.Score
	if model != nil {
		opt := analytics.ScoreOptions{Periods: rs.st.PredictPeriods,
			CLV:   analytics.CLVOptions{Months: rs.st.CLVMonths, DiscountRate: rs.st.DiscountRate, PeriodsPerMonth: rs.st.unit().PerMonth()},
			Bands: analytics.ChurnBands{Medium: rs.st.ChurnMedium, High: rs.st.ChurnHigh}}
		if scores, err = analytics.ScoreCustomers(*model, gg, sums, opt); err != nil {
			return fmt.Errorf("scoring: %w", err)
		}
	}
	stop()

	// Writing (the RFM quintiles are computed as the rows are written).
	stop = rs.phase(&rs.timings.Writing)
	if err := rs.write(ctx, sums, custs, rfm, scores); err != nil {
		return err
	}
	stop()
	sums, custs, rfm, scores = nil, nil, nil, nil

	// Baskets.
	stop = rs.phase(&rs.timings.Baskets)
	if err := rs.baskets(ctx); err != nil {
		return err
	}
	stop()
	return nil
}

// read streams the orders and builds the summaries, the RFM accumulator
// and the per-customer totals, in contact id order.
func (rs *runState) read(ctx context.Context) ([]analytics.Summary, []customer, *analytics.RFM, error) {
	var (
		sums  []analytics.Summary
		custs []customer
		rfm   = analytics.NewRFM(analytics.RFMOptions{End: rs.end})
	)
	cs, err := analytics.NewCustomerSummarizer(analytics.SummaryOptions{Period: rs.st.period(), Unit: rs.st.unit(), End: rs.end})
	if err != nil {
		return nil, nil, nil, err
	}
	err = rs.s.db.Read(ctx, func(tx *store.Tx) error {
		// The currency with the most orders takes a pass over the orders;
		// with the currency set, the progress total is the highest order
		// id, which is about the number of orders.
		var (
			currencies []store.AnalyticsCurrency
			total      int64
			err        error
		)
		rs.currency = rs.st.Currency
		if rs.currency == "" {
			if currencies, err = tx.AnalyticsCurrencies(ctx); err != nil {
				return err
			}
			for _, c := range currencies {
				total += c.Orders
			}
			if len(currencies) > 0 {
				rs.currency = currencies[0].Currency
			}
		} else if total, err = tx.MaxOrderID(ctx); err != nil {
			return err
		}
		if rs.currency == "" {
			rs.currency = "—" // no orders at all
		}
		rs.run.Currency = rs.currency
		rs.scale = math.Pow10(crm.CurrencyExponent(rs.currency))
		other := map[string]*store.AnalyticsCurrency{}
		endDay := rs.end.Unix() / 86400
		var (
			cur  int64
			seen []*store.AnalyticsCurrency // the other currencies the current customer bought in
			buf  []store.AnalyticsOrder
			txs  []analytics.Transaction
			read int64
		)
		flush := func() error {
			for _, oc := range seen {
				oc.Customers++
			}
			if len(buf) == 0 {
				if len(seen) > 0 {
					rs.skipped.CustomersOtherCurrencyOnly++
				}
				return nil
			}
			slices.SortFunc(buf, func(a, b store.AnalyticsOrder) int {
				if c := a.PlacedAt.Compare(b.PlacedAt); c != 0 {
					return c
				}
				return int(a.ID - b.ID)
			})
			id := strconv.FormatInt(cur, 10)
			c := customer{contact: cur}
			txs = txs[:0]
			for _, o := range buf {
				local := o.PlacedAt.In(rs.loc)
				y, m, d := local.Date()
				if time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()/86400 > endDay {
					rs.skipped.OrdersAfterEnd++
					continue
				}
				net := max(o.Net, 0)
				txs = append(txs, analytics.Transaction{Customer: id, Time: local, Amount: float64(net) / rs.scale})
				if c.orders == 0 {
					c.first = o.PlacedAt.Unix()
				}
				c.orders++
				c.spent += net
				c.last = o.PlacedAt.Unix()
			}
			buf = buf[:0]
			if len(txs) == 0 {
				return nil
			}
			sm, ok, err := cs.Summarize(id, txs)
			if err != nil {
				return fmt.Errorf("customer %s: %w", id, err)
			}
			if !ok {
				return nil
			}
			for _, t := range txs {
				if err := rfm.AddIndexed(t, len(sums)); err != nil {
					return fmt.Errorf("customer %s: %w", id, err)
				}
			}
			sums = append(sums, sm)
			custs = append(custs, c)
			return nil
		}
		if err := rs.report(ctx, PhaseReading, 0, total, true); err != nil {
			return err
		}
		err = tx.StreamAnalyticsOrders(ctx, func(o *store.AnalyticsOrder) error {
			if o.ContactID != cur {
				if err := flush(); err != nil {
					return err
				}
				cur, seen = o.ContactID, seen[:0]
			}
			read++
			if read%20000 == 0 {
				if err := rs.report(ctx, PhaseReading, read, total, false); err != nil {
					return err
				}
			}
			if o.Currency != rs.currency {
				oc := other[o.Currency]
				if oc == nil {
					oc = &store.AnalyticsCurrency{Currency: o.Currency}
					other[o.Currency] = oc
				}
				oc.Orders++
				if !slices.Contains(seen, oc) {
					seen = append(seen, oc)
				}
				return nil
			}
			buf = append(buf, *o)
			rs.run.Orders++
			return nil
		})
		if err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		rs.run.Orders -= rs.skipped.OrdersAfterEnd
		for _, oc := range other {
			rs.skipped.OtherCurrencies = append(rs.skipped.OtherCurrencies, *oc)
		}
		slices.SortFunc(rs.skipped.OtherCurrencies, func(a, b store.AnalyticsCurrency) int {
			if a.Orders != b.Orders {
				return cmp.Compare(b.Orders, a.Orders)
			}
			return strings.Compare(a.Currency, b.Currency)
		})
		return rs.report(ctx, PhaseReading, read, total, true)
	})
	return sums, custs, rfm, err
}

// fit fits the purchase model and, when that worked, the spend model,
// recording their statuses on the run. model is nil when the purchase
// model is not to be used, gg nil when the spend model is not.
func (rs *runState) fit(sums []analytics.Summary) (model *analytics.BGNBD, gg *analytics.GammaGamma) {
	run, st := rs.run, rs.st
	run.SpendStatus = StatusSkipped
	if len(sums) < st.MinCustomers || int(run.Repeat) < st.MinRepeat {
		run.ModelStatus = StatusTooFew
		return nil, nil
	}
	fit, err := analytics.FitBGNBD(sums)
	if err != nil {
		run.ModelStatus = StatusFailed
		rs.note("BG/NBD: " + crm.ErrorMessage(err))
		return nil, nil
	}
	run.BGNBD = jsonIfFinite(fit)
	run.LogLikelihood = nil
	if finite(fit.LogLikelihood) {
		run.LogLikelihood = ptr(fit.LogLikelihood)
	}
	if !fit.Fit.Converged || run.BGNBD == "" {
		run.ModelStatus = StatusNotConverged
		return nil, nil
	}
	run.ModelStatus = StatusOK
	model = &fit.BGNBD

	positive := 0
	for _, sm := range sums {
		if sm.Frequency > 0 && sm.MonetaryValue > 0 {
			positive++
		}
	}
	if positive < st.MinRepeat {
		run.SpendStatus = StatusTooFew
		return model, nil
	}
	ggFit, err := analytics.FitGammaGamma(sums)
	if err != nil {
		run.SpendStatus = StatusFailed
		rs.note("Gamma-Gamma: " + crm.ErrorMessage(err))
		return model, nil
	}
	rs.skipped.ZeroValueRepeat = ggFit.Skipped
	mean := ggFit.PopulationMean()
	out := GGFit{GammaGammaFit: ggFit}
	if finite(mean) {
		out.PopulationMean = mean
	}
	run.GammaGamma = jsonIfFinite(out)
	switch {
	case !ggFit.Fit.Converged || run.GammaGamma == "":
		run.SpendStatus = StatusNotConverged
		return model, nil
	case !finite(mean) || mean <= 0:
		run.SpendStatus = StatusInfiniteMean
		return model, nil
	}
	run.SpendStatus = StatusOK
	return model, &ggFit.GammaGamma
}

func (rs *runState) note(s string) {
	if rs.run.Message != "" {
		rs.run.Message += " "
	}
	rs.run.Message += s
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// jsonIfFinite marshals v, or returns "" when it holds a NaN or an
// infinity (which JSON cannot hold: the fit failed somewhere).
func jsonIfFinite(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// minor converts an amount in currency units to minor units.
func (rs *runState) minor(v float64) *int64 {
	if !finite(v) {
		return nil
	}
	return ptr(int64(math.Round(v * rs.scale)))
}

// write stores the rows of customer_scores in batches, each with the
// customers' segments of the run in use before. The RFM scores come from
// rfm.EachScore, in customer id order: the order of sums.
func (rs *runState) write(ctx context.Context, sums []analytics.Summary, custs []customer, rfm *analytics.RFM, scores []analytics.Score) error {
	n := int64(len(sums))
	if err := rs.report(ctx, PhaseWriting, 0, n, true); err != nil {
		return err
	}
	if err := rs.s.db.Write(ctx, func(tx *store.Tx) error { return tx.CreateScoreTable(ctx, rs.run.ID) }); err != nil {
		return err
	}
	size := rs.s.opts.WriteBatch
	batch := make([]store.CustomerScore, 0, size)
	fitted, spend := rs.run.ModelStatus == StatusOK, rs.run.SpendStatus == StatusOK
	agg := newAggregator()
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := rs.s.db.Write(ctx, func(tx *store.Tx) error {
			if rs.hasPrev {
				prev, err := tx.ScoreSegments(ctx, rs.prevRun, batch[0].ContactID, batch[len(batch)-1].ContactID)
				if err != nil {
					return err
				}
				for i := range batch {
					batch[i].PrevSegment = prev[batch[i].ContactID]
				}
			}
			for i := range batch {
				agg.add(&batch[i])
			}
			return tx.InsertCustomerScores(ctx, batch)
		})
		if err != nil {
			return err
		}
		batch = batch[:0]
		return nil
	}
	i := 0
	err := rfm.EachScore(func(r analytics.RFMScore) error {
		if i >= len(sums) || r.Customer != sums[i].Customer {
			return fmt.Errorf("writing: RFM customer %s beside summary %d of %d", r.Customer, i, len(sums))
		}
		sm, c := &sums[i], &custs[i]
		row := store.CustomerScore{RunID: rs.run.ID, ContactID: c.contact, Currency: rs.currency, Orders: int64(c.orders),
			TotalSpent: c.spent, FirstOrderAt: time.Unix(c.first, 0).UTC(), LastOrderAt: time.Unix(c.last, 0).UTC(),
			Frequency: sm.Frequency, Recency: sm.Recency, Age: sm.T, RecencyDays: r.Recency,
			R: r.R, F: r.F, M: r.M, Cell: r.Cell, Segment: r.Segment}
		if mv := rs.minor(sm.MonetaryValue); mv != nil {
			row.MonetaryValue = *mv
		}
		if fitted {
			sc := &scores[i]
			row.PAlive, row.ChurnRisk, row.ChurnBand = ptr(sc.PAlive), ptr(sc.ChurnRisk), sc.RiskBand.String()
			row.ExpectedPurchases = ptr(sc.ExpectedPurchases)
			if spend {
				row.ExpectedValue, row.CLV = rs.minor(sc.ExpectedValue), rs.minor(sc.CLV)
			}
		}
		batch = append(batch, row)
		i++
		if len(batch) == size {
			if err := flush(); err != nil {
				return err
			}
			return rs.report(ctx, PhaseWriting, int64(i), n, false)
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil && i != len(sums) {
		err = fmt.Errorf("writing: %d RFM scores for %d summaries", i, len(sums))
	}
	if err != nil {
		return err
	}
	b, err := json.Marshal(agg.result())
	if err != nil {
		return err
	}
	rs.run.Aggregates = string(b)
	if err := rs.report(ctx, PhaseIndexing, 0, 1, true); err != nil {
		return err
	}
	if err := rs.s.db.Write(ctx, func(tx *store.Tx) error { return tx.IndexScoreTable(ctx, rs.run.ID) }); err != nil {
		return err
	}
	return rs.report(ctx, PhaseIndexing, 1, 1, true)
}

// aggregator counts a run's figures as its rows are written
// (store.RunAggregates).
type aggregator struct {
	segs   map[string]*store.SegmentSize
	moves  map[[2]string]int64
	cells  [5][5]int64
	bands  map[string]*store.BandCount
	clvs   []int64
	hasCLV bool
}

func newAggregator() *aggregator {
	return &aggregator{segs: map[string]*store.SegmentSize{}, moves: map[[2]string]int64{}, bands: map[string]*store.BandCount{}}
}

func (a *aggregator) add(r *store.CustomerScore) {
	sg := a.segs[r.Segment]
	if sg == nil {
		sg = &store.SegmentSize{Segment: r.Segment}
		a.segs[r.Segment] = sg
	}
	sg.Customers++
	sg.Spent += r.TotalSpent
	a.moves[[2]string{r.PrevSegment, r.Segment}]++
	if fm := analytics.FMScore(r.F, r.M); r.R >= 1 && r.R <= 5 && fm >= 1 && fm <= 5 {
		a.cells[r.R-1][fm-1]++
	}
	b := a.bands[r.ChurnBand]
	if b == nil {
		b = &store.BandCount{Band: r.ChurnBand}
		a.bands[r.ChurnBand] = b
	}
	b.Customers++
	b.Spent += r.TotalSpent
	if r.CLV != nil {
		a.clvs = append(a.clvs, *r.CLV)
	}
}

func (a *aggregator) result() store.RunAggregates {
	out := store.RunAggregates{Segments: []store.SegmentSize{}, Moves: []store.SegmentMove{}, Cells: []store.CellCount{},
		Bands: []store.BandCount{}, CLV: []store.CLVBucket{}}
	for _, sg := range a.segs {
		out.Segments = append(out.Segments, *sg)
	}
	slices.SortFunc(out.Segments, func(x, y store.SegmentSize) int { return strings.Compare(x.Segment, y.Segment) })
	for k, n := range a.moves {
		out.Moves = append(out.Moves, store.SegmentMove{From: k[0], To: k[1], Customers: n})
	}
	slices.SortFunc(out.Moves, func(x, y store.SegmentMove) int {
		return cmp.Or(strings.Compare(x.From, y.From), strings.Compare(x.To, y.To))
	})
	for r := range 5 {
		for fm := range 5 {
			if n := a.cells[r][fm]; n > 0 {
				out.Cells = append(out.Cells, store.CellCount{R: r + 1, FM: fm + 1, Customers: n})
			}
		}
	}
	for _, b := range a.bands {
		out.Bands = append(out.Bands, *b)
	}
	slices.SortFunc(out.Bands, func(x, y store.BandCount) int { return strings.Compare(x.Band, y.Band) })
	if len(a.clvs) > 0 {
		lo, hi := slices.Min(a.clvs), slices.Max(a.clvs)
		out.CLVMin, out.CLVMax = &lo, &hi
		edges := store.RoundEdges(hi, CLVBars)
		for i, e := range edges {
			b := store.CLVBucket{From: e}
			if i+1 < len(edges) {
				b.To = edges[i+1]
			}
			out.CLV = append(out.CLV, b)
		}
		for _, v := range a.clvs {
			if v < 0 {
				continue
			}
			i, _ := slices.BinarySearch(edges, v+1)
			out.CLV[i-1].Customers++
		}
	}
	return out
}

// CLVBars is the number of bars of the CLV distribution a run counts
// (CLVDistribution with this many bars reads them, any other count
// queries the run's table).
const CLVBars = 20

// baskets mines the order lines: every order not fully returned is a
// basket of the items (SKU, else name) of its lines not fully returned.
func (rs *runState) baskets(ctx context.Context) error {
	run := rs.run
	total := run.Orders
	if err := rs.report(ctx, PhaseBaskets, 0, total, true); err != nil {
		return err
	}
	b := analytics.NewBaskets()
	type itemInfo struct{ sku, name string }
	info := map[string]itemInfo{}
	var (
		cur   int64
		items []string
		n     int64
	)
	err := rs.s.db.Read(ctx, func(tx *store.Tx) error {
		err := tx.StreamBasketLines(ctx, func(l *store.BasketLine) error {
			if l.OrderID != cur {
				if len(items) > 0 {
					b.Add(items...)
					n++
					if n%20000 == 0 {
						if err := rs.report(ctx, PhaseBaskets, n, total, false); err != nil {
							return err
						}
					}
				}
				cur, items = l.OrderID, items[:0]
			}
			k := store.ItemKey(l.SKU, l.Name)
			if k == "" {
				return nil
			}
			if _, ok := info[k]; !ok || l.Name != "" {
				info[k] = itemInfo{strings.TrimSpace(l.SKU), strings.TrimSpace(l.Name)}
			}
			items = append(items, k)
			return nil
		})
		if err == nil && len(items) > 0 {
			b.Add(items...)
		}
		return err
	})
	if err != nil {
		return err
	}
	run.Baskets = int64(b.Len())
	if b.Len() < minBaskets {
		run.BasketStatus = StatusTooFew
		return nil
	}
	sup, err := analytics.FractionOf(rs.st.BasketMinSupport)
	if err != nil {
		return err
	}
	conf, err := analytics.FractionOf(rs.st.BasketMinConfidence)
	if err != nil {
		return err
	}
	sets, err := b.FrequentItemsets(analytics.MineOptions{MinSupport: sup, MaxItemsets: maxItemsets})
	if err != nil {
		run.BasketStatus = StatusTooMany
		rs.note("Baskets: " + crm.ErrorMessage(err))
		return nil
	}
	run.Itemsets = int64(sets.Len())
	rules := sets.Rules(analytics.RuleOptions{MinConfidence: conf})
	run.Rules = int64(len(rules))
	if len(rules) > maxRules {
		rs.note(fmt.Sprintf("Baskets: %d rules found; the best %d by lift are kept.", len(rules), maxRules))
		rules = rules[:maxRules]
	}
	var (
		itemRows []store.AnalyticsItem
		pairs    []store.AnalyticsPair
	)
	for id, name := range sets.Names {
		inf := info[name]
		itemRows = append(itemRows, store.AnalyticsItem{Item: name, SKU: inf.sku, Name: inf.name, Baskets: int64(sets.ItemCount[id])})
		if sets.ItemCount[id] < sets.MinCount {
			continue
		}
		for k, t := range sets.BoughtTogether(name, pairsPerItem, false) {
			pairs = append(pairs, store.AnalyticsPair{Item: name, Other: t.Item, Rank: k + 1, Count: int64(t.Count),
				Confidence: t.Confidence, Lift: t.Lift})
		}
	}
	ruleRows := make([]store.AnalyticsRule, len(rules))
	for i, r := range rules {
		ruleRows[i] = store.AnalyticsRule{Rank: i + 1, LHS: r.Antecedent, RHS: r.Consequent[0], Count: int64(r.Count),
			Support: r.Support, Confidence: r.Confidence, Lift: r.Lift}
	}
	// Written in a few transactions of bounded size.
	const per = 5000
	writeChunks := func(n int, fn func(tx *store.Tx, lo, hi int) error) error {
		for lo := 0; lo < n; lo += per {
			hi := min(lo+per, n)
			if err := rs.s.db.Write(ctx, func(tx *store.Tx) error { return fn(tx, lo, hi) }); err != nil {
				return err
			}
		}
		return nil
	}
	if err := writeChunks(len(itemRows), func(tx *store.Tx, lo, hi int) error {
		return tx.InsertAnalyticsItems(ctx, run.ID, itemRows[lo:hi])
	}); err != nil {
		return err
	}
	if err := writeChunks(len(pairs), func(tx *store.Tx, lo, hi int) error {
		return tx.InsertAnalyticsPairs(ctx, run.ID, pairs[lo:hi])
	}); err != nil {
		return err
	}
	if err := writeChunks(len(ruleRows), func(tx *store.Tx, lo, hi int) error {
		return tx.InsertAnalyticsRules(ctx, run.ID, ruleRows[lo:hi])
	}); err != nil {
		return err
	}
	run.BasketStatus = StatusOK
	return rs.report(ctx, PhaseBaskets, run.Baskets, run.Baskets, true)
}

// finish records the run's outcome and makes it current, in one
// transaction: until then readers use the previous run's rows.
func (rs *runState) finish(ctx context.Context) error {
	run := rs.run
	if err := rs.report(ctx, PhaseSwitching, 0, 1, false); err != nil {
		return err
	}
	sk, err := json.Marshal(rs.skipped)
	if err != nil {
		return err
	}
	tm, err := json.Marshal(rs.timings)
	if err != nil {
		return err
	}
	run.Skipped, run.Timings = string(sk), string(tm)
	run.Status, run.Phase, run.Done, run.Total = store.RunDone, "", 0, 0
	run.FinishedAt = ptr(rs.s.db.Now().UTC())
	if run.Message == "Restarted after an interruption." && run.ModelStatus == StatusOK {
		run.Message = ""
	}
	err = rs.s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SaveAnalyticsRun(ctx, run); err != nil {
			return err
		}
		return tx.SetCurrentAnalyticsRun(ctx, run.ID)
	})
	if err != nil {
		return err
	}
	if rs.progress != nil {
		rs.progress(Progress{Phase: "done"})
	}
	return nil
}

// Run returns a run. Needs reports:read.
func (s *Service) Run(ctx context.Context, id int64) (*Run, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, err
	}
	var out *Run
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.FindAnalyticsRun(ctx, id)
		if err != nil {
			return err
		}
		cur, _, err := tx.CurrentAnalyticsRunID(ctx)
		out = toRun(r, cur)
		return err
	})
	return out, err
}

// Runs lists runs newest first, a page of limit before the cursor after
// (a run id); next is the cursor of the next page, "" on the last.
func (s *Service) Runs(ctx context.Context, limit int, after string) ([]*Run, string, error) {
	if err := crm.Authorize(ctx, crm.PermReportsRead, false); err != nil {
		return nil, "", err
	}
	before, err := crm.DecodeIDCursor(after)
	if err != nil {
		return nil, "", err
	}
	limit = crm.ClampLimit(limit)
	out := []*Run{}
	next := ""
	err = s.db.Read(ctx, func(tx *store.Tx) error {
		runs, more, err := tx.AnalyticsRuns(ctx, limit, before)
		if err != nil {
			return err
		}
		cur, _, err := tx.CurrentAnalyticsRunID(ctx)
		for _, r := range runs {
			out = append(out, toRun(r, cur))
		}
		if more && len(runs) > 0 {
			next = crm.EncodeIDCursor(runs[len(runs)-1].ID)
		}
		return err
	})
	return out, next, err
}
