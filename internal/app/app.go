// Package app wires Pivand together: it opens the database, builds the
// services and the HTTP handler, and runs the background workers. It is
// the one place (with cmd/pivand) that knows the concrete parts.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/api"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/server"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/web"
	"github.com/pivand/pivand/internal/webhook"
	"github.com/pivand/pivand/internal/workflow"
)

// App is a running Pivand: database, services and HTTP handler.
type App struct {
	Config   config.Config
	Logger   *slog.Logger
	Version  string
	DB       *store.DB
	Auth     *auth.Service
	Contacts *contact.Service
	Activity *activity.Service
	Orders   *order.Service
	Club     *club.Service
	Reports  *report.Service
	Insight  *insight.Service // customer analytics: the recompute job and its results
	Sales    *sales.Service   // leads, pipelines, deals, products, quotes, forecast
	Desk     *desk.Service    // the service desk: tickets, SLAs, email, surveys, returns
	Segments *segment.Service // saved segments and static lists; Members gives their people to other modules
	Webhooks *webhook.Service // outbound webhooks and inbound hooks
	Idem     *idempotency.Service
	Events   *event.Dispatcher
	Jobs     *jobs.Runner
	Handler  http.Handler

	// ImportDir keeps the CSV files uploaded for import (DATA/imports):
	// queued imports read them there, so it is local disk even when the
	// database is PostgreSQL.
	ImportDir string

	// Campaigns are email and SMS campaigns to a segment, a list or everyone.
	Campaigns *campaign.Service

	// Workflows are the automations: triggers, conditions, durable steps.
	Workflows *workflow.Service

	// LeadForms are the lead capture forms and the lead scoring.
	LeadForms *leadform.Service

	mu        sync.Mutex
	setupCode string // one-time code for the first-run page; "" once a user exists
}

// OpenDB opens the configured database. On SQLite it applies pending
// migrations (a single-user file needs no separate step); on PostgreSQL
// it refuses to go on while migrations are pending and says what to run.
func OpenDB(ctx context.Context, cfg config.Config, migrate bool) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.StoreURL())
	if err != nil {
		return nil, err
	}
	if db.Dialect() == store.SQLite || migrate {
		if _, err := db.Migrate(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("migrate %s: %w", db.Source(), err)
		}
		return db, nil
	}
	pending, err := db.PendingMigrations(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(pending) > 0 {
		db.Close()
		return nil, crm.Errorf(crm.EUNAVAILABLE,
			"the PostgreSQL database has %d pending migration(s) (%s); run `pivand migrate` with the same PIVAND_DATABASE_URL first",
			len(pending), strings.Join(pending, ", "))
	}
	return db, nil
}

// New builds the services and the HTTP handler on an open database.
func New(ctx context.Context, cfg config.Config, db *store.DB, logger *slog.Logger, version string) (*App, error) {
	a := &App{Config: cfg, Logger: logger, Version: version, DB: db}
	a.Auth = auth.New(db, auth.Options{})
	a.Contacts = contact.New(db, contact.Options{})
	a.Activity = activity.New(db)
	a.Club = club.New(db, club.Options{Resolve: a.Contacts.ResolveCustomer}) // people enrolled by phone, email or name
	a.Orders = order.New(db, order.Options{Resolve: a.resolveCustomer})
	a.Sales = sales.New(db, sales.Options{Person: a.Contacts.PersonForLead, Company: a.Contacts.CompanyForLead, Region: a.Contacts.Region(), Logger: logger})
	a.Desk = desk.New(db, desk.Options{Resolve: a.Contacts.ResolveCustomer, BaseURL: cfg.BaseURL, Logger: logger,
		Mail: desk.MailConfig{Relay: cfg.SMTPRelay, Username: cfg.SMTPUser, Password: cfg.SMTPPassword, TLS: cfg.SMTPTLS, Helo: smtpHostname(cfg)}})
	a.Idem = idempotency.New(db)
	a.Events = event.NewDispatcher(db, logger)
	a.Jobs = jobs.NewRunner(db, logger, jobs.Options{})
	a.Activity.RegisterJobs(a.Jobs)
	a.Contacts.RegisterJobs(a.Jobs) // imports started on the web or the API run as jobs
	a.Club.Subscribe(a.Events)      // points from order.created / order.returned
	a.Club.RegisterJobs(a.Jobs)     // the club's sweep: releases, expiry, reminders, tier reviews
	a.Sales.Subscribe(a.Events)     // deals and leads follow merged, deleted and erased people and deleted companies
	a.Desk.RegisterJobs(a.Jobs)     // SLA warnings and breaches, outgoing mail, surveys, closing solved tickets
	a.Desk.Subscribe(a.Events)      // tickets follow merged, deleted and erased people
	a.Segments = segment.New(db, segment.Options{Region: a.Contacts.Region(), Logger: logger})
	// Deleting a hook a workflow uses is refused (the workflow module names them).
	a.Webhooks = webhook.New(db, webhook.Options{Logger: logger, InUse: workflow.HookUsers})
	a.Webhooks.Subscribe(a.Events)  // one delivery per event and matching subscription
	a.Webhooks.RegisterJobs(a.Jobs) // the HTTP requests, retried with backoff
	a.Campaigns = campaign.New(db, campaign.Options{Audience: a.Segments.Members, BaseURL: cfg.BaseURL, Logger: logger})
	a.Campaigns.RegisterJobs(a.Jobs) // sending, batch by batch, resumed after a restart
	a.Campaigns.Subscribe(a.Events)  // deliveries follow merged and erased people
	a.Workflows = workflow.New(db, workflow.Options{Actions: workflowActions{a}, Check: a.checkRules, Location: a.businessLocation, Logger: logger})
	a.Workflows.Subscribe(a.Events)  // triggers: enrols records in runs
	a.Workflows.RegisterJobs(a.Jobs) // steps, waits and schedules
	a.LeadForms = leadform.New(db, leadform.Options{Person: a.Contacts.PersonForForm, Lead: a.leadForForm, Mail: a.Campaigns.SendMail,
		Validate: segment.ValidateIn, BaseURL: cfg.BaseURL, Region: a.Contacts.Region(), Logger: logger})
	a.LeadForms.RegisterJobs(a.Jobs) // double opt-in mail, score recompute
	a.LeadForms.Subscribe(a.Events)  // a person's score follows the events about them
	a.Reports = report.New(db, report.Options{Logger: logger})
	a.Reports.Subscribe(a.Events) // marks the days and customers orders, returns and merges change
	a.Insight = insight.New(db, insight.Options{Logger: logger})
	a.Insight.RegisterJobs(a.Jobs) // the analytics recompute, nightly and on demand
	a.Insight.Subscribe(a.Events)  // results of merged, deleted and erased people removed
	if err := a.Insight.EnsureNightly(ctx); err != nil {
		logger.Warn("analytics: schedule the nightly recompute", "err", err)
	}
	a.ImportDir = importDir(cfg)
	if err := os.MkdirAll(a.ImportDir, 0o700); err != nil {
		logger.Warn("import directory", "dir", a.ImportDir, "err", err)
	}

	n, err := a.Auth.UserCount(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		a.setupCode = newSetupCode()
	}
	webHandler, err := web.New(web.Options{
		Auth:           a.Auth,
		Logger:         logger,
		Version:        version,
		SecureCookies:  cfg.SecureCookies,
		SetupCode:      a.SetupCode,
		SetupDone:      a.closeSetup,
		Dev:            cfg.Dev,
		Contacts:       a.Contacts,
		Activity:       a.Activity,
		ImportDir:      a.ImportDir,
		Orders:         a.Orders,
		Club:           a.Club,
		Reports:        a.Reports,
		Insight:        a.Insight,
		Sales:          a.Sales,
		Desk:           a.Desk,
		Webhooks:       a.Webhooks,
		SegmentService: a.Segments,
		Campaigns:      a.Campaigns,
		Segments:       a.campaignAudiences,
		Workflows:      a.Workflows,
		LeadForms:      a.LeadForms,
	})
	if err != nil {
		return nil, err
	}
	apiV1, err := api.New(api.Options{Auth: a.Auth, Idempotency: a.Idem, Contacts: a.Contacts, Activity: a.Activity, Orders: a.Orders, Club: a.Club, Insight: a.Insight, Sales: a.Sales, Desk: a.Desk, Segments: a.Segments, Webhooks: a.Webhooks, Campaigns: a.Campaigns, Workflows: a.Workflows, LeadForms: a.LeadForms, Logger: logger, Version: version,
		ImportDir: a.ImportDir})
	if err != nil {
		return nil, err
	}
	a.Handler = server.Handler(server.Options{Web: webHandler, API: apiV1.Handler(), Ready: db.Ping, Logger: logger})
	return a, nil
}

// importDir is where uploaded CSV files wait for their import job: the
// imports folder of the data directory.
func importDir(cfg config.Config) string {
	if cfg.DataDir == "" {
		return filepath.Join(os.TempDir(), "pivand-imports")
	}
	return filepath.Join(cfg.DataDir, "imports")
}

// SetupCode returns the first-run code while no user exists. A user made
// from the command line while the server runs closes setup too.
func (a *App) SetupCode() string {
	a.mu.Lock()
	code := a.setupCode
	a.mu.Unlock()
	if code == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if n, err := a.Auth.UserCount(ctx); err != nil || n > 0 {
		if n > 0 {
			a.closeSetup()
		}
		return ""
	}
	return code
}

func (a *App) closeSetup() {
	a.mu.Lock()
	a.setupCode = ""
	a.mu.Unlock()
}

// newSetupCode returns a code like 7KQ4-M2XP: easy to read from a
// terminal and type, 40 bits of entropy, guessing limited by the web UI.
func newSetupCode() string {
	const alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ" // no 0/O, 1/I/L
	b := make([]byte, 8)
	rand.Read(b)
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

// Run serves HTTP on ln and runs the background workers until ctx ends,
// then stops the server first, the workers next, and returns.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	start("events", a.Events.Run)
	start("jobs", a.Jobs.Run)
	start("maintenance", a.maintain)
	start("reports", a.Reports.Run)
	if a.Config.SMTPListen != "" {
		start("smtp", a.serveSMTP)
	}
	srv := server.New(ln.Addr().String(), a.Handler, a.Logger)
	err := srv.Serve(ctx, ln)
	cancel()
	wg.Wait()
	close(errc)
	for e := range errc {
		err = errors.Join(err, e)
	}
	return err
}

// serveSMTP runs the service desk's SMTP receiver on Config.SMTPListen
// until ctx ends.
func (a *App) serveSMTP(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Config.SMTPListen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Config.SMTPListen, err)
	}
	rcv := a.Desk.NewReceiver(smtpHostname(a.Config))
	a.Logger.Info("smtp: receiving mail for the service desk", "addr", ln.Addr().String())
	go func() {
		<-ctx.Done()
		rcv.Close()
	}()
	return rcv.Serve(ln)
}

// smtpHostname is the name Pivand's SMTP ends greet with: the configured
// one, else the base URL's host.
func smtpHostname(cfg config.Config) string {
	if cfg.SMTPHostname != "" {
		return cfg.SMTPHostname
	}
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// maintain removes expired sessions and idempotency keys every hour.
func (a *App) maintain(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := a.Auth.CleanupSessions(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("cleanup sessions", "err", err)
		}
		if _, err := a.Idem.Purge(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("purge idempotency keys", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
