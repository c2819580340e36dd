// Package insight puts the customer analytics of internal/analytics into
// the product: a recompute job (nightly and on demand) that streams the
// orders from the store, computes per customer the purchase summary, RFM
// scores and segment, the BG/NBD and Gamma-Gamma fits with P(alive), churn
// risk, expected purchases and CLV, mines the order lines for items bought
// together, and stores the results per person (migration 0011); and the
// reads the web UI, the API and other modules use.
//
// internal/analytics holds the models as pure functions and never reads
// the store; this package is the service around them. It reads orders
// only through the store (never internal/order) and hears about merged,
// deleted and erased people through events, so it imports no other
// domain. Every exported method checks permissions with crm.Authorize; a
// context without a user is the system (jobs, commands).
//
// See docs/analytics.md ("In the product", "Stored results").
package insight

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/pivand/pivand/internal/analytics"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// Job kinds.
const (
	JobRecompute = "analytics.recompute" // a run asked for on the web, the API or the command line
	JobNightly   = "analytics.nightly"   // the nightly run
)

// SubscriberContacts is the event subscriber that removes the results of
// merged, deleted and erased people.
const SubscriberContacts = "insight.contacts"

// How a run was asked for.
const (
	ViaNightly = "nightly"
	ViaWeb     = "web"
	ViaAPI     = "api"
	ViaCLI     = "cli"
)

// Options configure a Service.
type Options struct {
	// Logger receives the job's notes; slog.Default when nil.
	Logger *slog.Logger
	// WriteBatch is how many customers one write transaction stores (2000).
	WriteBatch int
	// KeepOld leaves the rows of the run replaced for ClearOld to delete
	// (benchmarks time it apart); by default a run deletes them itself.
	KeepOld bool
}

// Service runs and reads the customer analytics.
type Service struct {
	db   *store.DB
	log  *slog.Logger
	opts Options

	mu       sync.Mutex
	progress func(phase string, done int64) error // tests: called at every progress point
}

// New returns the analytics service on db.
func New(db *store.DB, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.WriteBatch <= 0 {
		opts.WriteBatch = 2000
	}
	return &Service{db: db, log: opts.Logger, opts: opts}
}

// RegisterJobs registers the recompute and nightly jobs with the runner.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobRecompute, s.handleRecomputeJob)
	r.Handle(JobNightly, s.handleNightlyJob)
}

// Subscribe registers the handler that removes the stored results of
// people merged into someone else, deleted or erased: their orders move
// to the survivor or are detached, and the next run scores them so.
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe(SubscriberContacts, []string{crm.EventContactsMerged, crm.EventContactDeleted, crm.EventContactErased}, s.HandleContactEvent)
}

// HandleContactEvent deletes the results of the people an event removed,
// in the dispatcher's transaction.
func (s *Service) HandleContactEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	var ids []int64
	switch ev.Type {
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			s.log.Error("insight: contact.merged payload does not decode; skipped", "event", ev.ID, "err", err)
			return nil
		}
		ids = p.MergedIDs
	case crm.EventContactDeleted, crm.EventContactErased:
		ids = []int64{ev.SubjectID}
	}
	return tx.DeleteContactScores(ctx, ids)
}

// Progress is where a run is: Done of Total in Phase.
type Progress struct {
	Phase string `json:"phase"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// Skipped counts what a run left out, and why.
type Skipped struct {
	// OtherCurrencies lists the orders in currencies other than the one
	// scored: they are not converted (Pivand keeps no exchange rates).
	OtherCurrencies []store.AnalyticsCurrency `json:"other_currencies"`
	// CustomersOtherCurrencyOnly bought only in other currencies: they
	// have no scores.
	CustomersOtherCurrencyOnly int64 `json:"customers_other_currency_only"`
	// OrdersAfterEnd were placed after the end of observation.
	OrdersAfterEnd int64 `json:"orders_after_end"`
	// ZeroValueRepeat counts repeat buyers left out of the spend model
	// because the mean value of their repeat purchases is 0.
	ZeroValueRepeat int `json:"zero_value_repeat_customers"`
}

// Model statuses (Run.ModelStatus, Run.SpendStatus, Run.BasketStatus).
const (
	StatusOK           = "ok"
	StatusTooFew       = "too_few"       // too little data to fit
	StatusNotConverged = "not_converged" // the fit did not converge; no values are used
	StatusInfiniteMean = "infinite_mean" // Gamma-Gamma q ≤ 1: the mean spend is infinite
	StatusTooMany      = "too_many"      // baskets: more frequent itemsets than can be kept
	StatusFailed       = "failed"
	StatusSkipped      = "skipped" // not attempted (the purchase model was not fitted)
)

// Run is a recompute as the UI and the API show it.
type Run struct {
	ID          int64      `json:"id"`
	Status      string     `json:"status"` // queued, running, done, failed
	Via         string     `json:"via"`    // nightly, web, api, cli
	RequestedBy int64      `json:"requested_by,omitempty"`
	Current     bool       `json:"current"` // its results are the ones in use
	Settings    Settings   `json:"settings"`
	End         string     `json:"end,omitempty"` // the end of observation asked for; "" is the day the run started
	Currency    string     `json:"currency"`
	ObservedTo  string     `json:"observed_to"` // the last day observed
	Progress    Progress   `json:"progress"`
	Orders      int64      `json:"orders"`
	Customers   int64      `json:"customers"`
	Repeat      int64      `json:"repeat_customers"`
	Skipped     Skipped    `json:"skipped"`
	ModelStatus string     `json:"model_status"`
	SpendStatus string     `json:"spend_status"`
	BGNBD       *BGNBDFit  `json:"bgnbd"`
	GammaGamma  *GGFit     `json:"gamma_gamma"`
	Baskets     BasketRun  `json:"baskets"`
	Timings     Timings    `json:"timings_ms"`
	Message     string     `json:"message,omitempty"`
	Attempts    int        `json:"attempts"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
	CreatedAt   time.Time  `json:"created_at"`
}

// BGNBDFit is the fitted purchase model of a run (analytics.BGNBDFit).
type BGNBDFit = analytics.BGNBDFit

// GGFit is the fitted spend model of a run, with its population mean.
type GGFit struct {
	analytics.GammaGammaFit
	PopulationMean float64 `json:"population_mean"` // minor units
}

// BasketRun is what a run's basket analysis found.
type BasketRun struct {
	Status        string  `json:"status"`
	Baskets       int64   `json:"orders"`
	Itemsets      int64   `json:"itemsets"`
	Rules         int64   `json:"rules"`
	MinSupport    float64 `json:"min_support"`
	MinConfidence float64 `json:"min_confidence"`
}

// Timings are a run's milliseconds per phase.
type Timings struct {
	Reading  int64 `json:"reading"`
	Fitting  int64 `json:"fitting"`
	Scoring  int64 `json:"scoring"`
	Writing  int64 `json:"writing"`
	Baskets  int64 `json:"baskets"`
	Total    int64 `json:"total"`
	PeakHeap int64 `json:"peak_heap_mb"` // the largest live heap seen between phases
}

// params is what a run stores in analytics_runs.params.
type params struct {
	Settings Settings `json:"settings"`
	End      string   `json:"end,omitempty"`
}

// toRun converts a stored run.
func toRun(r *store.AnalyticsRun, current int64) *Run {
	out := &Run{ID: r.ID, Status: r.Status, Via: r.Via, RequestedBy: r.RequestedBy, Current: r.ID == current, Currency: r.Currency,
		ObservedTo: r.ObservedTo, Progress: Progress{r.Phase, r.Done, r.Total}, Orders: r.Orders, Customers: r.Customers,
		Repeat: r.Repeat, ModelStatus: r.ModelStatus, SpendStatus: r.SpendStatus, Message: r.Message, Attempts: r.Attempts,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, CreatedAt: r.CreatedAt,
		Baskets: BasketRun{Status: r.BasketStatus, Baskets: r.Baskets, Itemsets: r.Itemsets, Rules: r.Rules}}
	var p params
	if json.Unmarshal([]byte(r.Params), &p) == nil {
		out.Settings, out.End = p.Settings, p.End
	}
	out.Baskets.MinSupport, out.Baskets.MinConfidence = out.Settings.BasketMinSupport, out.Settings.BasketMinConfidence
	_ = json.Unmarshal([]byte(r.Skipped), &out.Skipped)
	if out.Skipped.OtherCurrencies == nil {
		out.Skipped.OtherCurrencies = []store.AnalyticsCurrency{}
	}
	_ = json.Unmarshal([]byte(r.Timings), &out.Timings)
	if r.BGNBD != "" {
		var f BGNBDFit
		if json.Unmarshal([]byte(r.BGNBD), &f) == nil {
			out.BGNBD = &f
		}
	}
	if r.GammaGamma != "" {
		var f GGFit
		if json.Unmarshal([]byte(r.GammaGamma), &f) == nil {
			out.GammaGamma = &f
		}
	}
	return out
}

// Fitted reports whether the run's purchase model values (P(alive), churn
// risk, expected purchases) are in use.
func (r *Run) Fitted() bool { return r.ModelStatus == StatusOK }

// SpendFitted reports whether the run's CLV values are in use.
func (r *Run) SpendFitted() bool { return r.SpendStatus == StatusOK }

// Active reports whether the run is queued or running.
func (r *Run) Active() bool { return r.Status == store.RunQueued || r.Status == store.RunRunning }
