package store

import (
	"context"
	"strings"
)

// rowScanner is what sql.Row and sql.Rows have in common.
type rowScanner interface{ Scan(dest ...any) error }

// conds collects the WHERE conditions of a list query built in Go, each
// with its arguments, so optional filters never become SQL-side CASEs.
type conds struct {
	where []string
	args  []any
}

func (c *conds) add(cond string, args ...any) {
	c.where = append(c.where, cond)
	c.args = append(c.args, args...)
}

// sql is " WHERE a AND b", or "" without conditions.
func (c *conds) sql() string {
	if len(c.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.where, " AND ")
}

// pageRows runs a keyset-paged list query, which must end in "LIMIT ?",
// asking for limit+1 rows so the caller can tell whether a next page
// exists, and scans each row with scan.
func pageRows[T any](ctx context.Context, tx *Tx, q string, args []any, limit int, what string, scan func(rowScanner) (T, error)) ([]T, error) {
	rows, err := tx.Query(ctx, q, append(args, limit+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, tx.db.wrap("scan "+what, err)
		}
		out = append(out, v)
	}
	return out, tx.db.wrap("list "+what, rows.Err())
}

// scanPlus scans a row followed by one extra text column (a sort key).
type scanPlus struct {
	row   rowScanner
	extra *string
}

func (s scanPlus) Scan(dst ...any) error { return s.row.Scan(append(dst, s.extra)...) }
