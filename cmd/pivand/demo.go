package main

import (
	"context"
	"fmt"
	"time"

	"log/slog"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/app"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/demo"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/sales"
)

const demoUsage = "pivand demo [--data DIR] --contacts N [--seed S] [--companies C] [--deals D] [--orders O]"

const demoHelp = `
Adds realistic synthetic people and companies in Persian, Arabic and English:
names, phone numbers as people in Iran, the UAE, Saudi Arabia, the US and the
UK write them, emails, addresses, tags, birthdays, four custom fields, and
interactions and notes on one person in fifty. The same seed gives the same
people. Active users own about half of them. Then the sales module gets a
pipeline, products and lost reasons (when it has none) and deals about the
newest people, some won and some lost. Then a café's customer club (when
there is no club program: tiers, earn rules, rewards) enrols some of the
people, and orders from the last two years come in from its tills, web
shop and Telegram, with a few returns. The club's points are awarded from
the orders' events, as the server would.
`

// cmdDemo is "pivand demo".
func cmdDemo(ctx context.Context, env *environment, args []string) error {
	cfg := config.Defaults()
	fs := cfg.FlagSet("demo", false, env.getenv, env.stderr)
	n := fs.Int("contacts", 0, "number of people to add (required)")
	seed := fs.Int64("seed", 1, "random seed")
	companies := fs.Int("companies", 0, "number of companies (default: one per 25 people, 5 to 20,000)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	deals := fs.Int("deals", -1, "number of deals to add (default: one per 20 people, 20 to 300; 0 for none)")
	nOrders := fs.Int("orders", -1, "number of orders to add (default: two per person, at most 20,000; 0 for none)")
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
	case *deals > 500:
		return config.Usagef("--deals must be at most 500")
	case *nOrders > 2_000_000:
		return config.Usagef("--orders must be at most 2,000,000")
	}
	if *deals < 0 {
		*deals = min(max(*n/20, 20), 300)
	}
	if *nOrders < 0 {
		*nOrders = min(*n*2, 20_000)
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	bar := newProgressBar(env.stderr, *quiet)
	start := time.Now()
	contacts := contact.New(db, contact.Options{})
	res, err := demo.Fill(ctx, db, contacts, activity.New(db), demo.Options{
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
	sr, err := demo.FillSales(ctx, db, contacts, sales.New(db, sales.Options{}), *deals, *seed, time.Time{})
	if err != nil {
		return fmt.Errorf("sales: %w", err)
	}
	if sr.Deals > 0 {
		fmt.Fprintf(env.stdout, "Added %d deals (%d won, %d lost)", sr.Deals, sr.Won, sr.Lost)
		if sr.Pipeline {
			fmt.Fprint(env.stdout, ", a pipeline")
		}
		if sr.Products > 0 {
			fmt.Fprintf(env.stdout, ", %d products", sr.Products)
		}
		if sr.LostReasons > 0 {
			fmt.Fprintf(env.stdout, ", %d lost reasons", sr.LostReasons)
		}
		fmt.Fprintln(env.stdout, ".")
	}
	if *nOrders == 0 {
		return nil
	}
	cl := club.New(db, club.Options{Logger: slog.New(slog.DiscardHandler)})
	orders := order.New(db, order.Options{Resolve: app.CustomerResolver(contacts, cl)})
	bar = newProgressBar(env.stderr, *quiet)
	start = time.Now()
	or, err := demo.FillOrders(ctx, contacts, orders, cl, *nOrders, *seed, time.Time{}, func(done, total int) {
		bar.update(100*float64(done)/float64(total), int64(done), thousands(int64(done))+" orders")
	})
	bar.finish()
	if err != nil {
		if or.Orders > 0 {
			fmt.Fprintf(env.stderr, "Added %s orders before the error.\n", thousands(int64(or.Orders)))
		}
		return fmt.Errorf("orders: %w", err)
	}
	if or.Program {
		fmt.Fprintf(env.stdout, "Made the club program \"Café club\" with %d tiers, %d earn rules and %d rewards.\n", or.Tiers, or.Rules, or.Rewards)
	}
	fmt.Fprintf(env.stdout, "Added %s orders (%s returned) from %s people in %s; enrolled %s people in the club.\n",
		thousands(int64(or.Orders)), thousands(int64(or.Returns)), thousands(int64(or.Buyers)),
		time.Since(start).Round(100*time.Millisecond), thousands(int64(or.Members)))
	// The club's points come from the orders' events, as in the server;
	// award them now so that the club's pages show them at once. The
	// server's other subscribers (reports, webhooks, automation) see the
	// events when it starts.
	d := event.NewDispatcher(db, slog.New(slog.DiscardHandler))
	cl.Subscribe(d)
	start = time.Now()
	if err := d.Drain(ctx); err != nil {
		return fmt.Errorf("club points: %w", err)
	}
	fmt.Fprintf(env.stdout, "Awarded the club's points for them in %s.\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}
