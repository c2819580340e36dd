// Command analytics measures the customer-analytics recompute job
// (internal/insight) on a large SQLite store: how long a run takes, phase
// by phase, its CPU time and its peak memory.
//
//	go run ./bench/analytics                          # 1M customers, 10M order lines in /tmp/pivand-analytics
//	go run ./bench/analytics -customers 100000 -lines 1000000
//
// The first time, it generates the orders straight into the store (rows
// written with the store's own SQL, without the order service, which
// would take hours for 10M lines): customers buy a skewed number of
// orders (most once or twice, a few dozens of times) over two years, each
// order 1–6 lines from a catalogue of -skus products of skewed popularity
// (some bought together more often than chance), one order in 30 partly
// or fully returned. Then it runs the recompute in a child process (so
// that the child's peak RSS is the job's alone) and prints the run's
// figures. -runs repeats the recompute.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/store"
)

func main() {
	var (
		dir       = flag.String("dir", filepath.Join(os.TempDir(), "pivand-analytics"), "directory of the SQLite store (kept between runs)")
		customers = flag.Int("customers", 1_000_000, "customers")
		lines     = flag.Int("lines", 10_000_000, "order lines (about)")
		skus      = flag.Int("skus", 2000, "products")
		runs      = flag.Int("runs", 1, "recomputes to time")
		child     = flag.Bool("child", false, "run one recompute and print its figures (used by the parent)")
		profile   = flag.String("cpuprofile", "", "write a CPU profile of the recompute to this file")
		batch     = flag.Int("batch", 0, "customers written per transaction (0: the service's default)")
		memprof   = flag.String("memprofile", "", "write a heap profile when the writing phase starts (the most held) to this file")
	)
	flag.Parse()
	ctx := context.Background()
	path := store.SQLitePath(filepath.Join(*dir, fmt.Sprintf("c%d-l%d", *customers, *lines)))
	if *child {
		if *profile != "" {
			f, err := os.Create(*profile)
			if err == nil {
				pprof.StartCPUProfile(f)
				defer pprof.StopCPUProfile()
			}
		}
		memProfile = *memprof
		if err := recompute(ctx, path, *batch); err != nil {
			pprof.StopCPUProfile()
			fmt.Fprintln(os.Stderr, "analytics:", err)
			os.Exit(1)
		}
		return
	}
	fmt.Println("machine:", machine.Describe())
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		if err := generate(ctx, path, *customers, *lines, *skus); err != nil {
			fmt.Fprintln(os.Stderr, "analytics: generate:", err)
			os.Exit(1)
		}
		fmt.Printf("generated %s in %s\n", path, time.Since(start).Round(time.Second))
	}
	if fi, err := os.Stat(path); err == nil {
		fmt.Printf("store: %s, %d MB\n", path, fi.Size()>>20)
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "analytics:", err)
		os.Exit(1)
	}
	for range *runs {
		cmd := exec.Command(self, append([]string{"-child"}, os.Args[1:]...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "analytics: recompute:", err)
			os.Exit(1)
		}
	}
}

// memProfile is where recompute writes a heap profile, "" for none.
var memProfile string

// recompute runs one recompute on the store and prints its figures.
func recompute(ctx context.Context, path string, batch int) error {
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	svc := insight.New(db, insight.Options{WriteBatch: batch, KeepOld: true})
	st := insight.DefaultSettings()
	st.Currency = "IRR"
	if _, err := svc.SaveSettings(ctx, st); err != nil {
		return err
	}
	load := loadavg()
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	last := ""
	run, err := svc.RunNow(ctx, insight.ViaCLI, "2025-12-31", func(p insight.Progress) {
		if p.Phase != last {
			fmt.Printf("  %6.1fs %s\n", time.Since(start).Seconds(), p.Phase)
			last = p.Phase
			if p.Phase == insight.PhaseWriting && memProfile != "" {
				if f, err := os.Create(memProfile); err == nil {
					runtime.GC()
					pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}
	})
	if err != nil {
		return err
	}
	wall := time.Since(start)
	// The rows of the run replaced are deleted after the switch; time it
	// apart (the results are in use before it ends).
	clearStart := time.Now()
	if err := svc.ClearOld(ctx); err != nil {
		return err
	}
	clear := time.Since(clearStart)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := tv(after.Utime) - tv(before.Utime) + tv(after.Stime) - tv(before.Stime)
	tm := run.Timings
	fmt.Printf("recompute: %d orders, %d customers (%d repeat), model %s, spend %s, baskets %s (%d orders, %d itemsets, %d rules)\n",
		run.Orders, run.Customers, run.Repeat, run.ModelStatus, run.SpendStatus, run.Baskets.Status, run.Baskets.Baskets, run.Baskets.Itemsets, run.Baskets.Rules)
	if run.BGNBD != nil {
		fmt.Printf("  BG/NBD r=%.4f alpha=%.4f a=%.4f b=%.4f LL=%.1f; ", run.BGNBD.R, run.BGNBD.Alpha, run.BGNBD.A, run.BGNBD.B, run.BGNBD.LogLikelihood)
	}
	if run.GammaGamma != nil {
		fmt.Printf("Gamma-Gamma p=%.4f q=%.4f v=%.1f", run.GammaGamma.P, run.GammaGamma.Q, run.GammaGamma.V)
	}
	fmt.Println()
	fmt.Printf("  wall %.1fs (reading %.1f, fitting %.1f, scoring %.1f, writing %.1f, baskets %.1f; then deleting the old run's rows %.1f), cpu %.1fs, peak RSS %d MB, peak live heap %d MB, load before %s\n",
		wall.Seconds(), sec(tm.Reading), sec(tm.Fitting), sec(tm.Scoring), sec(tm.Writing), sec(tm.Baskets), clear.Seconds(), cpu.Seconds(),
		machine.PeakRSS("self")>>20, tm.PeakHeap, load)
	return nil
}

func sec(ms int64) float64 { return float64(ms) / 1000 }

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// generate writes the synthetic orders.
func generate(ctx context.Context, path string, customers, lines, skus int) error {
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(42, 2025))
	// Orders per customer: geometric-like with a long tail; scaled so the
	// lines come out near the target (3.5 lines an order on average).
	// (About a quarter of them would fall after the two years and are
	// not made: hence 1.35.)
	wantOrders := float64(lines) / 3.5
	meanOrders := 1.35 * wantOrders / float64(customers)
	// Product popularity: Zipf-like weights; cumulative for sampling.
	cum := make([]float64, skus)
	total := 0.0
	for i := range skus {
		total += 1 / math.Pow(float64(i+1), 0.9)
		cum[i] = total
	}
	pick := func() int {
		x := rng.Float64() * total
		lo, hi := 0, skus-1
		for lo < hi {
			m := (lo + hi) / 2
			if cum[m] < x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo
	}
	start := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	const span = 730 * 24 * time.Hour
	type ord struct {
		contact int64
		placed  time.Time
		items   []int
		scale   float64 // the customer's spend: a multiplier of every price
	}
	var (
		batch   []ord
		orderID int64
		lineID  int64
		nOrders int
		nLines  int
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := db.Write(ctx, func(tx *store.Tx) error {
			var ob strings.Builder
			var oargs []any
			var lrows [][]any
			ob.WriteString(`INSERT INTO orders (id, source, external_id, contact_id, status, currency, subtotal, discount, total, returned_total,
				channel, placed_at, created_at, updated_at) VALUES `)
			for i, o := range batch {
				orderID++
				var sub int64
				returnedAll := rng.IntN(60) == 0
				returnedOne := !returnedAll && rng.IntN(60) == 0
				var returned int64
				for k, it := range o.items {
					lineID++
					price := int64(float64(100000+(it%50)*20000)*o.scale) / 1000 * 1000
					q := int64(1 + rng.IntN(2))
					rq := int64(0)
					if returnedAll || returnedOne && k == 0 {
						rq = q
						returned += q * price
					}
					sub += q * price
					lrows = append(lrows, []any{lineID, orderID, fmt.Sprintf("P%04d", it), fmt.Sprintf("Product %d", it), q, price, q * price, rq})
				}
				status := "placed"
				switch {
				case returnedAll:
					status = "returned"
				case returned > 0:
					status = "partially_returned"
				}
				if i > 0 {
					ob.WriteString(", ")
				}
				ob.WriteString("(?, '', '', ?, ?, 'IRR', ?, 0, ?, ?, 'in_store', ?, ?, ?)")
				oargs = append(oargs, orderID, o.contact, status, sub, sub, returned, o.placed, o.placed, o.placed)
			}
			if _, err := tx.Exec(ctx, ob.String(), oargs...); err != nil {
				return err
			}
			for lo := 0; lo < len(lrows); lo += 500 {
				var lb strings.Builder
				var largs []any
				lb.WriteString(`INSERT INTO order_lines (id, order_id, sku, name, quantity, unit_price, total, returned_quantity) VALUES `)
				for i, row := range lrows[lo:min(lo+500, len(lrows))] {
					if i > 0 {
						lb.WriteString(", ")
					}
					lb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
					largs = append(largs, row...)
				}
				if _, err := tx.Exec(ctx, lb.String(), largs...); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	// Orders go in time order overall (as a shop records them), so each
	// customer's orders are spread through the table.
	type due struct {
		contact int64
		left    int
		next    time.Time
		gap     time.Duration
		basket  []int // the customer's usual products
		scale   float64
	}
	all := make([]due, 0, customers)
	for c := range customers {
		n := 1 + int(rng.ExpFloat64()*(meanOrders-1)*rng.Float64()*2)
		first := start.Add(time.Duration(rng.Int64N(int64(span))))
		gap := time.Duration(rng.ExpFloat64() * float64(60*24*time.Hour))
		all = append(all, due{contact: int64(c + 1), left: n, next: first, gap: max(gap, 24*time.Hour), basket: []int{pick(), pick(), pick()},
			scale: math.Exp(rng.NormFloat64() * 0.6)})
	}
	end := start.Add(span)
	for day := start; day.Before(end); day = day.Add(24 * time.Hour) {
		for i := range all {
			d := &all[i]
			for d.left > 0 && d.next.Before(day.Add(24*time.Hour)) {
				if d.next.Before(end) {
					n := 1 + rng.IntN(6)
					items := make([]int, 0, n)
					seen := map[int]bool{}
					for len(items) < n {
						it := pick()
						if rng.IntN(3) == 0 {
							it = d.basket[rng.IntN(len(d.basket))] // their usual products: bought together
						}
						if !seen[it] {
							seen[it] = true
							items = append(items, it)
						}
					}
					batch = append(batch, ord{d.contact, d.next, items, d.scale})
					nOrders++
					nLines += len(items)
				}
				d.left--
				d.next = d.next.Add(time.Duration(rng.ExpFloat64() * float64(d.gap)))
			}
			if len(batch) >= 2000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if nLines >= lines {
			break
		}
	}
	if err := flush(); err != nil {
		return err
	}
	fmt.Printf("generated %d orders, %d lines for %d customers\n", nOrders, nLines, customers)
	return nil
}
