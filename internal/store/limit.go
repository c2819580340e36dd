package store

import (
	"strconv"
	"strings"
)

// inlineLimit writes a query's trailing "LIMIT ?" on SQLite as the number
// it is given (the last argument), and drops that argument.
//
// SQLite (3.46 on) plans a LIMIT bound to a parameter with the bound
// value, and marks the parameter so that binding it again, even to the
// same value, makes the next step recompile the whole statement. Every
// run of a query ending in "LIMIT ?" was therefore prepared twice, and
// a statement kept prepared (the dispatcher's read of the outbox, once
// per subscriber per commit) was prepared again on every run (bench/club:
// 1,400 recompilations in 5,000 orders). With the number written in the
// text SQLite plans exactly as it did after the recompilation, once.
//
// Only an integer limit that is the query's last parameter is inlined
// (the query may go on after it, as in "… IN (SELECT … LIMIT ?)");
// anything else goes through unchanged. PostgreSQL is left alone.
func (db *DB) inlineLimit(query string, args []any) (string, []any) {
	if db.dialect != SQLite || len(args) == 0 {
		return query, args
	}
	i := strings.LastIndex(query, "LIMIT ?")
	if i < 0 || strings.IndexByte(query[i+len("LIMIT ?"):], '?') >= 0 {
		return query, args
	}
	var n int64
	switch v := args[len(args)-1].(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	case int32:
		n = int64(v)
	default:
		return query, args
	}
	at := i + len("LIMIT ")
	return query[:at] + strconv.FormatInt(n, 10) + query[at+1:], args[:len(args)-1]
}
