package webhook_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/webhook"
)

// A workflow's call: one signed delivery of the step's data with its
// idempotency key, retried like an event's; a switched-off subscription
// refuses.
func TestSendForWorkflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{})
		rcv := newReceiver(t, 503)
		w, secret := f.subscribe(rcv.url(), "contact.created")
		d, err := f.svc.Send(sys, w.ID, "wf:7:2", json.RawMessage(`{"run_id": 7}`))
		if err != nil {
			t.Fatal(err)
		}
		f.pump()
		f.advance(time.Hour)
		f.pump()
		got := rcv.requests()
		if len(got) != 2 {
			t.Fatalf("%d requests, want 2 (a 503, then the retry)", len(got))
		}
		r := got[1]
		if err := webhook.Verify(secret, r.header.Get(webhook.HeaderTimestamp), r.header.Get(webhook.HeaderSignature), r.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var body struct {
			Type string          `json:"type"`
			Key  string          `json:"idempotency_key"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.Type != webhook.EventWorkflowCall || body.Key != "wf:7:2" || string(body.Data) != `{"run_id":7}` {
			t.Fatalf("body %s (%v)", r.body, err)
		}
		if dd := f.delivery(w.ID, d.ID); dd.Status != crm.WebhookSucceeded || dd.Attempts != 2 {
			t.Fatalf("delivery %+v", dd)
		}
		if _, err := f.svc.SetActive(f.as(), w.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Send(sys, w.ID, "wf:7:3", nil); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("switched off: %v", err)
		}
		if _, err := f.svc.Send(sys, 999, "wf:7:3", nil); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("unknown: %v", err)
		}
	})
}
