package order

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Group commit (SQLite): orders sent at the same moment (several tills, a
// busy web shop) are written in one transaction, each inside its own
// savepoint, so one commit (the costly part: the log write) serves many
// orders. SQLite has one writer, so they would wait for each other
// anyway; PostgreSQL runs concurrent transactions side by side and groups
// their WAL flushes itself, and a savepoint there costs two round trips,
// so there every order keeps its own transaction. Every
// caller still returns only after the commit that holds its order, so an
// order acknowledged is an order stored; an order that fails (a bad
// customer reference, a replay) is rolled back to its savepoint alone.
//
// There is no background goroutine: the first caller to find nobody
// writing becomes the leader, writes everything queued (at most
// maxGroup orders per transaction) until its own order is written, then
// hands the lead to the first caller still waiting.

// maxGroup bounds the orders of one transaction.
const maxGroup = 128

// groupYields bounds how often a leader yields to let more orders join
// its group (see submit).
const groupYields = 8

type committer struct {
	mu      sync.Mutex
	queue   []*pending
	leading bool
	last    int          // orders in the last group
	groups  atomic.Int64 // transactions written
	written atomic.Int64 // orders submitted in them
}

// CommitStats counts the write transactions Create has committed or
// rolled back since the service started and the orders submitted in
// them: orders / transactions is the mean group.
func (s *Service) CommitStats() (transactions, orders int64) {
	return s.commit.groups.Load(), s.commit.written.Load()
}

// pending is one order waiting to be written.
type pending struct {
	ctx     context.Context
	p       *prepared
	o       *crm.Order
	created bool
	err     error
	done    chan struct{} // closed once written or failed
	lead    chan struct{} // closed when this caller is to lead
}

// submit writes p (with the orders of concurrent callers) and returns its
// result: the order, or errRace when its external id was stored already.
func (s *Service) submit(ctx context.Context, p *prepared) (*crm.Order, bool, error) {
	pd := &pending{ctx: ctx, p: p, done: make(chan struct{}), lead: make(chan struct{})}
	if s.opts.SeparateCommits || s.db.Dialect() != store.SQLite {
		s.writeGroup([]*pending{pd})
		return pd.o, pd.created, pd.err
	}
	c := &s.commit
	c.mu.Lock()
	c.queue = append(c.queue, pd)
	if c.leading {
		c.mu.Unlock()
		select {
		case <-pd.done:
			return pd.o, pd.created, pd.err
		case <-pd.lead:
		}
	} else {
		c.leading = true
		c.mu.Unlock()
	}
	for {
		c.mu.Lock()
		// Fewer orders waiting than in the last group: the other tills'
		// orders are likely on their way (being validated, or their
		// goroutines not yet run), so let them run a moment first. A
		// commit writes each page its orders touched once, so the tails of
		// the tables and indexes are shared by more orders. Yielding
		// costs no timer and does not wait when nobody else is runnable.
		for i := 0; i < groupYields && len(c.queue) < c.last; i++ {
			c.mu.Unlock()
			runtime.Gosched()
			c.mu.Lock()
		}
		n := min(len(c.queue), maxGroup)
		if n > 0 {
			c.last = n
		}
		batch := make([]*pending, n)
		copy(batch, c.queue)
		c.queue = append(c.queue[:0], c.queue[n:]...)
		c.mu.Unlock()
		if n > 0 {
			s.writeGroup(batch)
			for _, b := range batch {
				close(b.done)
			}
		}
		select {
		case <-pd.done:
		default:
			continue // our order is still queued behind a full batch
		}
		c.mu.Lock()
		if len(c.queue) > 0 {
			close(c.queue[0].lead)
		} else {
			c.leading = false
		}
		c.mu.Unlock()
		return pd.o, pd.created, pd.err
	}
}

// savepoint names each order's savepoint in a group.
const savepoint = "order_item"

// errRedo ends a group's first attempt, written without savepoints, when
// one of its orders fails.
var errRedo = errors.New("order: a group's order failed; write the group again with savepoints")

// writeGroup writes a batch of orders in one transaction. Statements run
// without their callers' cancellation (an interrupted statement would
// roll back the whole SQLite transaction), keeping the callers' values
// (who acts, for the audit log and the events).
//
// A group is written first without a savepoint per order: a savepoint
// makes SQLite copy every page an order then touches first (4 KiB each,
// ~10 per order) so that the order alone can be rolled back, and orders
// seldom fail (a replay of a stored order, an unknown customer). When one
// does, that attempt is rolled back whole and the group written again,
// each order in its own savepoint, so the failed one is rolled back alone.
func (s *Service) writeGroup(batch []*pending) {
	if len(batch) > 1 {
		s.commit.groups.Add(1)
		s.commit.written.Add(int64(len(batch)))
		err := s.db.Write(context.WithoutCancel(batch[0].ctx), func(tx *store.Tx) error {
			for _, pd := range batch {
				pd.o, pd.created, pd.err = s.createTx(context.WithoutCancel(pd.ctx), tx, pd.p, true, false)
				if pd.err != nil {
					return errRedo
				}
			}
			return nil
		})
		if err == nil {
			return
		}
		for _, pd := range batch { // nothing of the attempt was stored
			pd.o, pd.created, pd.err = nil, false, nil
		}
	}
	s.writeSavepoints(batch)
}

// writeSavepoints writes a batch of orders in one transaction, each in
// its own savepoint (a batch of one without): an order that fails is
// rolled back alone.
func (s *Service) writeSavepoints(batch []*pending) {
	s.commit.groups.Add(1)
	s.commit.written.Add(int64(len(batch)))
	alone := len(batch) == 1
	err := s.db.Write(context.WithoutCancel(batch[0].ctx), func(tx *store.Tx) error {
		for _, pd := range batch {
			ctx := context.WithoutCancel(pd.ctx)
			if !alone {
				if err := tx.Savepoint(ctx, savepoint); err != nil {
					return err
				}
			}
			pd.o, pd.created, pd.err = s.createTx(ctx, tx, pd.p, true, false)
			switch {
			case alone:
				return pd.err
			case pd.err != nil:
				pd.o, pd.created = nil, false
				if err := tx.RollbackTo(ctx, savepoint); err != nil {
					return err
				}
			default:
				if err := tx.ReleaseSavepoint(ctx, savepoint); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	for _, pd := range batch { // nothing of the batch was stored
		if pd.err == nil {
			pd.o, pd.created, pd.err = nil, false, err
		}
	}
}
