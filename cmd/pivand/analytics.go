package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/insight"
)

const analyticsUsage = `pivand analytics recompute [--end YYYY-MM-DD] [--json] [--data DIR | --database-url URL]
       pivand analytics status [--json] [--data DIR | --database-url URL]`

const analyticsHelp = `Customer analytics on the database (internal/insight; docs/analytics.md §9).

  recompute  compute every customer's RFM segment, P(alive), churn risk, expected
             purchases and CLV, and the items bought together, from the stored
             orders, now, in this process (a server keeps serving the previous
             results until the run ends). Progress goes to standard error.
             --end observes the orders up to that day (default: today in the
             analytics time zone). Refused while another run is queued or running.
  status     the run in use and the one going now, if any.

The server also recomputes every night and when asked on /analytics/customers
or through POST /api/v1/analytics/recompute.`

func cmdAnalytics(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(env.stdout, "Usage: %s\n\n%s\n", analyticsUsage, analyticsHelp)
		if len(args) == 0 {
			return config.Usagef("missing what to do: recompute or status")
		}
		return flag.ErrHelp
	}
	what := args[0]
	if what != "recompute" && what != "status" {
		return config.Usagef("unknown analytics command %q (recompute or status)", what)
	}
	cfg := config.Defaults()
	fs := cfg.FlagSet("analytics "+what, false, env.getenv, env.stderr)
	var (
		end     string
		asJSON  bool
		quietly bool
	)
	if what == "recompute" {
		fs.StringVar(&end, "end", "", "observe the orders up to this day, YYYY-MM-DD (default today)")
		fs.BoolVar(&quietly, "quiet", false, "no progress on standard error")
	}
	fs.BoolVar(&asJSON, "json", false, "print the run as JSON (as the API answers it)")
	rest, err := parseInterleaved(fs, env, args[1:], analyticsUsage, analyticsHelp)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return config.Usagef("unexpected argument %q", rest[0])
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := insight.New(db, insight.Options{})
	var run *insight.Run
	if what == "recompute" {
		start := time.Now()
		last := ""
		run, err = svc.RunNow(ctx, insight.ViaCLI, end, func(p insight.Progress) {
			if quietly || p.Phase == last {
				return
			}
			last = p.Phase
			fmt.Fprintf(env.stderr, "%6.1fs %s\n", time.Since(start).Seconds(), p.Phase)
		})
		if err != nil {
			return err
		}
	} else {
		cur, active, err := svc.CurrentRun(ctx)
		if err != nil {
			return err
		}
		if active != nil && !asJSON {
			fmt.Fprintf(env.stdout, "Run %d is %s (%s: %d of %d).\n", active.ID, active.Status, active.Progress.Phase, active.Progress.Done, active.Progress.Total)
		}
		if cur == nil {
			if asJSON {
				fmt.Fprintln(env.stdout, "null")
				return nil
			}
			fmt.Fprintln(env.stdout, "The customer analytics have not been computed yet: pivand analytics recompute.")
			return nil
		}
		run = cur
	}
	if asJSON {
		b, err := json.MarshalIndent(run, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(env.stdout, string(b))
		return nil
	}
	printRun(env, run)
	return nil
}

// printRun writes a run's summary for people.
func printRun(env *environment, r *insight.Run) {
	w := env.stdout
	fmt.Fprintf(w, "Run %d (%s, %s): orders in %s up to %s; %d orders, %d customers (%d repeat buyers) in %.1f s.\n",
		r.ID, r.Via, r.Status, r.Currency, r.ObservedTo, r.Orders, r.Customers, r.Repeat, float64(r.Timings.Total)/1000)
	for _, oc := range r.Skipped.OtherCurrencies {
		fmt.Fprintf(w, "  left out: %d orders in %s of %d customers (amounts are not converted)\n", oc.Orders, oc.Currency, oc.Customers)
	}
	fmt.Fprintf(w, "Purchase model (BG/NBD): %s", r.ModelStatus)
	if f := r.BGNBD; f != nil {
		fmt.Fprintf(w, "; r=%.6g alpha=%.6g a=%.6g b=%.6g, log-likelihood %.4f, converged %v", f.R, f.Alpha, f.A, f.B, f.LogLikelihood, f.Fit.Converged)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Spend model (Gamma-Gamma): %s", r.SpendStatus)
	if f := r.GammaGamma; f != nil {
		fmt.Fprintf(w, "; p=%.6g q=%.6g v=%.6g, log-likelihood %.4f", f.P, f.Q, f.V, f.LogLikelihood)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Baskets: %s; %d orders, %d frequent itemsets, %d rules.\n", r.Baskets.Status, r.Baskets.Baskets, r.Baskets.Itemsets, r.Baskets.Rules)
	if r.Message != "" {
		fmt.Fprintln(w, r.Message)
	}
}
