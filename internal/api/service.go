package api

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/desk"
)

// The service desk (internal/desk): tickets and their conversation,
// attachments, SLA policies and calendars, escalation rules, canned
// replies, surveys, return requests, agents, teams, settings and the
// service report. The routes exist when the API was given the desk.

func init() {
	moduleRoutes = append(moduleRoutes, serviceRoutes)
	for k, v := range map[string]string{
		"tickets":        "Customer requests and complaints from every channel, with their conversation, status machine, SLA timers, assignment and escalation.",
		"sla":            "SLA policies (first-response and resolution targets in business minutes) and the business calendars they count on.",
		"canned-replies": "Prepared answers with a text per language and placeholders.",
		"surveys":        "Satisfaction surveys sent when tickets are solved; customers answer them through their link.",
		"returns":        "Return requests raised on tickets, tied to an order line or naming a product.",
		"service":        "The service desk's agents, teams, settings, queues and report.",
	} {
		tagDescriptions[k] = v
	}
	for k, v := range map[string]string{
		"Ticket":           "A customer's request. status follows the status machine (new → open → pending / on_hold → solved → closed); sla holds the first_response and resolution timers of its policy; version changes with every change.",
		"TicketMessage":    "One entry of a ticket's conversation: kind public (the customer sees it) or note (agents only); direction in (the customer) or out (an agent). Emails carry their Message-ID and threading headers; delivery says what became of an outgoing one.",
		"SLATimer":         "One SLA target of a ticket. due_at and warn_at are absent while the ticket is pending (paused; remaining_minutes of working time left). status: active, paused, hit, missed (met late), breached (past due, not met).",
		"Attachment":       "A file of a message. content_type is sniffed from the bytes; download it from /attachments/{id}.",
		"TicketCreate":     "A new ticket: the customer (contact_id, or email/phone found or created), subject, the customer's words (body) and optional channel (phone unless given), category, priority, tier, team, assignee, tags, custom and attachments.",
		"FileIn":           "A file sent with a message: its name, and its bytes in base64 (the request body is at most 1 MiB; larger files come by email or the web UI).",
		"ReplyCreate":      "An agent's answer: a public reply (emailed on email and web-form tickets) or an internal note (note: true); status moves the ticket on in the same step.",
		"BusinessCalendar": "When the desk works: weekly spans (day 0 = Sunday … 6 = Saturday, HH:MM local times) in a time zone, and holidays (YYYY-MM-DD).",
		"SLAPolicy":        "Targets in working minutes of its calendar (0: around the clock) for the tickets its conditions select; active policies are tried by position, the first that matches applies.",
		"EscalationRule":   "When trigger (created, warning, breach) happens to a ticket matching the conditions, move it to to_tier (a tier or next) and/or to_team_id, and raise its priority with raise_priority.",
		"ServiceReport":    "The service figures of a period: backlog now, volume by channel and category, response and resolution times (nanoseconds) per agent and team, SLA hit rate (-1: nothing to rate), satisfaction and return reasons by product.",
	} {
		schemaDescriptions[k] = v
	}
}

func serviceRoutes(a *API) []route {
	if a.desk == nil {
		return nil
	}
	read, write, admin := crm.PermServiceRead, crm.PermServiceWrite, crm.PermSettingsManage
	return []route{
		{"GET /api/v1/tickets", a.handleTicketList, op{ID: "listTickets", Tag: "tickets", Perm: read, Paged: true, Query: ticketParams,
			Summary: "List tickets, newest first", Out: list[*crm.Ticket]{}}},
		{"POST /api/v1/tickets", a.handleTicketCreate, op{ID: "createTicket", Tag: "tickets", Perm: write, Status: http.StatusCreated, Location: true,
			Summary: "Open a ticket for a customer (found or created by email or phone)", In: ticketCreate{}, Out: &crm.Ticket{},
			Description: "The body is the customer's words, the first message. The SLA policy is chosen and the timers set; escalation rules for new tickets run; with a team that assigns automatically the ticket is assigned. Writes ticket.created on the customer's timeline."}},
		{"GET /api/v1/tickets/{id}", a.handleTicketGet, op{ID: "getTicket", Tag: "tickets", Perm: read,
			Summary: "Read a ticket with its SLA timers", Out: &crm.Ticket{}}},
		{"PATCH /api/v1/tickets/{id}", a.handleTicketUpdate, op{ID: "updateTicket", Tag: "tickets", Perm: write,
			Summary: "Change a ticket's subject, category, priority, tags or custom fields", In: ticketPatch{}, Out: &crm.Ticket{},
			Description: "Members sent are changed, the rest stay; custom merges per key (null removes a key). A version that is not the ticket's is a conflict (409). A new priority or category may choose another SLA policy."}},
		{"POST /api/v1/tickets/{id}/status", a.handleTicketStatus, op{ID: "setTicketStatus", Tag: "tickets", Perm: write,
			Summary: "Move a ticket along the status machine", In: ticketStatus{}, Out: &crm.Ticket{},
			Description: "Allowed: new → open, pending, on_hold, solved; open → pending, on_hold, solved; pending ↔ open, on_hold, solved; on_hold → open, pending, solved; solved → open (reopen), closed. Anything else is 409 naming the transition (errors.status). Solving sends the survey and closes the ticket after the reopen window."}},
		{"POST /api/v1/tickets/{id}/assign", a.handleTicketAssign, op{ID: "assignTicket", Tag: "tickets", Perm: write,
			Summary: "Give a ticket to an agent, within their capacity (0 or null: nobody)", In: ticketAssign{}, Out: &crm.Ticket{},
			Description: "An agent already at capacity is a conflict (409, errors.assignee_id)."}},
		{"POST /api/v1/tickets/{id}/auto-assign", a.handleTicketAutoAssign, op{ID: "autoAssignTicket", Tag: "tickets", Perm: write,
			Summary: "Assign a ticket by its team's mode (round robin or least busy), skipping agents away or at capacity", Out: &autoAssigned{}}},
		{"POST /api/v1/tickets/{id}/team", a.handleTicketTeam, op{ID: "setTicketTeam", Tag: "tickets", Perm: write,
			Summary: "Move a ticket to a team (0 or null: none); a team that assigns automatically assigns it", In: ticketTeam{}, Out: &crm.Ticket{}}},
		{"POST /api/v1/tickets/{id}/escalate", a.handleTicketEscalate, op{ID: "escalateTicket", Tag: "tickets", Perm: write,
			Summary: "Move a ticket up a tier (the next unless to_tier) and/or to another team", In: ticketEscalate{}, Out: &crm.Ticket{}}},
		{"POST /api/v1/tickets/{id}/recompute", a.handleTicketRecompute, op{ID: "recomputeTicketSLA", Tag: "tickets", Perm: write,
			Summary: "Choose the SLA policy again and recompute the timers from the ticket's history", Out: &crm.Ticket{}}},
		{"GET /api/v1/tickets/{id}/messages", a.handleTicketMessages, op{ID: "listTicketMessages", Tag: "tickets", Perm: read, Paged: true,
			Summary: "A ticket's conversation, oldest first, internal notes included", Out: list[*crm.TicketMessage]{}}},
		{"POST /api/v1/tickets/{id}/replies", a.handleTicketReply, op{ID: "replyToTicket", Tag: "tickets", Perm: write, Status: http.StatusCreated,
			Summary: "Answer a ticket (public reply) or write an internal note", In: replyCreate{}, Out: &crm.TicketMessage{},
			Description: "A public reply on an email or web-form ticket is emailed through the smarthost (delivery: queued, then sent or failed) with a fresh Message-ID, In-Reply-To and References. The first public reply meets the first-response target."}},
		{"POST /api/v1/tickets/{id}/customer-messages", a.handleTicketCustomerMessage, op{ID: "addCustomerMessage", Tag: "tickets", Perm: write,
			Status: http.StatusCreated, Summary: "Record a customer's message that came on another channel (chat, Telegram, a call)", In: customerMessageCreate{},
			Out:         &customerMessageOut{},
			Description: "On a pending or on-hold ticket it opens the ticket; on a solved one within the reopen window it reopens it; on a closed one it opens a new ticket following up the old one (ticket in the answer)."}},
		{"GET /api/v1/tickets/{id}/history", a.handleTicketHistory, op{ID: "getTicketHistory", Tag: "tickets", Perm: read,
			Summary: "A ticket's changes (status, assignee, team, tier, priority, category) and escalations, oldest first", Out: &ticketHistory{}}},
		{"GET /api/v1/tickets/{id}/surveys", a.handleTicketSurveys, op{ID: "listTicketSurveys", Tag: "surveys", Perm: read,
			Summary: "A ticket's satisfaction surveys, one per resolution", Out: list[*crm.Survey]{}}},
		{"GET /api/v1/tickets/{id}/returns", a.handleTicketReturns, op{ID: "listTicketReturns", Tag: "returns", Perm: read, Paged: true,
			Summary: "A ticket's return requests, newest first", Out: list[*crm.ReturnRequest]{}}},
		{"POST /api/v1/tickets/{id}/returns", a.handleReturnRequestCreate, op{ID: "createReturnRequest", Tag: "returns", Perm: write, Status: http.StatusCreated,
			Summary: "Raise a return request: a line of the customer's orders, or a product in words", In: returnRequestCreate{}, Out: &crm.ReturnRequest{}}},
		{"GET /api/v1/contacts/{id}/tickets", a.handleContactTickets, op{ID: "listContactTickets", Tag: "tickets", Perm: read, Paged: true,
			Summary: "A person's tickets, newest first", Out: list[*crm.Ticket]{}}},
		{"GET /api/v1/attachments/{id}", a.handleAttachment, op{ID: "getAttachment", Tag: "tickets", Perm: read,
			Summary: "Download an attachment's bytes (its sniffed type is the content_type of its metadata)", Out: "", MediaType: "application/octet-stream"}},

		{"GET /api/v1/returns", a.handleReturnRequestList, op{ID: "listReturnRequests", Tag: "returns", Perm: read, Paged: true, Query: returnParams,
			Summary: "List return requests, newest first", Out: list[*crm.ReturnRequest]{}}},
		{"GET /api/v1/returns/{id}", a.handleReturnRequestGet, op{ID: "getReturnRequest", Tag: "returns", Perm: read,
			Summary: "Read a return request", Out: &crm.ReturnRequest{}}},
		{"PATCH /api/v1/returns/{id}", a.handleReturnRequestUpdate, op{ID: "updateReturnRequest", Tag: "returns", Perm: write,
			Summary: "Settle a return request (resolution refund, exchange, repair, rejected; \"\" reopens it) or change its reason and notes", In: returnRequestPatch{}, Out: &crm.ReturnRequest{}}},

		{"GET /api/v1/sla-policies", a.handlePolicyList, op{ID: "listSLAPolicies", Tag: "sla", Perm: read,
			Summary: "The SLA policies in the order they are tried", Out: list[*crm.SLAPolicy]{}}},
		{"POST /api/v1/sla-policies", a.handlePolicyCreate, op{ID: "createSLAPolicy", Tag: "sla", Perm: admin, Status: http.StatusCreated, Location: true,
			Summary: "Add an SLA policy; the timers of open tickets are recomputed", In: policyIn{}, Out: &crm.SLAPolicy{}}},
		{"GET /api/v1/sla-policies/{id}", a.handlePolicyGet, op{ID: "getSLAPolicy", Tag: "sla", Perm: read, Summary: "Read an SLA policy", Out: &crm.SLAPolicy{}}},
		{"PUT /api/v1/sla-policies/{id}", a.handlePolicyUpdate, op{ID: "updateSLAPolicy", Tag: "sla", Perm: admin,
			Summary: "Replace an SLA policy; the timers of open tickets are recomputed", In: policyIn{}, Out: &crm.SLAPolicy{}}},
		{"DELETE /api/v1/sla-policies/{id}", a.handlePolicyDelete, op{ID: "deleteSLAPolicy", Tag: "sla", Perm: admin, Status: http.StatusNoContent,
			Summary: "Delete an SLA policy; open tickets choose again"}},
		{"GET /api/v1/calendars", a.handleCalendarList, op{ID: "listCalendars", Tag: "sla", Perm: read,
			Summary: "The business calendars", Out: list[*crm.BusinessCalendar]{}}},
		{"POST /api/v1/calendars", a.handleCalendarCreate, op{ID: "createCalendar", Tag: "sla", Perm: admin, Status: http.StatusCreated, Location: true,
			Summary: "Add a business calendar", In: calendarIn{}, Out: &crm.BusinessCalendar{}}},
		{"GET /api/v1/calendars/{id}", a.handleCalendarGet, op{ID: "getCalendar", Tag: "sla", Perm: read, Summary: "Read a business calendar", Out: &crm.BusinessCalendar{}}},
		{"PUT /api/v1/calendars/{id}", a.handleCalendarUpdate, op{ID: "updateCalendar", Tag: "sla", Perm: admin,
			Summary: "Replace a business calendar; the timers of open tickets are recomputed", In: calendarIn{}, Out: &crm.BusinessCalendar{}}},
		{"DELETE /api/v1/calendars/{id}", a.handleCalendarDelete, op{ID: "deleteCalendar", Tag: "sla", Perm: admin, Status: http.StatusNoContent,
			Summary: "Delete a business calendar no policy uses"}},
		{"GET /api/v1/escalation-rules", a.handleRuleList, op{ID: "listEscalationRules", Tag: "sla", Perm: read,
			Summary: "The escalation rules in order", Out: list[*crm.EscalationRule]{}}},
		{"POST /api/v1/escalation-rules", a.handleRuleCreate, op{ID: "createEscalationRule", Tag: "sla", Perm: admin, Status: http.StatusCreated, Location: true,
			Summary: "Add an escalation rule", In: escalationRuleIn{}, Out: &crm.EscalationRule{}}},
		{"PUT /api/v1/escalation-rules/{id}", a.handleRuleUpdate, op{ID: "updateEscalationRule", Tag: "sla", Perm: admin,
			Summary: "Replace an escalation rule", In: escalationRuleIn{}, Out: &crm.EscalationRule{}}},
		{"DELETE /api/v1/escalation-rules/{id}", a.handleRuleDelete, op{ID: "deleteEscalationRule", Tag: "sla", Perm: admin, Status: http.StatusNoContent,
			Summary: "Delete an escalation rule"}},

		{"GET /api/v1/canned-replies", a.handleCannedList, op{ID: "listCannedReplies", Tag: "canned-replies", Perm: read,
			Summary: "The canned replies by name", Out: list[*crm.CannedReply]{}}},
		{"POST /api/v1/canned-replies", a.handleCannedCreate, op{ID: "createCannedReply", Tag: "canned-replies", Perm: write, Status: http.StatusCreated,
			Location: true, Summary: "Add a canned reply with texts in en, fa and/or ar", In: cannedIn{}, Out: &crm.CannedReply{}}},
		{"PUT /api/v1/canned-replies/{id}", a.handleCannedUpdate, op{ID: "updateCannedReply", Tag: "canned-replies", Perm: write,
			Summary: "Replace a canned reply", In: cannedIn{}, Out: &crm.CannedReply{}}},
		{"DELETE /api/v1/canned-replies/{id}", a.handleCannedDelete, op{ID: "deleteCannedReply", Tag: "canned-replies", Perm: write, Status: http.StatusNoContent,
			Summary: "Delete a canned reply"}},
		{"GET /api/v1/canned-replies/{id}/render", a.handleCannedRender, op{ID: "renderCannedReply", Tag: "canned-replies", Perm: read,
			Query: []param{{Name: "ticket_id", Type: "integer", Description: "The ticket whose customer, number and subject fill the placeholders (required)."},
				{Name: "lang", Enum: []string{"en", "fa", "ar"}, Description: "The language wanted when the customer's is not known or not written; yours when absent."}},
			Summary: "A canned reply's text for a ticket, placeholders filled in, in the customer's language when there is one", Out: &cannedRendered{}}},

		{"GET /api/v1/surveys", a.handleSurveyList, op{ID: "listSurveys", Tag: "surveys", Perm: read, Paged: true,
			Query:   []param{{Name: "answered", Type: "boolean", Description: "true: only answered surveys."}},
			Summary: "Satisfaction surveys, newest first", Out: list[*crm.Survey]{}}},

		{"GET /api/v1/service/queues", a.handleQueues, op{ID: "getServiceQueues", Tag: "service", Perm: read,
			Summary: "How many tickets each of your queues holds (mine, team, unassigned, breaching, all; at most 1000)", Out: map[string]int{}}},
		{"GET /api/v1/service/agents", a.handleAgentList, op{ID: "listAgents", Tag: "service", Perm: read,
			Summary: "The users who may work tickets, with capacity, presence and active tickets", Out: list[*crm.Agent]{}}},
		{"PUT /api/v1/service/agents/{id}", a.handleAgentUpdate, op{ID: "updateAgent", Tag: "service", Perm: write,
			Summary: "Set an agent's capacity and presence (agents may mark themselves away; the rest needs users:manage)", In: agentIn{}, Out: &crm.Agent{}}},
		{"GET /api/v1/service/teams", a.handleDeskTeamList, op{ID: "listServiceTeams", Tag: "service", Perm: read,
			Summary: "Teams with their assignment mode", Out: list[*crm.DeskTeam]{}}},
		{"PUT /api/v1/service/teams/{id}", a.handleDeskTeamUpdate, op{ID: "updateServiceTeam", Tag: "service", Perm: admin,
			Summary: "Set how a team's tickets are assigned: manual, round_robin or least_busy", In: deskTeamIn{}, Out: &crm.DeskTeam{}}},
		{"GET /api/v1/service/settings", a.handleDeskSettings, op{ID: "getServiceSettings", Tag: "service", Perm: read,
			Summary: "The service desk's settings", Out: &serviceSettings{}}},
		{"PUT /api/v1/service/settings", a.handleDeskSettingsSave, op{ID: "saveServiceSettings", Tag: "service", Perm: admin,
			Summary: "Change the service desk's settings", In: deskSettingsIn{}, Out: &serviceSettings{}}},
		{"GET /api/v1/service/report", a.handleServiceReport, op{ID: "getServiceReport", Tag: "service", Perm: read,
			Query: []param{{Name: "from", Description: "Start: RFC 3339 or a date (YYYY-MM-DD) in your time zone; 30 days ago when absent."},
				{Name: "to", Description: "End (exclusive): RFC 3339 or a date, which includes that whole day; now when absent."}},
			Summary: "The service report of a period", Out: &serviceReport{}}},
	}
}

var ticketParams = []param{
	{Name: "queue", Enum: []string{"mine", "team", "unassigned", "breaching", "all", "solved"}, Description: "One of your queues (other filters narrow it)."},
	{Name: "status", Description: "Only tickets in these statuses, comma-separated (new, open, pending, on_hold, solved, closed)."},
	{Name: "assignee_id", Type: "integer", Zero: true, Description: "Only this agent's tickets; 0 for unassigned ones."},
	{Name: "team_id", Type: "integer", Description: "Only this team's tickets."},
	{Name: "contact_id", Type: "integer", Description: "Only this person's tickets."},
	{Name: "priority", Enum: crm.TicketPriorities, Description: "Only tickets of this priority."},
	{Name: "channel", Enum: crm.TicketChannels, Description: "Only tickets from this channel."},
	{Name: "tier", Enum: crm.TicketTiers, Description: "Only tickets at this tier."},
	{Name: "category", Description: "Only tickets of this category."},
	{Name: "tag", Description: "Only tickets with this tag."},
	{Name: "q", Description: "Part of the subject, or a ticket number (#42)."},
}

var returnParams = []param{
	{Name: "open", Type: "boolean", Description: "true: only requests not yet settled."},
	{Name: "reason", Enum: crm.ReturnReasons, Description: "Only requests with this reason."},
	{Name: "from", Description: "Raised at or after: RFC 3339 or a date (YYYY-MM-DD)."},
	{Name: "to", Description: "Raised before: RFC 3339 or a date, which includes that whole day."},
}

// --- Request bodies ---

// fileIn is a file sent with a message.
type fileIn struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Data        string `json:"data"` // base64
}

func decodeFiles(files []fileIn) ([]desk.FileInput, error) {
	var v crm.Validation
	out := make([]desk.FileInput, 0, len(files))
	for i, f := range files {
		b, err := base64.StdEncoding.DecodeString(f.Data)
		if err != nil {
			v.Add(fmt.Sprintf("attachments[%d].data", i), "Send the file's bytes in base64.")
			continue
		}
		out = append(out, desk.FileInput{Filename: f.Filename, ContentType: f.ContentType, Data: b})
	}
	return out, v.Err()
}

// ticketCreate is the body of POST /tickets.
type ticketCreate struct {
	Subject     string          `json:"subject"`
	Body        string          `json:"body,omitempty"`
	Customer    crm.CustomerRef `json:"customer"`
	Channel     string          `json:"channel,omitempty"`
	Category    string          `json:"category,omitempty"`
	Priority    string          `json:"priority,omitempty"`
	Tier        string          `json:"tier,omitempty"`
	TeamID      int64           `json:"team_id,omitempty"`
	AssigneeID  int64           `json:"assignee_id,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
	Custom      map[string]any  `json:"custom,omitempty"`
	Attachments []fileIn        `json:"attachments,omitempty"`
}

// ticketPatch is the body of PATCH /tickets/{id}.
type ticketPatch struct {
	Subject  *string        `json:"subject,omitempty"`
	Category *string        `json:"category,omitempty"`
	Priority *string        `json:"priority,omitempty"`
	Tags     *[]string      `json:"tags,omitempty"`
	Custom   map[string]any `json:"custom,omitempty"`
	Version  int64          `json:"version,omitempty"`
}

type ticketStatus struct {
	Status  string `json:"status"`
	Version int64  `json:"version,omitempty"`
}

type ticketAssign struct {
	AssigneeID *int64 `json:"assignee_id"`
	Version    int64  `json:"version,omitempty"`
}

type ticketTeam struct {
	TeamID  *int64 `json:"team_id"`
	Version int64  `json:"version,omitempty"`
}

type ticketEscalate struct {
	ToTier   string `json:"to_tier,omitempty"`
	ToTeamID int64  `json:"to_team_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Version  int64  `json:"version,omitempty"`
}

type autoAssigned struct {
	Assigned bool        `json:"assigned"`
	Ticket   *crm.Ticket `json:"ticket"`
}

type replyCreate struct {
	Body        string   `json:"body"`
	Note        bool     `json:"note,omitempty"`
	Status      string   `json:"status,omitempty"`
	Attachments []fileIn `json:"attachments,omitempty"`
	Version     int64    `json:"version,omitempty"`
}

type customerMessageCreate struct {
	Body        string   `json:"body"`
	Attachments []fileIn `json:"attachments,omitempty"`
}

type customerMessageOut struct {
	Message *crm.TicketMessage `json:"message"`
	Ticket  *crm.Ticket        `json:"ticket"`
}

type ticketHistory struct {
	Changes     []desk.Change    `json:"changes" openapi:"nonnull"`
	Escalations []crm.Escalation `json:"escalations" openapi:"nonnull"`
}

type returnRequestCreate struct {
	OrderLineID int64  `json:"order_line_id,omitempty"`
	Product     string `json:"product,omitempty"`
	SKU         string `json:"sku,omitempty"`
	Quantity    int64  `json:"quantity,omitempty"`
	Reason      string `json:"reason"`
	Notes       string `json:"notes,omitempty"`
}

type returnRequestPatch struct {
	Reason     *string `json:"reason,omitempty"`
	Resolution *string `json:"resolution,omitempty"`
	Notes      *string `json:"notes,omitempty"`
}

type policyIn struct {
	Name                 string          `json:"name"`
	Position             int             `json:"position,omitempty"`
	Active               *bool           `json:"active,omitempty"`
	Conditions           slaConditionsIn `json:"conditions,omitzero"`
	CalendarID           int64           `json:"calendar_id,omitempty"`
	FirstResponseMinutes int64           `json:"first_response_minutes"`
	ResolutionMinutes    int64           `json:"resolution_minutes"`
	WarnMinutes          int64           `json:"warn_minutes,omitempty"`
	PauseOnHold          bool            `json:"pause_on_hold,omitempty"`
}

type slaConditionsIn struct {
	Priorities []string `json:"priorities,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Channels   []string `json:"channels,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Tiers      []string `json:"tiers,omitempty"`
}

func (in policyIn) policy(id int64) crm.SLAPolicy {
	p := crm.SLAPolicy{ID: id, Name: in.Name, Position: in.Position, Active: in.Active == nil || *in.Active, CalendarID: in.CalendarID,
		FirstResponseMinutes: in.FirstResponseMinutes, ResolutionMinutes: in.ResolutionMinutes, WarnMinutes: in.WarnMinutes, PauseOnHold: in.PauseOnHold}
	c := in.Conditions
	p.Conditions = crm.SLAConditions{Priorities: c.Priorities, Categories: c.Categories, Channels: c.Channels, Tags: c.Tags, Tiers: c.Tiers}
	return p
}

type calendarIn struct {
	Name     string          `json:"name"`
	TimeZone string          `json:"time_zone"`
	Hours    []workingSpanIn `json:"hours"`
	Holidays []holidayIn     `json:"holidays,omitempty"`
}

type workingSpanIn struct {
	Day   int    `json:"day"`
	Start string `json:"start"`
	End   string `json:"end"`
}

type holidayIn struct {
	Date string `json:"date"`
	Name string `json:"name,omitempty"`
}

func (in calendarIn) calendar(id int64) crm.BusinessCalendar {
	c := crm.BusinessCalendar{ID: id, Name: in.Name, TimeZone: in.TimeZone}
	for _, h := range in.Hours {
		c.Hours = append(c.Hours, crm.WorkingSpan{Day: h.Day, Start: h.Start, End: h.End})
	}
	for _, h := range in.Holidays {
		c.Holidays = append(c.Holidays, crm.Holiday{Date: h.Date, Name: h.Name})
	}
	return c
}

type escalationRuleIn struct {
	Name       string   `json:"name"`
	Position   int      `json:"position,omitempty"`
	Active     *bool    `json:"active,omitempty"`
	Trigger    string   `json:"trigger"`
	Metrics    []string `json:"metrics,omitempty"`
	Priorities []string `json:"priorities,omitempty"`
	Categories []string `json:"categories,omitempty"`
	ToTier     string   `json:"to_tier,omitempty"`
	ToTeamID   int64    `json:"to_team_id,omitempty"`
	Raise      bool     `json:"raise_priority,omitempty"`
}

func (in escalationRuleIn) rule(id int64) crm.EscalationRule {
	return crm.EscalationRule{ID: id, Name: in.Name, Position: in.Position, Active: in.Active == nil || *in.Active, Trigger: in.Trigger,
		Metrics: in.Metrics, Priorities: in.Priorities, Categories: in.Categories, ToTier: in.ToTier, ToTeamID: in.ToTeamID, Raise: in.Raise}
}

type cannedIn struct {
	Name   string            `json:"name"`
	Bodies map[string]string `json:"bodies"`
}

type cannedRendered struct {
	Body     string `json:"body"`
	Language string `json:"language"`
}

type agentIn struct {
	Capacity int  `json:"capacity"`
	Away     bool `json:"away"`
}

type deskTeamIn struct {
	Assignment string `json:"assignment"`
}

type deskSettingsIn struct {
	SupportAddress string   `json:"support_address,omitempty"`
	SupportName    string   `json:"support_name,omitempty"`
	ReopenDays     int      `json:"reopen_days"`
	Acknowledge    bool     `json:"acknowledge"`
	Surveys        bool     `json:"surveys"`
	SurveyDays     int      `json:"survey_days"`
	DefaultTeamID  int64    `json:"default_team_id,omitempty"`
	Categories     []string `json:"categories,omitempty"`
}

// serviceSettings is the desk's settings as the API shows them (its own
// schema name: other modules have Settings too).
type serviceSettings struct {
	desk.Settings
}

// serviceReport is the answer of GET /service/report.
type serviceReport struct {
	desk.Report
}

// --- Tickets ---

func (a *API) handleTicketList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	q := r.URL.Query()
	f := crm.TicketFilter{}
	if qn := q.Get("queue"); qn != "" {
		qf, ok := desk.QueueFilter(r.Context(), desk.Queue(qn), time.Now())
		if !ok {
			v.Add("queue", "Use mine, team, unassigned, breaching, all or solved.")
		}
		f = qf
	}
	if s := strings.TrimSpace(q.Get("status")); s != "" {
		f.Statuses = strings.Split(s, ",")
	}
	f.AssigneeID = cmpOr(queryOwner(r, "assignee_id", &v), f.AssigneeID)
	f.TeamID = queryInt64(r, "team_id", &v)
	f.ContactID = queryInt64(r, "contact_id", &v)
	f.Priority, f.Channel, f.Tier = q.Get("priority"), q.Get("channel"), q.Get("tier")
	f.Category, f.Tag, f.Query = q.Get("category"), q.Get("tag"), q.Get("q")
	f.Limit, f.After = page.Limit, page.After
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	ts, next, err := a.desk.List(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ts, next)
}

func cmpOr(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}

func (a *API) handleTicketCreate(w http.ResponseWriter, r *http.Request) {
	var in ticketCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	files, err := decodeFiles(in.Attachments)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	t, err := a.desk.Create(r.Context(), desk.TicketInput{Subject: in.Subject, Body: in.Body, Customer: in.Customer, Channel: in.Channel,
		Category: in.Category, Priority: in.Priority, Tier: in.Tier, TeamID: in.TeamID, AssigneeID: in.AssigneeID, Tags: in.Tags,
		Custom: in.Custom, Attachments: files})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", apiBase+"/tickets/"+strconv.FormatInt(t.ID, 10))
	a.writeJSON(w, r, http.StatusCreated, t)
}

func (a *API) handleTicketGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.desk.Ticket(r.Context(), id) })
}

func (a *API) handleTicketUpdate(w http.ResponseWriter, r *http.Request) {
	var in ticketPatch
	withBody(a, w, r, &in, func(id int64) (any, error) {
		return a.desk.Update(r.Context(), id, desk.TicketPatch{Subject: in.Subject, Category: in.Category, Priority: in.Priority,
			Tags: in.Tags, Custom: in.Custom, Version: in.Version})
	})
}

func (a *API) handleTicketStatus(w http.ResponseWriter, r *http.Request) {
	var in ticketStatus
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.desk.SetStatus(r.Context(), id, in.Status, in.Version) })
}

func (a *API) handleTicketAssign(w http.ResponseWriter, r *http.Request) {
	var in ticketAssign
	withBody(a, w, r, &in, func(id int64) (any, error) {
		var to int64
		if in.AssigneeID != nil {
			to = *in.AssigneeID
		}
		return a.desk.Assign(r.Context(), id, to, in.Version)
	})
}

func (a *API) handleTicketAutoAssign(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) {
		t, ok, err := a.desk.AutoAssign(r.Context(), id)
		return &autoAssigned{Assigned: ok, Ticket: t}, err
	})
}

func (a *API) handleTicketTeam(w http.ResponseWriter, r *http.Request) {
	var in ticketTeam
	withBody(a, w, r, &in, func(id int64) (any, error) {
		var to int64
		if in.TeamID != nil {
			to = *in.TeamID
		}
		return a.desk.SetTeam(r.Context(), id, to, in.Version)
	})
}

func (a *API) handleTicketEscalate(w http.ResponseWriter, r *http.Request) {
	var in ticketEscalate
	withBody(a, w, r, &in, func(id int64) (any, error) {
		return a.desk.Escalate(r.Context(), id, desk.EscalateInput{ToTier: in.ToTier, ToTeamID: in.ToTeamID, Reason: in.Reason, Version: in.Version})
	})
}

func (a *API) handleTicketRecompute(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.desk.Recompute(r.Context(), id) })
}

func (a *API) handleTicketMessages(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	msgs, err := a.desk.Messages(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out, next, err := pageByID(msgs, func(m *crm.TicketMessage) int64 { return m.ID }, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, out, next)
}

func (a *API) handleTicketReply(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	var in replyCreate
	if err == nil {
		err = decodeJSON(r, &in)
	}
	var files []desk.FileInput
	if err == nil {
		files, err = decodeFiles(in.Attachments)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.desk.Reply(r.Context(), id, desk.ReplyInput{Body: in.Body, Note: in.Note, Status: in.Status, Attachments: files, Version: in.Version})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, m)
}

func (a *API) handleTicketCustomerMessage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	var in customerMessageCreate
	if err == nil {
		err = decodeJSON(r, &in)
	}
	var files []desk.FileInput
	if err == nil {
		files, err = decodeFiles(in.Attachments)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	m, t, err := a.desk.AddCustomerMessage(r.Context(), id, desk.CustomerMessageInput{Body: in.Body, Attachments: files})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, customerMessageOut{Message: m, Ticket: t})
}

func (a *API) handleTicketHistory(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) {
		ch, esc, err := a.desk.History(r.Context(), id)
		if ch == nil {
			ch = []desk.Change{}
		}
		if esc == nil {
			esc = []crm.Escalation{}
		}
		return ticketHistory{Changes: ch, Escalations: esc}, err
	})
}

func (a *API) handleTicketSurveys(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	svs, err := a.desk.TicketSurveys(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, svs, "")
}

func (a *API) handleTicketReturns(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	page, perr := parsePage(r)
	if err == nil {
		err = perr
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rs, next, err := a.desk.Returns(r.Context(), desk.ReturnFilter{TicketID: id, Limit: page.Limit, After: page.After})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, rs, next)
}

func (a *API) handleReturnRequestCreate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	var in returnRequestCreate
	if err == nil {
		err = decodeJSON(r, &in)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rr, err := a.desk.CreateReturn(r.Context(), id, desk.ReturnInput{OrderLineID: in.OrderLineID, Product: in.Product, SKU: in.SKU,
		Quantity: in.Quantity, Reason: in.Reason, Notes: in.Notes})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", apiBase+"/returns/"+strconv.FormatInt(rr.ID, 10))
	a.writeJSON(w, r, http.StatusCreated, rr)
}

func (a *API) handleContactTickets(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	page, perr := parsePage(r)
	if err == nil {
		err = perr
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ts, next, err := a.desk.List(r.Context(), crm.TicketFilter{ContactID: id, Limit: page.Limit, After: page.After})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ts, next)
}

// handleAttachment serves a file always as a download (octet-stream,
// attachment, nosniff and a sandbox CSP), so nothing a customer sent runs
// in Pivand's origin.
func (a *API) handleAttachment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	att, data, err := a.desk.Attachment(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// Always application/octet-stream: the sniffed type is in the
	// attachment's content_type (GET /tickets/{id}/messages).
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": att.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// --- Returns ---

func (a *API) handleReturnRequestList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	f := desk.ReturnFilter{Reason: r.URL.Query().Get("reason"), From: queryTime(r, "from", false, &v), To: queryTime(r, "to", true, &v),
		Limit: page.Limit, After: page.After}
	if b := queryBool(r, "open", &v); b != nil {
		f.Open = *b
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	rs, next, err := a.desk.Returns(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, rs, next)
}

func (a *API) handleReturnRequestGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.desk.Return(r.Context(), id) })
}

func (a *API) handleReturnRequestUpdate(w http.ResponseWriter, r *http.Request) {
	var in returnRequestPatch
	withBody(a, w, r, &in, func(id int64) (any, error) {
		return a.desk.UpdateReturn(r.Context(), id, desk.ReturnPatch{Reason: in.Reason, Resolution: in.Resolution, Notes: in.Notes})
	})
}

// --- SLA policies, calendars, escalation rules ---

func (a *API) handlePolicyList(w http.ResponseWriter, r *http.Request) {
	ps, err := a.desk.Policies(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ps, "")
}

func (a *API) handlePolicyCreate(w http.ResponseWriter, r *http.Request) {
	var in policyIn
	withCreate(a, w, r, &in, "/sla-policies", func() (any, int64, error) {
		p, err := a.desk.SavePolicy(r.Context(), in.policy(0))
		if err != nil {
			return nil, 0, err
		}
		return p, p.ID, nil
	})
}

func (a *API) handlePolicyGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.desk.Policy(r.Context(), id) })
}

func (a *API) handlePolicyUpdate(w http.ResponseWriter, r *http.Request) {
	var in policyIn
	withBody(a, w, r, &in, func(id int64) (any, error) {
		if _, err := a.desk.Policy(r.Context(), id); err != nil {
			return nil, err
		}
		return a.desk.SavePolicy(r.Context(), in.policy(id))
	})
}

func (a *API) handlePolicyDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.desk.DeletePolicy(r.Context(), id) })
}

func (a *API) handleCalendarList(w http.ResponseWriter, r *http.Request) {
	cs, err := a.desk.Calendars(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, cs, "")
}

func (a *API) handleCalendarCreate(w http.ResponseWriter, r *http.Request) {
	var in calendarIn
	withCreate(a, w, r, &in, "/calendars", func() (any, int64, error) {
		c, err := a.desk.SaveCalendar(r.Context(), in.calendar(0))
		if err != nil {
			return nil, 0, err
		}
		return c, c.ID, nil
	})
}

func (a *API) handleCalendarGet(w http.ResponseWriter, r *http.Request) {
	withID(a, w, r, func(id int64) (any, error) { return a.desk.Calendar(r.Context(), id) })
}

func (a *API) handleCalendarUpdate(w http.ResponseWriter, r *http.Request) {
	var in calendarIn
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.desk.SaveCalendar(r.Context(), in.calendar(id)) })
}

func (a *API) handleCalendarDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.desk.DeleteCalendar(r.Context(), id) })
}

func (a *API) handleRuleList(w http.ResponseWriter, r *http.Request) {
	rs, err := a.desk.Rules(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, rs, "")
}

func (a *API) handleRuleCreate(w http.ResponseWriter, r *http.Request) {
	var in escalationRuleIn
	withCreate(a, w, r, &in, "/escalation-rules", func() (any, int64, error) {
		x, err := a.desk.SaveRule(r.Context(), in.rule(0))
		if err != nil {
			return nil, 0, err
		}
		return x, x.ID, nil
	})
}

func (a *API) handleRuleUpdate(w http.ResponseWriter, r *http.Request) {
	var in escalationRuleIn
	withBody(a, w, r, &in, func(id int64) (any, error) { return a.desk.SaveRule(r.Context(), in.rule(id)) })
}

func (a *API) handleRuleDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.desk.DeleteRule(r.Context(), id) })
}

// --- Canned replies ---

func (a *API) handleCannedList(w http.ResponseWriter, r *http.Request) {
	cs, err := a.desk.CannedReplies(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, cs, "")
}

func (a *API) handleCannedCreate(w http.ResponseWriter, r *http.Request) {
	var in cannedIn
	withCreate(a, w, r, &in, "/canned-replies", func() (any, int64, error) {
		c, err := a.desk.SaveCannedReply(r.Context(), crm.CannedReply{Name: in.Name, Bodies: in.Bodies})
		if err != nil {
			return nil, 0, err
		}
		return c, c.ID, nil
	})
}

func (a *API) handleCannedUpdate(w http.ResponseWriter, r *http.Request) {
	var in cannedIn
	withBody(a, w, r, &in, func(id int64) (any, error) {
		return a.desk.SaveCannedReply(r.Context(), crm.CannedReply{ID: id, Name: in.Name, Bodies: in.Bodies})
	})
}

func (a *API) handleCannedDelete(w http.ResponseWriter, r *http.Request) {
	withNoContent(a, w, r, func(id int64) error { return a.desk.DeleteCannedReply(r.Context(), id) })
}

func (a *API) handleCannedRender(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	ticketID := queryInt64(r, "ticket_id", &v)
	if ticketID == 0 && !v.Has("ticket_id") {
		v.Add("ticket_id", "Name the ticket.")
	}
	lang := r.URL.Query().Get("lang")
	if lang == "" {
		if u := crm.UserFromContext(r.Context()); u != nil {
			lang = u.Preferences.Language
		}
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	withID(a, w, r, func(id int64) (any, error) {
		body, used, err := a.desk.RenderCanned(r.Context(), id, ticketID, lang)
		return cannedRendered{Body: body, Language: used}, err
	})
}

// --- Surveys ---

func (a *API) handleSurveyList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	answered := queryBool(r, "answered", &v)
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	svs, next, err := a.desk.Surveys(r.Context(), answered != nil && *answered, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, svs, next)
}

// --- Agents, teams, settings, queues, report ---

func (a *API) handleQueues(w http.ResponseWriter, r *http.Request) {
	counts, err := a.desk.QueueCounts(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := map[string]int{}
	for q, n := range counts {
		out[string(q)] = n
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

func (a *API) handleAgentList(w http.ResponseWriter, r *http.Request) {
	as, err := a.desk.Agents(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, as, "")
}

func (a *API) handleAgentUpdate(w http.ResponseWriter, r *http.Request) {
	var in agentIn
	withBody(a, w, r, &in, func(id int64) (any, error) {
		return a.desk.SaveAgent(r.Context(), id, desk.AgentInput{Capacity: in.Capacity, Away: in.Away})
	})
}

func (a *API) handleDeskTeamList(w http.ResponseWriter, r *http.Request) {
	ts, err := a.desk.Teams(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, ts, "")
}

func (a *API) handleDeskTeamUpdate(w http.ResponseWriter, r *http.Request) {
	var in deskTeamIn
	withBody(a, w, r, &in, func(id int64) (any, error) {
		if err := a.desk.SetTeamMode(r.Context(), id, in.Assignment); err != nil {
			return nil, err
		}
		ts, err := a.desk.Teams(r.Context())
		for _, t := range ts {
			if t.TeamID == id {
				return t, err
			}
		}
		return nil, crm.Errorf(crm.ENOTFOUND, "Team was not found.")
	})
}

func (a *API) handleDeskSettings(w http.ResponseWriter, r *http.Request) {
	st, err := a.desk.Settings(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, serviceSettings{st})
}

func (a *API) handleDeskSettingsSave(w http.ResponseWriter, r *http.Request) {
	var in deskSettingsIn
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	st, err := a.desk.SaveSettings(r.Context(), desk.Settings{SupportAddress: in.SupportAddress, SupportName: in.SupportName,
		ReopenDays: in.ReopenDays, Acknowledge: in.Acknowledge, Surveys: in.Surveys, SurveyDays: in.SurveyDays,
		DefaultTeamID: in.DefaultTeamID, Categories: in.Categories})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, serviceSettings{st})
}

func (a *API) handleServiceReport(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	now := time.Now().UTC()
	from, to := queryTime(r, "from", false, &v), queryTime(r, "to", true, &v)
	if from == nil {
		f := now.AddDate(0, 0, -30)
		from = &f
	}
	if to == nil {
		to = &now
	}
	if !to.After(*from) {
		v.Add("to", "The end must be after the start.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	rep, err := a.desk.Report(r.Context(), desk.ReportPeriod{From: *from, To: *to})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, serviceReport{*rep})
}
