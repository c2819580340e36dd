package store

import "context"

// short is the context for a statement that takes microseconds (one row
// by key, a prepared INSERT) and for the transactions around them on
// SQLite. With a context that can be cancelled, database/sql starts a
// goroutine per transaction and per result set to watch it (to roll back,
// to close the rows), and the SQLite driver one per statement (to
// interrupt SQLite): three to four goroutines started, scheduled and ended
// for a lookup that takes a few microseconds, which cost about as much as
// the lookup (bench/club: ~20 such statements per order on the one
// writer). Such a statement now runs to its end; a caller that gave up
// sees its next statement that keeps the caller's context fail, and the
// transaction roll back. Long statements (reports, segment counts, the
// import's bulk loads) keep the caller's context and stay interruptible.
// Waiting for a connection (on SQLite, for the one writer) still ends
// with the caller's context (DB.begin). PostgreSQL keeps the caller's
// context everywhere: there it bounds a network round trip.
func (db *DB) short(ctx context.Context) context.Context {
	if db.dialect != SQLite {
		return ctx
	}
	return context.WithoutCancel(ctx)
}
