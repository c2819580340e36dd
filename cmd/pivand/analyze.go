package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"github.com/pivand/pivand/internal/config"
)

// analyzer is one `pivand analyze KIND` command: customer analytics on a
// file, with no database (used to check Pivand's models against other
// tools). Each kind registers itself in analyzers from its own file
// (analyze_clv.go, analyze_rfm.go …) in an init func.
type analyzer struct {
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

var analyzers = map[string]analyzer{}

func cmdAnalyze(ctx context.Context, env *environment, args []string) error {
	kinds := make([]string, 0, len(analyzers))
	for k := range analyzers {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintln(env.stdout, "Usage: pivand analyze KIND [flags]   (each kind answers -h)")
		fmt.Fprintln(env.stdout, "\nKinds:")
		for _, k := range kinds {
			fmt.Fprintf(env.stdout, "  %-8s %s\n", k, analyzers[k].summary)
		}
		if len(args) == 0 {
			return config.Usagef("missing what to analyze: %s", strings.Join(kinds, ", "))
		}
		return flag.ErrHelp
	}
	a, ok := analyzers[args[0]]
	if !ok {
		return config.Usagef("unknown analysis %q (one of: %s)", args[0], strings.Join(kinds, ", "))
	}
	return a.run(ctx, env, args[1:])
}
