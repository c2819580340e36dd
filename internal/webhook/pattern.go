package webhook

import (
	"fmt"
	"slices"
	"strings"
)

// MaxPatterns bounds the event types one subscription names.
const MaxPatterns = 50

// EventTypes are the event types Pivand's modules emit that make sense to
// send elsewhere, grouped by their prefix: the choices the settings page
// offers. A subscription may name any other type, or a prefix (deal.*).
// The platform's own events about users, sign-ins and API tokens are left
// out of the list on purpose (they can still be named).
var EventTypes = []string{
	"contact.created", "contact.updated", "contact.merged", "contact.deleted", "contact.erased", "contact.imported", "consent.changed",
	"company.created", "company.updated", "company.deleted",
	"note.added", "note.updated", "note.deleted", "interaction.logged",
	"task.created", "task.updated", "task.completed", "task.reopened", "task.deleted",
	"lead.created", "lead.updated", "lead.converted", "lead.deleted",
	"deal.created", "deal.updated", "deal.stage_changed", "deal.won", "deal.lost", "deal.reopened", "deal.deleted",
	"quote.created", "quote.status_changed",
	"ticket.created", "ticket.updated", "ticket.assigned", "ticket.status_changed", "ticket.message", "ticket.escalated",
	"ticket.sla_warning", "ticket.sla_breached", "ticket.solved", "survey.answered", "return.requested", "return.resolved",
	"order.created", "order.returned",
	"club.member_enrolled", "club.points_earned", "club.points_reversed", "club.points_adjusted", "club.points_expiring", "club.points_expired",
	"club.tier_changed", "club.reward_reserved", "club.reward_captured", "club.reward_cancelled", "club.coupon_redeemed", "club.referral_rewarded",
	"import.finished", "webhook.received", "webhook.disabled",
}

// EventGroups returns the prefixes of EventTypes in order ("contact",
// "company" …), for the wildcard choices (contact.*).
func EventGroups() []string {
	var out []string
	for _, t := range EventTypes {
		p, _, _ := strings.Cut(t, ".")
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// ParsePatterns checks and normalises event-type patterns: "*" (every
// event), an exact type ("deal.stage_changed") or a prefix ending in ".*"
// ("deal.*"). Names are lower-case letters, digits and "_" in dot-separated
// parts, each starting with a letter. Duplicates are dropped; a pattern
// another one covers stays (it is harmless). The error names the first bad
// pattern and why.
func ParsePatterns(in []string) ([]string, error) {
	var out []string
	for _, raw := range in {
		for _, p := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
			p = strings.ToLower(p)
			if err := checkPattern(p); err != nil {
				return nil, err
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("choose at least one event type")
	}
	if len(out) > MaxPatterns {
		return nil, fmt.Errorf("at most %d event types", MaxPatterns)
	}
	return out, nil
}

func checkPattern(p string) error {
	if p == "*" {
		return nil
	}
	if len(p) > 100 {
		return fmt.Errorf("%.20q… is longer than 100 characters", p)
	}
	name := strings.TrimSuffix(p, ".*")
	parts := strings.Split(name, ".")
	if len(parts) < 2 && name == p {
		return fmt.Errorf("%q is not an event type: write it as module.action (contact.created) or module.*", p)
	}
	for _, part := range parts {
		if part == "" {
			return fmt.Errorf("%q has an empty part", p)
		}
		for i, r := range part {
			switch {
			case r >= 'a' && r <= 'z':
			case i > 0 && (r >= '0' && r <= '9' || r == '_'):
			default:
				return fmt.Errorf("%q: each part starts with a letter and has only a-z, 0-9 and _", p)
			}
		}
	}
	return nil
}

// Match reports whether an event of type typ is one the patterns name.
func Match(patterns []string, typ string) bool {
	for _, p := range patterns {
		if p == "*" || p == typ || strings.HasSuffix(p, ".*") && strings.HasPrefix(typ, p[:len(p)-1]) {
			return true
		}
	}
	return false
}
