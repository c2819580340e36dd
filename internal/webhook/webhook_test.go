package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/webhook"
)

func TestDeliverySignedAndLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{})
		rcv := newReceiver(t)
		w, secret := f.subscribe(rcv.url(), "contact.created", "deal.*")
		if !strings.HasPrefix(secret, "whsec_") || w.SecretHint != secret[:10] {
			t.Fatalf("secret %q hint %q", secret, w.SecretHint)
		}
		ev := f.emit("contact.created", 42, map[string]string{"name": "Sara"})
		f.emit("ticket.created", 42, nil) // not subscribed
		f.emit("deal.stage_changed", 7, nil)
		f.pump()
		got := rcv.requests()
		if len(got) != 2 {
			t.Fatalf("got %d requests, want 2 (contact.created, deal.stage_changed)", len(got))
		}
		r := got[0]
		if err := webhook.Verify(secret, r.header.Get(webhook.HeaderTimestamp), r.header.Get(webhook.HeaderSignature), r.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("signature does not verify: %v", err)
		}
		tampered := []byte(strings.Replace(string(r.body), "Sara", "Sama", 1))
		if err := webhook.Verify(secret, r.header.Get(webhook.HeaderTimestamp), r.header.Get(webhook.HeaderSignature), tampered, time.Now(), 5*time.Minute); err == nil {
			t.Fatal("a tampered body verified")
		}
		if err := webhook.Verify("whsec_other", r.header.Get(webhook.HeaderTimestamp), r.header.Get(webhook.HeaderSignature), r.body, time.Now(), 5*time.Minute); err == nil {
			t.Fatal("another secret verified")
		}
		if err := webhook.Verify(secret, r.header.Get(webhook.HeaderTimestamp), r.header.Get(webhook.HeaderSignature), r.body, time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
			t.Fatal("a replay outside the window verified")
		}
		var p webhook.Payload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.ID != ev.ID || p.Type != "contact.created" || p.Subject != (webhook.Subject{"contact", 42}) || p.ContactID != 42 || string(p.Data) != `{"name":"Sara"}` {
			t.Fatalf("payload %+v data %s", p, p.Data)
		}
		if r.header.Get(webhook.HeaderEventID) != strconv.FormatInt(ev.ID, 10) || r.header.Get(webhook.HeaderEvent) != "contact.created" ||
			r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", r.header)
		}
		ds := f.deliveries(w.ID)
		if len(ds) != 2 {
			t.Fatalf("%d deliveries", len(ds))
		}
		d := ds[1] // newest first
		if d.Status != crm.WebhookSucceeded || d.Attempts != 1 || d.StatusCode != 200 || len(d.Log) != 1 ||
			d.Log[0].Response != "answer 200" || d.Log[0].StatusCode != 200 || r.header.Get(webhook.HeaderDelivery) != strconv.FormatInt(d.ID, 10) {
			t.Fatalf("delivery %+v log %+v", d, d.Log)
		}
		if f.pump() != 0 || len(rcv.requests()) != 2 {
			t.Fatal("something was sent twice")
		}
	})
}

func TestRetriesWithBackoff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{BackoffBase: time.Minute, Timeout: 300 * time.Millisecond, MaxAttempts: 6})
		rcv := newReceiver(t, 500, 408, 429, 503, 200)
		rcv.retryAfter = "7"
		w, _ := f.subscribe(rcv.url(), "*")
		f.emit("order.created", 1, nil)
		f.pump()
		id := f.deliveries(w.ID)[0].ID
		// 1: 500 → retry after 1 min ±20%; 2: 408 → 4 min; 3: 429 → Retry-After 7 s; 4: 503 → 64 min; 5: 200.
		want := []struct{ lo, hi time.Duration }{{48 * time.Second, 72 * time.Second}, {192 * time.Second, 288 * time.Second},
			{7 * time.Second, 7 * time.Second}, {3072 * time.Second, 4608 * time.Second}}
		for i, w2 := range want {
			d := f.delivery(w.ID, id)
			if d.Status != crm.WebhookPending || d.Attempts != i+1 || d.NextAttemptAt == nil {
				t.Fatalf("after attempt %d: %+v", i+1, d)
			}
			wait := d.NextAttemptAt.Sub(f.clock())
			if wait < w2.lo || wait > w2.hi {
				t.Fatalf("attempt %d: next in %v, want %v to %v", i+1, wait, w2.lo, w2.hi)
			}
			f.advance(wait - time.Second)
			if f.pump() != 0 {
				t.Fatalf("attempt %d: the retry ran before it was due", i+1)
			}
			f.advance(time.Second)
			if f.pump() != 1 {
				t.Fatalf("attempt %d: the retry did not run when due", i+1)
			}
		}
		d := f.delivery(w.ID, id)
		if d.Status != crm.WebhookSucceeded || d.Attempts != 5 || len(d.Log) != 5 || len(rcv.requests()) != 5 {
			t.Fatalf("final %+v, %d requests", d, len(rcv.requests()))
		}
		codes := []int{500, 408, 429, 503, 200}
		for i, a := range d.Log {
			if a.StatusCode != codes[i] || a.Attempt != i+1 || (a.RetryAt == nil) != (i == 4) {
				t.Fatalf("log %d: %+v", i, a)
			}
		}
		seen := map[string]bool{}
		for _, r := range rcv.requests() {
			seen[r.header.Get(webhook.HeaderDelivery)] = true
		}
		if len(seen) != 1 {
			t.Fatalf("retries used %d delivery ids", len(seen))
		}
	})
}

func TestTimeoutRetriesAndGivesUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{BackoffBase: time.Second, Timeout: 100 * time.Millisecond, MaxAttempts: 2})
		rcv := newReceiver(t)
		rcv.delay = time.Second
		w, _ := f.subscribe(rcv.url(), "*")
		f.emit("order.created", 1, nil)
		f.pump()
		d := f.deliveries(w.ID)[0]
		if d.Status != crm.WebhookPending || d.Attempts != 1 || d.StatusCode != 0 || !strings.Contains(d.Log[0].Error, "timeout") {
			t.Fatalf("after a timeout: %+v %+v", d, d.Log)
		}
		f.advance(2 * time.Second)
		f.pump()
		d = f.delivery(w.ID, d.ID)
		if d.Status != crm.WebhookFailed || d.Attempts != 2 || d.NextAttemptAt != nil {
			t.Fatalf("after the last attempt: %+v", d)
		}
	})
}

func TestNoRetryOnClientErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{BackoffBase: time.Second})
		codes := []int{400, 401, 404, 410, 422, 301}
		subs := map[int64]int{}
		rcvs := map[int64]*receiver{}
		for _, code := range codes {
			rcv := newReceiver(t, code)
			w, _ := f.subscribe(rcv.url(), "*")
			subs[w.ID], rcvs[w.ID] = code, rcv
		}
		f.emit("order.created", 1, nil)
		f.pump()
		f.advance(time.Hour)
		f.pump()
		for id, code := range subs {
			d := f.deliveries(id)[0]
			if d.Status != crm.WebhookFailed || d.Attempts != 1 || d.StatusCode != code || d.NextAttemptAt != nil || len(rcvs[id].requests()) != 1 {
				t.Errorf("%d: %+v, %d requests", code, d, len(rcvs[id].requests()))
			}
		}
	})
}

// TestExactlyOnceAcrossRestart stops the worker while deliveries are
// queued and starts a new one: every event reaches the receiver once.
func TestExactlyOnceAcrossRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{})
		rcv := newReceiver(t)
		rcv.delay = 20 * time.Millisecond
		w, _ := f.subscribe(rcv.url(), "contact.*")
		const n = 30
		for i := range n {
			f.emit("contact.created", int64(i+1), nil)
		}
		if err := f.disp.Drain(sys); err != nil {
			t.Fatal(err)
		}
		if err := f.disp.Drain(sys); err != nil { // a second pass adds nothing
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(sys)
		done := make(chan struct{})
		go func() { f.runner.Run(ctx); close(done) }()
		for len(rcv.requests()) < 5 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel() // a delivery in flight finishes and is recorded
		<-done
		if k := len(rcv.requests()); k >= n {
			t.Fatalf("the worker sent everything (%d) before it stopped", k)
		}
		second := f.newRunner() // a new process
		ctx, cancel = context.WithCancel(sys)
		done = make(chan struct{})
		go func() { second.Run(ctx); close(done) }()
		deadline := time.Now().Add(20 * time.Second)
		for len(rcv.requests()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // time for a duplicate to show
		cancel()
		<-done
		count := map[string]int{}
		events := map[string]bool{}
		for _, r := range rcv.requests() {
			count[r.header.Get(webhook.HeaderDelivery)]++
			events[r.header.Get(webhook.HeaderEventID)] = true
		}
		if len(count) != n || len(events) != n || len(rcv.requests()) != n {
			t.Fatalf("%d requests, %d deliveries, %d events; want %d of each", len(rcv.requests()), len(count), len(events), n)
		}
		for id, c := range count {
			if c != 1 {
				t.Errorf("delivery %s sent %d times", id, c)
			}
		}
		for _, d := range f.deliveries(w.ID) {
			if d.Status != crm.WebhookSucceeded || d.Attempts != 1 {
				t.Errorf("delivery %d: %s after %d attempts", d.ID, d.Status, d.Attempts)
			}
		}
	})
}

func TestRedeliverAndPing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{})
		rcv := newReceiver(t, 404)
		w, secret := f.subscribe(rcv.url(), "*")
		f.emit("ticket.solved", 3, map[string]int{"ticket_id": 9})
		f.pump()
		d := f.deliveries(w.ID)[0]
		if d.Status != crm.WebhookFailed {
			t.Fatalf("%+v", d)
		}
		if _, err := f.svc.Redeliver(f.as(), w.ID+1, d.ID); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("redeliver through another subscription: %v", err)
		}
		re, err := f.svc.Redeliver(f.as(), w.ID, d.ID)
		if err != nil || re.Status != crm.WebhookPending || !re.Manual {
			t.Fatalf("redeliver: %+v %v", re, err)
		}
		if _, err := f.svc.Redeliver(f.as(), w.ID, d.ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("redeliver twice: %v", err)
		}
		f.pump()
		got := rcv.requests()
		if len(got) != 2 || string(got[0].body) != string(got[1].body) || got[0].header.Get(webhook.HeaderDelivery) != got[1].header.Get(webhook.HeaderDelivery) {
			t.Fatalf("redelivery sent something else: %d requests", len(got))
		}
		d = f.delivery(w.ID, d.ID)
		if d.Status != crm.WebhookSucceeded || d.Attempts != 2 || len(d.Log) != 2 || d.Log[1].StatusCode != 200 {
			t.Fatalf("after redelivery: %+v", d)
		}
		// A ping reaches an inactive subscription too, signed.
		if _, err := f.svc.SetActive(f.as(), w.ID, false); err != nil {
			t.Fatal(err)
		}
		ping, err := f.svc.Ping(f.as(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		f.pump()
		got = rcv.requests()
		last := got[len(got)-1]
		if len(got) != 3 || last.header.Get(webhook.HeaderEvent) != "webhook.ping" || last.header.Get(webhook.HeaderEventID) != "0" ||
			webhook.Verify(secret, last.header.Get(webhook.HeaderTimestamp), last.header.Get(webhook.HeaderSignature), last.body, time.Now(), time.Minute) != nil {
			t.Fatalf("ping: %d requests, last %v", len(got), last.header)
		}
		if p := f.delivery(w.ID, ping.ID); p.Status != crm.WebhookSucceeded || p.EventID != 0 {
			t.Fatalf("ping delivery %+v", p)
		}
		// A rotated secret signs from now on.
		secret2, err := f.svc.RotateSecret(f.as(), w.ID)
		if err != nil || secret2 == secret {
			t.Fatal(err)
		}
		if _, err := f.svc.Ping(f.as(), w.ID); err != nil {
			t.Fatal(err)
		}
		f.pump()
		got = rcv.requests()
		last = got[len(got)-1]
		if webhook.Verify(secret2, last.header.Get(webhook.HeaderTimestamp), last.header.Get(webhook.HeaderSignature), last.body, time.Now(), time.Minute) != nil {
			t.Fatal("not signed with the new secret")
		}
	})
}

func TestAutoDisableAndNotice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{DisableAfter: 3, MaxAttempts: 2, BackoffBase: time.Second})
		rcv := newReceiver(t, 500, 500, 400, 200, 400, 500, 500, 400)
		w, _ := f.subscribe(rcv.url(), "order.*")
		deliver := func() {
			f.emit("order.created", 1, nil)
			f.pump()
			f.advance(2 * time.Second)
			f.pump()
		}
		deliver() // 500, 500: failed (1)
		deliver() // 400: failed (2)
		deliver() // 200: the count starts again
		if sub, _ := f.svc.Get(f.as(), w.ID); !sub.Active || sub.Failures != 0 || sub.LastSuccess == nil {
			t.Fatalf("after a success: %+v", sub)
		}
		deliver() // 400 (1)
		deliver() // 500, 500 (2)
		f.emit("order.created", 2, nil)
		f.emit("order.created", 3, nil)
		f.pump() // 400 (3): off; the other waits
		sub, _ := f.svc.Get(f.as(), w.ID)
		if sub.Active || sub.DisabledAt == nil || sub.Failures != 3 {
			t.Fatalf("not switched off: %+v", sub)
		}
		ds := f.deliveries(w.ID)
		if ds[0].Status != crm.WebhookSkipped {
			t.Fatalf("the delivery waiting was %s, want skipped", ds[0].Status)
		}
		n := len(rcv.requests())
		f.emit("order.created", 4, nil)
		f.pump()
		if len(rcv.requests()) != n || len(f.deliveries(w.ID)) != len(ds) {
			t.Fatal("a disabled subscription got a delivery")
		}
		var evs []string
		err := db.Read(sys, func(tx *store.Tx) error {
			es, _, err := tx.FindEventsBySubject(sys, "webhook", w.ID, crm.Page{Limit: 10})
			for _, e := range es {
				evs = append(evs, e.Type)
			}
			return err
		})
		if err != nil || len(evs) != 1 || evs[0] != crm.EventWebhookDisabled {
			t.Fatalf("events %v %v", evs, err)
		}
		var notes []*crm.Notification
		db.Read(sys, func(tx *store.Tx) error {
			notes, _, err = tx.ListNotifications(sys, f.admin.ID, true, crm.Page{Limit: 10})
			return err
		})
		if len(notes) != 1 || notes[0].Kind != "webhook_disabled" || notes[0].Link != fmt.Sprintf("/settings/webhooks/%d", w.ID) {
			t.Fatalf("notifications %+v", notes)
		}
		sub, err = f.svc.SetActive(f.as(), w.ID, true)
		if err != nil || !sub.Active || sub.Failures != 0 || sub.DisabledAt != nil {
			t.Fatalf("re-enable: %+v %v", sub, err)
		}
	})
}

func TestTargetRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{})
		for _, u := range []string{"http://example.com/x", "https://10.1.2.3/x", "https://192.168.1.1/", "https://169.254.169.254/latest/meta-data",
			"https://[::1]/x", "https://localhost/x", "https://printer.local/x", "https://intranet/x", "ftp://example.com/", "https://u:p@example.com/",
			"https://100.64.0.1/", "https://[::ffff:10.0.0.1]/", "https://0.0.0.0/", "example.com/x", ""} {
			_, _, err := f.svc.Create(f.as(), crm.WebhookInput{URL: u, EventTypes: []string{"*"}})
			if crm.ErrorFields(err)["url"] == "" {
				t.Errorf("%q: %v, want an error on url", u, err)
			}
		}
		if _, _, err := f.svc.Create(f.as(), crm.WebhookInput{URL: "https://hooks.example.com/pivand", EventTypes: []string{"deal.*", "ticket.solved"}}); err != nil {
			t.Fatal(err)
		}
		_, _, err := f.svc.Create(f.as(), crm.WebhookInput{URL: "https://hooks.example.com/", EventTypes: []string{"Deal", "deal.*.x"}})
		if crm.ErrorFields(err)["event_types"] == "" {
			t.Fatalf("bad event types: %v", err)
		}
		if _, err := f.svc.SaveSettings(f.as(), crm.WebhookSettings{AllowedHosts: []string{"10.0.0.0/8, erp.lan", "not a host!"}}); crm.ErrorFields(err)["allowed_hosts"] == "" {
			t.Fatalf("bad host accepted: %v", err)
		}
		if _, err := f.svc.SaveSettings(f.as(), crm.WebhookSettings{AllowedHosts: []string{"10.0.0.0/8, erp.lan"}}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"http://10.1.2.3:8080/hook", "http://erp.lan/hook", "https://erp.lan/hook"} {
			if _, _, err := f.svc.Create(f.as(), crm.WebhookInput{URL: u, EventTypes: []string{"*"}}); err != nil {
				t.Errorf("%s with the host allowed: %v", u, err)
			}
		}
		// Checked again when sending: a host no longer allowed is refused, without retries.
		if _, err := f.svc.SaveSettings(f.as(), crm.WebhookSettings{AllowedHosts: []string{"127.0.0.1"}}); err != nil {
			t.Fatal(err)
		}
		rcv := newReceiver(t)
		w, _ := f.subscribe(rcv.url(), "contact.created")
		if _, err := f.svc.SaveSettings(f.as(), crm.WebhookSettings{}); err != nil {
			t.Fatal(err)
		}
		f.emit("contact.created", 1, nil)
		f.pump()
		d := f.deliveries(w.ID)[0]
		if d.Status != crm.WebhookFailed || d.Attempts != 1 || !strings.Contains(d.Log[0].Error, "not allowed") || len(rcv.requests()) != 0 {
			t.Fatalf("delivery to a host no longer allowed: %+v %+v", d, d.Log)
		}
		// Only administrators manage webhooks.
		sales := crm.NewContextWithUser(sys, &crm.User{ID: 99, Role: crm.RoleSales, Active: true})
		if _, err := f.svc.List(sales); crm.ErrorCode(err) != crm.EFORBIDDEN {
			t.Fatalf("sales user: %v", err)
		}
	})
}

func TestInboundHook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{InboundLimit: 1000})
		if _, _, err := f.svc.CreateInbound(f.as(), crm.InboundHookInput{}); crm.ErrorFields(err)["name"] == "" {
			t.Fatalf("no name: %v", err)
		}
		h, token, err := f.svc.CreateInbound(f.as(), crm.InboundHookInput{Name: "Shop"})
		if err != nil || !strings.HasPrefix(token, "pvh_"+h.TokenPrefix+"_") {
			t.Fatalf("%+v %q %v", h, token, err)
		}
		receive := func(tok, ct, body string) (*crm.InboundReceipt, error) {
			return f.svc.Receive(sys, tok, ct, strings.NewReader(body), "203.0.113.9")
		}
		r, err := receive(token, "application/json; charset=utf-8", `{"order": 17, "total": 250000}`)
		if err != nil {
			t.Fatal(err)
		}
		var ev crm.Event
		db.Read(sys, func(tx *store.Tx) error {
			es, _, err := tx.FindEventsBySubject(sys, "inbound_hook", h.ID, crm.Page{Limit: 5})
			if len(es) == 1 {
				ev = es[0]
			}
			return err
		})
		var p struct {
			HookID    int64           `json:"hook_id"`
			ReceiptID int64           `json:"receipt_id"`
			Body      json.RawMessage `json:"body"`
		}
		json.Unmarshal(ev.Payload, &p)
		if ev.Type != crm.EventWebhookReceived || ev.ID != r.EventID || p.HookID != h.ID || p.ReceiptID != r.ID || !sameJSON(p.Body, `{"order":17,"total":250000}`) {
			t.Fatalf("event %+v payload %s", ev, ev.Payload)
		}
		wrong := token[:len(token)-1] + "x"
		if token[len(token)-1] == 'x' {
			wrong = token[:len(token)-1] + "y"
		}
		for name, c := range map[string]struct {
			tok, ct, body string
			code, field   string
		}{
			"wrong secret":  {wrong, "application/json", `{}`, crm.ENOTFOUND, ""},
			"no token":      {"", "application/json", `{}`, crm.ENOTFOUND, ""},
			"junk token":    {"pvh_../../etc", "application/json", `{}`, crm.ENOTFOUND, ""},
			"not json type": {token, "text/plain", `{}`, crm.EINVALID, "content_type"},
			"bad json":      {token, "application/json", `{"a": }`, crm.EINVALID, "body"},
			"scalar":        {token, "application/json", `42`, crm.EINVALID, "body"},
			"two documents": {token, "application/json", `{} {}`, crm.EINVALID, "body"},
			"too large":     {token, "application/json", `{"a":"` + strings.Repeat("x", 1000) + `"}`, crm.ETOOLARGE, ""},
		} {
			_, err := receive(c.tok, c.ct, c.body)
			if crm.ErrorCode(err) != c.code || c.field != "" && crm.ErrorFields(err)[c.field] == "" {
				t.Errorf("%s: %v", name, err)
			}
		}
		receipts, _, err := f.svc.Receipts(f.as(), h.ID, crm.Page{})
		if err != nil || len(receipts) != 1 || receipts[0].RemoteIP != "203.0.113.9" {
			t.Fatalf("receipts %+v %v", receipts, err)
		}
		off := false
		if _, err := f.svc.UpdateInbound(f.as(), h.ID, crm.InboundHookInput{Name: "Shop", Active: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := receive(token, "application/json", `{}`); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("switched off: %v", err)
		}
		on := true
		f.svc.UpdateInbound(f.as(), h.ID, crm.InboundHookInput{Name: "Shop", Active: &on})
		_, token2, err := f.svc.RotateInbound(f.as(), h.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := receive(token, "application/json", `{}`); crm.ErrorCode(err) != crm.ENOTFOUND {
			t.Fatalf("old token after rotation: %v", err)
		}
		if _, err := receive(token2, "application/json", `[1,2]`); err != nil {
			t.Fatalf("new token: %v", err)
		}
		if hook, _ := f.svc.InboundHook(f.as(), h.ID); hook.Received != 2 || hook.LastAt == nil {
			t.Fatalf("hook counts %+v", hook)
		}
	})
}

// TestInboundToOutbound: a document received is an event like any other,
// so a subscription to webhook.received gets it.
func TestInboundToOutbound(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, webhook.Options{})
		rcv := newReceiver(t)
		f.subscribe(rcv.url(), "webhook.*")
		_, token, _ := f.svc.CreateInbound(f.as(), crm.InboundHookInput{Name: "Shop"})
		if _, err := f.svc.Receive(context.Background(), token, "application/json", strings.NewReader(`{"x":1}`), ""); err != nil {
			t.Fatal(err)
		}
		f.pump()
		got := rcv.requests()
		if len(got) != 1 || got[0].header.Get(webhook.HeaderEvent) != "webhook.received" || !strings.Contains(strings.ReplaceAll(string(got[0].body), " ", ""), `"body":{"x":1}`) {
			t.Fatalf("%d requests", len(got))
		}
		_ = http.StatusOK
	})
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	json.Unmarshal(a, &x)
	json.Unmarshal([]byte(b), &y)
	return fmt.Sprint(x) == fmt.Sprint(y)
}
