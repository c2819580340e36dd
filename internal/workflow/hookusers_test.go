package workflow_test

import (
	"strconv"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// HookUsers names the workflows whose published version, or the version
// an active run follows, uses a webhook or an inbound hook: what the
// webhook module asks before deleting one.
func TestWorkflowHookUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		sub := &crm.WebhookSubscription{Name: "Shop", URL: "https://example.com/in", EventTypes: []string{"*"}, Active: true}
		if err := db.Write(sys, func(tx *store.Tx) error { return tx.InsertWebhook(sys, sub, "whsec_x") }); err != nil {
			t.Fatal(err)
		}
		hook := e.inboundHook("orders")
		users := func(kind string, id int64) []store.WorkflowRef {
			t.Helper()
			var out []store.WorkflowRef
			if err := db.Read(sys, func(tx *store.Tx) error {
				var err error
				out, err = workflow.HookUsers(sys, tx, kind, id)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return out
		}
		w := e.publish("Later call", `{"trigger": {"kind": "record_created", "object": "contact"}, "steps": [
			{"kind": "wait", "wait": {"kind": "duration", "amount": 2, "unit": "day"}},
			{"kind": "branch", "if": {"match": "all", "conditions": []}, "else": [{"kind": "call_webhook", "subscription_id": `+strconv.FormatInt(sub.ID, 10)+`}]}]}`)
		e.publish("From the shop", `{"trigger": {"kind": "webhook_received", "hook_id": `+strconv.FormatInt(hook, 10)+`}, "steps": [{"kind": "add_tag", "tag": "shop"}]}`)
		if u := users(workflow.HookOutgoing, sub.ID); len(u) != 1 || u[0].ID != w.ID || u[0].Name != "Later call" {
			t.Fatalf("webhook users: %+v", u)
		}
		if u := users(workflow.HookInbound, hook); len(u) != 1 || u[0].Name != "From the shop" {
			t.Fatalf("inbound users: %+v", u)
		}
		if u := users(workflow.HookOutgoing, sub.ID+1); len(u) != 0 {
			t.Fatalf("another webhook: %+v", u)
		}
		// A run waits on version 1; version 2 calls no webhook.
		e.contact("Ana")
		e.settle()
		rs := e.runs(w.ID)
		if len(rs) != 1 || rs[0].Status != workflow.RunActive {
			t.Fatalf("runs: %+v", rs)
		}
		w, err := e.svc.Update(sys, w.ID, workflow.Input{Name: w.Name, Version: w.Version,
			Definition: []byte(`{"trigger": {"kind": "record_created", "object": "contact"}, "steps": [{"kind": "add_tag", "tag": "x"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err = e.svc.Publish(sys, w.ID, w.Version); err != nil {
			t.Fatal(err)
		}
		if u := users(workflow.HookOutgoing, sub.ID); len(u) != 1 || u[0].ID != w.ID {
			t.Fatalf("the active run's version still calls it: %+v", u)
		}
		if _, err := e.svc.Cancel(sys, rs[0].ID); err != nil {
			t.Fatal(err)
		}
		if u := users(workflow.HookOutgoing, sub.ID); len(u) != 0 {
			t.Fatalf("after the run ended: %+v", u)
		}
	})
}
