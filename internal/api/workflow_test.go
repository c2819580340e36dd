package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// contactTags is the part of the workflow actions port these tests use:
// people read and tagged through the contacts service (the other actions
// are not called here).
type contactTags struct {
	workflow.Actions
	contacts *contact.Service
}

func (c contactTags) Record(ctx context.Context, object string, id int64) (*workflow.Record, error) {
	p, err := c.contacts.FindContactByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &workflow.Record{Object: object, ID: id, ContactID: p.ID, Name: p.FirstName}, nil
}

func (c contactTags) Tag(ctx context.Context, t workflow.Target, tag string, add bool) (string, error) {
	if _, err := c.contacts.Bulk(ctx, []int64{t.RecordID}, crm.BulkAction{Action: crm.BulkAddTag, Tag: tag}); err != nil {
		return "", err
	}
	return "Added the tag " + tag + ".", nil
}

type workflowEnv struct {
	*env
	disp   *event.Dispatcher
	runner *jobs.Runner
}

func newWorkflowEnv(t *testing.T, db *store.DB) *workflowEnv {
	t.Helper()
	e := newEnv(t, db)
	quiet := slog.New(slog.DiscardHandler)
	check := func(ctx context.Context, r crm.Rule) (crm.Rule, error) {
		var fields []crm.ConditionField
		err := db.Read(ctx, func(tx *store.Tx) error {
			var err error
			fields, err = tx.ConditionFields(ctx)
			return err
		})
		if err != nil {
			return crm.Rule{}, err
		}
		return segment.Validate(r, fields)
	}
	svc := workflow.New(db, workflow.Options{Actions: contactTags{contacts: e.contacts}, Check: check, Logger: quiet})
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Workflows: svc,
		Logger: quiet, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	we := &workflowEnv{env: e, disp: event.NewDispatcher(db, quiet), runner: jobs.NewRunner(db, quiet, jobs.Options{})}
	svc.Subscribe(we.disp)
	svc.RegisterJobs(we.runner)
	we.pump()
	return we
}

func (e *workflowEnv) pump() {
	e.t.Helper()
	for range 10 {
		if err := e.disp.Drain(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		n, err := e.runner.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func TestWorkflowRoutesDocumented(t *testing.T) {
	e := newWorkflowEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range workflowRoutes(e.api) {
		item := e.doc.Paths.Value(strings.TrimPrefix(rt.path(), apiBase))
		if item == nil || item.GetOperation(rt.method()) == nil {
			t.Errorf("%s is not in the OpenAPI document", rt.pattern)
		}
		n++
	}
	if n != 16 {
		t.Fatalf("%d workflow routes", n)
	}
}

func TestWorkflowsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newWorkflowEnv(t, db)
		// A draft may be incomplete; publishing it names each problem.
		var wf workflow.Workflow
		res := e.call(t, "POST", "/api/v1/workflows", e.rw, `{"name": "Welcome", "definition": {"trigger": {"kind": "record_created", "object": "contact"},
			"steps": [{"kind": "award_points", "points": 0}]}}`, http.StatusCreated, &wf)
		if res.Header.Get("Location") != fmt.Sprintf("/api/v1/workflows/%d", wf.ID) || wf.Status != workflow.StatusDraft || !wf.HasChanges {
			t.Fatalf("created: %+v %v", wf, res.Header)
		}
		p := e.do("POST", fmt.Sprintf("/api/v1/workflows/%d/publish", wf.ID), e.rw, `{"version": 1}`).problem(t, http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "steps[0].points" {
			t.Fatalf("publish problem: %+v", p)
		}
		e.do("POST", "/api/v1/workflows", e.rw, `{"name": "", "definition": {"trigger": 3}}`).problem(t, http.StatusUnprocessableEntity)
		e.do("POST", "/api/v1/workflows/check", e.rw, `{"trigger": {"kind": "deal_stage"}, "steps": [{"kind": "add_tag"}]}`).problem(t, http.StatusUnprocessableEntity)
		// A condition on the order that started the run needs an order trigger.
		p = e.do("POST", "/api/v1/workflows/check", e.rw, `{"trigger": {"kind": "deal_won"}, "steps": [{"kind": "branch",
			"if": {"match": "all", "conditions": [{"field": "order.total.IRR", "op": "gte", "value": 5000000}]}, "then": [{"kind": "stop"}]}]}`).problem(t, http.StatusUnprocessableEntity)
		if len(p.Errors) != 1 || p.Errors[0].Field != "steps[0].if.conditions[0].field" {
			t.Fatalf("order condition problem: %+v", p)
		}
		e.call(t, "POST", "/api/v1/workflows/check", e.rw, `{"trigger": {"kind": "order_placed"}, "steps": [{"kind": "branch",
			"if": {"match": "all", "conditions": [{"field": "order.total.IRR", "op": "gte", "value": 5000000}]}, "then": [{"kind": "stop"}]}]}`, http.StatusOK, nil)
		// A stale version is a conflict.
		e.do("PUT", fmt.Sprintf("/api/v1/workflows/%d", wf.ID), e.rw, `{"name": "Welcome", "version": 7}`).problem(t, http.StatusConflict)
		e.call(t, "PUT", fmt.Sprintf("/api/v1/workflows/%d", wf.ID), e.rw, `{"name": "Welcome", "version": 1, "definition": {"trigger": {"kind": "record_created", "object": "contact"},
			"conditions": {"match": "all", "conditions": [{"field": "email", "op": "is_set"}]},
			"steps": [{"kind": "add_tag", "tag": "welcomed"}]}}`, http.StatusOK, &wf)
		e.call(t, "POST", fmt.Sprintf("/api/v1/workflows/%d/publish", wf.ID), e.rw, `{"version": 2}`, http.StatusOK, &wf)
		if wf.Status != workflow.StatusEnabled || wf.Published == nil || wf.Published.Number != 1 || wf.HasChanges {
			t.Fatalf("published: %+v", wf)
		}
		e.do("POST", fmt.Sprintf("/api/v1/workflows/%d/publish", wf.ID), e.ro, ``).problem(t, http.StatusForbidden)

		sara := e.mustContact(t, `{"first_name": "Sara", "emails": [{"value": "sara@example.com"}]}`)
		e.mustContact(t, `{"first_name": "Reza"}`)
		e.pump()
		var runs struct {
			Data []workflow.Run `json:"data"`
			Next *string        `json:"next"`
		}
		e.call(t, "GET", fmt.Sprintf("/api/v1/workflow-runs?workflow_id=%d", wf.ID), e.ro, "", http.StatusOK, &runs)
		if len(runs.Data) != 1 || runs.Data[0].ContactID != sara.ID || runs.Data[0].Status != workflow.RunCompleted {
			t.Fatalf("runs: %+v", runs.Data)
		}
		var run workflow.Run
		e.call(t, "GET", fmt.Sprintf("/api/v1/workflow-runs/%d", runs.Data[0].ID), e.ro, "", http.StatusOK, &run)
		if len(run.Log) != 1 || run.Log[0].Detail != "Added the tag welcomed." {
			t.Fatalf("run: %+v", run)
		}
		got, _ := e.contacts.FindContactByID(context.Background(), sara.ID)
		if len(got.Tags) != 1 || got.Tags[0] != "welcomed" {
			t.Fatalf("tags: %v", got.Tags)
		}
		e.do("POST", fmt.Sprintf("/api/v1/workflow-runs/%d/retry", run.ID), e.rw, "").problem(t, http.StatusConflict)
		e.do("GET", "/api/v1/workflow-runs?status=bogus", e.ro, "").problem(t, http.StatusUnprocessableEntity)

		// By hand: Sara ran already (no re-enrolment), so she is skipped.
		var started workflow.StartResult
		e.call(t, "POST", fmt.Sprintf("/api/v1/workflows/%d/start", wf.ID), e.rw, fmt.Sprintf(`{"record_id": %d}`, sara.ID), http.StatusOK, &started)
		if started.Started != 0 || started.Skipped != 1 {
			t.Fatalf("start: %+v", started)
		}
		e.do("POST", fmt.Sprintf("/api/v1/workflows/%d/start", wf.ID), e.rw, `{"record_id": 999999}`).problem(t, http.StatusUnprocessableEntity)

		e.call(t, "POST", fmt.Sprintf("/api/v1/workflows/%d/disable", wf.ID), e.rw, "", http.StatusOK, &wf)
		if wf.Status != workflow.StatusDisabled {
			t.Fatal("disable")
		}
		var cat WorkflowCatalog
		e.call(t, "GET", "/api/v1/workflows/catalog", e.ro, "", http.StatusOK, &cat)
		if len(cat.TriggerKinds) != len(workflow.TriggerKinds) || len(cat.OrderFields) != 4 {
			t.Fatal("catalog")
		}
		var versions struct {
			Data []workflow.Version `json:"data"`
		}
		e.call(t, "GET", fmt.Sprintf("/api/v1/workflows/%d/versions", wf.ID), e.ro, "", http.StatusOK, &versions)
		if len(versions.Data) != 1 {
			t.Fatal("versions")
		}
		e.call(t, "DELETE", fmt.Sprintf("/api/v1/workflows/%d", wf.ID), e.rw, "", http.StatusNoContent, nil)
		e.do("GET", fmt.Sprintf("/api/v1/workflows/%d", wf.ID), e.ro, "").problem(t, http.StatusNotFound)
	})
}
