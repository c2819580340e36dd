// Package api serves Pivand's REST API under /api/v1: JSON in and out,
// bearer tokens with read and write scopes, RFC 9457 problem documents for
// every error, cursor pagination, Idempotency-Key on writes, and an OpenAPI
// 3.1 document assembled from the route table in routes.go.
//
// A module adds its API by writing one file of handlers and one entry per
// route in routes.go; the entry's operation metadata puts the route in the
// OpenAPI document, and a test fails if a route lacks it.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/campaign"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/webhook"
	"github.com/pivand/pivand/internal/workflow"
)

// DefaultMaxBodyBytes is the request body limit when Options leaves it 0.
const DefaultMaxBodyBytes = 1 << 20

// Options are the services and settings the API needs.
type Options struct {
	Auth         *auth.Service
	Idempotency  *idempotency.Service
	Contacts     *contact.Service  // people, companies, custom fields, consent, search, privacy
	Activity     *activity.Service // timeline, interactions, notes, tasks, notifications
	Logger       *slog.Logger      // default slog.Default()
	Version      string            // shown in the OpenAPI document; default "dev"
	MaxBodyBytes int64             // request body limit; default 1 MiB
	Orders       *order.Service    // orders and returns; nil leaves /orders out
	Club         *club.Service     // the customer club; nil leaves /club out
	Insight      *insight.Service  // customer analytics; nil leaves /analytics out
	Sales        *sales.Service    // leads, pipelines, deals, products, quotes, forecast; nil leaves them out
	Desk         *desk.Service     // the service desk: tickets, SLA, surveys, returns; nil leaves them out
	Segments     *segment.Service  // segments and static lists; nil leaves /segments and /lists out
	Webhooks     *webhook.Service  // outbound webhooks and inbound hooks; nil leaves them out
	Campaigns    *campaign.Service // email and SMS campaigns; nil leaves /campaigns out

	// ImportDir keeps CSV files uploaded for import while their job runs
	// ("" is the system's temporary directory); MaxUploadBytes bounds one
	// upload (DefaultMaxUploadBytes when 0).
	ImportDir      string
	MaxUploadBytes int64

	// Workflows are the automations; nil leaves /workflows out.
	Workflows *workflow.Service

	// LeadForms are the lead capture forms and lead scoring; nil leaves
	// /lead-forms and /score-rules out.
	LeadForms *leadform.Service
}

// API is the REST API. It is safe for concurrent use.
type API struct {
	auth     *auth.Service
	idem     *idempotency.Service
	contacts *contact.Service
	activity *activity.Service
	orders   *order.Service
	club     *club.Service
	insight  *insight.Service
	sales    *sales.Service
	desk     *desk.Service
	segments *segment.Service
	webhooks *webhook.Service
	campaign *campaign.Service
	log      *slog.Logger
	version  string
	maxBody  int64

	importDir string          // uploaded CSV files (imports.go)
	maxUpload int64           // the largest file an upload route takes
	uploads   map[string]bool // patterns of the routes whose body is a file

	workflows *workflow.Service
	leadforms *leadform.Service

	routes  []route // everything registered, in order
	openapi []byte  // the OpenAPI document, built once
	handler http.Handler
}

// New builds the API and its OpenAPI document.
func New(opts Options) (*API, error) {
	if opts.Auth == nil || opts.Idempotency == nil || opts.Contacts == nil || opts.Activity == nil {
		return nil, errors.New("api: Options.Auth, Idempotency, Contacts and Activity are required")
	}
	a := &API{
		auth:     opts.Auth,
		idem:     opts.Idempotency,
		contacts: opts.Contacts,
		activity: opts.Activity,
		orders:   opts.Orders,
		club:     opts.Club,
		insight:  opts.Insight,
		sales:    opts.Sales,
		desk:     opts.Desk,
		segments: opts.Segments,
		webhooks: opts.Webhooks,
		campaign: opts.Campaigns,
		log:      opts.Logger,
		version:  opts.Version,
		maxBody:  opts.MaxBodyBytes,

		importDir: opts.ImportDir,
		maxUpload: opts.MaxUploadBytes,
		uploads:   map[string]bool{},
	}
	a.workflows = opts.Workflows
	a.leadforms = opts.LeadForms
	if a.importDir == "" {
		a.importDir = filepath.Join(os.TempDir(), "pivand-imports")
	}
	if a.maxUpload <= 0 {
		a.maxUpload = DefaultMaxUploadBytes
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.version == "" {
		a.version = "dev"
	}
	if a.maxBody <= 0 {
		a.maxBody = DefaultMaxBodyBytes
	}
	a.routes = a.routeTable()
	doc, err := buildOpenAPI(a.routes, a.version)
	if err != nil {
		return nil, err
	}
	a.openapi = doc

	// The mux stays local: the only way to register a route is an entry in
	// routeTable, which is also what the OpenAPI document is built from.
	mux := http.NewServeMux()
	for _, rt := range a.routes {
		mux.Handle(rt.pattern, a.chain(rt))
		if rt.op.Upload != nil {
			a.uploads[rt.pattern] = true
		}
	}
	mux.Handle("/api/", a.fallback(mux))
	a.handler = a.limitBody(mux)
	return a, nil
}

// Handler serves every path under /api/.
func (a *API) Handler() http.Handler { return a.handler }
