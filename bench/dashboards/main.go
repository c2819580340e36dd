// Command dashboards measures the server time of the report dashboards on
// a big shop: by default 1,000,000 customers (people, club members and
// analytics scores) and 10,000,000 orders over five years with returns,
// generated straight into a SQLite database (not through the services:
// that would take hours). It then builds the report aggregates (the same
// rebuild pivand serve runs the first time), folds a thousand new orders
// in through the order service and the reports' subscriber and worker,
// and finally starts pivand serve on the data and opens each dashboard
// many times, signed in, reading the server's own time for each request
// from its access log (duration_ms, matched by X-Request-ID).
//
//	go run ./bench/dashboards                         # 1M customers, 10M orders in /tmp/pivand-dashboards
//	go run ./bench/dashboards -customers 100000 -orders 1000000 -dir /tmp/small
//
// The data is kept in -dir and reused by the next run with the same sizes
// (-fresh makes it again). It prints the time to generate, the rebuild's
// time, CPU and peak memory, the time to fold new orders in, and for each
// page the server time as min / median / p90 / max over -n requests after
// a warm-up, with the server's CPU time per request (from /proc), the
// machine and the load average.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/store"
)

func main() {
	var (
		customers = flag.Int("customers", 1_000_000, "customers (people, club members, scored customers)")
		orders    = flag.Int("orders", 10_000_000, "orders")
		dir       = flag.String("dir", "/tmp/pivand-dashboards", "data directory (kept for the next run)")
		fresh     = flag.Bool("fresh", false, "generate the data again even if -dir holds it")
		n         = flag.Int("n", 30, "requests of each page")
		lang      = flag.String("lang", "fa", "the viewer's language (fa: Jalali months, Persian digits)")
		bin       = flag.String("pivand", "", "the pivand binary (built from ./cmd/pivand when empty)")
		rebuild   = flag.Bool("rebuild", false, "rebuild the aggregates of existing data (in this process, for its time and peak memory)")
		verbose   = flag.Bool("v", false, "log the reports' work in detail (each cached figure's time)")
	)
	flag.Parse()
	if *verbose {
		slog.SetLogLoggerLevel(slog.LevelDebug)
	}
	if err := run(*customers, *orders, *dir, *fresh, *rebuild, *n, *lang, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "dashboards:", err)
		os.Exit(1)
	}
}

const password = "correct horse battery"

func run(customers, orders int, dir string, fresh, rebuild bool, n int, lang, bin string) error {
	ctx := context.Background()
	fmt.Println("machine:", machine.Describe())
	marker := filepath.Join(dir, fmt.Sprintf("generated-%d-%d", customers, orders))
	if fresh {
		os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_, err := os.Stat(marker)
	have := err == nil
	db, err := store.Open(ctx, store.SQLitePath(dir))
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	reports := report.New(db, report.Options{Logger: slog.Default()})
	if !have {
		start := time.Now()
		if err := generate(ctx, db, customers, orders); err != nil {
			return err
		}
		fmt.Printf("generate: %d customers, %d orders in %s\n", customers, orders, time.Since(start).Round(time.Second))
		if err := reports.SetTimeZone(ctx, "Asia/Tehran"); err != nil {
			return err
		}
		rebuild = true
	} else {
		fmt.Printf("reusing %s (%d customers, %d orders)\n", dir, customers, orders)
	}
	if rebuild {
		if err := reports.Rebuild(ctx); err != nil {
			return err
		}
		rss := machine.PeakRSS("self")
		start, cpu := time.Now(), cpuTime("self")
		if err := reports.Step(ctx); err != nil { // the rebuild, then the caches (none yet)
			return err
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("rebuild the aggregates (and compute the caches): %s wall, %s CPU, peak RSS %d MB (%d MB before; Go heap from the OS %d MB, the rest is SQLite's page caches)\n",
			time.Since(start).Round(time.Millisecond), (cpuTime("self") - cpu).Round(time.Millisecond), machine.PeakRSS("self")>>20, rss>>20, ms.HeapSys>>20)
		if err := os.WriteFile(marker, nil, 0o644); err != nil {
			return err
		}
	}

	// New orders through the order service, folded in by the reports'
	// subscriber and worker: what a busy hour adds.
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	osvc := order.New(db, order.Options{Resolve: contacts.ResolveCustomer})
	events := event.NewDispatcher(db, quiet)
	reports.Subscribe(events)
	if err := events.Drain(ctx); err != nil { // a new cursor starts from now
		return err
	}
	r := rand.New(rand.NewPCG(99, uint64(time.Now().UnixNano())))
	const added = 1000
	for i := range added {
		id := int64(1 + r.IntN(customers))
		if _, _, err := osvc.Create(ctx, order.Input{Currency: "IRR", Customer: crm.CustomerRef{ContactID: id},
			Lines: []order.LineInput{{SKU: "TEA", Name: "tea", Quantity: 1, UnitPrice: int64(100_000 + i)}}}); err != nil {
			return err
		}
	}
	start, cpu := time.Now(), cpuTime("self")
	if err := events.Drain(ctx); err != nil {
		return err
	}
	if err := reports.Step(ctx); err != nil {
		return err
	}
	fmt.Printf("fold %d new orders in (the subscriber's marks, then one round of the worker): %s wall, %s CPU\n", added,
		time.Since(start).Round(time.Millisecond), (cpuTime("self") - cpu).Round(time.Millisecond))
	start, cpu = time.Now(), cpuTime("self")
	if err := reports.Sync(ctx); err != nil { // every cache, whatever its age
		return err
	}
	fmt.Printf("recompute every cached figure (Pareto over every customer, club balances, the analytics run's counts): %s wall, %s CPU\n",
		time.Since(start).Round(time.Millisecond), (cpuTime("self") - cpu).Round(time.Millisecond))
	db.Close()

	// pivand serve on the data.
	if bin == "" {
		bin = filepath.Join(dir, "pivand")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/pivand").CombinedOutput(); err != nil {
			return fmt.Errorf("build pivand: %v\n%s", err, out)
		}
	}
	email := "bench-" + lang + "@example.com"
	if out, err := exec.Command(bin, "user", "create", "--data", dir, "--email", email, "--password", password, "--role", "admin").CombinedOutput(); err != nil &&
		!strings.Contains(string(out), "already") {
		return fmt.Errorf("pivand user create: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.Command(bin, "serve", "--data", dir, "--addr", addr)
	srv.Env = append(os.Environ(), "PIVAND_LOG_FORMAT=json")
	logs, err := srv.StderrPipe()
	if err != nil {
		return err
	}
	srv.Stdout = io.Discard
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	durations := &serverLog{ms: map[string]float64{}, cond: sync.NewCond(&sync.Mutex{})}
	go durations.read(logs)
	base := "http://" + addr
	c, err := signIn(base, email, lang)
	if err != nil {
		return err
	}
	pid := strconv.Itoa(srv.Process.Pid)
	// Let the server's start-up work (event subscribers catching up on
	// the new orders, jobs) finish: until it spends under 5% of a core.
	for i := 0; i < 120; i++ {
		c0 := cpuTime(pid)
		time.Sleep(time.Second)
		if cpuTime(pid)-c0 < 50*time.Millisecond {
			break
		}
	}
	fmt.Printf("pages (server time from pivand serve's access log; %d requests each after a warm-up, one at a time):\n", n)
	all := "/reports/manager?preset=custom&from=2020/01/01&to=2026/12/31" // the five years of orders, by month
	if lang == "fa" {
		all = "/reports/manager?preset=custom&from=1399/01/01&to=1405/12/29"
	}
	for _, page := range []string{"/reports/manager", "/reports/marketing", "/reports/sales", "/reports/club", "/reports/service",
		"/reports/manager?preset=last_year", all, "/reports/manager/revenue.csv"} {
		var times []float64
		var size int
		var cpu time.Duration
		for i := range n + 1 {
			if i == 1 {
				cpu = cpuTime(pid) // the warm-up is not counted
			}
			resp, err := c.Get(base + page)
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: status %d\n%.2000s", page, resp.StatusCode, b)
			}
			d := durations.wait(resp.Header.Get("X-Request-ID"))
			if i > 0 {
				times = append(times, d)
				size = len(b)
			}
		}
		per := (cpuTime(pid) - cpu) / time.Duration(n)
		slices.Sort(times)
		fmt.Printf("  %-60s min %6.1fms  median %6.1fms  p90 %6.1fms  max %6.1fms  server CPU/request %6.1fms  %4d kB\n", page,
			times[0], times[len(times)/2], times[int(math.Ceil(float64(len(times))*0.9))-1], times[len(times)-1], float64(per.Microseconds())/1000, size>>10)
	}
	fmt.Printf("pivand serve: peak RSS %d MB\n", machine.PeakRSS(pid)>>20)
	fmt.Println("load after:", loadavg())
	return nil
}

// serverLog collects duration_ms by request_id from the server's JSON log.
type serverLog struct {
	ms   map[string]float64
	cond *sync.Cond
}

func (l *serverLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg       string  `json:"msg"`
			RequestID string  `json:"request_id"`
			Duration  float64 `json:"duration_ms"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.Msg != "request" {
			continue
		}
		l.cond.L.Lock()
		l.ms[rec.RequestID] = rec.Duration
		l.cond.Broadcast()
		l.cond.L.Unlock()
	}
}

// wait returns the server time of request id once it is logged.
func (l *serverLog) wait(id string) float64 {
	l.cond.L.Lock()
	defer l.cond.L.Unlock()
	for {
		if d, ok := l.ms[id]; ok {
			return d
		}
		l.cond.Wait()
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

// cpuTime is the user + system CPU time of process pid ("self" for this
// one), from /proc.
func cpuTime(pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // clock ticks (USER_HZ 100)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// signIn signs in through the form (waiting for the server to answer)
// and sets the user's language, calendar and digits.
func signIn(base, email, lang string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := func(page string) (string, error) {
		var resp *http.Response
		var err error
		for range 200 {
			if resp, err = c.Get(base + page); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
		if m == nil {
			return "", fmt.Errorf("no CSRF token on %s (status %d)", page, resp.StatusCode)
		}
		return string(m[1]), nil
	}
	tok, err := csrf("/signin")
	if err != nil {
		return nil, err
	}
	resp, err := c.PostForm(base+"/signin", url.Values{"csrf": {tok}, "email": {email}, "password": {password}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in: status %d", resp.StatusCode)
	}
	cal, digits := "gregorian", "latin"
	if lang == "fa" {
		cal, digits = "jalali", "persian"
	}
	if tok, err = csrf("/settings/preferences"); err != nil {
		return nil, err
	}
	resp, err = c.PostForm(base+"/settings/preferences", url.Values{"csrf": {tok}, "language": {lang}, "calendar": {cal}, "digits": {digits}, "time_zone": {"Asia/Tehran"}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("preferences: status %d", resp.StatusCode)
	}
	return c, nil
}

// generate writes the shop straight into the tables.
func generate(ctx context.Context, db *store.DB, customers, orders int) error {
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	const batch = 20_000
	write := func(what string, total int, fn func(tx *store.Tx, lo, hi int) error) error {
		t0 := time.Now()
		for lo := 0; lo < total; lo += batch {
			hi := min(lo+batch, total)
			if err := db.Write(ctx, func(tx *store.Tx) error { return fn(tx, lo, hi) }); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			if lo/batch%25 == 0 {
				fmt.Fprintf(os.Stderr, "\r%s %d/%d", what, hi, total)
			}
		}
		fmt.Fprintf(os.Stderr, "\r%s %d in %s\n", what, total, time.Since(t0).Round(time.Second))
		return nil
	}
	// Secondary indexes are dropped while a table fills and built again
	// after (from their own CREATE statements): building an index from
	// sorted data is many times faster than updating it per row.
	withoutIndexes := func(table string, fn func() error) error {
		var defs []string
		err := db.Read(ctx, func(tx *store.Tx) error {
			rows, err := tx.Query(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var name, def string
				if err := rows.Scan(&name, &def); err != nil {
					return err
				}
				defs = append(defs, name+"\x00"+def)
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		for _, d := range defs {
			name, _, _ := strings.Cut(d, "\x00")
			if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, `DROP INDEX `+name); return err }); err != nil {
				return err
			}
		}
		if err := fn(); err != nil {
			return err
		}
		t0 := time.Now()
		for _, d := range defs {
			_, def, _ := strings.Cut(d, "\x00")
			if err := db.Write(ctx, func(tx *store.Tx) error { _, err := tx.Exec(ctx, def); return err }); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "%s: %d indexes built in %s\n", table, len(defs), time.Since(t0).Round(time.Second))
		return nil
	}
	first := []string{"Sara", "Ali", "Maryam", "Reza", "Fatemeh", "Hossein", "Zahra", "Mohammad", "Layla", "Omar"}
	last := []string{"Rezaei", "Ahmadi", "Karimi", "Hosseini", "Moradi", "Jafari", "Haddad", "Saleh"}
	err := write("people", customers, func(tx *store.Tx, lo, hi int) error {
		return insertRows(ctx, tx, `INSERT INTO contacts (id, first_name, last_name, sort_name, created_at, updated_at) VALUES `, 6, hi-lo, func(i int) []any {
			id := lo + i + 1
			f, l := first[id%len(first)], last[id/7%len(last)]
			return []any{id, f, l, strings.ToLower(l + " " + f), now, now}
		})
	})
	if err != nil {
		return err
	}
	// Customers order with a skewed frequency (a few buy often, most
	// rarely): customer ⌊customers·u³⌋ for uniform u.
	start := now.AddDate(-5, 0, 0)
	span := now.Sub(start)
	channels := []string{"in_store", "web", "phone", "telegram"}
	err = withoutIndexes("orders", func() error {
		return write("orders", orders, func(tx *store.Tx, lo, hi int) error {
			return insertRows(ctx, tx, `INSERT INTO orders (id, source, external_id, contact_id, status, currency, subtotal, discount, total, returned_total,
			channel, placed_at, created_at, updated_at) VALUES `, 14, hi-lo, func(i int) []any {
				id := lo + i + 1
				u := r.Float64()
				cust := 1 + int(float64(customers)*u*u*u)
				// Later years sell more: placed at span·√v.
				at := start.Add(time.Duration(float64(span) * math.Sqrt(r.Float64()))).Truncate(time.Second)
				total := int64(50_000 + r.IntN(4_000_000))
				discount := int64(0)
				if r.IntN(10) == 0 {
					discount = total / 10
				}
				status, returned := crm.OrderPlaced, int64(0)
				if r.IntN(20) == 0 {
					status, returned = crm.OrderPartiallyReturned, total/3
				}
				return []any{id, "bench", fmt.Sprint(id), cust, status, "IRR", total + discount, discount, total, returned, channels[r.IntN(4)], at, at, at}
			})
		})
	})
	if err != nil {
		return err
	}
	// The returns behind the returned totals: one per returned order.
	err = db.Write(ctx, func(tx *store.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO order_returns (order_id, contact_id, reason, amount, created_at)
			SELECT id, contact_id, CASE id % 5 WHEN 0 THEN 'changed_mind' WHEN 1 THEN 'defect' WHEN 2 THEN 'wrong_item' WHEN 3 THEN 'late' ELSE 'other' END,
			returned_total, placed_at FROM orders WHERE returned_total > 0`)
		return err
	})
	if err != nil {
		return err
	}
	var program int64
	err = db.Write(ctx, func(tx *store.Tx) error {
		program, err = tx.InsertID(ctx, `INSERT INTO club_programs (name, currency, earn_points, earn_amount, rounding, tier_window, downgrade,
			point_value, value_points, created_at, updated_at) VALUES ('Mehr club', 'IRR', 1, 10000, 'down', 'calendar_year', 'never', 1000, 1, ?, ?) RETURNING id`, now, now)
		return err
	})
	if err != nil {
		return err
	}
	err = withoutIndexes("club_members", func() error {
		return write("club members", customers, func(tx *store.Tx, lo, hi int) error {
			return insertRows(ctx, tx, `INSERT INTO club_members (program_id, contact_id, number, card_code, token_hash, referral_code, status, enrolled_via,
			available, pending, reserved, created_at, updated_at) VALUES `, 13, hi-lo, func(i int) []any {
				id := lo + i + 1
				s := fmt.Sprint(id)
				return []any{program, id, "M" + s, "C" + s, "T" + s, "R" + s, "active", "order", r.IntN(5000), r.IntN(300), 0, now, now}
			})
		})
	})
	if err != nil {
		return err
	}
	// A finished analytics run scoring every customer.
	var run int64
	err = db.Write(ctx, func(tx *store.Tx) error {
		ar := &store.AnalyticsRun{Status: store.RunDone, Via: "cli"}
		if err := tx.InsertAnalyticsRun(ctx, ar); err != nil {
			return err
		}
		ar.Currency, ar.Customers, ar.ModelStatus, ar.SpendStatus, ar.FinishedAt = "IRR", int64(customers), "ok", "ok", &now
		run = ar.ID
		if err := tx.SaveAnalyticsRun(ctx, ar); err != nil {
			return err
		}
		return tx.CreateScoreTable(ctx, run)
	})
	if err != nil {
		return err
	}
	err = write("analytics scores", customers, func(tx *store.Tx, lo, hi int) error {
		rows := make([]store.CustomerScore, 0, hi-lo)
		for id := lo + 1; id <= hi; id++ {
			rs, fm := 1+r.IntN(5), 1+r.IntN(5)
			risk := r.Float64()
			band := "low"
			switch {
			case risk >= 0.6:
				band = "high"
			case risk >= 0.3:
				band = "medium"
			}
			alive, clv := 1-risk, int64(math.Exp(12+2*r.NormFloat64()))
			rows = append(rows, store.CustomerScore{RunID: run, ContactID: int64(id), Currency: "IRR", Orders: int64(1 + r.IntN(20)),
				TotalSpent: int64(r.IntN(50_000_000)), FirstOrderAt: now.AddDate(-3, 0, 0), LastOrderAt: now.AddDate(0, -r.IntN(30), 0),
				R: rs, F: fm, M: fm, Cell: "111", Segment: analytics.RFMSegment(rs, fm, fm), PrevSegment: analytics.RFMSegment(1+r.IntN(5), fm, fm),
				PAlive: &alive, ChurnRisk: &risk, ChurnBand: band, CLV: &clv})
		}
		return tx.InsertCustomerScores(ctx, rows)
	})
	if err != nil {
		return err
	}
	return db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.IndexScoreTable(ctx, run); err != nil {
			return err
		}
		return tx.SetCurrentAnalyticsRun(ctx, run)
	})
}

// insertRows runs head + "(?, …), …" for n rows of cols values, in
// statements of at most 500 rows.
func insertRows(ctx context.Context, tx *store.Tx, head string, cols, n int, row func(i int) []any) error {
	const per = 500
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, (hi-lo)*cols)
		for i := lo; i < hi; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteString(tuple)
			args = append(args, row(i)...)
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
