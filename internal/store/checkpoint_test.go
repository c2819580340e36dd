package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestBackgroundCheckpoint: commits reach the database file without the
// writer checkpointing (its automatic checkpoint waits for a much longer
// log): the background connection copies them.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.SQLitePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the migrations' checkpoint
	size := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, "pivand.db"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	err = db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE filler (body TEXT NOT NULL)`); err != nil {
			return err
		}
		for range 200 { // ~800 kB: 200 pages, far below the writer's 16,000
			if _, err := tx.Exec(ctx, `INSERT INTO filler (body) VALUES (?)`, strings.Repeat("x", 4000)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); size() < before+800_000; {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes, was %d: the commit was not checkpointed", size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAfterCommitRolledBackSavepoint: what a transaction registered after
// a savepoint it rolled back to does not run at commit; what it kept does.
func TestAfterCommitRolledBackSavepoint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var ran []string
		err := db.Write(ctx, func(tx *store.Tx) error {
			tx.AfterCommit(func() { ran = append(ran, "before") })
			if err := tx.Savepoint(ctx, "a"); err != nil {
				return err
			}
			tx.AfterCommit(func() { ran = append(ran, "undone") })
			if err := tx.RollbackTo(ctx, "a"); err != nil {
				return err
			}
			if err := tx.Savepoint(ctx, "b"); err != nil {
				return err
			}
			tx.AfterCommit(func() { ran = append(ran, "kept") })
			return tx.ReleaseSavepoint(ctx, "b")
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(ran, ",") != "before,kept" {
			t.Errorf("ran %v, want before,kept", ran)
		}
	})
}
