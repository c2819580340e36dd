// Command sqlfloor measures the SQLite work of a contacts import alone,
// without Pivand: no CSV, no Go preparation, no per-row statements. It
// takes the database of a finished import (bench/run.sh leaves one),
// creates the contacts tables empty in a new file, and then runs, one
// statement each, what an import's bulk load makes SQLite do: append the
// people, their events, tags, company links and keys in id order, then
// move the keys in key order, build the indexes a bulk load defers and
// the full-text index (rebuild and optimize, as the import does).
//
// It runs the statements twice: through modernc.org/sqlite (the pure-Go
// SQLite that Pivand uses) and, when the sqlite3 command is installed,
// through that C SQLite, and prints each statement's time and the
// process CPU. The sum is a floor: the fastest either engine can write
// the rows of that import on this machine, before any of Pivand's own
// work. See docs/performance.md, "What the 20 s budget would take".
//
//	go run ./bench/sqlfloor -from /tmp/pivand-bench.X/data/pivand.db
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "modernc.org/sqlite"

	"github.com/pivand/pivand/bench/machine"
)

// tables are the tables an import writes, in the order they are copied.
var tables = []struct{ name, copy string }{
	{"contacts", `INSERT INTO contacts SELECT * FROM o.contacts ORDER BY id`},
	{"events", `INSERT INTO events SELECT * FROM o.events ORDER BY id`},
	{"contact_tags", `INSERT INTO contact_tags SELECT * FROM o.contact_tags ORDER BY contact_id`},
	{"contact_companies", `INSERT INTO contact_companies SELECT * FROM o.contact_companies ORDER BY contact_id`},
	{"contact_keys_load", `INSERT INTO contact_keys_load (contact_id, kind, value) SELECT contact_id, kind, value FROM o.contact_keys ORDER BY contact_id`},
	{"contact_keys", ``},
}

// deferred are the indexes a bulk load builds at its end (internal/store,
// contactBulkSchema and RestoreContactSchema).
var deferred = map[string]bool{"contacts_sort_name": true, "contact_companies_company": true, "contact_keys_contact": true}

var endSteps = []string{
	`INSERT INTO contact_keys (kind, value, contact_id) SELECT kind, value, contact_id FROM contact_keys_load WHERE true ORDER BY kind, value, contact_id ON CONFLICT DO NOTHING`,
	`CREATE INDEX contact_keys_contact ON contact_keys(contact_id)`,
	`CREATE INDEX contacts_sort_name ON contacts(sort_name, id)`,
	`CREATE INDEX contact_companies_company ON contact_companies(company_id, contact_id)`,
	`CREATE VIRTUAL TABLE contacts_fts USING fts5(search_text, content='contacts', content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='1 2 3')`,
	`INSERT INTO contacts_fts(contacts_fts, rank) VALUES ('automerge', 0)`,
	`INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')`,
	`INSERT INTO contacts_fts(contacts_fts) VALUES ('optimize')`,
}

func main() {
	from := flag.String("from", "", "the pivand.db of a finished import (required)")
	dir := flag.String("dir", "", "where to write the new databases (default: a temporary directory, removed at the end)")
	flag.Parse()
	if err := run(*from, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "sqlfloor:", err)
		os.Exit(1)
	}
}

func run(from, dir string) error {
	if from == "" {
		return errors.New("-from is required: the pivand.db of a finished import")
	}
	if _, err := os.Stat(from); err != nil {
		return err
	}
	from, _ = filepath.Abs(from)
	if dir == "" {
		d, err := os.MkdirTemp("", "sqlfloor")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	script, rows, err := buildScript(from)
	if err != nil {
		return err
	}
	fmt.Println(machine.Describe())
	fmt.Printf("source: %s (%s people)\n\n", from, rows)

	fmt.Println("== modernc.org/sqlite (pure Go, as Pivand)")
	goTotal, err := runGo(filepath.Join(dir, "go.db"), script)
	if err != nil {
		return err
	}
	fmt.Println()
	cli, err := exec.LookPath("sqlite3")
	if err != nil {
		fmt.Println("== C SQLite: the sqlite3 command is not installed (Debian: apt-get install sqlite3); skipped")
		return nil
	}
	out, _ := exec.Command(cli, "--version").Output()
	fmt.Printf("== C SQLite (%s %s)\n", cli, strings.Fields(string(out) + " ?")[0])
	cTotal, err := runCLI(cli, filepath.Join(dir, "c.db"), script)
	if err != nil {
		return err
	}
	fmt.Printf("\npure Go / C: %.2f× the wall time\n", goTotal.Seconds()/cTotal.Seconds())
	return nil
}

// buildScript returns the statements: pragmas, the schema of the tables
// (from the source, without the deferred indexes and the full-text
// triggers), the copies and the end of the load.
func buildScript(from string) ([]string, string, error) {
	db, err := sql.Open("sqlite", "file:"+from+"?mode=ro")
	if err != nil {
		return nil, "", err
	}
	defer db.Close()
	var rows string
	if err := db.QueryRow(`SELECT COUNT(*) FROM contacts`).Scan(&rows); err != nil {
		return nil, "", fmt.Errorf("%s: %w", from, err)
	}
	script := []string{`PRAGMA journal_mode=WAL`, `PRAGMA synchronous=NORMAL`}
	for _, t := range tables {
		var create string
		if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, t.name).Scan(&create); err != nil {
			return nil, "", fmt.Errorf("%s: table %s: %w", from, t.name, err)
		}
		script = append(script, create)
		ix, err := db.Query(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`, t.name)
		if err != nil {
			return nil, "", err
		}
		for ix.Next() {
			var name, q string
			if err := ix.Scan(&name, &q); err != nil {
				ix.Close()
				return nil, "", err
			}
			if !deferred[name] {
				script = append(script, q)
			}
		}
		if err := ix.Close(); err != nil {
			return nil, "", err
		}
	}
	script = append(script, `ATTACH '`+strings.ReplaceAll(from, "'", "''")+`' AS o`, "-- timed")
	for _, t := range tables {
		if t.copy != "" {
			script = append(script, t.copy)
		}
	}
	return append(script, endSteps...), rows, nil
}

func runGo(path string, script []string) (time.Duration, error) {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	timed := false
	var total time.Duration
	cpu0 := cpuTime()
	for _, q := range script {
		if q == "-- timed" {
			timed, cpu0 = true, cpuTime()
			continue
		}
		start := time.Now()
		if _, err := db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("%.60s: %w", q, err)
		}
		if timed {
			d := time.Since(start)
			total += d
			fmt.Printf("%7.2fs  %.90s\n", d.Seconds(), oneLine(q))
		}
	}
	fmt.Printf("%7.2fs  in all, %.1f s of CPU\n", total.Seconds(), (cpuTime() - cpu0).Seconds())
	return total, nil
}

// runCLI feeds the same statements to the sqlite3 command with its timer
// on, and prints the time of each timed one.
func runCLI(cli, path string, script []string) (time.Duration, error) {
	var in strings.Builder
	for _, q := range script {
		if q == "-- timed" {
			in.WriteString(".timer on\n")
			continue
		}
		in.WriteString(q + ";\n")
	}
	cmd := exec.Command(cli, "-bail", path)
	cmd.Stdin = strings.NewReader(in.String())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("sqlite3: %v: %s", err, out)
	}
	var times []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[0] == "Run" && f[1] == "Time:" {
			times = append(times, f[3])
		}
	}
	timedSteps := script[len(script)-len(times):]
	var total time.Duration
	for i, t := range times {
		d, _ := time.ParseDuration(t + "s")
		total += d
		fmt.Printf("%7.2fs  %.90s\n", d.Seconds(), oneLine(timedSteps[i]))
	}
	var cpu time.Duration
	if u, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = time.Duration(u.Utime.Nano() + u.Stime.Nano())
	}
	fmt.Printf("%7.2fs  in all, %.1f s of CPU (the whole sqlite3 process, %.1f s wall)\n", total.Seconds(), cpu.Seconds(), wall.Seconds())
	return total, nil
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }

func cpuTime() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
