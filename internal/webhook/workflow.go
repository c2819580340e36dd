package webhook

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// EventWorkflowCall is the type of a delivery a workflow step asked for.
const EventWorkflowCall = "workflow.call"

// Send queues one signed delivery of data to a subscription, as a workflow
// step asks (internal/workflow's call_webhook, through internal/app). It
// is retried like an event's delivery and counts toward the subscription's
// failures. key identifies the step (run + step): it is sent as the body's
// "idempotency_key", so a receiver can ignore the rare second call made
// when the server died between queueing the delivery and recording the
// step. A switched-off subscription refuses (ECONFLICT).
func (s *Service) Send(ctx context.Context, subID int64, key string, data json.RawMessage) (*crm.WebhookDelivery, error) {
	if len(data) == 0 || !json.Valid(data) {
		data = json.RawMessage("{}")
	}
	var d *crm.WebhookDelivery
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		w, _, err := tx.Webhook(ctx, subID)
		if err != nil {
			return err
		}
		if !w.Active {
			return &crm.Error{Code: crm.ECONFLICT, Message: "The webhook " + w.Name + " is switched off."}
		}
		body, err := json.Marshal(struct {
			Payload
			Key string `json:"idempotency_key"`
		}{Payload{Type: EventWorkflowCall, CreatedAt: tx.Now(), Subject: Subject{"webhook", w.ID}, Data: data}, key})
		if err != nil {
			return err
		}
		d = &crm.WebhookDelivery{SubscriptionID: w.ID, EventType: EventWorkflowCall, Body: crm.RawJSON(body)}
		if _, err := tx.InsertWebhookDelivery(ctx, d); err != nil {
			return err
		}
		return enqueue(ctx, tx, d.ID, 1, time.Time{})
	})
	return d, err
}
