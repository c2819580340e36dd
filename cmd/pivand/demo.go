package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/demo"
)

const demoUsage = "pivand demo [--data DIR] --contacts N [--seed S] [--companies C]"

const demoHelp = `
Adds realistic synthetic people and companies in Persian, Arabic and English:
names, phone numbers as people in Iran, the UAE, Saudi Arabia, the US and the
UK write them, emails, addresses, tags, birthdays, four custom fields, and
interactions and notes on one person in fifty. The same seed gives the same
people. Active users own about half of them.
`

// cmdDemo is "pivand demo".
func cmdDemo(ctx context.Context, env *environment, args []string) error {
	cfg := config.Defaults()
	fs := cfg.FlagSet("demo", false, env.getenv, env.stderr)
	n := fs.Int("contacts", 0, "number of people to add (required)")
	seed := fs.Int64("seed", 1, "random seed")
	companies := fs.Int("companies", 0, "number of companies (default: one per 25 people, 5 to 20,000)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	rest, err := parseInterleaved(fs, env, args, demoUsage, demoHelp)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return config.Usagef("unexpected argument %q", rest[0])
	}
	switch {
	case *n <= 0:
		return config.Usagef("--contacts N is required (a positive number)")
	case *n > 10_000_000:
		return config.Usagef("--contacts must be at most 10,000,000")
	case *companies < 0:
		return config.Usagef("--companies must not be negative")
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	bar := newProgressBar(env.stderr, *quiet)
	start := time.Now()
	res, err := demo.Fill(ctx, db, contact.New(db, contact.Options{}), activity.New(db), demo.Options{
		Contacts: *n, Seed: *seed, Companies: *companies,
		Progress: func(done, total int) {
			bar.update(100*float64(done)/float64(total), int64(done), thousands(int64(done))+" people")
		},
	})
	bar.finish()
	if err != nil {
		if res.Contacts > 0 {
			fmt.Fprintf(env.stderr, "Added %s people before the error.\n", thousands(int64(res.Contacts)))
		}
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(env.stdout, "Added %s people, %s companies, %d interactions and %d notes to %s in %s",
		thousands(int64(res.Contacts)), thousands(int64(res.Companies)), res.Interactions, res.Notes, db.Source(), took.Round(100*time.Millisecond))
	if s := took.Seconds(); s > 0 {
		fmt.Fprintf(env.stdout, " (%s people/s)", thousands(int64(float64(res.Contacts)/s)))
	}
	fmt.Fprintln(env.stdout, ".")
	if res.CustomFields > 0 {
		fmt.Fprintf(env.stdout, "Defined %d custom fields: vip_level, customer_since, newsletter, lifetime_value.\n", res.CustomFields)
	}
	return nil
}
