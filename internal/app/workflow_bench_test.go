package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// BenchmarkWorkflowEvents measures events processed per second through a
// workflow with one simple action, in the whole app: each iteration
// writes one contact.updated event (source changed) for each of n people
// in one transaction, and the running dispatcher and job runner (4
// workers) enrol each person in a run of "when the source changes, add a
// tag" and tag them through the contacts service. The clock stops when
// every run is completed. It reports events/s (wall) and CPU per event
// (user+system of the whole process, load generator included).
//
//	go test ./internal/app/ -run '^$' -bench BenchmarkWorkflowEvents -benchtime 3x
func BenchmarkWorkflowEvents(b *testing.B) {
	const n = 1000
	for _, d := range storetest.Dialects() {
		b.Run(d.String(), func(b *testing.B) {
			db := storetest.Open(b, d)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := config.Defaults()
			cfg.DataDir = b.TempDir()
			a, err := New(ctx, cfg, db, slog.New(slog.DiscardHandler), "bench")
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]int64, n)
			for i := range ids {
				c, err := a.Contacts.CreateContact(ctx, &crm.Contact{FirstName: fmt.Sprint("Person", i)}, true)
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = c.ID
			}
			w, err := a.Workflows.Create(ctx, workflow.Input{Name: "Tag on source", Definition: json.RawMessage(`{
				"trigger": {"kind": "field_changed", "object": "contact", "field": "source"},
				"reenrol": true, "max_runs_per_day": 100, "steps": [{"kind": "add_tag", "tag": "seen"}]}`)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := a.Workflows.Publish(ctx, w.ID, 0); err != nil {
				b.Fatal(err)
			}
			if err := a.Events.Drain(ctx); err != nil {
				b.Fatal(err)
			}
			go a.Events.Run(ctx)
			go a.Jobs.Run(ctx)
			completed := func() int64 {
				var k int64
				if err := db.Read(ctx, func(tx *store.Tx) error {
					return tx.QueryRow(ctx, `SELECT COUNT(*) FROM workflow_runs WHERE status = 'completed'`).Scan(&k)
				}); err != nil {
					b.Fatal(err)
				}
				return k
			}
			payload := json.RawMessage(`{"changed": ["source"]}`)
			var total time.Duration
			cpu0 := cpuTime()
			b.ResetTimer()
			for it := range b.N {
				start := time.Now()
				if err := db.Write(ctx, func(tx *store.Tx) error {
					for _, id := range ids {
						if err := tx.Emit(ctx, &crm.Event{Type: crm.EventContactUpdated, SubjectType: "contact", SubjectID: id, ContactID: id, Payload: payload}); err != nil {
							return err
						}
					}
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				want := int64((it + 1) * n)
				for completed() < want {
					time.Sleep(10 * time.Millisecond)
					if time.Since(start) > 5*time.Minute {
						b.Fatalf("only %d of %d runs completed", completed(), want)
					}
				}
				total += time.Since(start)
			}
			b.StopTimer()
			cpu := cpuTime() - cpu0
			events := float64(b.N * n)
			b.ReportMetric(events/total.Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-µs/event")
			b.Logf("%s: %.0f events/s, %.0f µs CPU per event (%d events)", d, events/total.Seconds(), float64(cpu.Microseconds())/events, int(events))
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
