package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT ? , ?`, `SELECT $1 , $2`},
		{`SELECT '?' , ?`, `SELECT '?' , $1`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT "a?b", ? -- what?` + "\n" + `, ?`, `SELECT "a?b", $1 -- what?` + "\n" + `, $2`},
		{`/* ? */ SELECT ?`, `/* ? */ SELECT $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
	}
	for _, tt := range tests {
		if got := store.Rebind(tt.in); got != tt.want {
			t.Errorf("Rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzRebind(f *testing.F) {
	f.Add(`SELECT ?, '?', "?" -- ?`)
	f.Add(`/* unterminated ?`)
	f.Fuzz(func(t *testing.T, q string) {
		out := store.Rebind(q)
		if len(out) < len(q) {
			t.Fatalf("Rebind shrank %q to %q", q, out)
		}
	})
}

func TestOpen_BadURL(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://x")
	if crm.ErrorCode(err) != crm.EINVALID {
		t.Fatalf("err = %v, want invalid", err)
	}
	_, err = store.Open(context.Background(), "postgres://nobody@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if crm.ErrorCode(err) != crm.EUNAVAILABLE {
		t.Fatalf("err = %v, want unavailable", err)
	}
}

func TestMigrate(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			db := storetest.OpenEmpty(t, d)
			pending, err := db.PendingMigrations(ctx)
			if err != nil || len(pending) == 0 {
				t.Fatalf("pending = %v, %v; want every migration", pending, err)
			}
			applied, err := db.Migrate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) != len(pending) {
				t.Fatalf("applied %v, want %v", applied, pending)
			}
			again, err := db.Migrate(ctx)
			if err != nil || len(again) != 0 {
				t.Fatalf("second migrate applied %v, %v", again, err)
			}
			if p, _ := db.PendingMigrations(ctx); len(p) != 0 {
				t.Fatalf("pending after migrate: %v", p)
			}
		})
	}
}

// TestMigrationParity keeps the two dialects' migration trees in step: the
// same versions, and (when PostgreSQL is available) the same tables and
// columns.
func TestMigrationParity(t *testing.T) {
	lite, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := store.Migrations(store.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if len(lite) != len(pg) {
		t.Fatalf("sqlite has %d migrations, postgres %d", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version {
			t.Errorf("migration %d: sqlite %s, postgres %s", i, lite[i].Version, pg[i].Version)
		}
	}
	if len(storetest.Dialects()) < 2 {
		t.Log("PostgreSQL not configured; compared versions only")
		return
	}
	ctx := context.Background()
	cols := func(db *store.DB) map[string]bool {
		out := map[string]bool{}
		err := db.Read(ctx, func(tx *store.Tx) error {
			m, err := tx.Columns(ctx)
			for k := range m {
				out[k] = true
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := cols(storetest.Open(t, store.SQLite))
	b := cols(storetest.Open(t, store.Postgres))
	for k := range a {
		if !b[k] {
			t.Errorf("column %s exists in sqlite only", k)
		}
	}
	for k := range b {
		if !a[k] {
			t.Errorf("column %s exists in postgres only", k)
		}
	}
}

func TestTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fixed := time.Date(2025, 3, 21, 10, 0, 0, 123456789, time.UTC)
		db.Now = func() time.Time { return fixed }

		t.Run("RollbackSkipsHooksAndEvents", func(t *testing.T) {
			woke := 0
			db.OnEvents(func() { woke++ })
			ran := false
			boom := errors.New("boom")
			err := db.Write(ctx, func(tx *store.Tx) error {
				tx.AfterCommit(func() { ran = true })
				if err := tx.EmitJSON(ctx, "test.rolled_back", "test", 1, map[string]int{"n": 1}); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) || ran || woke != 0 {
				t.Fatalf("err=%v ran=%v woke=%d; want boom, no hook, no wake", err, ran, woke)
			}
			var n int
			db.Read(ctx, func(tx *store.Tx) error {
				return tx.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE type = ?`, "test.rolled_back").Scan(&n)
			})
			if n != 0 {
				t.Fatalf("rolled back event stored %d times", n)
			}
		})

		t.Run("CommitRunsHooks", func(t *testing.T) {
			ran := false
			var ev crm.Event
			err := db.Write(ctx, func(tx *store.Tx) error {
				tx.AfterCommit(func() { ran = true })
				ev = crm.Event{Type: "test.committed", SubjectType: "test", SubjectID: 7, Payload: []byte(`{"a":"سلام"}`)}
				return tx.Emit(ctx, &ev)
			})
			if err != nil || !ran || ev.ID == 0 {
				t.Fatalf("err=%v ran=%v id=%d", err, ran, ev.ID)
			}
			var (
				payload string
				at      time.Time
			)
			err = db.Read(ctx, func(tx *store.Tx) error {
				return tx.QueryRow(ctx, `SELECT payload, created_at FROM events WHERE id = ?`, ev.ID).Scan(&payload, &at)
			})
			if err != nil {
				t.Fatal(err)
			}
			if !at.Equal(fixed.Truncate(time.Microsecond)) {
				t.Errorf("created_at = %v, want %v", at, fixed.Truncate(time.Microsecond))
			}
			if payload != `{"a":"سلام"}` && payload != `{"a": "سلام"}` {
				t.Errorf("payload = %q", payload)
			}
		})

		t.Run("UniqueViolationIsConflict", func(t *testing.T) {
			insert := func() error {
				return db.Write(ctx, func(tx *store.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)`, "k", "v", tx.Now())
					return err
				})
			}
			if err := insert(); err != nil {
				t.Fatal(err)
			}
			if err := insert(); crm.ErrorCode(err) != crm.ECONFLICT {
				t.Fatalf("second insert: %v, want conflict", err)
			}
		})

		// Transactions on SQLite begin without the caller's cancellation
		// (store.short); a statement given the caller's context must
		// still be interrupted, and a caller that already gave up must
		// not start a transaction.
		t.Run("CancelStopsLongStatement", func(t *testing.T) {
			cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			var n int64
			err := db.Read(cctx, func(tx *store.Tx) error {
				return tx.QueryRow(cctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000)
					SELECT COUNT(*) FROM c`).Scan(&n)
			})
			if err == nil {
				t.Fatalf("a 2,000,000,000-row count ran to its end (%d) past its deadline", n)
			}
		})

		t.Run("CancelledBeforeWrite", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			ran := false
			err := db.Write(cctx, func(tx *store.Tx) error {
				ran = true
				_, err := tx.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)`, "cancelled", "v", tx.Now())
				return err
			})
			if !errors.Is(err, context.Canceled) || ran {
				t.Fatalf("err=%v ran=%v; want context.Canceled before the transaction", err, ran)
			}
		})

		// On SQLite writes queue for the one writer connection; a caller
		// that gives up while queued leaves without running.
		t.Run("CancelWhileWaitingForWriter", func(t *testing.T) {
			if db.Dialect() != store.SQLite {
				t.Skip("PostgreSQL has a pool of writers")
			}
			holding, free := make(chan struct{}), make(chan struct{})
			first := make(chan error, 1)
			go func() {
				first <- db.Write(ctx, func(tx *store.Tx) error {
					close(holding)
					<-free
					return nil
				})
			}()
			<-holding
			cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			ran := false
			err := db.Write(cctx, func(tx *store.Tx) error { ran = true; return nil })
			close(free)
			if !errors.Is(err, context.DeadlineExceeded) || ran {
				t.Fatalf("err=%v ran=%v; want the deadline while waiting, fn not run", err, ran)
			}
			if err := <-first; err != nil {
				t.Fatal(err)
			}
		})

		t.Run("NotFound", func(t *testing.T) {
			err := db.Read(ctx, func(tx *store.Tx) error {
				var v string
				return tx.NotFound(tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, "nope").Scan(&v), "Setting")
			})
			if crm.ErrorCode(err) != crm.ENOTFOUND {
				t.Fatalf("err = %v, want not_found", err)
			}
		})
	})
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.SQLite)
	err := db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)`, "name", "پیوند", tx.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir() + "/copy.db"
	size, err := db.Backup(ctx, out)
	if err != nil || size == 0 {
		t.Fatalf("backup: %d %v", size, err)
	}
	if _, err := db.Backup(ctx, out); crm.ErrorCode(err) != crm.ECONFLICT {
		t.Fatalf("backup over an existing file: %v", err)
	}
	cp, err := store.Open(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	var v string
	if err := cp.Read(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'name'`).Scan(&v)
	}); err != nil || v != "پیوند" {
		t.Fatalf("copy has %q, %v", v, err)
	}
}
