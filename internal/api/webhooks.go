package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/webhook"
)

// Webhooks (internal/webhook): outbound subscriptions with their delivery
// log, redelivery, test pings and secret rotation; inbound hooks and what
// they received; the address rules; and the public address inbound hooks
// are posted to. The routes exist when the API was given the service.

func init() {
	moduleRoutes = append(moduleRoutes, webhookRoutes)
	tagDescriptions["webhooks"] = "Outbound webhooks: subscriptions send events (exact types or prefixes like deal.*) as signed JSON to a URL, with retries, a delivery log, redelivery and automatic disabling. See docs/webhooks.md for the payload and how to verify the signature."
	tagDescriptions["inbound-hooks"] = "Inbound hooks: secret addresses other systems post JSON to; each document is kept and written as a webhook.received event."
	for k, v := range map[string]string{
		"WebhookSubscription":  "A subscription. event_types are exact types (contact.created), prefixes (deal.*) or * (everything). consecutive_failures counts failed deliveries in a row; at 10 the subscription is switched off (active false, disabled_at set). secret_hint is the start of the signing secret.",
		"WebhookInput":         "A subscription's name, url (https; http or a private address only for hosts allowed in the settings), event_types and, optionally, active (switching it on clears its failures).",
		"WebhookCreated":       "The new subscription and its signing secret, shown only here.",
		"WebhookSecret":        "A new signing secret, shown only here; deliveries are signed with it from now on.",
		"WebhookDelivery":      "One event sent to one subscription: status pending (queued or waiting for a retry at next_attempt_at), succeeded, failed or skipped (the subscription was switched off first); body is the JSON sent; attempts_log holds each HTTP attempt.",
		"WebhookAttempt":       "One HTTP attempt: response_status (0 when nothing answered, see error), latency_ms, the first 2 KB of the response body, and retry_at when another attempt is due.",
		"WebhookSettingsInput": "allowed_hosts: host names, IP addresses or CIDR ranges (each entry may hold several, separated by commas or spaces).",
		"WebhookSettings":      "allowed_hosts: host names, IP addresses or CIDR ranges that webhooks may call over plain http and that may be private or loopback addresses.",
		"InboundHook":          "An inbound hook. Its address is /api/v1/hooks/in/{token}; the token is shown only when the hook is made or its token renewed (token_prefix is its public start).",
		"InboundHookInput":     "An inbound hook's name and, optionally, active.",
		"InboundHookCreated":   "The hook with its token and address, shown only here.",
		"InboundReceipt":       "A JSON document an inbound hook received, with the webhook.received event that announced it.",
		"InboundAccepted":      "The document was kept: its receipt and the event written.",
	} {
		schemaDescriptions[k] = v
	}
}

// WebhookCreated is the answer to creating a subscription.
type WebhookCreated struct {
	Webhook *crm.WebhookSubscription `json:"webhook"`
	Secret  string                   `json:"secret"`
}

// WebhookSecret is a rotated secret.
type WebhookSecret struct {
	Secret string `json:"secret"`
}

// WebhookSettingsInput is what the address rules are changed with.
type WebhookSettingsInput struct {
	AllowedHosts []string `json:"allowed_hosts"`
}

// InboundHookCreated is an inbound hook with its token.
type InboundHookCreated struct {
	Hook  *crm.InboundHook `json:"hook"`
	Token string           `json:"token"`
	Path  string           `json:"path"` // where to post: /api/v1/hooks/in/{token}
}

// InboundAccepted answers a document posted to an inbound hook.
type InboundAccepted struct {
	ReceiptID int64 `json:"receipt_id"`
	EventID   int64 `json:"event_id"`
}

func webhookRoutes(a *API) []route {
	if a.webhooks == nil {
		return nil
	}
	manage := crm.PermSettingsManage
	status := []param{{Name: "status", Enum: []string{crm.WebhookPending, crm.WebhookSucceeded, crm.WebhookFailed, crm.WebhookSkipped},
		Description: "Only deliveries in this state."}}
	return []route{
		{"GET /api/v1/webhooks", a.handleWebhooks, op{ID: "listWebhooks", Tag: "webhooks", Perm: manage, Paged: true,
			Summary: "List webhook subscriptions", Out: list[*crm.WebhookSubscription]{}}},
		{"POST /api/v1/webhooks", a.handleWebhookCreate, op{ID: "createWebhook", Tag: "webhooks", Perm: manage, Status: http.StatusCreated,
			Summary: "Subscribe a URL to events; the signing secret is returned only here", In: crm.WebhookInput{}, Out: WebhookCreated{}}},
		{"GET /api/v1/webhooks/event-types", a.handleWebhookEventTypes, op{ID: "listWebhookEventTypes", Tag: "webhooks", Perm: manage, Paged: true,
			Summary: "The event types Pivand's modules emit (any other type or a prefix like deal.* may be named too)", Out: list[string]{}}},
		{"GET /api/v1/webhooks/settings", a.handleWebhookSettings, op{ID: "getWebhookSettings", Tag: "webhooks", Perm: manage,
			Summary: "The hosts webhooks may call over http or on private addresses", Out: crm.WebhookSettings{}}},
		{"PUT /api/v1/webhooks/settings", a.handleWebhookSettingsSave, op{ID: "updateWebhookSettings", Tag: "webhooks", Perm: manage,
			Summary: "Change the hosts webhooks may call over http or on private addresses", In: WebhookSettingsInput{}, Out: crm.WebhookSettings{}}},
		{"GET /api/v1/webhooks/{id}", a.handleWebhook, op{ID: "getWebhook", Tag: "webhooks", Perm: manage,
			Summary: "Read a subscription", Out: &crm.WebhookSubscription{}}},
		{"PUT /api/v1/webhooks/{id}", a.handleWebhookUpdate, op{ID: "updateWebhook", Tag: "webhooks", Perm: manage,
			Summary: "Change a subscription, or switch it on or off", In: crm.WebhookInput{}, Out: &crm.WebhookSubscription{}}},
		{"DELETE /api/v1/webhooks/{id}", a.handleWebhookDelete, op{ID: "deleteWebhook", Tag: "webhooks", Perm: manage, Status: http.StatusNoContent,
			Summary:     "Delete a subscription with its delivery log",
			Description: "A subscription a workflow calls (its published version, or the version one of its active runs follows) is not deleted: 409, naming the workflows in workflows. Remove the step and publish them, or switch the subscription off instead.",
			Conflict:    hookInUseProblem{}}},
		{"POST /api/v1/webhooks/{id}/secret", a.handleWebhookRotate, op{ID: "rotateWebhookSecret", Tag: "webhooks", Perm: manage,
			Summary: "Give a subscription a new signing secret, returned only here", Out: WebhookSecret{}}},
		{"POST /api/v1/webhooks/{id}/ping", a.handleWebhookPing, op{ID: "pingWebhook", Tag: "webhooks", Perm: manage, Status: http.StatusAccepted,
			Summary: "Queue a signed test delivery (webhook.ping), tried once", Out: &crm.WebhookDelivery{}}},
		{"GET /api/v1/webhooks/{id}/deliveries", a.handleWebhookDeliveries, op{ID: "listWebhookDeliveries", Tag: "webhooks", Perm: manage, Paged: true, Query: status,
			Summary: "A subscription's deliveries, newest first, with their attempts", Out: list[*crm.WebhookDelivery]{}}},
		{"GET /api/v1/webhooks/{id}/deliveries/{delivery_id}", a.handleWebhookDelivery, op{ID: "getWebhookDelivery", Tag: "webhooks", Perm: manage,
			Summary: "Read a delivery with its attempts", Out: &crm.WebhookDelivery{}}},
		{"POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", a.handleWebhookRedeliver, op{ID: "redeliverWebhook", Tag: "webhooks", Perm: manage,
			Status: http.StatusAccepted, Summary: "Send a finished delivery again (same body and delivery id), once",
			Description: "A delivery still pending is a conflict (409).", Out: &crm.WebhookDelivery{}}},

		{"GET /api/v1/inbound-hooks", a.handleInboundHooks, op{ID: "listInboundHooks", Tag: "inbound-hooks", Perm: manage, Paged: true,
			Summary: "List inbound hooks", Out: list[*crm.InboundHook]{}}},
		{"POST /api/v1/inbound-hooks", a.handleInboundCreate, op{ID: "createInboundHook", Tag: "inbound-hooks", Perm: manage, Status: http.StatusCreated,
			Summary: "Make an inbound hook; its token is returned only here", In: crm.InboundHookInput{}, Out: InboundHookCreated{}}},
		{"GET /api/v1/inbound-hooks/{id}", a.handleInboundHook, op{ID: "getInboundHook", Tag: "inbound-hooks", Perm: manage,
			Summary: "Read an inbound hook", Out: &crm.InboundHook{}}},
		{"PUT /api/v1/inbound-hooks/{id}", a.handleInboundUpdate, op{ID: "updateInboundHook", Tag: "inbound-hooks", Perm: manage,
			Summary: "Rename an inbound hook, or switch it on or off", In: crm.InboundHookInput{}, Out: &crm.InboundHook{}}},
		{"DELETE /api/v1/inbound-hooks/{id}", a.handleInboundDelete, op{ID: "deleteInboundHook", Tag: "inbound-hooks", Perm: manage, Status: http.StatusNoContent,
			Summary:     "Delete an inbound hook and the documents it kept (their events stay)",
			Description: "A hook a workflow starts from (its published version, or the version one of its active runs follows) is not deleted: 409, naming the workflows in workflows. Give them another trigger and publish them, or switch the hook off instead.",
			Conflict:    hookInUseProblem{}}},
		{"POST /api/v1/inbound-hooks/{id}/token", a.handleInboundRotate, op{ID: "rotateInboundHookToken", Tag: "inbound-hooks", Perm: manage,
			Summary: "Give an inbound hook a new token (the old address stops working), returned only here", Out: InboundHookCreated{}}},
		{"GET /api/v1/inbound-hooks/{id}/receipts", a.handleInboundReceipts, op{ID: "listInboundReceipts", Tag: "inbound-hooks", Perm: manage, Paged: true,
			Summary: "What an inbound hook received, newest first", Out: list[*crm.InboundReceipt]{}}},
		{"POST /api/v1/hooks/in/{token}", a.handleInboundReceive, op{ID: "receiveInboundHook", Tag: "inbound-hooks", Public: true, Status: http.StatusAccepted,
			Summary:     "Post a JSON document to an inbound hook (the token in the address is the credential)",
			Description: "The body must be a JSON object or array of Content-Type application/json, at most 256 KiB. A wrong, unknown or switched-off token is 404. The document is kept and written as a webhook.received event with the hook's id.",
			In:          map[string]any{}, Out: InboundAccepted{}}},
	}
}

func (a *API) answer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	a.writeJSON(w, r, status, v)
}

func (a *API) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	ws, err := a.webhooks.List(r.Context())
	clubPaged(a, w, r, ws, err, func(s *crm.WebhookSubscription) int64 { return s.ID })
}

func (a *API) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	var in crm.WebhookInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	sub, secret, err := a.webhooks.Create(r.Context(), in)
	a.answer(w, r, http.StatusCreated, WebhookCreated{sub, secret}, err)
}

func (a *API) handleWebhookEventTypes(w http.ResponseWriter, r *http.Request) {
	writeList(a, w, r, webhook.EventTypes, "")
}

func (a *API) handleWebhookSettings(w http.ResponseWriter, r *http.Request) {
	s, err := a.webhooks.Settings(r.Context())
	a.answer(w, r, http.StatusOK, s, err)
}

func (a *API) handleWebhookSettingsSave(w http.ResponseWriter, r *http.Request) {
	var in WebhookSettingsInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	s, err := a.webhooks.SaveSettings(r.Context(), crm.WebhookSettings{AllowedHosts: in.AllowedHosts})
	a.answer(w, r, http.StatusOK, s, err)
}

func (a *API) handleWebhook(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.webhooks.Get(r.Context(), id) })
}

func (a *API) handleWebhookUpdate(w http.ResponseWriter, r *http.Request) {
	var in crm.WebhookInput
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.webhooks.Update(r.Context(), id, in) })
}

func (a *API) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	hookDelete(a, w, r, a.webhooks.Delete)
}

// WorkflowUse names a workflow that uses a hook.
type WorkflowUse struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// hookInUseProblem is the 409 of deleting a hook workflows use.
type hookInUseProblem struct {
	problem.Details
	Workflows []WorkflowUse `json:"workflows" openapi:"nonnull"`
}

// hookDelete deletes a subscription or an inbound hook; a refused
// delete's problem names the workflows that use it.
func hookDelete(a *API, w http.ResponseWriter, r *http.Request, del func(ctx context.Context, id int64) error) {
	id, err := pathID(r, "id")
	if err == nil {
		err = del(r.Context(), id)
	}
	var e *webhook.InUseError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
		return
	case !errors.As(err, &e):
		a.writeError(w, r, err)
		return
	}
	p := hookInUseProblem{Details: problem.From(err, r.URL.Path), Workflows: []WorkflowUse{}}
	for _, wf := range e.Workflows {
		p.Workflows = append(p.Workflows, WorkflowUse{ID: wf.ID, Name: wf.Name})
	}
	a.writeProblemWith(w, r, err, http.StatusConflict, p)
}

func (a *API) handleWebhookRotate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	secret, err := a.webhooks.RotateSecret(r.Context(), id)
	a.answer(w, r, http.StatusOK, WebhookSecret{secret}, err)
}

func (a *API) handleWebhookPing(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.webhooks.Ping(r.Context(), id)
	a.answer(w, r, http.StatusAccepted, d, err)
}

func (a *API) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ds, next, err := a.webhooks.Deliveries(r.Context(), id, r.URL.Query().Get("status"), page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ds, next)
}

func (a *API) handleWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	ids, err := clubIDs(r, "id", "delivery_id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.webhooks.Delivery(r.Context(), ids[0], ids[1])
	a.answer(w, r, http.StatusOK, d, err)
}

func (a *API) handleWebhookRedeliver(w http.ResponseWriter, r *http.Request) {
	ids, err := clubIDs(r, "id", "delivery_id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.webhooks.Redeliver(r.Context(), ids[0], ids[1])
	a.answer(w, r, http.StatusAccepted, d, err)
}

func (a *API) handleInboundHooks(w http.ResponseWriter, r *http.Request) {
	hs, err := a.webhooks.InboundHooks(r.Context())
	clubPaged(a, w, r, hs, err, func(h *crm.InboundHook) int64 { return h.ID })
}

func (a *API) handleInboundCreate(w http.ResponseWriter, r *http.Request) {
	var in crm.InboundHookInput
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	h, token, err := a.webhooks.CreateInbound(r.Context(), in)
	a.answer(w, r, http.StatusCreated, InboundHookCreated{h, token, webhook.InboundPath + token}, err)
}

func (a *API) handleInboundHook(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	h, err := a.webhooks.InboundHook(r.Context(), id)
	a.answer(w, r, http.StatusOK, h, err)
}

func (a *API) handleInboundUpdate(w http.ResponseWriter, r *http.Request) {
	var in crm.InboundHookInput
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.webhooks.UpdateInbound(r.Context(), id, in) })
}

func (a *API) handleInboundDelete(w http.ResponseWriter, r *http.Request) {
	hookDelete(a, w, r, a.webhooks.DeleteInbound)
}

func (a *API) handleInboundRotate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	h, token, err := a.webhooks.RotateInbound(r.Context(), id)
	a.answer(w, r, http.StatusOK, InboundHookCreated{h, token, webhook.InboundPath + token}, err)
}

func (a *API) handleInboundReceipts(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rs, next, err := a.webhooks.Receipts(r.Context(), id, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, rs, next)
}

func (a *API) handleInboundReceive(w http.ResponseWriter, r *http.Request) {
	if err := requireJSON(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	rc, err := a.webhooks.Receive(r.Context(), r.PathValue("token"), r.Header.Get("Content-Type"), r.Body, crm.IPFromContext(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusAccepted, InboundAccepted{rc.ID, rc.EventID})
}
