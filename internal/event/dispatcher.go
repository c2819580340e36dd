// Package event delivers the events of the transactional outbox (the events
// table, written by store.Tx.Emit in the same transaction as the change) to
// subscribers: the timeline, automation, webhooks, search indexing.
//
// Guarantees:
//
//   - Nothing is delivered for a rolled-back change: events are read only
//     after they commit.
//   - Each subscriber sees events in id order, one subscriber's failure
//     holding up only that subscriber.
//   - A handler runs inside a write transaction that also moves the
//     subscriber's cursor (event_cursors), so its database effects happen
//     exactly once, whatever crashes. A handler may be called more than
//     once for an event (after a failure, a crash, or when a later event of
//     its batch fails), but only one call's transaction commits. External
//     effects (email, HTTP) must therefore not be done in a handler:
//     enqueue a job with jobs.Enqueue on the handler's tx, and signal
//     in-memory listeners with tx.AfterCommit.
//   - Progress is durable: a new process resumes each subscriber at its
//     cursor, so events written before a crash, or by another process (a
//     CLI command), are delivered.
//
// See docs/decisions/0003-events-and-jobs.md.
package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Handler handles one event inside tx, the transaction that also advances
// the subscriber's cursor. It must do all its work through tx (never
// db.Write: on SQLite that waits for the one writer connection tx holds,
// forever) and return an error to have the event retried.
type Handler func(ctx context.Context, tx *store.Tx, ev crm.Event) error

// Defaults for the Dispatcher's tunables.
const (
	DefaultPollInterval = time.Second
	DefaultGapWait      = 5 * time.Second
	DefaultBatchSize    = 100
	DefaultRetryBase    = time.Second
	DefaultRetryMax     = 5 * time.Minute
)

// Dispatcher reads committed events and hands them to subscribers. Set the
// exported fields before Subscribe and Run.
type Dispatcher struct {
	// PollInterval is how often an idle subscriber looks for new events.
	// Commits in this process wake subscribers at once (db.OnEvents); the
	// poll finds events committed by other processes.
	PollInterval time.Duration

	// GapWait is how long, on PostgreSQL, a subscriber waits for a missing
	// event id before it treats the id as rolled back and moves past it.
	// It must be longer than any transaction that emits events. See gap.
	GapWait time.Duration

	// BatchSize is the number of events read at once and delivered in one
	// transaction.
	BatchSize int

	// RetryBase and RetryMax shape the wait after a handler fails:
	// RetryBase·2^(failures-1), ±20% jitter, at most RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration

	db     *store.DB
	logger *slog.Logger

	mu      sync.Mutex
	subs    []*subscriber
	running bool
}

// NewDispatcher returns a dispatcher on db. It registers a commit hook with
// db.OnEvents so that subscribers wake as soon as events commit.
func NewDispatcher(db *store.DB, logger *slog.Logger) *Dispatcher {
	if logger == nil {
		logger = slog.Default()
	}
	d := &Dispatcher{
		PollInterval: DefaultPollInterval,
		GapWait:      DefaultGapWait,
		BatchSize:    DefaultBatchSize,
		RetryBase:    DefaultRetryBase,
		RetryMax:     DefaultRetryMax,
		db:           db,
		logger:       logger,
	}
	db.OnEvents(d.wakeAll)
	return d
}

// SubscribeOption changes how a subscriber starts.
type SubscribeOption func(*subscriber)

// SubscribeFromNow starts a subscriber that has no cursor yet at the newest
// event instead of the first: it sees only events committed after its
// first run. Without it a new subscriber starts from the beginning of the
// events table and works through the whole history (what a timeline or a
// search index wants, not what webhooks want). It has no effect once the
// cursor exists. On PostgreSQL an event still in flight with a lower id
// than the newest at that moment is not delivered.
func SubscribeFromNow() SubscribeOption {
	return func(s *subscriber) { s.fromNow = true }
}

// Prepare gives a subscriber a function that the dispatcher runs on each
// event the subscriber handles before the transaction its handler runs
// in, typically to decode the payload into ev.Decoded. On SQLite the
// handlers' transactions queue behind the one writer, so work that needs
// no transaction is better done here, beside it. The handler must still
// cope with ev.Decoded being nil (a panic in fn leaves it so).
func Prepare(fn func(ev *crm.Event)) SubscribeOption {
	return func(s *subscriber) { s.prepare = fn }
}

// Subscribe registers fn for events whose type is in types; nil or empty
// means every type, and an entry ending in ".*" matches a prefix
// ("contact.*" matches "contact.created"). name is the durable cursor key:
// keep it stable across releases, and give each subscriber its own.
// Subscribe must be called before Run or Drain; a duplicate name panics.
func (d *Dispatcher) Subscribe(name string, types []string, fn Handler, opts ...SubscribeOption) {
	if name == "" || fn == nil {
		panic("event: Subscribe needs a name and a handler")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		panic("event: Subscribe after Run")
	}
	for _, s := range d.subs {
		if s.name == name {
			panic("event: subscriber " + name + " registered twice")
		}
	}
	s := &subscriber{name: name, fn: fn, wake: make(chan struct{}, 1)}
	for _, t := range types {
		switch {
		case t == "*":
			s.all = true
		case strings.HasSuffix(t, ".*"):
			s.prefixes = append(s.prefixes, strings.TrimSuffix(t, "*"))
		default:
			if s.exact == nil {
				s.exact = map[string]bool{}
			}
			s.exact[t] = true
		}
	}
	s.all = s.all || len(s.exact) == 0 && len(s.prefixes) == 0
	for _, o := range opts {
		o(s)
	}
	d.subs = append(d.subs, s)
}

type subscriber struct {
	name     string
	fn       Handler
	prepare  func(*crm.Event) // see Prepare; nil: none
	all      bool
	exact    map[string]bool
	prefixes []string
	fromNow  bool
	wake     chan struct{}

	mu       sync.Mutex // held while delivering (Run and Drain may overlap)
	ready    bool       // cursor loaded
	cursor   int64      // last event id handled (or skipped)
	saved    int64      // the cursor as stored in event_cursors (behind cursor after skips)
	failures int        // consecutive failed deliveries
	retryAt  time.Time  // wall clock: no delivery before this after a failure
	gapAt    int64      // the id after the gap being waited on
	gapSeen  time.Time  // db clock: when this dispatcher first saw that gap
	stats    SubscriberStats
}

// SubscriberStats counts a subscriber's deliveries since the dispatcher
// started: how many write transactions it committed and how many events
// its handler saw in them (Events / Deliveries is the mean batch).
type SubscriberStats struct {
	Deliveries int64 // committed delivery transactions
	Events     int64 // events handed to the handler in them
	MaxBatch   int   // most events handed over in one transaction
}

// Stats returns each subscriber's counters, by name.
func (d *Dispatcher) Stats() map[string]SubscriberStats {
	d.mu.Lock()
	subs := d.subs
	d.mu.Unlock()
	out := map[string]SubscriberStats{}
	for _, s := range subs {
		s.mu.Lock()
		out[s.name] = s.stats
		s.mu.Unlock()
	}
	return out
}

func (s *subscriber) matches(typ string) bool {
	if s.all || s.exact[typ] {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}

func (d *Dispatcher) wakeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.subs {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (d *Dispatcher) subscribers() []*subscriber {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.running = true
	return d.subs
}

// Run delivers events until ctx is done, one goroutine per subscriber, and
// returns nil then. It returns an error only when it cannot start (the
// cursors cannot be read); later database and handler errors are logged
// and retried.
func (d *Dispatcher) Run(ctx context.Context) error {
	subs := d.subscribers()
	if err := d.db.PrepareEvents(ctx); err != nil && ctx.Err() != nil {
		return nil
	}
	for _, s := range subs {
		if err := d.load(ctx, s); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() { d.loop(ctx, s) })
	}
	wg.Wait()
	return nil
}

// Drain delivers every event that can be delivered now to every
// subscriber, then returns. It ignores retry backoff and does not wait on
// a PostgreSQL id gap younger than GapWait (those events stay pending). It
// returns the handler and database errors met, one per failing subscriber;
// the other subscribers are drained regardless. For tests and CLI commands.
func (d *Dispatcher) Drain(ctx context.Context) error {
	var errs []error
	for _, s := range d.subscribers() {
		for {
			progress, _, err := d.step(ctx, s)
			if err != nil {
				errs = append(errs, err)
				break
			}
			if !progress {
				if err := d.saveIdle(ctx, s); err != nil {
					errs = append(errs, err)
				}
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) loop(ctx context.Context, s *subscriber) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// sleep waits for d, ctx or (when wake is not nil) a wake-up. Since Go
	// 1.23 Reset and Stop leave no stale tick in timer.C.
	sleep := func(d time.Duration, wake <-chan struct{}) (timedOut bool) {
		timer.Reset(d)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-timer.C:
			timedOut = true
		}
		timer.Stop()
		return timedOut
	}
	for ctx.Err() == nil {
		s.mu.Lock()
		backoff := time.Until(s.retryAt)
		s.mu.Unlock()
		if backoff > 0 {
			// A failing handler waits out its backoff; new events do not
			// cut it short.
			sleep(backoff, nil)
			continue
		}
		progress, hold, err := d.step(ctx, s)
		if err != nil || progress {
			continue // err: step set retryAt; progress: more may be pending
		}
		wait := d.pollInterval()
		if hold > 0 && hold < wait {
			wait = hold
		}
		if sleep(wait, s.wake) && ctx.Err() == nil {
			d.saveIdle(ctx, s) // a quiet poll interval: store skips (errors set retryAt)
		}
	}
}

// load reads the subscriber's cursor, creating it when missing.
func (d *Dispatcher) load(ctx context.Context, s *subscriber) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.loadLocked(ctx, s)
}

func (d *Dispatcher) loadLocked(ctx context.Context, s *subscriber) error {
	err := d.db.Write(ctx, func(tx *store.Tx) error {
		var start int64
		if s.fromNow {
			var err error
			if start, err = tx.MaxEventID(ctx); err != nil {
				return err
			}
		}
		c, err := tx.InitEventCursor(ctx, s.name, start)
		s.cursor, s.saved = c, c
		return err
	})
	if err != nil {
		return fmt.Errorf("event: load cursor of %s: %w", s.name, err)
	}
	s.ready = true
	return nil
}

// errCursorMoved means another dispatcher (another process) with the same
// subscriber name advanced the cursor first.
var errCursorMoved = errors.New("event: cursor moved by another dispatcher")

// step delivers one batch to s. progress reports that the cursor moved (so
// more may be pending); hold, when positive, is how long until a held
// PostgreSQL gap may be skipped. A non-nil err has been logged and the
// subscriber's retry time set.
func (d *Dispatcher) step(ctx context.Context, s *subscriber) (progress bool, hold time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready {
		if err := d.loadLocked(ctx, s); err != nil {
			return false, 0, d.failed(ctx, s, nil, err)
		}
	}
	evs, err := d.db.EventsAfter(ctx, s.cursor, d.batchSize())
	if err != nil {
		return false, 0, d.failed(ctx, s, nil, err)
	}
	evs, hold = d.gap(s, evs)
	if len(evs) == 0 {
		return false, hold, nil
	}
	if !s.anyMatch(evs) && evs[len(evs)-1].ID-s.saved < maxUnsaved {
		// Nothing here for this subscriber: move past the batch without a
		// write transaction (on SQLite every subscriber's empty commit
		// would queue behind the one writer). The position is stored when
		// the subscriber next handles an event, after maxUnsaved events,
		// or when it has been idle for a poll interval (saveIdle); after a
		// crash it reads the skipped events again and skips them again.
		s.cursor = evs[len(evs)-1].ID
		return true, hold, nil
	}

	s.prepareAll(evs)
	batch := evs
	var failed *crm.Event
	var herr error
	for len(batch) > 0 {
		at, n, err := d.deliver(ctx, s, batch)
		if err == nil {
			s.stats.Deliveries++
			s.stats.Events += int64(n)
			s.stats.MaxBatch = max(s.stats.MaxBatch, n)
			s.cursor = batch[len(batch)-1].ID
			s.saved = s.cursor
			progress = true
			break
		}
		if errors.Is(err, errCursorMoved) {
			// Someone else delivered; start again from their cursor.
			s.ready = false
			return true, 0, nil
		}
		if at < 0 { // not the handler: the database
			return progress, 0, d.failed(ctx, s, nil, err)
		}
		// Event at failed; the ones before it succeeded in the
		// rolled-back transaction: commit them on their own.
		failed, herr = &batch[at], err
		batch = batch[:at]
	}
	if herr != nil {
		return progress, 0, d.failed(ctx, s, failed, herr)
	}
	if s.failures > 0 {
		d.logger.Info("event: subscriber recovered", "subscriber", s.name, "failures", s.failures, "cursor", s.cursor)
		s.failures, s.retryAt = 0, time.Time{}
	}
	return progress, hold, nil
}

// prepareAll runs s's prepare function (if any) on the events it handles,
// outside any transaction.
func (s *subscriber) prepareAll(evs []crm.Event) {
	if s.prepare == nil {
		return
	}
	for i := range evs {
		if evs[i].Decoded == nil && s.matches(evs[i].Type) {
			s.prepareOne(&evs[i])
		}
	}
}

func (s *subscriber) prepareOne(ev *crm.Event) {
	defer func() {
		if recover() != nil {
			ev.Decoded = nil // the handler decodes it and reports what is wrong
		}
	}()
	s.prepare(ev)
}

// maxUnsaved bounds how far a subscriber skips events it does not handle
// before its cursor is written: what a crash makes it read again.
const maxUnsaved = 10_000

// anyMatch reports whether s handles any of evs.
func (s *subscriber) anyMatch(evs []crm.Event) bool {
	for _, ev := range evs {
		if s.matches(ev.Type) {
			return true
		}
	}
	return false
}

// saveIdle stores s's cursor when skips moved it past the stored one.
func (d *Dispatcher) saveIdle(ctx context.Context, s *subscriber) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready || s.cursor == s.saved {
		return nil
	}
	return d.save(ctx, s)
}

// save stores s's cursor after skips. Another dispatcher that moved the
// cursor meanwhile wins: s reloads it.
func (d *Dispatcher) save(ctx context.Context, s *subscriber) error {
	err := d.db.Write(ctx, func(tx *store.Tx) error {
		ok, err := tx.AdvanceEventCursor(ctx, s.name, s.saved, s.cursor)
		if err == nil && !ok {
			err = errCursorMoved
		}
		return err
	})
	switch {
	case err == nil:
		s.saved = s.cursor
		return nil
	case errors.Is(err, errCursorMoved):
		s.ready = false
		return nil
	}
	return d.failed(ctx, s, nil, err)
}

// gap applies the PostgreSQL gap rule to a batch read after s.cursor and
// returns the events that may be delivered now.
//
// PostgreSQL hands out identity values when a row is inserted, not when
// its transaction commits, so event N+1 can be visible while N is still in
// flight; delivering N+1 and moving the cursor past N would lose N for
// good. A missing id is either in flight or rolled back (or burned by a
// crash), and only time tells them apart. So when the next id is not
// cursor+1, the subscriber stops before it and waits until GapWait has
// passed since this dispatcher first saw the gap; if the id has not
// appeared by then it is taken as rolled back and skipped. The wait is
// measured from when the gap was seen, not from the event's created_at:
// created_at is the time its transaction began, which can be long before
// it committed. A transaction that emits an event and commits more than
// GapWait after a later id became visible can still be missed; keep
// event-emitting transactions short (imports commit in batches).
//
// SQLite has a single writer, so ids commit in order and a gap (a rolled
// back rowid that was reused, events deleted) is never filled later: no
// wait there.
func (d *Dispatcher) gap(s *subscriber, evs []crm.Event) ([]crm.Event, time.Duration) {
	if d.db.Dialect().IDsCommitInOrder() {
		return evs, 0
	}
	prev := s.cursor
	for i, ev := range evs {
		if ev.ID != prev+1 {
			now := d.db.Now()
			if s.gapAt != ev.ID {
				s.gapAt, s.gapSeen = ev.ID, now
			}
			if wait := s.gapSeen.Add(d.gapWait()).Sub(now); wait > 0 {
				return evs[:i], wait
			}
			d.logger.Debug("event: skipping ids never committed", "subscriber", s.name, "from", prev+1, "to", ev.ID-1)
		}
		prev = ev.ID
	}
	return evs, 0
}

// deliver runs the handler for the matching events of batch in one
// transaction that moves the cursor to the batch's last id; handled is
// how many it handed to the handler. When the handler fails, at is the
// index of the failing event; otherwise -1.
func (d *Dispatcher) deliver(ctx context.Context, s *subscriber, batch []crm.Event) (at, handled int, err error) {
	at = -1
	err = d.db.Write(ctx, func(tx *store.Tx) error {
		// Moving the cursor first takes the row lock on PostgreSQL, so a
		// second dispatcher with this subscriber waits here, then sees the
		// cursor moved instead of handling the same events.
		ok, err := tx.AdvanceEventCursor(ctx, s.name, s.saved, batch[len(batch)-1].ID)
		if err != nil {
			return err
		}
		if !ok {
			return errCursorMoved
		}
		for i, ev := range batch {
			if !s.matches(ev.Type) {
				continue
			}
			handled++
			if err := call(ctx, s.fn, tx, ev); err != nil {
				at = i
				return fmt.Errorf("event: %s: event %d (%s): %w", s.name, ev.ID, ev.Type, err)
			}
		}
		return nil
	})
	if err == nil {
		at = -1
	}
	return at, handled, err
}

// call runs the handler, turning a panic into an error.
func call(ctx context.Context, fn Handler, tx *store.Tx, ev crm.Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx, tx, ev)
}

// failed records a failed delivery: it counts it, sets the retry time and
// logs it. Errors caused by ctx ending are returned without either.
func (d *Dispatcher) failed(ctx context.Context, s *subscriber, ev *crm.Event, err error) error {
	if ctx.Err() != nil {
		return err
	}
	s.failures++
	wait := backoff(d.retryBase(), d.retryMax(), s.failures)
	s.retryAt = time.Now().Add(wait)
	attrs := []any{"subscriber", s.name, "failures", s.failures, "retry_in", wait.Round(time.Millisecond), "err", err}
	if ev != nil {
		attrs = append(attrs, "event_id", ev.ID, "event_type", ev.Type)
		d.logger.Error("event: handler failed", attrs...)
	} else {
		d.logger.Error("event: delivery failed", attrs...)
	}
	return err
}

func backoff(base, limit time.Duration, n int) time.Duration {
	b := base
	for i := 1; i < n && b < limit; i++ {
		b *= 2
	}
	b = min(b, limit)
	return min(time.Duration(float64(b)*(0.8+0.4*rand.Float64())), limit)
}

func (d *Dispatcher) pollInterval() time.Duration {
	if d.PollInterval <= 0 {
		return DefaultPollInterval
	}
	return d.PollInterval
}

func (d *Dispatcher) batchSize() int {
	if d.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return d.BatchSize
}

func (d *Dispatcher) gapWait() time.Duration {
	if d.GapWait <= 0 {
		return DefaultGapWait
	}
	return d.GapWait
}

func (d *Dispatcher) retryBase() time.Duration {
	if d.RetryBase <= 0 {
		return DefaultRetryBase
	}
	return d.RetryBase
}

func (d *Dispatcher) retryMax() time.Duration {
	if d.RetryMax <= 0 {
		return DefaultRetryMax
	}
	return max(d.RetryMax, d.retryBase())
}
