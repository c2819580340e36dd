package leadform

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/store"
)

// Lead scoring: rules give points for attributes (a condition of the
// segment language holds for the person) and for behaviour (each event
// of a type about the person, optionally only recent ones, with an
// optional cap). A person's score is the sum, kept in contact_scores:
// recomputed for everyone by a job when the rules change (and daily while
// a rule counts recent events only), and for one person when an event
// about them arrives.

// BehaviourEvents are the event types the rule editor offers; the API
// takes any event type.
var BehaviourEvents = []string{"campaign.opened", "campaign.clicked", "campaign.unsubscribed", crm.EventFormSubmitted, "order.created",
	"deal.won", "ticket.created"}

// Limits of a rule.
const (
	MaxPoints = 10000
	MaxRules  = 200
)

// JobRecompute recomputes every person's score.
const JobRecompute = "leadscore.recompute"

// ScoreRuleInput is what a user sets on a rule.
type ScoreRuleInput struct {
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`
	Condition  *crm.Rule `json:"condition,omitempty"`
	EventType  string    `json:"event_type,omitempty"`
	WithinDays int       `json:"within_days,omitempty"`
	Points     int       `json:"points"`
	MaxPoints  int       `json:"max_points,omitempty"`
}

func (s *Service) checkRule(ctx context.Context, tx *store.Tx, in *ScoreRuleInput) error {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		v.Add("name", "Give the rule a name.")
	case len([]rune(in.Name)) > MaxName:
		v.Add("name", "At most %d characters.", MaxName)
	}
	if in.Points == 0 || in.Points < -MaxPoints || in.Points > MaxPoints {
		v.Add("points", "Give points between %d and %d, not 0.", -MaxPoints, MaxPoints)
	}
	switch in.Kind {
	case crm.ScoreAttribute:
		in.EventType, in.WithinDays, in.MaxPoints = "", 0, 0
		switch {
		case in.Condition == nil:
			v.Add("condition", "Give the condition the person must meet.")
		case s.opts.Validate == nil:
			v.Add("condition", "Conditions cannot be checked in this installation.")
		case usesScore(*in.Condition):
			v.Add("condition", "A rule cannot depend on the lead score itself.")
		default:
			root := *in.Condition
			if root.Match == "" && root.Field != "" { // a single condition: wrap it in a group
				root = crm.Rule{Match: "all", Conditions: []crm.Rule{root}}
			}
			checked, err := s.opts.Validate(ctx, tx, root)
			if err != nil {
				for k, msg := range crm.ErrorFields(err) {
					if k = strings.TrimPrefix(strings.TrimPrefix(k, "rules"), "."); k != "" {
						k = "." + k
					}
					v.Add("condition"+k, "%s", msg)
				}
				if len(crm.ErrorFields(err)) == 0 {
					return err
				}
			} else if len(checked.Conditions) == 0 {
				v.Add("condition", "Give at least one condition (an empty one matches everyone).")
			} else {
				in.Condition = &checked
			}
		}
	case crm.ScoreBehaviour:
		in.Condition = nil
		in.EventType = strings.TrimSpace(in.EventType)
		if in.EventType == "" || len(in.EventType) > 100 || strings.ContainsAny(in.EventType, " *") {
			v.Add("event_type", "Name an event type, e.g. %s.", strings.Join(BehaviourEvents[:3], ", "))
		}
		if in.WithinDays < 0 || in.WithinDays > 3650 {
			v.Add("within_days", "Between 0 (all time) and 3650 days.")
		}
		if in.MaxPoints < 0 || in.MaxPoints > 10*MaxPoints {
			v.Add("max_points", "Between 0 (no cap) and %d.", 10*MaxPoints)
		}
	default:
		v.Add("kind", "Use attribute or behaviour.")
	}
	return v.Err()
}

func usesScore(r crm.Rule) bool {
	if strings.HasPrefix(r.Field, "lead.") {
		return true
	}
	return slices.ContainsFunc(r.Conditions, usesScore)
}

func applyRule(r *crm.ScoreRule, in ScoreRuleInput) {
	r.Name, r.Kind, r.Condition, r.EventType = in.Name, in.Kind, in.Condition, in.EventType
	r.WithinDays, r.Points, r.MaxPoints = in.WithinDays, in.Points, in.MaxPoints
}

// enqueueRecompute queues one recompute of every score.
func enqueueRecompute(ctx context.Context, tx *store.Tx) error {
	_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobRecompute, UniqueKey: JobRecompute, MaxAttempts: 5})
	return err
}

// CreateRule stores a rule and queues the recompute. Needs marketing:write.
func (s *Service) CreateRule(ctx context.Context, in ScoreRuleInput) (*crm.ScoreRule, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	r := &crm.ScoreRule{}
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		if err := s.checkRule(ctx, tx, &in); err != nil {
			return err
		}
		rules, err := tx.ScoreRules(ctx)
		if err != nil {
			return err
		}
		if len(rules) >= MaxRules {
			return crm.Errorf(crm.ECONFLICT, "At most %d scoring rules.", MaxRules)
		}
		applyRule(r, in)
		if err := tx.InsertScoreRule(ctx, r); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "leadscore.rule_create", "score_rule", r.ID, nil, r); err != nil {
			return err
		}
		return enqueueRecompute(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateRule changes a rule and queues the recompute. Needs marketing:write.
func (s *Service) UpdateRule(ctx context.Context, id int64, in ScoreRuleInput) (*crm.ScoreRule, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return nil, err
	}
	var r *crm.ScoreRule
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindScoreRule(ctx, id)
		if err != nil {
			return err
		}
		if err := s.checkRule(ctx, tx, &in); err != nil {
			return err
		}
		after := *before
		applyRule(&after, in)
		if err := tx.UpdateScoreRule(ctx, &after); err != nil {
			return err
		}
		r = &after
		if err := tx.Audit(ctx, "leadscore.rule_update", "score_rule", id, before, r); err != nil {
			return err
		}
		return enqueueRecompute(ctx, tx)
	})
	return r, err
}

// DeleteRule removes a rule and queues the recompute. Needs marketing:write.
func (s *Service) DeleteRule(ctx context.Context, id int64) error {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error {
		before, err := tx.FindScoreRule(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteScoreRule(ctx, id); err != nil {
			return err
		}
		if err := tx.Audit(ctx, "leadscore.rule_delete", "score_rule", id, before, nil); err != nil {
			return err
		}
		return enqueueRecompute(ctx, tx)
	})
}

// Rule returns a rule. Needs marketing:read.
func (s *Service) Rule(ctx context.Context, id int64) (*crm.ScoreRule, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var r *crm.ScoreRule
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		r, err = tx.FindScoreRule(ctx, id)
		return err
	})
	return r, err
}

// Rules returns every rule. Needs marketing:read.
func (s *Service) Rules(ctx context.Context) ([]*crm.ScoreRule, error) {
	if err := crm.Authorize(ctx, crm.PermMarketingRead, false); err != nil {
		return nil, err
	}
	var out []*crm.ScoreRule
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ScoreRules(ctx)
		return err
	})
	return out, err
}

// RequestRecompute queues a recompute of every score (one at a time: a
// second request while one waits adds nothing). Needs marketing:write.
func (s *Service) RequestRecompute(ctx context.Context) error {
	if err := crm.Authorize(ctx, crm.PermMarketingWrite, true); err != nil {
		return err
	}
	return s.db.Write(ctx, func(tx *store.Tx) error { return enqueueRecompute(ctx, tx) })
}

// Score returns a person's stored score. Needs contacts:read.
func (s *Service) Score(ctx context.Context, contactID int64) (int64, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		n, err = tx.ContactScore(ctx, contactID)
		return err
	})
	return n, err
}

// Scores returns the stored scores of people (missing: 0). Needs contacts:read.
func (s *Service) Scores(ctx context.Context, ids []int64) (map[int64]int64, error) {
	if err := crm.Authorize(ctx, crm.PermContactsRead, false); err != nil {
		return nil, err
	}
	var out map[int64]int64
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ContactScores(ctx, ids)
		return err
	})
	return out, err
}

// since is the start of a behaviour rule's window (zero: all time).
func since(r *crm.ScoreRule, now time.Time) time.Time {
	if r.WithinDays <= 0 {
		return time.Time{}
	}
	return now.AddDate(0, 0, -r.WithinDays)
}

func points(r *crm.ScoreRule, n int64) int64 {
	p := int64(r.Points) * n
	if r.MaxPoints > 0 {
		p = max(min(p, int64(r.MaxPoints)), -int64(r.MaxPoints))
	}
	return p
}

// Recompute computes every person's score from the rules and replaces
// the stored scores, in one transaction (the scores are those of one
// moment). It returns how many people score other than 0.
func (s *Service) Recompute(ctx context.Context) (int, error) {
	n := 0
	err := s.db.Write(ctx, func(tx *store.Tx) error {
		rules, err := tx.ScoreRules(ctx)
		if err != nil {
			return err
		}
		now := tx.Now()
		scores := map[int64]int64{}
		for _, r := range rules {
			switch r.Kind {
			case crm.ScoreAttribute:
				q, err := s.compile(ctx, tx, r, now)
				if err != nil {
					s.log.Warn("leadscore: rule skipped", "rule", r.ID, "err", err)
					continue
				}
				if err := tx.AllContactIDsMatching(ctx, q, func(id int64) { scores[id] += int64(r.Points) }); err != nil {
					return err
				}
			case crm.ScoreBehaviour:
				if err := tx.EventCounts(ctx, r.EventType, since(r, now), func(id, c int64) { scores[id] += points(r, c) }); err != nil {
					return err
				}
			}
		}
		for _, v := range scores {
			if v != 0 {
				n++
			}
		}
		if err := tx.ReplaceContactScores(ctx, scores); err != nil {
			return err
		}
		if slices.ContainsFunc(rules, func(r *crm.ScoreRule) bool { return r.WithinDays > 0 }) {
			// Recent events grow old without an event: look again tomorrow.
			_, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobRecompute, UniqueKey: JobRecompute + ".daily", RunAt: now.Add(24 * time.Hour), MaxAttempts: 5})
			return err
		}
		return nil
	})
	return n, err
}

func (s *Service) recomputeJob(ctx context.Context, _ *jobs.Claimed) error {
	n, err := s.Recompute(ctx)
	if err == nil {
		s.log.Info("leadscore: scores recomputed", "scored", n)
	}
	return err
}

func (s *Service) compile(ctx context.Context, tx *store.Tx, r *crm.ScoreRule, now time.Time) (store.CompiledRules, error) {
	if r.Condition == nil || s.opts.Validate == nil {
		return store.CompiledRules{}, crm.Errorf(crm.EINVALID, "no condition")
	}
	checked, err := s.opts.Validate(ctx, tx, *r.Condition) // fields may have changed since the rule was saved
	if err != nil {
		return store.CompiledRules{}, err
	}
	return tx.CompileRules(ctx, &checked, now)
}

// scoreOne recomputes one person's score inside tx.
func (s *Service) scoreOne(ctx context.Context, tx *store.Tx, rules []*crm.ScoreRule, contactID int64) error {
	now := tx.Now()
	var total int64
	for _, r := range rules {
		switch r.Kind {
		case crm.ScoreAttribute:
			q, err := s.compile(ctx, tx, r, now)
			if err != nil {
				continue
			}
			ok, err := tx.MatchesContact(ctx, q, contactID)
			if err != nil {
				return err
			}
			if ok {
				total += int64(r.Points)
			}
		case crm.ScoreBehaviour:
			c, err := tx.ContactEventCount(ctx, contactID, r.EventType, since(r, now))
			if err != nil {
				return err
			}
			total += points(r, c)
		}
	}
	return tx.SetContactScore(ctx, contactID, total)
}

// SubscriberName is the event subscriber's cursor key.
const SubscriberName = "leadform"

// Subscribe keeps scores current: an event about a person recomputes
// their score; merged people's submissions move to the survivor.
func (s *Service) Subscribe(d *event.Dispatcher) {
	d.Subscribe(SubscriberName, nil, s.HandleEvent, event.SubscribeFromNow())
}

// HandleEvent is the handler Subscribe installs.
func (s *Service) HandleEvent(ctx context.Context, tx *store.Tx, ev crm.Event) error {
	var ids []int64
	switch ev.Type {
	case crm.EventContactsMerged:
		var p struct {
			MergedIDs []int64 `json:"merged_ids"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err == nil {
			if err := tx.MoveSubmissions(ctx, p.MergedIDs, ev.SubjectID); err != nil {
				return err
			}
		}
		ids = append(ids, ev.SubjectID)
	case crm.EventContactErased, crm.EventContactDeleted:
		return nil // the score row went with the person
	default:
		if ev.ContactID != 0 {
			ids = append(ids, ev.ContactID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rules, err := tx.ScoreRules(ctx)
	if err != nil || len(rules) == 0 {
		return err
	}
	for _, id := range ids {
		if err := s.scoreOne(ctx, tx, rules, id); err != nil {
			return err
		}
	}
	return nil
}
