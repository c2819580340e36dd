package store

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect is the SQL engine behind a DB. Every place where SQLite and
// PostgreSQL need different SQL goes through a method of Dialect, so
// `grep -n 'Dialect()' internal/store` finds every divergence.
type Dialect int

const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "unknown"
}

// SkipLocked is appended to a SELECT that claims rows for one worker:
// PostgreSQL skips rows other workers hold; SQLite has a single writer, so
// the clause is not needed (and not understood).
func (d Dialect) SkipLocked() string {
	if d == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// CaseInsensitiveLike returns a LIKE operator that ignores ASCII case.
// SQLite's LIKE already does; PostgreSQL needs ILIKE.
func (d Dialect) CaseInsensitiveLike() string {
	if d == Postgres {
		return "ILIKE"
	}
	return "LIKE"
}

// rebind rewrites ? placeholders into PostgreSQL's $1, $2 … outside string
// literals, quoted identifiers and comments. SQLite keeps the text as is.
func (db *DB) rebind(query string) string {
	if db.dialect != Postgres {
		return query
	}
	if v, ok := db.rebindCache.Load(query); ok {
		return v.(string)
	}
	out := Rebind(query)
	db.rebindCache.Store(query, out)
	return out
}

// Rebind rewrites ? placeholders into $N. It leaves ? alone inside '…',
// "…", -- comments and /* */ comments.
func Rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(query) {
				j = len(query) - 1
			}
			b.WriteString(query[i : j+1])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i - 1
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			end := len(query) - 1
			if j >= 0 {
				end = i + 2 + j + 1
			}
			b.WriteString(query[i : end+1])
			i = end
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Placeholders returns "?, ?, …" with n marks, for IN lists and batches.
func Placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// FullTextQuery turns normalised search tokens into the engine's query
// syntax with prefix matching on every token, all tokens required:
// FTS5 `"ali"* "rez"*`, PostgreSQL `'ali':* & 'rez':*`. Tokens are quoted,
// so no user input is ever read as query syntax.
func (d Dialect) FullTextQuery(tokens []string) string {
	parts := make([]string, 0, len(tokens))
	for _, t := range tokens {
		if d == Postgres {
			parts = append(parts, "'"+strings.ReplaceAll(strings.ReplaceAll(t, `\`, `\\`), "'", "''")+"':*")
		} else {
			parts = append(parts, `"`+strings.ReplaceAll(t, `"`, `""`)+`"*`)
		}
	}
	if d == Postgres {
		return strings.Join(parts, " & ")
	}
	return strings.Join(parts, " ")
}

// FullTextMatch is a WHERE condition with one placeholder (the query from
// FullTextQuery) matching rows of table (contacts, companies) aliased alias.
func (d Dialect) FullTextMatch(table, alias string) string {
	if d == Postgres {
		return alias + ".search_tsv @@ to_tsquery('simple', ?)"
	}
	return alias + ".id IN (SELECT rowid FROM " + table + "_fts WHERE " + table + "_fts MATCH ?)"
}

// RankedSearch is a full query selecting cols from table (aliased alias)
// for the rows matching a FullTextQuery, best first; its placeholders are
// the query and the limit. Only the newest rankWindow matches are ranked:
// ranking every match of a short, common prefix (10,000+ people for "ali")
// costs tens of milliseconds, while a query specific enough to matter has
// fewer matches than the window and is ranked in full.
func (d Dialect) RankedSearch(table, alias, cols string) string {
	w := strconv.Itoa(rankWindow)
	if d == Postgres {
		return "SELECT " + cols + " FROM (SELECT id FROM " + table + " WHERE search_tsv @@ to_tsquery('simple', $1) ORDER BY id DESC LIMIT " + w +
			") m JOIN " + table + " " + alias + " ON " + alias + ".id = m.id ORDER BY ts_rank(" + alias + ".search_tsv, to_tsquery('simple', $1)) DESC, " +
			alias + ".id DESC LIMIT $2"
	}
	return "SELECT " + cols + " FROM (SELECT rowid AS rid, rank AS r FROM " + table + "_fts WHERE " + table + "_fts MATCH ? ORDER BY rowid DESC LIMIT " + w +
		") m JOIN " + table + " " + alias + " ON " + alias + ".id = m.rid ORDER BY m.r, m.rid DESC LIMIT ?"
}

// rankWindow is how many of the newest matches the search box ranks.
const rankWindow = 500

// customCond is a condition on one custom field value in a JSON column.
func (d Dialect) customCond(col string, c CustomCond) (string, []any) {
	if d == Postgres {
		switch c.Type {
		case "multi_select":
			return "(" + col + "->?) @> jsonb_build_array(?::text)", []any{c.Key, c.Value}
		case "number", "money":
			return "(" + col + "->>?)::numeric = ?", []any{c.Key, c.Value}
		case "boolean":
			return "(" + col + "->>?)::boolean = ?", []any{c.Key, c.Value}
		}
		return col + "->>? = ?", []any{c.Key, fmt.Sprint(c.Value)}
	}
	path := "$." + c.Key
	switch c.Type {
	case "multi_select":
		return "EXISTS (SELECT 1 FROM json_each(" + col + ", ?) j WHERE j.value = ?)", []any{path, c.Value}
	case "boolean":
		v := 0
		if b, _ := c.Value.(bool); b {
			v = 1
		}
		return "json_extract(" + col + ", ?) = ?", []any{path, v}
	case "number", "money":
		return "json_extract(" + col + ", ?) = ?", []any{path, c.Value}
	}
	return "json_extract(" + col + ", ?) = ?", []any{path, fmt.Sprint(c.Value)}
}
