package crm

import "time"

// Webhook event types: what the webhooks module itself emits.
const (
	EventWebhookDisabled = "webhook.disabled" // a subscription was switched off after repeated failures
	EventWebhookReceived = "webhook.received" // an inbound hook received a JSON document
	EventWebhookPing     = "webhook.ping"     // the type of a test delivery (never an event row)
)

// WebhookSubscription sends events of the types it names to a URL, signed
// with its secret. The secret is shown once, when made or rotated.
type WebhookSubscription struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	EventTypes  []string   `json:"event_types"` // exact types or prefixes like "deal.*"; "*" is every event
	Active      bool       `json:"active"`
	Failures    int        `json:"consecutive_failures"` // failed deliveries in a row
	DisabledAt  *time.Time `json:"disabled_at"`          // set when switched off after repeated failures
	SecretHint  string     `json:"secret_hint"`          // the secret's first characters, to tell secrets apart
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastSuccess *time.Time `json:"last_success_at"`
}

// WebhookInput is what a subscription is made or changed with.
type WebhookInput struct {
	Name       string   `json:"name"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Active     *bool    `json:"active,omitempty"` // nil keeps the current state (active for a new one)
}

// Delivery statuses.
const (
	WebhookPending   = "pending"   // queued or waiting for a retry
	WebhookSucceeded = "succeeded" // a 2xx answer
	WebhookFailed    = "failed"    // retries exhausted or an answer not worth retrying
	WebhookSkipped   = "skipped"   // not sent: the subscription was disabled or deleted first
)

// WebhookDelivery is one event sent to one subscription, with every
// attempt. Each event becomes at most one delivery per subscription.
type WebhookDelivery struct {
	ID             int64            `json:"id"`
	SubscriptionID int64            `json:"subscription_id"`
	EventID        int64            `json:"event_id"` // 0 for a test ping
	EventType      string           `json:"event_type"`
	Status         string           `json:"status"`
	Attempts       int              `json:"attempts"`
	NextAttemptAt  *time.Time       `json:"next_attempt_at"`
	StatusCode     int              `json:"response_status"` // of the last attempt; 0 when none answered
	Manual         bool             `json:"manual"`          // a ping or a redelivery asked for by a person
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	Body           RawJSON          `json:"body"` // the JSON document sent
	Log            []WebhookAttempt `json:"attempts_log,omitempty"`
}

// WebhookAttempt is one HTTP request of a delivery.
type WebhookAttempt struct {
	ID         int64      `json:"id"`
	DeliveryID int64      `json:"delivery_id"`
	Attempt    int        `json:"attempt"`
	StartedAt  time.Time  `json:"started_at"`
	LatencyMS  int        `json:"latency_ms"`
	StatusCode int        `json:"response_status"` // 0: no answer (see error)
	Error      string     `json:"error,omitempty"`
	Response   string     `json:"response_body"` // the first 2 KB of the answer
	RetryAt    *time.Time `json:"retry_at"`      // when the next attempt is due, if one is
}

// InboundHook is an address that takes JSON posted by another system and
// records it as a webhook.received event.
type InboundHook struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Active      bool       `json:"active"`
	TokenPrefix string     `json:"token_prefix"` // the token's public first part
	Received    int64      `json:"received"`
	LastAt      *time.Time `json:"last_received_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// InboundHookInput names an inbound hook and switches it on or off.
type InboundHookInput struct {
	Name   string `json:"name"`
	Active *bool  `json:"active,omitempty"`
}

// InboundReceipt is one JSON document an inbound hook received.
type InboundReceipt struct {
	ID         int64     `json:"id"`
	HookID     int64     `json:"hook_id"`
	EventID    int64     `json:"event_id"`
	ReceivedAt time.Time `json:"received_at"`
	RemoteIP   string    `json:"remote_ip"`
	Size       int       `json:"size"`
	Body       RawJSON   `json:"body"`
}

// WebhookSettings are the installation's webhook rules.
type WebhookSettings struct {
	// AllowedHosts may be called over plain http and may resolve to
	// private or loopback addresses: host names, IP addresses or CIDR
	// ranges. Everything else must be https to a public address.
	AllowedHosts []string `json:"allowed_hosts"`
}
