package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one embedded SQL file, named NNNN_description.sql.
type Migration struct {
	Version string // "0001_platform"
	SQL     string
}

// Migrations returns the dialect's migrations in order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return strings.Compare(a.Version, b.Version) })
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    TEXT PRIMARY KEY,
	applied_at TEXT NOT NULL
)`

// PendingMigrations lists the versions not yet applied.
func (db *DB) PendingMigrations(ctx context.Context) ([]string, error) {
	all, err := Migrations(db.dialect)
	if err != nil {
		return nil, err
	}
	applied, err := db.appliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, m := range all {
		if !applied[m.Version] {
			pending = append(pending, m.Version)
		}
	}
	return pending, nil
}

func (db *DB) appliedMigrations(ctx context.Context) (map[string]bool, error) {
	applied := map[string]bool{}
	var exists bool
	q := `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')`
	if db.dialect == Postgres {
		q = `SELECT to_regclass('schema_migrations') IS NOT NULL`
	}
	if err := db.ro.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return nil, db.wrap("migrations", err)
	}
	if !exists {
		return applied, nil
	}
	rows, err := db.ro.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, db.wrap("migrations", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, db.wrap("migrations", err)
		}
		applied[v] = true
	}
	return applied, db.wrap("migrations", rows.Err())
}

// Migrate applies every pending migration, each in its own transaction, and
// returns the versions it applied. On PostgreSQL an advisory lock keeps two
// processes from migrating at once.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	all, err := Migrations(db.dialect)
	if err != nil {
		return nil, err
	}
	if _, err := db.rw.ExecContext(ctx, createMigrationsTable); err != nil {
		return nil, db.wrap("migrate", err)
	}
	var done []string
	for _, m := range all {
		applied := false
		err := db.Write(ctx, func(tx *Tx) error {
			if db.dialect == Postgres {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7356201)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return db.wrap("migrate", err)
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("store: migration %s: %w", m.Version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.Version, tx.Now().Format("2006-01-02T15:04:05.000000Z")); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return done, err
		}
		if applied {
			done = append(done, m.Version)
		}
	}
	return done, nil
}
