// Package webhook sends Pivand's events to other systems and takes JSON
// from them.
//
// Outbound: a subscription names a URL, the event types it wants (exact,
// a prefix like deal.*, or *) and holds a signing secret. The event
// dispatcher hands every committed event to the subscriber "webhooks"
// (starting from the newest event when it first runs); for each active
// subscription that wants the event it inserts one delivery row (unique
// per subscription and event, so a handler called twice adds nothing) and
// enqueues a job in the same transaction. The job makes the HTTP request
// outside any transaction, then records the attempt and either finishes
// the delivery or enqueues the next attempt after a backoff. Every request
// carries an HMAC-SHA256 signature over the timestamp and the body. After
// DisableAfter deliveries in a row fail (each after all its retries) the
// subscription is switched off, a webhook.disabled event is written and
// the administrators get a notification.
//
// Inbound: an inbound hook is a secret URL (POST /api/v1/hooks/in/{token})
// whose JSON documents are kept and announced as webhook.received events,
// for automation to start from.
//
// Targets must be https to public addresses unless an administrator
// allows a host (settings); the rule is checked when a URL is saved and
// again, on the resolved addresses, when each request is made.
//
// See docs/webhooks.md.
package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Defaults of Options.
const (
	DefaultTimeout      = 10 * time.Second
	DefaultMaxAttempts  = 8
	DefaultBackoffBase  = 30 * time.Second
	DefaultBackoffMax   = 12 * time.Hour
	DefaultDisableAfter = 10
	DefaultInboundLimit = 256 << 10
)

// Options tune the service. Zero values take the defaults.
type Options struct {
	// Timeout bounds one request: connecting, sending and reading the
	// answer's head (10 s).
	Timeout time.Duration
	// MaxAttempts is how many times a delivery is tried before it fails
	// (8). Attempt n waits BackoffBase·4^(n-1), ±20%, at most BackoffMax
	// (30 s, 2 min, 8 min, 32 min, 2 h 8 min, 8 h 32 min, 12 h).
	MaxAttempts int
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// DisableAfter is how many deliveries in a row may fail before the
	// subscription is switched off (10).
	DisableAfter int
	// InboundLimit is the largest document an inbound hook takes (256 KiB).
	InboundLimit int
	// Logger gets what deliveries do; slog.Default when nil.
	Logger *slog.Logger
	// Transport replaces the HTTP transport (tests and benchmarks); its
	// dialer is not guarded, so it must not be set in production.
	Transport http.RoundTripper
	// InUse names the workflows that use a subscription (kind "webhook")
	// or an inbound hook ("inbound_hook"): internal/app gives the
	// workflow module's HookUsers. Deleting one in use is refused
	// (InUseError). Nil: nothing is in use.
	InUse func(ctx context.Context, tx *store.Tx, kind string, id int64) ([]store.WorkflowRef, error)
}

// Kinds of hook InUse is asked about (the audit log's entity types).
const (
	KindWebhook = "webhook"
	KindInbound = "inbound_hook"
)

// InUseError refuses deleting a subscription or an inbound hook that
// workflows use (code ECONFLICT): their runs would fail. Workflows names
// them, for a message that links to each.
type InUseError struct {
	Err       *crm.Error
	Kind      string // KindWebhook or KindInbound
	Name      string // the hook's
	Workflows []store.WorkflowRef
}

func (e *InUseError) Error() string { return e.Err.Error() }
func (e *InUseError) Unwrap() error { return e.Err }

// checkUnused refuses (InUseError) when workflows use the hook.
func (s *Service) checkUnused(ctx context.Context, tx *store.Tx, kind string, id int64, name string) error {
	if s.opts.InUse == nil {
		return nil
	}
	wfs, err := s.opts.InUse(ctx, tx, kind, id)
	if err != nil || len(wfs) == 0 {
		return err
	}
	names := make([]string, len(wfs))
	for i, w := range wfs {
		names[i] = fmt.Sprintf("“%s” (%d)", w.Name, w.ID)
	}
	what := "webhook"
	if kind == KindInbound {
		what = "inbound hook"
	}
	msg := fmt.Sprintf("The %s “%s” is used by the workflows %s: remove it from them and publish them (or let their runs end), then delete it; or switch it off instead.",
		what, name, strings.Join(names, ", "))
	return &InUseError{Err: &crm.Error{Code: crm.ECONFLICT, Message: msg}, Kind: kind, Name: name, Workflows: wfs}
}

// Service manages subscriptions, deliveries and inbound hooks.
type Service struct {
	db     *store.DB
	opts   Options
	log    *slog.Logger
	client *http.Client
}

// New returns the service on db.
func New(db *store.DB, opts Options) *Service {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	opts.BackoffMax = max(opts.BackoffMax, opts.BackoffBase)
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = DefaultDisableAfter
	}
	if opts.InboundLimit <= 0 {
		opts.InboundLimit = DefaultInboundLimit
	}
	s := &Service{db: db, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	rt := opts.Transport
	if rt == nil {
		dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		rt = &http.Transport{
			Proxy:                 nil, // a proxy would connect where the guard cannot see
			DialContext:           dialContext(net.DefaultResolver, dialer),
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: opts.Timeout,
		}
	}
	s.client = &http.Client{
		Transport: rt,
		Timeout:   opts.Timeout,
		// A redirect is not followed: it would go where the guard did not
		// look, and the receiver should be configured with its real address.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// Options returns the service's options with defaults applied.
func (s *Service) Options() Options { return s.opts }

func authorize(ctx context.Context, write bool) error {
	return crm.Authorize(ctx, crm.PermSettingsManage, write)
}

// newSecret returns a signing secret: "whsec_" and 32 random bytes.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// --- Subscriptions ---

// List returns every subscription.
func (s *Service) List(ctx context.Context) ([]*crm.WebhookSubscription, error) {
	if err := authorize(ctx, false); err != nil {
		return nil, err
	}
	var out []*crm.WebhookSubscription
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.Webhooks(ctx, false)
		return err
	})
	return out, err
}

// Get returns a subscription.
func (s *Service) Get(ctx context.Context, id int64) (*crm.WebhookSubscription, error) {
	if err := authorize(ctx, false); err != nil {
		return nil, err
	}
	var out *crm.WebhookSubscription
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, _, err = tx.Webhook(ctx, id)
		return err
	})
	return out, err
}

// validate checks in and returns the normalised subscription fields.
func (s *Service) validate(ctx context.Context, tx *store.Tx, in crm.WebhookInput) (name, target string, types []string, err error) {
	var v crm.Validation
	name = strings.TrimSpace(in.Name)
	target = strings.TrimSpace(in.URL)
	if utf8.RuneCountInString(name) > 200 {
		v.Add("name", "At most 200 characters.")
	}
	set, err := tx.WebhookSettings(ctx)
	if err != nil {
		return "", "", nil, err
	}
	if msg := newGuard(set).CheckURL(target); msg != "" {
		v.Add("url", "%s", msg)
	}
	types, perr := ParsePatterns(in.EventTypes)
	if perr != nil {
		v.Add("event_types", "%s", upperFirst(perr.Error())+".")
	}
	if name == "" && !v.Has("url") {
		if u := strings.TrimPrefix(strings.TrimPrefix(target, "https://"), "http://"); u != "" {
			name, _, _ = strings.Cut(u, "/")
		}
	}
	return name, target, types, v.Err()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Create makes a subscription and returns it with its secret, which is
// shown only now.
func (s *Service) Create(ctx context.Context, in crm.WebhookInput) (*crm.WebhookSubscription, string, error) {
	if err := authorize(ctx, true); err != nil {
		return nil, "", err
	}
	var (
		w      *crm.WebhookSubscription
		secret = newSecret()
	)
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		name, target, types, err := s.validate(ctx, tx, in)
		if err != nil {
			return err
		}
		w = &crm.WebhookSubscription{Name: name, URL: target, EventTypes: types, Active: in.Active == nil || *in.Active}
		if err := tx.InsertWebhook(ctx, w, secret); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.create", "webhook", w.ID, nil, w)
	})
	if err != nil {
		return nil, "", err
	}
	return w, secret, nil
}

// Update changes a subscription. Switching it on again clears its
// failure count.
func (s *Service) Update(ctx context.Context, id int64, in crm.WebhookInput) (*crm.WebhookSubscription, error) {
	if err := authorize(ctx, true); err != nil {
		return nil, err
	}
	var w *crm.WebhookSubscription
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, _, err := tx.Webhook(ctx, id)
		if err != nil {
			return err
		}
		name, target, types, err := s.validate(ctx, tx, in)
		if err != nil {
			return err
		}
		cp := *old
		w = &cp
		w.Name, w.URL, w.EventTypes = name, target, types
		if in.Active != nil {
			w.Active = *in.Active
		}
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return err
		}
		if old.Active && !w.Active {
			if _, err := tx.SkipWebhookDeliveries(ctx, id); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, "webhook.update", "webhook", id, old, w)
	})
	return w, err
}

// SetActive switches a subscription on or off. On clears the failures
// counted against it.
func (s *Service) SetActive(ctx context.Context, id int64, on bool) (*crm.WebhookSubscription, error) {
	w, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.Update(ctx, id, crm.WebhookInput{Name: w.Name, URL: w.URL, EventTypes: w.EventTypes, Active: &on})
}

// RotateSecret gives a subscription a new secret and returns it, shown
// only now. Deliveries from now on are signed with it.
func (s *Service) RotateSecret(ctx context.Context, id int64) (string, error) {
	if err := authorize(ctx, true); err != nil {
		return "", err
	}
	secret := newSecret()
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := tx.SetWebhookSecret(ctx, id, secret); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.rotate_secret", "webhook", id, nil, nil)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Delete removes a subscription with its deliveries and their log. A
// subscription a workflow calls is not deleted (InUseError, ECONFLICT).
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := authorize(ctx, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, _, err := tx.Webhook(ctx, id)
		if err != nil {
			return err
		}
		if err := s.checkUnused(ctx, tx, KindWebhook, id, old.Name); err != nil {
			return err
		}
		if err := tx.DeleteWebhook(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.delete", "webhook", id, old, nil)
	})
}

// Deliveries lists a subscription's deliveries, newest first, each with
// its attempts; status "" is every status.
func (s *Service) Deliveries(ctx context.Context, subID int64, status string, page crm.Page) ([]*crm.WebhookDelivery, string, error) {
	if err := authorize(ctx, false); err != nil {
		return nil, "", err
	}
	if status != "" && !slices.Contains([]string{crm.WebhookPending, crm.WebhookSucceeded, crm.WebhookFailed, crm.WebhookSkipped}, status) {
		var v crm.Validation
		v.Add("status", "One of pending, succeeded, failed, skipped.")
		return nil, "", v.Err()
	}
	var (
		out  []*crm.WebhookDelivery
		next string
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.Webhook(ctx, subID); err != nil {
			return err
		}
		var err error
		if out, next, err = tx.WebhookDeliveries(ctx, subID, status, page); err != nil {
			return err
		}
		return attachAttempts(ctx, tx, out)
	})
	return out, next, err
}

// Delivery returns one delivery of a subscription with its attempts.
func (s *Service) Delivery(ctx context.Context, subID, id int64) (*crm.WebhookDelivery, error) {
	if err := authorize(ctx, false); err != nil {
		return nil, err
	}
	var d *crm.WebhookDelivery
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = tx.WebhookDelivery(ctx, id); err != nil {
			return err
		}
		if d.SubscriptionID != subID {
			return crm.Errorf(crm.ENOTFOUND, "Delivery was not found.")
		}
		return attachAttempts(ctx, tx, []*crm.WebhookDelivery{d})
	})
	return d, err
}

func attachAttempts(ctx context.Context, tx *store.Tx, ds []*crm.WebhookDelivery) error {
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	log, err := tx.WebhookAttempts(ctx, ids)
	for _, d := range ds {
		d.Log = log[d.ID]
	}
	return err
}

// Settings returns the installation's webhook rules.
func (s *Service) Settings(ctx context.Context) (crm.WebhookSettings, error) {
	if err := authorize(ctx, false); err != nil {
		return crm.WebhookSettings{}, err
	}
	var out crm.WebhookSettings
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.WebhookSettings(ctx)
		return err
	})
	if out.AllowedHosts == nil {
		out.AllowedHosts = []string{}
	}
	return out, err
}

// SaveSettings stores the rules. Each allowed host is a host name, an IP
// address or a CIDR range.
func (s *Service) SaveSettings(ctx context.Context, in crm.WebhookSettings) (crm.WebhookSettings, error) {
	if err := authorize(ctx, true); err != nil {
		return in, err
	}
	var (
		v     crm.Validation
		hosts = []string{}
	)
	for _, raw := range in.AllowedHosts {
		for _, h := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
			h = strings.ToLower(h)
			if !validHostEntry(h) {
				v.Add("allowed_hosts", "%q is not a host name, an IP address or a CIDR range.", h)
				continue
			}
			if !slices.Contains(hosts, h) {
				hosts = append(hosts, h)
			}
		}
	}
	if len(hosts) > 100 {
		v.Add("allowed_hosts", "At most 100 entries.")
	}
	if err := v.Err(); err != nil {
		return in, err
	}
	out := crm.WebhookSettings{AllowedHosts: hosts}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.WebhookSettings(ctx)
		if err != nil {
			return err
		}
		if err := tx.SaveWebhookSettings(ctx, out); err != nil {
			return err
		}
		return tx.Audit(ctx, "webhook.settings", "settings", 0, old, out)
	})
	return out, err
}

func validHostEntry(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	if newGuard(crm.WebhookSettings{AllowedHosts: []string{h}}).nets != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
