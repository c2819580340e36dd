package campaign_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// BenchmarkSend sends one campaign to b.N people (all with consent) into
// a go-smtp server in the same process, through the real job, pool (4
// connections) and store, with no throttle; it reports messages per
// second and CPU per message (user+sys of the whole process, the SMTP
// sink included). Run: go test ./internal/campaign -run ^$ -bench Send -benchtime 2000x
func BenchmarkSend(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			db := storetest.Open(b, d)
			f := newFixture(b, db, campaign.Options{})
			db.Now = time.Now
			st, _ := f.svc.Settings(sys)
			st.SMTP.Host, st.SMTP.TLS, st.SMTP.Pool = f.sink.Addr, "none", 4
			st.PerSecond, st.QuietStart, st.QuietEnd = 0, 0, 0
			f.svc.SaveSettings(sys, st)
			ids := make([]int64, 0, b.N)
			err := db.Write(sys, func(tx *store.Tx) error {
				for i := range b.N {
					id, err := tx.InsertID(sys, `INSERT INTO contacts (first_name, emails, language, created_at, updated_at)
						VALUES (?, ?, 'en', ?, ?) RETURNING id`, fmt.Sprintf("P%d", i), fmt.Sprintf(`[{"value":"p%d@example.com","label":""}]`, i), tx.Now(), tx.Now())
					if err != nil {
						return err
					}
					if err := tx.SetConsent(sys, id, &crm.Consent{Channel: "email", Status: crm.ConsentGranted, Source: "import"}); err != nil {
						return err
					}
					ids = append(ids, id)
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			c := f.emailCampaign("Bench", welcome)
			var before syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.ResetTimer()
			start := time.Now()
			if _, err := f.svc.Start(sys, c.ID); err != nil {
				b.Fatal(err)
			}
			for {
				if _, err := f.runner.RunOnce(sys); err != nil {
					b.Fatal(err)
				}
				got, _ := f.svc.Get(sys, c.ID)
				if got.Status == crm.CampaignDone {
					break
				}
			}
			wall := time.Since(start)
			b.StopTimer()
			var after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			if f.sink.total() != b.N {
				b.Fatalf("sink got %d of %d", f.sink.total(), b.N)
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "msgs/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkRevenue reads the results (counts, attributed revenue) of a
// campaign sent to PIVAND_BENCH_RECIPIENTS people (100,000 by default),
// a tenth of whom placed an order in the window, in a shop with as many
// other orders. Run: go test ./internal/campaign -run ^$ -bench Revenue -benchtime 5x
func BenchmarkRevenue(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("PIVAND_BENCH_RECIPIENTS")); err == nil && v > 0 {
		n = v
	}
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			db := storetest.Open(b, d)
			f := newFixture(b, db, campaign.Options{})
			c := f.emailCampaign("Bench", welcome)
			sent := f.now
			err := db.Write(sys, func(tx *store.Tx) error {
				if _, err := tx.Exec(sys, `UPDATE campaigns SET status = 'done', audience_ready = TRUE, audience_count = ?, started_at = ?, finished_at = ? WHERE id = ?`, n, sent, sent, c.ID); err != nil {
					return err
				}
				for lo := 1; lo <= n; lo += 500 {
					var sb strings.Builder
					var args []any
					var ob strings.Builder
					var oargs []any
					for id := lo; id < lo+500 && id <= n; id++ {
						if sb.Len() > 0 {
							sb.WriteString(", ")
						}
						sb.WriteString("(?, ?, 'sent', ?, ?, ?, ?, ?)")
						args = append(args, c.ID, id, sent, sent, sent, sent, sent.AddDate(0, 0, 7))
						if id%10 == 0 {
							if ob.Len() > 0 {
								ob.WriteString(", ")
							}
							// One order of a recipient in the window, one of someone else.
							ob.WriteString("(?, 'placed', 'IRR', 1000, 1000, 'web', ?, ?, ?), (?, 'placed', 'IRR', 1000, 1000, 'web', ?, ?, ?)")
							at := sent.Add(time.Duration(id%144) * time.Hour)
							oargs = append(oargs, id, at, at, at, n+id, at, at, at)
						}
					}
					if _, err := tx.Exec(sys, `INSERT INTO campaign_deliveries (campaign_id, contact_id, status, next_at, created_at, updated_at, sent_at, attribution_until)
						VALUES `+sb.String(), args...); err != nil {
						return err
					}
					if ob.Len() > 0 {
						if _, err := tx.Exec(sys, `INSERT INTO orders (contact_id, status, currency, subtotal, total, channel, placed_at, created_at, updated_at)
							VALUES `+ob.String(), oargs...); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			var before syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.ResetTimer()
			for range b.N {
				r, err := f.svc.Results(sys, c.ID)
				if err != nil {
					b.Fatal(err)
				}
				if r.Orders != int64(n/10) || r.Revenue["IRR"] != int64(n/10)*1000 {
					b.Fatalf("revenue %v, %d orders", r.Revenue, r.Orders)
				}
			}
			b.StopTimer()
			var after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			// The counts alone (Summary), to tell the revenue's share.
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			for range b.N {
				if _, err := f.svc.Summary(sys, c.ID); err != nil {
					b.Fatal(err)
				}
			}
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			counts := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(counts.Milliseconds())/float64(b.N), "counts-cpu-ms/op")
			b.ReportMetric(float64(n), "recipients")
		})
	}
}
