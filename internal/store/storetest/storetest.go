// Package storetest opens real databases for tests: a SQLite file in a
// temporary directory, and a fresh PostgreSQL schema when
// PIVAND_TEST_POSTGRES_URL is set. There are no mocks of the store.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx" for schema setup
	"github.com/pivand/pivand/internal/store"
)

// PostgresURLEnv names the variable that points tests at a PostgreSQL server.
const PostgresURLEnv = "PIVAND_TEST_POSTGRES_URL"

// Dialects returns the dialects this test run covers: SQLite always, and
// PostgreSQL when PIVAND_TEST_POSTGRES_URL is set.
func Dialects() []store.Dialect {
	if os.Getenv(PostgresURLEnv) != "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	return []store.Dialect{store.SQLite}
}

// Each runs fn as a subtest once per dialect, each with a fresh, migrated
// database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(d.String(), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh, migrated database of dialect d, closed and removed
// when the test ends.
func Open(tb testing.TB, d store.Dialect) *store.DB {
	tb.Helper()
	db := OpenEmpty(tb, d)
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// URL returns a database URL for a fresh, empty database of dialect d:
// a SQLite file in a temporary directory, or a new PostgreSQL schema that
// is dropped when the test ends.
func URL(tb testing.TB, d store.Dialect) string {
	tb.Helper()
	switch d {
	case store.Postgres:
		base := os.Getenv(PostgresURLEnv)
		if base == "" {
			tb.Skipf("%s is not set", PostgresURLEnv)
		}
		schema := "t_" + randomHex(tb, 8)
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatalf("postgres: %v", err)
		}
		defer admin.Close()
		if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
			tb.Fatalf("postgres: create schema: %v", err)
		}
		tb.Cleanup(func() {
			admin, err := sql.Open("pgx", base)
			if err != nil {
				return
			}
			defer admin.Close()
			admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		})
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatalf("%s: %v", PostgresURLEnv, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	default:
		return filepath.Join(tb.TempDir(), "pivand.db")
	}
}

// OpenEmpty is Open without migrations.
func OpenEmpty(tb testing.TB, d store.Dialect) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), URL(tb, d))
	if err != nil {
		tb.Fatalf("open %s: %v", d, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}
