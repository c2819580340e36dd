package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/app"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
)

func init() { importers["orders"] = cmdImportOrders }

const importOrdersUsage = "pivand import orders [--data DIR] [--source NAME] [--currency CODE] [--map COLUMN=FIELD,...] [--dry-run] FILE.csv\n" +
	"       pivand import orders [--data DIR] --resume ID"

const importOrdersHelp = `
Imports order history from a CSV file (UTF-8, comma, semicolon or tab
separated). One row is one order line; the rows of one order (the same
order id) must follow each other. A file without line columns has one row
per order, with its amount.

Columns are recognised from the header (English, Persian and Arabic names,
and exports such as the UCI Online Retail data set: InvoiceNo, StockCode,
Description, Quantity, InvoiceDate, UnitPrice, CustomerID); --map changes
what a column holds, by header or column number:
  --map 'Mobile=customer_phone,Ref=order_id,7=ignore'
Fields: %s.
Needed: order_id, date, a customer (customer: a phone, email or member
number, recognised by its shape; or customer_email, customer_phone,
member_number, customer_id: the source's own customer number), and amount
or the line columns (quantity, unit_price, with sku or name).

Amounts are in major units (2.55, 120,000), converted with the currency's
decimals. Dates: 2024-08-02, 2024-08-02 14:30, RFC 3339, and Jalali
1403/05/12 (a year below 1700 is Jalali unless --calendar says otherwise);
--date-order mdy|dmy reads 08/02/2024.

Every order is stored under --source with the file's order id, so running
the same file again creates nothing twice; an order id already stored with
other content is reported as a conflict. Orders are written in batches;
each batch commits with the position in the file, so an interrupted import
(Ctrl+C, kill -9) resumes where it stopped: run the same command again
(or give --resume ID); --new starts over (stored orders are still not
duplicated).

Order ids starting with --cancel-prefix (C) are cancellations: skipped by
default, or with --cancellations return matched to the same customer's
most recent earlier purchases of the same SKUs and recorded as returns.
`

func cmdImportOrders(ctx context.Context, env *environment, args []string) error {
	cfg := config.Defaults()
	fs := cfg.FlagSet("import orders", false, env.getenv, env.stderr)
	var (
		maps      multiFlag
		opts      order.ImportOptions
		resume    int64
		fresh     bool
		showN     int
		quiet     bool
		batchSize int
	)
	fs.StringVar(&opts.Source, "source", "import", "the orders' source: with the file's order ids it identifies each order across runs")
	fs.StringVar(&opts.Currency, "currency", "", "currency of the amounts when the file has no currency column (IRR, USD, GBP …)")
	fs.StringVar(&opts.Channel, "channel", "", "channel of orders without a channel column: in_store (default), web, phone or telegram")
	fs.Var(&maps, "map", "COLUMN=FIELD pairs, comma separated (repeatable); COLUMN is a header or a column number")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "check every row and report problems; write nothing")
	fs.StringVar(&opts.Region, "region", "IR", "country of phone numbers written without a country code")
	fs.StringVar(&opts.Calendar, "calendar", "", "calendar of dates: gregorian or jalali (default: the year decides)")
	fs.StringVar(&opts.DateOrder, "date-order", "", "for dates with the year last: mdy (08/02/2024 is August 2) or dmy")
	fs.StringVar(&opts.TimeZone, "tz", "UTC", "time zone of dates and times without an offset (Asia/Tehran, Europe/London …)")
	fs.BoolVar(&opts.DecimalComma, "decimal-comma", false, "amounts use a decimal comma (2,55)")
	fs.StringVar(&opts.Cancellations, "cancellations", order.CancelSkip, "order ids starting with --cancel-prefix: skip, or return (match earlier purchases)")
	fs.StringVar(&opts.CancelPrefix, "cancel-prefix", "C", "order ids starting with this are cancellations")
	fs.Int64Var(&resume, "resume", 0, "resume the unfinished import with this ID")
	fs.BoolVar(&fresh, "new", false, "start a new import even if an unfinished one of the same file exists")
	fs.IntVar(&showN, "problems", 20, "how many problems to list at the end")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(&batchSize, "batch", 500, "orders per transaction")
	rest, err := parseInterleaved(fs, env, args, importOrdersUsage, fmt.Sprintf(importOrdersHelp, strings.Join(order.Fields, ", ")))
	if err != nil {
		return err
	}
	opts.Map, opts.BatchOrders = maps, batchSize
	switch {
	case resume != 0 && len(rest) > 0:
		return config.Usagef("give either --resume ID or a file, not both")
	case resume == 0 && len(rest) == 0:
		return config.Usagef("missing the CSV file to import")
	case len(rest) > 1:
		return config.Usagef("unexpected argument %q (one file at a time)", rest[1])
	case resume < 0:
		return config.Usagef("--resume needs an import ID")
	case resume != 0 && opts.DryRun:
		return config.Usagef("a dry run writes nothing, so there is nothing to resume; run it again")
	case batchSize < 1 || batchSize > 10000:
		return config.Usagef("--batch must be between 1 and 10000")
	case showN < 0:
		return config.Usagef("--problems must not be negative")
	case opts.Cancellations != order.CancelSkip && opts.Cancellations != order.CancelReturn:
		return config.Usagef("--cancellations must be skip or return (got %q)", opts.Cancellations)
	}
	if resume == 0 {
		if _, err := os.Stat(rest[0]); err != nil {
			return fmt.Errorf("cannot read %s: %v", rest[0], errors.Unwrap(err))
		}
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := order.New(db, order.Options{Resolve: app.CustomerResolver(contact.New(db, contact.Options{DefaultRegion: opts.Region}), club.New(db, club.Options{}))})

	var im *order.Import
	switch {
	case resume != 0:
		if im, err = svc.FindImport(ctx, resume); err != nil {
			return err
		}
		if im.Status != store.OrderImportRunning {
			fmt.Fprintf(env.stdout, "Import #%d of %s has already finished (%s).\n", im.ID, filepath.Base(im.FilePath), im.Status)
			return printOrderImport(ctx, env, svc, im, 0, showN)
		}
	case !fresh && !opts.DryRun:
		im, err = svc.FindUnfinishedImport(ctx, rest[0])
		if err != nil && crm.ErrorCode(err) != crm.ENOTFOUND {
			return err
		}
		if im != nil && len(maps) > 0 {
			return fmt.Errorf("an unfinished import #%d of this file exists; resume it without --map (it keeps its mapping), or start over with --new", im.ID)
		}
	}
	if im == nil {
		if im, err = svc.StartImport(ctx, rest[0], opts); err != nil {
			return err
		}
		printMapping(env, im)
	} else if im.Rows > 0 {
		fmt.Fprintf(env.stderr, "Resuming import #%d of %s at line %s (%s rows done, %s orders created).\n",
			im.ID, filepath.Base(im.FilePath), thousands(im.Line), thousands(im.Rows), thousands(im.OrdersNew))
	}
	bar := newProgressBar(env.stderr, quiet)
	startRows := im.Rows
	start := time.Now()
	err = svc.RunImport(ctx, im, func(p *order.Import) {
		bar.update(p.Percent(), p.Rows-startRows, fmt.Sprintf("%s rows, %s orders", thousands(p.Rows), thousands(p.OrdersNew)))
	})
	bar.finish()
	if err != nil {
		if ctx.Err() != nil && !opts.DryRun {
			return fmt.Errorf("interrupted; import #%d stopped at a batch boundary with nothing half written. Run the same command again (or with --resume %d) to go on", im.ID, im.ID)
		}
		if !opts.DryRun {
			printOrderImport(ctx, env, svc, im, time.Since(start), showN)
		}
		return err
	}
	return printOrderImport(ctx, env, svc, im, time.Since(start), showN)
}

// printMapping says which column went to which field, so a wrong guess
// shows before the import has gone far.
func printMapping(env *environment, im *order.Import) {
	var cols, ignored []string
	for i, h := range im.Header {
		if f := im.Opts.Mapping[i]; f != order.FieldIgnore {
			cols = append(cols, fmt.Sprintf("%s→%s", h, f))
		} else {
			ignored = append(ignored, fmt.Sprintf("%q", h))
		}
	}
	what := "Import"
	if im.Opts.DryRun {
		what = "Dry run"
	}
	fmt.Fprintf(env.stderr, "%s of %s as source %q: %s.\n", what, filepath.Base(im.FilePath), im.Opts.Source, strings.Join(cols, ", "))
	if len(ignored) > 0 {
		// A column the header did not tell (or a second column for a field
		// already taken) is not imported: say so, with the way to map it.
		fmt.Fprintf(env.stderr, "Not imported: %s (map a column with --map 'Header=field').\n", strings.Join(ignored, ", "))
	}
}

func printOrderImport(ctx context.Context, env *environment, svc *order.Service, im *order.Import, took time.Duration, showN int) error {
	w := env.stdout
	what := fmt.Sprintf("Import #%d", im.ID)
	if im.Opts.DryRun {
		what = "Dry run"
	}
	fmt.Fprintf(w, "%s of %s: %s", what, filepath.Base(im.FilePath), im.Status)
	if took > 0 {
		fmt.Fprintf(w, " in %s", took.Round(10*time.Millisecond))
		if s := took.Seconds(); s > 0 && im.Rows > 0 {
			fmt.Fprintf(w, " (%s rows/s)", thousands(int64(float64(im.Rows)/s)))
		}
	}
	fmt.Fprintln(w, ".")
	if im.Message != "" {
		fmt.Fprintf(w, "  %s\n", im.Message)
	}
	created, returns, skipped := "orders created", "returns created", "rows skipped"
	if im.Opts.DryRun {
		created, returns, skipped = "would create", "would return", "would skip"
	}
	rows := [][2]string{
		{"rows read", thousands(im.Rows)},
		{created, thousands(im.OrdersNew)},
		{"already stored", thousands(im.OrdersOld)},
		{returns, thousands(im.ReturnsNew)},
		{skipped, thousands(im.Skipped)},
		{"refused (errors)", thousands(im.Errors)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-17s %12s\n", r[0], r[1])
	}
	if im.Skipped > 0 && im.Opts.Cancellations == order.CancelSkip {
		fmt.Fprintf(w, "  (skipped rows are cancellations, order ids starting with %q; --cancellations return records them as returns)\n", im.Opts.CancelPrefix)
	}
	if len(im.ByColumn) > 0 {
		cols := make([]string, 0, len(im.ByColumn))
		for c := range im.ByColumn {
			cols = append(cols, c)
		}
		slices.SortFunc(cols, func(a, b string) int { return cmp.Compare(im.ByColumn[b], im.ByColumn[a]) })
		var parts []string
		for _, c := range cols {
			name := c
			if name == "" {
				name = "(row)"
			}
			parts = append(parts, fmt.Sprintf("%s %s", name, thousands(im.ByColumn[c])))
		}
		fmt.Fprintf(w, "  problems by column (this run): %s\n", strings.Join(parts, ", "))
	}
	if im.Errors == 0 || showN == 0 {
		return nil
	}
	ps := im.Problems
	if !im.Opts.DryRun {
		var err error
		if ps, err = svc.ImportProblems(ctx, im.ID, showN); err != nil {
			return err
		}
	}
	if len(ps) > showN {
		ps = ps[:showN]
	}
	if len(ps) == 0 {
		return nil
	}
	fmt.Fprintf(w, "Problems (the first %d; %s orders or rows refused):\n", len(ps), thousands(im.Errors))
	for _, p := range ps {
		fmt.Fprintln(w, "  "+order.FormatProblem(p))
	}
	return nil
}
