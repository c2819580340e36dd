package event_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a settable db.Now, safe to read from the dispatcher's goroutines.
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

// openURL opens (and migrates) the database at url, as a new process would.
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

// createSeen makes the table handlers write to, to check their database
// effects happen once.
func createSeen(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS seen (subscriber TEXT NOT NULL, event_id BIGINT NOT NULL)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func markSeen(ctx context.Context, tx *store.Tx, sub string, ev crm.Event) error {
	_, err := tx.Exec(ctx, `INSERT INTO seen (subscriber, event_id) VALUES (?, ?)`, sub, ev.ID)
	return err
}

// seenCounts returns, per event id, how many rows the subscriber wrote.
func seenCounts(t *testing.T, db *store.DB, sub string) map[int64]int {
	t.Helper()
	ctx := context.Background()
	out := map[int64]int{}
	err := db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT event_id, COUNT(*) FROM seen WHERE subscriber = ? GROUP BY event_id`, sub)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			out[id] = n
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOnce fails unless the subscriber's handler wrote exactly one row for
// each of ids and none for any other event.
func checkOnce(t *testing.T, db *store.DB, sub string, ids []int64) {
	t.Helper()
	got := seenCounts(t, db, sub)
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("%s: event %d handled %d times, want 1", sub, id, got[id])
		}
	}
	if len(got) != len(ids) {
		t.Errorf("%s: handled events %v, want exactly %v", sub, got, ids)
	}
}

func emit(t *testing.T, db *store.DB, types ...string) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		for _, typ := range types {
			ev := crm.Event{Type: typ, SubjectType: "test", SubjectID: 1}
			if err := tx.Emit(ctx, &ev); err != nil {
				return err
			}
			ids = append(ids, ev.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func cursor(t *testing.T, db *store.DB, sub string) int64 {
	t.Helper()
	ctx := context.Background()
	var c int64
	err := db.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.EventCursor(ctx, sub)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// recorder collects the ids a handler was called with. Calls in rolled-back
// transactions are recorded too, so it shows attempts, not effects.
type recorder struct {
	mu  sync.Mutex
	ids []int64
}

func (r *recorder) add(id int64) {
	r.mu.Lock()
	r.ids = append(r.ids, id)
	r.mu.Unlock()
}

func (r *recorder) get() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// handler records calls and writes a seen row for sub.
func (r *recorder) handler(sub string) event.Handler {
	return func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
		r.add(ev.ID)
		return markSeen(ctx, tx, sub, ev)
	}
}

func TestDispatcher_DeliversInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		var all, deals recorder
		d.Subscribe("all", nil, all.handler("all"))
		d.Subscribe("deals", []string{"deal.*", "contact.merged"}, deals.handler("deals"))

		ids := emit(t, db, "contact.created", "deal.created")
		ids = append(ids, emit(t, db, "deal.won", "contact.merged", "note.added")...)
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := all.get(); !slices.Equal(got, ids) {
			t.Errorf("all got %v, want %v", got, ids)
		}
		wantDeals := []int64{ids[1], ids[2], ids[3]}
		if got := deals.get(); !slices.Equal(got, wantDeals) {
			t.Errorf("deals got %v, want %v", got, wantDeals)
		}
		// The filtered subscriber's cursor passes the events it skipped.
		if c := cursor(t, db, "deals"); c != ids[4] {
			t.Errorf("deals cursor = %d, want %d", c, ids[4])
		}

		more := emit(t, db, "deal.lost")
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		checkOnce(t, db, "all", append(slices.Clone(ids), more...))
		checkOnce(t, db, "deals", append(wantDeals, more...))
	})
}

func TestDispatcher_SmallBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		d.BatchSize = 3
		var r recorder
		d.Subscribe("s", nil, r.handler("s"))
		var ids []int64
		for range 10 {
			ids = append(ids, emit(t, db, "a.b")...)
		}
		if err := d.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := r.get(); !slices.Equal(got, ids) {
			t.Errorf("got %v, want %v", got, ids)
		}
		checkOnce(t, db, "s", ids)
	})
}

func TestDispatcher_RolledBackEventNeverDelivered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := useClock(db)
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		var types []string
		var mu sync.Mutex
		d.Subscribe("s", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			mu.Lock()
			types = append(types, ev.Type)
			mu.Unlock()
			return nil
		})

		emit(t, db, "test.before")
		boom := errors.New("boom")
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.EmitJSON(ctx, "test.rolled_back", "test", 1, nil); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		emit(t, db, "test.after")

		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == store.Postgres {
			// The rolled-back transaction burned an id: the gap holds
			// test.after until GapWait has passed.
			if !slices.Equal(types, []string{"test.before"}) {
				t.Fatalf("before the gap wait: %v", types)
			}
			clk.Advance(d.GapWait + time.Second)
			if err := d.Drain(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if want := []string{"test.before", "test.after"}; !slices.Equal(types, want) {
			t.Fatalf("delivered %v, want %v", types, want)
		}
	})
}

func TestDispatcher_FailingHandlerIsRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createSeen(t, db)
		ids := emit(t, db, "a.one", "a.two", "a.three")

		d := event.NewDispatcher(db, quiet)
		failures := 2
		trouble := errors.New("temporary trouble")
		var calls recorder
		d.Subscribe("flaky", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			calls.add(ev.ID)
			// The write happens, then the failure rolls it back.
			if err := markSeen(ctx, tx, "flaky", ev); err != nil {
				return err
			}
			if ev.ID == ids[1] && failures > 0 {
				failures--
				return trouble
			}
			return nil
		})
		var other recorder
		d.Subscribe("other", nil, other.handler("other"))

		for i := range 2 {
			err := d.Drain(ctx)
			if !errors.Is(err, trouble) {
				t.Fatalf("drain %d: err = %v, want the handler's error", i, err)
			}
			if c := cursor(t, db, "flaky"); c != ids[0] {
				t.Fatalf("drain %d: cursor = %d, want %d (before the failing event)", i, c, ids[0])
			}
			checkOnce(t, db, "flaky", ids[:1])
			checkOnce(t, db, "other", ids) // other subscribers carry on
		}
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		checkOnce(t, db, "flaky", ids)
		if c := cursor(t, db, "flaky"); c != ids[2] {
			t.Fatalf("cursor = %d, want %d", c, ids[2])
		}
		// Drain 1: 1, 2 (fails; the batch rolls back), 1 alone (commits).
		// Drain 2: 2 (fails). Drain 3: 2, 3.
		want := []int64{ids[0], ids[1], ids[0], ids[1], ids[1], ids[2]}
		if got := calls.get(); !slices.Equal(got, want) {
			t.Errorf("calls %v, want %v", got, want)
		}
	})
}

func TestDispatcher_PanicIsAFailure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := emit(t, db, "a.b")
		d := event.NewDispatcher(db, quiet)
		panicked := false
		d.Subscribe("s", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			if !panicked {
				panicked = true
				panic("bug")
			}
			return nil
		})
		if err := d.Drain(ctx); err == nil {
			t.Fatal("Drain after a panic: nil error")
		}
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if c := cursor(t, db, "s"); c != ids[0] {
			t.Fatalf("cursor = %d, want %d", c, ids[0])
		}
	})
}

func TestDispatcher_Run(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		createSeen(t, db)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		d := event.NewDispatcher(db, quiet)
		d.PollInterval = time.Hour // only the commit hook can wake it
		d.RetryBase = 5 * time.Millisecond
		got := make(chan int64, 10)
		failed := false
		d.Subscribe("s", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			if !failed {
				failed = true
				return errors.New("first call fails")
			}
			if err := markSeen(ctx, tx, "s", ev); err != nil {
				return err
			}
			tx.AfterCommit(func() { got <- ev.ID })
			return nil
		})
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()

		ids := emit(t, db, "a.one", "a.two")
		for _, want := range ids {
			select {
			case id := <-got:
				if id != want {
					t.Fatalf("delivered %d, want %d", id, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("event %d not delivered", want)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkOnce(t, db, "s", ids)
	})
}

// TestDispatcher_PollsForOtherProcesses checks that events committed through
// another connection (a CLI command), which fire no commit hook here, are
// delivered by the poll.
func TestDispatcher_PollsForOtherProcesses(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect.String(), func(t *testing.T) {
			url := storetest.URL(t, dialect)
			server := openURL(t, url)
			cli := openURL(t, url)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d := event.NewDispatcher(server, quiet)
			d.PollInterval = 20 * time.Millisecond
			got := make(chan int64, 1)
			d.Subscribe("s", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
				tx.AfterCommit(func() { got <- ev.ID })
				return nil
			})
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			ids := emit(t, cli, "cli.imported")
			select {
			case id := <-got:
				if id != ids[0] {
					t.Fatalf("delivered %d, want %d", id, ids[0])
				}
			case <-time.After(5 * time.Second):
				t.Fatal("event from another process not delivered")
			}
			cancel()
			<-done
		})
	}
}

// TestDispatcher_CrashAfterCommit: events committed, then the process dies
// before any delivery; a new process delivers every event exactly once.
func TestDispatcher_CrashAfterCommit(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect.String(), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, dialect)
			first := openURL(t, url)
			createSeen(t, first)
			// The first process had registered the subscriber, but dies
			// before it delivered anything.
			event.NewDispatcher(first, quiet).Subscribe("timeline", nil, func(context.Context, *store.Tx, crm.Event) error {
				t.Error("the crashed dispatcher delivered")
				return nil
			})
			var ids []int64
			for i := range 4 {
				ids = append(ids, emit(t, first, fmt.Sprintf("t.e%d", i), "t.x")...)
			}
			first.Close()

			for range 2 { // two restarts; the second has nothing to do
				db := openURL(t, url)
				d := event.NewDispatcher(db, quiet)
				var r recorder
				d.Subscribe("timeline", nil, r.handler("timeline"))
				if err := d.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				checkOnce(t, db, "timeline", ids)
				db.Close()
			}
		})
	}
}

// TestDispatcher_CrashMidway: a process handled some events and died; a new
// one resumes after the last committed delivery and never repeats its
// effects.
func TestDispatcher_CrashMidway(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect.String(), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, dialect)

			// Process 1 delivers events 1-2, then 3-5 are written and it dies.
			db1 := openURL(t, url)
			createSeen(t, db1)
			early := emit(t, db1, "e.1", "e.2")
			d1 := event.NewDispatcher(db1, quiet)
			var r1 recorder
			d1.Subscribe("timeline", nil, r1.handler("timeline"))
			if err := d1.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			late := emit(t, db1, "e.3", "e.4", "e.5")
			db1.Close()

			// Process 2 resumes at event 3, and is killed while handling
			// event 5: its transaction never commits.
			db2 := openURL(t, url)
			d2 := event.NewDispatcher(db2, quiet)
			var r2 recorder
			kill, killed := context.WithCancel(ctx)
			d2.Subscribe("timeline", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
				r2.add(ev.ID)
				if err := markSeen(ctx, tx, "timeline", ev); err != nil {
					return err
				}
				if ev.ID == late[2] {
					killed()
					return ctx.Err()
				}
				return nil
			})
			if err := d2.Drain(kill); err == nil {
				t.Fatal("Drain of the killed process: nil error")
			}
			if got := r2.get(); len(got) == 0 || got[0] != late[0] {
				t.Fatalf("process 2 started at %v, want event %d", got, late[0])
			}
			db2.Close()

			// Process 3 finishes; every event's effect exists exactly once.
			db3 := openURL(t, url)
			d3 := event.NewDispatcher(db3, quiet)
			var r3 recorder
			d3.Subscribe("timeline", nil, r3.handler("timeline"))
			if err := d3.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			if got := r3.get(); len(got) == 0 || got[len(got)-1] != late[2] {
				t.Fatalf("process 3 handled %v, want to end at %d", got, late[2])
			}
			checkOnce(t, db3, "timeline", append(early, late...))
		})
	}
}

// TestDispatcher_TwoDispatchersOneSubscriber runs the same subscriber in two
// processes at once: the cursor's compare-and-set keeps each event's effect
// single.
func TestDispatcher_TwoDispatchersOneSubscriber(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect.String(), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, dialect)
			a, b := openURL(t, url), openURL(t, url)
			createSeen(t, a)
			var ids []int64
			for range 20 {
				ids = append(ids, emit(t, a, "x.a", "x.b", "x.c", "x.d", "x.e")...)
			}
			var wg sync.WaitGroup
			for _, db := range []*store.DB{a, b} {
				d := event.NewDispatcher(db, quiet)
				d.BatchSize = 7
				var r recorder
				d.Subscribe("shared", nil, r.handler("shared"))
				wg.Go(func() {
					if err := d.Drain(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			checkOnce(t, a, "shared", ids)
		})
	}
}

func TestDispatcher_SubscribeFromNow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		emit(t, db, "old.one", "old.two")
		d := event.NewDispatcher(db, quiet)
		var r recorder
		d.Subscribe("webhooks", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			r.add(ev.ID)
			return nil
		}, event.SubscribeFromNow())
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(); len(got) != 0 {
			t.Fatalf("delivered old events %v", got)
		}
		ids := emit(t, db, "new.one")
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(); !slices.Equal(got, ids) {
			t.Fatalf("got %v, want %v", got, ids)
		}
	})
}

// TestDispatcher_PostgresGap: an event whose id is higher than one still in
// flight waits for it, and both arrive in id order.
func TestDispatcher_PostgresGap(t *testing.T) {
	db := storetest.Open(t, store.Postgres) // skips without PostgreSQL
	ctx := context.Background()
	d := event.NewDispatcher(db, quiet)
	d.GapWait = time.Minute
	var r recorder
	d.Subscribe("s", nil, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
		r.add(ev.ID)
		return nil
	})
	before := emit(t, db, "gap.before")
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	took := make(chan int64)
	release := make(chan struct{})
	commit := sync.OnceFunc(func() { close(release) })
	defer commit() // on failure too: the open transaction would block Close
	committed := make(chan error, 1)
	go func() {
		committed <- db.Write(ctx, func(tx *store.Tx) error {
			ev := crm.Event{Type: "gap.slow", SubjectType: "test"}
			if err := tx.Emit(ctx, &ev); err != nil {
				close(took)
				return err
			}
			took <- ev.ID
			<-release
			return nil
		})
	}()
	slow, ok := <-took
	if !ok {
		t.Fatal(<-committed)
	}
	fast := emit(t, db, "gap.fast")[0]
	if fast != slow+1 {
		t.Fatalf("ids slow=%d fast=%d, want consecutive", slow, fast)
	}
	for range 2 {
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(); !slices.Equal(got, before) {
			t.Fatalf("delivered %v while %d is in flight, want only %v", got, slow, before)
		}
	}
	commit()
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := r.get(), append(before, slow, fast); !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

// TestDispatcher_SkipsWithoutWriting: a subscriber moves past events it
// does not handle without a write transaction of its own; its stored
// cursor catches up when it handles an event, when it falls idle for a
// poll interval (Run) or at the end of a Drain, and a new dispatcher
// that starts from a stored cursor behind the skips reads them again
// and handles nothing twice.
func TestDispatcher_SkipsWithoutWriting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		d.PollInterval = 50 * time.Millisecond
		var deals recorder
		d.Subscribe("deals", []string{"deal.*"}, deals.handler("deals"))
		if err := d.Drain(ctx); err != nil { // the cursor row exists
			t.Fatal(err)
		}
		start := cursor(t, db, "deals")

		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { d.Run(runCtx); close(done) }()
		defer func() { stop(); <-done }()

		ids := emit(t, db, "contact.created", "note.added")
		// Until a poll interval passes quietly, the stored cursor may stay
		// behind; then it reaches the last event skipped.
		deadline := time.Now().Add(10 * time.Second)
		for cursor(t, db, "deals") != ids[1] {
			if time.Now().After(deadline) {
				t.Fatalf("cursor %d (started at %d), want %d after a quiet poll interval", cursor(t, db, "deals"), start, ids[1])
			}
			time.Sleep(10 * time.Millisecond)
		}
		more := emit(t, db, "deal.won", "note.added")
		for cursor(t, db, "deals") != more[1] {
			if time.Now().After(deadline) {
				t.Fatalf("cursor %d, want %d", cursor(t, db, "deals"), more[1])
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := deals.get(); !slices.Equal(got, more[:1]) {
			t.Fatalf("deals handled %v, want %v", got, more[:1])
		}
		stop()
		<-done

		// A stored cursor behind skipped events (as after a crash): the
		// next dispatcher reads them again, handles nothing twice.
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE event_cursors SET last_id = ? WHERE subscriber = 'deals'`, more[0])
			return err
		}); err != nil {
			t.Fatal(err)
		}
		last := emit(t, db, "note.added", "note.added")
		d2 := event.NewDispatcher(db, quiet)
		var again recorder
		d2.Subscribe("deals", []string{"deal.*"}, again.handler("deals"))
		if err := d2.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := again.get(); len(got) != 0 {
			t.Fatalf("handled again: %v", got)
		}
		if c := cursor(t, db, "deals"); c != last[1] {
			t.Fatalf("after the drain the cursor is %d, want %d", c, last[1])
		}
		checkOnce(t, db, "deals", more[:1])
	})
}

func TestDispatcher_Prepare(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ids := emit(t, db, "deal.created", "note.added", "deal.won", "deal.lost")
		d := event.NewDispatcher(db, quiet)
		var prepared []int64
		var other []string
		d.Subscribe("s", []string{"deal.*"}, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			switch v := ev.Decoded.(type) {
			case string:
				if v != "prepared "+ev.Type {
					return fmt.Errorf("event %d decoded as %q", ev.ID, v)
				}
				prepared = append(prepared, ev.ID)
			case nil:
				if ev.Type != "deal.lost" {
					return fmt.Errorf("event %d (%s) not prepared", ev.ID, ev.Type)
				}
			default:
				return fmt.Errorf("event %d decoded as %T", ev.ID, v)
			}
			return nil
		}, event.Prepare(func(ev *crm.Event) {
			if !strings.HasPrefix(ev.Type, "deal.") {
				other = append(other, ev.Type) // an event the subscriber does not handle
			}
			if ev.Type == "deal.lost" {
				ev.Decoded = "half done"
				panic("a bug in prepare") // leaves Decoded nil; the handler still runs
			}
			ev.Decoded = "prepared " + ev.Type
		}))
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if want := []int64{ids[0], ids[2]}; !slices.Equal(prepared, want) {
			t.Errorf("prepared %v, want %v", prepared, want)
		}
		if other != nil {
			t.Errorf("prepare ran on %v, which the subscriber does not handle", other)
		}
		if c := cursor(t, db, "s"); c != ids[3] {
			t.Errorf("cursor = %d, want %d", c, ids[3])
		}
	})
}
