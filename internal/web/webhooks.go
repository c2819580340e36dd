package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/webhook"
)

// Webhooks in the settings (internal/webhook): outbound subscriptions
// with the secret shown once, a test ping, the delivery log with
// redelivery and the banner of a subscription switched off after
// failures; inbound hooks with what they received; the address rules.

func init() {
	webModules = append(webModules, webModule{
		on: func(s *server) bool { return s.webhooks != nil },
		settingsNav: []navItem{{Key: "webhooks.nav", Href: "/settings/webhooks", Perm: crm.PermSettingsManage,
			Prefix: "/settings/webhooks/"}},
		routes: webhookRoutes,
	})
}

func webhookRoutes(s *server, mux *http.ServeMux) {
	m := crm.PermSettingsManage
	mux.HandleFunc("GET /settings/webhooks", s.can(m, s.handleWebhooks))
	mux.HandleFunc("POST /settings/webhooks/settings", s.can(m, s.handleWebhookSettings))
	mux.HandleFunc("GET /settings/webhooks/{id}", s.can(m, s.handleWebhookPage)) // {id} or new
	mux.HandleFunc("POST /settings/webhooks/{id}", s.can(m, s.handleWebhookSave))
	mux.HandleFunc("POST /settings/webhooks/{id}/active", s.can(m, s.handleWebhookActive))
	mux.HandleFunc("POST /settings/webhooks/{id}/ping", s.can(m, s.handleWebhookPing))
	mux.HandleFunc("POST /settings/webhooks/{id}/secret", s.can(m, s.handleWebhookSecret))
	mux.HandleFunc("POST /settings/webhooks/{id}/delete", s.can(m, s.handleWebhookDelete))
	mux.HandleFunc("POST /settings/webhooks/{id}/deliveries/{delivery}/redeliver", s.can(m, s.handleWebhookRedeliver))
	mux.HandleFunc("POST /settings/webhooks/in", s.can(m, s.handleInboundCreate))
	mux.HandleFunc("GET /settings/webhooks/in/{id}", s.can(m, s.handleInboundPage))
	mux.HandleFunc("POST /settings/webhooks/in/{id}/save", s.can(m, s.handleInboundSave))
	mux.HandleFunc("POST /settings/webhooks/in/{id}/token", s.can(m, s.handleInboundToken))
	mux.HandleFunc("POST /settings/webhooks/in/{id}/delete", s.can(m, s.handleInboundDelete))
}

var webhookFieldKeys = map[string]string{
	"name":          "webhooks.error.name",
	"url":           "webhooks.error.url",
	"event_types":   "webhooks.error.event_types",
	"allowed_hosts": "webhooks.error.allowed_hosts",
}

// --- The list ---

type webhooksPage struct {
	base
	Subs     []*crm.WebhookSubscription
	Disabled []*crm.WebhookSubscription // switched off after failures
	Inbound  []*crm.InboundHook
	Hosts    string
	Form     form // the allowed hosts
	InForm   form // a new inbound hook
	Limit    int  // failed deliveries in a row that switch a subscription off
}

func (s *server) webhooksPage(r *http.Request) (*webhooksPage, error) {
	ctx := r.Context()
	subs, err := s.webhooks.List(ctx)
	if err != nil {
		return nil, err
	}
	in, err := s.webhooks.InboundHooks(ctx)
	if err != nil {
		return nil, err
	}
	set, err := s.webhooks.Settings(ctx)
	if err != nil {
		return nil, err
	}
	d := &webhooksPage{base: s.page(r, "webhooks.title"), Subs: subs, Inbound: in, Hosts: strings.Join(set.AllowedHosts, "\n"),
		Form: form{Values: map[string]string{"allowed_hosts": strings.Join(set.AllowedHosts, "\n")}}, InForm: form{Values: map[string]string{}},
		Limit: s.webhooks.Options().DisableAfter}
	for _, w := range subs {
		if !w.Active && w.DisabledAt != nil {
			d.Disabled = append(d.Disabled, w)
		}
	}
	return d, nil
}

func (s *server) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	d, err := s.webhooksPage(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "webhooks", d)
}

func (s *server) handleWebhookSettings(w http.ResponseWriter, r *http.Request) {
	f := newForm(r, "allowed_hosts")
	_, err := s.webhooks.SaveSettings(r.Context(), crm.WebhookSettings{AllowedHosts: []string{f.V("allowed_hosts")}})
	if err == nil {
		redirect(w, r, "/settings/webhooks", "webhook_settings_saved")
		return
	}
	d, derr := s.webhooksPage(r)
	if derr != nil {
		s.renderError(w, r, derr)
		return
	}
	f.fail(state(r).p, err, webhookFieldKeys)
	d.Form = f
	s.render(w, r, problem.Status(err), "webhooks", d)
}

// --- One subscription ---

type webhookPage struct {
	base
	Sub        *crm.WebhookSubscription // nil on the new page
	Form       form
	Picked     []string // event types ticked
	Other      string   // patterns that are not among the choices
	Groups     []webhookGroup
	Secret     string // shown once, after creation or rotation
	Deliveries []deliveryRow
	Status     string // the log's filter
	Statuses   []string
	Next       string // the next page of the log
	First      string // back to the newest
	Limit      int
	MaxTries   int
	InUse      *hookInUse // a refused delete
}

// hookInUse explains a refused delete: the workflows that use the hook,
// each linked, in the reader's language.
type hookInUse struct {
	Text      string
	Workflows []Choice
}

// inUse reads err as a refused delete (webhook.InUseError).
func inUse(p *locale.Printer, err error) *hookInUse {
	var e *webhook.InUseError
	if !errors.As(err, &e) {
		return nil
	}
	key := "webhooks.error.in_use"
	if e.Kind == webhook.KindInbound {
		key = "webhooks.error.inbound_in_use"
	}
	u := &hookInUse{Text: p.T(key, "name", e.Name)}
	for _, w := range e.Workflows {
		u.Workflows = append(u.Workflows, Choice{ID: w.ID, Name: w.Name})
	}
	return u
}

// deliveryRow is a delivery in the log with its body laid out to read.
type deliveryRow struct {
	*crm.WebhookDelivery
	Pretty string
}

// receiptRow is a document an inbound hook received, laid out to read.
type receiptRow struct {
	*crm.InboundReceipt
	Pretty string
}

// prettyJSON indents a JSON document for reading; anything else is
// returned as it is.
func prettyJSON(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String()
}

// webhookGroup is the choices of one module: its wildcard and its types.
type webhookGroup struct {
	Prefix string // "contact"
	Types  []string
}

func webhookGroups() []webhookGroup {
	var out []webhookGroup
	for _, p := range webhook.EventGroups() {
		g := webhookGroup{Prefix: p}
		for _, t := range webhook.EventTypes {
			if strings.HasPrefix(t, p+".") {
				g.Types = append(g.Types, t)
			}
		}
		out = append(out, g)
	}
	return out
}

// splitPicked sorts a subscription's patterns into the ticked choices and
// the rest (typed by hand).
func splitPicked(patterns []string) (picked []string, other string) {
	var rest []string
	for _, p := range patterns {
		known := p == "*" || slices.Contains(webhook.EventTypes, p) || strings.HasSuffix(p, ".*") && slices.Contains(webhook.EventGroups(), strings.TrimSuffix(p, ".*"))
		if known {
			picked = append(picked, p)
		} else {
			rest = append(rest, p)
		}
	}
	return picked, strings.Join(rest, " ")
}

func (s *server) webhookPage(r *http.Request, id int64) (*webhookPage, error) {
	d := &webhookPage{base: s.page(r, "webhooks.new_title"), Form: form{Values: map[string]string{}}, Groups: webhookGroups(),
		Statuses: []string{crm.WebhookPending, crm.WebhookSucceeded, crm.WebhookFailed, crm.WebhookSkipped},
		Limit:    s.webhooks.Options().DisableAfter, MaxTries: s.webhooks.Options().MaxAttempts}
	if id == 0 {
		d.Form.Values["active"] = "1"
		return d, nil
	}
	ctx := r.Context()
	sub, err := s.webhooks.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	d.Sub, d.Title = sub, sub.Name
	d.Form.Values = map[string]string{"name": sub.Name, "url": sub.URL}
	if sub.Active {
		d.Form.Values["active"] = "1"
	}
	d.Picked, d.Other = splitPicked(sub.EventTypes)
	d.Form.Values["other"] = d.Other
	q := r.URL.Query()
	if st := q.Get("status"); slices.Contains(d.Statuses, st) {
		d.Status = st
	}
	after := q.Get("after")
	ds, next, err := s.webhooks.Deliveries(ctx, id, d.Status, crm.Page{Limit: 25, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" {
		after = ""
		ds, next, err = s.webhooks.Deliveries(ctx, id, d.Status, crm.Page{Limit: 25})
	}
	if err != nil {
		return nil, err
	}
	for _, dl := range ds {
		d.Deliveries = append(d.Deliveries, deliveryRow{dl, prettyJSON(string(dl.Body))})
	}
	base := fmt.Sprintf("/settings/webhooks/%d?status=%s", id, d.Status)
	if next != "" {
		d.Next = base + "&after=" + next + "#log"
	}
	if after != "" {
		d.First = base + "#log"
	}
	return d, nil
}

func (s *server) handleWebhookPage(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.webhookPage(r, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if id == 0 && r.URL.Query().Get("type") != "" {
		d.Picked = []string{r.URL.Query().Get("type")}
	}
	s.render(w, r, http.StatusOK, "webhook", d)
}

func (s *server) handleWebhookSave(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	st := state(r)
	f := newForm(r, "name", "url", "other", "active")
	picked := r.PostForm["type"]
	in := crm.WebhookInput{Name: f.V("name"), URL: f.V("url"), EventTypes: append(slices.Clone(picked), f.V("other"))}
	active := f.V("active") == "1"
	var (
		sub    *crm.WebhookSubscription
		secret string
		err    error
	)
	if id == 0 {
		in.Active = &active
		sub, secret, err = s.webhooks.Create(r.Context(), in)
	} else {
		in.Active = &active
		sub, err = s.webhooks.Update(r.Context(), id, in)
	}
	if err == nil {
		if id == 0 {
			// The secret is shown once, on this answer (as API tokens are).
			d, err := s.webhookPage(r, sub.ID)
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			d.Secret, d.Notice = secret, st.p.T("notice.webhook_created")
			s.render(w, r, http.StatusCreated, "webhook", d)
			return
		}
		redirect(w, r, fmt.Sprintf("/settings/webhooks/%d", sub.ID), "webhook_saved")
		return
	}
	d, derr := s.webhookPage(r, id)
	if derr != nil {
		s.renderError(w, r, derr)
		return
	}
	f.fail(st.p, err, webhookFieldKeys)
	d.Form, d.Picked = f, picked
	s.render(w, r, problem.Status(err), "webhook", d)
}

func (s *server) handleWebhookActive(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	on := r.PostFormValue("on") == "1"
	if _, err := s.webhooks.SetActive(r.Context(), id, on); err != nil {
		s.renderError(w, r, err)
		return
	}
	notice := "webhook_off"
	if on {
		notice = "webhook_on"
	}
	back := fmt.Sprintf("/settings/webhooks/%d", id)
	if r.PostFormValue("back") == "list" {
		back = "/settings/webhooks"
	}
	redirect(w, r, back, notice)
}

func (s *server) handleWebhookPing(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if _, err := s.webhooks.Ping(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/settings/webhooks/%d", id), "webhook_pinged")
}

func (s *server) handleWebhookSecret(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	secret, err := s.webhooks.RotateSecret(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d, err := s.webhookPage(r, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Secret = secret
	d.Notice = state(r).p.T("notice.webhook_secret")
	s.render(w, r, http.StatusOK, "webhook", d)
}

func (s *server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.webhooks.Delete(r.Context(), id); err != nil {
		if u := inUse(state(r).p, err); u != nil {
			if d, derr := s.webhookPage(r, id); derr == nil {
				d.InUse = u
				s.render(w, r, problem.Status(err), "webhook", d)
				return
			}
		}
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/webhooks", "webhook_deleted")
}

func (s *server) handleWebhookRedeliver(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	did, err := strconv.ParseInt(r.PathValue("delivery"), 10, 64)
	if !ok || err != nil || did <= 0 {
		s.notFound(w, r)
		return
	}
	if _, err := s.webhooks.Redeliver(r.Context(), id, did); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/settings/webhooks/%d#log", id), "webhook_redelivered")
}

// --- Inbound hooks ---

type inboundPage struct {
	base
	Hook     *crm.InboundHook
	Form     form
	Token    string // shown once
	Address  string // the whole address with the token, shown once
	Example  string // a curl command posting to it
	Receipts []receiptRow
	Next     string
	First    string
	InUse    *hookInUse // a refused delete
}

func (s *server) inboundPage(r *http.Request, id int64) (*inboundPage, error) {
	ctx := r.Context()
	h, err := s.webhooks.InboundHook(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &inboundPage{base: s.page(r, "webhooks.inbound.title"), Hook: h, Form: form{Values: map[string]string{"name": h.Name}}}
	d.Title = h.Name
	if h.Active {
		d.Form.Values["active"] = "1"
	}
	after := r.URL.Query().Get("after")
	rs, next, err := s.webhooks.Receipts(ctx, id, crm.Page{Limit: 20, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" {
		after = ""
		rs, next, err = s.webhooks.Receipts(ctx, id, crm.Page{Limit: 20})
	}
	if err != nil {
		return nil, err
	}
	for _, rc := range rs {
		d.Receipts = append(d.Receipts, receiptRow{rc, prettyJSON(string(rc.Body))})
	}
	if next != "" {
		d.Next = fmt.Sprintf("/settings/webhooks/in/%d?after=%s#received", id, next)
	}
	if after != "" {
		d.First = fmt.Sprintf("/settings/webhooks/in/%d#received", id)
	}
	return d, nil
}

// showToken puts a hook's token, its whole address and an example on d.
func (d *inboundPage) showToken(r *http.Request, token string) {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	d.Token = token
	d.Address = scheme + "://" + r.Host + webhook.InboundPath + token
	d.Example = `curl -X POST -H 'Content-Type: application/json' -d '{"order": 1042}' ` + d.Address
}

func (s *server) handleInboundCreate(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	f := newForm(r, "name")
	h, token, err := s.webhooks.CreateInbound(r.Context(), crm.InboundHookInput{Name: f.V("name")})
	if err != nil {
		d, derr := s.webhooksPage(r)
		if derr != nil {
			s.renderError(w, r, derr)
			return
		}
		f.fail(st.p, err, map[string]string{"name": "webhooks.error.inbound_name"})
		d.InForm = f
		s.render(w, r, problem.Status(err), "webhooks", d)
		return
	}
	d, err := s.inboundPage(r, h.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.showToken(r, token)
	d.Notice = st.p.T("notice.inbound_created")
	s.render(w, r, http.StatusCreated, "webhook_inbound", d)
}

func (s *server) handleInboundPage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.inboundPage(r, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "webhook_inbound", d)
}

func (s *server) handleInboundSave(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "name", "active")
	on := f.V("active") == "1"
	_, err := s.webhooks.UpdateInbound(r.Context(), id, crm.InboundHookInput{Name: f.V("name"), Active: &on})
	if err == nil {
		redirect(w, r, fmt.Sprintf("/settings/webhooks/in/%d", id), "inbound_saved")
		return
	}
	d, derr := s.inboundPage(r, id)
	if derr != nil {
		s.renderError(w, r, derr)
		return
	}
	f.fail(state(r).p, err, map[string]string{"name": "webhooks.error.inbound_name"})
	d.Form = f
	s.render(w, r, problem.Status(err), "webhook_inbound", d)
}

func (s *server) handleInboundToken(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	_, token, err := s.webhooks.RotateInbound(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d, err := s.inboundPage(r, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.showToken(r, token)
	d.Notice = state(r).p.T("notice.inbound_token")
	s.render(w, r, http.StatusOK, "webhook_inbound", d)
}

func (s *server) handleInboundDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.webhooks.DeleteInbound(r.Context(), id); err != nil {
		if u := inUse(state(r).p, err); u != nil {
			if d, derr := s.inboundPage(r, id); derr == nil {
				d.InUse = u
				s.render(w, r, problem.Status(err), "webhook_inbound", d)
				return
			}
		}
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/webhooks", "inbound_deleted")
}

// Open reports whether a group of event choices starts unfolded: when its
// wildcard or any of its types is ticked.
func (d *webhookPage) Open(prefix string, types []string) bool {
	if slices.Contains(d.Picked, prefix+".*") {
		return true
	}
	for _, t := range types {
		if slices.Contains(d.Picked, t) {
			return true
		}
	}
	return false
}
