package analytics

import (
	"io"
	"runtime"
	"strconv"
	"testing"
)

// synthLines is an io.Reader of synthetic order lines
// "order_id,customer_id,date,amount": orders of 1 to 8 lines (4.5 on
// average) by customers drawn with a skew (low ids buy more), dates with
// times in time order over two years, generated on the fly so that no
// line is ever held in memory.
type synthLines struct {
	left      int // lines still to generate
	total     int
	customers int
	rng       uint64
	buf       []byte
	pos       int
	header    bool

	order     int    // current order number
	orderLeft int    // lines left in it
	orderHead []byte // "order,customer,date," of the current order
}

func newSynthLines(lines, customers int) *synthLines {
	return &synthLines{left: lines, total: lines, customers: customers, rng: 0x9E3779B97F4A7C15}
}

func (s *synthLines) next() uint64 {
	s.rng ^= s.rng << 13
	s.rng ^= s.rng >> 7
	s.rng ^= s.rng << 17
	return s.rng
}

func (s *synthLines) Read(p []byte) (int, error) {
	if s.pos == len(s.buf) {
		if s.left == 0 {
			return 0, io.EOF
		}
		s.buf, s.pos = s.buf[:0], 0
		if !s.header {
			s.buf = append(s.buf, "order_id,customer_id,date,amount\n"...)
			s.header = true
		}
		for s.left > 0 && len(s.buf) < 60<<10 {
			i := s.total - s.left
			s.left--
			r := s.next()
			if s.orderLeft == 0 {
				s.order++
				s.orderLeft = 1 + int(r>>61)
				if r>>60&1 == 1 {
					s.orderLeft += 4
				}
				// Skewed customers: the square of a uniform picks low ids more often.
				u := float64(r>>36&(1<<24-1)) / float64(1<<24)
				c := int(u * u * float64(s.customers))
				dayOff := i * 730 / s.total // time order over 730 days from 2023-01-01
				y, m, d := 2023, 1, 1+dayOff
				for d > daysIn(y, m) {
					d -= daysIn(y, m)
					if m++; m == 13 {
						y, m = y+1, 1
					}
				}
				h := s.orderHead[:0]
				h = strconv.AppendInt(h, int64(s.order), 10)
				h = append(h, ',', 'C')
				h = strconv.AppendInt(h, int64(c), 10)
				h = append(h, ',')
				h = strconv.AppendInt(h, int64(y), 10)
				h = append(h, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), ' ')
				sec := int(r>>8) % 86400
				hh, mi, ss := sec/3600, sec/60%60, sec%60
				h = append(h, byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+ss/10), byte('0'+ss%10), ',')
				s.orderHead = h
			}
			s.orderLeft--
			s.buf = append(s.buf, s.orderHead...)
			cents := 100 + int(r>>20)%20000
			s.buf = strconv.AppendInt(s.buf, int64(cents/100), 10)
			s.buf = append(s.buf, '.', byte('0'+cents/10%10), byte('0'+cents%10), '\n')
		}
	}
	n := copy(p, s.buf[s.pos:])
	s.pos += n
	return n, nil
}

// BenchmarkRFMCohorts streams synthetic order lines through the CSV reader
// (lines merged into orders by order_id) into RFM and cohort accumulators
// (one pass, per-customer state only) and computes the scores and the
// table. heap-MB is the live heap at the end,
// with both accumulators and their results alive: it grows with customers,
// not with lines.
func BenchmarkRFMCohorts(b *testing.B) {
	for _, c := range []struct {
		name             string
		lines, customers int
	}{{"1M_lines", 1_000_000, 100_000}, {"10M_lines", 10_000_000, 100_000}, {"10M_lines_1M_customers", 10_000_000, 1_000_000}} {
		b.Run(c.name, func(b *testing.B) {
			var heap uint64
			for b.Loop() {
				rfm := NewRFM(RFMOptions{})
				coh, _ := NewCohorts(CohortOptions{})
				_, err := ReadCustomerTransactions(newSynthLines(c.lines, c.customers), Columns{Order: "order_id"}, func(t Transaction, i int) error {
					if err := rfm.AddIndexed(t, i); err != nil {
						return err
					}
					return coh.AddIndexed(t, i)
				})
				if err != nil {
					b.Fatal(err)
				}
				scores := rfm.Scores()
				tab := coh.Table()
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				heap = ms.HeapAlloc
				if len(scores) < c.customers/2 || len(tab.Cohorts) == 0 {
					b.Fatalf("%d customers, %d cohorts", len(scores), len(tab.Cohorts))
				}
				runtime.KeepAlive(rfm)
				runtime.KeepAlive(coh)
			}
			b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
			b.ReportMetric(float64(c.lines), "lines")
		})
	}
}

// BenchmarkSynthLines is the cost of generating the lines alone.
func BenchmarkSynthLines(b *testing.B) {
	for b.Loop() {
		io.Copy(io.Discard, newSynthLines(10_000_000, 100_000))
	}
}
