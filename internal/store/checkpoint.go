package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Background WAL checkpoints (SQLite). A checkpoint copies the pages the
// write-ahead log holds back into the database file, with two fsyncs
// (synchronous=NORMAL), ~20 ms each on a slow disk. SQLite runs it by
// default on the connection whose commit fills the log past
// wal_autocheckpoint pages (1,000), that is on the one writer, which then
// holds every other writer waiting through both fsyncs: at ten pages an
// order, 40 ms every hundred orders. Instead a connection of its own
// checkpoints the log (PASSIVE: it never waits for the writer nor makes it
// wait) soon after commits, at most every checkpointEvery, while writes
// go on; the writer's own automatic checkpoint stays as a backstop for a
// log the background one cannot keep up with (writerAutoCheckpoint pages).
// Durability is unchanged: a commit is in the log when it returns, as
// before; only when pages reach the database file changes.

const (
	checkpointEvery      = 100 * time.Millisecond
	writerAutoCheckpoint = 16000 // pages (~64 MiB of log)
)

// checkpointer runs PASSIVE checkpoints on its own connection.
type checkpointer struct {
	conn *sql.DB
	wake chan struct{}
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
	err  error
}

// startCheckpointer opens the checkpointing connection to path and starts
// its goroutine; Close stops it.
func (db *DB) startCheckpointer(path string) error {
	conn, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	c := &checkpointer{conn: conn, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	db.ckpt = c
	c.done.Go(c.run)
	return nil
}

// committed tells the checkpointer a write transaction committed.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	ctx := context.Background()
	last := time.Time{}
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		if wait := checkpointEvery - time.Since(last); wait > 0 {
			select {
			case <-c.stop:
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		// Errors (a busy lock, a closing database) leave the log to the
		// next round or to the writer's automatic checkpoint.
		c.conn.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`)
	}
}

func (c *checkpointer) close() error {
	c.once.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.err = c.conn.Close()
	})
	return c.err
}
