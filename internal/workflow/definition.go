// Package workflow runs automations: a trigger (something that happened
// to a record, a schedule, a date, an inbound hook or a person's click)
// enrols the record in a run of a published workflow version, whose
// steps (actions, waits, branches) run as durable jobs, each at least
// once and made idempotent by the key run + step. Conditions use the
// segment condition language (crm.Rule) and are re-checked, against the
// run's person, when each step runs.
//
// The package imports no other domain package: actions go through the
// Actions port (implemented in internal/app), conditions through the
// store's compiler. See docs/workflows.md.
package workflow

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	ptext "github.com/pivand/pivand/internal/text"
)

// Objects a workflow can be about. A run is on one record of one of
// these; its person (the timeline it writes on, and what conditions
// test) is the record's contact.
const (
	ObjectContact = "contact"
	ObjectCompany = "company"
	ObjectDeal    = "deal"
	ObjectTicket  = "ticket"
	ObjectOrder   = "order"
	ObjectMember  = "member" // a club member
)

// Objects lists the record types in the order the builder offers them.
var Objects = []string{ObjectContact, ObjectCompany, ObjectDeal, ObjectTicket, ObjectOrder, ObjectMember}

// Trigger kinds.
const (
	TriggerRecordCreated  = "record_created"   // Object
	TriggerRecordUpdated  = "record_updated"   // Object
	TriggerFieldChanged   = "field_changed"    // Object, Field, From and To (optional: the values it changed from and to)
	TriggerDealStage      = "deal_stage"       // StageID (PipelineID optional)
	TriggerDealWon        = "deal_won"         // -
	TriggerDealLost       = "deal_lost"        // -
	TriggerTicketSLA      = "ticket_sla"       // SLA: "warning" or "breach"
	TriggerOrderPlaced    = "order_placed"     // -
	TriggerOrderReturned  = "order_returned"   // -
	TriggerTierChanged    = "tier_changed"     // TierID optional: only changes to that tier
	TriggerPointsExpiring = "points_expiring"  // -
	TriggerWebhook        = "webhook_received" // HookID (an inbound hook); the record: the contact found by the document's "email", "phone" or "contact_id"
	TriggerManual         = "manual"           // Object; started by a person on a record or on every person of a segment
	TriggerSchedule       = "schedule"         // At "09:00" every day in the business time zone, for every person of SegmentID
	TriggerDate           = "date"             // DateField, OffsetDays, At: "N days before/after a date of the record"
)

// TriggerKinds lists the trigger kinds in the order the builder offers them.
var TriggerKinds = []string{TriggerRecordCreated, TriggerRecordUpdated, TriggerFieldChanged, TriggerDealStage,
	TriggerDealWon, TriggerDealLost, TriggerTicketSLA, TriggerOrderPlaced, TriggerOrderReturned, TriggerTierChanged,
	TriggerPointsExpiring, TriggerWebhook, TriggerManual, TriggerSchedule, TriggerDate}

// TriggerObject is the record type a trigger kind's runs are about, for
// the kinds that fix it ("" for the kinds whose Object says it).
var TriggerObject = map[string]string{
	TriggerDealStage: ObjectDeal, TriggerDealWon: ObjectDeal, TriggerDealLost: ObjectDeal,
	TriggerTicketSLA: ObjectTicket, TriggerOrderPlaced: ObjectOrder, TriggerOrderReturned: ObjectOrder,
	TriggerTierChanged: ObjectMember, TriggerPointsExpiring: ObjectMember, TriggerWebhook: ObjectContact,
	TriggerSchedule: ObjectContact,
}

// DateFields are the dates a date trigger may count from, by name.
var DateFields = map[string]string{
	"contact.birthday":    ObjectContact, // every year, on the day and month
	"orders.last_date":    ObjectContact, // the person's last order
	"deal.expected_close": ObjectDeal,    // an open deal's expected close date
}

// DateFieldNames lists DateFields in the builder's order.
var DateFieldNames = []string{"contact.birthday", "orders.last_date", "deal.expected_close"}

// ChangeFields are the fields a field_changed trigger may watch, per
// object: the names the record's update events list as changed.
var ChangeFields = map[string][]string{
	ObjectContact: {"first_name", "last_name", "emails", "phones", "birthday", "language", "source", "owner_id", "tags", "memberships", "company_ids", "custom"},
	ObjectCompany: {"name", "domain", "industry", "size", "owner_id", "tags", "custom"},
	ObjectDeal:    {"title", "value", "owner_id", "stage_id", "status", "expected_close", "source", "tags", "custom"},
	ObjectTicket:  {"status", "priority", "category", "assignee_id", "tags", "custom"},
}

// Trigger says when a workflow starts a run. Which fields apply follows
// from Kind (see the Trigger* constants); the others must be empty.
type Trigger struct {
	Kind       string `json:"kind"`
	Object     string `json:"object,omitempty"`      // record_created, record_updated, field_changed, manual
	Field      string `json:"field,omitempty"`       // field_changed: one of ChangeFields[Object]
	From       string `json:"from,omitempty"`        // field_changed: only when the old value was this (compared as text; "" any)
	To         string `json:"to,omitempty"`          // field_changed: only when the new value is this (compared as text; "" any)
	PipelineID int64  `json:"pipeline_id,omitempty"` // deal_stage
	StageID    int64  `json:"stage_id,omitempty"`    // deal_stage
	SLA        string `json:"sla,omitempty"`         // ticket_sla: warning, breach
	TierID     int64  `json:"tier_id,omitempty"`     // tier_changed (0: any change)
	HookID     int64  `json:"hook_id,omitempty"`     // webhook_received
	SegmentID  int64  `json:"segment_id,omitempty"`  // schedule: whom it runs for (a segment or a static list)
	At         string `json:"at,omitempty"`          // schedule, date: "HH:MM" in the business time zone
	// Repeat is how often a schedule fires: "" or daily, weekly (on
	// Weekdays, 0 Sunday … 6 Saturday), monthly (on MonthDay of Calendar's
	// months, gregorian or jalali; a shorter month fires on its last day).
	Repeat     string `json:"repeat,omitempty"`
	Weekdays   []int  `json:"weekdays,omitempty"`
	MonthDay   int    `json:"month_day,omitempty"`
	Calendar   string `json:"calendar,omitempty"`
	DateField  string `json:"date_field,omitempty"`  // date: one of DateFieldNames
	OffsetDays int    `json:"offset_days,omitempty"` // date: days after (>0) or before (<0) the date
}

// How often a schedule fires, and the calendars of monthly ones.
const (
	RepeatDaily       = "daily"
	RepeatWeekly      = "weekly"
	RepeatMonthly     = "monthly"
	CalendarGregorian = "gregorian"
	CalendarJalali    = "jalali"
)

// FiresOn says whether a schedule fires on the day of d (d in the
// business time zone).
func (t Trigger) FiresOn(d time.Time) bool {
	switch t.Repeat {
	case RepeatWeekly:
		return slices.Contains(t.Weekdays, int(d.Weekday()))
	case RepeatMonthly:
		day, last := d.Day(), time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
		if t.Calendar == CalendarJalali {
			var jy, jm int
			jy, jm, day = ptext.GregorianToJalali(d.Year(), int(d.Month()), d.Day())
			switch {
			case jm <= 6:
				last = 31
			case jm <= 11:
				last = 30
			case ptext.IsJalaliLeap(jy):
				last = 30
			default:
				last = 29
			}
		}
		return day == min(t.MonthDay, last)
	}
	return true
}

// RecordObject is the record type of the trigger's runs.
func (t Trigger) RecordObject() string {
	if o := TriggerObject[t.Kind]; o != "" {
		return o
	}
	if t.Kind == TriggerDate {
		return DateFields[t.DateField]
	}
	return t.Object
}

// Step kinds.
const (
	StepTask         = "create_task"   // Title, Body, DueDays, Assign (optional: who; default the record's owner)
	StepAssign       = "assign"        // Assign: the record's owner
	StepUpdateField  = "update_field"  // Field, Value
	StepAddTag       = "add_tag"       // Tag
	StepRemoveTag    = "remove_tag"    // Tag
	StepSendEmail    = "send_email"    // Content (subject, text, html per language); From*
	StepSendSMS      = "send_sms"      // Content (sms per language)
	StepAddToList    = "add_to_list"   // ListID (a static list)
	StepAwardPoints  = "award_points"  // Points, Reason
	StepDeductPoints = "deduct_points" // Points, Reason
	StepCreateTicket = "create_ticket" // Title (subject), Body, Priority, Category
	StepWebhook      = "call_webhook"  // SubscriptionID (an outbound webhook subscription: its URL and signing secret)
	StepWait         = "wait"          // Wait
	StepBranch       = "branch"        // If, Then, Else
	StepStop         = "stop"          // ends the run (completed)
)

// StepKinds lists the step kinds in the order the builder offers them.
var StepKinds = []string{StepTask, StepAssign, StepUpdateField, StepAddTag, StepRemoveTag, StepSendEmail, StepSendSMS,
	StepAddToList, StepAwardPoints, StepDeductPoints, StepCreateTicket, StepWebhook, StepWait, StepBranch, StepStop}

// UpdateFields are the fields update_field may set, per object.
var UpdateFields = map[string][]string{
	ObjectContact: {"language", "source", "birthday"},
	ObjectCompany: {"industry", "domain"},
	ObjectDeal:    {"expected_close", "source"},
	ObjectTicket:  {"priority", "category"},
}

// Assignment modes.
const (
	AssignFixed      = "fixed"       // UserID
	AssignRoundRobin = "round_robin" // in turn among UserIDs (or TeamID's members)
	AssignLeastBusy  = "least_busy"  // the one of UserIDs (or TeamID's members) with the fewest open tasks
)

// Assign chooses a user.
type Assign struct {
	Mode    string  `json:"mode"`
	UserID  int64   `json:"user_id,omitempty"`  // fixed
	UserIDs []int64 `json:"user_ids,omitempty"` // round_robin, least_busy
	TeamID  int64   `json:"team_id,omitempty"`  // round_robin, least_busy: the team's members instead of UserIDs
}

// Wait kinds.
const (
	WaitDuration  = "duration"  // Amount Units
	WaitUntilDate = "until"     // Until (RFC 3339 time, or "2026-01-31" meaning At that day in the business time zone)
	WaitCondition = "condition" // Condition met (checked every CheckMinutes), at most Amount Units
)

// Wait units.
var WaitUnits = []string{"minute", "hour", "day", "week"}

// Wait pauses a run.
type Wait struct {
	Kind         string    `json:"kind"`
	Amount       int       `json:"amount,omitempty"`
	Unit         string    `json:"unit,omitempty"`
	Until        string    `json:"until,omitempty"`
	Condition    *crm.Rule `json:"condition,omitempty"`
	CheckMinutes int       `json:"check_minutes,omitempty"` // condition: how often (default 60, at least 5)
}

// Duration is the wait's length for duration waits and the longest
// wait for condition waits.
func (w Wait) Duration() time.Duration {
	u := time.Minute
	switch w.Unit {
	case "hour":
		u = time.Hour
	case "day":
		u = 24 * time.Hour
	case "week":
		u = 7 * 24 * time.Hour
	}
	return time.Duration(w.Amount) * u
}

// Step is one action, wait or branch. Which fields apply follows from
// Kind (see the Step* constants).
type Step struct {
	Kind string `json:"kind"`
	// Name is an optional label shown in the run log and the builder.
	Name string `json:"name,omitempty"`

	Title    string  `json:"title,omitempty"`    // create_task, create_ticket (subject)
	Body     string  `json:"body,omitempty"`     // create_task, create_ticket
	DueDays  int     `json:"due_days,omitempty"` // create_task: due this many days after the step runs (0: no due date)
	Priority string  `json:"priority,omitempty"` // create_ticket
	Category string  `json:"category,omitempty"` // create_ticket
	Assign   *Assign `json:"assign,omitempty"`   // create_task (optional), assign

	Field string `json:"field,omitempty"` // update_field
	Value string `json:"value,omitempty"` // update_field

	Tag string `json:"tag,omitempty"` // add_tag, remove_tag

	Content map[string]crm.CampaignContent `json:"content,omitempty"` // send_email, send_sms: per language ("en", "fa", "ar"); the person's language, else the first of en/fa/ar present

	ListID int64 `json:"list_id,omitempty"` // add_to_list

	Points int64  `json:"points,omitempty"` // award_points, deduct_points (> 0)
	Reason string `json:"reason,omitempty"` // award_points, deduct_points: shown in the member's ledger

	SubscriptionID int64 `json:"subscription_id,omitempty"` // call_webhook

	Wait *Wait `json:"wait,omitempty"` // wait

	If   *crm.Rule `json:"if,omitempty"`   // branch: tested against the run's person
	Then []Step    `json:"then,omitempty"` // branch
	Else []Step    `json:"else,omitempty"` // branch
}

// Definition is what a workflow does: its trigger, the conditions a
// record must meet to be enrolled (and, re-checked, to go on at each
// step) and its steps.
type Definition struct {
	Trigger Trigger `json:"trigger"`
	// Conditions on the run's person in the segment condition language;
	// nil: everyone. Checked at enrolment and before every step: a run
	// whose person no longer meets them ends as "exited".
	Conditions *crm.Rule `json:"conditions,omitempty"`
	Steps      []Step    `json:"steps"`
	// Reenrol lets a record start a new run after its previous one ended.
	// Without it a record runs through a workflow once.
	Reenrol bool `json:"reenrol"`
	// MaxRunsPerDay bounds the runs one record may start in a day (1..100; default 1).
	MaxRunsPerDay int `json:"max_runs_per_day,omitempty"`
}

// Limits.
const (
	MaxSteps        = 50   // steps in a definition, branches included
	MaxDepth        = 5    // nested branches
	MaxStepsPerRun  = 200  // steps one run may execute (a guard; definitions are trees, so a run executes at most MaxSteps)
	MaxNameLength   = 200  // names, titles, tags
	MaxBodyLength   = 5000 // task and ticket bodies, message texts
	MaxPoints       = 1_000_000
	MaxWait         = 366 * 24 * time.Hour
	DefaultMaxDaily = 1
	MaxDaily        = 100
)

// Workflow statuses (of the workflow: whether it starts runs).
const (
	StatusDraft    = "draft"    // never published
	StatusEnabled  = "enabled"  // published and starting runs
	StatusDisabled = "disabled" // published, not starting runs (runs in flight go on)
)

// Workflow is a workflow with its draft and its published version.
type Workflow struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	Draft       Definition `json:"draft"`         // what the builder edits
	Published   *Version   `json:"published"`     // the version new runs start with; nil before the first publish
	HasChanges  bool       `json:"draft_changed"` // the draft differs from the published version
	Version     int64      `json:"version"`       // optimistic lock of the draft and settings
	Token       string     `json:"-"`             // reserved
	CreatedBy   int64      `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ActiveRuns  int64      `json:"active_runs"`
	FailedRuns  int64      `json:"failed_runs"`
	LastRunAt   *time.Time `json:"last_run_at"`
}

// Version is one published, immutable definition. Runs keep the
// version they started with.
type Version struct {
	ID          int64      `json:"id"`
	WorkflowID  int64      `json:"workflow_id"`
	Number      int        `json:"number"` // 1, 2, … per workflow
	Definition  Definition `json:"definition"`
	PublishedBy int64      `json:"published_by"`
	PublishedAt time.Time  `json:"published_at"`
}

// Input makes or changes a workflow's draft.
type Input struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Definition  json.RawMessage `json:"definition"`        // a Definition; may be incomplete in a draft only as far as Validate allows
	Version     int64           `json:"version,omitempty"` // updates: the version read (409 when it changed)
}

// Run statuses.
const (
	RunActive    = "active"    // waiting for its next step
	RunCompleted = "completed" // every step done
	RunExited    = "exited"    // its person stopped meeting the conditions
	RunFailed    = "failed"    // a step failed permanently; retryable
	RunCancelled = "cancelled" // stopped by a person
)

// Run is one record going through one version of a workflow.
type Run struct {
	ID         int64      `json:"id"`
	WorkflowID int64      `json:"workflow_id"`
	Workflow   string     `json:"workflow_name,omitempty"`
	VersionID  int64      `json:"version_id"`
	VersionNo  int        `json:"version_number"`
	Object     string     `json:"object"`
	RecordID   int64      `json:"record_id"`
	ContactID  int64      `json:"contact_id"` // the run's person (0: none)
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`     // why it started: "deal.won (event 41)", "manual by Sara", "schedule 2026-12-05 09:00"
	EventID    int64      `json:"event_id"`   // the event that started it (0: none)
	NextStep   string     `json:"next_step"`  // the path of the step to run next ("" when ended)
	Error      string     `json:"error"`      // the last permanent failure
	Steps      int        `json:"steps_done"` // steps executed
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	EndedAt    *time.Time `json:"ended_at"`
	Log        []RunStep  `json:"log,omitempty"` // on Get only
}

// Run step statuses.
const (
	StepPending = "pending" // enqueued (or waiting)
	StepDone    = "done"
	StepSkipped = "skipped" // nothing to do (no consent, already tagged, …); Detail says why
	StepFailed  = "failed"  // this attempt failed; retried unless permanent
)

// RunStep is one entry of a run's log: a step executed (key run + path).
type RunStep struct {
	RunID    int64      `json:"run_id"`
	Path     string     `json:"path"` // "0", "2.then.1": the step's place in the version
	Kind     string     `json:"kind"`
	Status   string     `json:"status"`
	Detail   string     `json:"detail"` // what it did or why it did not, in English
	Attempts int        `json:"attempts"`
	Error    string     `json:"error,omitempty"`
	StartAt  time.Time  `json:"started_at"`
	DoneAt   *time.Time `json:"done_at"`
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	WorkflowID int64  `json:"workflow_id,omitempty"`
	Status     string `json:"status,omitempty"`
	ContactID  int64  `json:"contact_id,omitempty"`
}

// StartInput starts a workflow by hand: on one record, or on every
// person of a segment or static list.
type StartInput struct {
	RecordID  int64 `json:"record_id,omitempty"`
	SegmentID int64 `json:"segment_id,omitempty"`
}

// StartResult says what a manual start did.
type StartResult struct {
	Started int64   `json:"started"`
	Skipped int64   `json:"skipped"` // already in an active run, not re-enrollable, over the daily limit, or not meeting the conditions
	RunIDs  []int64 `json:"run_ids"` // the first 100
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// ParseAt reads "HH:MM" as hours and minutes.
func ParseAt(s string) (h, m int, ok bool) {
	if !hhmm.MatchString(s) {
		return 0, 0, false
	}
	h, _ = strconv.Atoi(s[:2])
	m, _ = strconv.Atoi(s[3:])
	return h, m, true
}

// RuleChecker checks a condition tree and normalises its values (the
// segment module's Validate, given by internal/app).
type RuleChecker func(root crm.Rule) (crm.Rule, error)

// ParseDefinition reads a definition from JSON, refusing unknown keys.
func ParseDefinition(data []byte) (Definition, error) {
	var d Definition
	if len(strings.TrimSpace(string(data))) == 0 {
		return d, &crm.Error{Code: crm.EINVALID, Message: "The definition is missing.", Fields: map[string]string{"definition": "Give a trigger and steps."}}
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Definition{}, &crm.Error{Code: crm.EINVALID, Message: "The definition is not valid JSON.", Fields: map[string]string{"definition": crm.JSONProblem(err)}}
		}
		// Well-formed JSON that does not fit: name the exact key, with the
		// step's index ("definition.steps[2].points"), which encoding/json
		// does not give.
		field, msg := "definition", crm.JSONProblem(err)
		if path, problem, ok := jsonProblemAt(data); ok {
			field, msg = "definition."+path, problem
			if wrapper[path] {
				msg = fmt.Sprintf(`Unknown key %q: send the definition itself (its trigger, conditions and steps), not wrapped in {%q: …}.`, path, path)
			}
		}
		return Definition{}, &crm.Error{Code: crm.EINVALID, Message: "The definition has an unknown key or a value of the wrong type.", Fields: map[string]string{field: msg}}
	}
	return d, nil
}

// wrapper are the keys of a workflow (Input) around its definition: sent
// where the definition alone is expected (POST /workflows/check), they
// are explained.
var wrapper = map[string]bool{"definition": true, "name": true, "description": true, "version": true}

// Validate checks a definition; each problem is named by its path
// ("trigger.stage_id", "steps[2].points", "steps[1].then[0].tag",
// "conditions.conditions[0].value"). check validates condition trees
// (nil: they are not checked beyond their syntax). Conditions come back
// normalised.
func Validate(d *Definition, check RuleChecker) error {
	var v crm.Validation
	validateTrigger(&v, &d.Trigger)
	orders := OrderConditionsAllowed(d.Trigger)
	if d.Conditions != nil {
		checkRule(&v, "conditions", d.Conditions, check, orders)
	}
	if d.MaxRunsPerDay < 0 || d.MaxRunsPerDay > MaxDaily {
		v.Add("max_runs_per_day", "From 1 to %d.", MaxDaily)
	}
	if len(d.Steps) == 0 {
		v.Add("steps", "Add at least one step.")
	}
	n := 0
	validateSteps(&v, "steps", d.Steps, 1, &n, d.Trigger.RecordObject(), orders, check)
	if n > MaxSteps {
		v.Add("steps", "At most %d steps in all; this has %d.", MaxSteps, n)
	}
	if err := v.Err(); err != nil {
		if e, ok := err.(*crm.Error); ok {
			e.Message = "The workflow is not valid."
		}
		return err
	}
	return nil
}

func checkRule(v *crm.Validation, path string, r *crm.Rule, check RuleChecker, orders bool) {
	// Conditions on the order are checked here; the checker (the segment
	// language's) sees a placeholder in their place, so the paths of its
	// problems stay those of the tree, and gets them back after.
	if !r.IsGroup() && IsOrderField(r.Field) {
		checkOrderLeaf(v, path, r, orders)
		return
	}
	var placed [][]int
	tree := *r
	if HasOrderConditions(r) {
		tree = cloneRule(*r)
		var walk func(p string, g *crm.Rule, at []int)
		walk = func(p string, g *crm.Rule, at []int) {
			for i := range g.Conditions {
				c := &g.Conditions[i]
				cp, ci := crm.RulePath(p, i), append(slices.Clone(at), i)
				if c.IsGroup() {
					walk(cp, c, ci)
					continue
				}
				if IsOrderField(c.Field) {
					checkOrderLeaf(v, path+"."+cp, c, orders)
					placed = append(placed, ci)
				}
			}
		}
		walk("", &tree, nil)
	}
	if check == nil {
		*r = tree
		return
	}
	sent := cloneRule(tree)
	for _, at := range placed {
		*ruleAt(&sent, at) = crm.Rule{Field: "tags", Op: crm.OpIsSet}
	}
	out, err := check(sent)
	if err != nil {
		fs := crm.ErrorFields(err)
		if len(fs) == 0 {
			v.Add(path, "%s", crm.ErrorMessage(err))
		}
		for k, m := range fs {
			v.Add(path+"."+k, "%s", m)
		}
		return
	}
	for _, at := range placed {
		if c := ruleAt(&out, at); c != nil {
			*c = *ruleAt(&tree, at)
		}
	}
	*r = out
}

// cloneRule copies a condition tree (its groups' lists, not the values).
func cloneRule(r crm.Rule) crm.Rule {
	if r.Conditions != nil {
		cs := make([]crm.Rule, len(r.Conditions))
		for i, c := range r.Conditions {
			cs[i] = cloneRule(c)
		}
		r.Conditions = cs
	}
	return r
}

// ruleAt is the node of a tree at indices (nil when there is none).
func ruleAt(r *crm.Rule, at []int) *crm.Rule {
	for _, i := range at {
		if i < 0 || i >= len(r.Conditions) {
			return nil
		}
		r = &r.Conditions[i]
	}
	return r
}

func contains[T comparable](list []T, x T) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

func validateTrigger(v *crm.Validation, t *Trigger) {
	const p = "trigger."
	if !contains(TriggerKinds, t.Kind) {
		v.Add(p+"kind", "Choose one of %s.", strings.Join(TriggerKinds, ", "))
		return
	}
	switch t.Kind {
	case TriggerRecordCreated, TriggerRecordUpdated, TriggerManual:
		if !contains(Objects, t.Object) {
			v.Add(p+"object", "Choose one of %s.", strings.Join(Objects, ", "))
		}
	case TriggerFieldChanged:
		fs, ok := ChangeFields[t.Object]
		if !ok {
			v.Add(p+"object", "Choose one of contact, company, deal, ticket.")
		} else if !contains(fs, t.Field) {
			v.Add(p+"field", "Choose one of %s.", strings.Join(fs, ", "))
		}
		if utf8.RuneCountInString(t.To) > MaxNameLength {
			v.Add(p+"to", "At most %d characters.", MaxNameLength)
		}
		if utf8.RuneCountInString(t.From) > MaxNameLength {
			v.Add(p+"from", "At most %d characters.", MaxNameLength)
		}
	case TriggerDealStage:
		if t.StageID <= 0 {
			v.Add(p+"stage_id", "Choose a stage.")
		}
	case TriggerTicketSLA:
		if t.SLA != "warning" && t.SLA != "breach" {
			v.Add(p+"sla", "Choose warning or breach.")
		}
	case TriggerWebhook:
		if t.HookID <= 0 {
			v.Add(p+"hook_id", "Choose an inbound hook.")
		}
	case TriggerSchedule:
		if t.SegmentID <= 0 {
			v.Add(p+"segment_id", "Choose the segment or list it runs for.")
		}
		if _, _, ok := ParseAt(t.At); !ok {
			v.Add(p+"at", "A time of day as HH:MM, like 09:00.")
		}
		switch t.Repeat {
		case "", RepeatDaily:
		case RepeatWeekly:
			if len(t.Weekdays) == 0 {
				v.Add(p+"weekdays", "Choose at least one day of the week.")
			}
			for _, d := range t.Weekdays {
				if d < 0 || d > 6 {
					v.Add(p+"weekdays", "Days of the week are 0 (Sunday) to 6 (Saturday).")
					break
				}
			}
		case RepeatMonthly:
			if t.MonthDay < 1 || t.MonthDay > 31 {
				v.Add(p+"month_day", "A day of the month from 1 to 31.")
			}
			if t.Calendar != CalendarGregorian && t.Calendar != CalendarJalali {
				v.Add(p+"calendar", "Choose gregorian or jalali.")
			}
		default:
			v.Add(p+"repeat", "Choose daily, weekly or monthly.")
		}
	case TriggerDate:
		if _, ok := DateFields[t.DateField]; !ok {
			v.Add(p+"date_field", "Choose one of %s.", strings.Join(DateFieldNames, ", "))
		}
		if t.OffsetDays < -365 || t.OffsetDays > 365 {
			v.Add(p+"offset_days", "From -365 to 365 days.")
		}
		if _, _, ok := ParseAt(t.At); !ok {
			v.Add(p+"at", "A time of day as HH:MM, like 09:00.")
		}
	}
}

func text(v *crm.Validation, path, s string, required bool, max int) {
	s2 := strings.TrimSpace(s)
	if required && s2 == "" {
		v.Add(path, "Required.")
		return
	}
	if utf8.RuneCountInString(s) > max {
		v.Add(path, "At most %d characters.", max)
	}
}

func validateSteps(v *crm.Validation, path string, steps []Step, depth int, n *int, object string, orders bool, check RuleChecker) {
	for i := range steps {
		s := &steps[i]
		*n++
		p := fmt.Sprintf("%s[%d].", path, i)
		text(v, p+"name", s.Name, false, MaxNameLength)
		switch s.Kind {
		case StepTask:
			text(v, p+"title", s.Title, true, MaxNameLength)
			text(v, p+"body", s.Body, false, MaxBodyLength)
			if s.DueDays < 0 || s.DueDays > 3650 {
				v.Add(p+"due_days", "From 0 to 3650 days.")
			}
			if s.Assign != nil {
				validateAssign(v, p+"assign.", s.Assign)
			}
		case StepAssign:
			if s.Assign == nil {
				v.Add(p+"assign", "Say whom to assign to.")
			} else {
				validateAssign(v, p+"assign.", s.Assign)
			}
		case StepUpdateField:
			fs := UpdateFields[object]
			if !contains(fs, s.Field) {
				if len(fs) == 0 {
					v.Add(p+"field", "No field of this record type can be set by a workflow.")
				} else {
					v.Add(p+"field", "Choose one of %s.", strings.Join(fs, ", "))
				}
			}
			text(v, p+"value", s.Value, false, MaxNameLength)
		case StepAddTag, StepRemoveTag:
			text(v, p+"tag", s.Tag, true, MaxNameLength)
		case StepSendEmail, StepSendSMS:
			if len(s.Content) == 0 {
				v.Add(p+"content", "Write the message in at least one language.")
			}
			for lang, c := range s.Content {
				if lang != "en" && lang != "fa" && lang != "ar" {
					v.Add(p+"content", "Languages are en, fa and ar.")
					continue
				}
				cp := p + "content." + lang + "."
				if s.Kind == StepSendEmail {
					text(v, cp+"subject", c.Subject, true, MaxNameLength)
					if strings.TrimSpace(c.Text) == "" && strings.TrimSpace(c.HTML) == "" {
						v.Add(cp+"text", "Write the message.")
					}
					text(v, cp+"text", c.Text, false, MaxBodyLength)
					text(v, cp+"html", c.HTML, false, 4*MaxBodyLength)
				} else {
					text(v, cp+"sms", c.SMS, true, 1000)
				}
			}
		case StepAddToList:
			if s.ListID <= 0 {
				v.Add(p+"list_id", "Choose a list.")
			}
		case StepAwardPoints, StepDeductPoints:
			if s.Points <= 0 || s.Points > MaxPoints {
				v.Add(p+"points", "A whole number from 1 to %d.", MaxPoints)
			}
			text(v, p+"reason", s.Reason, false, MaxNameLength)
		case StepCreateTicket:
			text(v, p+"title", s.Title, true, MaxNameLength)
			text(v, p+"body", s.Body, false, MaxBodyLength)
			if s.Priority != "" && !contains([]string{"low", "normal", "high", "urgent"}, s.Priority) {
				v.Add(p+"priority", "Choose low, normal, high or urgent.")
			}
			text(v, p+"category", s.Category, false, MaxNameLength)
		case StepWebhook:
			if s.SubscriptionID <= 0 {
				v.Add(p+"subscription_id", "Choose a webhook.")
			}
		case StepWait:
			validateWait(v, p+"wait", s.Wait, check, orders)
		case StepBranch:
			if s.If == nil {
				v.Add(p+"if", "Give the condition.")
			} else {
				checkRule(v, p+"if", s.If, check, orders)
			}
			if depth >= MaxDepth {
				v.Add(p+"kind", "Branches nest at most %d deep.", MaxDepth)
				continue
			}
			if len(s.Then) == 0 && len(s.Else) == 0 {
				v.Add(p+"then", "Add a step to at least one side.")
			}
			validateSteps(v, p+"then", s.Then, depth+1, n, object, orders, check)
			validateSteps(v, p+"else", s.Else, depth+1, n, object, orders, check)
		case StepStop:
		default:
			v.Add(p+"kind", "Choose one of %s.", strings.Join(StepKinds, ", "))
		}
		if s.Kind != StepBranch && (len(s.Then) > 0 || len(s.Else) > 0 || s.If != nil) {
			v.Add(p+"then", "Only a branch has then and else.")
		}
	}
}

func validateAssign(v *crm.Validation, p string, a *Assign) {
	switch a.Mode {
	case AssignFixed:
		if a.UserID <= 0 {
			v.Add(p+"user_id", "Choose a user.")
		}
	case AssignRoundRobin, AssignLeastBusy:
		if len(a.UserIDs) == 0 && a.TeamID <= 0 {
			v.Add(p+"user_ids", "Choose users or a team.")
		}
		if len(a.UserIDs) > 100 {
			v.Add(p+"user_ids", "At most 100 users.")
		}
	default:
		v.Add(p+"mode", "Choose fixed, round_robin or least_busy.")
	}
}

func validateWait(v *crm.Validation, p string, w *Wait, check RuleChecker, orders bool) {
	if w == nil {
		v.Add(p, "Say how long to wait.")
		return
	}
	p += "."
	switch w.Kind {
	case WaitDuration, WaitCondition:
		if !contains(WaitUnits, w.Unit) {
			v.Add(p+"unit", "Choose one of %s.", strings.Join(WaitUnits, ", "))
		} else if w.Amount <= 0 || w.Duration() > MaxWait {
			v.Add(p+"amount", "From 1 minute to 366 days.")
		}
		if w.Kind == WaitCondition {
			if w.Condition == nil {
				v.Add(p+"condition", "Give the condition to wait for.")
			} else {
				checkRule(v, p+"condition", w.Condition, check, orders)
			}
			if w.CheckMinutes != 0 && (w.CheckMinutes < 5 || w.CheckMinutes > 7*24*60) {
				v.Add(p+"check_minutes", "From 5 minutes to a week.")
			}
		}
	case WaitUntilDate:
		if _, err := ParseUntil(w.Until, time.UTC); err != nil {
			v.Add(p+"until", "A date (2026-01-31) or a time (2026-01-31T09:00:00Z).")
		}
	default:
		v.Add(p+"kind", "Choose duration, until or condition.")
	}
}

// ParseUntil reads a wait's Until: an RFC 3339 time, or a day, meaning
// 09:00 of that day in loc.
func ParseUntil(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err != nil {
		return time.Time{}, err
	}
	return d.Add(9 * time.Hour), nil
}

// StepAt returns the step at path ("2", "2.then.0") in steps, or nil.
func StepAt(steps []Step, path string) *Step {
	parts := strings.Split(path, ".")
	cur := steps
	var s *Step
	for i := 0; i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 0 || n >= len(cur) {
			return nil
		}
		s = &cur[n]
		if i+1 == len(parts) {
			return s
		}
		if i+2 >= len(parts)+1 {
			return nil
		}
		i++
		switch parts[i] {
		case "then":
			cur = s.Then
		case "else":
			cur = s.Else
		default:
			return nil
		}
	}
	return nil
}

// NextPath returns the path of the step after the one at path once it
// is done ("" when the run ends): the next sibling, else the step after
// the enclosing branch, and so on outwards.
func NextPath(steps []Step, path string) string {
	parts := strings.Split(path, ".")
	for len(parts) > 0 {
		last, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil {
			return ""
		}
		parentPath := strings.Join(parts[:len(parts)-1], ".")
		var siblings []Step
		if len(parts) == 1 {
			siblings = steps
		} else {
			// parts[:len-1] ends with "then" or "else"
			owner := StepAt(steps, strings.Join(parts[:len(parts)-2], "."))
			if owner == nil {
				return ""
			}
			if parts[len(parts)-2] == "then" {
				siblings = owner.Then
			} else {
				siblings = owner.Else
			}
		}
		if last+1 < len(siblings) {
			if parentPath == "" {
				return strconv.Itoa(last + 1)
			}
			return parentPath + "." + strconv.Itoa(last+1)
		}
		if len(parts) == 1 {
			return ""
		}
		parts = parts[:len(parts)-2] // up to the branch step
	}
	return ""
}

// BranchPath returns the first step of a branch's side ("then"/"else")
// or, when that side is empty, the step after the branch.
func BranchPath(steps []Step, path string, then bool) string {
	s := StepAt(steps, path)
	if s == nil {
		return ""
	}
	side, list := "else", s.Else
	if then {
		side, list = "then", s.Then
	}
	if len(list) > 0 {
		return path + "." + side + ".0"
	}
	return NextPath(steps, path)
}

// WalkSteps calls fn for each step of steps and, depth first, of its
// branches' then and else, with the step's path under path
// ("steps[0].then[1]").
func WalkSteps(path string, steps []Step, fn func(path string, st *Step)) {
	for i := range steps {
		p := fmt.Sprintf("%s[%d]", path, i)
		fn(p, &steps[i])
		WalkSteps(p+".then", steps[i].Then, fn)
		WalkSteps(p+".else", steps[i].Else, fn)
	}
}
