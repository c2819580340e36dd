package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/workflow"
)

// The workflow builder's form (workflows.go shows it): a definition
// written as flat form fields, so that it works without JavaScript.
//
//	name, description, version
//	trigger.kind, trigger.object, trigger.stage_id, … (workflow.Trigger's JSON names)
//	conditions                the condition tree as JSON (the segment rule editor)
//	reenrol, max_runs_per_day
//	step                      one per step, its path, in document order ("0", "1", "1.then.0")
//	s.<path>.kind, s.<path>.title, s.<path>.assign.mode, s.<path>.wait.amount,
//	s.<path>.content.fa.subject, s.<path>.if (JSON) …
//
// The buttons carry an op: save, publish, refresh (the shape of the form
// follows a changed menu), add:<side> with add_kind.<side> ("" is the top
// list, "2.then" a branch's side), remove:<path>, up:<path>, down:<path>.
// Every op but save and publish only re-renders the form.

// wfForm is the builder's state: what was typed, read into a definition,
// and what is wrong with it.
type wfForm struct {
	form
	Def      workflow.Definition
	RuleErrs map[string][]ruleError // by rule field: "conditions", "s.2.if", "s.3.wait.condition"
	Summary  []wfProblem            // every problem, in order, for the list above the form
	Focus    string                 // the field to focus after an op
}

// wfProblem is one problem in the list above the form.
type wfProblem struct {
	Where   string // "Step 2 · Points"
	Anchor  string // the field's id
	Message string
}

// emptyRule is the editor's tree when there are no conditions.
const emptyRule = `{"match":"all","conditions":[]}`

// ruleJSON writes a condition tree for the editor.
func ruleJSON(r *crm.Rule) string {
	if r == nil {
		return emptyRule
	}
	b, err := json.Marshal(r)
	if err != nil {
		return emptyRule
	}
	return string(b)
}

// parseRule reads the editor's tree; an empty tree is nil (no conditions).
func parseRule(s string) (*crm.Rule, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	var r crm.Rule
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, false
	}
	if len(r.Conditions) == 0 && r.Field == "" {
		return nil, true
	}
	return &r, true
}

// readBuilder reads the posted builder.
func readBuilder(r *http.Request, p *locale.Printer) *wfForm {
	r.ParseForm()
	f := &wfForm{form: form{Values: map[string]string{}, Errors: map[string]string{}}, RuleErrs: map[string][]ruleError{}}
	for k, vs := range r.PostForm {
		if k == "csrf" || k == "op" || len(vs) == 0 {
			continue
		}
		if strings.HasSuffix(k, ".user_ids") || k == "trigger.weekdays" {
			f.Values[k] = strings.Join(vs, ",")
			continue
		}
		f.Values[k] = strings.TrimSpace(vs[0])
	}
	num := func(name string) int64 {
		v := f.V(name)
		if v == "" {
			return 0
		}
		n, err := p.ParseInt(v)
		if err != nil {
			f.Errors[name] = p.T("workflows.error.number")
			return 0
		}
		return n
	}
	d := &f.Def
	t := &d.Trigger
	t.Kind = f.V("trigger.kind")
	switch t.Kind {
	case workflow.TriggerRecordCreated, workflow.TriggerRecordUpdated, workflow.TriggerManual:
		t.Object = f.V("trigger.object")
	case workflow.TriggerFieldChanged:
		t.Object, t.Field, t.To = f.V("trigger.object"), f.V("trigger.field"), f.V("trigger.to")
	case workflow.TriggerDealStage:
		t.StageID = num("trigger.stage_id")
	case workflow.TriggerTicketSLA:
		t.SLA = f.V("trigger.sla")
	case workflow.TriggerTierChanged:
		t.TierID = num("trigger.tier_id")
	case workflow.TriggerWebhook:
		t.HookID = num("trigger.hook_id")
	case workflow.TriggerSchedule:
		t.SegmentID, t.At = num("trigger.segment_id"), f.V("trigger.at")
		t.Repeat = f.V("trigger.repeat")
		switch t.Repeat {
		case workflow.RepeatWeekly:
			for _, d := range strings.Split(f.V("trigger.weekdays"), ",") {
				if n, err := strconv.Atoi(d); err == nil {
					t.Weekdays = append(t.Weekdays, n)
				}
			}
		case workflow.RepeatMonthly:
			t.MonthDay, t.Calendar = int(num("trigger.month_day")), f.V("trigger.calendar")
		}
	case workflow.TriggerDate:
		t.DateField, t.OffsetDays, t.At = f.V("trigger.date_field"), int(num("trigger.offset_days")), f.V("trigger.at")
	}
	t.At = latinDigits(t.At)
	if rule, ok := parseRule(f.V("conditions")); ok {
		d.Conditions = rule
	} else {
		f.RuleErrs["conditions"] = append(f.RuleErrs["conditions"], ruleError{Message: p.T("workflows.error.rules_json")})
	}
	d.Reenrol = f.V("reenrol") == "1"
	d.MaxRunsPerDay = int(num("max_runs_per_day"))

	// The steps: each path's list of children, in document order.
	children := map[string][]string{}
	for _, path := range r.PostForm["step"] {
		parent, _, ok := splitPath(path)
		if !ok {
			continue
		}
		children[parent] = append(children[parent], path)
	}
	var build func(side string) []workflow.Step
	build = func(side string) []workflow.Step {
		var out []workflow.Step
		for _, path := range children[side] {
			s := f.readStep(p, path, num)
			if s.Kind == workflow.StepBranch {
				s.Then, s.Else = build(path+".then"), build(path+".else")
			}
			out = append(out, s)
		}
		return out
	}
	d.Steps = build("")
	return f
}

// latinDigits writes Persian and Arabic-Indic digits as Latin ones.
func latinDigits(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '۰' && r <= '۹':
			return '0' + (r - '۰')
		case r >= '٠' && r <= '٩':
			return '0' + (r - '٠')
		}
		return r
	}, s)
}

// splitPath splits "2.then.1" into its side ("2.then") and index (1).
func splitPath(path string) (side string, i int, ok bool) {
	parts := strings.Split(path, ".")
	if len(parts)%2 == 0 {
		return "", 0, false
	}
	for j, part := range parts {
		if j%2 == 1 {
			if part != "then" && part != "else" {
				return "", 0, false
			}
			continue
		}
		if n, err := strconv.Atoi(part); err != nil || n < 0 || n > 1000 {
			return "", 0, false
		}
	}
	i, _ = strconv.Atoi(parts[len(parts)-1])
	return strings.Join(parts[:len(parts)-1], "."), i, true
}

// readStep reads the step at path from the form's fields.
func (f *wfForm) readStep(p *locale.Printer, path string, num func(string) int64) workflow.Step {
	n := "s." + path + "."
	v := func(name string) string { return f.V(n + name) }
	s := workflow.Step{Kind: v("kind"), Name: v("name")}
	assign := func(optional bool) {
		mode := v("assign.mode")
		if optional && mode == "" {
			return
		}
		a := &workflow.Assign{Mode: mode}
		switch mode {
		case workflow.AssignFixed:
			a.UserID = num(n + "assign.user_id")
		default:
			a.TeamID = num(n + "assign.team_id")
			for _, id := range strings.Split(v("assign.user_ids"), ",") {
				if id, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64); err == nil && id > 0 {
					a.UserIDs = append(a.UserIDs, id)
				}
			}
		}
		s.Assign = a
	}
	switch s.Kind {
	case workflow.StepTask:
		s.Title, s.Body, s.DueDays = v("title"), v("body"), int(num(n+"due_days"))
		assign(true)
	case workflow.StepAssign:
		assign(false)
	case workflow.StepUpdateField:
		s.Field, s.Value = v("field"), v("value")
	case workflow.StepAddTag, workflow.StepRemoveTag:
		s.Tag = v("tag")
	case workflow.StepSendEmail, workflow.StepSendSMS:
		s.Content = map[string]crm.CampaignContent{}
		for _, l := range locale.Languages {
			c := crm.CampaignContent{Subject: v("content." + l.Code + ".subject"), Text: v("content." + l.Code + ".text"), SMS: v("content." + l.Code + ".sms")}
			if s.Kind == workflow.StepSendSMS {
				c.Subject, c.Text = "", ""
			} else {
				c.SMS = ""
			}
			if c != (crm.CampaignContent{}) {
				s.Content[l.Code] = c
			}
		}
	case workflow.StepAddToList:
		s.ListID = num(n + "list_id")
	case workflow.StepAwardPoints, workflow.StepDeductPoints:
		s.Points, s.Reason = num(n+"points"), v("reason")
	case workflow.StepCreateTicket:
		s.Title, s.Body, s.Priority, s.Category = v("title"), v("body"), v("priority"), v("category")
	case workflow.StepWebhook:
		s.SubscriptionID = num(n + "subscription_id")
	case workflow.StepWait:
		w := &workflow.Wait{Kind: v("wait.kind")}
		switch w.Kind {
		case workflow.WaitDuration, workflow.WaitCondition:
			w.Amount, w.Unit = int(num(n+"wait.amount")), v("wait.unit")
			if w.Kind == workflow.WaitCondition {
				rule, ok := parseRule(v("wait.condition"))
				if !ok {
					f.RuleErrs[n+"wait.condition"] = append(f.RuleErrs[n+"wait.condition"], ruleError{Message: p.T("workflows.error.rules_json")})
				}
				if rule == nil {
					rule = &crm.Rule{Match: crm.MatchAll}
				}
				w.Condition = rule
				w.CheckMinutes = int(num(n + "wait.check_minutes"))
			}
		case workflow.WaitUntilDate:
			w.Until = latinDigits(v("wait.until"))
			if w.Until != "" {
				// A date typed in the user's calendar (a Jalali date for a
				// Persian user) is stored as a Gregorian day.
				if t, err := p.ParseDate(w.Until); err == nil {
					w.Until = t.Format("2006-01-02")
				}
			}
		}
		s.Wait = w
	case workflow.StepBranch:
		rule, ok := parseRule(v("if"))
		if !ok {
			f.RuleErrs[n+"if"] = append(f.RuleErrs[n+"if"], ruleError{Message: p.T("workflows.error.rules_json")})
		}
		s.If = rule
	}
	return s
}

// stepList returns the list a side names: "" the top list, "2.then" the
// then side of the branch at 2; nil when there is no such branch.
func stepList(steps *[]workflow.Step, side string) *[]workflow.Step {
	if side == "" {
		return steps
	}
	i := strings.LastIndex(side, ".")
	if i < 0 {
		return nil
	}
	owner := workflow.StepAt(*steps, side[:i])
	if owner == nil || owner.Kind != workflow.StepBranch {
		return nil
	}
	switch side[i+1:] {
	case "then":
		return &owner.Then
	case "else":
		return &owner.Else
	}
	return nil
}

// applyOp changes the steps as a builder button asks; it returns the path
// of the step to focus.
func (f *wfForm) applyOp(op string) {
	verb, arg, _ := strings.Cut(op, ":")
	steps := &f.Def.Steps
	switch verb {
	case "add":
		list := stepList(steps, arg)
		if list == nil {
			return
		}
		key := "add_kind"
		if arg != "" {
			key += "." + arg
		}
		kind := f.V(key)
		if !slices.Contains(workflow.StepKinds, kind) {
			kind = workflow.StepTask
		}
		s := workflow.Step{Kind: kind}
		switch kind {
		case workflow.StepWait:
			s.Wait = &workflow.Wait{Kind: workflow.WaitDuration, Amount: 1, Unit: "day"}
		case workflow.StepBranch:
			s.If = &crm.Rule{Match: crm.MatchAll}
		}
		*list = append(*list, s)
		path := strconv.Itoa(len(*list) - 1)
		if arg != "" {
			path = arg + "." + path
		}
		f.Focus = "s." + path + ".kind"
	case "remove", "up", "down":
		side, i, ok := splitPath(arg)
		if !ok {
			return
		}
		list := stepList(steps, side)
		if list == nil || i >= len(*list) {
			return
		}
		l := *list
		at := func(j int) string {
			if side == "" {
				return strconv.Itoa(j)
			}
			return side + "." + strconv.Itoa(j)
		}
		switch verb {
		case "remove":
			*list = append(l[:i:i], l[i+1:]...)
			f.Focus = "add_kind"
			if side != "" {
				f.Focus += "." + side
			}
		case "up":
			if i > 0 {
				l[i-1], l[i] = l[i], l[i-1]
				f.Focus = "s." + at(i-1) + ".kind"
			}
		case "down":
			if i+1 < len(l) {
				l[i+1], l[i] = l[i], l[i+1]
				f.Focus = "s." + at(i+1) + ".kind"
			}
		}
	}
}

// definitionValues writes a definition into form fields (the inverse of
// readBuilder), keeping name, description and version.
func definitionValues(p *locale.Printer, d *workflow.Definition, keep map[string]string) map[string]string {
	v := map[string]string{}
	for _, k := range []string{"name", "description", "version"} {
		if x, ok := keep[k]; ok {
			v[k] = x
		}
	}
	i64 := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	t := d.Trigger
	v["trigger.kind"] = t.Kind
	v["trigger.object"] = t.Object
	v["trigger.field"], v["trigger.to"] = t.Field, t.To
	v["trigger.stage_id"], v["trigger.sla"] = i64(t.StageID), t.SLA
	v["trigger.tier_id"], v["trigger.hook_id"], v["trigger.segment_id"] = i64(t.TierID), i64(t.HookID), i64(t.SegmentID)
	v["trigger.at"], v["trigger.date_field"] = t.At, t.DateField
	v["trigger.repeat"], v["trigger.calendar"] = t.Repeat, t.Calendar
	if t.MonthDay != 0 {
		v["trigger.month_day"] = strconv.Itoa(t.MonthDay)
	}
	var days []string
	for _, d := range t.Weekdays {
		days = append(days, strconv.Itoa(d))
	}
	v["trigger.weekdays"] = strings.Join(days, ",")
	if t.Kind == workflow.TriggerDate {
		v["trigger.offset_days"] = strconv.Itoa(t.OffsetDays)
	}
	v["conditions"] = ruleJSON(d.Conditions)
	if d.Reenrol {
		v["reenrol"] = "1"
	}
	if d.MaxRunsPerDay > 0 {
		v["max_runs_per_day"] = strconv.Itoa(d.MaxRunsPerDay)
	}
	var walk func(prefix string, steps []workflow.Step)
	walk = func(prefix string, steps []workflow.Step) {
		for i, s := range steps {
			path := strconv.Itoa(i)
			if prefix != "" {
				path = prefix + "." + path
			}
			n := "s." + path + "."
			set := func(k, x string) {
				if x != "" {
					v[n+k] = x
				}
			}
			set("kind", s.Kind)
			set("name", s.Name)
			set("title", s.Title)
			set("body", s.Body)
			if s.DueDays != 0 {
				set("due_days", strconv.Itoa(s.DueDays))
			}
			set("priority", s.Priority)
			set("category", s.Category)
			if a := s.Assign; a != nil {
				set("assign.mode", a.Mode)
				set("assign.user_id", i64(a.UserID))
				set("assign.team_id", i64(a.TeamID))
				ids := make([]string, len(a.UserIDs))
				for j, id := range a.UserIDs {
					ids[j] = strconv.FormatInt(id, 10)
				}
				set("assign.user_ids", strings.Join(ids, ","))
			}
			set("field", s.Field)
			set("value", s.Value)
			set("tag", s.Tag)
			for lang, c := range s.Content {
				set("content."+lang+".subject", c.Subject)
				set("content."+lang+".text", c.Text)
				set("content."+lang+".sms", c.SMS)
			}
			set("list_id", i64(s.ListID))
			set("points", i64(s.Points))
			set("reason", s.Reason)
			set("subscription_id", i64(s.SubscriptionID))
			if w := s.Wait; w != nil {
				set("wait.kind", w.Kind)
				if w.Amount != 0 {
					set("wait.amount", strconv.Itoa(w.Amount))
				}
				set("wait.unit", w.Unit)
				until := w.Until
				if t, err := time.Parse(time.DateOnly, until); err == nil {
					until = p.Date(time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, p.Location()))
				}
				set("wait.until", until)
				if w.Kind == workflow.WaitCondition {
					v[n+"wait.condition"] = ruleJSON(w.Condition)
				}
				if w.CheckMinutes != 0 {
					set("wait.check_minutes", strconv.Itoa(w.CheckMinutes))
				}
			}
			if s.Kind == workflow.StepBranch {
				v[n+"if"] = ruleJSON(s.If)
				walk(path+".then", s.Then)
				walk(path+".else", s.Else)
			}
		}
	}
	walk("", d.Steps)
	return v
}

var (
	errStepRE   = regexp.MustCompile(`^steps\[(\d+)\]`)
	errBranchRE = regexp.MustCompile(`^\.(then|else)\[(\d+)\]`)
)

// errorField turns a service's problem key ("steps[1].then[0].tag") into
// the builder's field ("s.1.then.0.tag"); rule says which condition
// editor it belongs to ("s.1.if") and sub where inside it.
func errorField(key string) (field, rule, sub string) {
	switch {
	case key == "conditions" || strings.HasPrefix(key, "conditions."):
		return "", "conditions", strings.TrimPrefix(strings.TrimPrefix(key, "conditions"), ".")
	case !strings.HasPrefix(key, "steps["):
		return key, "", ""
	}
	m := errStepRE.FindStringSubmatch(key)
	if m == nil {
		return key, "", ""
	}
	path := m[1]
	rest := key[len(m[0]):]
	for {
		b := errBranchRE.FindStringSubmatch(rest)
		if b == nil {
			break
		}
		path += "." + b[1] + "." + b[2]
		rest = rest[len(b[0]):]
	}
	n := "s." + path
	for _, r := range []string{".if", ".wait.condition"} {
		if rest == r || strings.HasPrefix(rest, r+".") {
			return "", n + r, strings.TrimPrefix(strings.TrimPrefix(rest, r), ".")
		}
	}
	if rest == "" {
		return n + ".kind", "", ""
	}
	return n + rest, "", ""
}

// stepNumber is a step's number as people read it: "2", "2.1" (the first
// step on the then side), "2.2′" (else side).
func stepNumber(p *locale.Printer, path string) string {
	parts := strings.Split(path, ".")
	var out []string
	for i := 0; i < len(parts); i += 2 {
		n, _ := strconv.Atoi(parts[i])
		s := p.Int(n + 1)
		if i > 0 && parts[i-1] == "else" {
			s = p.T("workflows.else_mark", "n", s)
		}
		out = append(out, s)
	}
	return strings.Join(out, ".")
}

// fail records a service error on the builder: each field's problem
// beside it and in the summary, condition problems in their editors.
func (f *wfForm) fail(p *locale.Printer, err error) {
	m := explain(p, err)
	f.Error = &m
	fields := crm.ErrorFields(err)
	if len(fields) == 0 {
		return
	}
	f.Error.Text = p.T("workflows.error.invalid")
	f.Error.Detail = ""
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareErrorKeys)
	for _, k := range keys {
		msg := explainField(p, k, fields[k])
		field, rule, sub := errorField(k)
		where := p.T("workflows.where.workflow")
		anchor := ""
		switch {
		case rule != "":
			f.RuleErrs[rule] = append(f.RuleErrs[rule], ruleError{Path: sub, Message: msg})
			anchor = "f-" + rule
			where = p.T("workflows.where.conditions")
			if rule != "conditions" {
				where = p.T("workflows.where.step", "n", stepNumber(p, strings.TrimPrefix(strings.TrimSuffix(strings.TrimSuffix(rule, ".if"), ".wait.condition"), "s.")))
			}
		default:
			if f.Errors[field] == "" {
				f.Errors[field] = msg
			}
			anchor = "f-" + field
			if rest, ok := strings.CutPrefix(field, "s."); ok {
				path, _ := stepPathOf(rest)
				where = p.T("workflows.where.step", "n", stepNumber(p, path))
			} else if strings.HasPrefix(field, "trigger.") {
				where = p.T("workflows.where.trigger")
			}
		}
		f.Summary = append(f.Summary, wfProblem{Where: where, Anchor: anchor, Message: msg})
	}
}

// stepPathOf splits "1.then.0.assign.user_id" into the path "1.then.0"
// and the field "assign.user_id".
func stepPathOf(s string) (path, field string) {
	parts := strings.Split(s, ".")
	i := 0
	for i < len(parts) {
		if _, err := strconv.Atoi(parts[i]); err != nil {
			break
		}
		if i+2 < len(parts) && (parts[i+1] == "then" || parts[i+1] == "else") {
			if _, err := strconv.Atoi(parts[i+2]); err == nil {
				i += 2
				continue
			}
		}
		i++
		break
	}
	return strings.Join(parts[:i], "."), strings.Join(parts[i:], ".")
}

// compareErrorKeys orders problems as the form reads: the workflow's own
// fields, the trigger, the conditions, then the steps by position.
func compareErrorKeys(a, b string) int {
	rank := func(k string) int {
		switch {
		case strings.HasPrefix(k, "trigger"):
			return 1
		case strings.HasPrefix(k, "conditions"):
			return 2
		case strings.HasPrefix(k, "steps"):
			return 3
		}
		return 0
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(naturalKey(a), naturalKey(b))
}

var digitsRE = regexp.MustCompile(`\d+`)

// naturalKey pads numbers so that steps[10] sorts after steps[9].
func naturalKey(s string) string {
	return digitsRE.ReplaceAllStringFunc(s, func(d string) string { return strings.Repeat("0", max(0, 6-len(d))) + d })
}

// explainField words a field's problem in the user's language: the
// builder's own sentence for the field when it has one, else (outside
// English) a general sentence with the service's English words.
func explainField(p *locale.Printer, key, msg string) string {
	last := key
	if i := strings.LastIndexAny(key, ".]"); i >= 0 {
		last = key[i+1:]
	}
	if msg == workflow.MsgOrderConditionsTrigger {
		return p.T("workflows.error.order_conditions")
	}
	if strings.Contains(key, "conditions[") || strings.HasSuffix(key, ".if") || strings.HasSuffix(key, "condition") {
		return explainRule(p, msg)
	}
	if p.Lang() == "en" {
		return msg
	}
	if last == "field" {
		last = "field_name"
	}
	if k := "workflows.error." + last; last != "" && p.Has(k) {
		return p.T(k)
	}
	return p.T("workflows.error.field") + " (" + msg + ")"
}
