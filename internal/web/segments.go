package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/segment"
)

// The segment builder (internal/segment): the list of segments and
// static lists, the rule editor (segments.js builds the form from the
// tree in the rules field; without it the tree is edited as JSON), a
// segment's page with its count and members, a list's page with adding
// and removing people, and the people list's "in segment" filter and
// "add to list" bulk action. Installed when Options.SegmentService is set.

func init() {
	webModules = append(webModules, webModule{
		on:     func(s *server) bool { return s.segmentSvc != nil && s.contacts != nil },
		nav:    []navItem{{Key: "segments.nav", Href: "/segments", Perm: crm.PermMarketingRead, Prefix: "/segments/"}},
		routes: segmentRoutes,
	})
}

func segmentRoutes(s *server, mux *http.ServeMux) {
	read, write := crm.PermMarketingRead, crm.PermMarketingWrite
	mux.HandleFunc("GET /segments", s.can(read, s.handleSegmentIndex))
	mux.HandleFunc("GET /segments/{$}", s.can(read, s.handleSegmentIndex))
	mux.HandleFunc("GET /segments/new", s.can(write, s.handleSegmentNew))
	mux.HandleFunc("POST /segments", s.can(write, s.handleSegmentCreate))
	mux.HandleFunc("POST /segments/preview", s.can(read, s.handleSegmentPreview))
	mux.HandleFunc("GET /segments/{id}", s.can(read, s.handleSegmentShow))
	mux.HandleFunc("GET /segments/{id}/edit", s.can(write, s.handleSegmentEdit))
	mux.HandleFunc("POST /segments/{id}", s.can(write, s.handleSegmentUpdate))
	mux.HandleFunc("POST /segments/{id}/delete", s.can(write, s.handleSegmentDelete))
	mux.HandleFunc("POST /segments/{id}/members", s.can(write, s.handleListAdd))
	mux.HandleFunc("POST /segments/{id}/members/remove", s.can(write, s.handleListRemove))
}

// --- The list ---

type segmentIndexPage struct {
	base
	Segments []*crm.Segment
	Lists    []*crm.Segment
	CanWrite bool
}

func (s *server) handleSegmentIndex(w http.ResponseWriter, r *http.Request) {
	d := &segmentIndexPage{base: s.page(r, "segments.title"), CanWrite: state(r).user.Can(crm.PermMarketingWrite)}
	var err error
	if d.Segments, err = s.allSegments(r, crm.SegmentDynamic); err == nil {
		d.Lists, err = s.allSegments(r, crm.SegmentStatic)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "segments", d)
}

// allSegments reads every segment of kind (a shop keeps tens, not
// thousands; the list stops at 2,000).
func (s *server) allSegments(r *http.Request, kind string) ([]*crm.Segment, error) {
	var out []*crm.Segment
	after := ""
	for len(out) < 2000 {
		items, next, err := s.segmentSvc.List(r.Context(), kind, crm.Page{Limit: crm.MaxLimit, After: after})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			break
		}
		after = next
	}
	return out, nil
}

// --- The editor ---

type segmentEditPage struct {
	base
	Form    form
	Kind    string
	Segment *crm.Segment // nil when new
	Config  string       // the editor's fields, operators and words, as JSON (segments.js)
	Rules   string       // the tree as JSON
	Errors  []ruleError  // the tree's problems, by path
}

type ruleError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// editorConfig is what segments.js needs to build the form, in the
// user's language.
type editorConfig struct {
	Fields    []editorField       `json:"fields"`
	Groups    map[string]string   `json:"groups"`
	Ops       map[string]string   `json:"ops"`
	OpsByType map[string][]string `json:"ops_by_type"`
	Units     map[string]string   `json:"units"`
	Text      map[string]string   `json:"text"`
	Errors    []ruleError         `json:"errors"`
}

type editorField struct {
	Name    string       `json:"name"`
	Label   string       `json:"label"`
	Type    string       `json:"type"`
	Group   string       `json:"group"`
	Options []crm.Option `json:"options,omitempty"`
}

// fieldGroups is the order of the editor's field groups.
var fieldGroups = []string{"contact", "consent", "company", "custom", "orders", "club", "service", "analytics", "campaigns"}

// fieldLabel is a field's name in the user's language.
func fieldLabel(p *locale.Printer, f crm.ConditionField) string {
	if f.Label != "" {
		return f.Label
	}
	if k := "segments.field." + f.Name; p.Has(k) {
		return p.T(k)
	}
	return f.Name
}

// optionLabel is the label of a choice in the user's language: the
// analytics' own words for RFM segments and churn bands.
func optionLabel(p *locale.Printer, field string, o crm.Option) string {
	switch field {
	case "analytics.segment":
		if k := "analytics.segment." + o.Value; p.Has(k) {
			return p.T(k)
		}
	case "analytics.churn_band":
		if k := "analytics.band." + o.Value; p.Has(k) {
			return p.T(k)
		}
	}
	return o.Label
}

func (s *server) editorConfig(r *http.Request, errs []ruleError) (string, error) {
	p := state(r).p
	fields, err := s.segmentSvc.Fields(r.Context())
	if err != nil {
		return "", err
	}
	c := editorConfig{Groups: map[string]string{}, Ops: map[string]string{}, OpsByType: crm.CondOps, Units: map[string]string{}, Text: map[string]string{}, Errors: errs}
	for _, g := range fieldGroups {
		for _, f := range fields {
			if f.Group != g {
				continue
			}
			ef := editorField{Name: f.Name, Label: fieldLabel(p, f), Type: f.Type, Group: f.Group}
			for _, o := range f.Options {
				ef.Options = append(ef.Options, crm.Option{Value: o.Value, Label: optionLabel(p, f.Name, o)})
			}
			c.Fields = append(c.Fields, ef)
			c.Groups[g] = p.T("segments.group." + g)
		}
	}
	for _, ops := range crm.CondOps {
		for _, op := range ops {
			c.Ops[op] = p.T("segments.op." + op)
		}
	}
	for _, u := range crm.DateUnits {
		c.Units[u] = p.T("segments.unit." + u)
	}
	for _, k := range []string{"add_condition", "add_group", "remove", "remove_group", "match_all", "match_any", "field", "op", "value",
		"from", "to", "list_hint", "ids_hint", "amount", "unit", "choose_field", "counting", "count_error", "sample", "group", "no_conditions", "sample_none"} {
		c.Text[k] = p.T("segments.editor." + k)
	}
	c.Text["sep"] = p.Sep() // joins a row's error messages; no middle dot in fa/ar
	b, err := json.Marshal(c)
	return string(b), err
}

func (s *server) handleSegmentNew(w http.ResponseWriter, r *http.Request) {
	kind := crm.SegmentDynamic
	if r.URL.Query().Get("kind") == crm.SegmentStatic {
		kind = crm.SegmentStatic
	}
	rules := `{"match":"all","conditions":[]}`
	if q := r.URL.Query().Get("rules"); q != "" { // "save as segment" from a filter, or a copy
		rules = q
	}
	s.renderSegmentForm(w, r, http.StatusOK, kind, nil, form{Values: map[string]string{"rules": rules}}, nil)
}

func (s *server) renderSegmentForm(w http.ResponseWriter, r *http.Request, status int, kind string, seg *crm.Segment, f form, errs []ruleError) {
	title := "segments.new_title"
	if kind == crm.SegmentStatic {
		title = "segments.new_list_title"
	}
	if seg != nil {
		title = "segments.edit_title"
	}
	d := &segmentEditPage{base: s.page(r, title), Form: f, Kind: kind, Segment: seg, Rules: f.V("rules"), Errors: errs}
	if kind == crm.SegmentDynamic {
		cfg, err := s.editorConfig(r, errs)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.Config = cfg
	}
	s.render(w, r, status, "segment_form", d)
}

// ruleErrors turns a service error's rules.* fields into the editor's
// errors by path; the other fields stay on the form.
func ruleErrors(p *locale.Printer, err error, f *form) []ruleError {
	var out []ruleError
	fields := crm.ErrorFields(err)
	other := map[string]string{}
	for k, m := range fields {
		path, ok := strings.CutPrefix(k, "rules.")
		if !ok {
			if k == "rules" {
				out = append(out, ruleError{Path: "", Message: explainRule(p, m)})
				continue
			}
			other[k] = m
			continue
		}
		out = append(out, ruleError{Path: path, Message: explainRule(p, m)})
	}
	f.fail(p, &crm.Error{Code: crm.EINVALID, Message: crm.ErrorMessage(err), Fields: other}, map[string]string{"name": "segments.error.name", "description": "segments.error.description"})
	if len(fields) > 0 && f.Error != nil {
		f.Error.Text = p.T("segments.error.invalid")
	}
	if len(fields) == 0 {
		f.fail(p, err, nil)
	}
	return out
}

// explainRule shows the service's English words about a condition; in
// the other languages a sentence says what is wrong in general first.
func explainRule(p *locale.Printer, msg string) string {
	if p.Lang() == "en" {
		return msg
	}
	return p.T("segments.error.condition") + " (" + msg + ")"
}

func segmentInput(r *http.Request, kind string) (segment.Input, form) {
	f := newForm(r, "name", "description", "rules", "version")
	in := segment.Input{Kind: kind, Name: f.V("name"), Description: f.V("description")}
	if kind == crm.SegmentDynamic {
		in.Rules = json.RawMessage(f.V("rules"))
		if len(in.Rules) == 0 {
			in.Rules = json.RawMessage(`{"match":"all","conditions":[]}`)
		}
	}
	in.Version, _ = strconv.Atoi(f.V("version"))
	return in, f
}

func (s *server) handleSegmentCreate(w http.ResponseWriter, r *http.Request) {
	kind := crm.SegmentDynamic
	if r.PostFormValue("kind") == crm.SegmentStatic {
		kind = crm.SegmentStatic
	}
	in, f := segmentInput(r, kind)
	seg, err := s.segmentSvc.Create(r.Context(), in)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		errs := ruleErrors(state(r).p, err, &f)
		s.renderSegmentForm(w, r, http.StatusUnprocessableEntity, kind, nil, f, errs)
		return
	}
	redirect(w, r, "/segments/"+strconv.FormatInt(seg.ID, 10), "segment_saved")
}

func (s *server) segmentFromPath(w http.ResponseWriter, r *http.Request) (*crm.Segment, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return nil, false
	}
	seg, err := s.segmentSvc.Get(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return nil, false
	}
	return seg, true
}

func (s *server) handleSegmentEdit(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segmentFromPath(w, r)
	if !ok {
		return
	}
	rules := ""
	if seg.Rules != nil {
		b, _ := json.Marshal(seg.Rules)
		rules = string(b)
	}
	f := form{Values: map[string]string{"name": seg.Name, "description": seg.Description, "rules": rules, "version": strconv.Itoa(seg.Version)}}
	s.renderSegmentForm(w, r, http.StatusOK, seg.Kind, seg, f, nil)
}

func (s *server) handleSegmentUpdate(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segmentFromPath(w, r)
	if !ok {
		return
	}
	in, f := segmentInput(r, seg.Kind)
	in.Kind = ""
	if _, err := s.segmentSvc.Update(r.Context(), seg.ID, in); err != nil {
		code := crm.ErrorCode(err)
		if code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		}
		var errs []ruleError
		status := http.StatusUnprocessableEntity
		if code == crm.ECONFLICT {
			status = http.StatusConflict
			f.Error = &message{Text: state(r).p.T("segments.error.conflict")}
		} else {
			errs = ruleErrors(state(r).p, err, &f)
		}
		s.renderSegmentForm(w, r, status, seg.Kind, seg, f, errs)
		return
	}
	redirect(w, r, "/segments/"+strconv.FormatInt(seg.ID, 10), "segment_saved")
}

func (s *server) handleSegmentDelete(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segmentFromPath(w, r)
	if !ok {
		return
	}
	if err := s.segmentSvc.Delete(r.Context(), seg.ID); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/segments", "segment_deleted")
}

// --- The live count ---

type previewAnswer struct {
	Count  string          `json:"count"` // "1,234 people" in the user's words and digits
	N      int64           `json:"n"`
	Sample []previewPerson `json:"sample"`
	Errors []ruleError     `json:"errors"`
	Error  string          `json:"error,omitempty"`
}

type previewPerson struct {
	Href    string `json:"href"`
	Name    string `json:"name"`
	Contact string `json:"contact"`
}

// handleSegmentPreview answers the editor's live count: the count and a
// sample of the tree in the rules field, or its problems by path.
func (s *server) handleSegmentPreview(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	out := previewAnswer{Sample: []previewPerson{}, Errors: []ruleError{}}
	pv, err := s.segmentSvc.Preview(r.Context(), []byte(r.PostFormValue("rules")), 8)
	status := http.StatusOK
	switch {
	case err == nil:
		out.N = pv.Count
		out.Count = peopleCount(p, pv.Count)
		for _, m := range pv.Sample {
			contact := m.Email
			if contact == "" {
				contact = phoneText(p, m.Phone)
			}
			out.Sample = append(out.Sample, previewPerson{Href: "/contacts/" + strconv.FormatInt(m.ContactID, 10), Name: m.Name, Contact: contact})
		}
	case crm.ErrorCode(err) == crm.EINVALID:
		status = http.StatusUnprocessableEntity
		for k, m := range crm.ErrorFields(err) {
			if k == "rules" {
				k = ""
			}
			out.Errors = append(out.Errors, ruleError{Path: k, Message: explainRule(p, m)})
		}
		out.Error = p.T("segments.error.invalid")
	default:
		status = problem.Status(err)
		out.Error = explain(p, err).Text
	}
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

func peopleCount(p *locale.Printer, n int64) string {
	if n == 1 {
		return p.T("segments.count.one")
	}
	return p.T("segments.count.other", "n", p.Number(n))
}

func phoneText(p *locale.Printer, v string) string {
	if v == "" {
		return ""
	}
	return p.Digits(v)
}

// --- A segment's page ---

type segmentShowPage struct {
	base
	Segment   *crm.Segment
	Count     string
	CountErr  *message
	Rules     *ruleNode
	Members   []crm.SegmentMember
	Next      string
	First     string
	CanWrite  bool
	PeopleURL string // the people list filtered to the members
	Report    *segment.ImportReport
	AddForm   form
}

// ruleNode is a tree in words, for the segment's page.
type ruleNode struct {
	Match    string // all, any: a group
	Text     string // a condition
	Children []*ruleNode
}

func (s *server) describeRules(r *http.Request, root *crm.Rule) *ruleNode {
	p := state(r).p
	fields, _ := s.segmentSvc.Fields(r.Context())
	byName := map[string]crm.ConditionField{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	var walk func(g *crm.Rule) *ruleNode
	walk = func(g *crm.Rule) *ruleNode {
		n := &ruleNode{Match: g.Match}
		if n.Match == "" {
			n.Match = crm.MatchAll
		}
		for i := range g.Conditions {
			c := &g.Conditions[i]
			if c.IsGroup() {
				n.Children = append(n.Children, walk(c))
				continue
			}
			f, ok := byName[c.Field]
			if !ok {
				f = crm.ConditionField{Name: c.Field}
			}
			text := fieldLabel(p, f) + " " + p.T("segments.op."+c.Op)
			if v := describeValue(p, f, c.Value); v != "" {
				text += " " + v
			}
			n.Children = append(n.Children, &ruleNode{Text: text})
		}
		return n
	}
	return walk(root)
}

// describeValue writes a condition's value (as stored: JSON values) in
// the user's words and digits.
func describeValue(p *locale.Printer, f crm.ConditionField, v any) string {
	label := func(x any) string {
		s := fmt.Sprint(x)
		for _, o := range f.Options {
			if o.Value == s {
				return optionLabel(p, f.Name, o)
			}
		}
		return p.Digits(s)
	}
	switch x := v.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = label(e)
		}
		sep := p.T("list.separator")
		if len(parts) == 2 && (f.Type == crm.CondNumber || f.Type == crm.CondMoney || f.Type == crm.CondDate) {
			return p.T("segments.between_values", "from", parts[0], "to", parts[1])
		}
		return strings.Join(parts, sep)
	case map[string]any:
		unit, _ := x["unit"].(string)
		return p.T("segments.relative", "n", p.Digits(fmt.Sprint(x["amount"])), "unit", p.T("segments.unit."+unit))
	case string:
		if f.Type == crm.CondText {
			return "«" + x + "»"
		}
		return label(x)
	}
	return label(v)
}

func (s *server) handleSegmentShow(w http.ResponseWriter, r *http.Request) {
	s.segmentPage(w, r, http.StatusOK, nil, form{})
}

func (s *server) segmentPage(w http.ResponseWriter, r *http.Request, status int, rep *segment.ImportReport, addForm form) {
	seg, ok := s.segmentFromPath(w, r)
	if !ok {
		return
	}
	p := state(r).p
	d := &segmentShowPage{base: s.page(r, "segments.segment_title"), Segment: seg, CanWrite: state(r).user.Can(crm.PermMarketingWrite),
		Report: rep, AddForm: addForm}
	d.Title = seg.Name
	if r.Method != http.MethodGet {
		d.Path = "/segments/" + strconv.FormatInt(seg.ID, 10)
	}
	if seg.Rules != nil {
		d.Rules = s.describeRules(r, seg.Rules)
	}
	n, err := s.segmentSvc.Count(r.Context(), seg.ID)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		m := explain(p, err)
		m.Text = p.T("segments.error.stale")
		m.Detail = strings.Join(sortedMessages(crm.ErrorFields(err)), "; ")
		d.CountErr = &m
	} else {
		d.Count = peopleCount(p, n)
		after := r.URL.Query().Get("after")
		if r.Method != http.MethodGet {
			after = ""
		}
		d.Members, d.Next, err = s.segmentSvc.MembersPage(r.Context(), seg.ID, crm.Page{Limit: 50, After: after})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		base := "/segments/" + strconv.FormatInt(seg.ID, 10)
		if d.Next != "" {
			d.Next = base + "?after=" + url.QueryEscape(d.Next)
		}
		if after != "" {
			d.First = base
		}
		d.PeopleURL = "/contacts?in_segment=" + strconv.FormatInt(seg.ID, 10)
	}
	s.render(w, r, status, "segment", d)
}

func sortedMessages(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, strings.TrimPrefix(k, "rules.")+": "+v)
	}
	sort.Strings(out)
	return out
}

// --- Lists ---

// listIDs reads the ticked people of a list form.
func listIDs(r *http.Request) []int64 {
	var ids []int64
	for _, v := range r.PostForm["id"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// handleListAdd puts people on a static list: from a file of emails and
// phones, or typed one per line.
func (s *server) handleListAdd(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segmentFromPath(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := form{Values: map[string]string{}}
	var rep *segment.ImportReport
	var err error
	if file, _, ferr := r.FormFile("file"); ferr == nil {
		defer file.Close()
		rep, err = s.segmentSvc.ImportMembers(r.Context(), seg.ID, http.MaxBytesReader(w, file, 20<<20))
	} else {
		typed := strings.TrimSpace(r.PostFormValue("people"))
		f.Values["people"] = typed
		if typed == "" {
			f.invalid(p, "people", "segments.error.people")
			s.segmentPage(w, r, http.StatusUnprocessableEntity, nil, f)
			return
		}
		rep, err = s.segmentSvc.ImportMembers(r.Context(), seg.ID, strings.NewReader(typed))
	}
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"file": "segments.error.file", "people": "segments.error.people"})
		if msg := crm.ErrorFields(err)["file"]; msg != "" {
			f.Errors["people"] = f.Errors["file"]
		}
		s.segmentPage(w, r, http.StatusUnprocessableEntity, nil, f)
		return
	}
	if len(rep.Unknown) == 0 && len(rep.Invalid) == 0 {
		redirect(w, r, "/segments/"+strconv.FormatInt(seg.ID, 10), "list_added")
		return
	}
	s.segmentPage(w, r, http.StatusOK, rep, form{})
}

func (s *server) handleListRemove(w http.ResponseWriter, r *http.Request) {
	seg, ok := s.segmentFromPath(w, r)
	if !ok {
		return
	}
	r.ParseForm()
	if _, err := s.segmentSvc.RemoveMembers(r.Context(), seg.ID, listIDs(r)); err != nil {
		if crm.ErrorCode(err) == crm.EINVALID {
			f := form{}
			f.invalid(state(r).p, "id", "segments.error.choose_people")
			s.segmentPage(w, r, http.StatusUnprocessableEntity, nil, f)
			return
		}
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/segments/"+strconv.FormatInt(seg.ID, 10), "list_removed")
}

// --- The people list ---

// listSegments is the people list's segment filter and its lists for
// the "add to list" bulk action.
type listSegments struct {
	Segments []*crm.Segment
	Lists    []*crm.Segment
	Current  *crm.Segment
	CanWrite bool
}

// segmentFilter reads the people list's "in_segment" parameter into
// filter; nil without the module or the permission.
func (s *server) segmentFilter(r *http.Request, q url.Values, f *form, filter *crm.ContactFilter) *listSegments {
	if s.segmentSvc == nil || !state(r).user.Can(crm.PermMarketingRead) {
		return nil
	}
	ls := &listSegments{CanWrite: state(r).user.Can(crm.PermMarketingWrite)}
	var err error
	if ls.Segments, err = s.allSegments(r, crm.SegmentDynamic); err == nil {
		ls.Lists, err = s.allSegments(r, crm.SegmentStatic)
	}
	if err != nil {
		s.log.WarnContext(r.Context(), "web: segments for the people list", "err", err)
		return nil
	}
	v := strings.TrimSpace(q.Get("in_segment"))
	f.Values["in_segment"] = v
	if v == "" {
		return ls
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		f.invalid(state(r).p, "in_segment", "error.choose_option")
		return ls
	}
	seg, rules, err := s.segmentSvc.MatchRules(r.Context(), id)
	if err != nil {
		f.invalid(state(r).p, "in_segment", "segments.error.stale")
		return ls
	}
	ls.Current = seg
	filter.Segment = rules
	return ls
}

// bulkListAdd is the people list's bulk action that puts the ticked
// people on a static list.
const bulkListAdd = "add_to_list"

// bulkAddToList puts the people ticked in the people list on a list.
func (s *server) bulkAddToList(r *http.Request, ids []int64) error {
	if s.segmentSvc == nil {
		return &crm.Error{Code: crm.EINVALID, Message: "Choose an action.", Fields: map[string]string{"action": "Unknown action."}}
	}
	listID, _ := strconv.ParseInt(r.PostFormValue("list_id"), 10, 64)
	if listID <= 0 {
		return &crm.Error{Code: crm.EINVALID, Key: "segments.error.choose_list", Message: "Choose a list."}
	}
	if len(ids) == 0 {
		return &crm.Error{Code: crm.EINVALID, Message: "Choose at least one person.", Fields: map[string]string{"ids": "Choose at least one person."}}
	}
	_, err := s.segmentSvc.AddMembers(r.Context(), listID, ids)
	return err
}
