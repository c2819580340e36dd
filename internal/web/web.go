// Package web is Pivand's server-rendered user interface: HTML pages built
// with html/template, a little hand-written JavaScript for progressive
// enhancement, and CSS that uses logical properties so that right-to-left
// languages lay out correctly from the dir attribute alone.
//
// Every route is listed in routes.go. A module adds one file of handlers,
// its templates under templates/pages/, its catalog keys, and one line per
// route (plus a navigation entry) in routes.go.
package web

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/report"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/webhook"
	"github.com/pivand/pivand/internal/workflow"
)

//go:embed templates static
var embedded embed.FS

// Options configure the web UI.
type Options struct {
	Auth          *auth.Service
	Logger        *slog.Logger
	Version       string
	SecureCookies bool          // mark cookies Secure (serve over HTTPS)
	SetupCode     func() string // the first-run setup code; "" when setup is closed
	SetupDone     func()        // called once the first admin exists
	Dev           bool          // reload templates and static files from disk on every request

	// Contacts and Activity install the contacts module: people,
	// companies, custom fields, the timeline, tasks and the search box.
	// Both or neither; without them those pages do not exist.
	Contacts *contact.Service
	Activity *activity.Service

	// ImportDir keeps uploaded CSV files while they are imported (the
	// data directory's imports/); "" uses the system's temporary
	// directory. MaxUploadBytes bounds one file (DefaultMaxUploadBytes
	// when 0).
	ImportDir      string
	MaxUploadBytes int64

	// Orders and Club install the orders and customer-club pages; each
	// may be nil (the module's pages and menu entries do not exist).
	Orders *order.Service
	Club   *club.Service

	// Reports installs the dashboards and reports (reports.go) and their
	// settings; nil: those pages do not exist.
	Reports *report.Service

	// Insight installs the customer analytics (analytics.go): the
	// analytics pages, and the results on the person's page and in the
	// people list. Needs Contacts.
	Insight *insight.Service

	// Sales installs the sales pages (sales.go): the board, deals, leads,
	// products, quotes, forecast, activities and the sales settings, and
	// the sales panels of the dashboards.
	Sales *sales.Service

	// Desk installs the service desk (service.go): the agents' queues,
	// tickets, canned replies, returns, agents, the desk's settings and
	// SLA pages, the public survey page, and the service panels of the
	// dashboards.
	Desk *desk.Service

	// SegmentService installs the segment builder (segments.go): saved
	// segments, static lists, the rule editor, and the people list's
	// "in segment" filter and "add to list" bulk action.
	SegmentService *segment.Service

	// Campaigns installs the email and SMS campaigns (campaigns.go): the
	// campaign pages, their settings, and the public tracking and
	// unsubscribe ends (/c/…). Segments lists the segments and static
	// lists a campaign may go to (nil: everyone only).
	Campaigns *campaign.Service
	Segments  func(ctx context.Context) ([]Choice, error)

	// Webhooks installs the webhook settings (webhooks.go): outbound
	// subscriptions with their delivery log, and inbound hooks.
	Webhooks *webhook.Service

	// LeadForms installs the lead capture forms and lead scoring
	// (leadform.go): the forms' editor and submissions, the scoring
	// rules, the score on the person's page, and the public form and
	// confirmation pages (/f/…).
	LeadForms *leadform.Service

	// Workflows installs automation (workflows.go): the workflow builder,
	// the run log and failed runs with retry, and starting a workflow
	// from a person's page. Needs Contacts.
	Workflows *workflow.Service
}

// server holds the UI's dependencies; handlers are its methods.
type server struct {
	auth       *auth.Service
	orders     *order.Service
	club       *club.Service
	reports    *report.Service
	insight    *insight.Service
	sales      *sales.Service
	desk       *desk.Service
	webhooks   *webhook.Service
	workflows  *workflow.Service
	segmentSvc *segment.Service
	campaigns  *campaign.Service
	segments   func(ctx context.Context) ([]Choice, error)
	leadforms  *leadform.Service
	log        *slog.Logger
	version    string
	secure     bool
	setupCode  func() string
	setupDone  func()
	tmpl       *templates
	static     *staticFiles
	setup      *attemptLimiter

	contacts    *contact.Service  // nil: the contacts module is not installed
	activity    *activity.Service // set whenever contacts is
	nav         []navItem         // the top navigation of this installation
	settingsNav []navItem         // the settings menu of this installation
	importDir   string            // uploaded CSV files (imports.go)
	maxUpload   int64             // the largest file an upload may carry
}

// New returns the web UI handler, serving its own /static/ files.
func New(opts Options) (http.Handler, error) {
	if opts.Auth == nil {
		return nil, errors.New("web: Options.Auth is required")
	}
	if (opts.Contacts == nil) != (opts.Activity == nil) {
		return nil, errors.New("web: Options.Contacts and Options.Activity go together")
	}
	s := &server{
		auth:       opts.Auth,
		log:        opts.Logger,
		version:    opts.Version,
		secure:     opts.SecureCookies,
		setupCode:  opts.SetupCode,
		setupDone:  opts.SetupDone,
		setup:      newAttemptLimiter(setupMaxFailures, setupWindow),
		contacts:   opts.Contacts,
		activity:   opts.Activity,
		importDir:  opts.ImportDir,
		maxUpload:  opts.MaxUploadBytes,
		orders:     opts.Orders,
		club:       opts.Club,
		reports:    opts.Reports,
		insight:    opts.Insight,
		sales:      opts.Sales,
		desk:       opts.Desk,
		webhooks:   opts.Webhooks,
		workflows:  opts.Workflows,
		segmentSvc: opts.SegmentService,
		campaigns:  opts.Campaigns,
		segments:   opts.Segments,
		leadforms:  opts.LeadForms,
	}
	if s.importDir == "" {
		s.importDir = filepath.Join(os.TempDir(), "pivand-imports")
	}
	if s.maxUpload <= 0 {
		s.maxUpload = DefaultMaxUploadBytes
	}
	s.nav, s.settingsNav = s.navigation()
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.setupCode == nil {
		s.setupCode = func() string { return "" }
	}
	if s.setupDone == nil {
		s.setupDone = func() {}
	}
	if s.version == "" {
		s.version = "dev"
	}

	fsys := fs.FS(embedded)
	if opts.Dev {
		if dir, ok := sourceDir(); ok {
			fsys = os.DirFS(dir)
			s.log.Info("web: development mode, reading templates and static files from disk", "dir", dir)
		} else {
			s.log.Warn("web: development mode, but the source directory is missing; using embedded files")
		}
	}
	var err error
	if s.static, err = newStaticFiles(fsys, opts.Dev); err != nil {
		return nil, err
	}
	if s.tmpl, err = newTemplates(fsys, opts.Dev, s.static.url); err != nil {
		return nil, err
	}

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	h := cop.Handler(s.routes())
	if s.campaigns != nil {
		h = s.campaignPublic(h) // tracking and one-click unsubscribe: no session, no CSRF (the signed token is the authority)
	}
	if s.leadforms != nil {
		h = s.leadformPublic(h) // public forms, embeddable anywhere: no session, no CSRF (honeypot and rate limits instead)
	}
	return h, nil
}

// sourceDir returns this package's source directory when it exists on
// disk (a development checkout).
func sourceDir() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", false
	}
	dir := filepath.Dir(file)
	if st, err := os.Stat(filepath.Join(dir, "templates")); err != nil || !st.IsDir() {
		return "", false
	}
	return dir, true
}
