// Command httpload is a small HTTP load generator for Pivand's
// benchmarks. It sends GET requests to a server on this machine (loopback
// addresses only), with a bounded number of requests and a time limit,
// and prints requests per second and latency percentiles.
//
//	httpload -url 'http://127.0.0.1:8080/api/v1/contacts/{id}' -ids 1-1000000 -token pvd_… -c 16 -n 50000
//	httpload -url 'http://127.0.0.1:8080/api/v1/search?q={q}' -queries queries.txt -token pvd_…
//
// {id} is replaced by a random id in -ids, {q} by a random line of
// -queries (URL-escaped). Responses other than 200 count as errors.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
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

	tr := &http.Transport{MaxIdleConns: *conc, MaxIdleConnsPerHost: *conc, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	build := func(r *rand.Rand) string {
		s := strings.ReplaceAll(*target, "{id}", fmt.Sprint(lo+r.Int64N(hi-lo+1)))
		if len(qs) > 0 {
			s = strings.ReplaceAll(s, "{q}", url.QueryEscape(qs[r.IntN(len(qs))]))
		}
		return s
	}
	do := func(s string) (int, error) {
		req, _ := http.NewRequest("GET", s, nil)
		if *token != "" {
			req.Header.Set("Authorization", "Bearer "+*token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	// Warm up: connections, caches. A first failure stops everything.
	r0 := rand.New(rand.NewPCG(*seed, 0))
	for i := range *warm {
		code, err := do(build(r0))
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
	start := time.Now()
	for w := range *conc {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(*seed, uint64(w+1)))
			local := make([]time.Duration, 0, *n / *conc + 1)
			for ctx.Err() == nil && next.Add(1) <= int64(*n) {
				s := build(r)
				t := time.Now()
				code, err := do(s)
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
