package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/webhook"
)

// BenchmarkDeliveries measures the whole path of a webhook: events
// committed, turned into deliveries by the dispatcher, each sent by a job
// to a local httptest server (which checks the signature) and recorded.
// It reports deliveries per second of wall time and the CPU time (user +
// system, of this whole process, the receiver included) per delivery.
// go test ./internal/webhook/ -run XXX -bench Deliveries -benchtime 2000x
func BenchmarkDeliveries(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			for _, workers := range []int{1, 4} {
				b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
					benchDeliveries(b, storetest.Open(b, d), workers)
				})
			}
		})
	}
}

func benchDeliveries(b *testing.B, db *store.DB, workers int) {
	ctx := context.Background()
	svc := webhook.New(db, webhook.Options{Logger: quiet})
	disp := event.NewDispatcher(db, quiet)
	svc.Subscribe(disp)
	runner := jobs.NewRunner(db, quiet, jobs.Options{Workers: workers, PollInterval: 10 * time.Millisecond})
	svc.RegisterJobs(runner)
	if err := disp.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	var got, bad atomic.Int64
	var secret string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhook.Verify(secret, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Minute) != nil {
			bad.Add(1)
		}
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	if _, err := svc.SaveSettings(ctx, crm.WebhookSettings{AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		b.Fatal(err)
	}
	_, secret, err := svc.Create(ctx, crm.WebhookInput{URL: rcv.URL + "/hook", EventTypes: []string{"contact.*"}})
	if err != nil {
		b.Fatal(err)
	}
	// The events are written before the clock starts, 100 per transaction.
	for i := 0; i < b.N; i += 100 {
		err := db.Write(ctx, func(tx *store.Tx) error {
			for j := i; j < min(i+100, b.N); j++ {
				ev := crm.Event{Type: "contact.created", SubjectType: "contact", SubjectID: int64(j + 1), ContactID: int64(j + 1),
					Payload: []byte(`{"first_name":"Sara","last_name":"Karimi","phones":["+989121234567"]}`)}
				if err := tx.Emit(ctx, &ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { disp.Run(runCtx); done <- struct{}{} }()
	go func() { runner.Run(runCtx); done <- struct{}{} }()
	deadline := time.Now().Add(10 * time.Minute)
	for got.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	// Wait for the last outcomes to be recorded.
	for time.Now().Before(deadline) {
		ds, _, err := svc.Deliveries(ctx, 1, crm.WebhookPending, crm.Page{Limit: 1})
		if err == nil && len(ds) == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	cancel()
	<-done
	<-done
	if got.Load() != int64(b.N) || bad.Load() != 0 {
		b.Fatalf("%d of %d delivered, %d with a bad signature", got.Load(), b.N, bad.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/delivery")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
