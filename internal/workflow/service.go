package workflow

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Options tune the service.
type Options struct {
	// Actions does the steps' work in the other modules (internal/app).
	Actions Actions
	// Check validates condition trees (the segment module's Validate over
	// the store's fields, given by internal/app). Nil: conditions are
	// checked only when they are compiled.
	Check func(ctx context.Context, root crm.Rule) (crm.Rule, error)
	// Location is the business's time zone for schedules, date triggers
	// and waits until a day (UTC when nil).
	Location func(ctx context.Context) *time.Location
	// MaxRunsPerDay bounds the runs a record may start per workflow and
	// day when a workflow sets none (DefaultMaxDaily).
	Logger *slog.Logger
	// StepAttempts is how many times a step is tried before the run fails
	// (8; the job runner's backoff spaces them: 10 s·2^n ±20%, at most 1 h).
	StepAttempts int
}

// Service manages workflows and runs them.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	cache   []*compiled // the enabled workflows' published versions
	cacheAt time.Time
}

// compiled is an enabled workflow's published version, ready to match.
type compiled struct {
	WorkflowID int64
	VersionID  int64
	Def        Definition
}

// cacheTTL bounds how long a change made by another process (a second
// server on the same PostgreSQL) takes to be seen; this process drops
// the cache at once on its own changes.
const cacheTTL = 10 * time.Second

// New returns the service on db.
func New(db *store.DB, opts Options) *Service {
	if opts.StepAttempts <= 0 {
		opts.StepAttempts = 8
	}
	s := &Service{db: db, opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

func (s *Service) location(ctx context.Context) *time.Location {
	if s.opts.Location != nil {
		if l := s.opts.Location(ctx); l != nil {
			return l
		}
	}
	return time.UTC
}

func (s *Service) checker(ctx context.Context) RuleChecker {
	if s.opts.Check == nil {
		return nil
	}
	return func(r crm.Rule) (crm.Rule, error) { return s.opts.Check(ctx, r) }
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.cache, s.cacheAt = nil, time.Time{}
	s.mu.Unlock()
}

// enabled returns the enabled workflows' published versions.
func (s *Service) enabled(ctx context.Context, tx *store.Tx) ([]*compiled, error) {
	s.mu.Lock()
	if s.cache != nil && time.Since(s.cacheAt) < cacheTTL {
		c := s.cache
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	rows, err := tx.EnabledWorkflowVersions(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*compiled, 0, len(rows))
	for _, v := range rows {
		var d Definition
		if err := json.Unmarshal([]byte(v.Definition), &d); err != nil {
			s.log.Error("workflow: a published version does not decode", "workflow", v.WorkflowID, "version", v.ID, "err", err)
			continue
		}
		out = append(out, &compiled{WorkflowID: v.WorkflowID, VersionID: v.ID, Def: d})
	}
	s.mu.Lock()
	s.cache, s.cacheAt = out, time.Now()
	s.mu.Unlock()
	return out, nil
}

func (s *Service) toWorkflow(ctx context.Context, tx *store.Tx, r *store.WorkflowRow) (*Workflow, error) {
	w := &Workflow{ID: r.ID, Name: r.Name, Description: r.Description, Status: r.Status, Version: r.Version, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, ActiveRuns: r.ActiveRuns, FailedRuns: r.FailedRuns, LastRunAt: r.LastRunAt}
	if err := json.Unmarshal([]byte(r.Draft), &w.Draft); err != nil {
		return nil, err
	}
	if w.Draft.Steps == nil {
		w.Draft.Steps = []Step{}
	}
	if r.PublishedID != 0 {
		v, err := tx.WorkflowVersion(ctx, r.PublishedID)
		if err != nil {
			return nil, err
		}
		pv, err := toVersion(v)
		if err != nil {
			return nil, err
		}
		w.Published = pv
		w.HasChanges = canonical(w.Draft) != canonical(pv.Definition)
	} else {
		w.HasChanges = true
	}
	return w, nil
}

func toVersion(v *store.WorkflowVersionRow) (*Version, error) {
	out := &Version{ID: v.ID, WorkflowID: v.WorkflowID, Number: v.Number, PublishedBy: v.PublishedBy, PublishedAt: v.PublishedAt}
	if err := json.Unmarshal([]byte(v.Definition), &out.Definition); err != nil {
		return nil, err
	}
	return out, nil
}

func canonical(d Definition) string {
	b, _ := json.Marshal(d)
	return string(b)
}

// input checks a name and parses a draft definition. A draft may be
// saved with problems in its steps (the builder saves as people go);
// only its JSON must be well formed. Publish validates it whole.
func (s *Service) input(in *Input) (Definition, error) {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		v.Add("name", "Give the workflow a name.")
	} else if utf8.RuneCountInString(in.Name) > MaxNameLength {
		v.Add("name", "At most %d characters.", MaxNameLength)
	}
	if utf8.RuneCountInString(in.Description) > MaxBodyLength {
		v.Add("description", "At most %d characters.", MaxBodyLength)
	}
	var d Definition
	if len(in.Definition) > 256<<10 {
		v.Add("definition", "At most 256 KiB.")
	} else if len(in.Definition) > 0 && string(in.Definition) != "null" {
		var err error
		if d, err = ParseDefinition(in.Definition); err != nil {
			for k, m := range crm.ErrorFields(err) {
				v.Add(k, "%s", m)
			}
		}
	}
	if d.Steps == nil {
		d.Steps = []Step{}
	}
	return d, v.Err()
}

// Check validates a definition in JSON without saving it (the builder's
// live check) and returns it normalised.
func (s *Service) Check(ctx context.Context, data json.RawMessage) (*Definition, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, false); err != nil {
		return nil, err
	}
	d, err := ParseDefinition(data)
	if err != nil {
		return nil, err
	}
	if err := Validate(&d, s.checker(ctx)); err != nil {
		return nil, err
	}
	return &d, nil
}

// Create stores a new draft workflow.
func (s *Service) Create(ctx context.Context, in Input) (*Workflow, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return nil, err
	}
	d, err := s.input(&in)
	if err != nil {
		return nil, err
	}
	var out *Workflow
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		r := &store.WorkflowRow{Name: in.Name, Description: in.Description, Status: StatusDraft, Draft: canonical(d), CreatedBy: crm.UserIDFromContext(ctx)}
		if err := tx.InsertWorkflow(ctx, r); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "workflow.create", "workflow", r.ID, nil, map[string]any{"name": r.Name}); err != nil {
			return err
		}
		out, err = s.toWorkflow(ctx, tx, r)
		return err
	})
	return out, err
}

// Update saves a workflow's name, description and draft when in.Version
// is still its version (ECONFLICT otherwise). Published versions and
// runs are not touched.
func (s *Service) Update(ctx context.Context, id int64, in Input) (*Workflow, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return nil, err
	}
	d, err := s.input(&in)
	if err != nil {
		return nil, err
	}
	var out *Workflow
	err = s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.Workflow(ctx, id)
		if err != nil {
			return err
		}
		version := in.Version
		if version == 0 {
			version = r.Version
		}
		r.Name, r.Description, r.Draft = in.Name, in.Description, canonical(d)
		if err := tx.UpdateWorkflow(ctx, r, version); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "workflow.update", "workflow", r.ID, nil, map[string]any{"name": r.Name}); err != nil {
			return err
		}
		out, err = s.toWorkflow(ctx, tx, r)
		return err
	})
	return out, err
}

// Publish validates the draft and makes it a new immutable version that
// new runs start with; runs in flight keep theirs. A draft or disabled
// workflow is enabled by its publication.
func (s *Service) Publish(ctx context.Context, id, version int64) (*Workflow, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return nil, err
	}
	var out *Workflow
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.Workflow(ctx, id)
		if err != nil {
			return err
		}
		if version == 0 {
			version = r.Version
		}
		var d Definition
		if err := json.Unmarshal([]byte(r.Draft), &d); err != nil {
			return err
		}
		if err := Validate(&d, s.checker(ctx)); err != nil {
			return err
		}
		if err := checkRefs(ctx, tx, &d); err != nil {
			return err
		}
		v := &store.WorkflowVersionRow{WorkflowID: id, Definition: canonical(d), PublishedBy: crm.UserIDFromContext(ctx)}
		if err := tx.InsertWorkflowVersion(ctx, v); err != nil {
			return err
		}
		r.PublishedID, r.TriggerKind, r.Status, r.Draft = v.ID, d.Trigger.Kind, StatusEnabled, canonical(d)
		if err := tx.UpdateWorkflow(ctx, r, version); err != nil {
			return err
		}
		if err := s.schedule(ctx, tx, id, v.ID, &d); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "workflow.publish", "workflow", id, nil, map[string]any{"version": v.Number}); err != nil {
			return err
		}
		out, err = s.toWorkflow(ctx, tx, r)
		return err
	})
	if err == nil {
		s.invalidate()
	}
	return out, err
}

// SetEnabled switches a published workflow on or off. Off, it starts no
// runs; runs in flight go on (cancel them one by one to stop them).
func (s *Service) SetEnabled(ctx context.Context, id int64, on bool) (*Workflow, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return nil, err
	}
	var out *Workflow
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.Workflow(ctx, id)
		if err != nil {
			return err
		}
		if r.PublishedID == 0 {
			return &crm.Error{Code: crm.ECONFLICT, Message: "Publish the workflow before switching it on.", Fields: map[string]string{"status": "Not published yet."}}
		}
		r.Status = StatusDisabled
		if on {
			r.Status = StatusEnabled
		}
		if err := tx.UpdateWorkflow(ctx, r, r.Version); err != nil {
			return err
		}
		if on {
			v, err := tx.WorkflowVersion(ctx, r.PublishedID)
			if err != nil {
				return err
			}
			pv, err := toVersion(v)
			if err != nil {
				return err
			}
			if err := s.schedule(ctx, tx, id, v.ID, &pv.Definition); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, "workflow.status", "workflow", id, nil, map[string]any{"status": r.Status}); err != nil {
			return err
		}
		out, err = s.toWorkflow(ctx, tx, r)
		return err
	})
	if err == nil {
		s.invalidate()
	}
	return out, err
}

// Delete removes a workflow with its versions, runs and their logs.
// Pending steps of its runs find no run and do nothing.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.Workflow(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteWorkflow(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "workflow.delete", "workflow", id, map[string]any{"name": r.Name}, nil)
	})
	if err == nil {
		s.invalidate()
	}
	return err
}

// Get returns a workflow with its draft and published version.
func (s *Service) Get(ctx context.Context, id int64) (*Workflow, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, false); err != nil {
		return nil, err
	}
	var out *Workflow
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.Workflow(ctx, id)
		if err != nil {
			return err
		}
		out, err = s.toWorkflow(ctx, tx, r)
		return err
	})
	return out, err
}

// List returns workflows by id, a page at a time.
func (s *Service) List(ctx context.Context, p crm.Page) ([]*Workflow, string, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, false); err != nil {
		return nil, "", err
	}
	limit := p.Limit
	if limit <= 0 || limit > crm.MaxLimit {
		limit = crm.DefaultLimit
	}
	after, _ := strconv.ParseInt(p.After, 10, 64)
	var out []*Workflow
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.Workflows(ctx, after, limit+1)
		if err != nil {
			return err
		}
		for _, r := range rows {
			w, err := s.toWorkflow(ctx, tx, r)
			if err != nil {
				return err
			}
			out = append(out, w)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].ID, 10)
	}
	return out, next, nil
}

// Versions lists a workflow's published versions, newest first.
func (s *Service) Versions(ctx context.Context, id int64) ([]*Version, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, false); err != nil {
		return nil, err
	}
	var out []*Version
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		if _, err := tx.Workflow(ctx, id); err != nil {
			return err
		}
		rows, err := tx.WorkflowVersions(ctx, id)
		if err != nil {
			return err
		}
		for _, r := range rows {
			v, err := toVersion(r)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

func toRun(r *store.WorkflowRunRow) *Run {
	return &Run{ID: r.ID, WorkflowID: r.WorkflowID, Workflow: r.Workflow, VersionID: r.VersionID, VersionNo: r.VersionNo, Object: r.Object,
		RecordID: r.RecordID, ContactID: r.ContactID, Status: r.Status, Reason: r.Reason, EventID: r.EventID, NextStep: r.NextStep,
		Error: r.Error, Steps: r.Steps, StartedAt: r.StartedAt, UpdatedAt: r.UpdatedAt, EndedAt: r.EndedAt}
}

// Runs lists runs, newest first; the cursor is the last run's id.
func (s *Service) Runs(ctx context.Context, f RunFilter, p crm.Page) ([]*Run, string, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, false); err != nil {
		return nil, "", err
	}
	if f.Status != "" && !contains([]string{RunActive, RunCompleted, RunExited, RunFailed, RunCancelled}, f.Status) {
		return nil, "", &crm.Error{Code: crm.EINVALID, Message: "Unknown run status.", Fields: map[string]string{"status": "One of active, completed, exited, failed, cancelled."}}
	}
	limit := p.Limit
	if limit <= 0 || limit > crm.MaxLimit {
		limit = crm.DefaultLimit
	}
	before, _ := strconv.ParseInt(p.After, 10, 64)
	var out []*Run
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		rows, err := tx.WorkflowRuns(ctx, store.WorkflowRunFilter{WorkflowID: f.WorkflowID, Status: f.Status, ContactID: f.ContactID, Before: before, Limit: limit + 1})
		for _, r := range rows {
			out = append(out, toRun(r))
		}
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].ID, 10)
	}
	return out, next, nil
}

// Run returns a run with its step log.
func (s *Service) Run(ctx context.Context, id int64) (*Run, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, false); err != nil {
		return nil, err
	}
	var out *Run
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.WorkflowRun(ctx, id, false)
		if err != nil {
			return err
		}
		out = toRun(r)
		steps, err := tx.WorkflowSteps(ctx, id)
		if err != nil {
			return err
		}
		out.Log = make([]RunStep, 0, len(steps))
		for _, st := range steps {
			out.Log = append(out.Log, RunStep{RunID: st.RunID, Path: st.Path, Kind: st.Kind, Status: st.Status, Detail: st.Detail,
				Attempts: st.Attempts, Error: st.Error, StartAt: st.StartedAt, DoneAt: st.DoneAt})
		}
		return nil
	})
	return out, err
}

// Cancel stops an active or failed run; its pending step does nothing.
func (s *Service) Cancel(ctx context.Context, id int64) (*Run, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.WorkflowRun(ctx, id, true)
		if err != nil {
			return err
		}
		if r.Status != RunActive && r.Status != RunFailed {
			return &crm.Error{Code: crm.ECONFLICT, Message: "Only an active or failed run can be cancelled.", Fields: map[string]string{"status": r.Status}}
		}
		r.Status, r.NextStep = RunCancelled, ""
		if err := tx.SetWorkflowRun(ctx, r); err != nil {
			return err
		}
		return s.timeline(ctx, tx, r, "", "", "cancelled", Say("cancelled"))
	})
	if err != nil {
		return nil, err
	}
	return s.Run(ctx, id)
}

// Retry runs a failed run's failed step again (with its attempts counted
// afresh). It refuses when the record has entered another active run of
// the workflow meanwhile.
func (s *Service) Retry(ctx context.Context, id int64) (*Run, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		r, err := tx.WorkflowRun(ctx, id, true)
		if err != nil {
			return err
		}
		if r.Status != RunFailed {
			return &crm.Error{Code: crm.ECONFLICT, Message: "Only a failed run can be retried.", Fields: map[string]string{"status": r.Status}}
		}
		others, err := tx.WorkflowRuns(ctx, store.WorkflowRunFilter{WorkflowID: r.WorkflowID, Object: r.Object, RecordID: r.RecordID, Status: RunActive, Limit: 1})
		if err != nil {
			return err
		}
		if len(others) > 0 {
			return &crm.Error{Code: crm.ECONFLICT, Message: "This record is in another active run of the workflow.",
				Fields: map[string]string{"run": "Run " + strconv.FormatInt(others[0].ID, 10) + " is active."}}
		}
		r.Status, r.Error = RunActive, ""
		if err := tx.SetWorkflowRun(ctx, r); err != nil {
			return err
		}
		if st, err := tx.WorkflowStep(ctx, r.ID, r.NextStep); err != nil {
			return err
		} else if st != nil {
			st.Status, st.Attempts, st.Error = StepPending, 0, ""
			if err := tx.PutWorkflowStep(ctx, st); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, "workflow.retry", "workflow_run", r.ID, nil, map[string]any{"step": r.NextStep}); err != nil {
			return err
		}
		return s.enqueueStep(ctx, tx, r.ID, r.NextStep, time.Time{}, "retry")
	})
	if err != nil {
		return nil, err
	}
	return s.Run(ctx, id)
}

// checkRefs refuses a definition naming an inbound hook or an outgoing
// webhook that does not exist (deleted, or a wrong id through the API):
// its runs would only fail. Each is named by its path.
func checkRefs(ctx context.Context, tx *store.Tx, d *Definition) error {
	var v crm.Validation
	missing := func(err error) bool { return crm.ErrorCode(err) == crm.ENOTFOUND }
	if d.Trigger.Kind == TriggerWebhook {
		if _, err := tx.InboundHook(ctx, d.Trigger.HookID); missing(err) {
			v.Add("trigger.hook_id", "There is no inbound hook %d; choose another.", d.Trigger.HookID)
		} else if err != nil {
			return err
		}
	}
	var ferr error
	WalkSteps("steps", d.Steps, func(p string, st *Step) {
		if st.Kind != StepWebhook || ferr != nil {
			return
		}
		if _, _, err := tx.Webhook(ctx, st.SubscriptionID); missing(err) {
			v.Add(p+".subscription_id", "There is no webhook %d; choose another.", st.SubscriptionID)
		} else if err != nil {
			ferr = err
		}
	})
	if ferr != nil {
		return ferr
	}
	if err := v.Err(); err != nil {
		if e, ok := err.(*crm.Error); ok {
			e.Message = "The workflow is not valid."
		}
		return err
	}
	return nil
}

// Kinds of hook HookUsers looks for.
const (
	HookOutgoing = "webhook"      // an outgoing webhook subscription (call_webhook steps)
	HookInbound  = "inbound_hook" // an inbound hook (the webhook_received trigger)
)

// HookUsers names the workflows whose runs would still use outgoing
// webhook id (kind HookOutgoing, a call_webhook step) or inbound hook id
// (HookInbound, the trigger): through their published definition, or
// the version one of their active runs follows. The webhook module asks
// it (through internal/app) before deleting a hook, so that a workflow
// does not break silently. Each workflow is named once, by name.
func HookUsers(ctx context.Context, tx *store.Tx, kind string, id int64) ([]store.WorkflowRef, error) {
	defs, err := tx.LiveWorkflowDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.WorkflowRef
	for _, ld := range defs {
		if n := len(out); n > 0 && out[n-1].ID == ld.Workflow.ID {
			continue
		}
		var d Definition
		if json.Unmarshal([]byte(ld.Definition), &d) != nil {
			continue
		}
		if usesHook(&d, kind, id) {
			out = append(out, ld.Workflow)
		}
	}
	return out, nil
}

func usesHook(d *Definition, kind string, id int64) bool {
	if kind == HookInbound {
		return d.Trigger.Kind == TriggerWebhook && d.Trigger.HookID == id
	}
	used := false
	if kind == HookOutgoing {
		WalkSteps("steps", d.Steps, func(_ string, st *Step) {
			used = used || st.Kind == StepWebhook && st.SubscriptionID == id
		})
	}
	return used
}
