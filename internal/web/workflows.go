package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/webhook"
	"github.com/pivand/pivand/internal/workflow"
)

// Automation (internal/workflow): the list of workflows, the form-based
// builder (workflow_form.go reads it; the segment rule editor edits its
// conditions), a workflow's page with its versions, switching it on and
// off and starting it by hand, the run log with each step, and the
// failed runs with Retry. Installed when Options.Workflows is set.

// workflowTimeline is what a run's entries on its person's timeline
// carry (workflow.TimelinePayload).
type workflowTimeline struct {
	WorkflowID int64  `json:"workflow_id"`
	Workflow   string `json:"workflow"`
	RunID      int64  `json:"run_id"`
	Object     string `json:"object"`
	RecordID   int64  `json:"record_id"`
	Path       string `json:"path"`
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	Detail     string `json:"detail"`
}

func init() {
	for _, kind := range []string{"workflow.run_started", "workflow.step", "workflow.run_ended"} {
		registerTimeline(kind, timelineRenderer{Icon: "check", Payload: func() any { return new(workflowTimeline) }})
	}
	webModules = append(webModules, webModule{
		on:     func(s *server) bool { return s.workflows != nil && s.contacts != nil },
		nav:    []navItem{{Key: "workflows.nav", Href: "/automation", Perm: crm.PermAutomation, Prefix: "/automation/"}},
		routes: workflowRoutes,
	})
}

// workflowFuncs are the automation templates' helpers.
var workflowFuncs = map[string]any{
	"list":    func(s ...string) []string { return s },
	"stepNum": stepNumber,
	"wfSay":   wfSay,
	"wfField": fieldName,
	"cond": func(ok bool, a, b string) string {
		if ok {
			return a
		}
		return b
	},
}

func workflowRoutes(s *server, mux *http.ServeMux) {
	a := crm.PermAutomation
	mux.HandleFunc("GET /automation", s.can(a, s.handleWorkflowIndex))
	mux.HandleFunc("GET /automation/{$}", s.can(a, s.handleWorkflowIndex))
	mux.HandleFunc("GET /automation/new", s.can(a, s.handleWorkflowNew))
	mux.HandleFunc("POST /automation", s.can(a, s.handleWorkflowSave))
	mux.HandleFunc("GET /automation/failed", s.can(a, s.handleWorkflowFailed))
	mux.HandleFunc("GET /automation/{id}", s.can(a, s.handleWorkflowShow))
	mux.HandleFunc("GET /automation/{id}/edit", s.can(a, s.handleWorkflowEdit))
	mux.HandleFunc("POST /automation/{id}", s.can(a, s.handleWorkflowSave))
	mux.HandleFunc("POST /automation/{id}/publish", s.can(a, s.handleWorkflowPublish))
	mux.HandleFunc("POST /automation/{id}/enabled", s.can(a, s.handleWorkflowEnabled))
	mux.HandleFunc("POST /automation/{id}/delete", s.can(a, s.handleWorkflowDelete))
	mux.HandleFunc("POST /automation/{id}/start", s.can(a, s.handleWorkflowStart))
	mux.HandleFunc("GET /automation/{id}/runs", s.can(a, s.handleWorkflowRuns))
	mux.HandleFunc("GET /automation/{id}/runs/{run}", s.can(a, s.handleWorkflowRun))
	mux.HandleFunc("POST /automation/{id}/runs/{run}/retry", s.can(a, s.handleWorkflowRetry))
	mux.HandleFunc("POST /automation/{id}/runs/{run}/cancel", s.can(a, s.handleWorkflowCancel))
}

// --- Shared pieces ---

// wfTabs are the links at the top of every automation page.
type wfTabs struct {
	Current  string // list, failed
	Failed   int64  // failed runs waiting for a retry
	Webhooks bool   // the user may open the webhook settings
}

func (s *server) wfTabs(r *http.Request, current string) wfTabs {
	t := wfTabs{Current: current, Webhooks: s.webhooks != nil && state(r).user.Can(crm.PermSettingsManage)}
	// The failed runs waiting for a retry, on every automation page (a
	// shop keeps tens of workflows, not thousands).
	if list, _, err := s.workflows.List(r.Context(), crm.Page{Limit: crm.MaxLimit}); err == nil {
		for _, wf := range list {
			t.Failed += wf.FailedRuns
		}
	}
	return t
}

// wfNames are the names a description of a trigger or a step needs.
type wfNames struct {
	stages   map[int64][2]string // stage id: pipeline, stage
	tiers    map[int64]string
	hooks    map[int64]string
	segments map[int64]string
	subs     map[int64]string
	users    map[int64]string
	teams    map[int64]string
	conds    map[string]crm.ConditionField // condition fields by name, for conditions in words
}

// wfChoices are the menus of the builder.
type wfChoices struct {
	Pipelines []*crm.Pipeline
	Tiers     []Choice
	Hooks     []*crm.InboundHook
	Segments  []*crm.Segment // dynamic
	Lists     []*crm.Segment // static
	Subs      []*crm.WebhookSubscription
	Users     []*crm.User
	Teams     []*crm.Team
}

func (s *server) wfChoices(ctx context.Context, r *http.Request) (*wfChoices, error) {
	c := &wfChoices{}
	var err error
	u := state(r).user
	if s.sales != nil && u.Can(crm.PermSalesRead) {
		if c.Pipelines, err = s.sales.Pipelines(ctx); err != nil {
			return nil, err
		}
	}
	if s.club != nil && u.Can(crm.PermClubRead) {
		progs, err := s.club.Programs(ctx)
		if err != nil {
			return nil, err
		}
		for _, pr := range progs {
			d, err := s.club.Program(ctx, pr.ID)
			if err != nil {
				return nil, err
			}
			for _, t := range d.Tiers {
				name := t.Name
				if len(progs) > 1 {
					name = pr.Name + state(r).p.Sep() + t.Name
				}
				c.Tiers = append(c.Tiers, Choice{ID: t.ID, Name: name})
			}
		}
	}
	if s.webhooks != nil && u.Can(crm.PermSettingsManage) {
		if c.Hooks, err = s.webhooks.InboundHooks(ctx); err != nil {
			return nil, err
		}
		if c.Subs, err = s.webhooks.List(ctx); err != nil {
			return nil, err
		}
	}
	if s.segmentSvc != nil && u.Can(crm.PermMarketingRead) {
		if c.Segments, err = s.allSegments(r, crm.SegmentDynamic); err != nil {
			return nil, err
		}
		if c.Lists, err = s.allSegments(r, crm.SegmentStatic); err != nil {
			return nil, err
		}
	}
	dir, err := s.users(ctx)
	if err != nil {
		return nil, err
	}
	c.Users = dir.Active
	if c.Teams, err = s.auth.ListTeams(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *wfChoices) names() *wfNames {
	n := &wfNames{stages: map[int64][2]string{}, tiers: map[int64]string{}, hooks: map[int64]string{}, segments: map[int64]string{},
		subs: map[int64]string{}, users: map[int64]string{}, teams: map[int64]string{}}
	for _, p := range c.Pipelines {
		for _, st := range p.Stages {
			n.stages[st.ID] = [2]string{p.Name, st.Name}
		}
	}
	for _, t := range c.Tiers {
		n.tiers[t.ID] = t.Name
	}
	for _, h := range c.Hooks {
		n.hooks[h.ID] = h.Name
	}
	for _, sg := range append(slices.Clone(c.Segments), c.Lists...) {
		n.segments[sg.ID] = sg.Name
	}
	for _, sb := range c.Subs {
		n.subs[sb.ID] = sb.Name
		if sb.Name == "" {
			n.subs[sb.ID] = sb.URL
		}
	}
	for _, u := range c.Users {
		n.users[u.ID] = u.Name
		if u.Name == "" {
			n.users[u.ID] = u.Email
		}
	}
	for _, t := range c.Teams {
		n.teams[t.ID] = t.Name
	}
	return n
}

// name returns a named thing's name, or its number when it is gone.
func name(p *locale.Printer, m map[int64]string, id int64) string {
	if v, ok := m[id]; ok && v != "" {
		return "«" + v + "»"
	}
	return p.T("workflows.numbered", "id", p.Digits(strconv.FormatInt(id, 10)))
}

// unitName is a unit of time for amount n: "1 day", "3 days".
func unitName(p *locale.Printer, unit string, n int) string {
	if k := "workflows.unit." + unit + "_one"; n == 1 && p.Has(k) {
		return p.T(k)
	}
	return p.T("workflows.unit." + unit)
}

// fieldName is a record field's name in the user's language (its own
// name when the catalog has none).
func fieldName(p *locale.Printer, field string) string {
	if k := "workflows.field." + field; p.Has(k) {
		return p.T(k)
	}
	return field
}

// describeTrigger says in words when a workflow starts.
func describeTrigger(p *locale.Printer, t workflow.Trigger, n *wfNames) string {
	obj := func() string { return p.T("workflows.object_in." + t.Object) }
	switch t.Kind {
	case "":
		return p.T("workflows.trigger_text.none")
	case workflow.TriggerRecordCreated, workflow.TriggerRecordUpdated, workflow.TriggerManual:
		return p.T("workflows.trigger_text."+t.Kind, "object", obj())
	case workflow.TriggerFieldChanged:
		if workflow.IsListField(t.Field) && !strings.Contains(t.From+t.To, ",") && (t.From == "") != (t.To == "") {
			// A list changes to a value when it is added, from a value when it is taken out.
			if t.To != "" {
				return p.T("workflows.trigger_text.list_added", "object", obj(), "field", fieldName(p, t.Field), "value", t.To)
			}
			return p.T("workflows.trigger_text.list_removed", "object", obj(), "field", fieldName(p, t.Field), "value", t.From)
		}
		switch {
		case t.From != "" && t.To != "":
			return p.T("workflows.trigger_text.field_changed_from_to", "object", obj(), "field", fieldName(p, t.Field), "from", t.From, "value", t.To)
		case t.From != "":
			return p.T("workflows.trigger_text.field_changed_from", "object", obj(), "field", fieldName(p, t.Field), "from", t.From)
		case t.To != "":
			return p.T("workflows.trigger_text.field_changed_to", "object", obj(), "field", fieldName(p, t.Field), "value", t.To)
		}
		return p.T("workflows.trigger_text.field_changed", "object", obj(), "field", fieldName(p, t.Field))
	case workflow.TriggerDealStage:
		if st, ok := n.stages[t.StageID]; ok {
			return p.T("workflows.trigger_text.deal_stage", "stage", "«"+st[1]+"»", "pipeline", "«"+st[0]+"»")
		}
		return p.T("workflows.trigger_text.deal_stage_id", "stage", name(p, nil, t.StageID))
	case workflow.TriggerTicketSLA:
		return p.T("workflows.trigger_text.ticket_sla_" + t.SLA)
	case workflow.TriggerTierChanged:
		if t.TierID != 0 {
			return p.T("workflows.trigger_text.tier_changed_to", "tier", name(p, n.tiers, t.TierID))
		}
	case workflow.TriggerWebhook:
		return p.T("workflows.trigger_text.webhook_received", "hook", name(p, n.hooks, t.HookID))
	case workflow.TriggerSchedule:
		switch t.Repeat {
		case workflow.RepeatWeekly:
			var days []string
			for _, d := range t.Weekdays {
				if d >= 0 && d <= 6 {
					days = append(days, p.T("weekday."+strings.ToLower(time.Weekday(d).String())))
				}
			}
			return p.T("workflows.trigger_text.schedule_weekly", "days", strings.Join(days, p.T("list.separator")), "at", p.Digits(t.At),
				"segment", name(p, n.segments, t.SegmentID))
		case workflow.RepeatMonthly:
			cal := t.Calendar
			if cal != workflow.CalendarJalali {
				cal = workflow.CalendarGregorian
			}
			return p.T("workflows.trigger_text.schedule_monthly", "day", p.Int(t.MonthDay), "calendar", p.T("workflows.calendar."+cal),
				"at", p.Digits(t.At), "segment", name(p, n.segments, t.SegmentID))
		}
		return p.T("workflows.trigger_text.schedule", "at", p.Digits(t.At), "segment", name(p, n.segments, t.SegmentID))
	case workflow.TriggerDate:
		key := "workflows.trigger_text.date_on"
		days := t.OffsetDays
		switch {
		case days > 0:
			key = "workflows.trigger_text.date_after"
		case days < 0:
			key, days = "workflows.trigger_text.date_before", -days
		}
		if days == 1 && p.Has(key+"_one") {
			key += "_one"
		}
		return p.T(key, "days", p.Int(days), "date", p.T("workflows.date."+t.DateField), "at", p.Digits(t.At))
	}
	if p.Has("workflows.trigger_text." + t.Kind) {
		return p.T("workflows.trigger_text." + t.Kind)
	}
	return t.Kind
}

// describeStep says in words what a step does.
func describeStep(p *locale.Printer, s workflow.Step, n *wfNames) string {
	who := func(a *workflow.Assign) string {
		if a == nil {
			return p.T("workflows.assign_text.owner")
		}
		switch a.Mode {
		case workflow.AssignFixed:
			return name(p, n.users, a.UserID)
		case workflow.AssignRoundRobin, workflow.AssignLeastBusy:
			var names []string
			if a.TeamID != 0 {
				names = append(names, name(p, n.teams, a.TeamID))
			}
			for _, id := range a.UserIDs {
				names = append(names, name(p, n.users, id))
			}
			return p.T("workflows.assign_text."+a.Mode, "who", strings.Join(names, p.T("list.separator")))
		}
		return a.Mode
	}
	k := "workflows.step_text." + s.Kind
	switch s.Kind {
	case workflow.StepTask:
		if s.DueDays == 1 {
			return p.T(k+"_due_one", "title", s.Title, "days", p.Int(s.DueDays), "who", who(s.Assign))
		}
		if s.DueDays > 0 {
			return p.T(k+"_due", "title", s.Title, "days", p.Int(s.DueDays), "who", who(s.Assign))
		}
		return p.T(k, "title", s.Title, "who", who(s.Assign))
	case workflow.StepAssign:
		return p.T(k, "who", who(s.Assign))
	case workflow.StepUpdateField:
		return p.T(k, "field", fieldName(p, s.Field), "value", s.Value)
	case workflow.StepAddTag, workflow.StepRemoveTag:
		return p.T(k, "tag", s.Tag)
	case workflow.StepSendEmail, workflow.StepSendSMS:
		var langs []string
		for _, l := range locale.Languages {
			if _, ok := s.Content[l.Code]; ok {
				langs = append(langs, l.Name)
			}
		}
		return p.T(k, "languages", strings.Join(langs, p.T("list.separator")))
	case workflow.StepAddToList:
		return p.T(k, "list", name(p, n.segments, s.ListID))
	case workflow.StepAwardPoints, workflow.StepDeductPoints:
		return p.T(k, "points", p.Number(s.Points))
	case workflow.StepCreateTicket:
		return p.T(k, "title", s.Title)
	case workflow.StepWebhook:
		return p.T(k, "webhook", name(p, n.subs, s.SubscriptionID))
	case workflow.StepWait:
		if s.Wait == nil {
			break
		}
		switch s.Wait.Kind {
		case workflow.WaitDuration:
			return p.T("workflows.step_text.wait_for", "n", p.Int(s.Wait.Amount), "unit", unitName(p, s.Wait.Unit, s.Wait.Amount))
		case workflow.WaitUntilDate:
			return p.T("workflows.step_text.wait_until", "date", p.Digits(s.Wait.Until))
		case workflow.WaitCondition:
			if c := describeRule(p, s.Wait.Condition, n.conds); c != "" {
				return p.T("workflows.step_text.wait_condition_if", "condition", c, "n", p.Int(s.Wait.Amount), "unit", unitName(p, s.Wait.Unit, s.Wait.Amount))
			}
			return p.T("workflows.step_text.wait_condition", "n", p.Int(s.Wait.Amount), "unit", unitName(p, s.Wait.Unit, s.Wait.Amount))
		}
	case workflow.StepBranch:
		if c := describeRule(p, s.If, n.conds); c != "" {
			return p.T("workflows.step_text.branch_if", "condition", c)
		}
		return p.T(k)
	}
	if p.Has("workflows.step." + s.Kind) {
		return p.T("workflows.step." + s.Kind)
	}
	return s.Kind
}

// --- The list ---

type workflowRow struct {
	W       *workflow.Workflow
	Trigger string
}

type workflowIndexPage struct {
	base
	Tabs  wfTabs
	Rows  []workflowRow
	Next  string
	First string
}

func (s *server) handleWorkflowIndex(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	d := &workflowIndexPage{base: s.page(r, "workflows.title"), Tabs: s.wfTabs(r, "list")}
	after := r.URL.Query().Get("after")
	list, next, err := s.workflows.List(ctx, crm.Page{Limit: 50, After: after})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	ch, err := s.wfChoices(ctx, r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	names := ch.names()
	for _, wf := range list {
		def := wf.Draft
		if wf.Published != nil {
			def = wf.Published.Definition
		}
		d.Rows = append(d.Rows, workflowRow{W: wf, Trigger: describeTrigger(p, def.Trigger, names)})
	}
	if next != "" {
		d.Next = "/automation?after=" + url.QueryEscape(next)
	}
	if after != "" {
		d.First = "/automation"
	}
	s.render(w, r, http.StatusOK, "workflows", d)
}

// --- The builder ---

type workflowEditPage struct {
	base
	Tabs     wfTabs
	WF       *workflow.Workflow // nil when new
	F        *wfForm
	C        *wfChoices
	Steps    []*stepView
	Editor   bool   // the rule editor is available (segments installed)
	Config   string // the rule editor's fields and words, without problems
	Triggers []string
	Objects  []string
	Kinds    []string
	Units    []string
	Fields   []string // fields the trigger may watch (field_changed)
	Updates  []string // fields update_field may set for the trigger's record
	Dates    []string
	Langs    []locale.Language
	HookURL  string // the address inbound hooks post to, up to the token
	Checked  bool   // the draft was checked after saving
	Weekdays []wfWeekday
}

// wfWeekday is a day of the week to tick for a weekly schedule.
type wfWeekday struct {
	N   int64 // 0 Sunday … 6 Saturday
	Key string
}

// wfWeekdays start the week on Saturday, as the Iranian week does; the
// order only matters to the eye.
var wfWeekdays = []wfWeekday{{6, "saturday"}, {0, "sunday"}, {1, "monday"}, {2, "tuesday"}, {3, "wednesday"}, {4, "thursday"}, {5, "friday"}}

// stepView is one step of the builder.
type stepView struct {
	Path   string // "2.then.0"
	Num    string // "3.1", in the user's digits
	Kind   string
	Side   string // the list it is in: "" or "2.then"
	First  bool
	Last   bool
	Depth  int
	Then   []*stepView
	Else   []*stepView
	Rules  map[string]string // the condition editors' configurations with their problems, by field ("if", "wait.condition")
	NameOf string            // the step's form field prefix, "s.2.then.0."
}

// sideView names a branch's side for the template.
func (v *stepView) ThenSide() string { return v.Path + ".then" }
func (v *stepView) ElseSide() string { return v.Path + ".else" }

func (s *server) buildSteps(r *http.Request, f *wfForm, steps []workflow.Step, side string, depth int) ([]*stepView, error) {
	p := state(r).p
	var out []*stepView
	for i, st := range steps {
		path := strconv.Itoa(i)
		if side != "" {
			path = side + "." + path
		}
		v := &stepView{Path: path, Num: stepNumber(p, path), Kind: st.Kind, Side: side, First: i == 0, Last: i == len(steps)-1, Depth: depth,
			Rules: map[string]string{}, NameOf: "s." + path + "."}
		for _, rf := range []string{"if", "wait.condition"} {
			if (rf == "if" && st.Kind == workflow.StepBranch) || (rf == "wait.condition" && st.Wait != nil && st.Wait.Kind == workflow.WaitCondition) {
				cfg, err := s.wfEditorConfig(r, f, f.RuleErrs[v.NameOf+rf])
				if err != nil {
					return nil, err
				}
				v.Rules[rf] = cfg
			}
		}
		if st.Kind == workflow.StepBranch {
			var err error
			if v.Then, err = s.buildSteps(r, f, st.Then, path+".then", depth+1); err != nil {
				return nil, err
			}
			if v.Else, err = s.buildSteps(r, f, st.Else, path+".else", depth+1); err != nil {
				return nil, err
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// HasChoice reports whether a comma-separated list holds id.
func (d *workflowEditPage) HasChoice(list string, id int64) bool {
	return slices.Contains(strings.Split(list, ","), strconv.FormatInt(id, 10))
}

func (s *server) renderBuilder(w http.ResponseWriter, r *http.Request, status int, wf *workflow.Workflow, f *wfForm) {
	ctx := r.Context()
	title := "workflows.new_title"
	if wf != nil {
		title = "workflows.edit_title"
	}
	d := &workflowEditPage{base: s.page(r, title), Tabs: s.wfTabs(r, ""), WF: wf, F: f, Editor: s.segmentSvc != nil,
		Triggers: workflow.TriggerKinds, Objects: workflow.Objects, Kinds: workflow.StepKinds, Units: workflow.WaitUnits,
		Dates: workflow.DateFieldNames, Langs: locale.Languages, HookURL: webhook.InboundPath, Weekdays: wfWeekdays}
	if wf != nil {
		d.Title = wf.Name
	}
	if r.Method != http.MethodGet {
		if wf != nil {
			d.Path = fmt.Sprintf("/automation/%d/edit", wf.ID)
		} else {
			d.Path = "/automation/new"
		}
	}
	var err error
	if d.C, err = s.wfChoices(ctx, r); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Fields = workflow.ChangeFields[f.Def.Trigger.Object]
	d.Updates = workflow.UpdateFields[f.Def.Trigger.RecordObject()]
	if d.Config, err = s.wfEditorConfig(r, f, f.RuleErrs["conditions"]); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Steps, err = s.buildSteps(r, f, f.Def.Steps, "", 0); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "workflow_form", d)
}

// builderForm is the form of a stored draft.
func builderForm(p *locale.Printer, wf *workflow.Workflow) *wfForm {
	f := &wfForm{form: form{Errors: map[string]string{}}, Def: wf.Draft, RuleErrs: map[string][]ruleError{}}
	f.Values = definitionValues(p, &f.Def, map[string]string{"name": wf.Name, "description": wf.Description, "version": strconv.FormatInt(wf.Version, 10)})
	return f
}

func (s *server) handleWorkflowNew(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := &wfForm{form: form{Errors: map[string]string{}}, RuleErrs: map[string][]ruleError{}}
	f.Def.Trigger = workflow.Trigger{Kind: workflow.TriggerDealWon}
	if k := r.URL.Query().Get("trigger"); slices.Contains(workflow.TriggerKinds, k) {
		f.Def.Trigger = workflow.Trigger{Kind: k, Object: workflow.ObjectContact}
	}
	f.Values = definitionValues(p, &f.Def, nil)
	s.renderBuilder(w, r, http.StatusOK, nil, f)
}

// workflowFromPath reads the workflow named by the path's {id}.
func (s *server) workflowFromPath(w http.ResponseWriter, r *http.Request) (*workflow.Workflow, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return nil, false
	}
	wf, err := s.workflows.Get(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return nil, false
	}
	return wf, true
}

func (s *server) handleWorkflowEdit(w http.ResponseWriter, r *http.Request) {
	wf, ok := s.workflowFromPath(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := builderForm(p, wf)
	if r.URL.Query().Get("check") == "1" {
		// After saving: what is still to do before publishing.
		def, _ := json.Marshal(wf.Draft)
		if _, err := s.workflows.Check(r.Context(), def); err != nil {
			if crm.ErrorCode(err) != crm.EINVALID {
				s.renderError(w, r, err)
				return
			}
			f.fail(p, err)
			f.Error = &message{Text: p.T("workflows.error.before_publish")}
		}
	}
	s.renderBuilder(w, r, http.StatusOK, wf, f)
}

// handleWorkflowSave is every button of the builder: the ops that only
// change the form, saving the draft, and saving and publishing it.
func (s *server) handleWorkflowSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	var wf *workflow.Workflow
	if r.PathValue("id") != "" {
		var ok bool
		if wf, ok = s.workflowFromPath(w, r); !ok {
			return
		}
	}
	f := readBuilder(r, p)
	op := r.PostFormValue("op")
	if op != "save" && op != "publish" {
		f.applyOp(op)
		f.Values = definitionValues(p, &f.Def, f.Values)
		f.Errors = map[string]string{}
		s.renderBuilder(w, r, http.StatusOK, wf, f)
		return
	}
	def, err := json.Marshal(f.Def)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	version, _ := strconv.ParseInt(f.V("version"), 10, 64)
	in := workflow.Input{Name: f.V("name"), Description: f.V("description"), Definition: def, Version: version}
	var saved *workflow.Workflow
	if wf == nil {
		saved, err = s.workflows.Create(ctx, in)
	} else {
		saved, err = s.workflows.Update(ctx, wf.ID, in)
	}
	if err == nil && len(f.Errors) > 0 {
		// A number that was not a number: the draft is saved without it;
		// say so beside the field.
		f.Values["version"] = strconv.FormatInt(saved.Version, 10)
		f.Error = &message{Text: p.T("workflows.error.invalid")}
		s.renderBuilder(w, r, http.StatusUnprocessableEntity, saved, f)
		return
	}
	if err != nil {
		switch crm.ErrorCode(err) {
		case crm.EINVALID:
			if op == "publish" {
				// The draft was not saved (its name, say): name every
				// problem publishing would find too, not one at a time.
				err = mergeInvalid(err, s.workflowCheck(ctx, def))
			}
			f.fail(p, err)
			s.renderBuilder(w, r, http.StatusUnprocessableEntity, wf, f)
		case crm.ECONFLICT:
			f.Error = &message{Text: p.T("workflows.error.conflict")}
			s.renderBuilder(w, r, http.StatusConflict, wf, f)
		default:
			s.renderError(w, r, err)
		}
		return
	}
	if op == "publish" {
		pub, err := s.workflows.Publish(ctx, saved.ID, saved.Version)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID {
				s.renderError(w, r, err)
				return
			}
			f.Values["version"] = strconv.FormatInt(saved.Version, 10)
			f.fail(p, err)
			f.Error.Text = p.T("workflows.error.not_published")
			s.renderBuilder(w, r, http.StatusUnprocessableEntity, saved, f)
			return
		}
		redirect(w, r, fmt.Sprintf("/automation/%d", pub.ID), "workflow_published")
		return
	}
	redirect(w, r, fmt.Sprintf("/automation/%d/edit?check=1", saved.ID), "workflow_saved")
}

// workflowCheck validates a definition as publishing would; nil when
// it is valid or the check itself failed.
func (s *server) workflowCheck(ctx context.Context, def []byte) error {
	_, err := s.workflows.Check(ctx, def)
	if crm.ErrorCode(err) != crm.EINVALID {
		return nil
	}
	return err
}

// mergeInvalid adds the field problems of more to err's.
func mergeInvalid(err, more error) error {
	if more == nil {
		return err
	}
	fields := map[string]string{}
	for k, v := range crm.ErrorFields(more) {
		fields[k] = v
	}
	for k, v := range crm.ErrorFields(err) {
		fields[k] = v
	}
	return &crm.Error{Code: crm.EINVALID, Message: crm.ErrorMessage(err), Fields: fields}
}

// --- A workflow's page ---

type workflowShowPage struct {
	base
	Tabs      wfTabs
	WF        *workflow.Workflow
	Trigger   string
	Only      string          // the conditions in words ("" for none)
	Steps     []describedStep // the published version's (else the draft's)
	Versions  []*workflow.Version
	Runs      []*workflow.Run
	Manual    bool // started by hand on a record
	Object    string
	Segments  []*crm.Segment
	Lists     []*crm.Segment
	StartForm form
	Started   *workflow.StartResult
	HookURL   string
	HookID    int64
	HookName  string
	Records   map[string]string
}

// describedStep is a step in words with its place.
type describedStep struct {
	Num   string
	Depth int
	Text  string
	Side  string // then, else: the first step of a branch's side
	Empty bool   // a side without steps
}

func describeSteps(p *locale.Printer, steps []workflow.Step, n *wfNames) []describedStep {
	var out []describedStep
	var walk func(prefix string, steps []workflow.Step, depth int)
	walk = func(prefix string, steps []workflow.Step, depth int) {
		for i, st := range steps {
			path := strconv.Itoa(i)
			if prefix != "" {
				path = prefix + "." + path
			}
			out = append(out, describedStep{Num: stepNumber(p, path), Depth: depth, Text: describeStep(p, st, n)})
			if st.Kind == workflow.StepBranch {
				out = append(out, describedStep{Depth: depth + 1, Side: "then", Empty: len(st.Then) == 0})
				walk(path+".then", st.Then, depth+1)
				out = append(out, describedStep{Depth: depth + 1, Side: "else", Empty: len(st.Else) == 0})
				walk(path+".else", st.Else, depth+1)
			}
		}
	}
	walk("", steps, 0)
	return out
}

func (s *server) workflowShow(w http.ResponseWriter, r *http.Request, status int, wf *workflow.Workflow, sf form, started *workflow.StartResult) {
	ctx := r.Context()
	p := state(r).p
	d := &workflowShowPage{base: s.page(r, "workflows.title"), Tabs: s.wfTabs(r, ""), WF: wf, StartForm: sf, Started: started}
	d.Title = wf.Name
	if r.Method != http.MethodGet {
		d.Path = fmt.Sprintf("/automation/%d", wf.ID)
	}
	ch, err := s.wfChoices(ctx, r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	names := ch.names()
	names.conds = s.condFields(ctx)
	def := wf.Draft
	if wf.Published != nil {
		def = wf.Published.Definition
	}
	d.Trigger = describeTrigger(p, def.Trigger, names)
	d.Only = describeRule(p, def.Conditions, names.conds)
	d.Steps = describeSteps(p, def.Steps, names)
	d.Manual = def.Trigger.Kind == workflow.TriggerManual
	d.Object = def.Trigger.RecordObject()
	d.Segments, d.Lists = ch.Segments, ch.Lists
	if def.Trigger.Kind == workflow.TriggerWebhook {
		d.HookID, d.HookName = def.Trigger.HookID, names.hooks[def.Trigger.HookID]
		for _, h := range ch.Hooks {
			if h.ID == def.Trigger.HookID {
				d.HookURL = webhook.InboundPath + "pvh_" + h.TokenPrefix + "…"
			}
		}
	}
	if d.Versions, err = s.workflows.Versions(ctx, wf.ID); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Runs, _, err = s.workflows.Runs(ctx, workflow.RunFilter{WorkflowID: wf.ID}, crm.Page{Limit: 10}); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Records = s.runRecords(ctx, d.Runs)
	s.render(w, r, status, "workflow", d)
}

func (s *server) handleWorkflowShow(w http.ResponseWriter, r *http.Request) {
	wf, ok := s.workflowFromPath(w, r)
	if !ok {
		return
	}
	s.workflowShow(w, r, http.StatusOK, wf, form{Values: map[string]string{}}, nil)
}

func (s *server) handleWorkflowPublish(w http.ResponseWriter, r *http.Request) {
	wf, ok := s.workflowFromPath(w, r)
	if !ok {
		return
	}
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if _, err := s.workflows.Publish(r.Context(), wf.ID, version); err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			// Show the problems in the builder, beside their fields.
			p := state(r).p
			f := builderForm(p, wf)
			f.fail(p, err)
			f.Error.Text = p.T("workflows.error.not_published")
			s.renderBuilder(w, r, http.StatusUnprocessableEntity, wf, f)
			return
		}
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/automation/%d", wf.ID), "workflow_published")
}

func (s *server) handleWorkflowEnabled(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	on := r.PostFormValue("on") == "1"
	if _, err := s.workflows.SetEnabled(r.Context(), id, on); err != nil {
		s.renderError(w, r, err)
		return
	}
	notice := "workflow_disabled"
	if on {
		notice = "workflow_enabled"
	}
	back := fmt.Sprintf("/automation/%d", id)
	if r.PostFormValue("back") == "list" {
		back = "/automation"
	}
	redirect(w, r, back, notice)
}

func (s *server) handleWorkflowDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.workflows.Delete(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/automation", "workflow_deleted")
}

// handleWorkflowStart starts a workflow by hand: on a record (its number,
// or a person found by name, email or phone), or on everyone in a
// segment or list. From a person's page it goes back there.
func (s *server) handleWorkflowStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	id, ok := pathID(r)
	if v := r.PostFormValue("workflow"); v != "" { // the person's page chooses among several
		id, _ = strconv.ParseInt(v, 10, 64)
		ok = id > 0
	}
	if !ok {
		s.notFound(w, r)
		return
	}
	wf, err := s.workflows.Get(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := newForm(r, "record", "segment_id", "back")
	var in workflow.StartInput
	if v := f.V("segment_id"); v != "" && f.V("record") == "" {
		in.SegmentID, _ = strconv.ParseInt(v, 10, 64)
	} else if v := f.V("record"); v != "" {
		if id, err := p.ParseInt(strings.TrimPrefix(v, "#")); err == nil {
			in.RecordID = id
		} else if wf.Published != nil && wf.Published.Definition.Trigger.RecordObject() == workflow.ObjectContact {
			// A person by name, email or phone: the first match.
			found, _, err := s.contacts.ListContacts(ctx, crm.ContactFilter{Q: v, Limit: 2})
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			if len(found) == 0 {
				f.invalid(p, "record", "workflows.error.no_person")
				s.workflowShow(w, r, http.StatusUnprocessableEntity, wf, f, nil)
				return
			}
			if len(found) > 1 {
				f.invalid(p, "record", "workflows.error.many_people")
				s.workflowShow(w, r, http.StatusUnprocessableEntity, wf, f, nil)
				return
			}
			in.RecordID = found[0].ID
		} else {
			f.invalid(p, "record", "workflows.error.record")
			s.workflowShow(w, r, http.StatusUnprocessableEntity, wf, f, nil)
			return
		}
	}
	res, err := s.workflows.Start(ctx, wf.ID, in)
	if back := f.V("back"); strings.HasPrefix(back, "/contacts/") && err == nil {
		notice := "workflow_started"
		if res.Started == 0 {
			notice = "workflow_not_started"
		}
		http.Redirect(w, r, localPath(back)+"?notice="+notice+"#automation", http.StatusSeeOther)
		return
	}
	if err != nil {
		if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT && code != crm.ENOTFOUND {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"record_id": "workflows.error.record", "segment_id": "workflows.error.segment_id"})
		if msg := f.E("record_id"); msg != "" {
			f.Errors["record"] = msg
		}
		s.workflowShow(w, r, problem.Status(err), wf, f, nil)
		return
	}
	s.workflowShow(w, r, http.StatusOK, wf, form{Values: map[string]string{}}, res)
}

// --- Runs ---

type workflowRunsPage struct {
	base
	Tabs     wfTabs
	WF       *workflow.Workflow // nil: failed runs of every workflow
	Runs     []*workflow.Run
	Status   string
	Statuses []string
	Next     string
	First    string
	Records  map[string]string // "contact:12": the record's name
}

var runStatuses = []string{workflow.RunActive, workflow.RunCompleted, workflow.RunExited, workflow.RunFailed, workflow.RunCancelled}

func (s *server) runsPage(w http.ResponseWriter, r *http.Request, wf *workflow.Workflow, status string) {
	ctx := r.Context()
	d := &workflowRunsPage{base: s.page(r, "workflows.runs_title"), Tabs: s.wfTabs(r, ""), WF: wf, Status: status, Statuses: runStatuses}
	filter := workflow.RunFilter{Status: status}
	base := "/automation/failed?"
	if wf != nil {
		d.Title = wf.Name
		filter.WorkflowID = wf.ID
		base = fmt.Sprintf("/automation/%d/runs?status=%s&", wf.ID, status)
	} else {
		d.Tabs.Current = "failed"
		d.Title = d.L.T("workflows.failed_title")
	}
	after := r.URL.Query().Get("after")
	runs, next, err := s.workflows.Runs(ctx, filter, crm.Page{Limit: 50, After: after})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Runs = runs
	if next != "" {
		d.Next = base + "after=" + url.QueryEscape(next)
	}
	if after != "" {
		d.First = strings.TrimSuffix(strings.TrimSuffix(base, "&"), "?")
	}
	d.Records = s.runRecords(ctx, runs)
	s.render(w, r, http.StatusOK, "workflow_runs", d)
}

// runRecords names the people of runs (their contact), for the log.
func (s *server) runRecords(ctx context.Context, runs []*workflow.Run) map[string]string {
	out := map[string]string{}
	for _, run := range runs {
		if run.ContactID == 0 {
			continue
		}
		k := "contact:" + strconv.FormatInt(run.ContactID, 10)
		if _, ok := out[k]; ok {
			continue
		}
		if c, err := s.contacts.FindContactByID(ctx, run.ContactID); err == nil {
			out[k] = c.DisplayName()
		}
	}
	return out
}

func (s *server) handleWorkflowRuns(w http.ResponseWriter, r *http.Request) {
	wf, ok := s.workflowFromPath(w, r)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	if !slices.Contains(runStatuses, status) {
		status = ""
	}
	s.runsPage(w, r, wf, status)
}

func (s *server) handleWorkflowFailed(w http.ResponseWriter, r *http.Request) {
	s.runsPage(w, r, nil, workflow.RunFailed)
}

type workflowRunPage struct {
	base
	Tabs   wfTabs
	WF     *workflow.Workflow
	Run    *workflow.Run
	Steps  []runStepRow
	Record string
}

// runStepRow is a log entry with its step's number and words.
type runStepRow struct {
	workflow.RunStep
	Num  string
	Text string
	Said wfText // the detail, with names and a link (wfSayNamed)
}

func (s *server) handleWorkflowRun(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	wf, ok := s.workflowFromPath(w, r)
	if !ok {
		return
	}
	runID, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || runID <= 0 {
		s.notFound(w, r)
		return
	}
	run, err := s.workflows.Run(ctx, runID)
	if err == nil && run.WorkflowID != wf.ID {
		err = &crm.Error{Code: crm.ENOTFOUND, Message: "No such run of this workflow."}
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &workflowRunPage{base: s.page(r, "workflows.run_title"), Tabs: s.wfTabs(r, ""), WF: wf, Run: run}
	d.Title = p.T("workflows.run_heading", "id", p.Digits(strconv.FormatInt(run.ID, 10)))
	ch, err := s.wfChoices(ctx, r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	names := ch.names()
	names.conds = s.condFields(ctx)
	// The run's version: the steps it ran are described from it.
	var def *workflow.Definition
	if vs, err := s.workflows.Versions(ctx, wf.ID); err == nil {
		for _, v := range vs {
			if v.ID == run.VersionID {
				def = &v.Definition
			}
		}
	}
	for _, st := range run.Log {
		row := runStepRow{RunStep: st, Num: stepNumber(p, st.Path), Text: p.T("workflows.step." + st.Kind), Said: wfSayNamed(p, st.Detail, names)}
		if def != nil {
			if step := workflow.StepAt(def.Steps, st.Path); step != nil {
				row.Text = describeStep(p, *step, names)
			}
		}
		d.Steps = append(d.Steps, row)
	}
	if rec := s.runRecords(ctx, []*workflow.Run{run}); len(rec) > 0 {
		d.Record = rec["contact:"+strconv.FormatInt(run.ContactID, 10)]
	}
	s.render(w, r, http.StatusOK, "workflow_run", d)
}

func (s *server) runAction(w http.ResponseWriter, r *http.Request, act func(ctx context.Context, id int64) (*workflow.Run, error), notice string) {
	id, ok := pathID(r)
	runID, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if !ok || err != nil || runID <= 0 {
		s.notFound(w, r)
		return
	}
	if _, err := act(r.Context(), runID); err != nil {
		s.renderError(w, r, err)
		return
	}
	back := fmt.Sprintf("/automation/%d/runs/%d", id, runID)
	if r.PostFormValue("back") == "failed" {
		back = "/automation/failed"
	}
	redirect(w, r, back, notice)
}

func (s *server) handleWorkflowRetry(w http.ResponseWriter, r *http.Request) {
	s.runAction(w, r, s.workflows.Retry, "run_retried")
}

func (s *server) handleWorkflowCancel(w http.ResponseWriter, r *http.Request) {
	s.runAction(w, r, s.workflows.Cancel, "run_cancelled")
}

// --- On a person's page ---

// contactAutomation is the automation card of a person's page: the
// workflows that can be started on a person by hand, and the person's
// recent runs.
type contactAutomation struct {
	Manual []*workflow.Workflow
	Runs   []*workflow.Run
}

func (s *server) contactAutomation(r *http.Request, contactID int64) *contactAutomation {
	if s.workflows == nil || !state(r).user.Can(crm.PermAutomation) {
		return nil
	}
	ctx := r.Context()
	out := &contactAutomation{}
	list, _, err := s.workflows.List(ctx, crm.Page{Limit: crm.MaxLimit})
	if err != nil {
		s.log.WarnContext(ctx, "web: workflows for a person's page", "err", err)
		return nil
	}
	for _, wf := range list {
		if wf.Status == workflow.StatusEnabled && wf.Published != nil {
			// Workflows about people: those made to be started by hand
			// first, then the others (a person can be run through any).
			if wf.Published.Definition.Trigger.RecordObject() == workflow.ObjectContact {
				if wf.Published.Definition.Trigger.Kind == workflow.TriggerManual {
					out.Manual = append([]*workflow.Workflow{wf}, out.Manual...)
				} else {
					out.Manual = append(out.Manual, wf)
				}
			}
		}
	}
	out.Runs, _, err = s.workflows.Runs(ctx, workflow.RunFilter{ContactID: contactID}, crm.Page{Limit: 5})
	if err != nil {
		s.log.WarnContext(ctx, "web: a person's workflow runs", "err", err)
	}
	return out
}
