package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/contactfile"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

const importUsage = "pivand import contacts [--data DIR] [--mapping COLUMN=FIELD,...] [--duplicates skip|update|create] [--dry-run] [--region IR] FILE.csv\n" +
	"       pivand import contacts [--data DIR] --resume ID"

const importHelp = `
Imports people from a CSV file (UTF-8, with or without BOM; comma, semicolon
or tab separated). Columns are recognised from the header (Google Contacts,
Outlook, HubSpot and Pivand exports, and plain English, Persian and Arabic
headers); --mapping changes what a column holds, by header or column number:
  --mapping 'Mobile=phone,Org=company,3=ignore,VIP=custom:vip_level'
Fields: ` + "%s" + `.

Rows are written in batches; each batch commits with the position in the
file, so an interrupted import (Ctrl+C, a crash, kill -9) loses nothing and
imports nothing twice. Run the same command again to resume it (or give
--resume ID); --new starts over instead.
`

// importers are the other `pivand import KIND` commands, registered by
// their own files (import_orders.go) in an init func.
var importers = map[string]func(ctx context.Context, env *environment, args []string) error{}

// cmdImport is "pivand import contacts" (and the kinds in importers).
func cmdImport(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(env.stdout, "Usage: %s\n", importUsage)
		if len(args) == 0 {
			return config.Usagef("missing what to import: contacts")
		}
		return flag.ErrHelp
	}
	if imp, ok := importers[args[0]]; ok {
		return imp(ctx, env, args[1:])
	}
	if args[0] != "contacts" {
		kinds := []string{"contacts"}
		for k := range importers {
			kinds = append(kinds, k)
		}
		return config.Usagef("unknown import %q (one of: %s)", args[0], strings.Join(kinds, ", "))
	}
	cfg := config.Defaults()
	fs := cfg.FlagSet("import contacts", false, env.getenv, env.stderr)
	var (
		mappings   multiFlag
		opts       contact.ImportOptions
		resume     int64
		fresh      bool
		showN      int
		quiet      bool
		batchSize  int
		dupDefault = contact.DuplicatesSkip
	)
	fs.Var(&mappings, "mapping", "COLUMN=FIELD pairs, comma separated (repeatable); COLUMN is a header or a column number")
	fs.StringVar(&opts.DuplicateMode, "duplicates", dupDefault, "what to do with a row matching a stored person: skip, update or create")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "check every row and report problems and duplicates; write no people")
	fs.StringVar(&opts.DefaultRegion, "region", "IR", "country of phone numbers written without a country code (IR, AE, SA, US, GB …)")
	fs.StringVar(&opts.Calendar, "calendar", "", "calendar of birthdays: gregorian or jalali (default: the year decides)")
	fs.Int64Var(&resume, "resume", 0, "resume the unfinished import with this ID")
	fs.BoolVar(&fresh, "new", false, "start a new import even if an unfinished one of the same file exists")
	fs.IntVar(&showN, "problems", 20, "how many problems to list at the end")
	fs.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	fs.IntVar(&batchSize, "batch", 0, "most rows per transaction (default 16000)")
	rest, err := parseInterleaved(fs, env, args[1:], importUsage, fmt.Sprintf(importHelp, strings.Join(contactfile.MappingFields(), ", ")))
	if err != nil {
		return err
	}
	opts.BatchSize = batchSize
	switch {
	case resume != 0 && len(rest) > 0:
		return config.Usagef("give either --resume ID or a file, not both")
	case resume == 0 && len(rest) == 0:
		return config.Usagef("missing the CSV file to import")
	case len(rest) > 1:
		return config.Usagef("unexpected argument %q (one file at a time)", rest[1])
	case resume < 0:
		return config.Usagef("--resume needs an import ID")
	}
	switch opts.DuplicateMode {
	case contact.DuplicatesSkip, contact.DuplicatesUpdate, contact.DuplicatesCreate:
	default:
		return config.Usagef("--duplicates must be skip, update or create (got %q)", opts.DuplicateMode)
	}
	if showN < 0 {
		return config.Usagef("--problems must not be negative")
	}
	if batchSize < 0 || batchSize > 20000 {
		return config.Usagef("--batch must be between 1 and 20000")
	}
	if cfg.DatabaseURL == "" && resume == 0 {
		if _, err := os.Stat(rest[0]); err != nil {
			return fmt.Errorf("cannot read %s: %v", rest[0], errors.Unwrap(err))
		}
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := contact.New(db, contact.Options{DefaultRegion: opts.DefaultRegion})

	var im *contact.Import
	if resume != 0 {
		if im, err = svc.FindImport(ctx, resume); err != nil {
			return err
		}
		if im.Finished() {
			fmt.Fprintf(env.stdout, "Import #%d of %s has already finished (%s).\n", im.ID, im.FileName, im.Status)
			return printImportSummary(ctx, env, svc, im, 0, showN)
		}
	} else {
		path, _ := filepath.Abs(rest[0])
		if !fresh {
			if im, err = unfinishedImport(ctx, db, path, opts.DryRun); err != nil {
				return err
			}
		}
		if im != nil {
			if im.Options.DuplicateMode != opts.DuplicateMode || im.Options.DefaultRegion != strings.ToUpper(opts.DefaultRegion) || len(mappings) > 0 {
				return fmt.Errorf("an unfinished import #%d of this file exists with other options (duplicates %s, region %s); resume it with --resume %d, or start over with --new",
					im.ID, im.Options.DuplicateMode, im.Options.DefaultRegion, im.ID)
			}
		} else {
			if len(mappings) > 0 {
				_, m, err := svc.ReadImportHeader(path, opts)
				if err != nil {
					return err
				}
				if err := applyMapping(&m, mappings); err != nil {
					return config.Usagef("--mapping: %v", err)
				}
				opts.Mapping = &m
			}
			if im, err = svc.CreateImport(ctx, path, "", opts); err != nil {
				return err
			}
		}
	}
	if im.Rows > 0 || im.Offset > 0 {
		fmt.Fprintf(env.stderr, "Resuming import #%d of %s at line %s (%s rows done, %s created).\n",
			im.ID, im.FileName, thousands(int64(im.Line)), thousands(im.Rows), thousands(im.Created))
	}
	bar := newProgressBar(env.stderr, quiet)
	startRows := im.Rows
	start := time.Now()
	done, err := svc.RunImportProgress(ctx, im.ID, func(p *contact.Import) {
		bar.update(p.Percent(), p.Rows-startRows, fmt.Sprintf("%s rows", thousands(p.Rows)))
	})
	bar.finish()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted; import #%d stopped at a batch boundary with nothing half written. Run the same command again (or with --resume %d) to go on", im.ID, im.ID)
		}
		if done != nil && done.Status == store.ImportFailed {
			printImportSummary(ctx, env, svc, done, time.Since(start), showN)
		}
		return err
	}
	if done.Status == store.ImportCancelled {
		fmt.Fprintf(env.stdout, "Import #%d was cancelled.\n", done.ID)
	}
	return printImportSummary(ctx, env, svc, done, time.Since(start), showN)
}

// unfinishedImport finds an import of the same file (path and size) that
// did not finish: the command line resumes it instead of starting over.
func unfinishedImport(ctx context.Context, db *store.DB, path string, dryRun bool) (*contact.Import, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil // CreateImport reports it
	}
	var id int64
	err = db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.FindUnfinishedImport(ctx, path, fi.Size(), dryRun)
		if err == nil {
			id = r.ID
		}
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return contact.New(db, contact.Options{}).FindImport(ctx, id)
}

func printImportSummary(ctx context.Context, env *environment, svc *contact.Service, im *contact.Import, took time.Duration, showN int) error {
	w := env.stdout
	what := "Import"
	if im.DryRun {
		what = "Dry run"
	}
	fmt.Fprintf(w, "%s #%d of %s: %s", what, im.ID, im.FileName, im.Status)
	if took > 0 {
		round := 100 * time.Millisecond
		if took < time.Second {
			round = time.Millisecond
		}
		fmt.Fprintf(w, " in %s", took.Round(round))
		if s := took.Seconds(); s > 0 && im.Rows > 0 {
			fmt.Fprintf(w, " (%s rows/s)", thousands(int64(float64(im.Rows)/s)))
		}
	}
	fmt.Fprintln(w, ".")
	if im.Message != "" {
		fmt.Fprintf(w, "  %s\n", im.Message)
	}
	created, updated, skipped := "created", "updated", "skipped"
	if im.DryRun {
		created, updated, skipped = "would create", "would update", "would skip"
	}
	rows := [][2]string{
		{"rows read", thousands(im.Rows)},
		{created, thousands(im.Created)},
		{updated, thousands(im.Updated)},
		{"duplicates", thousands(im.Duplicates)},
		{skipped, thousands(im.Skipped)},
		{"errors", thousands(im.Errors)},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-13s %12s\n", r[0], r[1])
	}
	if im.DryRun && !im.Finished() {
		return nil
	}
	total := im.Errors + im.Duplicates
	if total == 0 || showN == 0 {
		return nil
	}
	ps, _, err := svc.ImportProblems(ctx, im.ID, crm.Page{Limit: showN})
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	// total counts rows; a row can have a problem in each of its fields.
	rowsWord := "rows"
	if total == 1 {
		rowsWord = "row"
	}
	if len(ps) < showN {
		fmt.Fprintf(w, "Problems on %s %s:\n", thousands(total), rowsWord)
	} else {
		fmt.Fprintf(w, "Problems on %s %s (the first %d; --problems N lists more):\n", thousands(total), rowsWord, len(ps))
	}
	for _, p := range ps {
		line := "  " + p.String()
		if p.Kind == contact.ProblemDuplicate && p.ContactID != 0 && !strings.Contains(p.Message, strconv.FormatInt(p.ContactID, 10)) {
			line += fmt.Sprintf(" (person %d)", p.ContactID)
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

// applyMapping changes the columns named in pairs "COLUMN=FIELD" (COLUMN
// is a header, case-insensitive, or a 1-based column number).
func applyMapping(m *contactfile.Mapping, pairs []string) error {
	for _, p := range pairs {
		i := strings.LastIndex(p, "=")
		if i <= 0 || i == len(p)-1 {
			return fmt.Errorf("%q is not COLUMN=FIELD", p)
		}
		col, field := strings.TrimSpace(p[:i]), strings.TrimSpace(p[i+1:])
		idx := -1
		if n, err := strconv.Atoi(col); err == nil {
			if n < 1 || n > len(m.Columns) {
				return fmt.Errorf("column %d does not exist (the file has %d)", n, len(m.Columns))
			}
			idx = n - 1
		} else {
			for k, c := range m.Columns {
				if strings.EqualFold(c.Header, col) {
					idx = k
					break
				}
			}
			if idx < 0 {
				var hs []string
				for _, c := range m.Columns {
					hs = append(hs, strconv.Quote(c.Header))
				}
				return fmt.Errorf("no column is called %q (the header has %s)", col, strings.Join(hs, ", "))
			}
		}
		m.Columns[idx].Field = field
		m.Columns[idx].Label, m.Columns[idx].Group = "", 0
	}
	return m.Validate(headers(m))
}

func headers(m *contactfile.Mapping) []string {
	out := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		out[i] = c.Header
	}
	return out
}

// multiFlag collects a repeatable flag whose values may also be comma
// separated.
type multiFlag []string

func (f *multiFlag) String() string { return strings.Join(*f, ",") }

func (f *multiFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*f = append(*f, p)
		}
	}
	return nil
}

// parseInterleaved parses flags that may come before and after the
// positional arguments ("import contacts FILE --dry-run"), and returns
// the positional ones. -h prints usage and help to stdout.
func parseInterleaved(fs *flag.FlagSet, env *environment, args []string, usageLine, help string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var rest []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(env.stdout, "Usage: %s\n", usageLine)
			if help != "" {
				fmt.Fprint(env.stdout, help)
			}
			fmt.Fprintln(env.stdout, "\nFlags:")
			fs.SetOutput(env.stdout)
			fs.PrintDefaults()
			return nil, flag.ErrHelp
		}
		if err != nil {
			return nil, config.Usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// thousands formats n with comma separators: 1234567 → 1,234,567.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// progressBar draws progress on a terminal (one line, redrawn), or writes
// a plain line every few seconds elsewhere (logs, pipes).
type progressBar struct {
	w        io.Writer
	tty      bool
	off      bool
	start    time.Time
	last     time.Time
	drawn    bool
	done     bool // 100% shown
	interval time.Duration
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	b := &progressBar{w: w, off: quiet, start: time.Now(), interval: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty, b.interval = true, 100*time.Millisecond
		}
	}
	return b
}

// update shows percent done, the rate of n items since the start, and
// what (e.g. "12,000 rows").
func (b *progressBar) update(percent float64, n int64, what string) {
	if b.off {
		return
	}
	now := time.Now()
	if (now.Sub(b.last) < b.interval && percent < 100) || (percent >= 100 && b.done) {
		return
	}
	b.last, b.done = now, percent >= 100
	el := now.Sub(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(n) / el
	}
	eta := ""
	if percent > 0 && percent < 100 && el > 1 {
		eta = "  ETA " + (time.Duration(el*(100-percent)/percent) * time.Second).Round(time.Second).String()
	}
	if !b.tty {
		fmt.Fprintf(b.w, "%5.1f%%  %s  %s/s%s\n", percent, what, thousands(int64(rate)), eta)
		return
	}
	const width = 30
	fill := int(percent / 100 * width)
	bar := strings.Repeat("█", fill) + strings.Repeat("░", width-fill)
	fmt.Fprintf(b.w, "\r\033[K%5.1f%% %s %s  %s/s%s", percent, bar, what, thousands(int64(rate)), eta)
	b.drawn = true
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
}
