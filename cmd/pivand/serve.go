package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"

	"github.com/pivand/pivand/internal/app"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/store"
)

func cmdServe(ctx context.Context, env *environment, args []string) error {
	cfg := config.Defaults()
	fs := cfg.FlagSet("serve", true, env.getenv, env.stderr)
	cpuProfile := fs.String("cpu-profile", strings.TrimSpace(env.getenv("PIVAND_CPU_PROFILE")),
		"write a CPU profile of the whole run to this file when the server stops, for go tool pprof [PIVAND_CPU_PROFILE]")
	heapProfile := fs.String("heap-profile", strings.TrimSpace(env.getenv("PIVAND_HEAP_PROFILE")),
		"write a heap profile to this file when the server stops (memory in use then, and all allocations), for go tool pprof [PIVAND_HEAP_PROFILE]")
	if err := parse(fs, env, args, "pivand serve [--addr 127.0.0.1:8080] [--data DIR] [--database-url postgres://…]"); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := newLogger(cfg, env.stderr)
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	var heap *os.File
	if *heapProfile != "" {
		var err error
		if heap, err = os.Create(*heapProfile); err != nil {
			return config.Usagef("--heap-profile: %v", err)
		}
		defer heap.Close()
	}
	var unlock func()
	if cfg.DatabaseURL == "" {
		var err error
		if unlock, err = lockDataDir(cfg.DataDir); err != nil {
			return err
		}
		defer unlock()
	}
	db, err := app.OpenDB(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := app.New(ctx, cfg, db, logger, version)
	if err != nil {
		return err
	}
	ln, err := listen(cfg.Addr)
	if err != nil {
		return err
	}
	where := db.Source()
	if db.Dialect() == store.SQLite {
		where = "SQLite " + where
	} else {
		where = "PostgreSQL " + where
	}
	url := cfg.BaseURL
	if strings.HasSuffix(cfg.Addr, ":0") { // a random port: show the one we got
		url = "http://" + ln.Addr().String()
	}
	// One write, so whoever reads the output sees the instructions with
	// the address (a test watching for the address read them half-printed).
	var msg strings.Builder
	fmt.Fprintf(&msg, "Pivand %s is running at %s (%s)\n", version, url, where)
	if code := a.SetupCode(); code != "" {
		fmt.Fprintf(&msg, "\nNo account exists yet. Create the first admin, either:\n")
		fmt.Fprintf(&msg, "  in the browser: open %s/setup and enter the setup code %s\n", url, code)
		dataFlag := "--data " + shellQuote(cfg.DataDir)
		if cfg.DatabaseURL != "" {
			dataFlag = "--database-url '…'"
		}
		fmt.Fprintf(&msg, "  or in a terminal: pivand user create %s --email you@example.com --password '…' --role admin\n\n", dataFlag)
	}
	msg.WriteString("Press Ctrl+C to stop.\n")
	fmt.Fprint(env.stdout, msg.String())
	err = a.Run(ctx, ln)
	if heap != nil {
		// Written while the app and its caches are still reachable; the
		// in-use figures are as of the last collection.
		runtime.GC()
		pprof.Lookup("heap").WriteTo(heap, 0)
		runtime.KeepAlive(a)
	}
	return err
}

// startCPUProfile profiles the process into path until stop is called
// (when the server has shut down): `go tool pprof pivand path`.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, config.Usagef("--cpu-profile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
