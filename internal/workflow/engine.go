package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// Event types the engine writes on the run's person's timeline.
const (
	EventRunStarted = "workflow.run_started"
	EventStep       = "workflow.step"
	EventRunEnded   = "workflow.run_ended"
)

// Job kinds.
const (
	JobStep     = "workflow.step"
	JobSchedule = "workflow.schedule"
)

// TimelinePayload is what the workflow.* events carry.
type TimelinePayload struct {
	WorkflowID int64  `json:"workflow_id"`
	Workflow   string `json:"workflow"`
	RunID      int64  `json:"run_id"`
	Object     string `json:"object"`
	RecordID   int64  `json:"record_id"`
	Path       string `json:"path,omitempty"`
	Kind       string `json:"kind,omitempty"`   // the step's kind
	Status     string `json:"status"`           // the step's or the run's status
	Detail     string `json:"detail,omitempty"` // what the step did, why the run started or ended
	// RunStatus is set on the event of a run's last step: how the run
	// ended (completed, exited); no separate run_ended event is written then.
	RunStatus string `json:"run_status,omitempty"`
	RunDetail string `json:"run_detail,omitempty"`
}

// triggerEvents are the event types the engine listens to.
var triggerEvents = []string{
	crm.EventContactCreated, crm.EventContactUpdated, crm.EventCompanyCreated, crm.EventCompanyUpdated,
	crm.EventDealCreated, crm.EventDealUpdated, crm.EventDealStageChanged, crm.EventDealWon, crm.EventDealLost, crm.EventDealReopened,
	crm.EventTicketCreated, crm.EventTicketUpdated, crm.EventTicketStatusChanged, crm.EventTicketAssigned,
	crm.EventTicketSLAWarning, crm.EventTicketSLABreached,
	crm.EventOrderCreated, crm.EventOrderReturned,
	"club.member_enrolled", "club.tier_changed", "club.points_expiring", "club.points_adjusted",
	crm.EventWebhookReceived,
}

// objectOf maps event subject types to workflow objects.
var objectOf = map[string]string{"contact": ObjectContact, "company": ObjectCompany, "deal": ObjectDeal, "ticket": ObjectTicket,
	"order": ObjectOrder, "club_member": ObjectMember}

// createdEvents and updatedEvents say which events mean a record of an
// object was created or updated.
var createdEvents = map[string]string{crm.EventContactCreated: ObjectContact, crm.EventCompanyCreated: ObjectCompany,
	crm.EventDealCreated: ObjectDeal, crm.EventTicketCreated: ObjectTicket, crm.EventOrderCreated: ObjectOrder,
	"club.member_enrolled": ObjectMember}

var updatedEvents = map[string]string{crm.EventContactUpdated: ObjectContact, crm.EventCompanyUpdated: ObjectCompany,
	crm.EventDealUpdated: ObjectDeal, crm.EventDealStageChanged: ObjectDeal, crm.EventDealWon: ObjectDeal, crm.EventDealLost: ObjectDeal,
	crm.EventDealReopened: ObjectDeal, crm.EventTicketUpdated: ObjectTicket, crm.EventTicketStatusChanged: ObjectTicket,
	crm.EventTicketAssigned: ObjectTicket, crm.EventOrderReturned: ObjectOrder, "club.tier_changed": ObjectMember,
	"club.points_adjusted": ObjectMember}

// impliedChanges are the fields an event changes without listing them.
var impliedChanges = map[string][]string{crm.EventDealStageChanged: {"stage_id"}, crm.EventDealWon: {"status"},
	crm.EventDealLost: {"status"}, crm.EventDealReopened: {"status"}, crm.EventTicketStatusChanged: {"status"},
	crm.EventTicketAssigned: {"assignee_id"}}

// Subscribe registers the trigger subscriber. It starts at the newest
// event: workflows act on what happens after they are wired, never on a
// backlog of history.
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe("workflows", triggerEvents, s.HandleEvent, event.SubscribeFromNow())
}

// TriggerEvents lists the event types that start runs (for the catalogs'
// test: each has a name, "workflows.event.<type>").
func TriggerEvents() []string { return slices.Clone(triggerEvents) }

// RegisterJobs registers the step and schedule jobs.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Handle(JobStep, s.runStep)
	r.Handle(JobSchedule, s.runSchedule)
}

// payload is the part of event payloads triggers read.
type payload struct {
	Changed     []string        `json:"changed"`
	StageID     int64           `json:"stage_id"`
	PipelineID  int64           `json:"pipeline_id"`
	ToTierID    int64           `json:"to_tier_id"`
	HookID      int64           `json:"hook_id"`
	Body        json.RawMessage `json:"body"`
	OwnerID     int64           `json:"owner_id"`
	AssigneeID  int64           `json:"assignee_id"`
	MemberID    int64           `json:"member_id"`
	Reason      string          `json:"reason"`
	Description string          `json:"description"`
}

// HandleEvent starts runs of the enabled workflows whose trigger the
// event matches, inside the dispatcher's transaction (so each event
// enrols a record at most once, even across crashes).
func (s *Service) HandleEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	wfs, err := s.enabled(ctx, tx)
	if err != nil || len(wfs) == 0 {
		return err
	}
	var p payload
	if len(ev.Payload) > 0 {
		_ = json.Unmarshal(ev.Payload, &p) // a payload of another shape matches nothing
	}
	facts := orderFactsOf(&ev) // what order conditions test (nil for other events)
	for _, c := range wfs {
		object, recordID, contactID, ok, err := s.match(ctx, tx, &c.Def.Trigger, &ev, &p)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		reason := Say("started_event", "event", ev.Type, "id", ev.ID)
		if _, _, err := s.enrol(ctx, tx, c, object, recordID, contactID, reason, ev.ID, "event:"+strconv.FormatInt(ev.ID, 10), facts); err != nil {
			return err
		}
	}
	return nil
}

// match reports whether ev fires trigger t, and on which record.
func (s *Service) match(ctx context.Context, tx *store.Tx, t *Trigger, ev *crm.Event, p *payload) (object string, recordID, contactID int64, ok bool, err error) {
	object = objectOf[ev.SubjectType]
	recordID, contactID = ev.SubjectID, ev.ContactID
	if object == ObjectContact {
		contactID = ev.SubjectID
	}
	switch t.Kind {
	case TriggerRecordCreated:
		ok = createdEvents[ev.Type] == t.Object && t.Object != ""
	case TriggerRecordUpdated:
		ok = updatedEvents[ev.Type] == t.Object && t.Object != ""
	case TriggerFieldChanged:
		if updatedEvents[ev.Type] != t.Object || t.Object == "" {
			return
		}
		changed := append(slices.Clone(p.Changed), impliedChanges[ev.Type]...)
		if !slices.Contains(changed, t.Field) {
			return
		}
		if t.To == "" && t.From == "" {
			ok = true
			return
		}
		// The values before and after are those of the audit entry the
		// change wrote with its event (same transaction, same time).
		from, to, known, aerr := changeOf(ctx, tx, object, recordID, ev.CreatedAt, t.Field)
		if aerr != nil {
			return "", 0, 0, false, aerr
		}
		if !known {
			if t.From != "" || s.opts.Actions == nil {
				return // the old value is unknown: a "from" trigger does not fire
			}
			rec, rerr := s.opts.Actions.Record(ctx, object, recordID)
			if crm.ErrorCode(rerr) == crm.ENOTFOUND {
				return
			}
			if rerr != nil {
				return "", 0, 0, false, rerr
			}
			to = rec.Fields[t.Field]
			if v := rec.Fields[t.Field]; listFields[t.Field] {
				l := []any{}
				for _, x := range strings.Split(v, ",") {
					if x != "" {
						l = append(l, x)
					}
				}
				to = l
			}
		}
		ok = changeMatches(t, from, to)
	case TriggerDealStage:
		ok = ev.Type == crm.EventDealStageChanged && p.StageID == t.StageID && (t.PipelineID == 0 || p.PipelineID == t.PipelineID)
	case TriggerDealWon:
		ok = ev.Type == crm.EventDealWon
	case TriggerDealLost:
		ok = ev.Type == crm.EventDealLost
	case TriggerTicketSLA:
		ok = (t.SLA == "warning" && ev.Type == crm.EventTicketSLAWarning) || (t.SLA == "breach" && ev.Type == crm.EventTicketSLABreached)
	case TriggerOrderPlaced:
		ok = ev.Type == crm.EventOrderCreated
	case TriggerOrderReturned:
		ok = ev.Type == crm.EventOrderReturned
	case TriggerTierChanged:
		ok = ev.Type == "club.tier_changed" && (t.TierID == 0 || p.ToTierID == t.TierID)
	case TriggerPointsExpiring:
		ok = ev.Type == "club.points_expiring"
	case TriggerWebhook:
		if ev.Type != crm.EventWebhookReceived || p.HookID != t.HookID || s.opts.Actions == nil {
			return
		}
		cid, cerr := s.opts.Actions.InboundContact(ctx, tx, p.Body)
		if cerr != nil || cid == 0 {
			if cerr != nil {
				s.log.Info("workflow: an inbound document names nobody known", "event", ev.ID, "err", cerr)
			}
			return
		}
		object, recordID, contactID, ok = ObjectContact, cid, cid, true
	}
	return
}

func sameText(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) }

// listFields are the fields whose values are lists: Record.Fields joins
// them with commas.
var listFields = map[string]bool{"tags": true, "emails": true, "phones": true, "memberships": true, "company_ids": true}

// IsListField reports whether a field_changed trigger's field is a list
// (its from and to are a value taken out and added).
func IsListField(field string) bool { return listFields[field] }

// changeMatches reports whether a field's change from before to after
// (JSON values) is the one t waits for. A list (tags, emails, …) changes
// to a value when the value is added to it and from a value when it is
// taken out of it, so "tags changed to vip" fires when vip is tagged
// whatever other tags there are; other values (and a from or to with a
// comma) compare whole, as text, case-insensitively.
func changeMatches(t *Trigger, before, after any) bool {
	bl, bList := before.([]any)
	al, aList := after.([]any)
	has := func(l []any, s string) bool {
		return slices.ContainsFunc(l, func(x any) bool { return sameText(textOf(x), s) })
	}
	side := func(want string, is any, wasL, isL []any) bool {
		switch {
		case want == "":
			return true
		case (bList || aList) && !strings.Contains(want, ","):
			return has(isL, want) && !has(wasL, want)
		}
		return sameText(textOf(is), want)
	}
	return side(t.From, before, al, bl) && side(t.To, after, bl, al)
}

// changeOf reads a field's values before and after the change an event
// announced, from the audit entries written in the same transaction.
// known is false when no entry holds the field.
func changeOf(ctx context.Context, tx *store.Tx, object string, id int64, at time.Time, field string) (from, to any, known bool, err error) {
	cs, err := tx.AuditChangesAt(ctx, object, id, at)
	if err != nil {
		return nil, nil, false, err
	}
	for _, c := range cs {
		var before, after map[string]any
		_ = json.Unmarshal([]byte(c.Before), &before)
		_ = json.Unmarshal([]byte(c.After), &after)
		b, inB := before[field]
		a, inA := after[field]
		if !inB && !inA {
			continue
		}
		return b, a, true, nil
	}
	return nil, nil, false, nil
}

// textOf writes a JSON value as the text triggers compare: numbers
// without exponent, lists joined by commas, null as "".
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, p := range x {
			parts = append(parts, textOf(p))
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// enrol starts a run of c for the record unless the record is in an
// active run of the workflow, ran it before and re-enrolment is off, hit
// the daily limit, already ran for this trigger occurrence, or its person
// does not meet the conditions. It reports the run's id, or why not.
// facts are the order the event placed (nil: none), for order conditions.
func (s *Service) enrol(ctx context.Context, tx *store.Tx, c *compiled, object string, recordID, contactID int64, reason string, eventID int64, key string, facts *OrderFacts) (int64, string, error) {
	d := &c.Def
	if d.Conditions != nil {
		ok, err := s.meetsRun(ctx, tx, d.Conditions, contactID, eventID, facts)
		if err != nil {
			return 0, "", err
		}
		if !ok {
			return 0, "does not meet the conditions", nil
		}
	}
	loc := s.location(ctx)
	now := tx.Now().In(loc)
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	all, today, err := tx.WorkflowRunsOf(ctx, c.WorkflowID, object, recordID, dayStart)
	if err != nil {
		return 0, "", err
	}
	if all > 0 && !d.Reenrol {
		return 0, "ran this workflow before (re-enrolment is off)", nil
	}
	daily := d.MaxRunsPerDay
	if daily <= 0 {
		daily = DefaultMaxDaily
	}
	if today >= int64(daily) {
		return 0, fmt.Sprintf("reached the limit of %d runs a day", daily), nil
	}
	if len(d.Steps) == 0 {
		return 0, "has no steps", nil
	}
	r := &store.WorkflowRunRow{WorkflowID: c.WorkflowID, VersionID: c.VersionID, Object: object, RecordID: recordID, ContactID: contactID,
		Reason: reason, EventID: eventID, TriggerKey: key, NextStep: "0"}
	added, err := tx.EnrolWorkflowRun(ctx, r)
	if err != nil {
		return 0, "", err
	}
	if !added {
		return 0, "already in an active run", nil
	}
	r.Status = RunActive
	if err := s.timeline(ctx, tx, r, "", "", RunActive, reason); err != nil {
		return 0, "", err
	}
	return r.ID, "", s.enqueueStep(ctx, tx, r.ID, "0", time.Time{}, "")
}

// meets checks a condition tree against one person.
func (s *Service) meets(ctx context.Context, tx *store.Tx, rule *crm.Rule, contactID int64) (bool, error) {
	if rule == nil {
		return true, nil
	}
	if contactID == 0 {
		return false, nil
	}
	r := *rule
	if s.opts.Check != nil {
		// Stored trees hold JSON values; checking them again gives the
		// compiler its Go types (dates, numbers).
		b, err := json.Marshal(rule)
		if err != nil {
			return false, err
		}
		parsed, err := crm.ParseRules(b)
		if err != nil {
			return false, err
		}
		if r, err = s.opts.Check(ctx, parsed); err != nil {
			return false, fmt.Errorf("workflow: conditions no longer valid: %w", err)
		}
	}
	q, err := tx.CompileRules(ctx, &r, tx.Now())
	if err != nil {
		return false, err
	}
	return tx.ContactMatches(ctx, q, contactID)
}

// stepJob is a step job's payload.
type stepJob struct {
	Run   int64     `json:"run"`
	Path  string    `json:"path"`
	Until time.Time `json:"until,omitempty"` // a wait's end
	Why   string    `json:"why,omitempty"`
}

func (s *Service) enqueueStep(ctx context.Context, tx *store.Tx, runID int64, path string, at time.Time, why string) error {
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobStep, Payload: stepJob{Run: runID, Path: path, Until: at, Why: why}, RunAt: at,
		MaxAttempts: s.opts.StepAttempts})
	return err
}

// timeline writes a workflow event on the run's person's timeline.
func (s *Service) timeline(ctx context.Context, tx *store.Tx, r *store.WorkflowRunRow, path, kind, status, detail string) error {
	return s.timelineEnd(ctx, tx, r, path, kind, status, detail, "", "")
}

// timelineEnd is timeline for a run's last step, with how the run ended.
func (s *Service) timelineEnd(ctx context.Context, tx *store.Tx, r *store.WorkflowRunRow, path, kind, status, detail, runStatus, runDetail string) error {
	typ := EventStep
	switch {
	case path == "" && status == RunActive:
		typ = EventRunStarted
	case path == "":
		typ = EventRunEnded
	}
	name := r.Workflow
	if name == "" {
		var err error
		if name, err = tx.WorkflowName(ctx, r.WorkflowID); err != nil {
			return err
		}
		r.Workflow = name
	}
	b, err := json.Marshal(TimelinePayload{WorkflowID: r.WorkflowID, Workflow: name, RunID: r.ID, Object: r.Object, RecordID: r.RecordID,
		Path: path, Kind: kind, Status: status, Detail: detail, RunStatus: runStatus, RunDetail: runDetail})
	if err != nil {
		return err
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: "workflow_run", SubjectID: r.ID, ContactID: r.ContactID, Payload: b})
}

// runStep runs one step of a run. A job that finds its run ended, or
// moved past the step, does nothing: each step's effects are recorded in
// the same transaction that moves the run on, so a job run twice (after
// a crash or a lost lease) finds its step done.
func (s *Service) runStep(ctx context.Context, j *jobs.Claimed) error {
	var p stepJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	var (
		run  *store.WorkflowRunRow
		def  Definition
		prev *store.WorkflowStepRow
	)
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		r, err := tx.WorkflowRun(ctx, p.Run, false)
		if err != nil {
			return err
		}
		run = r
		v, err := tx.WorkflowVersion(ctx, r.VersionID)
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(v.Definition), &def); err != nil {
			return jobs.Permanent(err)
		}
		prev, err = tx.WorkflowStep(ctx, r.ID, p.Path)
		return err
	})
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil // the workflow was deleted
	}
	if err != nil {
		return err
	}
	if run.Status != RunActive || run.NextStep != p.Path {
		return nil // ended, cancelled, or this step is done already
	}
	step := StepAt(def.Steps, p.Path)
	if step == nil {
		return s.fail(ctx, run, p.Path, "", 0, fmt.Errorf("the version has no step %s", p.Path))
	}
	if run.Steps >= MaxStepsPerRun {
		return s.fail(ctx, run, p.Path, step.Kind, j.Attempt, fmt.Errorf("the run reached the limit of %d steps", MaxStepsPerRun))
	}
	target := Target{Object: run.Object, RecordID: run.RecordID, ContactID: run.ContactID}

	// The conditions, re-checked before every step (a wait's wake-up included).
	if def.Conditions != nil {
		var ok bool
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = s.meetsRun(ctx, tx, def.Conditions, run.ContactID, run.EventID, nil)
			return err
		})
		if err != nil {
			return s.retryOrFail(ctx, j, run, p.Path, step.Kind, err)
		}
		if !ok {
			return s.finish(ctx, run, p.Path, step.Kind, StepSkipped, Say("no_longer_meets"), RunExited)
		}
	}

	key := fmt.Sprintf("wf:%d:%s", run.ID, p.Path)
	var detail string
	next := NextPath(def.Steps, p.Path)
	switch step.Kind {
	case StepWait:
		return s.wait(ctx, run, p, step, prev, next)
	case StepBranch:
		var ok bool
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = s.meetsRun(ctx, tx, step.If, run.ContactID, run.EventID, nil)
			return err
		})
		if err != nil {
			return s.retryOrFail(ctx, j, run, p.Path, step.Kind, err)
		}
		next = BranchPath(def.Steps, p.Path, ok)
		detail = Say("condition_no")
		if ok {
			detail = Say("condition_yes")
		}
	case StepStop:
		return s.finish(ctx, run, p.Path, step.Kind, StepDone, Say("stopped"), RunCompleted)
	default:
		if s.opts.Actions == nil {
			return s.fail(ctx, run, p.Path, step.Kind, j.Attempt, fmt.Errorf("no actions are wired"))
		}
		// The record's owner (tasks, assignment) and person (when the run
		// has none yet) are read now; other actions fail on a deleted
		// record by themselves.
		if step.Kind == StepTask || step.Kind == StepAssign || target.ContactID == 0 {
			if rec, err := s.opts.Actions.Record(ctx, run.Object, run.RecordID); err == nil {
				target.OwnerID = rec.OwnerID
				if target.ContactID == 0 {
					target.ContactID = rec.ContactID
				}
			} else if crm.ErrorCode(err) == crm.ENOTFOUND {
				return s.fail(ctx, run, p.Path, step.Kind, j.Attempt, fmt.Errorf("the %s was deleted", run.Object))
			} else {
				return s.retryOrFail(ctx, j, run, p.Path, step.Kind, err)
			}
		}
		d, err := s.act(ctx, run, p.Path, step, target, key)
		if until, deferred := isDefer(err); deferred {
			return s.deferStep(ctx, run, p.Path, step.Kind, until)
		}
		if why, skipped := isSkip(err); skipped {
			return s.advance(ctx, run, p.Path, step.Kind, StepSkipped, why, next, j.Attempt)
		}
		if err != nil {
			return s.retryOrFail(ctx, j, run, p.Path, step.Kind, err)
		}
		detail = d
	}
	return s.advance(ctx, run, p.Path, step.Kind, StepDone, detail, next, j.Attempt)
}

// act does an action step.
func (s *Service) act(ctx context.Context, run *store.WorkflowRunRow, path string, st *Step, t Target, key string) (string, error) {
	a := s.opts.Actions
	switch st.Kind {
	case StepTask:
		user := t.OwnerID
		if st.Assign != nil {
			u, err := s.choose(ctx, run, path, st.Assign)
			if err != nil {
				return "", err
			}
			user = u
		}
		ta := TaskAction{Title: st.Title, Body: st.Body, UserID: user, ContactID: t.ContactID, Object: t.Object, RecordID: t.RecordID, Key: key}
		if st.DueDays > 0 {
			due := s.db.Now().UTC().AddDate(0, 0, st.DueDays)
			ta.Due = &due
		}
		return a.CreateTask(ctx, ta)
	case StepAssign:
		u, err := s.choose(ctx, run, path, st.Assign)
		if err != nil {
			return "", err
		}
		if u == 0 {
			return "", Skip(Say("skip_nobody"))
		}
		return a.Assign(ctx, t, u)
	case StepUpdateField:
		return a.UpdateField(ctx, t, st.Field, st.Value)
	case StepAddTag, StepRemoveTag:
		return a.Tag(ctx, t, st.Tag, st.Kind == StepAddTag)
	case StepSendEmail, StepSendSMS:
		if t.ContactID == 0 {
			return "", Skip(Say("skip_no_person_note"))
		}
		ch := "email"
		if st.Kind == StepSendSMS {
			ch = "sms"
		}
		return a.SendMessage(ctx, Message{Channel: ch, ContactID: t.ContactID, Content: st.Content, Key: key})
	case StepAddToList:
		if t.ContactID == 0 {
			return "", Skip(Say("skip_no_person"))
		}
		return a.AddToList(ctx, st.ListID, t.ContactID)
	case StepAwardPoints, StepDeductPoints:
		if t.ContactID == 0 {
			return "", Skip(Say("skip_no_person"))
		}
		pts := st.Points
		if st.Kind == StepDeductPoints {
			pts = -pts
		}
		reason := st.Reason
		if reason == "" {
			reason = "Workflow: " + run.Workflow
		}
		return a.Points(ctx, t.ContactID, pts, reason, key)
	case StepCreateTicket:
		if t.ContactID == 0 {
			return "", Skip(Say("skip_no_person"))
		}
		return a.CreateTicket(ctx, TicketAction{Subject: st.Title, Body: st.Body, Priority: st.Priority, Category: st.Category, ContactID: t.ContactID, Key: key})
	case StepWebhook:
		body, err := json.Marshal(map[string]any{"workflow_id": run.WorkflowID, "workflow": run.Workflow, "run_id": run.ID, "step": path,
			"object": run.Object, "record_id": run.RecordID, "contact_id": run.ContactID, "reason": run.Reason, "event_id": run.EventID})
		if err != nil {
			return "", err
		}
		return a.CallWebhook(ctx, st.SubscriptionID, key, body)
	}
	return "", crm.Errorf(crm.EINVALID, "unknown step kind %q", st.Kind)
}

// choose picks the user an assignment names.
func (s *Service) choose(ctx context.Context, run *store.WorkflowRunRow, path string, a *Assign) (int64, error) {
	if a == nil {
		return 0, nil
	}
	if a.Mode == AssignFixed {
		return a.UserID, nil
	}
	users := a.UserIDs
	if len(users) == 0 && a.TeamID != 0 {
		var err error
		if users, err = s.opts.Actions.TeamMembers(ctx, a.TeamID); err != nil {
			return 0, err
		}
	}
	if len(users) == 0 {
		return 0, Skip(Say("skip_team_empty"))
	}
	switch a.Mode {
	case AssignLeastBusy:
		counts, err := s.opts.Actions.OpenTasks(ctx, users)
		if err != nil {
			return 0, err
		}
		best := users[0]
		for _, u := range users[1:] {
			if counts[u] < counts[best] {
				best = u
			}
		}
		return best, nil
	default:
		var u int64
		err := s.db.Write(ctx, func(tx *store.Tx) error {
			var err error
			u, err = tx.WorkflowRotate(ctx, fmt.Sprintf("%d:%s", run.WorkflowID, path), users)
			return err
		})
		return u, err
	}
}

// wait handles a wait step: the first time it records the wait and
// enqueues its wake-up; on the wake-up it ends the wait (or, waiting for
// a condition, checks it and sleeps again).
func (s *Service) wait(ctx context.Context, run *store.WorkflowRunRow, p stepJob, st *Step, prev *store.WorkflowStepRow, next string) error {
	w := st.Wait
	if w == nil {
		return s.fail(ctx, run, p.Path, st.Kind, 1, fmt.Errorf("the wait has no length"))
	}
	now := s.db.Now().UTC()
	if prev == nil || p.Until.IsZero() {
		// Start waiting.
		var until time.Time
		detail := ""
		switch w.Kind {
		case WaitDuration:
			until = now.Add(w.Duration())
			detail = Say("waiting_until", "time", until.Format(time.RFC3339))
		case WaitUntilDate:
			t, err := ParseUntil(w.Until, s.location(ctx))
			if err != nil {
				return s.fail(ctx, run, p.Path, st.Kind, 1, err)
			}
			until = t.UTC()
			detail = Say("waiting_until", "time", until.Format(time.RFC3339))
		case WaitCondition:
			until = now.Add(w.Duration())
			detail = Say("waiting_condition", "time", until.Format(time.RFC3339))
		}
		if !until.After(now) {
			return s.advance(ctx, run, p.Path, st.Kind, StepDone, Say("date_passed"), next, 1)
		}
		return s.db.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.WorkflowRun(ctx, run.ID, true)
			if err != nil || cur.Status != RunActive || cur.NextStep != p.Path {
				return err
			}
			if err := tx.PutWorkflowStep(ctx, &store.WorkflowStepRow{RunID: run.ID, Path: p.Path, Kind: st.Kind, Status: StepPending, Detail: detail, Attempts: 1}); err != nil {
				return err
			}
			wake := until
			if w.Kind == WaitCondition {
				wake = now.Add(checkEvery(w))
				if wake.After(until) {
					wake = until
				}
			}
			_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobStep, Payload: stepJob{Run: run.ID, Path: p.Path, Until: until}, RunAt: wake, MaxAttempts: s.opts.StepAttempts})
			return err
		})
	}
	if w.Kind == WaitCondition {
		var ok bool
		err := s.db.Read(ctx, func(tx *store.Tx) error {
			var err error
			ok, err = s.meetsRun(ctx, tx, w.Condition, run.ContactID, run.EventID, nil)
			return err
		})
		if err != nil {
			return err
		}
		switch {
		case ok:
			return s.advance(ctx, run, p.Path, st.Kind, StepDone, Say("wait_met"), next, prev.Attempts)
		case !now.Before(p.Until):
			return s.advance(ctx, run, p.Path, st.Kind, StepDone, Say("wait_not_met"), next, prev.Attempts)
		}
		wake := now.Add(checkEvery(w))
		if wake.After(p.Until) {
			wake = p.Until
		}
		return s.db.Write(ctx, func(tx *store.Tx) error {
			cur, err := tx.WorkflowRun(ctx, run.ID, true)
			if err != nil || cur.Status != RunActive || cur.NextStep != p.Path {
				return err
			}
			_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobStep, Payload: stepJob{Run: run.ID, Path: p.Path, Until: p.Until}, RunAt: wake, MaxAttempts: s.opts.StepAttempts})
			return err
		})
	}
	if now.Before(p.Until) {
		// Woken early (a clock change): sleep again.
		return s.db.Write(ctx, func(tx *store.Tx) error {
			_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobStep, Payload: p, RunAt: p.Until, MaxAttempts: s.opts.StepAttempts})
			return err
		})
	}
	return s.advance(ctx, run, p.Path, st.Kind, StepDone, Say("waited_until", "time", p.Until.Format(time.RFC3339)), next, prev.Attempts)
}

func checkEvery(w *Wait) time.Duration {
	m := w.CheckMinutes
	if m <= 0 {
		m = 60
	}
	return time.Duration(m) * time.Minute
}

// deferStep leaves the run at path until until (the action asked to be
// done later), its log line saying why; the step runs again then.
func (s *Service) deferStep(ctx context.Context, run *store.WorkflowRunRow, path, kind string, until time.Time) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.WorkflowRun(ctx, run.ID, true)
		if err != nil || cur.Status != RunActive || cur.NextStep != path {
			return err
		}
		if err := tx.PutWorkflowStep(ctx, &store.WorkflowStepRow{RunID: run.ID, Path: path, Kind: kind, Status: StepPending,
			Detail: Say("quiet_until", "time", until.UTC().Format(time.RFC3339)), Attempts: 1}); err != nil {
			return err
		}
		return s.enqueueStep(ctx, tx, run.ID, path, until, "deferred")
	})
}

// advance records a step's outcome and moves the run to next (ending it
// when next is ""), in one transaction that first checks the run is
// still at this step.
func (s *Service) advance(ctx context.Context, run *store.WorkflowRunRow, path, kind, status, detail, next string, attempts int) error {
	if next == "" {
		return s.finish(ctx, run, path, kind, status, detail, RunCompleted)
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.WorkflowRun(ctx, run.ID, true)
		if err != nil || cur.Status != RunActive || cur.NextStep != path {
			return err
		}
		now := tx.Now()
		if err := tx.PutWorkflowStep(ctx, &store.WorkflowStepRow{RunID: cur.ID, Path: path, Kind: kind, Status: status, Detail: detail,
			Attempts: max(attempts, 1), DoneAt: &now}); err != nil {
			return err
		}
		cur.NextStep, cur.Steps = next, cur.Steps+1
		if err := tx.SetWorkflowRun(ctx, cur); err != nil {
			return err
		}
		if err := s.timeline(ctx, tx, cur, path, kind, status, detail); err != nil {
			return err
		}
		return s.enqueueStep(ctx, tx, cur.ID, next, time.Time{}, "")
	})
}

// finish records a step's outcome and ends the run with runStatus.
func (s *Service) finish(ctx context.Context, run *store.WorkflowRunRow, path, kind, status, detail, runStatus string) error {
	return s.db.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.WorkflowRun(ctx, run.ID, true)
		if err != nil || cur.Status != RunActive || cur.NextStep != path {
			return err
		}
		now := tx.Now()
		if err := tx.PutWorkflowStep(ctx, &store.WorkflowStepRow{RunID: cur.ID, Path: path, Kind: kind, Status: status, Detail: detail, Attempts: 1, DoneAt: &now}); err != nil {
			return err
		}
		cur.Status, cur.NextStep, cur.Steps = runStatus, "", cur.Steps+1
		if err := tx.SetWorkflowRun(ctx, cur); err != nil {
			return err
		}
		end := Say("completed")
		if runStatus == RunExited {
			end = Say("exited", "detail", detail)
		}
		return s.timelineEnd(ctx, tx, cur, path, kind, status, detail, runStatus, end)
	})
}

// retryOrFail records a failed attempt: a permanent error or the last
// attempt fails the run (visible, retryable), any other error is logged
// on the step and returned so the job runner tries again after a backoff.
func (s *Service) retryOrFail(ctx context.Context, j *jobs.Claimed, run *store.WorkflowRunRow, path, kind string, err error) error {
	if permanent(err) || jobs.IsPermanent(err) || j.LastAttempt() {
		return s.fail(ctx, run, path, kind, j.Attempt, err)
	}
	msg := errorText(err)
	werr := s.db.Write(ctx, func(tx *store.Tx) error {
		return tx.PutWorkflowStep(ctx, &store.WorkflowStepRow{RunID: run.ID, Path: path, Kind: kind, Status: StepFailed,
			Detail: Say("attempt_failed", "n", j.Attempt), Attempts: j.Attempt, Error: msg})
	})
	if werr != nil {
		s.log.Warn("workflow: record a failed attempt", "run", run.ID, "err", werr)
	}
	return err
}

// fail ends a run as failed at path; Retry resumes it there.
func (s *Service) fail(ctx context.Context, run *store.WorkflowRunRow, path, kind string, attempts int, cause error) error {
	msg := errorText(cause)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		cur, err := tx.WorkflowRun(ctx, run.ID, true)
		if err != nil || cur.Status != RunActive || cur.NextStep != path {
			return err
		}
		if err := tx.PutWorkflowStep(ctx, &store.WorkflowStepRow{RunID: cur.ID, Path: path, Kind: kind, Status: StepFailed,
			Detail: Say("failed_for_good"), Attempts: max(attempts, 1), Error: msg}); err != nil {
			return err
		}
		cur.Status, cur.Error = RunFailed, msg
		if err := tx.SetWorkflowRun(ctx, cur); err != nil {
			return err
		}
		return s.timeline(ctx, tx, cur, "", kind, RunFailed, "Failed at step "+path+": "+msg)
	})
}

func errorText(err error) string {
	msg := crm.ErrorMessage(err)
	if msg == "Internal error." {
		msg = err.Error()
	}
	if fs := crm.ErrorFields(err); len(fs) > 0 {
		keys := make([]string, 0, len(fs))
		for k := range fs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			msg += " " + k + ": " + fs[k]
		}
	}
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	return msg
}

// Start starts a published workflow by hand on one record (of the type
// its trigger names) or on every person of a segment or static list
// (workflows about people). The usual limits apply: a record already in
// an active run, or one that ran before when re-enrolment is off, is
// skipped and counted.
func (s *Service) Start(ctx context.Context, id int64, in StartInput) (*StartResult, error) {
	if err := crm.Authorize(ctx, crm.PermAutomation, true); err != nil {
		return nil, err
	}
	if (in.RecordID == 0) == (in.SegmentID == 0) {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Start it on one record or on a segment.",
			Fields: map[string]string{"record_id": "Give a record or a segment, not both."}}
	}
	out := &StartResult{RunIDs: []int64{}}
	who := "someone"
	if u := crm.UserFromContext(ctx); u != nil {
		who = u.Name
		if strings.TrimSpace(who) == "" {
			who = u.Email // a user without a name (the first administrator)
		}
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		w, err := tx.Workflow(ctx, id)
		if err != nil {
			return err
		}
		if w.PublishedID == 0 || w.Status != StatusEnabled {
			return &crm.Error{Code: crm.ECONFLICT, Message: "Publish and switch the workflow on before starting it.", Fields: map[string]string{"status": w.Status}}
		}
		v, err := tx.WorkflowVersion(ctx, w.PublishedID)
		if err != nil {
			return err
		}
		c := &compiled{WorkflowID: id, VersionID: v.ID}
		if err := json.Unmarshal([]byte(v.Definition), &c.Def); err != nil {
			return err
		}
		object := c.Def.Trigger.RecordObject()
		reason := Say("started_by_hand", "who", who)
		one := func(recordID, contactID int64) error {
			runID, _, err := s.enrol(ctx, tx, c, object, recordID, contactID, reason, 0, "", nil)
			if err != nil {
				return err
			}
			if runID == 0 {
				out.Skipped++
				return nil
			}
			out.Started++
			if len(out.RunIDs) < 100 {
				out.RunIDs = append(out.RunIDs, runID)
			}
			return nil
		}
		if in.RecordID != 0 {
			if s.opts.Actions == nil {
				return crm.Errorf(crm.EUNAVAILABLE, "Workflows are not wired to the other modules.")
			}
			rec, err := s.opts.Actions.Record(ctx, object, in.RecordID)
			if err != nil {
				if crm.ErrorCode(err) == crm.ENOTFOUND {
					return &crm.Error{Code: crm.EINVALID, Message: "No such record.", Fields: map[string]string{"record_id": "No " + object + " has this id."}}
				}
				return err
			}
			return one(rec.ID, rec.ContactID)
		}
		if object != ObjectContact {
			return &crm.Error{Code: crm.EINVALID, Message: "Only a workflow about people starts on a segment.",
				Fields: map[string]string{"segment_id": "This workflow is about " + object + " records."}}
		}
		if s.opts.Actions == nil {
			return crm.Errorf(crm.EUNAVAILABLE, "Workflows are not wired to the other modules.")
		}
		return s.opts.Actions.SegmentMembers(ctx, tx, in.SegmentID, func(cid int64) error { return one(cid, cid) })
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// --- Schedules and dates ---

type scheduleJob struct {
	Workflow int64 `json:"workflow"`
}

// schedule enqueues the next firing of a schedule or date trigger (one
// pending job per workflow).
func (s *Service) schedule(ctx context.Context, tx *store.Tx, workflowID, versionID int64, d *Definition) error {
	if d.Trigger.Kind != TriggerSchedule && d.Trigger.Kind != TriggerDate {
		return nil
	}
	return s.enqueueSchedule(ctx, tx, workflowID, s.nextAt(ctx, tx.Now(), d.Trigger.At))
}

// enqueueSchedule enqueues a firing at at. The unique key names the
// workflow and the day, so publishing again (or a changed time) never
// makes two pending firings for one day.
func (s *Service) enqueueSchedule(ctx context.Context, tx *store.Tx, workflowID int64, at time.Time) error {
	key := fmt.Sprintf("workflow.schedule:%d:%s", workflowID, at.In(s.location(ctx)).Format(time.DateOnly))
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobSchedule, Payload: scheduleJob{Workflow: workflowID}, RunAt: at, UniqueKey: key, MaxAttempts: 5})
	return err
}

// nextAt returns the next time after now that is at (HH:MM) in the
// business time zone.
func (s *Service) nextAt(ctx context.Context, now time.Time, at string) time.Time {
	loc := s.location(ctx)
	h, m, _ := ParseAt(at)
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), h, m, 0, 0, loc)
	if !t.After(now) {
		t = time.Date(l.Year(), l.Month(), l.Day()+1, h, m, 0, 0, loc)
	}
	return t.UTC()
}

// runSchedule fires a schedule or date trigger: it enrols the day's
// records (each once per day: the trigger key is the day) and enqueues
// the next firing.
func (s *Service) runSchedule(ctx context.Context, j *jobs.Claimed) error {
	var p scheduleJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	loc := s.location(ctx)
	return s.db.Write(ctx, func(tx *store.Tx) error {
		w, err := tx.Workflow(ctx, p.Workflow)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if w.Status != StatusEnabled || w.PublishedID == 0 {
			return nil // switching it on again schedules it
		}
		v, err := tx.WorkflowVersion(ctx, w.PublishedID)
		if err != nil {
			return err
		}
		c := &compiled{WorkflowID: w.ID, VersionID: v.ID}
		if err := json.Unmarshal([]byte(v.Definition), &c.Def); err != nil {
			return jobs.Permanent(err)
		}
		t := c.Def.Trigger
		if t.Kind != TriggerSchedule && t.Kind != TriggerDate {
			return nil
		}
		now := tx.Now().In(loc)
		day := now.Format(time.DateOnly)
		key := t.Kind + ":" + day
		reason := Say("started_schedule", "at", t.At, "day", day)
		switch t.Repeat {
		case RepeatWeekly:
			reason = Say("started_weekly", "at", t.At, "day", day)
		case RepeatMonthly:
			reason = Say("started_monthly", "n", t.MonthDay, "at", t.At, "day", day)
		}
		switch {
		case t.Kind == TriggerSchedule && !t.FiresOn(now):
			// Not one of its days: only the next firing.
		case t.Kind == TriggerSchedule:
			if s.opts.Actions == nil {
				return fmt.Errorf("workflow: no actions wired")
			}
			err = s.opts.Actions.SegmentMembers(ctx, tx, t.SegmentID, func(cid int64) error {
				_, _, err := s.enrol(ctx, tx, c, ObjectContact, cid, cid, reason, 0, key, nil)
				return err
			})
		case t.Kind == TriggerDate:
			target := now.AddDate(0, 0, -t.OffsetDays)
			from := time.Date(target.Year(), target.Month(), target.Day(), 0, 0, 0, 0, loc)
			switch {
			case t.OffsetDays > 0:
				reason = Say("started_after", "n", t.OffsetDays, "field", t.DateField, "day", day)
			case t.OffsetDays < 0:
				reason = Say("started_before", "n", -t.OffsetDays, "field", t.DateField, "day", day)
			default:
				reason = Say("started_date_on", "field", t.DateField, "day", day)
			}
			err = tx.WorkflowDateMatches(ctx, t.DateField, from.Format(time.DateOnly), from.UTC(), from.AddDate(0, 0, 1).UTC(),
				func(object string, id, contactID int64) error {
					_, _, err := s.enrol(ctx, tx, c, object, id, contactID, reason, 0, key, nil)
					return err
				})
		}
		if err != nil {
			return err
		}
		return s.enqueueSchedule(ctx, tx, w.ID, s.nextAt(ctx, tx.Now().Add(time.Minute), t.At))
	})
}
