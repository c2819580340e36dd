package store

import (
	"reflect"
	"testing"
)

func TestInlineLimit(t *testing.T) {
	lite, pg := &DB{dialect: SQLite}, &DB{dialect: Postgres}
	for _, c := range []struct {
		db       *DB
		q        string
		args     []any
		wantQ    string
		wantArgs []any
	}{
		{lite, `SELECT id FROM t WHERE id > ? ORDER BY id LIMIT ?`, []any{int64(5), 100},
			`SELECT id FROM t WHERE id > ? ORDER BY id LIMIT 100`, []any{int64(5)}},
		{lite, "SELECT id FROM t LIMIT ?\n\t", []any{int64(7)}, "SELECT id FROM t LIMIT 7\n\t", []any{}},
		{lite, `SELECT COUNT(*) FROM (SELECT 1 FROM t WHERE a = ? LIMIT ?) x`, []any{"a", int32(-1)},
			`SELECT COUNT(*) FROM (SELECT 1 FROM t WHERE a = ? LIMIT -1) x`, []any{"a"}},
		// A parameter after the LIMIT: not the last argument, left alone.
		{lite, `SELECT id FROM t LIMIT ? OFFSET ?`, []any{10, 20}, `SELECT id FROM t LIMIT ? OFFSET ?`, []any{10, 20}},
		// Not an integer: left to SQLite to refuse or convert.
		{lite, `SELECT id FROM t LIMIT ?`, []any{"10"}, `SELECT id FROM t LIMIT ?`, []any{"10"}},
		{lite, `SELECT id FROM t WHERE a = ?`, []any{3}, `SELECT id FROM t WHERE a = ?`, []any{3}},
		{lite, `SELECT id FROM t`, nil, `SELECT id FROM t`, nil},
		{pg, `SELECT id FROM t ORDER BY id LIMIT ?`, []any{100}, `SELECT id FROM t ORDER BY id LIMIT ?`, []any{100}},
	} {
		q, args := c.db.inlineLimit(c.q, c.args)
		if q != c.wantQ || !reflect.DeepEqual(args, c.wantArgs) && len(args)+len(c.wantArgs) > 0 {
			t.Errorf("%s %q %v:\n got %q %v\nwant %q %v", c.db.dialect, c.q, c.args, q, args, c.wantQ, c.wantArgs)
		}
	}
}
