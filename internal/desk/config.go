package desk

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
)

// The desk's configuration, kept by admins (settings:manage): business
// calendars, SLA policies, escalation rules; and canned replies, which
// any agent may write. A change to a calendar or a policy recomputes the
// timers of the active tickets in a job.

// maxMinutes bounds SLA targets: a year of minutes.
const maxMinutes = 366 * 24 * 60

// --- Calendars ---

func validateCalendar(c *crm.BusinessCalendar) error {
	var v crm.Validation
	c.Name = checkText(&v, "name", c.Name, MaxShort)
	if c.Name == "" {
		v.Add("name", "A calendar needs a name.")
	}
	c.TimeZone = strings.TrimSpace(c.TimeZone)
	for i := range c.Holidays {
		c.Holidays[i].Name = checkText(&v, "holidays", c.Holidays[i].Name, MaxShort)
		c.Holidays[i].Date = strings.TrimSpace(c.Holidays[i].Date)
	}
	if c.Hours == nil {
		c.Hours = []crm.WorkingSpan{}
	}
	if c.Holidays == nil {
		c.Holidays = []crm.Holiday{}
	}
	if len(c.Holidays) > 1000 {
		v.Add("holidays", "Use at most 1000 holidays.")
	}
	if err := v.Err(); err != nil {
		return err
	}
	_, err := CompileCalendar(c)
	return err
}

// Calendars returns every business calendar. Needs service:read.
func (s *Service) Calendars(ctx context.Context) ([]*crm.BusinessCalendar, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.BusinessCalendar
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListCalendars(ctx)
		return err
	})
	return out, err
}

// Calendar returns a business calendar. Needs service:read.
func (s *Service) Calendar(ctx context.Context, id int64) (*crm.BusinessCalendar, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out *crm.BusinessCalendar
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.FindCalendar(ctx, id)
		return err
	})
	return out, err
}

// SaveCalendar creates (ID 0) or replaces a business calendar. Needs
// settings:manage.
func (s *Service) SaveCalendar(ctx context.Context, c crm.BusinessCalendar) (*crm.BusinessCalendar, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	if err := validateCalendar(&c); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if c.ID == 0 {
			if err := tx.InsertCalendar(ctx, &c); err != nil {
				return err
			}
			return tx.Audit(ctx, "desk.calendar.create", "calendar", c.ID, nil, c)
		}
		old, err := tx.FindCalendar(ctx, c.ID)
		if err != nil {
			return err
		}
		c.CreatedAt = old.CreatedAt
		if err := tx.UpdateCalendar(ctx, &c); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "desk.calendar.update", "calendar", c.ID, old, c); err != nil {
			return err
		}
		return enqueueRecompute(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCalendar removes a calendar no policy uses. Needs
// settings:manage.
func (s *Service) DeleteCalendar(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.FindCalendar(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteCalendar(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "desk.calendar.delete", "calendar", id, old, nil)
	})
}

// --- SLA policies ---

func validatePolicy(p *crm.SLAPolicy) error {
	var v crm.Validation
	p.Name = checkText(&v, "name", p.Name, MaxShort)
	if p.Name == "" {
		v.Add("name", "A policy needs a name.")
	}
	if p.FirstResponseMinutes < 1 || p.FirstResponseMinutes > maxMinutes {
		v.Add("first_response_minutes", "Use a number of minutes from 1 to %d.", maxMinutes)
	}
	if p.ResolutionMinutes < 1 || p.ResolutionMinutes > maxMinutes {
		v.Add("resolution_minutes", "Use a number of minutes from 1 to %d.", maxMinutes)
	}
	if p.WarnMinutes < 0 || p.WarnMinutes > maxMinutes {
		v.Add("warn_minutes", "Use a number of minutes from 0 to %d.", maxMinutes)
	}
	if p.Position < 0 {
		v.Add("position", "Use 0 (last) or more.")
	}
	c := &p.Conditions
	c.Priorities = checkChoices(&v, "conditions.priorities", c.Priorities, crm.TicketPriorities)
	c.Channels = checkChoices(&v, "conditions.channels", c.Channels, crm.TicketChannels)
	c.Categories = cleanList(&v, "conditions.categories", c.Categories, MaxCategories, MaxShort)
	c.Tags = cleanList(&v, "conditions.tags", c.Tags, MaxTags, MaxTag)
	c.Tiers = cleanList(&v, "conditions.tiers", c.Tiers, MaxTags, MaxShort)
	return v.Err()
}

// Policies returns the SLA policies in the order they are tried. Needs
// service:read.
func (s *Service) Policies(ctx context.Context) ([]*crm.SLAPolicy, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.SLAPolicy
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListSLAPolicies(ctx)
		return err
	})
	return out, err
}

// Policy returns an SLA policy. Needs service:read.
func (s *Service) Policy(ctx context.Context, id int64) (*crm.SLAPolicy, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out *crm.SLAPolicy
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.FindSLAPolicy(ctx, id)
		return err
	})
	return out, err
}

// SavePolicy creates (ID 0) or replaces an SLA policy; the active
// tickets' timers are recomputed in a job. Needs settings:manage.
func (s *Service) SavePolicy(ctx context.Context, p crm.SLAPolicy) (*crm.SLAPolicy, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	if err := validatePolicy(&p); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if p.CalendarID != 0 {
			if _, err := tx.FindCalendar(ctx, p.CalendarID); err != nil {
				if crm.ErrorCode(err) == crm.ENOTFOUND {
					return fieldErr(crm.EINVALID, "calendar_id", "Calendar %d does not exist.", p.CalendarID)
				}
				return err
			}
		}
		if p.ID == 0 {
			if err := tx.InsertSLAPolicy(ctx, &p); err != nil {
				return err
			}
			if err := tx.Audit(ctx, "desk.policy.create", "sla_policy", p.ID, nil, p); err != nil {
				return err
			}
		} else {
			old, err := tx.FindSLAPolicy(ctx, p.ID)
			if err != nil {
				return err
			}
			p.CreatedAt = old.CreatedAt
			if p.Position == 0 {
				p.Position = old.Position
			}
			if err := tx.UpdateSLAPolicy(ctx, &p); err != nil {
				return err
			}
			if err := tx.Audit(ctx, "desk.policy.update", "sla_policy", p.ID, old, p); err != nil {
				return err
			}
		}
		return enqueueRecompute(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// DeletePolicy removes an SLA policy; the active tickets choose again in
// a job. Needs settings:manage.
func (s *Service) DeletePolicy(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.FindSLAPolicy(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteSLAPolicy(ctx, id); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "desk.policy.delete", "sla_policy", id, old, nil); err != nil {
			return err
		}
		return enqueueRecompute(ctx, tx)
	})
}

// StandardSetup creates, when there are no policies yet, a business
// calendar (Saturday to Wednesday 08:00–16:00 and Thursday 08:00–12:00
// in the given time zone) and one SLA policy per priority on it: urgent
// answered in 30 minutes and solved in 4 hours, high 1 h / 8 h, normal
// 4 h / 3 days, low 8 h / 5 days of working time. When the desk's
// settings were never saved, it also saves them with the default
// categories. The names (calendar, policies, categories) are in the
// language of the user who runs it, so a Persian admin gets Persian
// names; what exists already is left alone. Needs settings:manage.
func (s *Service) StandardSetup(ctx context.Context, timeZone string) ([]*crm.SLAPolicy, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	p := standardPrinter(ctx)
	cal := crm.BusinessCalendar{Name: p.T("service.standard.calendar"), TimeZone: timeZone}
	for _, d := range []int{6, 0, 1, 2, 3} {
		cal.Hours = append(cal.Hours, crm.WorkingSpan{Day: d, Start: "08:00", End: "16:00"})
	}
	cal.Hours = append(cal.Hours, crm.WorkingSpan{Day: 4, Start: "08:00", End: "12:00"})
	if err := validateCalendar(&cal); err != nil {
		return nil, err
	}
	var out []*crm.SLAPolicy
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		existing, err := tx.ListSLAPolicies(ctx)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return crm.Errorf(crm.ECONFLICT, "There are SLA policies already; edit them instead.")
		}
		if err := tx.InsertCalendar(ctx, &cal); err != nil {
			return err
		}
		day := int64(8 * 60)
		for _, x := range []struct {
			prio       string
			first, res int64
		}{{crm.PriorityUrgent, 30, 4 * 60}, {crm.PriorityHigh, 60, day}, {crm.PriorityNormal, 4 * 60, 3 * day}, {crm.PriorityLow, 8 * 60, 5 * day}} {
			pol := &crm.SLAPolicy{Name: p.T("service.priority." + x.prio), Active: true, Conditions: crm.SLAConditions{Priorities: []string{x.prio}},
				CalendarID: cal.ID, FirstResponseMinutes: x.first, ResolutionMinutes: x.res, WarnMinutes: min(30, x.first/2)}
			if err := tx.InsertSLAPolicy(ctx, pol); err != nil {
				return err
			}
			out = append(out, pol)
		}
		audit := map[string]any{"calendar": cal, "policies": out}
		// Settings never saved: store the default categories by name in
		// the admin's language (saved settings, and tickets, stay as they are).
		if _, saved, err := tx.DeskSetting(ctx, settingsKey); err != nil {
			return err
		} else if !saved {
			st := DefaultSettings()
			for i, c := range st.Categories {
				st.Categories[i] = p.T("service.standard.category." + c)
			}
			b, _ := json.Marshal(st)
			if err := tx.SaveDeskSetting(ctx, settingsKey, string(b)); err != nil {
				return err
			}
			audit["settings"] = st
		}
		if err := tx.Audit(ctx, "desk.standard_setup", "settings", 0, nil, audit); err != nil {
			return err
		}
		return enqueueRecompute(ctx, tx)
	})
	return out, err
}

// standardPrinter speaks the language of the user on ctx (English
// without one), for the names the standard setup creates.
func standardPrinter(ctx context.Context) *locale.Printer {
	if u := crm.UserFromContext(ctx); u != nil {
		return locale.ForLanguage(u.Preferences.Language)
	}
	return locale.ForLanguage(locale.DefaultLanguage)
}

// --- Escalation rules ---

func validateRule(r *crm.EscalationRule) error {
	var v crm.Validation
	r.Name = checkText(&v, "name", r.Name, MaxShort)
	if r.Name == "" {
		v.Add("name", "A rule needs a name.")
	}
	if !slices.Contains(crm.EscalationTriggers, r.Trigger) {
		v.Add("trigger", "Use one of %s.", strings.Join(crm.EscalationTriggers, ", "))
	}
	if r.ToTier != "" && r.ToTier != "next" && !slices.Contains(crm.TicketTiers, r.ToTier) {
		v.Add("to_tier", "Use next, one of %s, or nothing to keep the tier.", strings.Join(crm.TicketTiers, ", "))
	}
	if r.ToTier == "" && r.ToTeamID == 0 && !r.Raise {
		v.Add("to_tier", "Say what the rule does: a tier, a team or a higher priority.")
	}
	r.Metrics = checkChoices(&v, "metrics", r.Metrics, crm.SLAMetrics)
	r.Priorities = checkChoices(&v, "priorities", r.Priorities, crm.TicketPriorities)
	r.Categories = cleanList(&v, "categories", r.Categories, MaxCategories, MaxShort)
	return v.Err()
}

// Rules returns the escalation rules in order. Needs service:read.
func (s *Service) Rules(ctx context.Context) ([]*crm.EscalationRule, error) {
	if err := crm.Authorize(ctx, crm.PermServiceRead, false); err != nil {
		return nil, err
	}
	var out []*crm.EscalationRule
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ListEscalationRules(ctx)
		return err
	})
	return out, err
}

// SaveRule creates (ID 0) or replaces an escalation rule. Needs
// settings:manage.
func (s *Service) SaveRule(ctx context.Context, r crm.EscalationRule) (*crm.EscalationRule, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	if err := validateRule(&r); err != nil {
		return nil, err
	}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if r.ToTeamID != 0 {
			if _, err := tx.FindTeamByID(ctx, r.ToTeamID); err != nil {
				if crm.ErrorCode(err) == crm.ENOTFOUND {
					return fieldErr(crm.EINVALID, "to_team_id", "Team %d does not exist.", r.ToTeamID)
				}
				return err
			}
		}
		if r.ID == 0 {
			if err := tx.InsertEscalationRule(ctx, &r); err != nil {
				return err
			}
			return tx.Audit(ctx, "desk.rule.create", "escalation_rule", r.ID, nil, r)
		}
		old, err := tx.FindEscalationRule(ctx, r.ID)
		if err != nil {
			return err
		}
		r.CreatedAt = old.CreatedAt
		if r.Position == 0 {
			r.Position = old.Position
		}
		if err := tx.UpdateEscalationRule(ctx, &r); err != nil {
			return err
		}
		return tx.Audit(ctx, "desk.rule.update", "escalation_rule", r.ID, old, r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteRule removes an escalation rule. Needs settings:manage.
func (s *Service) DeleteRule(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		old, err := tx.FindEscalationRule(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteEscalationRule(ctx, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "desk.rule.delete", "escalation_rule", id, old, nil)
	})
}
