// Command segments measures counting segments over a large contact base:
// it fills a database with -people people (names, emails and phones as
// contact keys, languages, sources, cities, tags, owners, custom fields,
// consent, companies) and about one order per person with lines, club
// members and tickets, generated in SQL (INSERT … SELECT over a series:
// seconds, not the services' minutes), then counts a set of segments
// through the segment service (check, compile, COUNT) -count times each
// and prints, per segment, the people matched, the best and median wall
// time and the CPU time of this process (SQLite runs in it; for
// PostgreSQL the server's CPU is not included).
//
//	go run ./bench/segments                          # SQLite under /tmp, 1,000,000 people
//	go run ./bench/segments -db 'postgres://…'       # PostgreSQL (a fresh schema, dropped after)
//	go run ./bench/segments -people 100000 -count 5
//
// The SQLite file is deleted at the end unless -keep is given.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
)

// segments are the trees counted: each field family once, and the kind
// of segment a shop builds (recent buyers who agreed to email, lapsed
// big spenders, …).
var segments = []struct{ name, rules string }{
	{"everyone", `{"match":"all","conditions":[]}`},
	{"language is fa", `{"match":"all","conditions":[{"field":"language","op":"in","value":["fa"]}]}`},
	{"created in the last 90 days", `{"match":"all","conditions":[{"field":"created","op":"in_last","value":{"amount":90,"unit":"day"}}]}`},
	{"tag vip", `{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["vip"]}]}`},
	{"email ends with @gmail.com", `{"match":"all","conditions":[{"field":"email","op":"ends_with","value":"@gmail.com"}]}`},
	{"has a phone", `{"match":"all","conditions":[{"field":"phone","op":"is_set"}]}`},
	{"name contains", `{"match":"all","conditions":[{"field":"name","op":"contains","value":"رضا"}]}`},
	{"city is Tehran", `{"match":"all","conditions":[{"field":"city","op":"eq","value":"Tehran"}]}`},
	{"custom size in L, XL", `{"match":"all","conditions":[{"field":"custom.size","op":"in","value":["L","XL"]}]}`},
	{"consent email", `{"match":"all","conditions":[{"field":"consent.email","op":"is_true"}]}`},
	{"company industry", `{"match":"all","conditions":[{"field":"company.industry","op":"eq","value":"Retail"}]}`},
	{"orders ≥ 2", `{"match":"all","conditions":[{"field":"orders.count","op":"gte","value":2}]}`},
	{"no orders", `{"match":"all","conditions":[{"field":"orders.count","op":"eq","value":0}]}`},
	{"spent ≥ 5,000,000", `{"match":"all","conditions":[{"field":"orders.total","op":"gte","value":5000000}]}`},
	{"last order in 30 days", `{"match":"all","conditions":[{"field":"orders.last_date","op":"in_last","value":{"amount":30,"unit":"day"}}]}`},
	{"bought SKU-7", `{"match":"all","conditions":[{"field":"orders.sku","op":"has_any","value":["SKU-7"]}]}`},
	{"club tier 2", `{"match":"all","conditions":[{"field":"club.tier","op":"in","value":[2]}]}`},
	{"points ≥ 500", `{"match":"all","conditions":[{"field":"club.points","op":"gte","value":500}]}`},
	{"open tickets ≥ 1", `{"match":"all","conditions":[{"field":"tickets.open","op":"gte","value":1}]}`},
	{"campaign audience", `{"match":"all","conditions":[{"field":"consent.email","op":"is_true"},{"field":"email","op":"is_set"},
		{"match":"any","conditions":[{"field":"orders.last_date","op":"in_last","value":{"amount":6,"unit":"month"}},{"field":"tags","op":"has_any","value":["vip"]}]},
		{"field":"language","op":"in","value":["fa","ar"]}]}`},
	{"lapsed big spenders", `{"match":"all","conditions":[{"field":"orders.total","op":"gte","value":3000000},
		{"field":"orders.last_date","op":"not_in_last","value":{"amount":90,"unit":"day"}},{"field":"tickets.open","op":"eq","value":0}]}`},
}

func main() {
	var (
		dbURL  = flag.String("db", "", "a postgres:// URL (a fresh schema is made in it and dropped after), or empty for SQLite under -dir")
		dir    = flag.String("dir", os.TempDir(), "where the SQLite database goes")
		people = flag.Int("people", 1_000_000, "people to generate")
		count  = flag.Int("count", 3, "counts per segment")
		keep   = flag.Bool("keep", false, "keep the database (the SQLite path or the PostgreSQL URL with its schema is printed)")
		only   = flag.String("only", "", "count only the segment with this name")
		reuse  = flag.String("reuse", "", "count on this database (a SQLite path or a postgres:// URL with its search_path), filled by an earlier -keep run, instead of filling a new one")
		expl   = flag.Bool("explain", false, "print each segment's compiled count query and the engine's plan for it (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) instead of timing it")
	)
	flag.Parse()
	ctx := context.Background()
	fmt.Println("machine:", machine.Describe())

	target, cleanup, err := *reuse, func() {}, error(nil)
	if *reuse == "" {
		target, cleanup, err = open(*dbURL, *dir, *keep)
	}
	if err != nil {
		fail(err)
	}
	defer cleanup()
	db, err := store.Open(ctx, target)
	if err != nil {
		fail(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		fail(err)
	}
	if *reuse == "" {
		start := time.Now()
		if err := fill(ctx, db, *people); err != nil {
			fail(err)
		}
		fmt.Printf("filled %s: %d people in %s\n", db.Dialect(), *people, time.Since(start).Round(time.Millisecond))
	}

	svc := segment.New(db, segment.Options{})
	if *expl {
		for _, s := range segments {
			if *only != "" && s.name != *only {
				continue
			}
			if err := explain(ctx, db, svc, s.name, s.rules); err != nil {
				fail(fmt.Errorf("%s: %w", s.name, err))
			}
		}
		return
	}
	fmt.Printf("%-30s %10s %10s %10s %10s\n", "segment", "people", "best ms", "median ms", "cpu ms")
	for _, s := range segments {
		if *only != "" && s.name != *only {
			continue
		}
		var walls, cpus []float64
		var n int64
		for range *count {
			c0 := cpuTime()
			t0 := time.Now()
			pv, err := svc.Preview(ctx, []byte(s.rules), 0)
			wall := time.Since(t0)
			cpu := cpuTime() - c0
			if err != nil {
				fail(fmt.Errorf("%s: %w", s.name, err))
			}
			n = pv.Count
			walls = append(walls, ms(wall))
			cpus = append(cpus, ms(cpu))
		}
		slices.Sort(walls)
		slices.Sort(cpus)
		fmt.Printf("%-30s %10d %10.0f %10.0f %10.0f\n", s.name, n, walls[0], walls[len(walls)/2], cpus[len(cpus)/2])
	}
	fmt.Println("after:", machine.Describe())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuTime is this process's user + system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "segments:", err)
	os.Exit(1)
}

// open returns the database URL to use and what removes it after.
func open(dbURL, dir string, keep bool) (string, func(), error) {
	if dbURL == "" {
		d, err := os.MkdirTemp(dir, "pivand-segbench-")
		if err != nil {
			return "", nil, err
		}
		path := filepath.Join(d, "pivand.db")
		if keep {
			fmt.Println("database:", path)
			return path, func() {}, nil
		}
		return path, func() { os.RemoveAll(d) }, nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "segbench_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", nil, err
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if keep {
		fmt.Println("kept:", u.String())
		return u.String(), func() { admin.Close() }, nil
	}
	return u.String(), func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	}, nil
}

// fill generates the data in SQL, in one transaction per table.
func fill(ctx context.Context, db *store.DB, n int) error {
	pg := db.Dialect() == store.Postgres
	// series(i) is 1..n; rnd(i, k) a deterministic pseudo-random number
	// 0..k-1 of i; ts(days) a timestamp that many days before now.
	series := func(max string) string {
		if pg {
			return "(SELECT g AS i FROM generate_series(1, " + max + ") g) s"
		}
		return "(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < " + max + ") SELECT i FROM r) s"
	}
	rnd := func(expr string, salt, k int) string {
		return fmt.Sprintf("(((%s) * %d + %d) %% 1000003 %% %d)", expr, 2654435761+salt*40503, salt*7919, k)
	}
	now := time.Now().UTC().Truncate(time.Second)
	ts := func(days string) string {
		if pg {
			return "(TIMESTAMPTZ '" + now.Format("2006-01-02 15:04:05") + "+00' - (" + days + ") * INTERVAL '1 day')"
		}
		// the text form the driver writes (_time_format=sqlite), in UTC
		return "(strftime('%Y-%m-%d %H:%M:%S', '" + now.Format("2006-01-02 15:04:05") + "', '-' || (" + days + ") || ' days') || '+00:00')"
	}
	cat := func(a ...string) string {
		out := a[0]
		for _, x := range a[1:] {
			out += " || " + x
		}
		return out
	}
	text := func(expr string) string {
		if pg {
			return "(" + expr + ")::text"
		}
		return "CAST(" + expr + " AS TEXT)"
	}
	pick := func(expr string, vals ...string) string {
		out := "CASE " + expr
		for i, v := range vals {
			out += fmt.Sprintf(" WHEN %d THEN '%s'", i, v)
		}
		return out + " END"
	}
	jsonb := func(s string) string {
		if pg {
			return "(" + s + ")::jsonb"
		}
		return s
	}
	N := fmt.Sprint(n)
	steps := []struct{ what, sql string }{
		{"users", `INSERT INTO users (email, name, role, created_at, updated_at) VALUES ('a@x.test', 'A', 'admin', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
			('b@x.test', 'B', 'sales', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), ('c@x.test', 'C', 'sales', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`},
		{"contacts", `INSERT INTO contacts (id, first_name, last_name, sort_name, language, source, addresses, custom, owner_id, created_at, updated_at)
			SELECT i, ` + pick(rnd("i", 1, 6), "Ali", "رضا", "Sara", "مریم", "Omid", "زهرا") + `, ` + cat("'L'", text("i")) + `, ` + cat("'l'", text("i")) + `,
			` + pick(rnd("i", 2, 4), "fa", "fa", "en", "ar") + `, ` + pick(rnd("i", 3, 4), "web", "instagram", "store", "") + `,
			` + jsonb(cat(`'[{"label":"home","city":"'`, pick(rnd("i", 4, 5), "Tehran", "Shiraz", "Tabriz", "Dubai", "Mashhad"), `'","country":"IR"}]'`)) + `,
			` + jsonb(cat(`'{"size":"'`, pick(rnd("i", 5, 4), "S", "M", "L", "XL"), `'"}'`)) + `,
			CASE ` + rnd("i", 6, 4) + ` WHEN 0 THEN NULL ELSE ` + rnd("i", 6, 4) + ` END,
			` + ts(rnd("i", 7, 1100)) + `, ` + ts(rnd("i", 8, 300)) + ` FROM ` + series(N)},
		{"custom field", `INSERT INTO custom_fields (entity, key, label, type, options, created_at, updated_at)
			VALUES ('contact', 'size', 'Size', 'select', '["S","M","L","XL"]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`},
		{"names", `INSERT INTO contact_keys (kind, value, contact_id) SELECT 'name', lower(first_name || ' ' || last_name), id FROM contacts`},
		{"emails", `INSERT INTO contact_keys (kind, value, contact_id) SELECT 'email', ` + cat("'p'", text("i"), pick(rnd("i", 9, 3), "@gmail.com", "@yahoo.com", "@shop.ir")) + `, i
			FROM ` + series(N) + ` WHERE ` + rnd("i", 10, 10) + ` < 7`},
		{"phones", `INSERT INTO contact_keys (kind, value, contact_id) SELECT 'phone', ` + cat("'+98912'", text("1000000 + i")) + `, i FROM ` + series(N) + ` WHERE ` + rnd("i", 11, 10) + ` < 9`},
		{"tags", `INSERT INTO contact_tags (tag, contact_id) SELECT ` + pick(rnd("i", 12, 5), "vip", "wholesale", "press", "newsletter", "staff") + `, i FROM ` + series(N) + ` WHERE ` + rnd("i", 13, 10) + ` < 3`},
		{"consents", `INSERT INTO contact_consents (contact_id, channel, status, source, changed_at) SELECT i, 'email', ` + pick(rnd("i", 14, 3), "granted", "granted", "withdrawn") + `, 'import', CURRENT_TIMESTAMP
			FROM ` + series(N) + ` WHERE ` + rnd("i", 15, 10) + ` < 6`},
		{"companies", `INSERT INTO companies (id, name, industry, created_at, updated_at) SELECT i, ` + cat("'Co '", text("i")) + `, ` + pick(rnd("i", 16, 3), "Retail", "Food", "Tech") + `, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM ` + series("1000")},
		{"company links", `INSERT INTO contact_companies (contact_id, company_id, created_at) SELECT i, 1 + ` + rnd("i", 17, 1000) + `, CURRENT_TIMESTAMP FROM ` + series(N) + ` WHERE ` + rnd("i", 18, 10) + ` < 2`},
		// About one order per person: people 1..n/2 buy, some several times.
		{"orders", `INSERT INTO orders (id, contact_id, status, currency, subtotal, total, channel, placed_at, created_at, updated_at)
			SELECT i, 1 + ` + rnd("i", 19, n/2) + `, 'placed', 'IRR', 100000 * (1 + ` + rnd("i", 20, 50) + `), 100000 * (1 + ` + rnd("i", 20, 50) + `), 'web',
			` + ts(rnd("i", 21, 730)) + `, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM ` + series(N)},
		{"order lines", `INSERT INTO order_lines (order_id, sku, name, quantity, unit_price, total) SELECT i, ` + cat("'SKU-'", text(rnd("i", 22, 200))) + `, 'Item', 1, 100000, 100000 FROM ` + series(N)},
		{"club", `INSERT INTO club_programs (id, name, currency, earn_points, earn_amount, rounding, tier_window, downgrade, created_at, updated_at)
			VALUES (1, 'Club', 'IRR', 1, 1000, 'down', 'rolling_12m', 'never', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`},
		{"tiers", `INSERT INTO club_tiers (id, program_id, name, threshold, multiplier, created_at, updated_at) VALUES (1, 1, 'Silver', 0, 100, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
			(2, 1, 'Gold', 10000000, 200, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`},
		{"members", `INSERT INTO club_members (program_id, contact_id, number, card_code, token_hash, referral_code, tier_id, status, enrolled_via, available, created_at, updated_at)
			SELECT 1, i, ` + cat("'N'", text("i")) + `, ` + cat("'C'", text("i")) + `, ` + cat("'T'", text("i")) + `, ` + cat("'R'", text("i")) + `, 1 + ` + rnd("i", 23, 2) + `, 'active', 'order', ` + rnd("i", 24, 2000) + `, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
			FROM ` + series(N) + ` WHERE ` + rnd("i", 25, 10) + ` < 3`},
		{"tickets", `INSERT INTO desk_tickets (ref, subject, contact_id, channel, priority, tier, status, created_at, updated_at)
			SELECT ` + cat("'R'", text("i")) + `, 'Help', 1 + ` + rnd("i", 26, n) + `, 'email', 'normal', 'standard', ` + pick(rnd("i", 27, 3), "open", "solved", "closed") + `, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
			FROM ` + series(fmt.Sprint(n/10))},
	}
	for _, s := range steps {
		t0 := time.Now()
		err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, s.sql)
			return err
		})
		if err != nil {
			return fmt.Errorf("fill %s: %w", s.what, err)
		}
		fmt.Printf("  %-14s %s\n", s.what, time.Since(t0).Round(time.Millisecond))
	}
	analyze := "ANALYZE"
	return db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, analyze); return err })
}

// explain prints the count query a segment compiles to and the plan the
// engine picks for it: what to read before changing a compiler.
func explain(ctx context.Context, db *store.DB, svc *segment.Service, name, rules string) error {
	return db.Read(ctx, func(tx *store.Tx) error {
		r, err := svc.Check(ctx, tx, []byte(rules))
		if err != nil {
			return err
		}
		q, err := tx.CompileRules(ctx, &r, tx.Now())
		if err != nil {
			return err
		}
		query := `SELECT COUNT(*) FROM contacts c WHERE ` + q.Where
		prefix := `EXPLAIN QUERY PLAN `
		if db.Dialect() == store.Postgres {
			prefix = `EXPLAIN (ANALYZE, BUFFERS) `
		}
		fmt.Printf("== %s\n%s\n%v\n", name, query, q.Args)
		rows, err := tx.Query(ctx, prefix+query, q.Args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			fmt.Println(vals[len(vals)-1])
		}
		return rows.Err()
	})
}
