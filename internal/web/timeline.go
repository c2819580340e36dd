package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/text"
)

// The timeline of a person or company is the events table (see the
// activity package). Each event type has a renderer here: an icon, the
// type its payload decodes into, and a partial template named
// "timeline/<type>" (templates/partials/timeline.html) that writes the
// entry's title and body. Types without a renderer get "timeline/generic",
// which names the type and shows the payload. A module that puts a new
// event type on timelines adds one registerTimeline call and one partial.

// timelineRenderer shows one event type.
type timelineRenderer struct {
	Icon    string           // name of an icon of the "icon" partial
	Payload func() any       // a new value to decode the payload into; nil: a generic map
	IconOf  func(any) string // chooses the icon from the payload, when it varies
	Anchor  string           // entries carry #<Anchor>-<subject id>, as notifications link them
}

var timelineRenderers = map[string]timelineRenderer{}

// registerTimeline adds the renderer of an event type.
func registerTimeline(kind string, r timelineRenderer) {
	if _, dup := timelineRenderers[kind]; dup {
		panic("web: two timeline renderers for " + kind)
	}
	timelineRenderers[kind] = r
}

// contactEventPayload is what contact.created and contact.updated carry.
type contactEventPayload struct {
	Name    string   `json:"name"`
	Emails  []string `json:"emails"`
	Phones  []string `json:"phones"`
	Changed []string `json:"changed"`
	Bulk    string   `json:"bulk"`
}

// mergedPayload is what contact.merged carries.
type mergedPayload struct {
	MergedIDs []int64           `json:"merged_ids"`
	Names     map[string]string `json:"names"`
	Moved     map[string]int    `json:"moved"`
}

// companyEventPayload is what company.created and company.updated carry.
type companyEventPayload struct {
	Name string `json:"name"`
}

func init() {
	registerTimeline(crm.EventContactCreated, timelineRenderer{Icon: "person", Payload: func() any { return new(contactEventPayload) }})
	registerTimeline(crm.EventContactUpdated, timelineRenderer{Icon: "edit", Payload: func() any { return new(contactEventPayload) }})
	registerTimeline(crm.EventContactsMerged, timelineRenderer{Icon: "merge", Payload: func() any { return new(mergedPayload) }})
	registerTimeline(crm.EventConsentChanged, timelineRenderer{Icon: "shield", Payload: func() any { return new(crm.Consent) }})
	registerTimeline(crm.EventInteraction, timelineRenderer{Icon: "chat", Anchor: "interaction",
		Payload: func() any { return new(activity.InteractionPayload) },
		IconOf: func(v any) string {
			switch v.(*activity.InteractionPayload).Channel {
			case "phone":
				return "phone"
			case "email":
				return "mail"
			case "in_store":
				return "store"
			}
			return "chat"
		}})
	registerTimeline(crm.EventNoteAdded, timelineRenderer{Icon: "note", Anchor: "note", Payload: func() any { return new(activity.NotePayload) }})
	registerTimeline(crm.EventTaskCreated, timelineRenderer{Icon: "task", Anchor: "task", Payload: func() any { return new(activity.TaskPayload) }})
	registerTimeline(crm.EventTaskCompleted, timelineRenderer{Icon: "check", Payload: func() any { return new(activity.TaskStatePayload) }})
	registerTimeline(activity.EventTaskReopened, timelineRenderer{Icon: "task", Payload: func() any { return new(activity.TaskStatePayload) }})
	registerTimeline(crm.EventCompanyCreated, timelineRenderer{Icon: "building", Payload: func() any { return new(companyEventPayload) }})
	registerTimeline(crm.EventCompanyUpdated, timelineRenderer{Icon: "edit", Payload: func() any { return new(companyEventPayload) }})
}

// timelineEntry is one rendered entry.
type timelineEntry struct {
	ID     int64
	Anchor string
	Kind   string
	Icon   string
	When   time.Time
	Actor  string // "" for the system
	Body   template.HTML
}

// timelineSection is one page of a timeline.
type timelineSection struct {
	Entries     []timelineEntry
	Next, First string
}

// timelineView is the data of a "timeline/<type>" partial.
type timelineView struct {
	L        *locale.Printer
	Item     activity.Item
	P        any    // the decoded payload
	JSON     string // the payload, indented (generic entries)
	Actor    string
	Self     string // the page showing the timeline
	CSRF     string
	CanWrite bool
	Users    *userDirectory
}

// Field returns a translated field name for contact.updated entries.
func (v timelineView) Field(name string) string {
	if k := "contacts.field." + name; v.L.Has(k) {
		return v.L.T(k)
	}
	return name
}

// MergedNames lists the names of the people merged into this one.
func (v timelineView) MergedNames() []string {
	p, ok := v.P.(*mergedPayload)
	if !ok {
		return nil
	}
	var out []string
	for _, id := range p.MergedIDs {
		if n := p.Names[strconv.FormatInt(id, 10)]; n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Duration shows an interaction's length in minutes.
func (v timelineView) Duration(seconds int) string {
	return v.L.T("timeline.minutes", "count", (seconds+59)/60)
}

// partial renders one partial template with data, from the set that
// holds the layout and every partial.
func (t *templates) partial(name string, data any) (template.HTML, error) {
	t.mu.RLock()
	set := t.partials
	t.mu.RUnlock()
	if set == nil || set.Lookup(name) == nil {
		return "", fmt.Errorf("web: no partial template %q", name)
	}
	var buf bytes.Buffer
	if err := set.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

const timelinePageSize = 25

// timeline renders one page of a timeline; the cursor is the page's "tl"
// query parameter.
func (s *server) timeline(r *http.Request, entity string, id int64, self string, users *userDirectory) (timelineSection, error) {
	st := state(r)
	after := r.URL.Query().Get("tl")
	if r.Method != http.MethodGet {
		after = ""
	}
	items, next, err := s.activity.Timeline(r.Context(), entity, id, crm.Page{Limit: timelinePageSize, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" { // a bad cursor: show the newest entries
		after = ""
		items, next, err = s.activity.Timeline(r.Context(), entity, id, crm.Page{Limit: timelinePageSize})
	}
	if err != nil {
		return timelineSection{}, err
	}
	var sec timelineSection
	for _, it := range items {
		sec.Entries = append(sec.Entries, s.timelineEntry(r, st, it, self, users))
	}
	if next != "" {
		sec.Next = self + "?tl=" + next + "#timeline"
	}
	if after != "" {
		sec.First = self + "#timeline"
	}
	return sec, nil
}

// timelineEntry renders one item with its type's renderer, falling back
// to the generic one when there is none or it fails.
func (s *server) timelineEntry(r *http.Request, st *reqState, it activity.Item, self string, users *userDirectory) timelineEntry {
	e := timelineEntry{ID: it.Event.ID, Kind: it.Kind, When: it.Event.CreatedAt, Anchor: "event-" + strconv.FormatInt(it.Event.ID, 10), Icon: "dot"}
	if it.Actor != nil {
		e.Actor = it.Actor.Name
		if e.Actor == "" {
			e.Actor = it.Actor.Email
		}
	}
	v := timelineView{L: st.p, Item: it, Actor: e.Actor, Self: self, CSRF: st.csrf,
		CanWrite: st.user.Can(crm.PermContactsWrite), Users: users}
	rd, ok := timelineRenderers[it.Kind]
	if ok {
		e.Icon = rd.Icon
		if rd.Anchor != "" {
			e.Anchor = rd.Anchor + "-" + strconv.FormatInt(it.Event.SubjectID, 10)
		}
		if rd.Payload != nil {
			v.P = rd.Payload()
			if err := it.Decode(v.P); err != nil {
				s.log.WarnContext(r.Context(), "web: timeline", "event", it.Event.ID, "err", err)
				ok = false
			} else if rd.IconOf != nil {
				e.Icon = rd.IconOf(v.P)
			}
		}
	}
	if ok {
		body, err := s.tmpl.partial("timeline/"+it.Kind, v)
		if err == nil {
			e.Body = body
			return e
		}
		s.log.ErrorContext(r.Context(), "web: timeline", "event", it.Event.ID, "kind", it.Kind, "err", err)
	}
	var m any
	if len(it.Event.Payload) > 0 && json.Unmarshal(it.Event.Payload, &m) == nil {
		if b, err := json.MarshalIndent(m, "", "  "); err == nil {
			v.JSON = string(b)
		}
	}
	v.P = m
	body, err := s.tmpl.partial("timeline/generic", v)
	if err != nil {
		s.log.ErrorContext(r.Context(), "web: timeline", "event", it.Event.ID, "err", err)
		body = template.HTML(template.HTMLEscapeString(it.Kind))
	}
	e.Body = body
	return e
}

// --- Logging interactions, adding notes and tasks ---

// activityPanel holds the forms under a timeline: log an interaction, add
// a note, add a task. After a failed post the failing form is shown open
// with what was typed.
type activityPanel struct {
	Interaction form
	Note        form
	Task        form
	Open        string // "interaction", "note" or "task"
	Action      string // the page the forms post under: "/contacts/5"
	Users       []*crm.User
	Me          int64
	Channels    []string
	Directions  []string
	DateHint    string
}

func (a *activityPanel) setup(r *http.Request, action string, users *userDirectory) {
	st := state(r)
	a.Action, a.Me, a.Users = action, st.user.ID, users.Active
	a.Channels, a.Directions = crm.InteractionChannels, crm.Directions
	a.DateHint = st.p.DateInput(nowFunc())
	for _, f := range []*form{&a.Interaction, &a.Note, &a.Task} {
		if f.Values == nil {
			f.Values = map[string]string{}
		}
	}
	if a.Interaction.V("channel") == "" {
		a.Interaction.Values["channel"] = "phone"
	}
	if a.Interaction.V("direction") == "" {
		a.Interaction.Values["direction"] = "outbound"
	}
	if a.Task.V("assignee_id") == "" {
		a.Task.Values["assignee_id"] = strconv.FormatInt(st.user.ID, 10)
	}
}

// parseWhen reads a date (in the user's calendar) and an optional time of
// day ("14:30", any digits) typed in two fields, in the user's zone. A
// time without a date means today; a date without a time gets
// defaultClock. Both empty give nil.
func parseWhen(p *locale.Printer, date, clock, defaultClock string) (*time.Time, bool) {
	date, clock = strings.TrimSpace(date), strings.TrimSpace(text.ToASCIIDigits(clock))
	if date == "" && clock == "" {
		return nil, true
	}
	day := p.In(nowFunc())
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, p.Location())
	if date != "" {
		t, err := p.ParseDate(date)
		if err != nil {
			return nil, false
		}
		day = t
	}
	if clock == "" {
		clock = defaultClock
	}
	hh, mm, ok := strings.Cut(strings.ReplaceAll(clock, "٫", ":"), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return nil, false
	}
	t := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, p.Location())
	return &t, true
}

// timelineTarget reads the person or company whose page a form was
// posted from: entity "contact" or "company", and the path of its page.
func (s *server) timelineTarget(w http.ResponseWriter, r *http.Request) (entity string, id int64, self string, ok bool) {
	id, ok = pathID(r)
	if !ok {
		s.notFound(w, r)
		return "", 0, "", false
	}
	if strings.HasPrefix(r.URL.Path, "/companies/") {
		return "company", id, "/companies/" + strconv.FormatInt(id, 10), true
	}
	return "contact", id, "/contacts/" + strconv.FormatInt(id, 10), true
}

// renderTimelinePage shows the person's or company's page again with a
// failed activity form.
func (s *server) renderTimelinePage(w http.ResponseWriter, r *http.Request, entity string, id int64, status int, panel activityPanel) {
	ctx := r.Context()
	if entity == "company" {
		c, err := s.contacts.FindCompanyByID(ctx, id)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d, err := s.companyPage(r, c, panel)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		s.render(w, r, status, "company", d)
		return
	}
	c, err := s.contacts.FindContactByID(ctx, id)
	if err != nil {
		s.renderContactError(w, r, err)
		return
	}
	d, err := s.contactPage(r, c, panel)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "contact", d)
}

// failActivity puts a service error on an activity form. rename maps the
// service's field names to the form's.
func failActivity(p *locale.Printer, f *form, err error, rename map[string]string) {
	if ce, ok := asCRMError(err); ok && len(ce.Fields) > 0 {
		cp := *ce
		cp.Fields = map[string]string{}
		for k, v := range ce.Fields {
			if n, ok := rename[k]; ok {
				k = n
			}
			cp.Fields[k] = v
		}
		err = &cp
	}
	keys := map[string]string{}
	for name, msg := range crm.ErrorFields(err) {
		switch {
		case msg == "Write something." || msg == "A task needs a title.":
			keys[name] = "error.required"
		case strings.Contains(msg, "longer than") || strings.Contains(msg, "at most"):
			keys[name] = "contacts.error.too_long"
		case name == "channel" || name == "direction" || name == "kind":
			keys[name] = "error.choose_option"
		case name == "occurred_date":
			keys[name] = "timeline.error.future"
		case name == "duration_minutes":
			keys[name] = "timeline.error.duration"
		case name == "assignee_id":
			keys[name] = "contacts.error.owner"
		}
	}
	f.fail(p, err, keys)
}

func (s *server) handleInteractionCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	entity, id, self, ok := s.timelineTarget(w, r)
	if !ok {
		return
	}
	f := newForm(r, "channel", "direction", "subject", "occurred_date", "occurred_time", "duration_minutes")
	f.Values["body"] = strings.TrimSpace(r.PostFormValue("body"))
	in := crm.Interaction{Channel: f.V("channel"), Direction: f.V("direction"), Subject: f.V("subject"), Body: f.V("body")}
	if entity == "company" {
		in.CompanyID = id
	} else {
		in.ContactID = id
	}
	if at, ok := parseWhen(p, f.V("occurred_date"), f.V("occurred_time"), "12:00"); !ok {
		f.invalid(p, "occurred_date", "timeline.error.when", "example", p.DateInput(nowFunc()))
	} else if at != nil {
		in.OccurredAt = *at
	}
	if v := f.V("duration_minutes"); v != "" {
		n, err := p.ParseInt(v)
		if err != nil || n < 0 {
			f.invalid(p, "duration_minutes", "timeline.error.duration")
		} else {
			in.DurationSeconds = int(min(n, 1<<20)) * 60
		}
	}
	if f.ok() {
		_, err := s.activity.LogInteraction(r.Context(), in)
		if err == nil {
			redirectTo(w, r, self, "interaction_logged", "timeline")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		failActivity(p, &f, err, map[string]string{"occurred_at": "occurred_date", "duration_seconds": "duration_minutes"})
	}
	s.renderTimelinePage(w, r, entity, id, http.StatusUnprocessableEntity, activityPanel{Interaction: f, Open: "interaction"})
}

func (s *server) handleNoteCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	entity, id, self, ok := s.timelineTarget(w, r)
	if !ok {
		return
	}
	f := form{Values: map[string]string{"body": strings.TrimSpace(r.PostFormValue("body"))}}
	in := crm.Note{Body: f.V("body")}
	if entity == "company" {
		in.CompanyID = id
	} else {
		in.ContactID = id
	}
	n, err := s.activity.AddNote(r.Context(), in)
	if err == nil {
		redirectTo(w, r, self, "note_added", "note-"+strconv.FormatInt(n.ID, 10))
		return
	}
	if crm.ErrorCode(err) != crm.EINVALID {
		s.renderError(w, r, err)
		return
	}
	failActivity(p, &f, err, nil)
	s.renderTimelinePage(w, r, entity, id, problem.Status(err), activityPanel{Note: f, Open: "note"})
}

// readTaskForm reads the new-task form shared by the person, company and
// tasks pages.
func readTaskForm(r *http.Request, p *locale.Printer) (form, crm.Task) {
	f := newForm(r, "kind", "title", "due_date", "due_time", "remind_date", "remind_time", "assignee_id")
	f.Values["notes"] = strings.TrimSpace(r.PostFormValue("notes"))
	t := crm.Task{Kind: f.V("kind"), Title: f.V("title"), Notes: f.V("notes")}
	if t.Title == "" {
		f.invalid(p, "title", "error.required")
	}
	if due, ok := parseWhen(p, f.V("due_date"), f.V("due_time"), "23:59"); ok {
		t.DueAt = due
	} else {
		f.invalid(p, "due_date", "timeline.error.when", "example", p.DateInput(nowFunc()))
	}
	if at, ok := parseWhen(p, f.V("remind_date"), f.V("remind_time"), "09:00"); ok {
		t.RemindAt = at
	} else {
		f.invalid(p, "remind_date", "timeline.error.when", "example", p.DateInput(nowFunc()))
	}
	if v := f.V("assignee_id"); v != "" {
		t.AssigneeID, _ = strconv.ParseInt(v, 10, 64)
	}
	return f, t
}

func (s *server) handleTaskCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f, in := readTaskForm(r, p)
	entity, id, self := "", int64(0), "/tasks"
	if r.URL.Path != "/tasks" {
		var ok bool
		if entity, id, self, ok = s.timelineTarget(w, r); !ok {
			return
		}
		if entity == "company" {
			in.CompanyID = id
		} else {
			in.ContactID = id
		}
	}
	var err error
	if f.ok() {
		var t *crm.Task
		if t, err = s.activity.CreateTask(r.Context(), in); err == nil {
			redirectTo(w, r, self, "task_added", "task-"+strconv.FormatInt(t.ID, 10))
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		failActivity(p, &f, err, map[string]string{"due_at": "due_date", "remind_at": "remind_date"})
	}
	status := statusOf(err, http.StatusUnprocessableEntity)
	if entity == "" {
		s.renderTasks(w, r, status, f)
		return
	}
	s.renderTimelinePage(w, r, entity, id, status, activityPanel{Task: f, Open: "task"})
}
