package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/text"
)

// The service desk's other pages: return requests, canned replies,
// agents, the settings with SLA policies, calendars and escalation rules,
// and the customer's survey page.

// idOrNew reads the {id} of an edit page: a positive id, or "new" (0).
func idOrNew(r *http.Request) (int64, bool) {
	if r.PathValue("id") == "new" {
		return 0, true
	}
	return pathID(r)
}

// --- Return requests ---

type serviceReturnsPage struct {
	serviceBase
	Returns     []*crm.ReturnRequest
	Open        bool
	Reason      string
	Reasons     []string
	Resolutions []string
	Next, First string
}

func (s *server) handleServiceReturns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &serviceReturnsPage{serviceBase: s.servicePage(r, "service.returns.title", "returns"), Open: q.Get("open") != "0",
		Reason: q.Get("reason"), Reasons: crm.ReturnReasons, Resolutions: crm.ReturnResolutions}
	if d.Reason != "" && !slices.Contains(crm.ReturnReasons, d.Reason) {
		d.Reason = ""
	}
	after := q.Get("after")
	list, next, err := s.desk.Returns(r.Context(), desk.ReturnFilter{Open: d.Open, Reason: d.Reason, Limit: 50, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" {
		after = ""
		list, next, err = s.desk.Returns(r.Context(), desk.ReturnFilter{Open: d.Open, Reason: d.Reason, Limit: 50})
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Returns = list
	base := fmt.Sprintf("/service/returns?open=%s&reason=%s", map[bool]string{true: "1", false: "0"}[d.Open], d.Reason)
	if next != "" {
		d.Next = base + "&after=" + next
	}
	if after != "" {
		d.First = base
	}
	s.render(w, r, http.StatusOK, "service_returns", d)
}

func (s *server) handleServiceReturnUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "resolution", "notes", "back")
	res, notes := f.V("resolution"), f.V("notes")
	rr, err := s.desk.UpdateReturn(r.Context(), id, desk.ReturnPatch{Resolution: &res, Notes: &notes})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	back := localPath(f.V("back"))
	if back == "/" {
		back = ticketPath(rr.TicketID, "returns")
	}
	redirect(w, r, back, "return_updated")
}

// --- Canned replies ---

type cannedPage struct {
	serviceBase
	Replies      []*crm.CannedReply
	Form         form
	Placeholders []string
}

var cannedFields = []string{"id", "name", "body_en", "body_fa", "body_ar"}

func (s *server) handleCannedIndex(w http.ResponseWriter, r *http.Request) {
	f := form{Values: map[string]string{}}
	if e := r.URL.Query().Get("edit"); e != "" {
		id, _ := strconv.ParseInt(e, 10, 64)
		c, err := s.desk.CannedReply(r.Context(), id)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		f.Values = map[string]string{"id": e, "name": c.Name, "body_en": c.Bodies["en"], "body_fa": c.Bodies["fa"], "body_ar": c.Bodies["ar"]}
	}
	s.renderCanned(w, r, http.StatusOK, f)
}

func (s *server) renderCanned(w http.ResponseWriter, r *http.Request, status int, f form) {
	d := &cannedPage{serviceBase: s.servicePage(r, "service.canned.title", "canned"), Form: f, Placeholders: desk.Placeholders}
	var err error
	if d.Replies, err = s.desk.CannedReplies(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "service_canned", d)
}

func (s *server) handleCannedSave(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, cannedFields...)
	id, _ := strconv.ParseInt(f.V("id"), 10, 64)
	_, err := s.desk.SaveCannedReply(r.Context(), crm.CannedReply{ID: id, Name: f.V("name"),
		Bodies: map[string]string{"en": f.V("body_en"), "fa": f.V("body_fa"), "ar": f.V("body_ar")}})
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"name": "service.error.text", "bodies": "service.canned.error_bodies"})
		s.renderCanned(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	redirect(w, r, "/service/canned", "canned_saved")
}

func (s *server) handleCannedDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.desk.DeleteCannedReply(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/service/canned", "canned_deleted")
}

// --- Agents ---

type agentsPage struct {
	serviceBase
	Agents    []*crm.Agent
	CanManage bool
	Me        int64
	Form      form
}

func (s *server) handleServiceAgents(w http.ResponseWriter, r *http.Request) {
	s.renderAgents(w, r, http.StatusOK, form{Values: map[string]string{}})
}

func (s *server) renderAgents(w http.ResponseWriter, r *http.Request, status int, f form) {
	st := state(r)
	d := &agentsPage{serviceBase: s.servicePage(r, "service.agents.title", "agents"), CanManage: st.user.Can(crm.PermUsersManage), Me: st.user.ID, Form: f}
	var err error
	if d.Agents, err = s.desk.Agents(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "service_agents", d)
}

func (s *server) handleServiceAgentSave(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	f := newForm(r, "capacity", "away")
	capacity, err := p.ParseInt(f.V("capacity"))
	if err != nil {
		f.invalid(p, "capacity", "service.error.capacity_number", "max", desk.MaxCapacity)
		s.renderAgents(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if _, err := s.desk.SaveAgent(r.Context(), id, desk.AgentInput{Capacity: int(capacity), Away: f.V("away") == "1"}); err != nil {
		if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.EFORBIDDEN {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"capacity": "service.error.capacity_number"})
		s.renderAgents(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	redirect(w, r, "/service/agents", "agent_saved")
}

// --- Settings ---

type serviceSettingsPage struct {
	base
	Form      form
	Teams     []*crm.DeskTeam
	Modes     []string
	Policies  []*crm.SLAPolicy
	Calendars []*crm.BusinessCalendar
	Rules     []*crm.EscalationRule
	ZoneHint  string
}

// CalendarName names a policy's calendar.
func (d *serviceSettingsPage) CalendarName(id int64) string {
	for _, c := range d.Calendars {
		if c.ID == id {
			return c.Name
		}
	}
	return d.L.T("service.sla.always")
}

var settingsFields = []string{"support_address", "support_name", "reopen_days", "acknowledge", "surveys", "survey_days", "default_team_id", "categories"}

func (s *server) handleServiceSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.desk.Settings(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := state(r).p
	f := form{Values: map[string]string{"support_address": st.SupportAddress, "support_name": st.SupportName,
		"reopen_days": p.Int(st.ReopenDays), "survey_days": p.Int(st.SurveyDays), "categories": strings.Join(st.Categories, p.T("service.list_sep"))}}
	if st.Acknowledge {
		f.Values["acknowledge"] = "1"
	}
	if st.Surveys {
		f.Values["surveys"] = "1"
	}
	if st.DefaultTeamID != 0 {
		f.Values["default_team_id"] = strconv.FormatInt(st.DefaultTeamID, 10)
	}
	s.renderServiceSettings(w, r, http.StatusOK, f)
}

func (s *server) renderServiceSettings(w http.ResponseWriter, r *http.Request, status int, f form) {
	ctx := r.Context()
	d := &serviceSettingsPage{base: s.page(r, "service.settings.title"), Form: f, Modes: crm.AssignmentModes}
	var err error
	if d.Teams, err = s.desk.Teams(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Policies, err = s.desk.Policies(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Calendars, err = s.desk.Calendars(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Rules, err = s.desk.Rules(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.ZoneHint = d.L.Preferences().TimeZone
	s.render(w, r, status, "service_settings", d)
}

func (s *server) handleServiceSettingsSave(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, settingsFields...)
	in := desk.Settings{SupportAddress: f.V("support_address"), SupportName: f.V("support_name"), Acknowledge: f.V("acknowledge") == "1",
		Surveys: f.V("surveys") == "1", Categories: splitTags(f.V("categories"))}
	for _, k := range []string{"reopen_days", "survey_days"} {
		n, err := p.ParseInt(f.V(k))
		if err != nil {
			f.invalid(p, k, "service.error.days")
			continue
		}
		if k == "reopen_days" {
			in.ReopenDays = int(n)
		} else {
			in.SurveyDays = int(n)
		}
	}
	in.DefaultTeamID, _ = strconv.ParseInt(f.V("default_team_id"), 10, 64)
	if !f.ok() {
		s.renderServiceSettings(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if _, err := s.desk.SaveSettings(r.Context(), in); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"support_address": "service.error.email", "reopen_days": "service.error.days",
			"survey_days": "service.error.days", "default_team_id": "error.choose_option", "support_name": "service.error.text"})
		s.renderServiceSettings(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	redirect(w, r, "/settings/service", "service_settings_saved")
}

func (s *server) handleServiceTeamMode(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.desk.SetTeamMode(r.Context(), id, r.PostFormValue("assignment")); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/service#teams", "service_settings_saved")
}

func (s *server) handleServiceStandard(w http.ResponseWriter, r *http.Request) {
	zone := state(r).p.Preferences().TimeZone
	if _, err := s.desk.StandardSetup(r.Context(), zone); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/service#sla", "sla_created")
}

// --- SLA policies ---

type policyPage struct {
	base
	ID        int64
	Form      form
	Calendars []*crm.BusinessCalendar
	Prios     []string
	Channels  []string
}

// Checked reports whether a multi-choice field holds v.
func (d *policyPage) Checked(field, v string) bool {
	return slices.Contains(strings.Split(d.Form.V(field), ","), v)
}

func (s *server) handlePolicyEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	f := form{Values: map[string]string{"active": "1", "first_response_minutes": p.Int(60), "resolution_minutes": p.Int(480), "warn_minutes": p.Int(30)}}
	if id != 0 {
		pol, err := s.desk.Policy(r.Context(), id)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		sep := p.T("service.list_sep")
		c := pol.Conditions
		f.Values = map[string]string{"name": pol.Name, "position": p.Int(pol.Position), "calendar_id": strconv.FormatInt(pol.CalendarID, 10),
			"first_response_minutes": p.Number(pol.FirstResponseMinutes), "resolution_minutes": p.Number(pol.ResolutionMinutes),
			"warn_minutes": p.Number(pol.WarnMinutes), "priorities": strings.Join(c.Priorities, ","), "channels": strings.Join(c.Channels, ","),
			"categories": strings.Join(c.Categories, sep), "tags": strings.Join(c.Tags, sep), "tiers": strings.Join(c.Tiers, sep)}
		if pol.Active {
			f.Values["active"] = "1"
		}
		if pol.PauseOnHold {
			f.Values["pause_on_hold"] = "1"
		}
	}
	s.renderPolicy(w, r, http.StatusOK, id, f)
}

func (s *server) renderPolicy(w http.ResponseWriter, r *http.Request, status int, id int64, f form) {
	key := "service.policy.new"
	if id != 0 {
		key = "service.policy.edit"
	}
	d := &policyPage{base: s.page(r, key), ID: id, Form: f, Prios: crm.TicketPriorities, Channels: crm.TicketChannels}
	var err error
	if d.Calendars, err = s.desk.Calendars(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "service_policy", d)
}

var policyFields = []string{"name", "position", "active", "calendar_id", "first_response_minutes", "resolution_minutes", "warn_minutes",
	"pause_on_hold", "categories", "tags", "tiers"}

func (s *server) handlePolicySave(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	f := newForm(r, policyFields...)
	f.Values["priorities"] = strings.Join(r.PostForm["priorities"], ",")
	f.Values["channels"] = strings.Join(r.PostForm["channels"], ",")
	pol := crm.SLAPolicy{ID: id, Name: f.V("name"), Active: f.V("active") == "1", PauseOnHold: f.V("pause_on_hold") == "1",
		Conditions: crm.SLAConditions{Priorities: r.PostForm["priorities"], Channels: r.PostForm["channels"], Categories: splitTags(f.V("categories")),
			Tags: splitTags(f.V("tags")), Tiers: splitTags(f.V("tiers"))}}
	pol.CalendarID, _ = strconv.ParseInt(f.V("calendar_id"), 10, 64)
	num := func(k string) int64 {
		if f.V(k) == "" {
			return 0
		}
		n, err := p.ParseInt(f.V(k))
		if err != nil {
			f.invalid(p, k, "service.error.minutes")
		}
		return n
	}
	pol.Position = int(num("position"))
	pol.FirstResponseMinutes, pol.ResolutionMinutes, pol.WarnMinutes = num("first_response_minutes"), num("resolution_minutes"), num("warn_minutes")
	if !f.ok() {
		s.renderPolicy(w, r, http.StatusUnprocessableEntity, id, f)
		return
	}
	if _, err := s.desk.SavePolicy(r.Context(), pol); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"name": "service.error.text", "first_response_minutes": "service.error.minutes",
			"resolution_minutes": "service.error.minutes", "warn_minutes": "service.error.minutes", "calendar_id": "error.choose_option"})
		s.renderPolicy(w, r, http.StatusUnprocessableEntity, id, f)
		return
	}
	redirect(w, r, "/settings/service#sla", "policy_saved")
}

func (s *server) handlePolicyDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.desk.DeletePolicy(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/service#sla", "policy_deleted")
}

// --- Calendars ---

// weekdays in the order of an Iranian week, Saturday first.
var weekOrder = []int{6, 0, 1, 2, 3, 4, 5}

type calendarDay struct {
	Day  int
	Name string
}

type calendarPage struct {
	base
	ID   int64
	Form form
	Days []calendarDay
}

// HolidayExample is a holiday line as the user would type it: Nowruz
// 2027 in their calendar and digits.
func (d *calendarPage) HolidayExample() string {
	return d.L.DateInput(time.Date(2027, 3, 21, 12, 0, 0, 0, time.UTC))
}

func (s *server) handleCalendarEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	f := form{Values: map[string]string{"time_zone": p.Preferences().TimeZone}}
	if id == 0 {
		for _, d := range []int{6, 0, 1, 2, 3} {
			f.Values[fmt.Sprintf("start1_%d", d)], f.Values[fmt.Sprintf("end1_%d", d)] = "08:00", "16:00"
		}
	} else {
		c, err := s.desk.Calendar(r.Context(), id)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		f.Values["name"], f.Values["time_zone"] = c.Name, c.TimeZone
		n := map[int]int{}
		for _, h := range c.Hours {
			n[h.Day]++
			if n[h.Day] > 2 {
				continue
			}
			f.Values[fmt.Sprintf("start%d_%d", n[h.Day], h.Day)], f.Values[fmt.Sprintf("end%d_%d", n[h.Day], h.Day)] = h.Start, h.End
		}
		var lines []string
		for _, h := range c.Holidays {
			t, err := time.Parse(time.DateOnly, h.Date)
			if err != nil {
				continue
			}
			lines = append(lines, strings.TrimSpace(p.Date(t)+" "+h.Name))
		}
		f.Values["holidays"] = strings.Join(lines, "\n")
	}
	s.renderCalendar(w, r, http.StatusOK, id, f)
}

func (s *server) renderCalendar(w http.ResponseWriter, r *http.Request, status int, id int64, f form) {
	key := "service.calendar.new"
	if id != 0 {
		key = "service.calendar.edit"
	}
	d := &calendarPage{base: s.page(r, key), ID: id, Form: f}
	for _, day := range weekOrder {
		d.Days = append(d.Days, calendarDay{Day: day, Name: d.L.T(fmt.Sprintf("service.weekday.%d", day))})
	}
	s.render(w, r, status, "service_calendar", d)
}

func (s *server) handleCalendarSave(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	names := []string{"name", "time_zone", "holidays"}
	for d := range 7 {
		for n := 1; n <= 2; n++ {
			names = append(names, fmt.Sprintf("start%d_%d", n, d), fmt.Sprintf("end%d_%d", n, d))
		}
	}
	f := newForm(r, names...)
	c := crm.BusinessCalendar{ID: id, Name: f.V("name"), TimeZone: f.V("time_zone")}
	for d := range 7 {
		for n := 1; n <= 2; n++ {
			start, end := text.ToASCIIDigits(f.V(fmt.Sprintf("start%d_%d", n, d))), text.ToASCIIDigits(f.V(fmt.Sprintf("end%d_%d", n, d)))
			if start == "" && end == "" {
				continue
			}
			c.Hours = append(c.Hours, crm.WorkingSpan{Day: d, Start: start, End: end})
		}
	}
	c.Holidays = parseHolidays(p, f.V("holidays"), &f)
	if !f.ok() {
		s.renderCalendar(w, r, http.StatusUnprocessableEntity, id, f)
		return
	}
	if _, err := s.desk.SaveCalendar(r.Context(), c); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"name": "service.error.text", "time_zone": "service.error.zone", "hours": "service.error.hours"})
		s.renderCalendar(w, r, http.StatusUnprocessableEntity, id, f)
		return
	}
	redirect(w, r, "/settings/service#sla", "calendar_saved")
}

// parseHolidays reads one holiday a line: a date in the user's calendar
// (any digits), then its name.
func parseHolidays(p *locale.Printer, s string, f *form) []crm.Holiday {
	var out []crm.Holiday
	for i, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		date, name, _ := strings.Cut(line, " ")
		t, err := p.ParseDate(date)
		if err != nil {
			f.invalid(p, "holidays", "service.error.holiday", "line", i+1, "example", p.DateInput(nowFunc()))
			continue
		}
		out = append(out, crm.Holiday{Date: t.Format(time.DateOnly), Name: strings.TrimSpace(name)})
	}
	return out
}

func (s *server) handleCalendarDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.desk.DeleteCalendar(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/service#sla", "calendar_deleted")
}

// --- Escalation rules ---

type rulePage struct {
	base
	ID       int64
	Form     form
	Triggers []string
	Metrics  []string
	Prios    []string
	Tiers    []string
	Teams    []*crm.DeskTeam
}

// Checked reports whether a multi-choice field holds v.
func (d *rulePage) Checked(field, v string) bool {
	return slices.Contains(strings.Split(d.Form.V(field), ","), v)
}

func (s *server) handleRuleEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := form{Values: map[string]string{"active": "1", "trigger": crm.EscalateOnBreach, "to_tier": "next"}}
	if id != 0 {
		rules, err := s.desk.Rules(r.Context())
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		i := slices.IndexFunc(rules, func(x *crm.EscalationRule) bool { return x.ID == id })
		if i < 0 {
			s.notFound(w, r)
			return
		}
		x := rules[i]
		f.Values = map[string]string{"name": x.Name, "trigger": x.Trigger, "metrics": strings.Join(x.Metrics, ","),
			"priorities": strings.Join(x.Priorities, ","), "categories": strings.Join(x.Categories, state(r).p.T("service.list_sep")),
			"to_tier": x.ToTier, "to_team_id": strconv.FormatInt(x.ToTeamID, 10)}
		if x.Active {
			f.Values["active"] = "1"
		}
		if x.Raise {
			f.Values["raise"] = "1"
		}
	}
	s.renderRule(w, r, http.StatusOK, id, f)
}

func (s *server) renderRule(w http.ResponseWriter, r *http.Request, status int, id int64, f form) {
	key := "service.rule.new"
	if id != 0 {
		key = "service.rule.edit"
	}
	d := &rulePage{base: s.page(r, key), ID: id, Form: f, Triggers: crm.EscalationTriggers, Metrics: crm.SLAMetrics, Prios: crm.TicketPriorities,
		Tiers: crm.TicketTiers}
	var err error
	if d.Teams, err = s.desk.Teams(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "service_rule", d)
}

func (s *server) handleRuleSave(w http.ResponseWriter, r *http.Request) {
	id, ok := idOrNew(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p := state(r).p
	f := newForm(r, "name", "active", "trigger", "categories", "to_tier", "to_team_id", "raise")
	f.Values["metrics"] = strings.Join(r.PostForm["metrics"], ",")
	f.Values["priorities"] = strings.Join(r.PostForm["priorities"], ",")
	x := crm.EscalationRule{ID: id, Name: f.V("name"), Active: f.V("active") == "1", Trigger: f.V("trigger"), Metrics: r.PostForm["metrics"],
		Priorities: r.PostForm["priorities"], Categories: splitTags(f.V("categories")), ToTier: f.V("to_tier"), Raise: f.V("raise") == "1"}
	x.ToTeamID, _ = strconv.ParseInt(f.V("to_team_id"), 10, 64)
	if _, err := s.desk.SaveRule(r.Context(), x); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"name": "service.error.text", "trigger": "error.choose_option", "to_tier": "service.rule.error_action",
			"to_team_id": "error.choose_option"})
		s.renderRule(w, r, http.StatusUnprocessableEntity, id, f)
		return
	}
	redirect(w, r, "/settings/service#rules", "rule_saved")
}

func (s *server) handleRuleDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.desk.DeleteRule(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/service#rules", "rule_deleted")
}

// --- The customer's survey ---

type surveyPage struct {
	base
	S      *desk.PublicSurvey
	Form   form
	Thanks bool
	Token  string
}

// Subject is the ticket's subject isolated, so that a subject in the
// other direction (English in a Persian sentence) keeps the quotes and
// the number around it in place.
func (d *surveyPage) Subject() string { return isolate(d.S.Subject) }

func (s *server) handleSurveyPage(w http.ResponseWriter, r *http.Request) {
	s.renderSurvey(w, r, http.StatusOK, form{Values: map[string]string{"rating": r.URL.Query().Get("rating")}}, false)
}

func (s *server) renderSurvey(w http.ResponseWriter, r *http.Request, status int, f form, thanks bool) {
	token := r.PathValue("token")
	ps, err := s.desk.SurveyByToken(r.Context(), token)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := publicPrinter(r, ps.Language)
	st := state(r)
	d := &surveyPage{base: base{L: p, CSRF: st.csrf, Title: p.T("service.survey.title"), Path: r.URL.Path, Languages: locale.Languages,
		Version: s.version}, S: ps, Form: f, Thanks: thanks || ps.Survey.AnsweredAt != nil, Token: token}
	w.Header().Set("Referrer-Policy", "no-referrer")
	s.render(w, r, status, "service_survey", d)
}

func (s *server) handleSurveyAnswer(w http.ResponseWriter, r *http.Request) {
	ps, err := s.desk.SurveyByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := publicPrinter(r, ps.Language)
	f := newForm(r, "rating", "comment")
	rating, _ := strconv.Atoi(text.ToASCIIDigits(f.V("rating")))
	_, err = s.desk.AnswerSurvey(r.Context(), r.PathValue("token"), rating, f.V("comment"))
	if err != nil {
		switch crm.ErrorCode(err) {
		case crm.EINVALID, crm.EFORBIDDEN, crm.ECONFLICT:
			f.fail(p, err, map[string]string{"rating": "service.survey.error_rating", "comment": "service.error.text"})
			s.renderSurvey(w, r, http.StatusUnprocessableEntity, f, false)
		default:
			s.renderError(w, r, err)
		}
		return
	}
	s.renderSurvey(w, r, http.StatusOK, f, true)
}
