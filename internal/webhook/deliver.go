package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// Request headers of every delivery.
const (
	HeaderDelivery  = "Pivand-Delivery"  // the delivery id: the same on every retry of it
	HeaderEvent     = "Pivand-Event"     // the event type
	HeaderEventID   = "Pivand-Event-Id"  // the event id (0 for a ping)
	HeaderTimestamp = "Pivand-Timestamp" // Unix seconds when this attempt was signed
	HeaderSignature = "Pivand-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// SubscriberName is the event dispatcher's durable cursor key.
const SubscriberName = "webhooks"

// JobKind is the kind of the job that makes one attempt of a delivery.
const JobKind = "webhook.deliver"

// maxResponse is how much of an answer the log keeps.
const maxResponse = 2048

// Payload is the JSON document a delivery sends.
type Payload struct {
	ID        int64           `json:"id"` // the event id (0 for a ping)
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Subject   Subject         `json:"subject"`
	ActorID   int64           `json:"actor_id,omitempty"`   // the user who made the change (0: the system)
	ContactID int64           `json:"contact_id,omitempty"` // the person it concerns
	CompanyID int64           `json:"company_id,omitempty"` // the company it concerns
	Data      json.RawMessage `json:"data"`                 // the event's own payload
}

// Subject is what an event is about.
type Subject struct {
	Type string `json:"type"`
	ID   int64  `json:"id"`
}

// Sign returns the signature header's value for body signed at ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery's signature header against body and the
// timestamp header, and that the timestamp is within window of now (a
// replayed request is refused). Receivers in Go may call it; the three
// lines it needs are in docs/webhooks.md.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, window time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("webhook: bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return errors.New("webhook: timestamp outside the replay window")
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return errors.New("webhook: signature does not match")
	}
	return nil
}

// Subscribe registers the handler that turns events into deliveries. It
// starts at the newest event the first time (a new installation does not
// send its history).
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe(SubscriberName, nil, s.handleEvent, event.SubscribeFromNow())
}

// RegisterJobs registers the delivery job.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobKind, s.runJob)
}

type jobPayload struct {
	DeliveryID int64 `json:"delivery_id"`
	Attempt    int   `json:"attempt"` // the attempt this job makes
}

func enqueue(ctx context.Context, tx *store.Tx, deliveryID int64, attempt int, at time.Time) error {
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobKind, Payload: jobPayload{deliveryID, attempt}, RunAt: at,
		UniqueKey: fmt.Sprintf("webhook:%d:%d", deliveryID, attempt)})
	return err
}

// handleEvent runs in the dispatcher's transaction: one delivery and one
// job per active subscription that wants ev. A second call for the same
// event (a retried batch) finds the deliveries there and adds nothing.
func (s *Service) handleEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	if ev.Type == crm.EventWebhookPing {
		return nil
	}
	subs, err := tx.Webhooks(ctx, true)
	if err != nil || len(subs) == 0 {
		return err
	}
	var body []byte
	for _, w := range subs {
		if !Match(w.EventTypes, ev.Type) {
			continue
		}
		if body == nil {
			if body, err = eventBody(ev); err != nil {
				return err
			}
		}
		d := &crm.WebhookDelivery{SubscriptionID: w.ID, EventID: ev.ID, EventType: ev.Type, Body: crm.RawJSON(body)}
		created, err := tx.InsertWebhookDelivery(ctx, d)
		if err != nil {
			return err
		}
		if created {
			if err := enqueue(ctx, tx, d.ID, 1, time.Time{}); err != nil {
				return err
			}
		}
	}
	return nil
}

func eventBody(ev crm.Event) ([]byte, error) {
	data := ev.Payload
	if len(data) == 0 || !json.Valid(data) {
		data = json.RawMessage("{}")
	}
	return json.Marshal(Payload{ID: ev.ID, Type: ev.Type, CreatedAt: ev.CreatedAt.UTC(), Subject: Subject{ev.SubjectType, ev.SubjectID},
		ActorID: ev.ActorID, ContactID: ev.ContactID, CompanyID: ev.CompanyID, Data: data})
}

// Ping queues a test delivery of type webhook.ping to a subscription, on
// or off, and returns it. It is tried once and counts for nothing.
func (s *Service) Ping(ctx context.Context, subID int64) (*crm.WebhookDelivery, error) {
	if err := authorize(ctx, true); err != nil {
		return nil, err
	}
	var d *crm.WebhookDelivery
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		w, _, err := tx.Webhook(ctx, subID)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]any{"message": "A test delivery from Pivand.", "subscription": w.Name, "event_types": w.EventTypes})
		body, err := json.Marshal(Payload{Type: crm.EventWebhookPing, CreatedAt: tx.Now(), Subject: Subject{"webhook", w.ID},
			ActorID: crm.UserIDFromContext(ctx), Data: data})
		if err != nil {
			return err
		}
		d = &crm.WebhookDelivery{SubscriptionID: w.ID, EventType: crm.EventWebhookPing, Body: crm.RawJSON(body), Manual: true}
		if _, err := tx.InsertWebhookDelivery(ctx, d); err != nil {
			return err
		}
		return enqueue(ctx, tx, d.ID, 1, time.Time{})
	})
	return d, err
}

// Redeliver sends a finished delivery again, the same body under the same
// delivery id, once (no automatic retries), whether its subscription is on
// or off. A pending delivery cannot be redelivered (ECONFLICT).
func (s *Service) Redeliver(ctx context.Context, subID, id int64) (*crm.WebhookDelivery, error) {
	if err := authorize(ctx, true); err != nil {
		return nil, err
	}
	var d *crm.WebhookDelivery
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = tx.WebhookDelivery(ctx, id); err != nil {
			return err
		}
		if d.SubscriptionID != subID {
			return crm.Errorf(crm.ENOTFOUND, "Delivery was not found.")
		}
		attempts, err := tx.ReopenWebhookDelivery(ctx, id)
		if err != nil {
			return err
		}
		if err := enqueue(ctx, tx, id, attempts+1, time.Time{}); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "webhook.redeliver", "webhook", subID, nil, map[string]int64{"delivery_id": id}); err != nil {
			return err
		}
		d, err = tx.WebhookDelivery(ctx, id)
		return err
	})
	return d, err
}

// runJob makes one attempt of a delivery: it reads the delivery, sends it
// outside any transaction, and records what happened. Shutdown does not
// cut a request short (it would be sent and then sent again): the request
// has its own timeout.
func (s *Service) runJob(ctx context.Context, j *jobs.Claimed) error {
	var p jobPayload
	if err := j.Decode(&p); err != nil {
		return err
	}
	var (
		d      *crm.WebhookDelivery
		w      *crm.WebhookSubscription
		secret string
		set    crm.WebhookSettings
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		if d, err = tx.WebhookDelivery(ctx, p.DeliveryID); err != nil {
			return err
		}
		if w, secret, err = tx.Webhook(ctx, d.SubscriptionID); err != nil {
			return err
		}
		set, err = tx.WebhookSettings(ctx)
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil // deleted with its subscription
	}
	if err != nil {
		return err
	}
	if d.Status != crm.WebhookPending || d.Attempts != p.Attempt-1 {
		return nil // already recorded by another worker, or redelivered since
	}
	if !w.Active && !d.Manual {
		return s.db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.SkipWebhookDeliveries(ctx, w.ID)
			return err
		})
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down before sending: the job goes back to the queue
	}
	res := s.send(context.WithoutCancel(ctx), newGuard(set), w, secret, d)
	return s.record(context.WithoutCancel(ctx), w, d, p.Attempt, res)
}

// result is what one request got.
type result struct {
	start      time.Time
	latency    time.Duration
	status     int
	err        error
	body       string
	retryAfter time.Duration // from a Retry-After header, 0 when none
}

// send makes the request.
func (s *Service) send(ctx context.Context, g guard, w *crm.WebhookSubscription, secret string, d *crm.WebhookDelivery) result {
	ctx = context.WithValue(ctx, guardKey{}, g)
	res := result{start: time.Now()}
	if msg := g.CheckURL(w.URL); msg != "" {
		res.err = fmt.Errorf("%w: %s", errRefused, msg)
		return res
	}
	body := []byte(d.Body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		res.err = err
		return res
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Pivand-Webhooks/1")
	req.Header.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))
	req.Header.Set(HeaderEvent, d.EventType)
	req.Header.Set(HeaderEventID, strconv.FormatInt(d.EventID, 10))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := s.client.Do(req)
	if err != nil {
		res.latency, res.err = time.Since(res.start), err
		return res
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection can be reused
	resp.Body.Close()
	res.latency, res.status, res.body = time.Since(res.start), resp.StatusCode, truncateUTF8(b)
	res.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	return res
}

func truncateUTF8(b []byte) string {
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1] // cut inside a character at the limit
	}
	return strings.ToValidUTF8(string(b), "�")
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryable reports whether an answer is worth trying again: no answer
// (a timeout, a refused connection), 408, 429 and 5xx. A refusal by the
// address guard is not.
func (r result) retryable() bool {
	if r.err != nil {
		return !errors.Is(r.err, errRefused)
	}
	return r.status == http.StatusRequestTimeout || r.status == http.StatusTooManyRequests || r.status >= 500
}

func (r result) ok() bool { return r.err == nil && r.status >= 200 && r.status < 300 }

// Backoff returns the wait after failed attempt n (1 for the first):
// base·4^(n-1), ±20% jitter, at most limit.
func Backoff(base, limit time.Duration, n int) time.Duration {
	b := base
	for i := 1; i < n && b < limit; i++ {
		b *= 4
	}
	b = min(b, limit)
	return min(time.Duration(float64(b)*(0.8+0.4*rand.Float64())), limit)
}

// record logs the attempt and moves the delivery on: done, failed, or
// pending with the next attempt queued.
func (s *Service) record(ctx context.Context, w *crm.WebhookSubscription, d *crm.WebhookDelivery, attempt int, res result) error {
	status := crm.WebhookFailed
	var next *time.Time
	switch {
	case res.ok():
		status = crm.WebhookSucceeded
	case res.retryable() && !d.Manual && attempt < s.opts.MaxAttempts:
		status = crm.WebhookPending
		wait := Backoff(s.opts.BackoffBase, s.opts.BackoffMax, attempt)
		if res.retryAfter > 0 {
			wait = min(res.retryAfter, s.opts.BackoffMax)
		}
		t := s.db.Now().Add(wait).UTC().Truncate(time.Microsecond)
		next = &t
	}
	a := &crm.WebhookAttempt{DeliveryID: d.ID, Attempt: attempt, StartedAt: res.start.UTC().Truncate(time.Microsecond),
		LatencyMS: int(res.latency.Milliseconds()), StatusCode: res.status, Response: res.body, RetryAt: next}
	if res.err != nil {
		a.Error = errorText(res.err)
	}
	log := s.log.With("webhook", w.ID, "delivery", d.ID, "attempt", attempt, "status", res.status, "latency_ms", a.LatencyMS)
	var disabled bool
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		moved, err := tx.UpdateWebhookDelivery(ctx, d.ID, attempt, status, next, res.status)
		if err != nil {
			return err
		}
		if !moved {
			return nil // another worker recorded this attempt
		}
		if err := tx.InsertWebhookAttempt(ctx, a); err != nil {
			return err
		}
		switch {
		case status == crm.WebhookPending:
			return enqueue(ctx, tx, d.ID, attempt+1, *next)
		case d.Manual:
			if status == crm.WebhookSucceeded {
				_, err := tx.WebhookOutcome(ctx, w.ID, true, 0)
				return err
			}
			return nil // a ping or a redelivery counts for nothing when it fails
		}
		disabled, err = tx.WebhookOutcome(ctx, w.ID, status == crm.WebhookSucceeded, s.opts.DisableAfter)
		if err != nil || !disabled {
			return err
		}
		return s.disable(ctx, tx, w)
	})
	switch {
	case err != nil:
		log.Error("webhook: record attempt", "err", err)
	case status == crm.WebhookSucceeded:
		log.Debug("webhook: delivered")
	case status == crm.WebhookPending:
		log.Info("webhook: attempt failed; will retry", "err", a.Error, "retry_at", next)
	default:
		log.Warn("webhook: delivery failed", "err", a.Error)
	}
	if disabled {
		s.log.Warn("webhook: subscription switched off after repeated failures", "webhook", w.ID, "url", w.URL, "failed_in_a_row", s.opts.DisableAfter)
	}
	return err
}

func errorText(err error) string {
	msg := err.Error()
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		msg = "timeout: " + msg
	}
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return strings.ToValidUTF8(msg, "")
}

// disable announces a subscription switched off after repeated failures:
// its waiting deliveries are skipped, a webhook.disabled event is written
// and every active administrator is notified.
func (s *Service) disable(ctx context.Context, tx *store.Tx, w *crm.WebhookSubscription) error {
	if _, err := tx.SkipWebhookDeliveries(ctx, w.ID); err != nil {
		return err
	}
	if err := tx.EmitJSON(ctx, crm.EventWebhookDisabled, "webhook", w.ID, map[string]any{
		"webhook_id": w.ID, "name": w.Name, "url": w.URL, "failed_deliveries": s.opts.DisableAfter}); err != nil {
		return err
	}
	users, err := tx.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Active && u.Role == crm.RoleAdmin {
			if err := tx.InsertNotification(ctx, &crm.Notification{UserID: u.ID, Kind: "webhook_disabled", Title: w.Name,
				Link: "/settings/webhooks/" + strconv.FormatInt(w.ID, 10)}); err != nil {
				return err
			}
		}
	}
	return nil
}
