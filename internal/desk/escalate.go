package desk

import (
	"context"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Escalation moves a ticket up a tier (tier 1 → tier 2 → specialists)
// and/or to another team, by hand or by a rule whose trigger (a new
// ticket, an SLA warning, an SLA breach) and conditions (priority,
// category, metric) match. Each move is recorded (desk_escalations), in
// the ticket's history and on the customer's timeline (ticket.escalated).
// A ticket given to another team loses its agent and is assigned by the
// new team's mode.

// EscalateInput is a move by hand.
type EscalateInput struct {
	ToTier   string // a tier, or "" for the next one
	ToTeamID int64  // 0: keep the team
	Reason   string
	Version  int64
}

// Escalate moves a ticket up by hand. Needs service:write.
func (s *Service) Escalate(ctx context.Context, id int64, in EscalateInput) (*crm.Ticket, error) {
	if err := crm.Authorize(ctx, crm.PermServiceWrite, true); err != nil {
		return nil, err
	}
	var v crm.Validation
	if in.ToTier != "" && !slices.Contains(crm.TicketTiers, in.ToTier) {
		v.Add("to_tier", "Use one of %s.", strings.Join(crm.TicketTiers, ", "))
	}
	in.Reason = checkText(&v, "reason", in.Reason, 500)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *crm.Ticket
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		t, err := s.lockTicket(ctx, tx, id, in.Version)
		if err != nil {
			return err
		}
		if !crm.TicketActive(t.Status) {
			return fieldErr(crm.ECONFLICT, "status", "Ticket %d is %s; only tickets still being worked on are escalated.", id, t.Status)
		}
		to := in.ToTier
		if to == "" {
			to = crm.NextTier(t.Tier)
		}
		if to == t.Tier && (in.ToTeamID == 0 || in.ToTeamID == t.TeamID) {
			return fieldErr(crm.ECONFLICT, "to_tier", "Ticket %d is already at %s; choose another team or tier.", id, t.Tier)
		}
		if err := s.escalateTx(ctx, tx, t, to, in.ToTeamID, false, in.Reason, nil); err != nil {
			return err
		}
		out, err = s.reload(ctx, tx, id)
		return err
	})
	return out, err
}

// escalateTx moves t (locked) to tier and team (0: keep), raising its
// priority one step when raise is set, records it and saves t.
func (s *Service) escalateTx(ctx context.Context, tx *store.Tx, t *crm.Ticket, tier string, teamID int64, raise bool, reason string, rule *crm.EscalationRule) error {
	e := &crm.Escalation{TicketID: t.ID, FromTier: t.Tier, ToTier: tier, FromTeam: t.TeamID, ToTeam: t.TeamID, Reason: reason, ActorID: actor(ctx)}
	if rule != nil {
		e.RuleID = rule.ID
	}
	fromTeam := t.TeamID
	if tier != t.Tier {
		if err := tx.InsertTicketChange(ctx, t.ID, "tier", t.Tier, tier, actor(ctx)); err != nil {
			return err
		}
		t.Tier = tier
	}
	if raise {
		if i := slices.Index(crm.TicketPriorities, t.Priority); i >= 0 && i < len(crm.TicketPriorities)-1 {
			next := crm.TicketPriorities[i+1]
			if err := tx.InsertTicketChange(ctx, t.ID, "priority", t.Priority, next, actor(ctx)); err != nil {
				return err
			}
			t.Priority = next
		}
	}
	teamChanged := teamID != 0 && teamID != t.TeamID
	if teamChanged {
		if _, err := tx.FindTeamByID(ctx, teamID); err != nil {
			if crm.ErrorCode(err) == crm.ENOTFOUND {
				return fieldErr(crm.EINVALID, "to_team_id", "Team %d does not exist.", teamID)
			}
			return err
		}
		if err := tx.InsertTicketChange(ctx, t.ID, "team", idText(t.TeamID), idText(teamID), actor(ctx)); err != nil {
			return err
		}
		t.TeamID, e.ToTeam = teamID, teamID
		if t.AssigneeID != 0 {
			if err := tx.InsertTicketChange(ctx, t.ID, "assignee", idText(t.AssigneeID), "", actor(ctx)); err != nil {
				return err
			}
			t.AssigneeID = 0
		}
	}
	if err := tx.InsertEscalation(ctx, e); err != nil {
		return err
	}
	if err := s.save(ctx, tx, t, raise); err != nil {
		return err
	}
	if err := tx.Audit(ctx, "ticket.escalate", "ticket", t.ID, nil, e); err != nil {
		return err
	}
	p, err := ticketPayload(ctx, tx, t)
	if err != nil {
		return err
	}
	ep := EscalatedPayload{TicketPayload: p, FromTier: e.FromTier, Reason: reason}
	if ep.FromTeam, err = teamName(ctx, tx, fromTeam); err != nil {
		return err
	}
	if rule != nil {
		ep.Rule = rule.Name
	}
	if err := emit(ctx, tx, crm.EventTicketEscalated, t, ep); err != nil {
		return err
	}
	if teamChanged {
		return s.autoAssignTx(ctx, tx, t)
	}
	return nil
}

// ruleMatches reports whether rule r applies to t for trigger (and
// metric, for warnings and breaches).
func ruleMatches(r *crm.EscalationRule, t *crm.Ticket, trigger, metric string) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	// Categories are free text: matched without regard to case, as SLA
	// policies match them.
	inFold := func(list []string, v string) bool {
		return len(list) == 0 || slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
	}
	return r.Active && r.Trigger == trigger && in(r.Priorities, t.Priority) && inFold(r.Categories, t.Category) &&
		(trigger == crm.EscalateOnCreate || in(r.Metrics, metric))
}

// runRules applies the escalation rules of a trigger to t (locked), in
// order; each that matches moves the ticket on from where the last one
// left it.
func (s *Service) runRules(ctx context.Context, tx *store.Tx, t *crm.Ticket, trigger, metric string) error {
	rules, err := tx.ListEscalationRules(ctx)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if !ruleMatches(r, t, trigger, metric) || !crm.TicketActive(t.Status) {
			continue
		}
		tier := t.Tier
		switch r.ToTier {
		case "next":
			tier = crm.NextTier(t.Tier)
		case "":
		default:
			tier = r.ToTier
		}
		if tier == t.Tier && (r.ToTeamID == 0 || r.ToTeamID == t.TeamID) && !r.Raise {
			continue
		}
		reason := trigger
		if metric != "" {
			reason += " " + metric
		}
		if err := s.escalateTx(ctx, tx, t, tier, r.ToTeamID, r.Raise, reason, r); err != nil {
			return err
		}
	}
	return nil
}
