package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/workflow"
)

// Workflows (internal/workflow): drafts, published versions, switching on
// and off, manual starts, runs with their step log, retrying failed runs.
// The routes exist when the API was given the service.

func init() {
	moduleRoutes = append(moduleRoutes, workflowRoutes)
	tagDescriptions["workflows"] = "Automations: a trigger (an event about a record, a schedule, a date, an inbound hook or a manual start), conditions in the segment condition language re-checked at every step, and steps (tasks, assignment, fields, tags, email/SMS, lists, club points, tickets, webhook calls, waits, branches) run as durable jobs. Editing changes the draft; publishing makes an immutable version that new runs start with. See docs/workflows.md."
	for k, v := range map[string]string{
		"Workflow":        "A workflow: its draft (what is edited), its published version (what new runs start with; null before the first publish), draft_changed when they differ, status draft, enabled or disabled, and version, the lock to send back when changing it.",
		"WorkflowInput":   "A workflow's name, description and draft definition (an object of the Definition schema); version is the one read (409 when it changed since; 0 skips the check). A draft may be incomplete; publishing checks it whole.",
		"Definition":      "trigger, conditions (optional: a group of the segment condition language, on the run's person; with an order_placed trigger, or record_created of orders, also on the order that started the run: order.total.<CUR> (like order.total.IRR: minor units, met only by orders in that currency), order.channel, order.source, order.lines — elsewhere they are 422 naming the condition, e.g. steps[0].if.conditions[0].field), steps (each with kind and the fields of its kind; branch steps hold then and else), reenrol and max_runs_per_day. Problems are named by path: steps[2].points, steps[1].then[0].tag, trigger.stage_id.",
		"WorkflowRun":     "One record going through one published version: status active, completed, exited (its person stopped meeting the conditions), failed (retryable) or cancelled; reason says why it started; next_step is the path of the step due; log (on GET of one run) lists each step run.",
		"RunStep":         "One step of a run: its path in the version (2, 1.then.0), kind, status (pending, done, skipped, failed), what it did or why not, and its attempts.",
		"StartInput":      "record_id (a record of the type the trigger names) or segment_id (a segment or static list: every person in it; workflows about people only).",
		"StartResult":     "How many runs started and how many records were skipped (already in an active run, ran before without re-enrolment, over the daily limit, or not meeting the conditions).",
		"WorkflowCatalog": "What a definition may use: objects, trigger and step kinds, the fields field_changed triggers watch and update_field steps set per object, date fields, wait units, the conditions on the order that started the run (order_fields; order.total takes the currency: order.total.IRR) and the limits.",
		"PublishInput":    "version: the workflow's version read (409 when it changed since; 0 skips the check).",
	} {
		schemaDescriptions[k] = v
	}
}

// WorkflowInput documents the body of create and update (decoded into
// workflow.Input).
type WorkflowInput struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Definition  map[string]any `json:"definition"` // a Definition (the schema of the responses)
	Version     int64          `json:"version,omitempty"`
}

// WorkflowRun is a workflow.Run under a name of its own (the analytics
// module's runs are "Run").
type WorkflowRun workflow.Run

func asRun(r *workflow.Run, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return (*WorkflowRun)(r), nil
}

// PublishInput is the body of publish.
type PublishInput struct {
	Version int64 `json:"version"`
}

// WorkflowCatalog lists the kinds and fields definitions may use.
type WorkflowCatalog struct {
	Objects      []string            `json:"objects"`
	TriggerKinds []string            `json:"trigger_kinds"`
	StepKinds    []string            `json:"step_kinds"`
	ChangeFields map[string][]string `json:"change_fields"`
	UpdateFields map[string][]string `json:"update_fields"`
	DateFields   []string            `json:"date_fields"`
	WaitUnits    []string            `json:"wait_units"`
	OrderFields  []string            `json:"order_fields"` // conditions on the order that started the run (order triggers)
	MaxSteps     int                 `json:"max_steps"`
	MaxDepth     int                 `json:"max_depth"`
}

func workflowRoutes(a *API) []route {
	if a.workflows == nil {
		return nil
	}
	perm := crm.PermAutomation
	runStatus := param{Name: "status", Enum: []string{workflow.RunActive, workflow.RunCompleted, workflow.RunExited, workflow.RunFailed, workflow.RunCancelled},
		Description: "Only runs in this state."}
	return []route{
		{"GET /api/v1/workflows", a.handleWorkflows, op{ID: "listWorkflows", Tag: "workflows", Perm: perm, Paged: true,
			Summary: "List workflows", Out: list[*workflow.Workflow]{}}},
		{"POST /api/v1/workflows", a.handleWorkflowCreate, op{ID: "createWorkflow", Tag: "workflows", Perm: perm, Status: http.StatusCreated,
			Summary: "Make a workflow (a draft)", In: WorkflowInput{}, Out: &workflow.Workflow{}}},
		{"GET /api/v1/workflows/catalog", a.handleWorkflowCatalog, op{ID: "getWorkflowCatalog", Tag: "workflows", Perm: perm,
			Summary: "The objects, trigger and step kinds and fields a definition may use", Out: WorkflowCatalog{}}},
		{"POST /api/v1/workflows/check", a.handleWorkflowCheck, op{ID: "checkWorkflow", Tag: "workflows", Perm: perm,
			Summary: "Check a definition without saving it", Description: "Answers the definition as it would be published (conditions normalised), or 422 naming each problem by its path.",
			In: map[string]any{}, Out: &workflow.Definition{}}},
		{"GET /api/v1/workflows/{id}", a.handleWorkflow, op{ID: "getWorkflow", Tag: "workflows", Perm: perm,
			Summary: "Read a workflow with its draft and published version", Out: &workflow.Workflow{}}},
		{"PUT /api/v1/workflows/{id}", a.handleWorkflowUpdate, op{ID: "updateWorkflow", Tag: "workflows", Perm: perm,
			Summary: "Change a workflow's name, description and draft (runs and published versions are untouched)", In: WorkflowInput{}, Out: &workflow.Workflow{}}},
		{"DELETE /api/v1/workflows/{id}", a.handleWorkflowDelete, op{ID: "deleteWorkflow", Tag: "workflows", Perm: perm, Status: http.StatusNoContent,
			Summary: "Delete a workflow with its versions, runs and their logs"}},
		{"POST /api/v1/workflows/{id}/publish", a.handleWorkflowPublish, op{ID: "publishWorkflow", Tag: "workflows", Perm: perm,
			Summary: "Publish the draft as a new version and switch the workflow on", Description: "Runs in flight keep the version they started with. An incomplete draft is 422 naming each problem.",
			In: PublishInput{}, Out: &workflow.Workflow{}}},
		{"POST /api/v1/workflows/{id}/enable", a.handleWorkflowEnable, op{ID: "enableWorkflow", Tag: "workflows", Perm: perm,
			Summary: "Switch a published workflow on", Out: &workflow.Workflow{}}},
		{"POST /api/v1/workflows/{id}/disable", a.handleWorkflowDisable, op{ID: "disableWorkflow", Tag: "workflows", Perm: perm,
			Summary: "Switch a workflow off: it starts no runs (runs in flight go on)", Out: &workflow.Workflow{}}},
		{"GET /api/v1/workflows/{id}/versions", a.handleWorkflowVersions, op{ID: "listWorkflowVersions", Tag: "workflows", Perm: perm, Paged: true,
			Summary: "A workflow's published versions, newest first", Out: list[*workflow.Version]{}}},
		{"POST /api/v1/workflows/{id}/start", a.handleWorkflowStart, op{ID: "startWorkflow", Tag: "workflows", Perm: perm,
			Summary: "Start an enabled workflow by hand on a record or on every person of a segment", In: workflow.StartInput{}, Out: &workflow.StartResult{}}},
		{"GET /api/v1/workflow-runs", a.handleWorkflowRuns, op{ID: "listWorkflowRuns", Tag: "workflows", Perm: perm, Paged: true,
			Query: []param{runStatus, {Name: "workflow_id", Type: "integer", Description: "Only this workflow's runs."},
				{Name: "contact_id", Type: "integer", Description: "Only runs about this person."}},
			Summary: "Runs, newest first (status=failed is the failed-runs list)", Out: list[*WorkflowRun]{}}},
		{"GET /api/v1/workflow-runs/{id}", a.handleWorkflowRun, op{ID: "getWorkflowRun", Tag: "workflows", Perm: perm,
			Summary: "Read a run with its step log", Out: &WorkflowRun{}}},
		{"POST /api/v1/workflow-runs/{id}/retry", a.handleWorkflowRetry, op{ID: "retryWorkflowRun", Tag: "workflows", Perm: perm,
			Summary: "Run a failed run's failed step again", Description: "409 when the run is not failed, or the record is in another active run of the workflow.",
			Out: &WorkflowRun{}}},
		{"POST /api/v1/workflow-runs/{id}/cancel", a.handleWorkflowCancel, op{ID: "cancelWorkflowRun", Tag: "workflows", Perm: perm,
			Summary: "Stop an active or failed run", Out: &WorkflowRun{}}},
	}
}

func (a *API) handleWorkflows(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ws, next, err := a.workflows.List(r.Context(), page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ws, next)
}

func (a *API) handleWorkflowCreate(w http.ResponseWriter, r *http.Request) {
	var in workflow.Input
	withCreate(a, w, r, &in, "/workflows", func() (any, int64, error) {
		wf, err := a.workflows.Create(r.Context(), in)
		if err != nil {
			return nil, 0, err
		}
		return wf, wf.ID, nil
	})
}

func (a *API) handleWorkflowCatalog(w http.ResponseWriter, r *http.Request) {
	if err := crm.Authorize(r.Context(), crm.PermAutomation, false); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, WorkflowCatalog{Objects: workflow.Objects, TriggerKinds: workflow.TriggerKinds, StepKinds: workflow.StepKinds,
		ChangeFields: workflow.ChangeFields, UpdateFields: workflow.UpdateFields, DateFields: workflow.DateFieldNames, WaitUnits: workflow.WaitUnits,
		OrderFields: []string{workflow.OrderFieldTotal + ".<CUR>", workflow.OrderFieldChannel, workflow.OrderFieldSource, workflow.OrderFieldLines},
		MaxSteps:    workflow.MaxSteps, MaxDepth: workflow.MaxDepth})
}

func (a *API) handleWorkflowCheck(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.workflows.Check(r.Context(), raw)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, d)
}

func (a *API) handleWorkflow(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.workflows.Get(r.Context(), id) })
}

func (a *API) handleWorkflowUpdate(w http.ResponseWriter, r *http.Request) {
	var in workflow.Input
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.workflows.Update(r.Context(), id, in) })
}

func (a *API) handleWorkflowDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.workflows.Delete(r.Context(), id) })
}

func (a *API) handleWorkflowPublish(w http.ResponseWriter, r *http.Request) {
	var in PublishInput
	if r.ContentLength == 0 {
		withID(a, w, r, func(id int64) (any, error) { return a.workflows.Publish(r.Context(), id, 0) })
		return
	}
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.workflows.Publish(r.Context(), id, in.Version) })
}

func (a *API) handleWorkflowEnable(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.workflows.SetEnabled(r.Context(), id, true) })
}

func (a *API) handleWorkflowDisable(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.workflows.SetEnabled(r.Context(), id, false) })
}

func (a *API) handleWorkflowVersions(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	vs, err := a.workflows.Versions(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, vs, "")
}

func (a *API) handleWorkflowStart(w http.ResponseWriter, r *http.Request) {
	var in workflow.StartInput
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.workflows.Start(r.Context(), id, in) })
}

func (a *API) handleWorkflowRuns(w http.ResponseWriter, r *http.Request) {
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := workflow.RunFilter{Status: q.Get("status")}
	var v crm.Validation
	for name, dst := range map[string]*int64{"workflow_id": &f.WorkflowID, "contact_id": &f.ContactID} {
		if s := q.Get(name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				v.Add(name, "A positive whole number.")
				continue
			}
			*dst = n
		}
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	runs, next, err := a.workflows.Runs(r.Context(), f, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]*WorkflowRun, len(runs))
	for i, x := range runs {
		out[i] = (*WorkflowRun)(x)
	}
	writeList(a, w, r, out, next)
}

func (a *API) handleWorkflowRun(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return asRun(a.workflows.Run(r.Context(), id)) })
}

func (a *API) handleWorkflowRetry(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return asRun(a.workflows.Retry(r.Context(), id)) })
}

func (a *API) handleWorkflowCancel(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return asRun(a.workflows.Cancel(r.Context(), id)) })
}
