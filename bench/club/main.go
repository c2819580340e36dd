// Command club measures the customer club: orders with point awards per
// second (each order committed on its own, as a till sends them, through
// internal/order; the club's subscriber awards the points in the
// dispatcher's transactions) and concurrent redemptions. It checks the
// ledger's invariants at the end, so a fast wrong answer does not count.
//
//	club -data DIR -orders 50000 -members 5000 -writers 4
//	club -database-url postgres://… -orders 50000
//
// Figures go to stdout with the machine and its load.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/app"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
)

func main() {
	data := flag.String("data", "", "data directory of a new SQLite database")
	dbURL := flag.String("database-url", "", "postgres://… (an empty database) instead of -data")
	orders := flag.Int("orders", 50_000, "orders to record")
	members := flag.Int("members", 5_000, "club members buying")
	writers := flag.Int("writers", 4, "goroutines recording orders at the same time")
	redeemers := flag.Int("redeemers", 64, "concurrent redemption requests on one member")
	cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the order phase (orders and their awards) here")
	customer = flag.String("customer", "member", "how orders name the buyer: member (the card's member number, as a club till sends it), phone, or id (contact id)")
	noClub = flag.Bool("no-club", false, "record the orders without the club's subscriber (to see what the club adds)")
	catchUp = flag.Bool("catch-up", false, "record every order first, then start the dispatcher: the award rate on its own, in full batches")
	flag.Parse()
	url := *dbURL
	if url == "" {
		if *data == "" {
			fmt.Fprintln(os.Stderr, "club: give -data DIR or -database-url")
			os.Exit(2)
		}
		url = store.SQLitePath(*data)
	}
	if err := run(url, *orders, *members, *writers, *redeemers); err != nil {
		fmt.Fprintln(os.Stderr, "club:", err)
		os.Exit(1)
	}
}

var (
	noClub, catchUp      *bool
	cpuprofile, customer *string
)

func run(url string, nOrders, nMembers, nWriters, nRedeemers int) error {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	fmt.Println("machine:", machine.Describe())
	db, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	fmt.Println("database:", db.Dialect(), db.Source())
	cl := club.New(db, club.Options{Logger: quiet})
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	// The buyer is resolved as in the server (app.CustomerResolver): a
	// member number through the club, a phone through the contacts, a
	// contact id checked to exist.
	orders := order.New(db, order.Options{Resolve: app.CustomerResolver(contacts, cl)})
	switch *customer {
	case "member", "phone", "id":
	default:
		return fmt.Errorf("-customer %q: use member, phone or id", *customer)
	}

	// A program like a shop's: 1 point per 10,000 rials, a 14-day return
	// window, 12-month expiry, three tiers and two rules.
	p, err := cl.CreateProgram(ctx, club.ProgramInput{Name: "Bench", Currency: "IRR", EarnPoints: 1, EarnAmount: 10_000, PendingDays: 14,
		ExpiryMonths: 12, ReminderDays: 30, Downgrade: club.DowngradeWindowEnd, GraceDays: 30, PointValue: 1000, ValuePoints: 1})
	if err != nil {
		return err
	}
	for _, t := range []club.TierInput{{Name: "Base", Threshold: 0, Multiplier: 100}, {Name: "Silver", Threshold: 200_000_000, Multiplier: 200},
		{Name: "Gold", Threshold: 1_000_000_000, Multiplier: 300}} {
		if _, err := cl.SaveTier(ctx, p.ID, 0, t); err != nil {
			return err
		}
	}
	for _, r := range []club.RuleInput{{Name: "Welcome", Kind: club.RuleFirstPurchase, Value: 50, Priority: 10},
		{Name: "Coffee", Kind: club.RuleBonus, Value: 5, Category: "coffee", Priority: 5}} {
		if _, err := cl.SaveRule(ctx, p.ID, 0, r); err != nil {
			return err
		}
	}
	t0 := time.Now()
	people := make([]crm.CustomerRef, nMembers)
	for i := range people {
		phone := fmt.Sprintf("+98912%07d", i)
		c, err := contacts.CreateContact(ctx, &crm.Contact{FirstName: fmt.Sprintf("Member%d", i), LastName: "Bench",
			Phones: []crm.Labeled{{Value: phone, Label: "mobile"}}}, true)
		if err != nil {
			return err
		}
		e, err := cl.Enrol(ctx, club.Enrolment{ProgramID: p.ID, ContactID: c.ID})
		if err != nil {
			return err
		}
		switch *customer {
		case "member":
			people[i] = crm.CustomerRef{MemberNumber: e.Member.Number}
		case "phone":
			people[i] = crm.CustomerRef{Phone: "0912" + phone[6:]}
		default:
			people[i] = crm.CustomerRef{ContactID: c.ID}
		}
	}
	fmt.Printf("setup: %d people enrolled in %.1fs\n", nMembers, time.Since(t0).Seconds())

	// The dispatcher with the club's subscriber only, as in the server.
	d := event.NewDispatcher(db, quiet)
	if !*noClub {
		cl.Subscribe(d)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	if !*catchUp {
		wg.Go(func() { d.Run(runCtx) })
	}

	// Orders, each sent on its own by one of the writers (tills).
	var next atomic.Int64
	lat := make([][]time.Duration, nWriters)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	io0 := readIO()
	cpu0 := cpuTime()
	start := time.Now()
	var werr error
	var once sync.Once
	var ww sync.WaitGroup
	for w := range nWriters {
		ww.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				i := next.Add(1)
				if i > int64(nOrders) {
					return
				}
				in := order.Input{Source: "bench", ExternalID: fmt.Sprint(i), Currency: "IRR",
					Customer: people[rng.IntN(len(people))],
					Lines: []order.LineInput{
						{SKU: "ESP", Name: "Espresso", Category: "coffee", Quantity: int64(1 + rng.IntN(3)), UnitPrice: 1_200_000},
						{SKU: "CAKE", Name: "Cake", Category: "food", Quantity: 1, UnitPrice: int64(500_000 + rng.IntN(5_000_000))},
					}}
				t := time.Now()
				if _, _, err := orders.Create(ctx, in); err != nil {
					once.Do(func() { werr = err })
					return
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		})
	}
	ww.Wait()
	written := time.Since(start)
	if werr != nil {
		stop()
		return werr
	}
	awardStart := time.Now()
	if *catchUp {
		wg.Go(func() { d.Run(runCtx) })
	}
	// Wait until the club has handled every order: one earn entry each.
	for !*noClub {
		var n int
		err := db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM club_ledger WHERE kind = 'earn'`).Scan(&n)
		})
		if err != nil {
			stop()
			return err
		}
		if n >= nOrders {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	total := time.Since(start)
	cpuUsed := cpuTime() - cpu0
	io1 := readIO()
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	stop()
	wg.Wait()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(q float64) time.Duration { return all[int(q*float64(len(all)-1))] }
	fmt.Printf("orders: %d recorded by %d writers in %.2fs = %.0f orders/s (p50 %v, p99 %v per order)\n",
		nOrders, nWriters, written.Seconds(), float64(nOrders)/written.Seconds(), pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
	fmt.Printf("CPU time (user+sys, this process) for the orders and their awards: %.2fs = %.0f µs per order\n",
		cpuUsed.Seconds(), float64(cpuUsed.Microseconds())/float64(nOrders))
	if *catchUp {
		aw := time.Since(awardStart)
		fmt.Printf("point awards alone (orders already stored): %d in %.2fs = %.0f /s\n", nOrders, aw.Seconds(), float64(nOrders)/aw.Seconds())
	} else {
		fmt.Printf("orders with point awards: %d in %.2fs = %.0f /s end to end (awards done %.2fs after the last order)\n",
			nOrders, total.Seconds(), float64(nOrders)/total.Seconds(), (total - written).Seconds())
	}

	groups, grouped := orders.CommitStats()
	fmt.Printf("order transactions: %d for %d orders (%.1f per commit)\n", groups, grouped, float64(grouped)/float64(max(groups, 1)))
	if st, ok := d.Stats()[club.SubscriberOrders]; ok {
		fmt.Printf("award transactions: %d for %d events (%.1f per commit, largest %d)\n", st.Deliveries, st.Events,
			float64(st.Events)/float64(max(st.Deliveries, 1)), st.MaxBatch)
	}
	fmt.Printf("written by this process: %.1f kB and %.1f write calls per order (log, checkpoints)\n",
		float64(io1.wchar-io0.wchar)/1024/float64(nOrders), float64(io1.syscw-io0.syscw)/float64(nOrders))

	// Concurrent redemptions on one member: exactly ⌊B/X⌋ succeed.
	ms, _, err := cl.Members(ctx, club.MemberFilter{ProgramID: p.ID, Limit: 1})
	if err != nil {
		return err
	}
	m := ms[0]
	if _, err := cl.Adjust(ctx, m.ID, club.Adjustment{Points: 10_000 - m.Available, Reason: "bench"}); err != nil {
		return err
	}
	reward, err := cl.CreateReward(ctx, club.RewardInput{ProgramID: p.ID, Name: "Voucher", Kind: club.RewardGiftCard, Value: 1_000_000, Cost: 300})
	if err != nil {
		return err
	}
	var ok, refused atomic.Int64
	start = time.Now()
	var rw sync.WaitGroup
	gate := make(chan struct{})
	for range nRedeemers {
		rw.Go(func() {
			<-gate
			_, err := cl.Redeem(ctx, club.RedeemRequest{MemberID: m.ID, RewardID: reward.ID, Capture: true})
			switch crm.ErrorCode(err) {
			case "":
				ok.Add(1)
			case crm.ECONFLICT:
				refused.Add(1)
			default:
				fmt.Fprintln(os.Stderr, "redeem:", err)
			}
		})
	}
	close(gate)
	rw.Wait()
	el := time.Since(start)
	want := min(int64(nRedeemers), 10_000/300)
	fmt.Printf("redemptions on one member (balance 10000, cost 300): %d at once, %d succeeded (want %d), %d refused, in %.3fs = %.0f requests/s\n",
		nRedeemers, ok.Load(), want, refused.Load(), el.Seconds(), float64(nRedeemers)/el.Seconds())
	if ok.Load() != want {
		return fmt.Errorf("redemptions: %d succeeded, want %d", ok.Load(), want)
	}

	// Redemptions spread over many members, 8 at a time.
	ids := make([]int64, 0, 200)
	page, _, err := cl.Members(ctx, club.MemberFilter{ProgramID: p.ID, Limit: 200})
	if err != nil {
		return err
	}
	for _, mm := range page {
		if _, err := cl.Adjust(ctx, mm.ID, club.Adjustment{Points: 3000, Reason: "bench"}); err != nil {
			return err
		}
		ids = append(ids, mm.ID)
	}
	var cnt atomic.Int64
	start = time.Now()
	var sw sync.WaitGroup
	for w := range 8 {
		sw.Go(func() {
			for i := w; i < len(ids)*5; i += 8 {
				if _, err := cl.Redeem(ctx, club.RedeemRequest{MemberID: ids[i%len(ids)], RewardID: reward.ID, Capture: true}); err == nil {
					cnt.Add(1)
				} else if crm.ErrorCode(err) != crm.ECONFLICT {
					fmt.Fprintln(os.Stderr, "redeem:", err)
				}
			}
		})
	}
	sw.Wait()
	el = time.Since(start)
	fmt.Printf("redemptions over %d members, 8 at a time: %d reserved+captured in %.2fs = %.0f /s\n", len(ids), cnt.Load(), el.Seconds(), float64(cnt.Load())/el.Seconds())

	t0 = time.Now()
	probs, err := cl.Check(ctx)
	if err != nil {
		return err
	}
	if len(probs) > 0 {
		return fmt.Errorf("ledger check: %v", probs[:min(len(probs), 5)])
	}
	fmt.Printf("ledger check: consistent (%.2fs)\n", time.Since(t0).Seconds())
	return nil
}

// ioCounts are this process's write counters (/proc/self/io).
type ioCounts struct{ wchar, syscw int64 }

func readIO() ioCounts {
	var c ioCounts
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "wchar":
			c.wchar = n
		case "syscw":
			c.syscw = n
		}
	}
	return c
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
