package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/text"
)

// Lead capture forms and lead scoring (internal/leadform): the forms'
// list, the form editor with its embed snippet and submissions, and the
// scoring rules. The public pages are in leadform_public.go.

func init() {
	webModules = append(webModules, webModule{
		on:     func(s *server) bool { return s.leadforms != nil },
		nav:    []navItem{{Key: "leadform.nav", Href: "/marketing/forms", Perm: crm.PermMarketingRead, Prefix: "/marketing/"}},
		routes: leadformRoutes,
	})
	payload := func() any { return new(leadform.TimelinePayload) }
	registerTimeline(crm.EventFormSubmitted, timelineRenderer{Icon: "note", Payload: payload})
	registerTimeline(crm.EventFormConfirmed, timelineRenderer{Icon: "check", Payload: payload})
}

func leadformRoutes(s *server, mux *http.ServeMux) {
	rd, wr := crm.PermMarketingRead, crm.PermMarketingWrite
	mux.HandleFunc("GET /marketing/forms", s.can(rd, s.handleLeadForms))
	mux.HandleFunc("GET /marketing/forms/new", s.can(wr, s.handleLeadFormNew))
	mux.HandleFunc("POST /marketing/forms", s.can(wr, s.handleLeadFormCreate))
	mux.HandleFunc("GET /marketing/forms/{id}", s.can(rd, s.handleLeadFormPage))
	mux.HandleFunc("POST /marketing/forms/{id}", s.can(wr, s.handleLeadFormSave))
	mux.HandleFunc("POST /marketing/forms/{id}/delete", s.can(wr, s.handleLeadFormDelete))
	mux.HandleFunc("GET /marketing/scoring", s.can(rd, s.handleScoring))
	mux.HandleFunc("POST /marketing/scoring", s.can(wr, s.handleScoreRuleCreate))
	mux.HandleFunc("POST /marketing/scoring/{id}/delete", s.can(wr, s.handleScoreRuleDelete))
	mux.HandleFunc("GET /marketing/scoring/{id}/edit", s.can(wr, s.handleScoreRuleEdit))
	mux.HandleFunc("POST /marketing/scoring/{id}", s.can(wr, s.handleScoreRuleUpdate))
	mux.HandleFunc("POST /marketing/scoring/recompute", s.can(wr, s.handleScoreRecompute))
}

// --- The list ---

type captureFormsPage struct {
	base
	Forms    []*crm.LeadForm
	Next     string
	CanWrite bool
	Tab      string
}

func (s *server) handleLeadForms(w http.ResponseWriter, r *http.Request) {
	forms, next, err := s.leadforms.List(r.Context(), crm.Page{Limit: 50, After: r.URL.Query().Get("after")})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &captureFormsPage{base: s.page(r, "leadform.title"), Forms: forms, Next: next, Tab: "forms",
		CanWrite: state(r).user.Can(crm.PermMarketingWrite)}
	s.render(w, r, http.StatusOK, "leadforms", d)
}

// --- The editor ---

// captureFieldRow is one row of the editor's field table.
type captureFieldRow struct {
	N        int
	Key      string
	Required bool
	Labels   map[string]string
	Error    string
}

type captureFieldChoice struct {
	Key   string
	Label string
}

type captureFormPage struct {
	base
	Form         *crm.LeadForm // nil on the new page
	F            form
	Rows         []captureFieldRow
	Choices      []captureFieldChoice
	Channels     []string
	FormLangs    []string
	Users        []leadform.User
	CanDOI       bool
	CanWrite     bool
	PublicURL    string
	Snippet      string
	Submissions  []*crm.FormSubmission
	SubNext      string
	FieldLabels  map[string]string
	SubmitErrors bool
}

var captureFormNames = []string{"name", "language", "consent_channel", "consent_text", "lead_source", "owner_id", "thanks_text"}

func (s *server) captureFormPage(r *http.Request, f *crm.LeadForm, fm form, rows []captureFieldRow) (*captureFormPage, error) {
	ctx := r.Context()
	p := state(r).p
	title := "leadform.new"
	if f != nil {
		title = "leadform.edit"
	}
	d := &captureFormPage{base: s.page(r, title), Form: f, F: fm, Rows: rows, Channels: crm.ConsentChannels, FormLangs: leadform.Languages,
		CanDOI: s.leadforms.CanDoubleOptIn(), CanWrite: state(r).user.Can(crm.PermMarketingWrite), FieldLabels: map[string]string{}}
	for _, k := range leadform.StandardFields {
		d.Choices = append(d.Choices, captureFieldChoice{Key: k, Label: p.T("leadform.field." + k)})
		d.FieldLabels[k] = p.T("leadform.field." + k)
	}
	custom, err := s.leadforms.CustomFields(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range custom {
		d.Choices = append(d.Choices, captureFieldChoice{Key: "custom." + c.Key, Label: c.Label})
		d.FieldLabels["custom."+c.Key] = c.Label
	}
	if d.Users, err = s.leadforms.Users(ctx); err != nil {
		return nil, err
	}
	if f != nil {
		d.PublicURL = absURL(r, "/f/"+f.PublicID)
		d.Snippet = fmt.Sprintf(`<iframe src="%s?embed=1" title="%s" style="inline-size:100%%;max-inline-size:40rem;block-size:36rem;border:0" loading="lazy"></iframe>`,
			d.PublicURL, strings.ReplaceAll(f.Name, `"`, "&quot;"))
		subs, next, err := s.leadforms.Submissions(ctx, f.ID, crm.Page{Limit: 50, After: r.URL.Query().Get("after")})
		if err != nil {
			return nil, err
		}
		d.Submissions, d.SubNext = subs, next
	}
	return d, nil
}

// captureRows lays out a form's fields with empty rows to add more.
func captureRows(fields []crm.FormField) []captureFieldRow {
	var rows []captureFieldRow
	for i, f := range fields {
		rows = append(rows, captureFieldRow{N: i, Key: f.Key, Required: f.Required, Labels: f.Labels})
	}
	for len(rows) < len(fields)+3 && len(rows) < leadform.MaxFields {
		rows = append(rows, captureFieldRow{N: len(rows)})
	}
	return rows
}

func (s *server) handleLeadFormNew(w http.ResponseWriter, r *http.Request) {
	fm := form{Values: map[string]string{"language": state(r).p.Lang(), "consent_channel": crm.ChannelEmail}}
	rows := captureRows([]crm.FormField{{Key: "first_name", Required: true}, {Key: "last_name"}, {Key: "email", Required: true}, {Key: "phone"}})
	d, err := s.captureFormPage(r, nil, fm, rows)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "leadform_edit", d)
}

func (s *server) handleLeadFormPage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	f, err := s.leadforms.Get(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	fm := form{Values: map[string]string{"name": f.Name, "language": f.Language, "consent_channel": f.ConsentChannel, "consent_text": f.ConsentText,
		"lead_source": f.LeadSource, "thanks_text": f.ThanksText}}
	if f.OwnerID != 0 {
		fm.Values["owner_id"] = strconv.FormatInt(f.OwnerID, 10)
	}
	if f.Active {
		fm.Values["active"] = "on"
	}
	if f.DoubleOptIn {
		fm.Values["double_opt_in"] = "on"
	}
	d, err := s.captureFormPage(r, f, fm, captureRows(f.Fields))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "leadform_edit", d)
}

// readCaptureForm reads the editor's post: the form input, the form's
// values for re-rendering and the rows as posted.
func readCaptureForm(r *http.Request) (leadform.FormInput, form, []captureFieldRow) {
	fm := newForm(r, append(captureFormNames, "active", "double_opt_in")...)
	n, _ := strconv.Atoi(r.PostFormValue("rows"))
	n = min(max(n, 0), leadform.MaxFields)
	in := leadform.FormInput{Name: fm.V("name"), Language: fm.V("language"), ConsentChannel: fm.V("consent_channel"), ConsentText: fm.V("consent_text"),
		DoubleOptIn: fm.V("double_opt_in") != "", LeadSource: fm.V("lead_source"), ThanksText: fm.V("thanks_text")}
	active := fm.V("active") != ""
	in.Active = &active
	in.OwnerID, _ = strconv.ParseInt(fm.V("owner_id"), 10, 64)
	var rows []captureFieldRow
	for i := range n {
		pre := "f" + strconv.Itoa(i) + "."
		row := captureFieldRow{N: len(rows), Key: strings.TrimSpace(r.PostFormValue(pre + "key")), Required: r.PostFormValue(pre+"required") != "",
			Labels: map[string]string{}}
		for _, lang := range leadform.Languages {
			if v := strings.TrimSpace(r.PostFormValue(pre + "label_" + lang)); v != "" {
				row.Labels[lang] = v
			}
		}
		if row.Key == "" { // an empty row adds nothing
			continue
		}
		rows = append(rows, row)
		in.Fields = append(in.Fields, crm.FormField{Key: row.Key, Required: row.Required, Labels: row.Labels})
	}
	return in, fm, rows
}

var captureFieldIndex = regexp.MustCompile(`^fields\[(\d+)\]`)

// failCaptureForm puts a service error on the editor: field problems on
// their inputs, rows' problems on their rows.
func failCaptureForm(p *locale.Printer, err error, fm *form, rows []captureFieldRow) {
	keys := map[string]string{}
	for _, n := range append(captureFormNames, "double_opt_in", "fields") {
		keys[n] = "leadform.error." + n
	}
	fm.fail(p, err, keys)
	for k, msg := range crm.ErrorFields(err) {
		m := captureFieldIndex.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if i < len(rows) && rows[i].Error == "" {
			rows[i].Error = msg
			if p.Lang() != "en" {
				rows[i].Error = p.T("leadform.error.row")
			}
		}
	}
}

func (s *server) handleLeadFormCreate(w http.ResponseWriter, r *http.Request) {
	in, fm, rows := readCaptureForm(r)
	f, err := s.leadforms.Create(r.Context(), in)
	if err == nil {
		redirect(w, r, "/marketing/forms/"+strconv.FormatInt(f.ID, 10), "leadform_created")
		return
	}
	s.captureFormFailed(w, r, nil, err, fm, rows)
}

func (s *server) captureFormFailed(w http.ResponseWriter, r *http.Request, f *crm.LeadForm, err error, fm form, rows []captureFieldRow) {
	if crm.ErrorCode(err) != crm.EINVALID {
		s.renderError(w, r, err)
		return
	}
	p := state(r).p
	failCaptureForm(p, err, &fm, rows)
	d, derr := s.captureFormPage(r, f, fm, append(rows, captureRows(nil)...))
	if derr != nil {
		s.renderError(w, r, derr)
		return
	}
	for i := range d.Rows {
		d.Rows[i].N = i
	}
	s.render(w, r, problem.Status(err), "leadform_edit", d)
}

func (s *server) handleLeadFormSave(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	in, fm, rows := readCaptureForm(r)
	_, err := s.leadforms.Update(r.Context(), id, in)
	if err == nil {
		redirect(w, r, "/marketing/forms/"+strconv.FormatInt(id, 10), "leadform_saved")
		return
	}
	f, ferr := s.leadforms.Get(r.Context(), id)
	if ferr != nil {
		s.renderError(w, r, ferr)
		return
	}
	s.captureFormFailed(w, r, f, err, fm, rows)
}

func (s *server) handleLeadFormDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	if err := s.leadforms.Delete(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/marketing/forms", "leadform_deleted")
}

// --- Scoring ---

type scoreRuleRow struct {
	*crm.ScoreRule
	Condition string // in words
	Event     string // the behaviour in words
}

type scoringPage struct {
	base
	Rules    []scoreRuleRow
	F        form
	Events   []string
	Presets  []string
	CanWrite bool
	Tab      string
	// Config is the segment rule editor's configuration for "any
	// condition" ("" without segments: the JSON box alone).
	Config string
	// Rule is the rule being edited (nil on the list's "new rule" form).
	Rule *crm.ScoreRule
}

// scorePresets are the attribute conditions the simple rule form offers;
// any other condition goes through the API or the JSON box.
var scorePresets = []string{"has_company", "tag", "source", "consent_email", "json"}

var scoreRuleNames = []string{"name", "kind", "preset", "value", "condition_json", "event_type", "within_days", "points", "max_points"}

func (s *server) scoringPage(r *http.Request, fm form) (*scoringPage, error) {
	rules, err := s.leadforms.Rules(r.Context())
	if err != nil {
		return nil, err
	}
	p := state(r).p
	d := &scoringPage{base: s.page(r, "leadform.scoring.title"), F: fm, Events: leadform.BehaviourEvents, Presets: scorePresets,
		CanWrite: state(r).user.Can(crm.PermMarketingWrite), Tab: "scoring"}
	for _, rule := range rules {
		row := scoreRuleRow{ScoreRule: rule, Condition: conditionWords(p, rule.Condition), Event: rule.EventType}
		if k := "leadform.event." + rule.EventType; p.Has(k) {
			row.Event = p.T(k)
		}
		d.Rules = append(d.Rules, row)
	}
	if s.segmentSvc != nil && d.CanWrite {
		if d.Config, err = s.editorConfig(r, nil); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// conditionWords is a short reading of an attribute rule's condition.
func conditionWords(p *locale.Printer, r *crm.Rule) string {
	if r == nil {
		return ""
	}
	if len(r.Conditions) > 0 {
		var parts []string
		for i := range r.Conditions {
			parts = append(parts, conditionWords(p, &r.Conditions[i]))
		}
		return strings.Join(parts, p.Sep())
	}
	label := r.Field
	if k := "segments.field." + r.Field; p.Has(k) {
		label = p.T(k)
	}
	op := r.Op
	if k := "segments.op." + r.Op; p.Has(k) {
		op = p.T(k)
	}
	v, sep := "", ", "
	if p.Dir() == "rtl" {
		sep = "، "
	}
	switch x := r.Value.(type) {
	case nil:
	case string:
		v = " " + x
	case []string:
		v = " " + strings.Join(x, sep)
	case []any:
		var parts []string
		for _, e := range x {
			if _, ok := e.(string); ok {
				parts = append(parts, fmt.Sprint(e))
			} else {
				parts = append(parts, p.Digits(fmt.Sprint(e)))
			}
		}
		v = " " + strings.Join(parts, sep)
	case float64, int, int64, json.Number:
		v = " " + p.Digits(fmt.Sprint(x))
	default:
		b, _ := json.Marshal(x)
		v = " " + p.Digits(string(b))
	}
	return label + " " + op + v
}

func (s *server) handleScoring(w http.ResponseWriter, r *http.Request) {
	d, err := s.scoringPage(r, form{Values: map[string]string{"kind": crm.ScoreAttribute, "preset": "tag", "points": "10"}})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "leadscore", d)
}

func (s *server) handleScoreRuleCreate(w http.ResponseWriter, r *http.Request) {
	fm, in := scoreRuleForm(r)
	if fm.ok() {
		_, err := s.leadforms.CreateRule(r.Context(), in)
		if err == nil {
			redirect(w, r, "/marketing/scoring", "score_rule_created")
			return
		}
		if !scoreRuleFailed(state(r).p, &fm, err) {
			s.renderError(w, r, err)
			return
		}
	}
	d, err := s.scoringPage(r, fm)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusUnprocessableEntity, "leadscore", d)
}

// handleScoreRuleEdit shows a rule in the rule form.
func (s *server) handleScoreRuleEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	rule, err := s.leadforms.Rule(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderScoreRuleEdit(w, r, http.StatusOK, rule, scoreRuleValues(state(r).p, rule))
}

func (s *server) handleScoreRuleUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	rule, err := s.leadforms.Rule(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	fm, in := scoreRuleForm(r)
	if fm.ok() {
		_, err := s.leadforms.UpdateRule(r.Context(), id, in)
		if err == nil {
			redirect(w, r, "/marketing/scoring", "score_rule_saved")
			return
		}
		if !scoreRuleFailed(state(r).p, &fm, err) {
			s.renderError(w, r, err)
			return
		}
	}
	s.renderScoreRuleEdit(w, r, http.StatusUnprocessableEntity, rule, fm)
}

func (s *server) renderScoreRuleEdit(w http.ResponseWriter, r *http.Request, status int, rule *crm.ScoreRule, fm form) {
	p := state(r).p
	d := &scoringPage{base: s.page(r, "leadform.scoring.edit"), F: fm, Events: leadform.BehaviourEvents, Presets: scorePresets,
		CanWrite: true, Tab: "scoring", Rule: rule}
	d.Title = p.T("leadform.scoring.edit") + ": " + rule.Name
	if s.segmentSvc != nil {
		var err error
		if d.Config, err = s.editorConfig(r, nil); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	s.render(w, r, status, "leadscore_edit", d)
}

// scoreRuleValues fills the rule form from a rule: an attribute
// condition of one of the presets' shapes shows as that preset, any other
// as the condition editor's JSON.
func scoreRuleValues(p *locale.Printer, rule *crm.ScoreRule) form {
	v := map[string]string{"name": rule.Name, "kind": rule.Kind, "points": strconv.Itoa(rule.Points), "event_type": rule.EventType,
		"preset": "json"}
	if rule.WithinDays != 0 {
		v["within_days"] = strconv.Itoa(rule.WithinDays)
	}
	if rule.MaxPoints != 0 {
		v["max_points"] = strconv.Itoa(rule.MaxPoints)
	}
	if c := rule.Condition; c != nil {
		if c.IsGroup() && c.Match != crm.MatchAny && len(c.Conditions) == 1 && !c.Conditions[0].IsGroup() {
			c = &c.Conditions[0] // stored wrapped in a group of one
		}
		one := func() (string, bool) {
			if xs, ok := c.Value.([]any); ok && len(xs) == 1 {
				s, ok := xs[0].(string)
				return s, ok
			}
			return "", false
		}
		switch {
		case c.IsGroup():
		case c.Field == "company" && c.Op == "is_set":
			v["preset"] = "has_company"
		case c.Field == "consent.email" && c.Op == "is_true":
			v["preset"] = "consent_email"
		case c.Field == "source" && c.Op == "eq":
			if x, ok := c.Value.(string); ok {
				v["preset"], v["value"] = "source", x
			}
		case c.Field == "tags" && c.Op == "has_any":
			if x, ok := one(); ok {
				v["preset"], v["value"] = "tag", x
			}
		}
		if v["preset"] == "json" {
			b, _ := json.Marshal(c)
			v["condition_json"] = string(b)
		}
	}
	return form{Values: v}
}

// scoreRuleForm reads the rule form: the fields of the input, and the
// form with the errors of what could not be read.
func scoreRuleForm(r *http.Request) (form, leadform.ScoreRuleInput) {
	p := state(r).p
	fm := newForm(r, scoreRuleNames...)
	in := leadform.ScoreRuleInput{Name: fm.V("name"), Kind: fm.V("kind"), EventType: fm.V("event_type")}
	num := func(name string) int {
		v := strings.TrimSpace(text.ToASCIIDigits(fm.V(name)))
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			fm.invalid(p, name, "leadform.error.number")
		}
		return n
	}
	in.Points, in.WithinDays, in.MaxPoints = num("points"), num("within_days"), num("max_points")
	if in.Kind == crm.ScoreAttribute {
		val := fm.V("value")
		switch fm.V("preset") {
		case "has_company":
			in.Condition = &crm.Rule{Field: "company", Op: "is_set"}
		case "tag":
			in.Condition = &crm.Rule{Field: "tags", Op: "has_any", Value: []any{val}}
		case "source":
			in.Condition = &crm.Rule{Field: "source", Op: "eq", Value: val}
		case "consent_email":
			in.Condition = &crm.Rule{Field: "consent.email", Op: "is_true"}
		case "json":
			rule, err := crm.ParseRules([]byte(fm.V("condition_json")))
			if err != nil {
				fm.invalid(p, "condition_json", "leadform.error.condition")
			} else {
				in.Condition = &rule
			}
		}
		if (fm.V("preset") == "tag" || fm.V("preset") == "source") && val == "" {
			fm.invalid(p, "value", "leadform.error.value")
		}
	}
	return fm, in
}

// scoreRuleFailed puts the service's field errors on the rule form; false
// when err is not about the input.
func scoreRuleFailed(p *locale.Printer, fm *form, err error) bool {
	if crm.ErrorCode(err) != crm.EINVALID {
		return false
	}
	keys := map[string]string{}
	for _, n := range scoreRuleNames {
		keys[n] = "leadform.error." + n
	}
	fields := map[string]string{}
	for k, v := range crm.ErrorFields(err) {
		if strings.HasPrefix(k, "condition") {
			k = "value"
			if fm.V("preset") == "json" {
				k = "condition_json"
			}
		}
		fields[k] = v
	}
	fm.fail(p, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: fields}, keys)
	return true
}

func (s *server) handleScoreRuleDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	if err := s.leadforms.DeleteRule(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/marketing/scoring", "score_rule_deleted")
}

func (s *server) handleScoreRecompute(w http.ResponseWriter, r *http.Request) {
	if err := s.leadforms.RequestRecompute(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/marketing/scoring", "score_recompute_queued")
}

// leadScoreCard is the lead score on a person's page.
type leadScoreCard struct {
	Score int64
}

// leadScore is the person's score card; nil without the module.
func (s *server) leadScore(r *http.Request, contactID int64) (*leadScoreCard, error) {
	if s.leadforms == nil {
		return nil, nil
	}
	n, err := s.leadforms.Score(r.Context(), contactID)
	if err != nil {
		return nil, err
	}
	return &leadScoreCard{Score: n}, nil
}

// leadScoreColumn is the people list's lead score column.
const leadScoreColumn = "lead.score"

// leadScoreColumns is the lead score column of the people list (off
// unless chosen); none without the module.
func (s *server) leadScoreColumns(r *http.Request, p *locale.Printer) []listColumn {
	if s.leadforms == nil {
		return nil
	}
	on := false
	if c, err := r.Cookie(columnsCookie); err == nil {
		on = slices.Contains(strings.Split(c.Value, "|"), leadScoreColumn)
	}
	return []listColumn{{Key: leadScoreColumn, Label: p.T("leadform.score"), On: on, LeadScore: true}}
}

// listLeadScores reads the scores of the people shown when the column is.
func (s *server) listLeadScores(r *http.Request, shown []listColumn, people []*crm.Contact) (map[int64]int64, error) {
	if s.leadforms == nil || !slices.ContainsFunc(shown, func(c listColumn) bool { return c.LeadScore }) {
		return nil, nil
	}
	ids := make([]int64, len(people))
	for i, c := range people {
		ids[i] = c.ID
	}
	return s.leadforms.Scores(r.Context(), ids)
}
