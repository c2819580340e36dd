package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/webhook"
)

// webhookEnv is newEnv with webhooks installed and the dispatcher and job
// runner that deliver them.
type webhookEnv struct {
	*env
	disp   *event.Dispatcher
	runner *jobs.Runner
}

func newWebhookEnv(t *testing.T, db *store.DB) *webhookEnv {
	t.Helper()
	e := newEnv(t, db)
	quiet := slog.New(slog.DiscardHandler)
	svc := webhook.New(db, webhook.Options{Logger: quiet})
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Webhooks: svc,
		Logger: quiet, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	we := &webhookEnv{env: e, disp: event.NewDispatcher(db, quiet), runner: jobs.NewRunner(db, quiet, jobs.Options{})}
	svc.Subscribe(we.disp)
	svc.RegisterJobs(we.runner)
	we.pump()
	return we
}

func (e *webhookEnv) pump() {
	e.t.Helper()
	if err := e.disp.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.runner.RunOnce(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func TestWebhookRoutesDocumented(t *testing.T) {
	e := newWebhookEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range webhookRoutes(e.api) {
		item := e.doc.Paths.Value(strings.TrimPrefix(rt.path(), apiBase))
		if item == nil || item.GetOperation(rt.method()) == nil {
			t.Errorf("%s is not in the OpenAPI document", rt.pattern)
		}
		n++
	}
	if n != 21 {
		t.Fatalf("%d webhook routes", n)
	}
}

func TestWebhooksAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newWebhookEnv(t, db)
		var (
			mu  sync.Mutex
			got []*http.Request
		)
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
			io.WriteString(w, "thanks")
		}))
		defer rcv.Close()

		res := e.do("POST", "/api/v1/webhooks", e.rw, `{"url":"`+rcv.URL+`","event_types":["contact.created","Bad Type"]}`)
		pr := res.problem(t, http.StatusUnprocessableEntity)
		if pr.field("url") == "" || pr.field("event_types") == "" {
			t.Fatalf("want url and event_types named: %s", res.Body)
		}
		res = e.do("PUT", "/api/v1/webhooks/settings", e.rw, `{"allowed_hosts":["127.0.0.1","no way!"]}`)
		if res.problem(t, http.StatusUnprocessableEntity).field("allowed_hosts") == "" {
			t.Fatalf("%s", res.Body)
		}
		if res = e.do("PUT", "/api/v1/webhooks/settings", e.rw, `{"allowed_hosts":["127.0.0.1"]}`); res.Status != http.StatusOK {
			t.Fatalf("settings: %d %s", res.Status, res.Body)
		}
		res = e.do("POST", "/api/v1/webhooks", e.rw, `{"name":"Shop","url":"`+rcv.URL+`/in","event_types":["contact.created"]}`)
		if res.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		var made WebhookCreated
		res.JSON(t, &made)
		if !strings.HasPrefix(made.Secret, "whsec_") || made.Webhook.ID == 0 || strings.Contains(string(e.do("GET", fmt.Sprintf("/api/v1/webhooks/%d", made.Webhook.ID), e.ro, "").Body), made.Secret) {
			t.Fatalf("created %+v", made)
		}
		base := fmt.Sprintf("/api/v1/webhooks/%d", made.Webhook.ID)
		if res = e.do("GET", "/api/v1/webhooks", e.ro, ""); res.Status != 200 || !strings.Contains(string(res.Body), `"next":null`) {
			t.Fatalf("list: %s", res.Body)
		}
		if res = e.do("POST", base+"/ping", e.ro, ""); res.Status != http.StatusForbidden {
			t.Fatalf("a read-only token pinged: %d", res.Status)
		}
		if res = e.do("GET", "/api/v1/webhooks/event-types", e.ro, ""); !strings.Contains(string(res.Body), `"deal.stage_changed"`) {
			t.Fatalf("event types: %s", res.Body)
		}

		if res = e.do("POST", "/api/v1/contacts", e.rw, `{"first_name":"Sara","last_name":"Karimi"}`); res.Status != http.StatusCreated {
			t.Fatalf("contact: %d %s", res.Status, res.Body)
		}
		e.pump()
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n != 1 || got[0].Header.Get(webhook.HeaderEvent) != "contact.created" {
			t.Fatalf("%d requests", n)
		}
		var ds list[crm.WebhookDelivery]
		e.do("GET", base+"/deliveries?status=succeeded", e.ro, "").JSON(t, &ds)
		if len(ds.Data) != 1 || ds.Data[0].Attempts != 1 || len(ds.Data[0].Log) != 1 || ds.Data[0].Log[0].Response != "thanks" {
			t.Fatalf("deliveries %+v", ds)
		}
		d := ds.Data[0]
		if res = e.do("GET", base+"/deliveries?status=lost", e.ro, ""); res.problem(t, 422).field("status") == "" {
			t.Fatalf("bad status: %s", res.Body)
		}
		if res = e.do("POST", fmt.Sprintf("%s/deliveries/%d/redeliver", base, d.ID), e.rw, ""); res.Status != http.StatusAccepted {
			t.Fatalf("redeliver: %d %s", res.Status, res.Body)
		}
		if res = e.do("POST", fmt.Sprintf("%s/deliveries/%d/redeliver", base, d.ID), e.rw, ""); res.Status != http.StatusConflict {
			t.Fatalf("redeliver twice: %d %s", res.Status, res.Body)
		}
		if res = e.do("POST", base+"/ping", e.rw, ""); res.Status != http.StatusAccepted {
			t.Fatalf("ping: %d %s", res.Status, res.Body)
		}
		e.pump()
		var one crm.WebhookDelivery
		e.do("GET", fmt.Sprintf("%s/deliveries/%d", base, d.ID), e.ro, "").JSON(t, &one)
		if one.Attempts != 2 || one.Status != crm.WebhookSucceeded || len(one.Log) != 2 {
			t.Fatalf("after redelivery %+v", one)
		}
		var sec WebhookSecret
		if res = e.do("POST", base+"/secret", e.rw, ""); res.Status != 200 {
			t.Fatalf("rotate: %d", res.Status)
		}
		res.JSON(t, &sec)
		if sec.Secret == made.Secret || !strings.HasPrefix(sec.Secret, "whsec_") {
			t.Fatal("secret not rotated")
		}
		res = e.do("PUT", base, e.rw, `{"name":"Shop","url":"`+rcv.URL+`/in","event_types":["contact.*"],"active":false}`)
		var upd crm.WebhookSubscription
		res.JSON(t, &upd)
		if res.Status != 200 || upd.Active || upd.EventTypes[0] != "contact.*" {
			t.Fatalf("update: %s", res.Body)
		}
		if res = e.do("DELETE", base, e.rw, ""); res.Status != http.StatusNoContent {
			t.Fatalf("delete: %d", res.Status)
		}
		if res = e.do("GET", base, e.ro, ""); res.Status != http.StatusNotFound {
			t.Fatalf("after delete: %d", res.Status)
		}

		// Inbound hooks.
		if res = e.do("POST", "/api/v1/inbound-hooks", e.rw, `{"name":""}`); res.problem(t, 422).field("name") == "" {
			t.Fatalf("%s", res.Body)
		}
		res = e.do("POST", "/api/v1/inbound-hooks", e.rw, `{"name":"Shop orders"}`)
		var hook InboundHookCreated
		res.JSON(t, &hook)
		if res.Status != http.StatusCreated || !strings.HasPrefix(hook.Path, "/api/v1/hooks/in/pvh_") {
			t.Fatalf("inbound: %d %s", res.Status, res.Body)
		}
		if res = e.do("POST", hook.Path, "", `{"order":17}`); res.Status != http.StatusAccepted {
			t.Fatalf("receive: %d %s", res.Status, res.Body)
		}
		if res = e.do("POST", hook.Path+"x", "", `{"order":17}`); res.Status != http.StatusNotFound {
			t.Fatalf("wrong token: %d %s", res.Status, res.Body)
		}
		if res = e.do("POST", hook.Path, "", `{"order":`); res.problem(t, 422).field("body") == "" {
			t.Fatalf("bad JSON: %s", res.Body)
		}
		if res = e.do("POST", hook.Path, "", `hello`, "Content-Type", "text/plain"); res.Status != http.StatusUnsupportedMediaType {
			t.Fatalf("text: %d %s", res.Status, res.Body)
		}
		var rs list[crm.InboundReceipt]
		e.do("GET", fmt.Sprintf("/api/v1/inbound-hooks/%d/receipts", hook.Hook.ID), e.ro, "").JSON(t, &rs)
		if len(rs.Data) != 1 || rs.Data[0].EventID == 0 {
			t.Fatalf("receipts %+v", rs)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/inbound-hooks/%d/token", hook.Hook.ID), e.rw, "")
		var rot InboundHookCreated
		res.JSON(t, &rot)
		if res = e.do("POST", hook.Path, "", `{}`); res.Status != http.StatusNotFound {
			t.Fatalf("old token: %d", res.Status)
		}
		if res = e.do("POST", rot.Path, "", `{}`); res.Status != http.StatusAccepted {
			t.Fatalf("new token: %d", res.Status)
		}
		_ = time.Second
	})
}
