package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
	"github.com/pivand/pivand/internal/locale"
)

// The service desk pages (internal/desk): the agents' queues (mine, my
// teams', unassigned, breaching soon, all, solved), a ticket with its
// conversation, reply form, canned replies, status, assignment,
// escalation, SLA timers, surveys and returns; the new-ticket form; the
// return requests; canned replies; agents' capacity and presence; the
// desk's settings, SLA policies, calendars and escalation rules; the
// public survey page; the timeline entries of the desk's events; and the
// service panels of the dashboards (service_reports.go). Installed when
// Options.Desk is set.

func init() {
	webModules = append(webModules, webModule{
		on:  func(s *server) bool { return s.desk != nil },
		nav: []navItem{{Key: "service.nav", Href: "/service", Perm: crm.PermServiceRead, Prefix: "/service/"}},
		settingsNav: []navItem{{Key: "service.nav_settings", Href: "/settings/service", Perm: crm.PermSettingsManage,
			Prefix: "/settings/service/"}},
		routes: serviceRoutes,
	})
	ticket := func() any { return new(desk.TicketPayload) }
	registerTimeline(crm.EventTicketCreated, timelineRenderer{Icon: "chat", Payload: ticket})
	registerTimeline(crm.EventTicketStatusChanged, timelineRenderer{Icon: "edit", Payload: func() any { return new(desk.StatusPayload) }})
	registerTimeline(crm.EventTicketSolved, timelineRenderer{Icon: "check", Payload: func() any { return new(desk.StatusPayload) }})
	registerTimeline(crm.EventTicketUpdated, timelineRenderer{Icon: "edit", Payload: func() any { return new(desk.UpdatedPayload) }})
	registerTimeline(crm.EventTicketAssigned, timelineRenderer{Icon: "person", Payload: func() any { return new(desk.AssignedPayload) }})
	registerTimeline(crm.EventTicketEscalated, timelineRenderer{Icon: "merge", Payload: func() any { return new(desk.EscalatedPayload) }})
	registerTimeline(crm.EventTicketMessage, timelineRenderer{Icon: "mail", Payload: func() any { return new(desk.MessagePayload) }})
	registerTimeline(crm.EventTicketSLAWarning, timelineRenderer{Icon: "task", Payload: func() any { return new(desk.SLAPayload) }})
	registerTimeline(crm.EventTicketSLABreached, timelineRenderer{Icon: "shield", Payload: func() any { return new(desk.SLAPayload) }})
	registerTimeline(crm.EventSurveyAnswered, timelineRenderer{Icon: "check", Payload: func() any { return new(desk.SurveyPayload) }})
	registerTimeline(crm.EventReturnRequested, timelineRenderer{Icon: "store", Payload: func() any { return new(desk.ReturnPayload) }})
	registerTimeline(crm.EventReturnResolved, timelineRenderer{Icon: "store", Payload: func() any { return new(desk.ReturnPayload) }})
}

func serviceRoutes(s *server, mux *http.ServeMux) {
	read, write, admin := crm.PermServiceRead, crm.PermServiceWrite, crm.PermSettingsManage
	mux.HandleFunc("GET /service", s.can(read, s.handleServiceQueue))
	mux.HandleFunc("GET /service/{$}", s.can(read, s.handleServiceQueue))
	mux.HandleFunc("GET /service/tickets/new", s.can(write, s.handleTicketNew))
	mux.HandleFunc("POST /service/tickets", s.can(write, s.handleTicketCreate))
	mux.HandleFunc("GET /service/tickets/{id}", s.can(read, s.handleTicketShow))
	mux.HandleFunc("POST /service/tickets/{id}/reply", s.can(write, s.handleTicketReply))
	mux.HandleFunc("POST /service/tickets/{id}/status", s.can(write, s.handleTicketStatus))
	mux.HandleFunc("POST /service/tickets/{id}/assign", s.can(write, s.handleTicketAssign))
	mux.HandleFunc("POST /service/tickets/{id}/team", s.can(write, s.handleTicketTeam))
	mux.HandleFunc("POST /service/tickets/{id}/update", s.can(write, s.handleTicketUpdate))
	mux.HandleFunc("POST /service/tickets/{id}/escalate", s.can(write, s.handleTicketEscalate))
	mux.HandleFunc("POST /service/tickets/{id}/returns", s.can(write, s.handleTicketReturn))
	mux.HandleFunc("POST /service/tickets/{id}/customer-message", s.can(write, s.handleTicketCustomerMessage))
	mux.HandleFunc("GET /service/attachments/{id}", s.can(read, s.handleServiceAttachment))
	mux.HandleFunc("GET /service/returns", s.can(read, s.handleServiceReturns))
	mux.HandleFunc("POST /service/returns/{id}", s.can(write, s.handleServiceReturnUpdate))
	mux.HandleFunc("GET /service/canned", s.can(read, s.handleCannedIndex))
	mux.HandleFunc("POST /service/canned", s.can(write, s.handleCannedSave))
	mux.HandleFunc("POST /service/canned/{id}/delete", s.can(write, s.handleCannedDelete))
	mux.HandleFunc("GET /service/agents", s.can(read, s.handleServiceAgents))
	mux.HandleFunc("POST /service/agents/{id}", s.can(write, s.handleServiceAgentSave))

	mux.HandleFunc("GET /settings/service", s.can(admin, s.handleServiceSettings))
	mux.HandleFunc("POST /settings/service", s.can(admin, s.handleServiceSettingsSave))
	mux.HandleFunc("POST /settings/service/teams/{id}", s.can(admin, s.handleServiceTeamMode))
	mux.HandleFunc("POST /settings/service/standard", s.can(admin, s.handleServiceStandard))
	mux.HandleFunc("GET /settings/service/policies/{id}", s.can(admin, s.handlePolicyEdit))
	mux.HandleFunc("POST /settings/service/policies/{id}", s.can(admin, s.handlePolicySave))
	mux.HandleFunc("POST /settings/service/policies/{id}/delete", s.can(admin, s.handlePolicyDelete))
	mux.HandleFunc("GET /settings/service/calendars/{id}", s.can(admin, s.handleCalendarEdit))
	mux.HandleFunc("POST /settings/service/calendars/{id}", s.can(admin, s.handleCalendarSave))
	mux.HandleFunc("POST /settings/service/calendars/{id}/delete", s.can(admin, s.handleCalendarDelete))
	mux.HandleFunc("GET /settings/service/rules/{id}", s.can(admin, s.handleRuleEdit))
	mux.HandleFunc("POST /settings/service/rules/{id}", s.can(admin, s.handleRuleSave))
	mux.HandleFunc("POST /settings/service/rules/{id}/delete", s.can(admin, s.handleRuleDelete))

	// The customer's satisfaction survey: public, by its link.
	mux.HandleFunc("GET /survey/{token}", s.handleSurveyPage)
	mux.HandleFunc("POST /survey/{token}", s.handleSurveyAnswer)
}

// --- What every service page shares ---

// serviceTab is one tab of the service pages.
type serviceTab struct {
	Key, Href string
	Count     int
	Current   bool
}

// serviceBase is the top of every agent page: the tabs and what the user
// may do.
type serviceBase struct {
	base
	Tabs     []serviceTab
	CanWrite bool
	CanAdmin bool
}

// QueueCount is the count shown on a queue's tab.
func (b serviceBase) QueueCount(q string) int {
	for _, t := range b.Tabs {
		if t.Key == "queue."+q {
			return t.Count
		}
	}
	return 0
}

func (s *server) servicePage(r *http.Request, titleKey, current string) serviceBase {
	st := state(r)
	b := serviceBase{base: s.page(r, titleKey), CanWrite: st.user.Can(crm.PermServiceWrite), CanAdmin: st.user.Can(crm.PermSettingsManage)}
	counts, _ := s.desk.QueueCounts(r.Context())
	for _, q := range desk.Queues {
		t := serviceTab{Key: "queue." + string(q), Href: "/service?queue=" + string(q), Count: counts[q], Current: current == string(q)}
		b.Tabs = append(b.Tabs, t)
	}
	for _, t := range []serviceTab{{Key: "returns", Href: "/service/returns"}, {Key: "canned", Href: "/service/canned"}, {Key: "agents", Href: "/service/agents"}} {
		t.Current = t.Key == current
		b.Tabs = append(b.Tabs, t)
	}
	return b
}

// Status shows a ticket status with its colour class.
func (b *serviceBase) StatusClass(status string) string { return ticketStatusClass(status) }

func ticketStatusClass(status string) string {
	switch status {
	case crm.TicketNew:
		return "status-running"
	case crm.TicketOpen:
		return "status-ok"
	case crm.TicketSolved, crm.TicketClosed:
		return "status-off"
	}
	return "status-late"
}

// serviceFuncs are the template functions of the service pages.
var serviceFuncs = template.FuncMap{
	"ticketStatusClass": ticketStatusClass,
	"serviceDuration":   func(p *locale.Printer, d time.Duration) string { return serviceDuration(p, d) },
	"workingDuration":   workingDuration,
	"slaClass": func(status string) string {
		switch status {
		case crm.SLAHit:
			return "status-ok"
		case crm.SLAMissed, crm.SLABreached:
			return "status-late"
		case crm.SLAPaused:
			return "status-off"
		}
		return "status-running"
	},
	"stars": func(n int) string {
		if n < 1 || n > 5 {
			return ""
		}
		return strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
	},
	"isInline": desk.InlineSafe,
	"list5":    func() []int { return []int{5, 4, 3, 2, 1} },
	"kb":       func(n int64) int64 { return (n + 1023) / 1024 },
	"minutes":  func(m int64) time.Duration { return time.Duration(m) * time.Minute },
	"timeOrZero": func(t *time.Time) time.Time {
		if t == nil {
			return time.Time{}
		}
		return *t
	},
}

// serviceDuration shows a duration in days, hours and minutes.
func serviceDuration(p *locale.Printer, d time.Duration) string {
	return formatServiceDuration(p, d, true)
}

// workingDuration shows working time (SLA targets, what is left of a
// paused timer) in hours and minutes: a "day" of 24 working hours would
// read as one day when it is three of an eight-hour calendar.
func workingDuration(p *locale.Printer, d time.Duration) string {
	return formatServiceDuration(p, d, false)
}

func formatServiceDuration(p *locale.Printer, d time.Duration, withDays bool) string {
	neg := d < 0
	if neg {
		d = -d
	}
	m := int64(d.Round(time.Minute) / time.Minute)
	days, hours, mins := m/(24*60), (m/60)%24, m%60
	if !withDays {
		days, hours = 0, m/60
	}
	var parts []string
	if days > 0 {
		parts = append(parts, p.T("service.duration.days", "count", days))
	}
	if hours > 0 {
		parts = append(parts, p.T("service.duration.hours", "count", hours))
	}
	if mins > 0 || len(parts) == 0 {
		parts = append(parts, p.T("service.duration.minutes", "count", mins))
	}
	out := strings.Join(parts, " ")
	if neg {
		return p.T("service.duration.ago", "duration", out)
	}
	return out
}

// --- The queues ---

const ticketPageSize = 50

// ticketRow is a ticket in a list, with the names it shows.
type ticketRow struct {
	*crm.Ticket
	Customer string
	Assignee string
	Team     string
	Next     *crm.SLATimer // the timer due first, if any still runs
}

type serviceQueuePage struct {
	serviceBase
	Queue     string
	Tickets   []ticketRow
	Filter    form
	Statuses  []string
	Prios     []string
	Channels  []string
	Next      string
	First     string
	Now       time.Time
	ContactID int64
}

// Due says when a timer is due, relative to now.
func (d *serviceQueuePage) Due(t *crm.SLATimer) string {
	if t == nil || t.DueAt == nil {
		return ""
	}
	left := t.DueAt.Sub(d.Now)
	if left < 0 {
		return d.L.T("service.sla.overdue_by", "duration", serviceDuration(d.L, -left))
	}
	return d.L.T("service.sla.due_in", "duration", serviceDuration(d.L, left))
}

func (s *server) handleServiceQueue(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	q := r.URL.Query()
	queue := q.Get("queue")
	f := form{Values: map[string]string{}}
	for _, k := range []string{"status", "priority", "channel", "q", "contact"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	if queue == "" && f.V("contact") == "" && f.V("q") == "" {
		queue = string(desk.QueueMine)
		if st.user.Role == crm.RoleAdmin || st.user.Role == crm.RoleManager {
			queue = string(desk.QueueAll)
		}
	}
	d := &serviceQueuePage{serviceBase: s.servicePage(r, "service.title", queue), Queue: queue, Statuses: crm.TicketStatuses,
		Prios: crm.TicketPriorities, Channels: crm.TicketChannels, Now: nowFunc()}
	var filter crm.TicketFilter
	if queue != "" {
		qf, ok := desk.QueueFilter(ctx, desk.Queue(queue), nowFunc())
		if !ok {
			s.notFound(w, r)
			return
		}
		filter = qf
		d.Title = p.T("service.queue." + queue)
	}
	if v := f.V("status"); v != "" {
		if !slices.Contains(crm.TicketStatuses, v) {
			f.invalid(p, "status", "error.choose_option")
		}
		filter.Statuses, filter.Active = []string{v}, false
	}
	if v := f.V("priority"); v != "" {
		if !slices.Contains(crm.TicketPriorities, v) {
			f.invalid(p, "priority", "error.choose_option")
		}
		filter.Priority = v
	}
	if v := f.V("channel"); v != "" {
		if !slices.Contains(crm.TicketChannels, v) {
			f.invalid(p, "channel", "error.choose_option")
		}
		filter.Channel = v
	}
	if v := f.V("contact"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.invalid(p, "contact", "error.choose_option")
		}
		filter.ContactID, d.ContactID = id, id
	}
	filter.Query = f.V("q")
	filter.Limit, filter.After = ticketPageSize, q.Get("after")
	d.Filter = f
	if !f.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "service_queue", d)
		return
	}
	tickets, next, err := s.desk.List(ctx, filter)
	if crm.ErrorCode(err) == crm.EINVALID && filter.After != "" {
		filter.After = ""
		tickets, next, err = s.desk.List(ctx, filter)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Tickets, err = s.ticketRows(ctx, tickets); err != nil {
		s.renderError(w, r, err)
		return
	}
	keep := url.Values{}
	if queue != "" {
		keep.Set("queue", queue)
	}
	for k, v := range f.Values {
		if v != "" {
			keep.Set(k, v)
		}
	}
	if next != "" {
		nq := url.Values{}
		for k, v := range keep {
			nq[k] = v
		}
		nq.Set("after", next)
		d.Next = "/service?" + nq.Encode()
	}
	if filter.After != "" {
		d.First = "/service?" + keep.Encode()
	}
	s.render(w, r, http.StatusOK, "service_queue", d)
}

// ticketRows names the customers, agents and teams of tickets.
func (s *server) ticketRows(ctx context.Context, ts []*crm.Ticket) ([]ticketRow, error) {
	names, err := s.desk.NamesFor(ctx, ts)
	if err != nil {
		return nil, err
	}
	out := make([]ticketRow, len(ts))
	for i, t := range ts {
		row := ticketRow{Ticket: t, Customer: names.Contacts[t.ContactID], Assignee: names.Users[t.AssigneeID], Team: names.Teams[t.TeamID]}
		for j := range t.SLA {
			x := &t.SLA[j]
			if x.DueAt != nil && x.SatisfiedAt == nil && (row.Next == nil || x.DueAt.Before(*row.Next.DueAt)) {
				row.Next = x
			}
		}
		out[i] = row
	}
	return out, nil
}

// --- A new ticket ---

type ticketFormPage struct {
	serviceBase
	Form       form
	Channels   []string
	Prios      []string
	Tiers      []string
	Categories []string
	Teams      []*crm.DeskTeam
	Agents     []*crm.Agent
}

var ticketFields = []string{"subject", "body", "customer", "first_name", "last_name", "channel", "category", "priority", "tier", "team_id", "assignee_id", "tags"}

func (s *server) handleTicketNew(w http.ResponseWriter, r *http.Request) {
	f := form{Values: map[string]string{"channel": crm.ChannelPhone, "priority": crm.PriorityNormal, "tier": crm.Tier1}}
	if c := r.URL.Query().Get("contact"); c != "" {
		f.Values["customer"] = "#" + c
	}
	s.renderTicketForm(w, r, http.StatusOK, f)
}

func (s *server) renderTicketForm(w http.ResponseWriter, r *http.Request, status int, f form) {
	ctx := r.Context()
	d := &ticketFormPage{serviceBase: s.servicePage(r, "service.new.title", ""), Form: f, Channels: crm.TicketChannels,
		Prios: crm.TicketPriorities, Tiers: crm.TicketTiers}
	st, err := s.desk.Settings(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Categories = st.Categories
	if f.V("team_id") == "" && st.DefaultTeamID != 0 {
		d.Form.Values["team_id"] = strconv.FormatInt(st.DefaultTeamID, 10)
	}
	if d.Teams, err = s.desk.Teams(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Agents, err = s.desk.Agents(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "service_ticket_form", d)
}

// ticketFieldKeys explains the desk's field errors in the forms.
var ticketFieldKeys = map[string]string{
	"subject": "service.error.subject", "body": "service.error.body", "customer": "service.error.customer",
	"customer.email": "service.error.customer", "customer.phone": "service.error.customer", "customer.contact_id": "service.error.customer",
	"channel": "error.choose_option", "priority": "error.choose_option", "tier": "error.choose_option", "team_id": "error.choose_option",
	"assignee_id": "service.error.assignee", "status": "service.error.status", "category": "service.error.text",
}

// customerRef reads the customer field of the ticket form: #42 (a
// contact number), an email, or a phone.
func customerRef(v, first, last string) crm.CustomerRef {
	v = strings.TrimSpace(v)
	ref := crm.CustomerRef{FirstName: first, LastName: last}
	switch {
	case strings.HasPrefix(v, "#"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64)
		ref.ContactID = id
	case strings.Contains(v, "@"):
		ref.Email = v
	case v != "":
		ref.Phone = v
	}
	return ref
}

func (s *server) handleTicketCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, ticketFields...)
	in := desk.TicketInput{Subject: f.V("subject"), Body: f.V("body"), Customer: customerRef(f.V("customer"), f.V("first_name"), f.V("last_name")),
		Channel: f.V("channel"), Category: f.V("category"), Priority: f.V("priority"), Tier: f.V("tier"), Tags: splitTags(f.V("tags"))}
	for _, k := range []string{"team_id", "assignee_id"} {
		if v := f.V(k); v != "" {
			n, err := p.ParseInt(v)
			if err != nil || n < 0 {
				f.invalid(p, k, "error.choose_option")
			}
			if k == "team_id" {
				in.TeamID = n
			} else {
				in.AssigneeID = n
			}
		}
	}
	if !f.ok() {
		s.renderTicketForm(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	t, err := s.desk.Create(r.Context(), in)
	if err != nil {
		if crm.ErrorCode(err) == crm.EINVALID || crm.ErrorCode(err) == crm.ECONFLICT {
			f.fail(p, err, ticketFieldKeys)
			s.renderTicketForm(w, r, http.StatusUnprocessableEntity, f)
			return
		}
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/service/tickets/%d", t.ID), "ticket_created")
}
