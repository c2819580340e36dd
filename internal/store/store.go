// Package store is the only package that holds SQL and database drivers.
// One SQL text serves SQLite (modernc.org/sqlite, pure Go) and PostgreSQL
// (pgx/v5 through database/sql); every real difference between the two sits
// behind a named helper in dialect.go.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// DB is an open database: a writer and a reader pool on SQLite, one pool on
// PostgreSQL.
type DB struct {
	dialect Dialect
	rw      *sql.DB // writes; one connection on SQLite
	ro      *sql.DB // reads; a pool (the same as rw on PostgreSQL)
	source  string  // file path (SQLite) or URL without password (PostgreSQL)

	// Now returns the current time; tests replace it. Each transaction reads
	// it once so every row written together shares one timestamp.
	Now func() time.Time

	mu          sync.Mutex
	eventHooks  []func()      // called after a commit that wrote events
	rebindCache sync.Map      // query text → rebound text (PostgreSQL)
	readStmts   sync.Map      // query text → *sql.Stmt on the reader pool (readStmt)
	ckpt        *checkpointer // background WAL checkpoints (SQLite; checkpoint.go)
}

// Open opens the database named by rawURL: "postgres://…" or
// "postgresql://…" for PostgreSQL, "sqlite://PATH", "file:PATH" or a plain
// path for SQLite. It checks the connection before returning.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	if rawURL == "" {
		return nil, crm.Errorf(crm.EINVALID, "database URL is empty")
	}
	db := &DB{Now: time.Now}
	var err error
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		db.dialect = Postgres
		err = db.openPostgres(ctx, rawURL)
	case strings.Contains(rawURL, "://") && !strings.HasPrefix(rawURL, "sqlite://"):
		scheme, _, _ := strings.Cut(rawURL, "://")
		return nil, crm.Errorf(crm.EINVALID, "database URL scheme %q is not supported (use postgres:// or a SQLite file path)", scheme)
	default:
		db.dialect = SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite://"), "file:")
		err = db.openSQLite(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

// SQLitePath returns the database file inside a data directory.
func SQLitePath(dataDir string) string { return filepath.Join(dataDir, "pivand.db") }

// Dialect reports which SQL engine the database speaks.
func (db *DB) Dialect() Dialect { return db.dialect }

// Source describes the database for logs and messages, never with a password.
func (db *DB) Source() string { return db.source }

// Close closes both pools.
func (db *DB) Close() error {
	var err error
	if db.ckpt != nil {
		err = db.ckpt.close()
	}
	db.readStmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	err = errors.Join(err, db.rw.Close())
	if db.ro != db.rw {
		err = errors.Join(err, db.ro.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.ro.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// OnEvents registers fn to run after every commit that wrote at least one
// event. The event dispatcher uses it to wake up without polling delay.
func (db *DB) OnEvents(fn func()) {
	db.mu.Lock()
	db.eventHooks = append(db.eventHooks, fn)
	db.mu.Unlock()
}

func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }

// Read runs fn in a read-only transaction on the reader pool.
func (db *DB) Read(ctx context.Context, fn func(tx *Tx) error) error {
	return db.run(ctx, db.ro, true, fn)
}

// Write runs fn in a read-write transaction. It commits when fn returns nil
// and rolls back otherwise; AfterCommit hooks run only after a commit.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	return db.run(ctx, db.rw, false, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, fn func(tx *Tx) error) (err error) {
	opts := &sql.TxOptions{ReadOnly: readOnly && db.dialect == Postgres}
	stx, release, err := db.begin(ctx, pool, opts)
	if err != nil {
		return db.wrap("begin", err)
	}
	defer release()
	tx := &Tx{tx: stx, db: db, now: db.now(), read: readOnly}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return err
	}
	if err := stx.Commit(); err != nil {
		return db.wrap("commit", err)
	}
	release() // the connection goes back before the hooks run
	if !readOnly && db.ckpt != nil {
		db.ckpt.committed()
	}
	if tx.events > 0 {
		db.mu.Lock()
		hooks := db.eventHooks
		db.mu.Unlock()
		for _, h := range hooks {
			h()
		}
	}
	for _, f := range tx.after {
		f()
	}
	return nil
}

// begin starts a transaction on pool; release returns its connection
// (call it after Commit or Rollback; it may be called again). On SQLite
// the transaction does not watch ctx (see short): the wait for a
// connection (the one writer) does, and a caller that gave up by the
// time it has one gets the connection back at once.
func (db *DB) begin(ctx context.Context, pool *sql.DB, opts *sql.TxOptions) (*sql.Tx, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if db.dialect != SQLite {
		stx, err := pool.BeginTx(ctx, opts)
		return stx, func() {}, err
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	release := func() { once.Do(func() { conn.Close() }) }
	if err := ctx.Err(); err != nil {
		release()
		return nil, nil, err
	}
	stx, err := conn.BeginTx(db.short(ctx), opts)
	if err != nil {
		release()
		return nil, nil, err
	}
	return stx, release, nil
}

// redactURL removes the password from a database URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// ensureDir creates the directory that will hold a SQLite file.
func ensureDir(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return crm.Errorf(crm.EINVALID, "cannot create data directory %s: %v", dir, errors.Unwrap(err))
	}
	return nil
}

// Backup writes a consistent copy of a SQLite database to path with
// VACUUM INTO, which reads one snapshot while the server keeps working.
// It returns the size of the copy.
func (db *DB) Backup(ctx context.Context, path string) (int64, error) {
	if db.dialect != SQLite {
		return 0, crm.Errorf(crm.EINVALID, "backup copies SQLite databases; use pg_dump for PostgreSQL")
	}
	if _, err := os.Stat(path); err == nil {
		return 0, crm.Errorf(crm.ECONFLICT, "%s already exists", path)
	}
	if err := ensureDir(path); err != nil {
		return 0, err
	}
	// A connection of its own: the readers are query_only (VACUUM INTO
	// counts as a write for that pragma), and the writer must stay free.
	conn, err := sql.Open("sqlite", sqliteDSN(db.source, false))
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		os.Remove(path)
		return 0, db.wrap("backup", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	return fi.Size(), nil
}
