// Command sales measures the sales board and stage moves.
//
//	go run ./bench/sales                       # SQLite in a temporary directory
//	go run ./bench/sales -db 'postgres://…'    # PostgreSQL (a fresh schema)
//
// The board: a pipeline with -deals open deals (10,000 by default) over
// -stages stages, rendered by the real web handler for a signed-in user
// (session, permissions, the column sums over every open deal, the first
// 50 cards of each column with their people, companies and owners, the
// template), timed in the server: wall time and process CPU time per
// render, plain and filtered by owner and tag.
//
// Moves: stage moves per second through the sales service (each a
// transaction with the version check, the stage history row, the audit
// entry and the deal.stage_changed event), with one mover and with
// -workers movers; and the same moves posted as the board's script posts
// them (HTTP handler, JSON answer with every column's new totals).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/web"
)

func main() {
	var (
		dbURL   = flag.String("db", "", "database: a postgres:// URL (a fresh schema is made in it), or empty for SQLite in a temporary directory")
		deals   = flag.Int("deals", 10000, "open deals on the board")
		stages  = flag.Int("stages", 6, "open stages of the pipeline")
		renders = flag.Int("renders", 40, "board renders per variant")
		moves   = flag.Int("moves", 3000, "stage moves per round")
		workers = flag.Int("workers", 4, "concurrent movers in the concurrent round")
		profile = flag.String("cpuprofile", "", "write a CPU profile of the timed parts to this file")
	)
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sales:", err)
			os.Exit(1)
		}
		defer f.Close()
		cpuProfile = f
	}
	if err := run(*dbURL, *deals, *stages, *renders, *moves, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "sales:", err)
		os.Exit(1)
	}
}

// cpuProfile, when set, receives a CPU profile of the timed parts.
var cpuProfile *os.File

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(dbURL string, nDeals, nStages, renders, nMoves, workers int) error {
	ctx := context.Background()
	fmt.Println("machine:", machine.Describe())
	u, cleanup, err := database(dbURL)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := store.Open(ctx, u)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	au := auth.New(db, auth.Options{})
	cs := contact.New(db, contact.Options{DefaultRegion: "IR"})
	sl := sales.New(db, sales.Options{Person: cs.PersonForLead, Company: cs.CompanyForLead, Logger: quiet})
	admin, err := au.SetupFirstAdmin(ctx, crm.UserCreate{Email: "admin@example.com", Name: "Admin", Password: "correct horse battery", Role: crm.RoleAdmin})
	if err != nil {
		return err
	}
	actx := crm.NewContextWithUser(ctx, admin)

	// The data: owners, people, companies, a pipeline and open deals,
	// written in batches straight through the store (not timed).
	start := time.Now()
	in := sales.PipelineInput{Name: "Main", Currency: "IRR"}
	for i := range nStages {
		p := 10 + 80*i/nStages
		in.Stages = append(in.Stages, sales.StageInput{Name: fmt.Sprintf("Stage %d", i+1), Probability: &p})
	}
	pipe, err := sl.CreatePipeline(actx, in)
	if err != nil {
		return err
	}
	open := pipe.OpenStages()
	owners := []int64{admin.ID}
	people := make([]int64, 0, 2000)
	companies := make([]int64, 0, 500)
	err = db.Write(ctx, func(tx *store.Tx) error {
		for i := range 9 {
			u := &crm.User{Email: fmt.Sprintf("rep%d@example.com", i), Name: fmt.Sprintf("Rep %d", i), Role: crm.RoleSales, Active: true,
				Preferences: crm.DefaultPreferences("en")}
			if err := tx.CreateUser(ctx, u, "x"); err != nil {
				return err
			}
			owners = append(owners, u.ID)
		}
		for i := range 2000 {
			id, err := tx.InsertID(ctx, `INSERT INTO contacts (first_name, last_name, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`,
				"Person", strconv.Itoa(i), tx.Now(), tx.Now())
			if err != nil {
				return err
			}
			people = append(people, id)
		}
		for i := range 500 {
			id, err := tx.InsertID(ctx, `INSERT INTO companies (name, created_at, updated_at) VALUES (?, ?, ?) RETURNING id`,
				fmt.Sprintf("Company %d", i), tx.Now(), tx.Now())
			if err != nil {
				return err
			}
			companies = append(companies, id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ids := make([]int64, 0, nDeals)
	versions := make([]int64, 0, nDeals)
	stageOf := make([]int, 0, nDeals)
	for done := 0; done < nDeals; {
		err := db.Write(ctx, func(tx *store.Tx) error {
			for k := 0; k < 1000 && done < nDeals; k++ {
				i := done
				st := open[i%len(open)]
				d := &crm.Deal{PipelineID: pipe.ID, StageID: st.ID, Status: crm.DealOpen, Title: fmt.Sprintf("Deal %d for Company %d", i, i%500),
					Value: int64(100_000 * (1 + i%97)), Currency: "IRR", ContactID: people[i%len(people)], CompanyID: companies[i%len(companies)],
					OwnerID: owners[i%len(owners)], ExpectedClose: time.Date(2026, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
					Tags: []string{[]string{"b2b", "retail", "vip"}[i%3]}, Custom: map[string]any{}, CreatedBy: admin.ID,
					StageEnteredAt: tx.Now().Add(-time.Duration(i) * time.Minute)}
				if err := tx.InsertDeal(ctx, d); err != nil {
					return err
				}
				if err := tx.EnterStage(ctx, d, st); err != nil {
					return err
				}
				ids = append(ids, d.ID)
				versions = append(versions, d.Version)
				stageOf = append(stageOf, i%len(open))
				done++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Printf("database: %s %s; %d open deals over %d stages, %d people, %d companies, %d owners (made in %s)\n",
		db.Dialect(), db.Source(), nDeals, len(open), len(people), len(companies), len(owners), time.Since(start).Round(time.Millisecond))

	if cpuProfile != nil {
		if err := pprof.StartCPUProfile(cpuProfile); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	// The web handler, with a signed-in admin.
	h, err := web.New(web.Options{Auth: au, Contacts: cs, Activity: activity.New(db), Sales: sl, Logger: quiet, Version: "bench"})
	if err != nil {
		return err
	}
	sess, _, err := au.SignIn(ctx, "admin@example.com", "correct horse battery", "127.0.0.1", "bench")
	if err != nil {
		return err
	}
	get := func(path string) (int, int) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(&http.Cookie{Name: "pivand_session", Value: sess.Token})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.Len()
	}
	board := "/sales/board/" + strconv.FormatInt(pipe.ID, 10)
	for _, v := range []struct{ name, path string }{
		{"board", board},
		{"board, one owner and a tag", board + "?owner=" + strconv.FormatInt(owners[3], 10) + "&tag=vip"},
		{"board, close dates", board + "?from=2026-03-01&to=2026-05-31"},
		{"deals list (50 a page)", "/sales/deals?pipeline=" + strconv.FormatInt(pipe.ID, 10)},
	} {
		if code, _ := get(v.path); code != http.StatusOK { // warm: templates, statements, caches
			return fmt.Errorf("%s: status %d", v.name, code)
		}
		walls := make([]time.Duration, 0, renders)
		cpu0 := cpuNow()
		var size int
		for range renders {
			t0 := time.Now()
			code, n := get(v.path)
			walls = append(walls, time.Since(t0))
			if code != http.StatusOK {
				return fmt.Errorf("%s: status %d", v.name, code)
			}
			size = n
		}
		cpu := (cpuNow() - cpu0) / time.Duration(renders)
		slices.Sort(walls)
		fmt.Printf("render %-28s %d times: wall p50 %6.1f ms, p95 %6.1f ms, min %6.1f ms; CPU %6.1f ms per render; %d KB of HTML\n",
			v.name, renders, ms(walls[len(walls)/2]), ms(walls[len(walls)*95/100]), ms(walls[0]), ms(cpu), size/1024)
	}

	// Stage moves through the service: each deal of the round moves to the
	// next stage with the version it has.
	round := 0
	moveRound := func(name string, movers int) error {
		round++
		n := min(nMoves, len(ids))
		var next atomic.Int64
		var fail atomic.Value
		var wg sync.WaitGroup
		cpu0 := cpuNow()
		t0 := time.Now()
		for range movers {
			wg.Go(func() {
				for {
					k := int(next.Add(1)) - 1
					if k >= n {
						return
					}
					i := (k*7919 + round*31) % len(ids)
					to := (stageOf[i] + 1) % len(open)
					d, err := sl.Move(actx, ids[i], sales.MoveInput{StageID: open[to].ID, Version: versions[i]})
					if err != nil {
						fail.CompareAndSwap(nil, fmt.Errorf("move deal %d: %w", ids[i], err))
						return
					}
					versions[i], stageOf[i] = d.Version, to
				}
			})
		}
		wg.Wait()
		took := time.Since(t0)
		if err, _ := fail.Load().(error); err != nil {
			return err
		}
		cpu := cpuNow() - cpu0
		fmt.Printf("moves %-34s %d in %s: %6.0f moves/s, CPU %.2f ms per move\n", name, n, took.Round(time.Millisecond),
			float64(n)/took.Seconds(), ms(cpu)/float64(n))
		return nil
	}
	if err := moveRound("(service, 1 mover)", 1); err != nil {
		return err
	}
	if err := moveRound(fmt.Sprintf("(service, %d movers)", workers), workers); err != nil {
		return err
	}

	// The same moves as the board's script posts them: the JSON answer
	// with every column's count and totals for the board's filter.
	round++
	n := min(nMoves/3, len(ids))
	cpu0 := cpuNow()
	t0 := time.Now()
	for k := range n {
		i := (k*104729 + round*17) % len(ids)
		to := (stageOf[i] + 1) % len(open)
		form := url.Values{"stage_id": {strconv.FormatInt(open[to].ID, 10)}, "version": {strconv.FormatInt(versions[i], 10)}}
		req := httptest.NewRequest(http.MethodPost, "/sales/deals/"+strconv.FormatInt(ids[i], 10)+"/move", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-CSRF-Token", sess.CSRF)
		req.Header.Set("Origin", "http://example.com")
		req.Host = "example.com"
		req.AddCookie(&http.Cookie{Name: "pivand_session", Value: sess.Token})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b, _ := io.ReadAll(w.Body)
			return fmt.Errorf("board move of deal %d: %d %s", ids[i], w.Code, b)
		}
		versions[i]++
		stageOf[i] = to
	}
	took := time.Since(t0)
	fmt.Printf("moves %-34s %d in %s: %6.0f moves/s, CPU %.2f ms per move (each answer sums all %d open deals per column)\n",
		"(board script, HTTP + JSON)", n, took.Round(time.Millisecond), float64(n)/took.Seconds(), ms(cpuNow()-cpu0)/float64(n), nDeals)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// database returns the URL of a fresh database and a function that
// removes it.
func database(dbURL string) (string, func(), error) {
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "pivand-sales-bench")
		if err != nil {
			return "", nil, err
		}
		return filepath.Join(dir, "pivand.db"), func() { os.RemoveAll(dir) }, nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "bench_sales_" + hex.EncodeToString(b)
	admin, err := store.Open(context.Background(), dbURL)
	if err != nil {
		return "", nil, err
	}
	err = admin.Write(context.Background(), func(tx *store.Tx) error {
		_, err := tx.Exec(context.Background(), `CREATE SCHEMA `+schema)
		return err
	})
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		admin.Write(context.Background(), func(tx *store.Tx) error {
			_, err := tx.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
			return err
		})
		admin.Close()
	}, nil
}
