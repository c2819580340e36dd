package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pivand/pivand/internal/crm"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// wrap turns driver errors into crm errors where callers can act on them
// (unique and foreign-key violations, a busy database) and prefixes the
// rest with the operation. Services never see driver types.
func (db *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *crm.Error
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &crm.Error{Code: crm.ECONFLICT, Message: "This value is already taken."}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return &crm.Error{Code: crm.EINVALID, Message: "A referenced record does not exist."}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &crm.Error{Code: crm.EUNAVAILABLE, Message: "The database is busy; try again."}
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return &crm.Error{Code: crm.ECONFLICT, Message: "This value is already taken."}
		case "23503":
			return &crm.Error{Code: crm.EINVALID, Message: "A referenced record does not exist."}
		case "40001", "40P01":
			return &crm.Error{Code: crm.EUNAVAILABLE, Message: "The database is busy; try again."}
		}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
