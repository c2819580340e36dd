package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"runtime"

	"github.com/pivand/pivand/internal/crm"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// sqlitePragmas are applied on every new connection, busy_timeout first so
// that the ones after it wait for a lock instead of failing at once.
var sqlitePragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"foreign_keys(ON)",
	"temp_store(MEMORY)",
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	if readOnly {
		// Several readers each keep a page cache, and the driver's allocator
		// gives each 4 KB page (with SQLite's header) an 8 KB slot: 8 MB of
		// pages is ~16 MB resident per reader. A random person is a cache
		// miss at any size; the OS page cache holds the rest of the file,
		// and a miss costs a pread (docs/performance.md, "Memory while
		// serving").
		q.Add("_pragma", "cache_size(-8000)")
		q.Add("_pragma", "query_only(1)")
	} else {
		// 8 MB, as a reader. SQLite walks the writer's whole page cache at
		// the end of nearly every write transaction on a database under
		// 1 GiB: when a B-tree split renumbers sibling pages it parks one
		// under the page number at the 1 GiB lock byte, and the commit then
		// drops "pages beyond the end" by scanning every cached page. With
		// 32 MB (8,000 pages) that scan was ~200 µs per commit, 9% of the
		// writer's time recording orders (bench/club); on a bigger file the
		// scan does not happen and a smaller cache costs a pread now and
		// then. Bulk writes set their own (bulk.go).
		q.Add("_pragma", "cache_size(-8000)")
		// The log is checkpointed in the background (checkpoint.go); the
		// writer checkpoints only a log this long.
		q.Add("_pragma", "wal_autocheckpoint("+itoa(writerAutoCheckpoint)+")")
		// Take the write lock when the transaction starts, so two processes
		// (a server and a CLI command) wait on busy_timeout instead of
		// failing when a reader upgrades to a writer.
		q.Set("_txlock", "immediate")
	}
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

func (db *DB) openSQLite(ctx context.Context, path string) error {
	if path == "" {
		return crm.Errorf(crm.EINVALID, "SQLite path is empty")
	}
	if err := ensureDir(path); err != nil {
		return err
	}
	db.source = path
	rw, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	rw.SetMaxOpenConns(1) // SQLite has one writer; queue writers here, not on SQLITE_BUSY
	rw.SetMaxIdleConns(1)
	rw.SetConnMaxLifetime(0)
	if err := rw.PingContext(ctx); err != nil {
		rw.Close()
		return db.openError(err)
	}
	// The first connection switched the file to WAL; readers open after it.
	ro, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		rw.Close()
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU()*2)
	ro.SetMaxOpenConns(n)
	ro.SetMaxIdleConns(n)
	ro.SetConnMaxLifetime(0)
	db.rw, db.ro = rw, ro
	return db.startCheckpointer(path)
}

func (db *DB) openError(err error) error {
	return crm.Errorf(crm.EUNAVAILABLE, "cannot open database %s: %v", db.source, err)
}
