package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/pivand/pivand/internal/app"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			return nil, fmt.Errorf("cannot listen on %s: %v (is another server using it? choose another with --addr)", addr, op.Err)
		}
		return nil, fmt.Errorf("cannot listen on %s: %v", addr, err)
	}
	return ln, nil
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " '\"$`\\!*?&;|<>(){}") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// openForCommand opens and migrates the database for an administrative
// command, the way serve would find it.
func openForCommand(ctx context.Context, cfg *config.Config, migrate bool) (*store.DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return app.OpenDB(ctx, *cfg, migrate)
}

func cmdMigrate(ctx context.Context, env *environment, args []string) error {
	cfg := config.Defaults()
	fs := cfg.FlagSet("migrate", false, env.getenv, env.stderr)
	if err := parse(fs, env, args, "pivand migrate [--data DIR] [--database-url postgres://…]"); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.StoreURL())
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(env.stdout, "The database %s is up to date.\n", db.Source())
		return nil
	}
	fmt.Fprintf(env.stdout, "Applied %d migration(s) to %s: %s\n", len(applied), db.Source(), strings.Join(applied, ", "))
	return nil
}

func cmdUser(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.stdout, "Usage: pivand user create --data DIR --email E --password P --role admin|manager|sales|support|marketing [--name N]")
		if len(args) == 0 {
			return config.Usagef("missing subcommand: create")
		}
		return flag.ErrHelp
	}
	if args[0] != "create" {
		return config.Usagef("unknown subcommand %q (only: create)", args[0])
	}
	cfg := config.Defaults()
	fs := cfg.FlagSet("user create", false, env.getenv, env.stderr)
	var in crm.UserCreate
	var role string
	fs.StringVar(&in.Email, "email", "", "the user's email, used to sign in (required)")
	fs.StringVar(&in.Password, "password", "", "the password, at least 10 characters (required)")
	fs.StringVar(&role, "role", "", "admin, manager, sales, support or marketing (required)")
	fs.StringVar(&in.Name, "name", "", "the user's display name")
	fs.StringVar(&in.Language, "language", "en", "interface language: en, fa or ar")
	if err := parse(fs, env, args[1:], "pivand user create --data DIR --email E --password P --role ROLE [--name N]"); err != nil {
		return err
	}
	var missing []string
	for name, v := range map[string]string{"--email": in.Email, "--password": in.Password, "--role": role} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return config.Usagef("missing %s", strings.Join(sortStrings(missing), ", "))
	}
	in.Role = crm.Role(role)
	if err := in.Validate(true); err != nil {
		return config.Usagef("%s", oneLine(err))
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := auth.New(db, auth.Options{}).CreateUser(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Created %s %s (id %d). Sign in at the web UI with this email and password.\n", u.Role, u.Email, u.ID)
	return nil
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func cmdToken(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.stdout, "Usage: pivand token create --data DIR --email E [--name N] [--scopes read,write]")
		if len(args) == 0 {
			return config.Usagef("missing subcommand: create")
		}
		return flag.ErrHelp
	}
	if args[0] != "create" {
		return config.Usagef("unknown subcommand %q (only: create)", args[0])
	}
	cfg := config.Defaults()
	fs := cfg.FlagSet("token create", false, env.getenv, env.stderr)
	email := fs.String("email", "", "the user the token acts as (required)")
	name := fs.String("name", "command line", "a name to recognise the token by")
	scopes := fs.String("scopes", "read,write", "read, write, or read,write")
	if err := parse(fs, env, args[1:], "pivand token create --data DIR --email E [--name N] [--scopes read,write]"); err != nil {
		return err
	}
	if *email == "" {
		return config.Usagef("missing --email")
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	var u *crm.User
	err = db.Read(ctx, func(tx *store.Tx) error {
		var err error
		u, _, err = tx.FindUserByEmail(ctx, crm.NormalizeEmail(*email))
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return fmt.Errorf("no user has the email %s", crm.NormalizeEmail(*email))
	}
	if err != nil {
		return err
	}
	if !u.Active {
		return fmt.Errorf("the user %s is deactivated", u.Email)
	}
	secret, _, err := auth.New(db, auth.Options{}).CreateToken(ctx, u.ID, *name, strings.Split(*scopes, ","))
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, secret)
	return nil
}

func cmdBackup(ctx context.Context, env *environment, args []string) error {
	cfg := config.Defaults()
	fs := cfg.FlagSet("backup", false, env.getenv, env.stderr)
	out := fs.String("out", "", "the backup file to write (required; must not exist)")
	if err := parse(fs, env, args, "pivand backup --data DIR --out FILE"); err != nil {
		return err
	}
	if *out == "" {
		return config.Usagef("missing --out FILE")
	}
	if cfg.DatabaseURL != "" {
		return fmt.Errorf("backup copies the SQLite file only; for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file=%s \"$PIVAND_DATABASE_URL\"", shellQuote(*out))
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s already exists; choose a new file name", *out)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "pivand.db")); err != nil {
		if err := cfg.Validate(); err == nil {
			return fmt.Errorf("no Pivand database in %s", cfg.DataDir)
		}
	}
	db, err := openForCommand(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	abs, _ := filepath.Abs(*out)
	size, err := db.Backup(ctx, abs)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Wrote %s (%d bytes), a consistent copy of %s.\n", abs, size, db.Source())
	return nil
}
