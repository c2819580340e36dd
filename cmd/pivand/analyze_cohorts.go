package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
)

func init() {
	analyzers["cohorts"] = analyzer{
		summary: "monthly cohort retention: share of each first-purchase month active in later months",
		run:     cmdAnalyzeCohorts,
	}
}

const analyzeCohortsUsage = "pivand analyze cohorts --input FILE [--calendar gregorian|jalali] [--end YYYY-MM-DD] [--rates] [column flags] --format csv|json"

const analyzeCohortsHelp = `
Groups customers by the month of their first purchase (Gregorian, or Jalali
months with --calendar jalali: Farvardin 1404 is 2025-03-21..2025-04-20) and
counts how many of each cohort bought in each following month: m0 is the
cohort's size, mk the customers active k months later. Months after the last
observed month (the month of --end, default the last transaction's) are left
empty. CSV prints the counts, or the retention rates (counts / m0, six
decimals) with --rates; JSON prints both.
` + miningInputHelp

// cohortJSON is one cohort in the JSON output.
type cohortJSON struct {
	Cohort string    `json:"cohort"`
	Start  string    `json:"start"`
	End    string    `json:"end"`
	Size   int       `json:"size"`
	Active []int     `json:"active"`
	Rates  []float64 `json:"rates"`
}

func cmdAnalyzeCohorts(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("analyze cohorts", flag.ContinueOnError)
	var in miningInput
	var endS, format, calendar string
	var rates bool
	in.flags(fs)
	fs.StringVar(&calendar, "calendar", "gregorian", "calendar of the months: gregorian or jalali")
	fs.StringVar(&endS, "end", "", "last day of observation, YYYY-MM-DD (default: the date of the last transaction)")
	fs.BoolVar(&rates, "rates", false, "CSV: print retention rates instead of active counts")
	fs.StringVar(&format, "format", "csv", "output format: csv or json")
	if err := parse(fs, env, args, analyzeCohortsUsage); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(env.stdout, analyzeCohortsHelp)
		}
		return err
	}
	if format != "csv" && format != "json" {
		return config.Usagef("--format %q is not csv or json", format)
	}
	if calendar != "gregorian" && calendar != "jalali" {
		return config.Usagef("--calendar %q is not gregorian or jalali", calendar)
	}
	end, err := miningDate("--end", endS)
	if err != nil {
		return err
	}
	cols, err := in.columns()
	if err != nil {
		return err
	}
	coh, err := analytics.NewCohorts(analytics.CohortOptions{Calendar: calendar, End: end})
	if err != nil {
		return err
	}
	stats, err := in.read(ctx, env, cols, func(t analytics.Transaction, i int) error { return coh.AddIndexed(t, i) })
	if err != nil {
		return err
	}
	tab := coh.Table()
	if len(tab.Cohorts) == 0 {
		return crm.Errorf(crm.EINVALID, "%s: no transactions", miningFileName(in.path))
	}
	var out bytes.Buffer
	if format == "csv" {
		if err := tab.WriteCSV(&out, rates); err != nil {
			return err
		}
	} else {
		rep := struct {
			Calendar  string              `json:"calendar"`
			LastMonth string              `json:"last_month"`
			Customers int                 `json:"customers"`
			Read      analytics.ReadStats `json:"read"`
			Ignored   int                 `json:"ignored_after_end"`
			Cohorts   []cohortJSON        `json:"cohorts"`
		}{Calendar: tab.Calendar, LastMonth: tab.LastMonth, Read: stats, Ignored: coh.Ignored(), Cohorts: []cohortJSON{}}
		for _, c := range tab.Cohorts {
			j := cohortJSON{Cohort: c.Month, Start: c.Start.Format(time.DateOnly), End: c.End.Format(time.DateOnly),
				Size: c.Size, Active: c.Active}
			for k := range c.Active {
				j.Rates = append(j.Rates, math.Round(c.Rate(k)*1e6)/1e6)
			}
			rep.Customers += c.Size
			rep.Cohorts = append(rep.Cohorts, j)
		}
		if err := miningJSON(&out, rep); err != nil {
			return err
		}
	}
	_, err = env.stdout.Write(out.Bytes())
	return err
}
