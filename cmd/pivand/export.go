package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

const exportUsage = "pivand export contacts [--data DIR] [--format csv|vcard] [--out FILE] [--q TEXT] [--tag TAG] [--owner EMAIL]"

const exportHelp = `
Writes people as CSV (the columns Pivand imports back, one per custom field
too) or as vCards, to standard output or --out FILE. --q, --tag and --owner
narrow the export like the search box and filters of the contact list.
`

// cmdExport is "pivand export contacts".
func cmdExport(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Fprintf(env.stdout, "Usage: %s\n", exportUsage)
		if len(args) == 0 {
			return config.Usagef("missing what to export: contacts")
		}
		return flag.ErrHelp
	}
	if args[0] != "contacts" {
		return config.Usagef("unknown export %q (only: contacts)", args[0])
	}
	cfg := config.Defaults()
	fs := cfg.FlagSet("export contacts", false, env.getenv, env.stderr)
	var (
		format, version, out, owner string
		bom                         bool
		f                           crm.ContactFilter
	)
	fs.StringVar(&format, "format", "csv", "csv or vcard")
	fs.StringVar(&version, "vcard-version", "3.0", "vCard version: 3.0 or 4.0")
	fs.StringVar(&out, "out", "-", "file to write (must not exist); - is standard output")
	fs.StringVar(&f.Q, "q", "", "only people matching this search (name, email, phone, company)")
	fs.StringVar(&f.Tag, "tag", "", "only people with this tag")
	fs.StringVar(&owner, "owner", "", "only people owned by the user with this email")
	fs.BoolVar(&bom, "bom", false, "start the CSV with a byte order mark (for Excel)")
	rest, err := parseInterleaved(fs, env, args[1:], exportUsage, exportHelp)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return config.Usagef("unexpected argument %q", rest[0])
	}
	format = strings.ToLower(format)
	if format != "csv" && format != "vcard" {
		return config.Usagef("--format must be csv or vcard (got %q)", format)
	}
	if version != "3.0" && version != "4.0" {
		return config.Usagef("--vcard-version must be 3.0 or 4.0 (got %q)", version)
	}
	if out != "-" && out != "" {
		if _, err := os.Stat(out); err == nil {
			return fmt.Errorf("%s already exists; choose a new file name", out)
		}
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if owner != "" {
		err := db.Read(ctx, func(tx *store.Tx) error {
			u, _, err := tx.FindUserByEmail(ctx, crm.NormalizeEmail(owner))
			if err == nil {
				f.OwnerID = &u.ID
			}
			return err
		})
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return fmt.Errorf("no user has the email %s", crm.NormalizeEmail(owner))
		}
		if err != nil {
			return err
		}
	}
	svc := contact.New(db, contact.Options{})

	var (
		w   io.Writer = env.stdout
		tmp *os.File
	)
	if out != "-" && out != "" {
		abs, _ := filepath.Abs(out)
		if tmp, err = os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".*.tmp"); err != nil {
			return fmt.Errorf("cannot write %s: %v", out, err)
		}
		defer os.Remove(tmp.Name())
		w = tmp
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	var n int
	if format == "csv" {
		n, err = svc.ExportCSV(ctx, f, bw, contact.ExportOptions{BOM: bom})
	} else {
		n, err = svc.ExportVCard(ctx, f, bw, version)
	}
	if err == nil {
		err = bw.Flush()
	}
	if tmp != nil {
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), out)
		}
	}
	if err != nil {
		return err
	}
	dest := "standard output"
	if tmp != nil {
		dest = out
	}
	noun := "people"
	if n == 1 {
		noun = "person"
	}
	fmt.Fprintf(env.stderr, "Exported %s %s to %s.\n", thousands(int64(n)), noun, dest)
	return nil
}
