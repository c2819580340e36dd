package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/web"
)

// BenchmarkSales measures the sales board and stage moves (figures in
// docs/performance.md, "Sales"), on SQLite and, with
// PIVAND_TEST_POSTGRES_URL, PostgreSQL:
//
//	go test -run '^$' -bench BenchmarkSales -benchtime 40x ./internal/web
//
// The data: a pipeline of 6 open stages with PIVAND_BENCH_DEALS open deals
// (10,000 by default) about 2,000 people and 500 companies, owned by 10
// users, written straight through the store (not timed).
//
// board/…: the board (and, for comparison, a filtered board and the deals
// list) rendered by the real web handler for a signed-in admin: session,
// permissions, the column sums over every open deal, the first 50 cards of
// each column with their people, companies and owners, the template. Each
// reports the wall time per render (ns/op, and min and p50 in ms), the
// process's CPU time per render (cpu-ms/op, the figure least disturbed by
// other load on the machine) and the page's size.
//
// move/…: stage moves through the sales service (each a transaction with
// the version check, the stage history, the audit entry and the
// deal.stage_changed event), by one mover and by four at once; and the
// moves the board's script posts (HTTP, JSON answer with every column's
// new count and totals).
func BenchmarkSales(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("PIVAND_BENCH_DEALS")); err == nil && v > 0 {
		n = v
	}
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			f := newSalesBench(b, storetest.Open(b, d), n)
			board := "/sales/board/" + strconv.FormatInt(f.pipe.ID, 10)
			for _, v := range []struct{ name, path string }{
				{"board", board},
				{"board-owner-tag", board + "?owner=" + strconv.FormatInt(f.owners[3], 10) + "&tag=vip"},
				{"board-close-dates", board + "?from=2026-03-01&to=2026-05-31"},
				{"deals-list", "/sales/deals?pipeline=" + strconv.FormatInt(f.pipe.ID, 10)},
			} {
				b.Run(v.name, func(b *testing.B) { f.render(b, v.path) })
			}
			b.Run("move-service", func(b *testing.B) { f.moveService(b, 1) })
			b.Run("move-service-4", func(b *testing.B) { f.moveService(b, 4) })
			b.Run("move-board-script", f.moveScript)
		})
	}
}

type salesBench struct {
	db       *store.DB
	sales    *sales.Service
	h        http.Handler
	sess     *crm.Session
	actx     context.Context
	pipe     *crm.Pipeline
	open     []crm.Stage
	owners   []int64
	mu       sync.Mutex
	ids      []int64
	versions []int64
	stageOf  []int
	round    int
}

func newSalesBench(b *testing.B, db *store.DB, nDeals int) *salesBench {
	b.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	au := auth.New(db, auth.Options{})
	cs := contact.New(db, contact.Options{DefaultRegion: "IR"})
	sl := sales.New(db, sales.Options{Person: cs.PersonForLead, Company: cs.CompanyForLead, Logger: quiet})
	admin, err := au.SetupFirstAdmin(ctx, crm.UserCreate{Email: "admin@example.com", Name: "Admin", Password: "correct horse battery", Role: crm.RoleAdmin})
	if err != nil {
		b.Fatal(err)
	}
	f := &salesBench{db: db, sales: sl, actx: crm.NewContextWithUser(ctx, admin), owners: []int64{admin.ID}}
	in := sales.PipelineInput{Name: "Main", Currency: "IRR"}
	for i := range 6 {
		p := 10 + 80*i/6
		in.Stages = append(in.Stages, sales.StageInput{Name: fmt.Sprintf("Stage %d", i+1), Probability: &p})
	}
	if f.pipe, err = sl.CreatePipeline(f.actx, in); err != nil {
		b.Fatal(err)
	}
	f.open = f.pipe.OpenStages()
	var people, companies []int64
	err = db.Write(ctx, func(tx *store.Tx) error {
		for i := range 9 {
			u := &crm.User{Email: fmt.Sprintf("rep%d@example.com", i), Name: fmt.Sprintf("Rep %d", i), Role: crm.RoleSales, Active: true,
				Preferences: crm.DefaultPreferences("en")}
			if err := tx.CreateUser(ctx, u, "x"); err != nil {
				return err
			}
			f.owners = append(f.owners, u.ID)
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
		b.Fatal(err)
	}
	for done := 0; done < nDeals; {
		err := db.Write(ctx, func(tx *store.Tx) error {
			for k := 0; k < 1000 && done < nDeals; k++ {
				i := done
				st := f.open[i%len(f.open)]
				d := &crm.Deal{PipelineID: f.pipe.ID, StageID: st.ID, Status: crm.DealOpen, Title: fmt.Sprintf("Deal %d for Company %d", i, i%500),
					Value: int64(100_000 * (1 + i%97)), Currency: "IRR", ContactID: people[i%len(people)], CompanyID: companies[i%len(companies)],
					OwnerID: f.owners[i%len(f.owners)], ExpectedClose: time.Date(2026, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
					Tags: []string{[]string{"b2b", "retail", "vip"}[i%3]}, Custom: map[string]any{}, CreatedBy: admin.ID,
					StageEnteredAt: tx.Now().Add(-time.Duration(i) * time.Minute)}
				if err := tx.InsertDeal(ctx, d); err != nil {
					return err
				}
				if err := tx.EnterStage(ctx, d, st); err != nil {
					return err
				}
				f.ids = append(f.ids, d.ID)
				f.versions = append(f.versions, d.Version)
				f.stageOf = append(f.stageOf, i%len(f.open))
				done++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if f.h, err = web.New(web.Options{Auth: au, Contacts: cs, Activity: activity.New(db), Sales: sl, Logger: quiet, Version: "bench"}); err != nil {
		b.Fatal(err)
	}
	if f.sess, _, err = au.SignIn(ctx, "admin@example.com", "correct horse battery", "127.0.0.1", "bench"); err != nil {
		b.Fatal(err)
	}
	return f
}

func (f *salesBench) get(path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(&http.Cookie{Name: "pivand_session", Value: f.sess.Token})
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func (f *salesBench) render(b *testing.B, path string) {
	if w := f.get(path); w.Code != http.StatusOK { // warm: templates, statements, caches
		b.Fatalf("%s: status %d", path, w.Code)
	}
	var walls []time.Duration
	var size int
	cpu0 := cpuNow()
	for b.Loop() {
		t0 := time.Now()
		w := f.get(path)
		walls = append(walls, time.Since(t0))
		if w.Code != http.StatusOK {
			b.Fatalf("%s: status %d", path, w.Code)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(ms(cpuNow()-cpu0)/float64(len(walls)), "cpu-ms/op")
	slices.Sort(walls)
	b.ReportMetric(ms(walls[0]), "min-ms")
	b.ReportMetric(ms(walls[len(walls)/2]), "p50-ms")
	b.ReportMetric(float64(size)/1024, "KB")
}

// moveService moves deals to their next stage through the service, with
// the version each has: from one goroutine, or from movers at once.
func (f *salesBench) moveService(b *testing.B, movers int) {
	f.mu.Lock()
	f.round++
	round := f.round
	f.mu.Unlock()
	var k atomic.Int64
	cpu0 := cpuNow()
	if movers == 1 {
		for b.Loop() {
			f.moveOne(b, int(k.Add(1)), round)
		}
	} else {
		b.SetParallelism(max(1, movers/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				f.moveOne(b, int(k.Add(1)), round)
			}
		})
	}
	b.ReportMetric(ms(cpuNow()-cpu0)/float64(k.Load()), "cpu-ms/op")
}

// moveOne moves the k-th deal of a round (7919 is prime to the number of
// deals, so no two moves of a round pick the same deal until it wraps).
func (f *salesBench) moveOne(b *testing.B, k, round int) {
	f.mu.Lock()
	i := (k*7919 + round*31) % len(f.ids)
	to := (f.stageOf[i] + 1) % len(f.open)
	id, version := f.ids[i], f.versions[i]
	f.mu.Unlock()
	d, err := f.sales.Move(f.actx, id, sales.MoveInput{StageID: f.open[to].ID, Version: version})
	if err != nil {
		b.Errorf("move deal %d: %v", id, err)
		return
	}
	f.mu.Lock()
	f.versions[i], f.stageOf[i] = d.Version, to
	f.mu.Unlock()
}

// moveScript posts moves as the board's script does: the JSON answer has
// the deal and every column's count and totals for the board's filter.
func (f *salesBench) moveScript(b *testing.B) {
	f.round++
	k := 0
	cpu0 := cpuNow()
	for b.Loop() {
		i := (k*104729 + f.round*17) % len(f.ids)
		k++
		to := (f.stageOf[i] + 1) % len(f.open)
		form := url.Values{"stage_id": {strconv.FormatInt(f.open[to].ID, 10)}, "version": {strconv.FormatInt(f.versions[i], 10)}}
		req := httptest.NewRequest(http.MethodPost, "/sales/deals/"+strconv.FormatInt(f.ids[i], 10)+"/move", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-CSRF-Token", f.sess.CSRF)
		req.Header.Set("Origin", "http://example.com")
		req.Host = "example.com"
		req.AddCookie(&http.Cookie{Name: "pivand_session", Value: f.sess.Token})
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("board move of deal %d: %d %s", f.ids[i], w.Code, w.Body)
		}
		f.versions[i]++
		f.stageOf[i] = to
	}
	b.ReportMetric(ms(cpuNow()-cpu0)/float64(k), "cpu-ms/op")
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
