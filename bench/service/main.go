// Command service measures the service desk (internal/desk): tickets
// opened per second (each in a transaction of its own that chooses the
// SLA policy on a business calendar, writes the first message, the
// timers, their four warning and breach jobs, the history, an audit entry
// and the event), emails taken in per second (MIME parsing, threading,
// finding or creating the customer, the ticket and the acknowledgement's
// job), agents' replies per second, and the recomputation of every open
// ticket's SLA timers from its history.
//
//	service -data DIR -tickets 20000 -writers 4
//	service -database-url postgres://… -tickets 20000
//
// Figures go to stdout with the machine and its load; wall time and the
// process's CPU time (user+sys) for each phase.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/store"
)

func main() {
	data := flag.String("data", "", "data directory of a new SQLite database")
	dbURL := flag.String("database-url", "", "postgres://… (an empty database) instead of -data")
	tickets := flag.Int("tickets", 20_000, "tickets to open through the service")
	emails := flag.Int("emails", 5_000, "emails to take in (half new tickets, half replies)")
	replies := flag.Int("replies", 10_000, "agents' replies")
	customers := flag.Int("customers", 2_000, "customers the tickets are spread over")
	writers := flag.Int("writers", 4, "goroutines working at the same time")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the ticket phase here")
	flag.Parse()
	cpuProfile = *profile
	url := *dbURL
	if url == "" {
		if *data == "" {
			fmt.Fprintln(os.Stderr, "service: give -data DIR or -database-url")
			os.Exit(2)
		}
		url = store.SQLitePath(*data)
	}
	if err := run(url, *tickets, *emails, *replies, *customers, *writers); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

var cpuProfile string

// cpu returns the process's user+sys CPU time so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// phase runs n units of work on w goroutines and prints the rate.
func phase(name string, n, w int, fn func(i int) error) error {
	start, c0 := time.Now(), cpu()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, w)
	for range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					errc <- fmt.Errorf("%s %d: %w", name, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	wall, c := time.Since(start), cpu()-c0
	fmt.Printf("%-34s %8d in %7.2fs: %8.0f /s wall, %6.0f µs CPU each (%d writers)\n", name, n, wall.Seconds(),
		float64(n)/wall.Seconds(), float64(c.Microseconds())/float64(n), w)
	return nil
}

func run(url string, nTickets, nEmails, nReplies, nCustomers, nWriters int) error {
	ctx := context.Background()
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
	contacts := contact.New(db, contact.Options{DefaultRegion: "IR"})
	d := desk.New(db, desk.Options{Resolve: contacts.ResolveCustomer, Logger: slog.New(slog.DiscardHandler)})
	st := desk.DefaultSettings()
	st.SupportAddress = "support@shop.example"
	if _, err := d.SaveSettings(ctx, st); err != nil {
		return err
	}
	if _, err := d.StandardSetup(ctx, "Asia/Tehran"); err != nil {
		return err
	}
	// Customers first, so the phases measure tickets, not people.
	ids := make([]int64, nCustomers)
	if err := phase("customers (contact service)", nCustomers, nWriters, func(i int) error {
		var err error
		err = db.Write(ctx, func(tx *store.Tx) error {
			ids[i], err = contacts.ResolveCustomer(ctx, tx, crm.CustomerRef{Email: fmt.Sprintf("c%d@example.com", i), FirstName: "مشتری", LastName: fmt.Sprint(i)})
			return err
		})
		return err
	}); err != nil {
		return err
	}
	prios := crm.TicketPriorities
	ticketIDs := make([]int64, nTickets)
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
	}
	if err := phase("tickets opened", nTickets, nWriters, func(i int) error {
		t, err := d.Create(ctx, desk.TicketInput{Subject: fmt.Sprintf("درخواست %d", i), Body: "سفارش من هنوز نرسیده است.",
			Customer: crm.CustomerRef{ContactID: ids[i%nCustomers]}, Priority: prios[i%len(prios)], Channel: crm.ChannelPhone})
		if err == nil {
			ticketIDs[i] = t.ID
		}
		return err
	}); err != nil {
		return err
	}
	pprof.StopCPUProfile()
	if err := phase("emails taken in (new + threaded)", nEmails, nWriters, func(i int) error {
		var raw string
		if i%2 == 0 {
			raw = fmt.Sprintf("From: =?utf-8?B?2YXYsduM2YU=?= <m%d@example.com>\r\nTo: support@shop.example\r\nSubject: =?utf-8?B?2LPZgdin2LHYtA==?= %d\r\n"+
				"Message-ID: <in%d@mail.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nسلام، سفارش من کجاست؟\r\n", i%nCustomers, i, i)
		} else {
			raw = fmt.Sprintf("From: m%d@example.com\r\nTo: support@shop.example\r\nSubject: Re: x\r\nMessage-ID: <in%d@mail.example.com>\r\n"+
				"In-Reply-To: <in%d@mail.example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nممنون!\r\n\r\nOn Mon, support wrote:\r\n> hi\r\n", i%nCustomers, i, i-1)
		}
		_, err := d.ReceiveEmail(ctx, desk.Envelope{From: "m@example.com", To: []string{"support@shop.example"}}, []byte(raw))
		return err
	}); err != nil {
		return err
	}
	if err := phase("agents' replies (with a status)", nReplies, nWriters, func(i int) error {
		status := ""
		if i%3 == 0 {
			status = crm.TicketPending
		}
		_, err := d.Reply(ctx, ticketIDs[i%nTickets], desk.ReplyInput{Body: "در حال پیگیری هستیم.", Status: status})
		if crm.ErrorCode(err) == crm.ECONFLICT {
			return nil // a pending ticket asked to be pending again
		}
		return err
	}); err != nil {
		return err
	}
	start, c0 := time.Now(), cpu()
	n, err := d.RecomputeAll(ctx)
	if err != nil {
		return err
	}
	wall, c := time.Since(start), cpu()-c0
	fmt.Printf("%-34s %8d in %7.2fs: %8.0f /s wall, %6.0f µs CPU each (one writer, batches of 200)\n", "SLA recomputation (all open)", n,
		wall.Seconds(), float64(n)/wall.Seconds(), float64(c.Microseconds())/float64(n))
	// A dashboard's report over everything.
	start, c0 = time.Now(), cpu()
	rep, err := d.Report(ctx, desk.ReportPeriod{From: time.Now().Add(-24 * time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		return err
	}
	fmt.Printf("%-34s %8d tickets: %7.0f ms wall, %6.0f ms CPU\n", "service report (one day)", rep.NewCount,
		float64(time.Since(start).Microseconds())/1000, float64((cpu()-c0).Microseconds())/1000)
	fmt.Println("machine after:", machine.Describe())
	return nil
}
