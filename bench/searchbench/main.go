// Command searchbench measures the search box through the contact service
// (no HTTP) on a database filled by `pivand demo` or by importing a
// generated CSV: it builds realistic queries from the same synthetic people
// (name prefixes, full names, Arabic letter variants of Persian names,
// phone prefixes, email prefixes) and prints latency percentiles per kind.
//
//	searchbench -data DIR -people 1000000 -n 2000
//	searchbench -people 1000000 -print 5000 > queries.txt   # for httpload
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/bench/machine"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/demo"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

func main() {
	data := flag.String("data", "", "data directory of the SQLite database")
	dbURL := flag.String("database-url", "", "postgres://… instead of -data")
	people := flag.Int("people", 1_000_000, "people in the database (queries pick among them)")
	seed := flag.Int64("seed", 1, "seed the data was made with")
	n := flag.Int("n", 2000, "queries per kind")
	limit := flag.Int("limit", 10, "results per query")
	print := flag.Int("print", 0, "print this many mixed queries (one per line) and exit")
	flag.Parse()
	g := demo.New(*seed, 0)
	r := rand.New(rand.NewPCG(uint64(*seed), 99))
	kinds := []string{"name prefix", "first + last prefix", "arabic letters", "phone prefix", "email prefix"}
	query := func(kind string) string {
		p := g.Person(r.IntN(*people))
		c := p.Contact
		switch kind {
		case "name prefix":
			return prefix(c.LastName, 3)
		case "first + last prefix":
			return c.FirstName + " " + prefix(c.LastName, 2)
		case "arabic letters":
			return strings.NewReplacer("ی", "ي", "ک", "ك").Replace(c.FirstName + " " + c.LastName)
		case "phone prefix":
			d := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, text.ToASCIIDigits(c.Phones[0].Value))
			return d[:min(len(d), 7)]
		default:
			if len(c.Emails) == 0 {
				return prefix(c.FirstName, 4)
			}
			return prefix(c.Emails[0].Value, 6)
		}
	}
	if *print > 0 {
		for i := range *print {
			fmt.Println(query(kinds[i%len(kinds)]))
		}
		return
	}
	url := *dbURL
	if url == "" {
		if *data == "" {
			fmt.Fprintln(os.Stderr, "searchbench: give -data DIR or -database-url")
			os.Exit(2)
		}
		url = store.SQLitePath(*data)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "searchbench:", err)
		os.Exit(1)
	}
	defer db.Close()
	svc := contact.New(db, contact.Options{})
	fmt.Printf("machine: %s\n", machine.Describe())
	fmt.Printf("database: %s, %d people assumed, %d queries per kind, limit %d\n", db.Source(), *people, *n, *limit)
	var all []time.Duration
	for _, kind := range kinds {
		lat := make([]time.Duration, 0, *n)
		empty := 0
		for range 50 { // warm up
			svc.Search(ctx, query(kind), *limit)
		}
		for range *n {
			q := query(kind)
			t := time.Now()
			hits, err := svc.Search(ctx, q, *limit)
			lat = append(lat, time.Since(t))
			if err != nil {
				fmt.Fprintf(os.Stderr, "searchbench: %q: %v\n", q, err)
				os.Exit(1)
			}
			if len(hits) == 0 {
				empty++
			}
		}
		all = append(all, lat...)
		report(kind, lat, fmt.Sprintf("  (%d with no hits)", empty))
	}
	report("all", all, "")
}

func prefix(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func report(kind string, lat []time.Duration, extra string) {
	slices.Sort(lat)
	p := func(f float64) string {
		d := lat[min(len(lat)-1, int(f*float64(len(lat))))]
		return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
	}
	fmt.Printf("%-20s p50 %-9s p90 %-9s p99 %-9s max %s%s\n", kind+":", p(0.5), p(0.9), p(0.99), p(1), extra)
}
