package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pivand/pivand/internal/crm"
)

func (db *DB) openPostgres(ctx context.Context, rawURL string) error {
	db.source = redactURL(rawURL)
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return crm.Errorf(crm.EINVALID, "database URL %s is not valid: %v", db.source, err)
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(10)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return db.openError(err)
	}
	db.rw, db.ro = pool, pool
	return nil
}
