package event_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// inTx reports whether in-transaction delivery applies on db's engine
// (SQLite; PostgreSQL delivers through the dispatcher only).
func inTx(db *store.DB) bool { return db.Dialect().IDsCommitInOrder() }

// writeAndEmit writes a row of its own (the change) and emits typ in one
// transaction, and returns the event's id.
func writeAndEmit(t *testing.T, db *store.DB, typ string) int64 {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.Write(ctx, func(tx *store.Tx) error {
		if err := markSeen(ctx, tx, "change", crm.Event{ID: 0}); err != nil {
			return err
		}
		ev := crm.Event{Type: typ, SubjectType: "test", SubjectID: 1}
		if err := tx.Emit(ctx, &ev); err != nil {
			return err
		}
		id = ev.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestInTransaction_HandledInTheEmittingTransaction: once the subscriber
// has caught up, events it handles are handled in the transactions that
// emit them (SQLite), in id order with the ones the dispatcher delivers,
// each exactly once; the cursor keeps up with the events it skips.
func TestInTransaction_HandledInTheEmittingTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		var r recorder
		d.Subscribe("points", []string{"order.*"}, r.handler("points"), event.InTransaction())
		// Before the subscriber's cursor exists, the dispatcher delivers.
		ids := emit(t, db, "order.created", "contact.created")
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(); !slices.Equal(got, ids[:1]) {
			t.Fatalf("delivered %v, want %v", got, ids[:1])
		}

		more := emit(t, db, "order.created", "note.added", "order.returned")
		more = append(more, emit(t, db, "contact.updated")...)
		want := []int64{ids[0], more[0], more[2]}
		if inTx(db) {
			// Handled before any dispatcher ran, cursor at the newest event.
			if got := r.get(); !slices.Equal(got, want) {
				t.Errorf("handled %v, want %v", got, want)
			}
			if c := cursor(t, db, "points"); c != more[3] {
				t.Errorf("cursor = %d, want %d", c, more[3])
			}
		} else if got := r.get(); len(got) != 1 {
			t.Errorf("PostgreSQL handled %v before the dispatcher ran", got)
		}
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if got := r.get(); !slices.Equal(got, want) {
			t.Errorf("handled %v, want %v", got, want)
		}
		checkOnce(t, db, "points", want)
		st := d.Stats()["points"]
		if inTx(db) && st.InTransaction != 2 {
			t.Errorf("stats %+v, want 2 in transaction", st)
		}
	})
}

// TestInTransaction_FailureLeavesItToTheDispatcher: a handler that fails
// in the emitting transaction does not fail it: the change commits, the
// handler's work is rolled back, and the dispatcher handles the event
// later, once; events after it wait for it (in order), then in-transaction
// delivery resumes.
func TestInTransaction_FailureLeavesItToTheDispatcher(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		var r recorder
		var fail atomic.Bool
		d.Subscribe("points", []string{"order.created"}, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			r.add(ev.ID)
			if err := markSeen(ctx, tx, "points", ev); err != nil {
				return err
			}
			if fail.Load() {
				return errors.New("points: no program")
			}
			return nil
		}, event.InTransaction())
		if err := d.Drain(ctx); err != nil { // the cursor exists
			t.Fatal(err)
		}
		fail.Store(true)
		a := writeAndEmit(t, db, "order.created")
		fail.Store(false)
		b := writeAndEmit(t, db, "order.created") // behind a: the dispatcher's
		if got := seenCounts(t, db, "change"); got[0] != 2 {
			t.Fatalf("changes committed: %v, want 2", got)
		}
		if got := seenCounts(t, db, "points"); len(got) != 0 {
			t.Errorf("handled before the dispatcher: %v (a failed, b comes after it)", got)
		}
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		checkOnce(t, db, "points", []int64{a, b})
		c := writeAndEmit(t, db, "order.created")
		if inTx(db) {
			checkOnce(t, db, "points", []int64{a, b, c})
		}
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		checkOnce(t, db, "points", []int64{a, b, c})
		calls := r.get()
		want := []int64{b, c} // the delivered calls after a's failed one, in order
		if inTx(db) {
			if !slices.Equal(calls[len(calls)-3:], []int64{a, b, c}) || calls[0] != a {
				t.Errorf("calls %v: want a's failed call, then a, b, c in order", calls)
			}
		} else if !slices.Equal(calls[len(calls)-2:], want) {
			t.Errorf("calls %v, want … %v", calls, want)
		}
	})
}

// TestInTransaction_RolledBackChange: a change that rolls back takes the
// handler's work and the cursor's move with it.
func TestInTransaction_RolledBackChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		var r recorder
		d.Subscribe("points", []string{"order.created"}, r.handler("points"), event.InTransaction())
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		before := cursor(t, db, "points")
		boom := errors.New("boom")
		err := db.Write(ctx, func(tx *store.Tx) error {
			if err := tx.Emit(ctx, &crm.Event{Type: "order.created", SubjectType: "test"}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if c := cursor(t, db, "points"); c != before {
			t.Errorf("cursor moved to %d by a rolled-back transaction", c)
		}
		id := writeAndEmit(t, db, "order.created")
		d.GapWait = time.Millisecond // PostgreSQL: the rolled-back id is a gap
		for range 2 {
			if err := d.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		checkOnce(t, db, "points", []int64{id})
	})
}

// TestInTransaction_CrashAndOtherProcesses: a process that handled events
// in their transactions dies; a new one never handles them again. Events
// written by a process without the subscriber (a command) are delivered
// by the dispatcher, in order with the ones after them.
func TestInTransaction_CrashAndOtherProcesses(t *testing.T) {
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect.String(), func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, dialect)
			first := openURL(t, url)
			createSeen(t, first)
			d1 := event.NewDispatcher(first, quiet)
			var r1 recorder
			d1.Subscribe("points", []string{"order.created"}, r1.handler("points"), event.InTransaction())
			if err := d1.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			ids := emit(t, first, "order.created", "contact.created", "order.created")
			first.Close() // dies before its dispatcher ran again

			// A command without the subscriber writes an order.
			cmd := openURL(t, url)
			ids = append(ids, emit(t, cmd, "order.created")...)
			cmd.Close()

			db := openURL(t, url)
			d := event.NewDispatcher(db, quiet)
			var r recorder
			d.Subscribe("points", []string{"order.created"}, r.handler("points"), event.InTransaction())
			// Behind the command's order: the dispatcher's.
			ids = append(ids, emit(t, db, "order.created")...)
			if err := d.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			want := []int64{ids[0], ids[2], ids[3], ids[4]}
			checkOnce(t, db, "points", want)
			got := append(r1.get(), r.get()...)
			if !slices.Equal(got, want) {
				t.Errorf("handled %v, want %v in this order", got, want)
			}
			// Caught up: the next one is handled where it is emitted.
			last := emit(t, db, "order.created")
			if inTx(db) {
				checkOnce(t, db, "points", append(want, last...))
			}
			if err := d.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			checkOnce(t, db, "points", append(want, last...))
		})
	}
}

// TestInTransaction_NestedEvents: events the handler emits are not its
// own to handle in the transaction; the cursor passes them, or stops at
// one of a type the subscriber handles, which the dispatcher delivers.
func TestInTransaction_NestedEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		createSeen(t, db)
		d := event.NewDispatcher(db, quiet)
		var r recorder
		d.Subscribe("chain", []string{"a.*"}, func(ctx context.Context, tx *store.Tx, ev crm.Event) error {
			r.add(ev.ID)
			if err := markSeen(ctx, tx, "chain", ev); err != nil {
				return err
			}
			next := map[string]string{"a.start": "b.note", "a.loop": "a.next"}[ev.Type]
			if next == "" {
				return nil
			}
			return tx.Emit(ctx, &crm.Event{Type: next, SubjectType: "test"})
		}, event.InTransaction())
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		start := emit(t, db, "a.start")[0]
		if inTx(db) {
			if c := cursor(t, db, "chain"); c != start+1 { // past b.note
				t.Errorf("cursor %d, want %d (past the handler's b.note)", c, start+1)
			}
		}
		loop := emit(t, db, "a.loop")[0]
		if inTx(db) {
			if c := cursor(t, db, "chain"); c != loop { // before a.next
				t.Errorf("cursor %d, want %d (before the handler's a.next)", c, loop)
			}
		}
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		want := []int64{start, loop, loop + 1}
		if !inTx(db) { // the dispatcher ran a.start's handler after a.loop was written
			want = []int64{start, loop, loop + 2}
		}
		checkOnce(t, db, "chain", want)
		if got := r.get(); !slices.Equal(got, want) {
			t.Errorf("handled %v, want %v", got, want)
		}
	})
}
