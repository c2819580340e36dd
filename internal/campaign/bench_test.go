package campaign_test

import (
	"fmt"
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
