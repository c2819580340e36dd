package club

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
)

// Programs, their tiers and their earn rules. Any change bumps the
// program's version, so the cached configuration is reloaded.

// ProgramInput is a program to create or the new state of one.
type ProgramInput struct {
	Name           string `json:"name"`
	Currency       string `json:"currency"`
	EarnPoints     int64  `json:"earn_points"`
	EarnAmount     int64  `json:"earn_amount"`
	Rounding       string `json:"rounding,omitempty"`     // down (default), nearest, up
	PendingDays    int    `json:"pending_days"`           // the return window
	ExpiryMonths   int    `json:"expiry_months"`          // 0: never
	ReminderDays   int    `json:"reminder_days"`          // 0: no reminder
	TierWindow     string `json:"tier_window,omitempty"`  // calendar_year (default), jalali_year, rolling_12m
	Downgrade      string `json:"downgrade,omitempty"`    // never (default), window_end, after_days
	DowngradeDays  int    `json:"downgrade_days"`         // for after_days
	GraceDays      int    `json:"grace_days"`             // kept this long after a failed review
	PointValue     int64  `json:"point_value"`            // money (minor units) that …
	ValuePoints    int64  `json:"value_points,omitempty"` // … this many points are worth (1 when absent)
	ReferrerPoints int64  `json:"referrer_points"`
	RefereePoints  int64  `json:"referee_points"`
	AutoEnrol      bool   `json:"auto_enrol"`
	HoldHours      int    `json:"hold_hours"`
	Signup         bool   `json:"signup"`           // people may join through the public form /join/{id}
	Active         *bool  `json:"active,omitempty"` // true when absent
}

var (
	roundings  = []string{RoundDown, RoundNearest, RoundUp}
	windows    = []string{WindowCalendarYear, WindowJalaliYear, WindowRolling}
	downgrades = []string{DowngradeNever, DowngradeWindowEnd, DowngradeAfterDays}
)

func (in *ProgramInput) validate() error {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.Rounding == "" {
		in.Rounding = RoundDown
	}
	if in.TierWindow == "" {
		in.TierWindow = WindowCalendarYear
	}
	if in.Downgrade == "" {
		in.Downgrade = DowngradeNever
	}
	if in.ValuePoints == 0 {
		in.ValuePoints = 1
	}
	if in.Name == "" {
		v.Add("name", "A program needs a name.")
	} else if utf8.RuneCountInString(in.Name) > 200 {
		v.Add("name", "Name is longer than 200 characters.")
	}
	if len(in.Currency) != 3 || strings.Trim(in.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		v.Add("currency", "Give an ISO 4217 currency code such as IRR, USD or AED.")
	}
	if in.EarnPoints < 1 || in.EarnPoints > 1_000_000 {
		v.Add("earn_points", "Points per amount must be between 1 and 1000000.")
	}
	if in.EarnAmount < 1 || in.EarnAmount > 1_000_000_000_000 {
		v.Add("earn_amount", "The amount (in minor units) must be between 1 and 10^12.")
	}
	if !slices.Contains(roundings, in.Rounding) {
		v.Add("rounding", "Choose down, nearest or up.")
	}
	if in.PendingDays < 0 || in.PendingDays > 365 {
		v.Add("pending_days", "The return window must be 0 to 365 days.")
	}
	if in.ExpiryMonths < 0 || in.ExpiryMonths > 120 {
		v.Add("expiry_months", "Expiry must be 0 (never) to 120 months.")
	}
	if in.ReminderDays < 0 || in.ReminderDays > 365 {
		v.Add("reminder_days", "The reminder must be 0 (none) to 365 days before expiry.")
	}
	if !slices.Contains(windows, in.TierWindow) {
		v.Add("tier_window", "Choose calendar_year, jalali_year or rolling_12m.")
	}
	if !slices.Contains(downgrades, in.Downgrade) {
		v.Add("downgrade", "Choose never, window_end or after_days.")
	}
	if in.Downgrade == DowngradeAfterDays && (in.DowngradeDays < 1 || in.DowngradeDays > 3650) {
		v.Add("downgrade_days", "With after_days, give 1 to 3650 days.")
	} else if in.DowngradeDays < 0 || in.DowngradeDays > 3650 {
		v.Add("downgrade_days", "Give 0 to 3650 days.")
	}
	if in.GraceDays < 0 || in.GraceDays > 3650 {
		v.Add("grace_days", "Grace must be 0 to 3650 days.")
	}
	if in.PointValue < 0 {
		v.Add("point_value", "The value must not be negative.")
	}
	if in.ValuePoints < 1 {
		v.Add("value_points", "Give how many points the value is for (1 or more).")
	}
	if in.ReferrerPoints < 0 || in.ReferrerPoints > maxPoints {
		v.Add("referrer_points", "Give 0 to %d points.", int64(maxPoints))
	}
	if in.RefereePoints < 0 || in.RefereePoints > maxPoints {
		v.Add("referee_points", "Give 0 to %d points.", int64(maxPoints))
	}
	if in.HoldHours < 0 || in.HoldHours > 24*365 {
		v.Add("hold_hours", "Give 0 (no limit) to 8760 hours.")
	}
	return v.Err()
}

func (in *ProgramInput) apply(p *Program) {
	p.Name, p.Currency, p.EarnPoints, p.EarnAmount, p.Rounding = in.Name, in.Currency, in.EarnPoints, in.EarnAmount, in.Rounding
	p.PendingDays, p.ExpiryMonths, p.ReminderDays = in.PendingDays, in.ExpiryMonths, in.ReminderDays
	p.TierWindow, p.Downgrade, p.DowngradeDays, p.GraceDays = in.TierWindow, in.Downgrade, in.DowngradeDays, in.GraceDays
	p.PointValue, p.ValuePoints, p.ReferrerPoints, p.RefereePoints = in.PointValue, in.ValuePoints, in.ReferrerPoints, in.RefereePoints
	p.AutoEnrol, p.HoldHours, p.Signup = in.AutoEnrol, in.HoldHours, in.Signup
	p.Active = in.Active == nil || *in.Active
}

// ProgramInputOf returns the input that would recreate p (for forms).
func ProgramInputOf(p *Program) ProgramInput {
	active := p.Active
	return ProgramInput{Name: p.Name, Currency: p.Currency, EarnPoints: p.EarnPoints, EarnAmount: p.EarnAmount, Rounding: p.Rounding,
		PendingDays: p.PendingDays, ExpiryMonths: p.ExpiryMonths, ReminderDays: p.ReminderDays, TierWindow: p.TierWindow,
		Downgrade: p.Downgrade, DowngradeDays: p.DowngradeDays, GraceDays: p.GraceDays, PointValue: p.PointValue, ValuePoints: p.ValuePoints,
		ReferrerPoints: p.ReferrerPoints, RefereePoints: p.RefereePoints, AutoEnrol: p.AutoEnrol, HoldHours: p.HoldHours, Signup: p.Signup, Active: &active}
}

// CheckProgram reports what CreateProgram and UpdateProgram would refuse
// in, storing nothing: for a form that found problems of its own and
// shows the rest with them.
func CheckProgram(in ProgramInput) error { return in.validate() }

// CreateProgram makes a program.
func (s *Service) CreateProgram(ctx context.Context, in ProgramInput) (*Program, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	p := &Program{}
	in.apply(p)
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := tx.InsertClubProgram(ctx, p); err != nil {
			return err
		}
		return tx.Audit(ctx, "club.program_create", "club_program", p.ID, nil, p)
	})
	return p, err
}

// UpdateProgram replaces a program's settings. New settings apply to what
// happens from now on; the ledger keeps what the old ones gave.
func (s *Service) UpdateProgram(ctx context.Context, id int64, in ProgramInput) (*Program, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	var out *Program
	err := s.write(ctx, func(tx *store.Tx) error {
		p, err := tx.ClubProgram(ctx, id)
		if err != nil {
			return err
		}
		before := *p
		in.apply(p)
		if err := tx.UpdateClubProgram(ctx, p); err != nil {
			return err
		}
		out = p
		return tx.Audit(ctx, "club.program_update", "club_program", p.ID, before, p)
	})
	return out, err
}

// ProgramDetail is a program with its tiers and rules.
type ProgramDetail struct {
	Program *Program `json:"program"`
	Tiers   []*Tier  `json:"tiers"`
	Rules   []*Rule  `json:"rules"`
}

// Program reads a program with its tiers and rules.
func (s *Service) Program(ctx context.Context, id int64) (*ProgramDetail, error) {
	var out *ProgramDetail
	err := s.read(ctx, func(tx *store.Tx) error {
		c, err := s.config(ctx, tx, id)
		if err != nil {
			return err
		}
		out = &ProgramDetail{Program: c.prog, Tiers: c.tiers, Rules: c.rules}
		if out.Tiers == nil {
			out.Tiers = []*Tier{}
		}
		if out.Rules == nil {
			out.Rules = []*Rule{}
		}
		return nil
	})
	return out, err
}

// Programs lists the programs.
func (s *Service) Programs(ctx context.Context) ([]*Program, error) {
	var out []*Program
	err := s.read(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.ClubPrograms(ctx)
		return err
	})
	return out, err
}

// TierInput is a tier to create or the new state of one.
type TierInput struct {
	Name       string `json:"name"`
	Threshold  int64  `json:"threshold"`  // qualifying spend, minor units
	Multiplier int64  `json:"multiplier"` // hundredths: 200 is 2×
	Fee        int64  `json:"fee,omitempty"`
	Benefits   string `json:"benefits,omitempty"`
}

func (in *TierInput) validate() error {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		v.Add("name", "A tier needs a name.")
	} else if utf8.RuneCountInString(in.Name) > 100 {
		v.Add("name", "Name is longer than 100 characters.")
	}
	if in.Threshold < 0 {
		v.Add("threshold", "The threshold must not be negative.")
	}
	if in.Multiplier < 100 || in.Multiplier > 100_000 {
		v.Add("multiplier", "The multiplier is in hundredths, 100 (1×) to 100000 (1000×).")
	}
	if in.Fee < 0 {
		v.Add("fee", "The fee must not be negative.")
	}
	if utf8.RuneCountInString(in.Benefits) > 2000 {
		v.Add("benefits", "Benefits are longer than 2000 characters.")
	}
	return v.Err()
}

// CheckTier reports what SaveTier's own checks of in would refuse,
// storing nothing and reading nothing: for a form that found problems of
// its own and shows the rest with them. (SaveTier also refuses a
// threshold another tier of the program starts at; that needs the
// program's tiers and is not checked here.)
func CheckTier(in TierInput) error { return in.validate() }

// SaveTier creates a tier (id 0) or replaces one. Two tiers of a program
// cannot share a threshold.
func (s *Service) SaveTier(ctx context.Context, programID, id int64, in TierInput) (*Tier, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	t := &Tier{ID: id, ProgramID: programID, Name: in.Name, Threshold: in.Threshold, Multiplier: in.Multiplier, Fee: in.Fee, Benefits: in.Benefits}
	err := s.write(ctx, func(tx *store.Tx) error {
		tiers, err := tx.ClubTiers(ctx, programID)
		if err != nil {
			return err
		}
		for _, o := range tiers {
			if o.ID != id && o.Threshold == in.Threshold {
				return fieldError("threshold", "Tier %q already starts at this spend.", o.Name)
			}
		}
		if err := tx.TouchClubProgram(ctx, programID); err != nil {
			return err
		}
		if id == 0 {
			err = tx.InsertClubTier(ctx, t)
		} else {
			err = tx.UpdateClubTier(ctx, t)
		}
		if err != nil {
			return err
		}
		return tx.Audit(ctx, "club.tier_save", "club_tier", t.ID, nil, t)
	})
	return t, err
}

// DeleteTier removes a tier. Its members keep no tier until their next
// purchase places them again.
func (s *Service) DeleteTier(ctx context.Context, programID, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.write(ctx, func(tx *store.Tx) error {
		if err := tx.TouchClubProgram(ctx, programID); err != nil {
			return err
		}
		if err := tx.DeleteClubTier(ctx, programID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "club.tier_delete", "club_tier", id, nil, nil)
	})
}

// RuleInput is an earn rule to create or the new state of one.
type RuleInput struct {
	Name     string     `json:"name"`
	Kind     string     `json:"kind"`
	Priority int        `json:"priority"`
	Stacking string     `json:"stacking,omitempty"` // stack (default) or stop
	Value    int64      `json:"value"`
	SKU      string     `json:"sku,omitempty"`
	Category string     `json:"category,omitempty"`
	TierID   int64      `json:"tier_id,omitempty"`
	MinSpend int64      `json:"min_spend,omitempty"`
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
	Active   *bool      `json:"active,omitempty"` // true when absent
}

func (in *RuleInput) validate(c *config) error {
	var v crm.Validation
	in.Name = strings.TrimSpace(in.Name)
	in.SKU, in.Category = strings.TrimSpace(in.SKU), strings.TrimSpace(in.Category)
	if in.Stacking == "" {
		in.Stacking = StackingStack
	}
	if in.Name == "" {
		v.Add("name", "A rule needs a name.")
	} else if utf8.RuneCountInString(in.Name) > 200 {
		v.Add("name", "Name is longer than 200 characters.")
	}
	if !slices.Contains(RuleKinds, in.Kind) {
		v.Add("kind", "Choose multiplier, bonus, first_purchase or birthday.")
	}
	if in.Stacking != StackingStack && in.Stacking != StackingStop {
		v.Add("stacking", "Choose stack or stop.")
	}
	if in.Priority < -1000 || in.Priority > 1000 {
		v.Add("priority", "Priority is -1000 to 1000, higher first.")
	}
	switch in.Kind {
	case RuleMultiplier:
		if in.Value <= 100 || in.Value > 100_000 {
			v.Add("value", "A multiplier is in hundredths above 100: 200 doubles the base points.")
		}
	case RuleBonus, RuleFirstPurchase, RuleBirthday:
		if in.Value < 1 || in.Value > maxPoints {
			v.Add("value", "Give the bonus points, 1 to %d.", int64(maxPoints))
		}
	}
	if (in.Kind == RuleFirstPurchase || in.Kind == RuleBirthday) && (in.SKU != "" || in.Category != "") {
		v.Add("sku", "First-purchase and birthday bonuses are per order, not per product.")
	}
	if in.TierID != 0 && c.tier(in.TierID) == nil {
		v.Add("tier_id", "There is no tier %d in this program.", in.TierID)
	}
	if in.MinSpend < 0 {
		v.Add("min_spend", "The minimum spend must not be negative.")
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.EndsAt.After(*in.StartsAt) {
		v.Add("ends_at", "The end must be after the start.")
	}
	return v.Err()
}

// CheckRule reports what SaveRule would refuse in for program programID,
// storing nothing: the program's tiers are read in a read-only
// transaction. For a form that found problems of its own and shows the
// rest with them.
func (s *Service) CheckRule(ctx context.Context, programID int64, in RuleInput) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.read(ctx, func(tx *store.Tx) error {
		c, err := s.config(ctx, tx, programID)
		if err != nil {
			return err
		}
		return in.validate(c)
	})
}

// SaveRule creates a rule (id 0) or replaces one.
func (s *Service) SaveRule(ctx context.Context, programID, id int64, in RuleInput) (*Rule, error) {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return nil, err
	}
	var out *Rule
	err := s.write(ctx, func(tx *store.Tx) error {
		c, err := s.config(ctx, tx, programID)
		if err != nil {
			return err
		}
		if err := in.validate(c); err != nil {
			return err
		}
		r := &Rule{ID: id, ProgramID: programID, Name: in.Name, Kind: in.Kind, Priority: in.Priority, Stacking: in.Stacking, Value: in.Value,
			SKU: in.SKU, Category: in.Category, TierID: in.TierID, MinSpend: in.MinSpend, StartsAt: in.StartsAt, EndsAt: in.EndsAt,
			Active: in.Active == nil || *in.Active}
		if err := tx.TouchClubProgram(ctx, programID); err != nil {
			return err
		}
		if id == 0 {
			err = tx.InsertClubRule(ctx, r)
		} else {
			err = tx.UpdateClubRule(ctx, r)
		}
		if err != nil {
			return err
		}
		out = r
		return tx.Audit(ctx, "club.rule_save", "club_rule", r.ID, nil, r)
	})
	return out, err
}

// DeleteRule removes a rule.
func (s *Service) DeleteRule(ctx context.Context, programID, id int64) error {
	if err := crm.Authorize(ctx, crm.PermSettingsManage, true); err != nil {
		return err
	}
	return s.write(ctx, func(tx *store.Tx) error {
		if err := tx.TouchClubProgram(ctx, programID); err != nil {
			return err
		}
		if err := tx.DeleteClubRule(ctx, programID, id); err != nil {
			return err
		}
		return tx.Audit(ctx, "club.rule_delete", "club_rule", id, nil, nil)
	})
}
