package contactfile

import (
	"bytes"
	"io"
	"runtime"
	"testing"
)

// TestCSVReaderBoundedMemory reads 200,000 generated rows (about 25 MB,
// generated as they are read, so the test holds no file) and checks that
// the live heap does not grow with the number of rows read.
func TestCSVReaderBoundedMemory(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	r, err := NewCSVReader(&generatedCSV{n: n}, CSVOptions{DefaultRegion: "IR"})
	if err != nil {
		t.Fatal(err)
	}
	liveHeap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var base, peak uint64
	rows, lastLine := 0, 0
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if row.Errors != nil {
			t.Fatalf("row %d: %v", rows+1, row.Err())
		}
		if row.Line <= lastLine {
			t.Fatalf("line %d after %d", row.Line, lastLine)
		}
		lastLine = row.Line
		rows++
		switch {
		case rows == 1_000: // phone metadata and buffers are loaded by now
			base = liveHeap()
		case rows%25_000 == 0:
			peak = max(peak, liveHeap())
		}
	}
	if rows != n {
		t.Fatalf("read %d rows, want %d", rows, n)
	}
	// Rows 7, 14, … have two-line notes.
	if wantLine := 1 + n + n/7; lastLine != wantLine {
		t.Errorf("last row on line %d, want %d", lastLine, wantLine)
	}
	growth := int64(peak) - int64(base)
	t.Logf("live heap after 1,000 rows %.1f MiB, peak %.1f MiB over %d rows (%d bytes read)",
		float64(base)/(1<<20), float64(peak)/(1<<20), rows, r.Offset())
	if growth > 4<<20 {
		t.Errorf("live heap grew by %d bytes while reading", growth)
	}
}

// BenchmarkCSVReader reads a generated 10,000-row CSV file per iteration
// (names in three scripts, an email, an Iranian mobile number to normalise,
// a birthday, tags, multi-line notes on every seventh row) and reports
// rows per second and allocations per row.
func BenchmarkCSVReader(b *testing.B) {
	const n = 10_000
	data, err := io.ReadAll(&generatedCSV{n: n})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rows := 0
	for b.Loop() {
		r, err := NewCSVReader(bytes.NewReader(data), CSVOptions{DefaultRegion: "IR"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			rows++
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(rows), "allocs/row")
}

// BenchmarkCSVReaderBatch reads the same file with NextBatch, 1,000 rows
// per batch, converting on GOMAXPROCS goroutines.
func BenchmarkCSVReaderBatch(b *testing.B) {
	const n = 10_000
	data, err := io.ReadAll(&generatedCSV{n: n})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	rows := 0
	for b.Loop() {
		r, err := NewCSVReader(bytes.NewReader(data), CSVOptions{DefaultRegion: "IR"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			batch, err := r.NextBatch(1000, runtime.GOMAXPROCS(0))
			if err != nil {
				break
			}
			rows += len(batch)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
