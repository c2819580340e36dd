package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// The payloads of the desk's events: snapshots of what a timeline entry
// shows, so it reads the same after the ticket, the agent or the team is
// renamed.

// TicketPayload is what every ticket event carries, embedded in the
// others.
type TicketPayload struct {
	TicketID   int64  `json:"ticket_id"`
	Subject    string `json:"subject"`
	Status     string `json:"status"`
	Priority   string `json:"priority"`
	Channel    string `json:"channel"`
	Category   string `json:"category,omitempty"`
	Tier       string `json:"tier"`
	AssigneeID int64  `json:"assignee_id,omitempty"`
	Assignee   string `json:"assignee,omitempty"`
	TeamID     int64  `json:"team_id,omitempty"`
	Team       string `json:"team,omitempty"`
}

// StatusPayload is what ticket.status_changed and ticket.solved carry.
type StatusPayload struct {
	TicketPayload
	From string `json:"from"`
	To   string `json:"to"`
}

// UpdatedPayload is what ticket.updated carries: the fields that changed
// (subject, category, priority, tags, custom).
type UpdatedPayload struct {
	TicketPayload
	Changed []string `json:"changed"`
}

// AssignedPayload is what ticket.assigned carries.
type AssignedPayload struct {
	TicketPayload
	FromID int64  `json:"from_id,omitempty"`
	From   string `json:"from,omitempty"`
	How    string `json:"how"` // manual, round_robin, least_busy
}

// EscalatedPayload is what ticket.escalated carries.
type EscalatedPayload struct {
	TicketPayload
	FromTier string `json:"from_tier"`
	FromTeam string `json:"from_team,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Rule     string `json:"rule,omitempty"` // the rule's name; "" by hand
}

// MessagePayload is what ticket.message carries: a customer's message or
// an agent's public reply, at most 500 characters of it.
type MessagePayload struct {
	TicketPayload
	MessageID int64  `json:"message_id"`
	Direction string `json:"direction"` // in, out
	Excerpt   string `json:"excerpt"`
	Truncated bool   `json:"truncated,omitempty"`
	Author    string `json:"author,omitempty"` // the agent
}

// SLAPayload is what ticket.sla_warning and ticket.sla_breached carry.
type SLAPayload struct {
	TicketPayload
	Metric string    `json:"metric"` // first_response, resolution
	DueAt  time.Time `json:"due_at"`
	Policy string    `json:"policy"`
}

// SurveyPayload is what survey.answered carries.
type SurveyPayload struct {
	TicketPayload
	SurveyID int64  `json:"survey_id"`
	Rating   int    `json:"rating"`
	Comment  string `json:"comment,omitempty"`
	AgentID  int64  `json:"agent_id,omitempty"`
	Agent    string `json:"agent,omitempty"`
}

// ReturnPayload is what return.requested and return.resolved carry.
type ReturnPayload struct {
	ReturnID   int64  `json:"return_id"`
	TicketID   int64  `json:"ticket_id"`
	OrderID    int64  `json:"order_id,omitempty"`
	Product    string `json:"product"`
	SKU        string `json:"sku,omitempty"`
	Quantity   int64  `json:"quantity"`
	Reason     string `json:"reason"`
	Resolution string `json:"resolution,omitempty"`
}

// ticketPayload snapshots t with the names of its agent and team.
func ticketPayload(ctx context.Context, tx *store.Tx, t *crm.Ticket) (TicketPayload, error) {
	p := TicketPayload{TicketID: t.ID, Subject: t.Subject, Status: t.Status, Priority: t.Priority, Channel: t.Channel,
		Category: t.Category, Tier: t.Tier, AssigneeID: t.AssigneeID, TeamID: t.TeamID}
	if t.AssigneeID != 0 {
		names, err := tx.DeskUserNames(ctx, []int64{t.AssigneeID})
		if err != nil {
			return p, err
		}
		p.Assignee = names[t.AssigneeID]
	}
	if t.TeamID != 0 {
		name, err := teamName(ctx, tx, t.TeamID)
		if err != nil {
			return p, err
		}
		p.Team = name
	}
	return p, nil
}

func teamName(ctx context.Context, tx *store.Tx, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	tm, err := tx.FindTeamByID(ctx, id)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return tm.Name, nil
}

// emit writes a ticket event on the customer's timeline.
func emit(ctx context.Context, tx *store.Tx, typ string, t *crm.Ticket, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("desk: %s payload: %w", typ, err)
	}
	return tx.Emit(ctx, &crm.Event{Type: typ, SubjectType: "ticket", SubjectID: t.ID, ContactID: t.ContactID, Payload: b})
}

// mustPayload marshals an event payload (plain data: it cannot fail).
func mustPayload(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("desk: payload %T: %v", v, err))
	}
	return b
}

// excerpt cuts s to n characters.
func excerpt(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	r := []rune(s)
	return string(r[:n]), true
}
