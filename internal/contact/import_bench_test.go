package contact_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/demo"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// BenchmarkImport imports PIVAND_BENCH_ROWS (default 20,000) generated
// people from CSV into a fresh SQLite database per iteration and reports
// rows/s and the process's peak resident memory; PIVAND_BENCH_CSV names
// a file to import instead (made by bench/gencsv, with PIVAND_BENCH_ROWS
// its number of rows). Profile it with
//
//	PIVAND_BENCH_ROWS=200000 go test ./internal/contact -run x -bench Import -benchtime 1x -cpuprofile cpu.out
func BenchmarkImport(b *testing.B) {
	n := 20000
	if v := os.Getenv("PIVAND_BENCH_ROWS"); v != "" {
		fmt.Sscan(v, &n)
	}
	path := os.Getenv("PIVAND_BENCH_CSV")
	if path == "" {
		path = filepath.Join(b.TempDir(), "people.csv")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := demo.New(1, min(max(n/25, 5), 20000)).WriteCSV(bw, n); err != nil {
			b.Fatal(err)
		}
		bw.Flush()
		f.Close()
	}
	mode := os.Getenv("PIVAND_BENCH_MODE")
	batch := 0
	if v := os.Getenv("PIVAND_BENCH_BATCH"); v != "" {
		fmt.Sscan(v, &batch)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		db := storetest.Open(b, store.SQLite)
		s := contact.New(db, contact.Options{DefaultRegion: "IR"})
		b.StartTimer()
		start := time.Now()
		im, err := s.CreateImport(context.Background(), path, "", contact.ImportOptions{DuplicateMode: mode, BatchSize: batch})
		if err == nil {
			im, err = s.RunImport(context.Background(), im.ID)
		}
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		if im.Created != int64(n) {
			b.Fatalf("created %d of %d: %+v", im.Created, n, im)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "rows/s")
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-MiB")
}

// peakRSS reads VmHWM from /proc/self/status (0 elsewhere).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
