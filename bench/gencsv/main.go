// Command gencsv writes a CSV file of synthetic people (internal/demo) for
// the import benchmark:
//
//	go run ./bench/gencsv -n 1000000 -seed 1 -out /tmp/contacts-1m.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pivand/pivand/internal/demo"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of people")
	seed := flag.Int64("seed", 1, "random seed: the same seed writes the same file")
	companies := flag.Int("companies", 0, "number of distinct companies (0: one per 25 people, at most 20,000)")
	out := flag.String("out", "-", "file to write; - is standard output")
	flag.Parse()
	if flag.NArg() > 0 || *n < 0 {
		fmt.Fprintln(os.Stderr, "usage: gencsv [-n N] [-seed S] [-companies C] [-out FILE]")
		os.Exit(2)
	}
	nc := *companies
	if nc == 0 {
		nc = min(max(*n/25, 5), 20000)
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(os.Stderr, "gencsv:", err)
			os.Exit(1)
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	start := time.Now()
	err := demo.New(*seed, nc).WriteCSV(bw, *n)
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gencsv:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gencsv: wrote %d people in %.1fs\n", *n, time.Since(start).Seconds())
}
