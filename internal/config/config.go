// Package config reads Pivand's boot-time settings: what must be known
// before the database opens. Everything else lives in the database.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
)

// Config is the boot-time configuration of the server and commands.
type Config struct {
	Addr          string // listen address, default 127.0.0.1:8080
	DataDir       string // directory for the SQLite file, backups and the lock; default ./pivand-data
	DatabaseURL   string // postgres://… to use PostgreSQL; empty = SQLite in DataDir
	BaseURL       string // public URL for links (invites); default http://Addr
	LogLevel      string // debug, info, warn, error
	LogFormat     string // text or json
	SecureCookies bool   // set the Secure flag on cookies (behind HTTPS)
	Dev           bool   // reload templates from disk

	// The service desk's mail (docs/service.md). SMTPListen turns the
	// built-in SMTP receiver on (off when empty); SMTPRelay is the
	// smarthost replies leave through (replies are recorded but not sent
	// when empty). SMTPPassword comes from the environment only.
	SMTPListen   string // host:port the receiver listens on, e.g. 0.0.0.0:2525
	SMTPHostname string // the name the receiver and the sender greet with; the base URL's host when empty
	SMTPRelay    string // host:port of the smarthost
	SMTPUser     string // SMTP AUTH user at the smarthost
	SMTPPassword string // its password (PIVAND_SMTP_PASSWORD)
	SMTPTLS      string // starttls (default), tls or none
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{Addr: "127.0.0.1:8080", DataDir: "pivand-data", LogLevel: "info", LogFormat: "text"}
}

// Env lists the environment variables Pivand reads, with their flags.
var Env = map[string]string{
	"PIVAND_ADDR":           "addr",
	"PIVAND_DATA":           "data",
	"PIVAND_DATABASE_URL":   "database-url",
	"PIVAND_BASE_URL":       "base-url",
	"PIVAND_LOG_LEVEL":      "log-level",
	"PIVAND_LOG_FORMAT":     "log-format",
	"PIVAND_SECURE_COOKIES": "secure-cookies",
	"PIVAND_SMTP_LISTEN":    "smtp-listen",
	"PIVAND_SMTP_HOSTNAME":  "smtp-hostname",
	"PIVAND_SMTP_RELAY":     "smtp-relay",
	"PIVAND_SMTP_USER":      "smtp-user",
	"PIVAND_SMTP_PASSWORD":  "", // environment only: a password has no place on a command line
	"PIVAND_SMTP_TLS":       "smtp-tls",
}

// UsageError is a mistake in the command line or environment: the process
// exits with status 2 after printing it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// IsUsage reports whether err is a usage error.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u) || errors.Is(err, flag.ErrHelp)
}

// FlagSet returns a flag set for a command with the common flags bound to
// c: --data and --database-url always; --addr and the rest when server is
// true. Environment values become the flags' defaults, so flags win.
func (c *Config) FlagSet(name string, server bool, getenv func(string) string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.DataDir, "data", env("PIVAND_DATA", c.DataDir), "data directory (SQLite database, lock) [PIVAND_DATA]")
	fs.StringVar(&c.DatabaseURL, "database-url", env("PIVAND_DATABASE_URL", c.DatabaseURL), "postgres://… to use PostgreSQL instead of SQLite [PIVAND_DATABASE_URL]")
	if server {
		fs.StringVar(&c.Addr, "addr", env("PIVAND_ADDR", c.Addr), "listen address [PIVAND_ADDR]")
		fs.StringVar(&c.BaseURL, "base-url", env("PIVAND_BASE_URL", c.BaseURL), "public URL used in links, e.g. https://crm.example.com [PIVAND_BASE_URL]")
		fs.StringVar(&c.LogLevel, "log-level", env("PIVAND_LOG_LEVEL", c.LogLevel), "debug, info, warn or error [PIVAND_LOG_LEVEL]")
		fs.StringVar(&c.LogFormat, "log-format", env("PIVAND_LOG_FORMAT", c.LogFormat), "text or json [PIVAND_LOG_FORMAT]")
		secure := env("PIVAND_SECURE_COOKIES", "")
		c.SecureCookies = secure == "1" || strings.EqualFold(secure, "true")
		fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "mark cookies Secure (serve behind HTTPS) [PIVAND_SECURE_COOKIES]")
		fs.BoolVar(&c.Dev, "dev", false, "development: reload templates from disk")
		fs.StringVar(&c.SMTPListen, "smtp-listen", env("PIVAND_SMTP_LISTEN", c.SMTPListen), "host:port of the service desk's SMTP receiver; off when empty [PIVAND_SMTP_LISTEN]")
		fs.StringVar(&c.SMTPHostname, "smtp-hostname", env("PIVAND_SMTP_HOSTNAME", c.SMTPHostname), "the name the SMTP receiver and sender greet with [PIVAND_SMTP_HOSTNAME]")
		fs.StringVar(&c.SMTPRelay, "smtp-relay", env("PIVAND_SMTP_RELAY", c.SMTPRelay), "host:port of the mail server replies are sent through [PIVAND_SMTP_RELAY]")
		fs.StringVar(&c.SMTPUser, "smtp-user", env("PIVAND_SMTP_USER", c.SMTPUser), "user for SMTP AUTH at the relay; the password is PIVAND_SMTP_PASSWORD [PIVAND_SMTP_USER]")
		fs.StringVar(&c.SMTPTLS, "smtp-tls", env("PIVAND_SMTP_TLS", c.SMTPTLS), "starttls, tls or none: how to reach the relay [PIVAND_SMTP_TLS]")
		c.SMTPPassword = getenv("PIVAND_SMTP_PASSWORD")
	}
	return fs
}

// Validate checks the configuration and fills in derived values.
func (c *Config) Validate() error {
	if c.DatabaseURL == "" && strings.TrimSpace(c.DataDir) == "" {
		return Usagef("--data must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return Usagef("PIVAND_DATABASE_URL / --database-url must start with postgres:// (got %q); leave it empty for SQLite", scheme(c.DatabaseURL))
	}
	if c.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			return Usagef("--addr %q is not host:port (e.g. 127.0.0.1:8080)", c.Addr)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return Usagef("--log-level must be debug, info, warn or error (got %q)", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return Usagef("--log-format must be text or json (got %q)", c.LogFormat)
	}
	for _, hp := range []struct{ flag, v string }{{"--smtp-listen", c.SMTPListen}, {"--smtp-relay", c.SMTPRelay}} {
		if hp.v == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(hp.v); err != nil {
			return Usagef("%s %q is not host:port (e.g. 127.0.0.1:2525)", hp.flag, hp.v)
		}
	}
	switch c.SMTPTLS {
	case "", "starttls", "tls", "none":
	default:
		return Usagef("--smtp-tls must be starttls, tls or none (got %q)", c.SMTPTLS)
	}
	if c.BaseURL == "" && c.Addr != "" {
		host, port, _ := net.SplitHostPort(c.Addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.BaseURL = "http://" + net.JoinHostPort(host, port)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.DataDir != "" {
		if abs, err := filepath.Abs(c.DataDir); err == nil {
			c.DataDir = abs
		}
	}
	return nil
}

// StoreURL is what store.Open receives: the PostgreSQL URL, or the SQLite
// file inside the data directory.
func (c *Config) StoreURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "pivand.db")
}

// scheme returns the part of a URL before "://", or a short prefix,
// without ever echoing a password.
func scheme(u string) string {
	if s, _, ok := strings.Cut(u, "://"); ok {
		return s + "://…"
	}
	if len(u) > 12 {
		return u[:12] + "…"
	}
	return u
}
