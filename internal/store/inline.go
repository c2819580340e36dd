package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/pivand/pivand/internal/crm"
)

// In-transaction delivery (SQLite): a subscriber of the event dispatcher
// may also have its handler run inside the transaction that emits an
// event it handles, right after the event's row is written, so its work
// commits with the change that caused it (one commit instead of two, and
// no read of the event back). The subscriber's durable cursor
// (event_cursors) is what keeps this exactly once and in event order:
//
//   - Every Emit moves each such subscriber's cursor from id−1 to id, in
//     the emitting transaction. The move succeeds only when the cursor is
//     at the event just before: the subscriber has handled or skipped
//     every earlier event. Only then is the handler run for an event it
//     handles, so events are handled in id order whichever path handles
//     them, as the asynchronous dispatcher alone would.
//   - The handler runs under a savepoint with the cursor move. When it
//     fails (or panics) the transaction rolls back to the savepoint: the
//     emitting change still commits, the cursor stays before the event,
//     and the dispatcher's ordinary delivery handles it later (and every
//     event after it, until it has caught up; in-transaction delivery then
//     resumes by itself).
//   - The change, the handler's effects and the cursor move commit or roll
//     back together, so a crash at any point leaves either all of them or
//     none; the dispatcher reads the cursor before the events and never
//     delivers an event handled here.
//   - Events the handler emits are not handled in the transaction by the
//     same subscriber; the cursor moves past them after the handler unless
//     one of them is of a type the subscriber handles (it then stays for
//     the dispatcher).
//   - Events written by another process, by EmitBatch or before the
//     subscriber's cursor existed find the cursor behind: those and the
//     ones after go through the dispatcher until it has caught up.
//
// Only where ids commit in order (SQLite, Dialect.IDsCommitInOrder): on
// PostgreSQL concurrent transactions take ids out of commit order, so the
// cursor could not tell "every earlier event is done", and moving one row
// on every Emit would serialise all writers; there the dispatcher alone
// delivers. See docs/decisions/0009-in-transaction-events.md.

// InlineHandler handles one event inside the transaction that emitted it.
type InlineHandler func(ctx context.Context, tx *Tx, ev crm.Event) error

type inlineSub struct {
	name    string
	matches func(typ string) bool
	fn      InlineHandler
}

// inlineState is one subscriber's state in one transaction.
type inlineState struct {
	running bool // its handler is running (events emitted now are its own)
	nested  bool // the handler emitted an event of a type it handles
}

// OnEmitInline registers fn to handle, inside the emitting transaction,
// the events whose types matches accepts, for the dispatcher subscriber
// name (whose cursor in event_cursors it shares). See the comment above
// for the rules. Register before writing; a no-op on PostgreSQL.
func (db *DB) OnEmitInline(name string, matches func(typ string) bool, fn InlineHandler) {
	if !db.dialect.IDsCommitInOrder() {
		return
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	subs := append([]*inlineSub(nil), db.inline...) // copy: Emit reads the slice without the lock
	db.inline = append(subs, &inlineSub{name: name, matches: matches, fn: fn})
	db.inlineReady.Store(true)
}

func (db *DB) inlineSubs() []*inlineSub {
	if !db.inlineReady.Load() {
		return nil
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.inline
}

// PrepareInline prepares the statements of in-transaction delivery on
// the writer (SQLite). Call it outside a transaction.
func (db *DB) PrepareInline(ctx context.Context) error {
	return db.prepareHot(ctx, []string{qAdvanceCursor, `SAVEPOINT ` + inlineSavepoint,
		`RELEASE SAVEPOINT ` + inlineSavepoint, `ROLLBACK TO SAVEPOINT ` + inlineSavepoint})
}

const inlineSavepoint = "event_inline"

// ErrInlineFailed is what Emit returns, in a transaction marked
// AllOrNothing, when an in-transaction handler failed.
var ErrInlineFailed = errors.New("store: in-transaction handler failed")

// AllOrNothing marks tx as one its caller rolls back as a whole when any
// part of it fails, and then does again, more carefully, without the part
// that failed (a group commit, order/commit.go). In-transaction handlers
// then run without their savepoint (SQLite copies every page a savepoint
// covers before changing it), and a failing handler makes Emit fail with
// ErrInlineFailed instead of being rolled back alone: the caller's second
// attempt, without AllOrNothing, isolates it.
func (tx *Tx) AllOrNothing() { tx.allOrNothing = true }

// emitted runs the in-transaction subscribers for ev, just written.
func (tx *Tx) emitted(ctx context.Context, ev *crm.Event) error {
	subs := tx.db.inlineSubs()
	if len(subs) == 0 || tx.read {
		return nil
	}
	if tx.inline == nil {
		tx.inline = make(map[*inlineSub]*inlineState, len(subs))
	}
	for _, s := range subs {
		st := tx.inline[s]
		if st == nil {
			st = &inlineState{}
			tx.inline[s] = st
		}
		if st.running {
			// Its own handler emitted ev: the cursor moves past it (or
			// not) when the handler returns.
			st.nested = st.nested || s.matches(ev.Type)
			continue
		}
		if !s.matches(ev.Type) {
			// Skipped, as the dispatcher would: the cursor keeps up.
			if _, err := tx.AdvanceEventCursor(ctx, s.name, ev.ID-1, ev.ID); err != nil {
				return err
			}
			continue
		}
		if err := tx.deliverInline(ctx, s, st, ev); err != nil {
			return err
		}
	}
	return nil
}

// deliverInline runs s's handler for ev under a savepoint when s's cursor
// is just before ev. Only database errors of the savepoint and the cursor
// are returned; a failing handler leaves ev to the dispatcher.
func (tx *Tx) deliverInline(ctx context.Context, s *inlineSub, st *inlineState, ev *crm.Event) error {
	if tx.allOrNothing {
		ok, err := tx.AdvanceEventCursor(ctx, s.name, ev.ID-1, ev.ID)
		if err != nil || !ok {
			return err
		}
		st.running, st.nested = true, false
		last := tx.lastEvent
		err = s.fn(ctx, tx, *ev)
		st.running = false
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInlineFailed, s.name, err)
		}
		if !st.nested && tx.lastEvent > last {
			_, err = tx.AdvanceEventCursor(ctx, s.name, ev.ID, tx.lastEvent)
		}
		return err
	}
	if err := tx.Savepoint(ctx, inlineSavepoint); err != nil {
		return err
	}
	ok, err := tx.AdvanceEventCursor(ctx, s.name, ev.ID-1, ev.ID)
	if err == nil && ok {
		st.running, st.nested = true, false
		last := tx.lastEvent
		err = s.fn(ctx, tx, *ev)
		st.running = false
		if err == nil && !st.nested && tx.lastEvent > last {
			// Past the events the handler emitted (none of them is its).
			_, err = tx.AdvanceEventCursor(ctx, s.name, ev.ID, tx.lastEvent)
		}
		if err != nil {
			if rerr := tx.RollbackTo(ctx, inlineSavepoint); rerr != nil {
				return fmt.Errorf("store: in-transaction delivery to %s: %w (after %v)", s.name, rerr, err)
			}
			return nil
		}
	}
	if err != nil {
		tx.RollbackTo(ctx, inlineSavepoint)
		return err
	}
	return tx.ReleaseSavepoint(ctx, inlineSavepoint)
}
