package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/webhook"
	"github.com/pivand/pivand/internal/workflow"
)

// A subscription or an inbound hook a published workflow uses is not
// deleted: 409 naming the workflow, as internal/app wires it.
func TestWebhookDeleteInUse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		quiet := slog.New(slog.DiscardHandler)
		hooks := webhook.New(db, webhook.Options{Logger: quiet, InUse: workflow.HookUsers})
		wfs := workflow.New(db, workflow.Options{Actions: contactTags{contacts: e.contacts}, Logger: quiet})
		a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Webhooks: hooks, Workflows: wfs,
			Logger: quiet, Version: "test", ImportDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		e.api = a
		e.doc, e.router = loadDoc(t, a.openapi)

		var sub WebhookCreated
		e.call(t, "POST", "/api/v1/webhooks", e.rw, `{"name":"Shop","url":"https://example.com/in","event_types":["contact.created"]}`, http.StatusCreated, &sub)
		var spare WebhookCreated
		e.call(t, "POST", "/api/v1/webhooks", e.rw, `{"name":"Spare","url":"https://example.com/spare","event_types":["contact.created"]}`, http.StatusCreated, &spare)
		var hook InboundHookCreated
		e.call(t, "POST", "/api/v1/inbound-hooks", e.rw, `{"name":"Orders in"}`, http.StatusCreated, &hook)
		var wf workflow.Workflow
		e.call(t, "POST", "/api/v1/workflows", e.rw, fmt.Sprintf(`{"name": "Forward orders", "definition": {"trigger": {"kind": "webhook_received", "hook_id": %d},
			"steps": [{"kind": "branch", "if": {"match": "all", "conditions": [{"field": "email", "op": "is_set"}]}, "then": [{"kind": "call_webhook", "subscription_id": %d}]}]}}`, hook.Hook.ID, sub.Webhook.ID), http.StatusCreated, &wf)
		e.call(t, "POST", fmt.Sprintf("/api/v1/workflows/%d/publish", wf.ID), e.rw, `{"version": 1}`, http.StatusOK, nil)

		for _, target := range []string{fmt.Sprintf("/api/v1/webhooks/%d", sub.Webhook.ID), fmt.Sprintf("/api/v1/inbound-hooks/%d", hook.Hook.ID)} {
			res := e.do("DELETE", target, e.rw, "")
			res.problem(t, http.StatusConflict)
			var p hookInUseProblem
			res.JSON(t, &p)
			if len(p.Workflows) != 1 || p.Workflows[0].ID != wf.ID || p.Workflows[0].Name != "Forward orders" || !strings.Contains(p.Detail, "“Forward orders”") {
				t.Fatalf("%s: %s", target, res.Body)
			}
		}
		// One no workflow uses goes.
		e.call(t, "DELETE", fmt.Sprintf("/api/v1/webhooks/%d", spare.Webhook.ID), e.rw, "", http.StatusNoContent, nil)
		// Disabled, a published workflow still holds them (it may be switched on again).
		e.call(t, "POST", fmt.Sprintf("/api/v1/workflows/%d/disable", wf.ID), e.rw, "", http.StatusOK, nil)
		e.do("DELETE", fmt.Sprintf("/api/v1/webhooks/%d", sub.Webhook.ID), e.rw, "").problem(t, http.StatusConflict)
		// Once the workflow is gone, so may they be.
		e.call(t, "DELETE", fmt.Sprintf("/api/v1/workflows/%d", wf.ID), e.rw, "", http.StatusNoContent, nil)
		e.call(t, "DELETE", fmt.Sprintf("/api/v1/webhooks/%d", sub.Webhook.ID), e.rw, "", http.StatusNoContent, nil)
		e.call(t, "DELETE", fmt.Sprintf("/api/v1/inbound-hooks/%d", hook.Hook.ID), e.rw, "", http.StatusNoContent, nil)
	})
}

// A definition's JSON that does not fit is named by its exact path, with
// the step's index; a definition sent wrapped to /workflows/check is
// told so, not called invalid JSON.
func TestWorkflowDefinitionJSONPaths(t *testing.T) {
	e := newWorkflowEnv(t, storetest.Open(t, store.SQLite))
	p := e.do("POST", "/api/v1/workflows", e.rw, `{"name": "Points", "definition": {"trigger": {"kind": "manual", "object": "contact"},
		"steps": [{"kind": "add_tag", "tag": "a"}, {"kind": "award_points", "points": "ten"}]}}`).problem(t, http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "definition.steps[1].points" || p.Errors[0].Detail != "Must be a number, not string." {
		t.Fatalf("type error: %+v", p)
	}
	p = e.do("POST", "/api/v1/workflows/check", e.rw, `{"definition": {"trigger": {"kind": "manual", "object": "contact"}, "steps": [{"kind": "stop"}]}}`).
		problem(t, http.StatusUnprocessableEntity)
	if len(p.Errors) != 1 || p.Errors[0].Field != "definition.definition" || strings.Contains(p.Detail, "not valid JSON") || !strings.Contains(p.Errors[0].Detail, "not wrapped") {
		t.Fatalf("wrapped: %+v", p)
	}
}
