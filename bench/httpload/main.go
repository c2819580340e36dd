// Command httpload is a small HTTP load generator for Pivand's
// benchmarks. It sends GET requests to a server on this machine (loopback
// addresses only), with a bounded number of requests and a time limit,
// and prints requests per second and latency percentiles.
//
//	httpload -url 'http://127.0.0.1:8080/api/v1/contacts/{id}' -ids 1-1000000 -token pvd_… -c 16 -n 50000
//	httpload -url 'http://127.0.0.1:8080/api/v1/search?q={q}' -queries queries.txt -token pvd_…
//
// {id} is replaced by a random id in -ids, {q} by a random line of
// -queries (URL-escaped). Responses other than 200 count as errors. With
// -pid it also prints the server's CPU time per request next to its own
// (the two share the machine's cores, so CPU per request is the figure
// that other load on the machine disturbs least).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pivand/pivand/bench/machine"
)

func main() {
	target := flag.String("url", "", "URL template with {id} and/or {q} (required)")
	ids := flag.String("ids", "1-1000", "id range for {id}: FROM-TO")
	queries := flag.String("queries", "", "file of search queries for {q}, one per line")
	token := flag.String("token", os.Getenv("PIVAND_TOKEN"), "API token [PIVAND_TOKEN]")
	conc := flag.Int("c", 16, "concurrent connections")
	n := flag.Int("n", 20000, "requests to send (at most)")
	dur := flag.Duration("d", 60*time.Second, "time limit")
	warm := flag.Int("warmup", 500, "requests sent first and not measured")
	seed := flag.Uint64("seed", 1, "random seed")
	pid := flag.String("pid", "", "process id of the server, to report its CPU time per request")
	flag.Parse()
	if *target == "" || *conc < 1 || *n < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: httpload -url URL [-ids 1-1000] [-queries FILE] [-token T] [-c 16] [-n 20000] [-d 60s]")
		os.Exit(2)
	}
	u, err := url.Parse(strings.NewReplacer("{id}", "1", "{q}", "x").Replace(*target))
	if err != nil {
		fail("bad -url: %v", err)
	}
	if !loopback(u.Hostname()) {
		fail("refusing to load %s: httpload only talks to this machine (127.0.0.1, ::1, localhost)", u.Host)
	}
	var lo, hi int64
	if _, err := fmt.Sscanf(*ids, "%d-%d", &lo, &hi); err != nil || lo < 1 || hi < lo {
		fail("bad -ids %q: want FROM-TO", *ids)
	}
	var qs []string
	if *queries != "" {
		qs, err = readLines(*queries)
		if err != nil || len(qs) == 0 {
			fail("cannot read queries from %s: %v", *queries, err)
		}
	} else if strings.Contains(*target, "{q}") {
		fail("the URL has {q}: give -queries FILE")
	}

	// One keep-alive connection per worker with a hand-written HTTP/1.1
	// exchange: net/http's client costs several times what the server
	// spends on a GET, and on a small machine the client and the server
	// share the cores.
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	if u.Scheme != "http" {
		fail("bad -url: only http:// (loopback)")
	}
	auth := ""
	if *token != "" {
		auth = "Authorization: Bearer " + *token + "\r\n"
	}
	build := func(r *rand.Rand, buf []byte) ([]byte, string) {
		s := strings.ReplaceAll(*target, "{id}", strconv.FormatInt(lo+r.Int64N(hi-lo+1), 10))
		if len(qs) > 0 {
			s = strings.ReplaceAll(s, "{q}", url.QueryEscape(qs[r.IntN(len(qs))]))
		}
		ru, _ := url.Parse(s)
		buf = append(buf[:0], "GET "...)
		buf = append(buf, ru.RequestURI()...)
		buf = append(buf, " HTTP/1.1\r\nHost: "...)
		buf = append(buf, u.Host...)
		buf = append(buf, "\r\nUser-Agent: httpload\r\n"...)
		buf = append(buf, auth...)
		buf = append(buf, "\r\n"...)
		return buf, s
	}
	newClient := func() *client { return &client{addr: host} }
	// Warm up: connections, caches. A first failure stops everything.
	r0 := rand.New(rand.NewPCG(*seed, 0))
	c0 := newClient()
	var req []byte
	for i := range *warm {
		req, _ = build(r0, req)
		code, err := c0.do(req)
		if err != nil || code != 200 {
			if i == 0 {
				fail("first request failed: status %d, %v", code, err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	var (
		next    atomic.Int64
		errs    atomic.Int64
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, *n)
		wg      sync.WaitGroup
		firstEr atomic.Value
	)
	c0.close()
	cpu0, srv0 := cpuSeconds("self"), cpuSeconds(*pid)
	start := time.Now()
	for w := range *conc {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(*seed, uint64(w+1)))
			c := newClient()
			defer c.close()
			local := make([]time.Duration, 0, *n / *conc + 1)
			var req []byte
			for ctx.Err() == nil && next.Add(1) <= int64(*n) {
				var s string
				req, s = build(r, req)
				t := time.Now()
				code, err := c.do(req)
				local = append(local, time.Since(t))
				if err != nil || code != 200 {
					errs.Add(1)
					if err == nil {
						err = fmt.Errorf("status %d for %s", code, s)
					}
					firstEr.CompareAndSwap(nil, err.Error())
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start)
	cpu1, srv1 := cpuSeconds("self"), cpuSeconds(*pid)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Printf("machine: %s\n", machine.Describe())
	fmt.Printf("target: GET %s (%d connections)\n", *target, *conc)
	fmt.Printf("requests: %d in %.2fs, errors: %d\n", len(lat), el.Seconds(), errs.Load())
	fmt.Printf("throughput: %.0f req/s\n", float64(len(lat))/el.Seconds())
	fmt.Printf("latency: p50 %s  p90 %s  p99 %s  max %s\n", ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(pct(1)))
	if len(lat) > 0 {
		perReq := func(sec float64) string { return fmt.Sprintf("%.0f µs/request", sec*1e6/float64(len(lat))) }
		fmt.Printf("cpu: load generator %.1fs (%s)", cpu1-cpu0, perReq(cpu1-cpu0))
		if *pid != "" && srv0 >= 0 && srv1 >= 0 {
			fmt.Printf(", server %.1fs (%s)", srv1-srv0, perReq(srv1-srv0))
		}
		fmt.Println()
	}
	if e := firstEr.Load(); e != nil {
		fmt.Printf("first error: %v\n", e)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "httpload: "+format+"\n", args...)
	os.Exit(1)
}

// client is one keep-alive HTTP/1.1 connection that sends a request and
// reads the whole response (Content-Length or chunked), reconnecting when
// the server closes.
type client struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	buf  []byte
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// do sends req (a complete request) and returns the response status. A
// connection the server closed before answering is opened again once.
func (c *client) do(req []byte) (int, error) {
	for attempt := 0; ; attempt++ {
		fresh := c.conn == nil
		if fresh {
			conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
			if err != nil {
				return 0, err
			}
			c.conn, c.br = conn, bufio.NewReaderSize(conn, 64<<10)
		}
		c.conn.SetDeadline(time.Now().Add(30 * time.Second))
		code, keep, err := c.exchange(req)
		if err != nil {
			c.close()
			if !fresh && attempt == 0 && code == 0 {
				continue // a stale keep-alive connection
			}
			return code, err
		}
		if !keep {
			c.close()
		}
		return code, nil
	}
}

func (c *client) exchange(req []byte) (code int, keep bool, err error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.line()
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !strings.HasPrefix(line, "HTTP/1.") {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	if code, err = strconv.Atoi(line[9:12]); err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := int64(-1), false, true
	for {
		h, err := c.line()
		if err != nil {
			return code, false, err
		}
		if h == "" {
			break
		}
		k, v, _ := strings.Cut(h, ":")
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "content-length":
			if length, err = strconv.ParseInt(v, 10, 64); err != nil {
				return code, false, fmt.Errorf("bad Content-Length %q", v)
			}
		case "transfer-encoding":
			chunked = strings.EqualFold(v, "chunked")
		case "connection":
			keep = !strings.EqualFold(v, "close")
		}
	}
	switch {
	case chunked:
		for {
			h, err := c.line()
			if err != nil {
				return code, false, err
			}
			size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(h, ";", 2)[0]), 16, 64)
			if err != nil {
				return code, false, fmt.Errorf("bad chunk size %q", h)
			}
			if size == 0 {
				for { // trailers
					if t, err := c.line(); err != nil || t == "" {
						return code, keep, err
					}
				}
			}
			if _, err := c.br.Discard(int(size)); err != nil {
				return code, false, err
			}
			if _, err := c.line(); err != nil {
				return code, false, err
			}
		}
	case length >= 0:
		_, err = c.br.Discard(int(length))
		return code, keep, err
	default: // the body ends with the connection
		_, err = io.Copy(io.Discard, c.br)
		return code, false, err
	}
}

// line reads one header line without its CRLF.
func (c *client) line() (string, error) {
	b, err := c.br.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// cpuSeconds is the user+system CPU time of process pid ("self", or ""
// for none: -1) from /proc.
func cpuSeconds(pid string) float64 {
	if pid == "" {
		return -1
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // clock ticks; 100 a second on Linux
}
