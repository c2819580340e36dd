// Command orders measures how many orders per second the orders service
// records durably: each order is one committed transaction through
// order.Service.Create (validation, customer lookup by phone, the order
// and its lines, the order.created event and the audit entry), as a till
// or a web shop sends them, with its own external id.
//
//	go run ./bench/orders                       # SQLite in a temporary directory
//	go run ./bench/orders -db 'postgres://…'    # PostgreSQL (a fresh schema)
//
// It runs -count rounds of -n orders with -workers concurrent senders and
// prints each round's rate, then the best and the median. Customers come
// from a pool of -customers phone numbers, created in a warm-up round
// that is not timed (most orders come from known customers). The club's
// point awards are not included (bench/club measures them on top).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
)

func main() {
	var (
		dbURL     = flag.String("db", "", "database: a postgres:// URL (a fresh schema is made in it), or empty for SQLite in a temporary directory")
		n         = flag.Int("n", 20000, "orders per round")
		workers   = flag.Int("workers", 8, "concurrent senders")
		count     = flag.Int("count", 3, "rounds")
		customers = flag.Int("customers", 2000, "customers (phone numbers) the orders come from")
		lines     = flag.Int("lines", 3, "lines per order")
		profile   = flag.String("cpuprofile", "", "write a CPU profile of the timed rounds to this file")
		separate  = flag.Bool("separate", false, "a transaction per order (no group commit)")
	)
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "orders:", err)
			os.Exit(1)
		}
		defer f.Close()
		cpuProfile = f
	}
	if err := run(*dbURL, *n, *workers, *count, *customers, *lines, *separate); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

// cpuProfile, when set, receives a CPU profile of the timed rounds.
var cpuProfile *os.File

func run(dbURL string, n, workers, count, customers, lines int, separate bool) error {
	ctx := context.Background()
	fmt.Println("machine:", machine.Describe())
	url, cleanup, err := database(dbURL)
	if err != nil {
		return err
	}
	defer cleanup()
	db, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	cs := contact.New(db, contact.Options{DefaultRegion: "IR"})
	svc := order.New(db, order.Options{Resolve: cs.ResolveCustomer, SeparateCommits: separate})
	mode := "group commit"
	if separate || db.Dialect() != store.SQLite {
		mode = "a transaction per order"
	}
	fmt.Printf("database: %s %s; %d orders per round, %d workers, %d lines per order, %d customers, %s\n",
		db.Dialect(), db.Source(), n, workers, lines, customers, mode)

	phone := func(i int) string { return fmt.Sprintf("0912%07d", 1000000+i%customers) }
	input := func(round, i int) order.Input {
		in := order.Input{Source: "bench", ExternalID: fmt.Sprintf("%d-%d", round, i), Currency: "IRR", Channel: crm.ChannelInStore,
			Store: "Tehran 1", Customer: crm.CustomerRef{Phone: phone(i)}, Discount: 5000}
		for k := range lines {
			in.Lines = append(in.Lines, order.LineInput{SKU: fmt.Sprintf("SKU-%d", (i+k)%500), Name: "Product", Category: "tea",
				Quantity: int64(1 + k%3), UnitPrice: int64(25000 * (k + 1))})
		}
		return in
	}
	send := func(round, total int) (time.Duration, error) {
		var (
			next atomic.Int64
			wg   sync.WaitGroup
			mu   sync.Mutex
			fail error
		)
		start := time.Now()
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= total {
						return
					}
					if _, created, err := svc.Create(ctx, input(round, i)); err != nil || !created {
						mu.Lock()
						if fail == nil {
							fail = fmt.Errorf("order %d-%d: created %v, %v", round, i, created, err)
						}
						mu.Unlock()
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start), fail
	}

	took, err := send(0, customers)
	if err != nil {
		return err
	}
	fmt.Printf("warm-up: %d orders creating %d customers in %s\n", customers, customers, took.Round(time.Millisecond))
	var rates []float64
	if cpuProfile != nil {
		if err := pprof.StartCPUProfile(cpuProfile); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for round := 1; round <= count; round++ {
		took, err := send(round, n)
		if err != nil {
			return err
		}
		rate := float64(n) / took.Seconds()
		rates = append(rates, rate)
		fmt.Printf("round %d: %d orders in %s = %.0f orders/s\n", round, n, took.Round(time.Millisecond), rate)
	}
	slices.Sort(rates)
	fmt.Printf("best %.0f orders/s, median %.0f orders/s (%d rounds); peak RSS %d MiB\n",
		rates[len(rates)-1], rates[len(rates)/2], len(rates), machine.PeakRSS("self")>>20)
	return nil
}

// database returns the URL to benchmark: a SQLite file in a new temporary
// directory, or a new schema in the PostgreSQL database of dbURL; cleanup
// removes it.
func database(dbURL string) (string, func(), error) {
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "pivand-orders-bench")
		if err != nil {
			return "", nil, err
		}
		return filepath.Join(dir, "pivand.db"), func() { os.RemoveAll(dir) }, nil
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "bench_orders_" + hex.EncodeToString(b)
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
