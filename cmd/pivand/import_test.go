package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/store"
)

func TestImportExportDemoUsage(t *testing.T) {
	for _, args := range [][]string{{"import", "-h"}, {"import", "contacts", "-h"}, {"export", "-h"}, {"export", "contacts", "-h"}, {"demo", "-h"}} {
		code, out, errs := pivand(t, noenv, args...)
		if code != 0 || !strings.Contains(out, "Usage: pivand") || errs != "" {
			t.Errorf("%v: code %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	code, out, _ := pivand(t, noenv, "import", "contacts", "-h")
	if code != 0 || !strings.Contains(out, "--duplicates") || !strings.Contains(out, "custom:vip_level") || !strings.Contains(out, "--resume") {
		t.Errorf("import help: %s", out)
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "p.csv")
	os.WriteFile(csv, []byte("name\nA B\n"), 0o600)
	for _, u := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "missing what to import"},
		{[]string{"import", "people", "x.csv"}, "unknown import"},
		{[]string{"import", "contacts", "--data", dir}, "missing the CSV file"},
		{[]string{"import", "contacts", "--data", dir, "--duplicates", "merge", csv}, "--duplicates"},
		{[]string{"import", "contacts", "--data", dir, csv, "--bogus"}, "flag provided but not defined"},
		{[]string{"import", "contacts", "--data", dir, "--resume", "3", csv}, "either --resume"},
		{[]string{"import", "contacts", "--data", dir, csv, "other.csv"}, "one file at a time"},
		{[]string{"import", "contacts", "--data", dir, "--mapping", "Nope=email", csv}, "no column is called"},
		{[]string{"import", "contacts", "--data", dir, "--mapping", "name=shoe", csv}, "unknown field"},
		{[]string{"export"}, "missing what to export"},
		{[]string{"export", "contacts", "--data", dir, "--format", "pdf"}, "--format"},
		{[]string{"export", "contacts", "--data", dir, "--vcard-version", "2.1"}, "--vcard-version"},
		{[]string{"demo", "--data", dir}, "--contacts N is required"},
		{[]string{"demo", "--data", dir, "--contacts", "ten"}, "invalid value"},
	} {
		code, _, errs := pivand(t, noenv, u.args...)
		first, _, _ := strings.Cut(errs, "\n")
		if code != 2 || !strings.Contains(first, u.want) || strings.Contains(errs, "goroutine") {
			t.Errorf("%v: code %d, stderr %q; want 2 and %q on the first line", u.args, code, errs, u.want)
		}
	}
	if code, _, errs := pivand(t, noenv, "import", "contacts", "--data", dir, filepath.Join(dir, "missing.csv")); code != 1 || !strings.Contains(errs, "missing.csv") {
		t.Errorf("missing file: %d %q", code, errs)
	}
}

const cliCSV = "First Name,Last Name,Email,Phone,Company,Notes\n" +
	"علی,رضایی,ali@example.com,۰۹۱۲۳۴۵۶۷۸۹,پیوند,\"two\nlines\"\n" +
	"Sara,Karimi,sara@example.com,+971 50 123 4567,Pivand,\n" +
	"Bad,Row,not-an-email,,,\n" +
	"علي,رضائي,ALI@example.com,,,\n"

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(csv, []byte(cliCSV), 0o600)

	code, out, errs := pivand(t, noenv, "import", "contacts", "--data", dir, "--dry-run", csv)
	if code != 0 || !strings.Contains(out, "Dry run #1 of people.csv: done") || !strings.Contains(out, "would create") ||
		!strings.Contains(out, "line 6: email: Same email as line 2") || !strings.Contains(out, "line 5: Email:") ||
		!strings.Contains(out, "Problems on 2 rows:\n") {
		t.Fatalf("dry run: %d\n%s\n%s", code, out, errs)
	}
	// Fewer problems listed than there are: the header says so.
	code, out, errs = pivand(t, noenv, "import", "contacts", "--data", dir, "--dry-run", "--problems", "1", "--new", csv)
	if code != 0 || !strings.Contains(out, "Problems on 2 rows (the first 1; --problems N lists more):\n") || strings.Contains(out, "line 6:") {
		t.Fatalf("dry run, one problem listed: %d\n%s\n%s", code, out, errs)
	}
	if code, out, _ := pivand(t, noenv, "export", "contacts", "--data", dir); code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("a dry run wrote people: %s", out)
	}

	// Flags after the file work too; stderr (not a terminal) gets plain
	// progress lines.
	code, out, errs = pivand(t, noenv, "import", "contacts", "--data", dir, csv, "--region", "IR")
	if code != 0 || !regexpMatch(out, `created\s+2\b`) || !regexpMatch(out, `duplicates\s+1\b`) || !regexpMatch(out, `errors\s+1\b`) ||
		!strings.Contains(out, "line 5: Email: \"not-an-email\"") || !strings.Contains(errs, "100.0%") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	// The same file again: everyone is a duplicate now.
	code, out, _ = pivand(t, noenv, "import", "contacts", "--data", dir, csv)
	if code != 0 || !regexpMatch(out, `created\s+0\b`) || !regexpMatch(out, `skipped\s+3\b`) {
		t.Fatalf("second import: %d\n%s", code, out)
	}
	// --duplicates update and a mapping by column number.
	code, out, errs = pivand(t, noenv, "import", "contacts", "--data", dir, "--duplicates", "update", "--mapping", "6=ignore", csv)
	if code != 0 || !regexpMatch(out, `updated\s+3\b`) {
		t.Fatalf("update: %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = pivand(t, noenv, "import", "contacts", "--data", dir, "--resume", "3")
	if code != 0 || !strings.Contains(out, "already finished") {
		t.Fatalf("resume finished: %d %s", code, out)
	}
	if code, _, errs := pivand(t, noenv, "import", "contacts", "--data", dir, "--resume", "99"); code != 1 || !strings.Contains(errs, "not found") {
		t.Fatalf("resume unknown: %d %s", code, errs)
	}
}

// TestImportCommandResumes interrupts an import, then runs the command
// again: it resumes the unfinished import and imports each row once.
func TestImportCommandResumes(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "many.csv")
	var b strings.Builder
	b.WriteString("name,email\n")
	for i := range 95 {
		fmt.Fprintf(&b, "Person %d,p%d@example.com\n", i, i)
	}
	os.WriteFile(csv, []byte(b.String()), 0o600)

	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLitePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc := contact.New(db, contact.Options{DefaultRegion: "IR"})
	im, err := svc.CreateImport(ctx, csv, "", contact.ImportOptions{BatchSize: 10, DefaultRegion: "IR"})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	svc.RunImportProgress(cctx, im.ID, func(p *contact.Import) {
		if p.Rows >= 30 {
			cancel()
		}
	})
	cancel()
	db.Close()

	// Other options than the unfinished import's: refused, with advice.
	code, _, errs := pivand(t, noenv, "import", "contacts", "--data", dir, "--duplicates", "create", csv)
	if code != 1 || !strings.Contains(errs, "--resume 1") || !strings.Contains(errs, "--new") {
		t.Fatalf("other options: %d %q", code, errs)
	}
	code, out, errs := pivand(t, noenv, "import", "contacts", "--data", dir, csv)
	if code != 0 || !strings.Contains(errs, "Resuming import #1 of many.csv at line 32 (30 rows done") || !regexpMatch(out, `created\s+95\b`) {
		t.Fatalf("resume: %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = pivand(t, noenv, "export", "contacts", "--data", dir)
	if code != 0 || strings.Count(out, "\n") != 96 {
		t.Fatalf("export after resume: %d lines", strings.Count(out, "\n"))
	}
}

func TestExportAndDemoCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := pivand(t, noenv, "demo", "--data", dir, "--contacts", "120", "--seed", "5")
	if code != 0 || !strings.Contains(out, "Added 120 people, 5 companies") || !strings.Contains(out, "Defined 4 custom fields") ||
		!strings.Contains(out, `Made the club program "Café club" with 3 tiers`) || !strings.Contains(out, "Added 240 orders (") ||
		!strings.Contains(out, "Awarded the club's points") {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errs)
	}
	outFile := filepath.Join(t.TempDir(), "all.csv")
	code, _, errs = pivand(t, noenv, "export", "contacts", "--data", dir, "--out", outFile, "--bom")
	b, _ := os.ReadFile(outFile)
	if code != 0 || !strings.Contains(errs, "Exported 120 people to "+outFile) || !strings.HasPrefix(string(b), "\uFEFFid,") ||
		strings.Count(string(b), "\n") < 121 || !strings.Contains(string(b), "custom:vip_level") {
		t.Fatalf("export csv: %d %q\n%.300s", code, errs, b)
	}
	if code, _, errs := pivand(t, noenv, "export", "contacts", "--data", dir, "--out", outFile); code != 1 || !strings.Contains(errs, "already exists") {
		t.Fatalf("export over a file: %d %q", code, errs)
	}
	code, out, errs = pivand(t, noenv, "export", "contacts", "--data", dir, "--format", "vcard", "--vcard-version", "4.0", "--tag", "vip")
	if code != 0 || strings.Count(out, "BEGIN:VCARD") == 0 || strings.Count(out, "BEGIN:VCARD") >= 120 || !strings.Contains(out, "VERSION:4.0") {
		t.Fatalf("export vcard: %d %q %.200s", code, errs, out)
	}
	if code, _, errs := pivand(t, noenv, "export", "contacts", "--data", dir, "--owner", "ghost@example.com"); code != 1 || !strings.Contains(errs, "no user") {
		t.Fatalf("unknown owner: %d %q", code, errs)
	}
	// The export imports back into a fresh data directory unchanged.
	dir2 := t.TempDir()
	code, out, errs = pivand(t, noenv, "demo", "--data", dir2, "--contacts", "1", "--quiet") // defines the custom fields
	if code != 0 {
		t.Fatalf("demo: %s %s", out, errs)
	}
	code, out, errs = pivand(t, noenv, "import", "contacts", "--data", dir2, "--quiet", outFile)
	if code != 0 || !regexpMatch(out, `created\s+120\b`) || !regexpMatch(out, `errors\s+0\b`) {
		t.Fatalf("re-import: %d\n%s\n%s", code, out, errs)
	}
}

func regexpMatch(s, pattern string) bool { return regexp.MustCompile(pattern).MatchString(s) }
