package crm

import (
	"fmt"
	"slices"
	"time"
)

// The service desk vocabulary (internal/desk): tickets with a status
// machine, their conversation, SLA policies counted on business
// calendars, escalations, agents' capacity, canned replies, satisfaction
// surveys and return requests.

// Ticket statuses. A ticket moves only along the transitions of
// TicketTransitions; closed is final.
const (
	TicketNew     = "new"     // nobody has worked on it yet
	TicketOpen    = "open"    // being worked on
	TicketPending = "pending" // waiting on the customer: the SLA clock stops
	TicketOnHold  = "on_hold" // waiting on someone else (a supplier, another team)
	TicketSolved  = "solved"  // answered; a customer reply within the reopen window opens it again
	TicketClosed  = "closed"  // final; a customer reply makes a new ticket
)

// TicketStatuses lists the statuses in their usual order.
var TicketStatuses = []string{TicketNew, TicketOpen, TicketPending, TicketOnHold, TicketSolved, TicketClosed}

// TicketTransitions is the whitelist of status changes: from → the
// statuses a ticket may go to.
var TicketTransitions = map[string][]string{
	TicketNew:     {TicketOpen, TicketPending, TicketOnHold, TicketSolved},
	TicketOpen:    {TicketPending, TicketOnHold, TicketSolved},
	TicketPending: {TicketOpen, TicketOnHold, TicketSolved},
	TicketOnHold:  {TicketOpen, TicketPending, TicketSolved},
	TicketSolved:  {TicketOpen, TicketClosed},
	TicketClosed:  nil,
}

// TicketTransitionAllowed reports whether a ticket may go from one
// status to another.
func TicketTransitionAllowed(from, to string) bool {
	return slices.Contains(TicketTransitions[from], to)
}

// TicketTransitionError is the error for a status change the machine
// refuses: a conflict (409) naming the transition, on the field status.
func TicketTransitionError(id int64, from, to string) *Error {
	why := ""
	switch {
	case from == to:
		why = fmt.Sprintf(" It is already %s.", from)
	case from == TicketClosed:
		why = " Closed tickets are final; a customer's reply opens a new ticket."
	case to == TicketNew:
		why = " A ticket is new only until someone works on it."
	case to == TicketClosed:
		why = " Only a solved ticket can be closed."
	}
	msg := fmt.Sprintf("Ticket %d cannot go from %s to %s.%s", id, from, to, why)
	return &Error{Code: ECONFLICT, Message: msg, Fields: map[string]string{"status": msg}}
}

// TicketActive reports whether a ticket in status s still needs work:
// it counts toward its agent's load.
func TicketActive(s string) bool {
	return s == TicketNew || s == TicketOpen || s == TicketPending || s == TicketOnHold
}

// ActiveTicketStatuses are the statuses TicketActive accepts.
var ActiveTicketStatuses = []string{TicketNew, TicketOpen, TicketPending, TicketOnHold}

// Ticket priorities, lowest first.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// TicketPriorities lists the priorities, lowest first.
var TicketPriorities = []string{PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent}

// Support tiers: first line, second line, specialists. Escalation moves
// a ticket up.
const (
	Tier1          = "tier1"
	Tier2          = "tier2"
	TierSpecialist = "specialist"
)

// TicketTiers lists the tiers, lowest first.
var TicketTiers = []string{Tier1, Tier2, TierSpecialist}

// NextTier returns the tier after t, or t itself at the top.
func NextTier(t string) string {
	i := slices.Index(TicketTiers, t)
	if i < 0 || i == len(TicketTiers)-1 {
		return TierSpecialist
	}
	return TicketTiers[i+1]
}

// Ticket channels: where a request came from.
const (
	ChannelWebForm = "web_form"
	ChannelChat    = "chat"
)

// TicketChannels lists the channels a ticket may come from.
var TicketChannels = []string{ChannelEmail, ChannelPhone, ChannelWebForm, ChannelChat, ChannelTelegram, ChannelWhatsApp, ChannelInStore}

// Message kinds and directions.
const (
	MessagePublic = "public" // seen by the customer: their messages and agents' replies
	MessageNote   = "note"   // internal, for agents only

	DirectionIn  = "in"  // from the customer
	DirectionOut = "out" // from an agent (or the system)
)

// Delivery states of an outgoing email.
const (
	DeliveryNone    = ""        // not sent by email (a note, a reply on another channel)
	DeliveryQueued  = "queued"  // waiting for the outbound job
	DeliverySent    = "sent"    // accepted by the smarthost
	DeliveryFailed  = "failed"  // given up after the retries
	DeliveryNoEmail = "noemail" // the customer has no email address
)

// SLA metrics.
const (
	MetricFirstResponse = "first_response"
	MetricResolution    = "resolution"
)

// SLAMetrics lists the metrics every SLA policy sets targets for.
var SLAMetrics = []string{MetricFirstResponse, MetricResolution}

// SLA timer states (derived from a timer's times).
const (
	SLAActive   = "active"   // running; due at DueAt
	SLAPaused   = "paused"   // the ticket is pending: the clock stands still
	SLAHit      = "hit"      // met in time
	SLAMissed   = "missed"   // met late
	SLABreached = "breached" // past due and not yet met
)

// Return request resolutions.
const (
	ResolutionRefund   = "refund"
	ResolutionExchange = "exchange"
	ResolutionRepair   = "repair"
	ResolutionRejected = "rejected"
)

// ReturnResolutions lists how a return request may be settled.
var ReturnResolutions = []string{ResolutionRefund, ResolutionExchange, ResolutionRepair, ResolutionRejected}

// Team assignment modes.
const (
	AssignManual     = "manual"      // agents pick tickets up themselves
	AssignRoundRobin = "round_robin" // in turn: the member assigned longest ago
	AssignLeastBusy  = "least_busy"  // the member with the fewest active tickets
)

// AssignmentModes lists the team assignment modes.
var AssignmentModes = []string{AssignManual, AssignRoundRobin, AssignLeastBusy}

// Escalation rule triggers.
const (
	EscalateOnBreach  = "breach"  // an SLA target was missed
	EscalateOnWarning = "warning" // an SLA target is about to be missed
	EscalateOnCreate  = "created" // a new ticket matches the conditions
)

// EscalationTriggers lists the triggers of escalation rules.
var EscalationTriggers = []string{EscalateOnCreate, EscalateOnWarning, EscalateOnBreach}

// Service desk events. Every one carries the ticket's customer in
// Event.ContactID, so it lands on their timeline; payloads are the
// desk.*Payload types.
const (
	EventTicketCreated       = "ticket.created"
	EventTicketStatusChanged = "ticket.status_changed"
	EventTicketSolved        = "ticket.solved"
	EventTicketUpdated       = "ticket.updated"
	EventTicketAssigned      = "ticket.assigned"
	EventTicketEscalated     = "ticket.escalated"
	EventTicketMessage       = "ticket.message" // a customer message or a public reply
	EventTicketSLAWarning    = "ticket.sla_warning"
	EventTicketSLABreached   = "ticket.sla_breached"
	EventSurveyAnswered      = "survey.answered"
	EventReturnRequested     = "return.requested"
	EventReturnResolved      = "return.resolved"
)

// Ticket is a customer's request, complaint or question.
type Ticket struct {
	ID         int64          `json:"id"`
	Ref        string         `json:"ref"` // the code in email subjects: [#42-K7Q2M]
	Subject    string         `json:"subject"`
	ContactID  int64          `json:"contact_id"` // 0: the person was deleted
	Channel    string         `json:"channel"`
	Category   string         `json:"category"`
	Priority   string         `json:"priority"`
	Tier       string         `json:"tier"`
	Status     string         `json:"status"`
	AssigneeID int64          `json:"assignee_id"` // 0: unassigned
	TeamID     int64          `json:"team_id"`     // 0: no team
	Tags       []string       `json:"tags"`
	Custom     map[string]any `json:"custom"`
	// SLAPolicyID is the policy whose targets apply (0: none matched).
	SLAPolicyID      int64      `json:"sla_policy_id"`
	FirstRespondedAt *time.Time `json:"first_responded_at,omitempty"`
	SolvedAt         *time.Time `json:"solved_at,omitempty"`
	ClosedAt         *time.Time `json:"closed_at,omitempty"`
	LastCustomerAt   *time.Time `json:"last_customer_at,omitempty"`
	LastAgentAt      *time.Time `json:"last_agent_at,omitempty"`
	Rating           int        `json:"rating"`       // the latest answered survey's 1–5; 0: none
	FollowUpOf       int64      `json:"follow_up_of"` // the closed ticket a customer wrote to again
	Version          int64      `json:"version"`
	CreatedBy        int64      `json:"created_by"` // 0: the customer (email) or the system
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	SLA              []SLATimer `json:"sla"` // the ticket's timers, when read one by one
}

// Number is how people refer to the ticket: #42.
func (t *Ticket) Number() string { return fmt.Sprintf("#%d", t.ID) }

// SubjectToken is what outgoing emails carry in their subject so a reply
// that lost its headers still finds the ticket: [#42-K7Q2M].
func (t *Ticket) SubjectToken() string { return fmt.Sprintf("[#%d-%s]", t.ID, t.Ref) }

// Timer returns the ticket's timer of metric, if it has one.
func (t *Ticket) Timer(metric string) (SLATimer, bool) {
	for _, x := range t.SLA {
		if x.Metric == metric {
			return x, true
		}
	}
	return SLATimer{}, false
}

// TicketMessage is one entry of a ticket's conversation: a customer's
// message, an agent's public reply, or an internal note.
type TicketMessage struct {
	ID            int64        `json:"id"`
	TicketID      int64        `json:"ticket_id"`
	Kind          string       `json:"kind"`      // public, note
	Direction     string       `json:"direction"` // in (customer), out (agent)
	AuthorID      int64        `json:"author_id"` // the agent; 0 for the customer or the system
	ContactID     int64        `json:"contact_id"`
	Body          string       `json:"body"`
	FromAddress   string       `json:"from_address,omitempty"`
	ToAddress     string       `json:"to_address,omitempty"`
	MessageID     string       `json:"message_id,omitempty"` // the email's Message-ID, without brackets
	InReplyTo     string       `json:"in_reply_to,omitempty"`
	References    []string     `json:"references,omitempty"`
	Delivery      string       `json:"delivery,omitempty"` // queued, sent, failed, noemail for outgoing email
	DeliveryError string       `json:"delivery_error,omitempty"`
	Auto          bool         `json:"auto"` // an auto-reply or bounce: stored, never answered
	Attachments   []Attachment `json:"attachments"`
	CreatedAt     time.Time    `json:"created_at"`
}

// Attachment is a file that came with a message. Its bytes are kept in
// the database; ContentType is what the bytes were sniffed as, not what
// the sender claimed.
type Attachment struct {
	ID          int64     `json:"id"`
	MessageID   int64     `json:"message_id"`
	TicketID    int64     `json:"ticket_id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// SLATimer is one target of a ticket's SLA policy: when it is due, when
// the warning goes out, and what became of it. A pending ticket's timers
// are paused: DueAt is unknown and Remaining holds the business minutes
// left.
type SLATimer struct {
	Metric      string     `json:"metric"` // first_response, resolution
	Status      string     `json:"status"` // active, paused, hit, missed, breached
	DueAt       *time.Time `json:"due_at,omitempty"`
	WarnAt      *time.Time `json:"warn_at,omitempty"`
	Remaining   int64      `json:"remaining_minutes"` // business minutes left when paused
	SatisfiedAt *time.Time `json:"satisfied_at,omitempty"`
	WarnedAt    *time.Time `json:"warned_at,omitempty"`
	BreachedAt  *time.Time `json:"breached_at,omitempty"`
}

// TimerStatus derives a timer's status from its times.
func TimerStatus(due, satisfied *time.Time, paused bool, now time.Time) string {
	switch {
	case satisfied != nil && due != nil && satisfied.After(*due):
		return SLAMissed
	case satisfied != nil:
		return SLAHit
	case paused:
		return SLAPaused
	case due != nil && !now.Before(*due):
		return SLABreached
	}
	return SLAActive
}

// BusinessCalendar says when the desk works: weekly spans in a time
// zone, and holidays. SLA targets count only this time.
type BusinessCalendar struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	TimeZone  string        `json:"time_zone"`
	Hours     []WorkingSpan `json:"hours"`
	Holidays  []Holiday     `json:"holidays"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// WorkingSpan is a stretch of working time on a weekday, local clock
// times HH:MM; several spans a day are allowed (a lunch break).
type WorkingSpan struct {
	Day   int    `json:"day"`   // 0 Sunday … 6 Saturday (time.Weekday)
	Start string `json:"start"` // "08:00"
	End   string `json:"end"`   // "16:30"; "24:00" is midnight at the end of the day
}

// Holiday is a day off, a Gregorian date YYYY-MM-DD in the calendar's
// time zone.
type Holiday struct {
	Date string `json:"date"`
	Name string `json:"name"`
}

// SLAPolicy sets first-response and resolution targets, in business
// minutes of its calendar, for the tickets its conditions select. The
// active policies are tried by position: the first that matches applies.
type SLAPolicy struct {
	ID                   int64         `json:"id"`
	Name                 string        `json:"name"`
	Position             int           `json:"position"`
	Active               bool          `json:"active"`
	Conditions           SLAConditions `json:"conditions"`
	CalendarID           int64         `json:"calendar_id"` // 0: around the clock
	FirstResponseMinutes int64         `json:"first_response_minutes"`
	ResolutionMinutes    int64         `json:"resolution_minutes"`
	WarnMinutes          int64         `json:"warn_minutes"`  // warn this many business minutes before a target
	PauseOnHold          bool          `json:"pause_on_hold"` // on hold stops the clock too (pending always does)
	CreatedAt            time.Time     `json:"created_at"`
	UpdatedAt            time.Time     `json:"updated_at"`
}

// SLAConditions select tickets: every non-empty list must contain the
// ticket's value (tags and tiers: one of the customer's). Empty
// conditions select every ticket.
type SLAConditions struct {
	Priorities []string `json:"priorities,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Channels   []string `json:"channels,omitempty"`
	Tags       []string `json:"tags,omitempty"`  // the customer's tags
	Tiers      []string `json:"tiers,omitempty"` // the customer's club tier names
}

// EscalationRule moves matching tickets up a tier and/or to a team when
// its trigger happens.
type EscalationRule struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Position   int       `json:"position"`
	Active     bool      `json:"active"`
	Trigger    string    `json:"trigger"`              // created, warning, breach
	Metrics    []string  `json:"metrics,omitempty"`    // warning/breach of these metrics; empty: any
	Priorities []string  `json:"priorities,omitempty"` // empty: any
	Categories []string  `json:"categories,omitempty"` // empty: any
	ToTier     string    `json:"to_tier"`              // a tier, "next", or "" to keep it
	ToTeamID   int64     `json:"to_team_id"`           // 0: keep the team
	Raise      bool      `json:"raise_priority"`       // raise the priority one step
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Escalation is one move of a ticket up a tier or to another team.
type Escalation struct {
	ID        int64     `json:"id"`
	TicketID  int64     `json:"ticket_id"`
	FromTier  string    `json:"from_tier"`
	ToTier    string    `json:"to_tier"`
	FromTeam  int64     `json:"from_team_id"`
	ToTeam    int64     `json:"to_team_id"`
	RuleID    int64     `json:"rule_id"` // 0: by hand
	Reason    string    `json:"reason"`
	ActorID   int64     `json:"actor_id"`
	CreatedAt time.Time `json:"created_at"`
}

// CannedReply is a prepared answer with a text per language and
// placeholders: {customer_name}, {ticket_number}, {subject},
// {agent_name}.
type CannedReply struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name"`
	Bodies    map[string]string `json:"bodies"` // by language: en, fa, ar
	CreatedBy int64             `json:"created_by"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Survey is a satisfaction survey sent when a ticket was solved: one per
// resolution, answered once, through a link only the customer has.
type Survey struct {
	ID         int64      `json:"id"`
	TicketID   int64      `json:"ticket_id"`
	ContactID  int64      `json:"contact_id"`
	AgentID    int64      `json:"agent_id"`   // who solved it; they cannot answer
	Resolution int        `json:"resolution"` // 1 for the first solve, 2 after a reopen …
	Rating     int        `json:"rating"`     // 1–5; 0 unanswered
	Comment    string     `json:"comment,omitempty"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	ExpiresAt  time.Time  `json:"expires_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

// ReturnRequest is goods a customer wants to give back, raised on a
// ticket: a line of one of their orders, or a product named in words.
type ReturnRequest struct {
	ID          int64      `json:"id"`
	TicketID    int64      `json:"ticket_id"`
	ContactID   int64      `json:"contact_id"`
	OrderID     int64      `json:"order_id"`      // 0: not tied to an order
	OrderLineID int64      `json:"order_line_id"` // 0: not tied to an order line
	Product     string     `json:"product"`
	SKU         string     `json:"sku,omitempty"`
	Quantity    int64      `json:"quantity"`
	Reason      string     `json:"reason"`     // one of ReturnReasons
	Resolution  string     `json:"resolution"` // one of ReturnResolutions; "" while open
	Notes       string     `json:"notes"`      // for the product team
	CreatedBy   int64      `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	ResolvedAt  *time.Time `json:"resolved_at,omitempty"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Agent is a user's desk settings: how many active tickets they take,
// and whether they are away (automatic assignment skips them).
type Agent struct {
	UserID         int64      `json:"user_id"`
	Name           string     `json:"name"`
	Email          string     `json:"email"`
	Capacity       int        `json:"capacity"`
	Away           bool       `json:"away"`
	Load           int        `json:"load"` // active tickets assigned now
	LastAssignedAt *time.Time `json:"last_assigned_at,omitempty"`
}

// DeskTeam is a team's assignment mode.
type DeskTeam struct {
	TeamID     int64   `json:"team_id"`
	Name       string  `json:"name"`
	Assignment string  `json:"assignment"` // manual, round_robin, least_busy
	MemberIDs  []int64 `json:"member_ids"`
}

// TicketFilter selects tickets for a list, newest first, with keyset
// paging. Zero values do not filter.
type TicketFilter struct {
	Statuses   []string
	Active     bool   // only tickets that still need work
	AssigneeID *int64 // 0: unassigned
	TeamID     int64
	TeamOf     int64 // tickets of the teams this user is in
	ContactID  int64
	Priority   string
	Channel    string
	Category   string
	Tag        string
	Tier       string
	DueBefore  *time.Time // an SLA target due (or past due) before this instant
	Query      string     // in the subject
	Limit      int
	After      string
}
