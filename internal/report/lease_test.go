package report_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestLeaseRenewedRarely: the running worker takes its lease at once,
// does not write it again on every round (each commit costs SQLite's
// readers their page caches) but renews it before it runs out, and gives
// it back when it stops.
func TestLeaseRenewedRarely(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var (
			mu  sync.Mutex
			now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
		)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
		rep := report.New(db, report.Options{Logger: slog.New(slog.DiscardHandler), Now: clock, PollInterval: 5 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- rep.Run(ctx) }()
		lease := func() string {
			var v string
			if err := db.Read(context.Background(), func(tx *store.Tx) error {
				var err error
				v, err = tx.ReportStateValue(context.Background(), "lease")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return v
		}
		// waitFor polls the lease until ok says yes, for a few seconds.
		waitFor := func(what string, ok func(string) bool) string {
			t.Helper()
			for range 400 {
				if v := lease(); ok(v) {
					return v
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Fatalf("lease never %s (it is %q)", what, lease())
			return ""
		}
		first := waitFor("taken", func(v string) bool { return v != "" })
		holder, _, _ := strings.Cut(first, " ")

		advance(20 * time.Second) // 100 s left of 120: not renewed
		time.Sleep(100 * time.Millisecond)
		if v := lease(); v != first {
			t.Errorf("lease rewritten with 100 s left: %q -> %q", first, v)
		}
		advance(20 * time.Second) // 80 s left: renewed
		renewed := waitFor("renewed", func(v string) bool { return v != first })
		if h, _, _ := strings.Cut(renewed, " "); h != holder {
			t.Errorf("lease changed hands: %q -> %q", first, renewed)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if v := lease(); v != "" {
			t.Errorf("lease kept after the worker stopped: %q", v)
		}
	})
}
