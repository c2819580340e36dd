package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/text"
)

// The club's settings: programs, and per program its tiers and earn rules.

type clubSettingsPage struct {
	base
	clubFmt
	Programs []*club.Program
	Form     form
	Choices  clubChoices
}

// clubChoices are the values of the settings' select boxes.
type clubChoices struct {
	Roundings  []string
	Windows    []string
	Downgrades []string
	RuleKinds  []string
}

var clubSettingChoices = clubChoices{
	Roundings:  []string{club.RoundDown, club.RoundNearest, club.RoundUp},
	Windows:    []string{club.WindowCalendarYear, club.WindowJalaliYear, club.WindowRolling},
	Downgrades: []string{club.DowngradeNever, club.DowngradeWindowEnd, club.DowngradeAfterDays},
	RuleKinds:  club.RuleKinds,
}

// programFields are the fields of the program form.
var programFields = []string{"name", "currency", "earn_points", "earn_amount", "rounding", "pending_days", "expiry_months", "reminder_days",
	"tier_window", "downgrade", "downgrade_days", "grace_days", "point_value", "value_points", "referrer_points", "referee_points",
	"auto_enrol", "hold_hours", "signup", "active"}

func (s *server) handleClubSettings(w http.ResponseWriter, r *http.Request) {
	s.renderClubSettings(w, r, http.StatusOK, form{Values: map[string]string{"currency": "IRR", "earn_points": "1", "earn_amount": "10000",
		"rounding": club.RoundDown, "pending_days": "14", "expiry_months": "12", "reminder_days": "30", "tier_window": club.WindowCalendarYear,
		"downgrade": club.DowngradeNever, "value_points": "1", "active": "on"}})
}

func (s *server) renderClubSettings(w http.ResponseWriter, r *http.Request, status int, f form) {
	d := &clubSettingsPage{base: s.page(r, "club.settings.title"), Form: f, Choices: clubSettingChoices}
	d.clubFmt = clubFmt{p: state(r).p}
	var err error
	if d.Programs, err = s.club.Programs(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "club_settings", d)
}

// programForm reads a program from a posted form. Money amounts are in
// the program's currency, typed as people write them (1,250.50).
func programForm(p *locale.Printer, f *form) club.ProgramInput {
	in := club.ProgramInput{Name: f.V("name"), Currency: f.V("currency"), Rounding: f.V("rounding"), TierWindow: f.V("tier_window"),
		Downgrade: f.V("downgrade"), AutoEnrol: f.V("auto_enrol") != "", Signup: f.V("signup") != ""}
	active := f.V("active") != ""
	in.Active = &active
	num := func(name string) int64 {
		if f.V(name) == "" {
			return 0
		}
		n, err := p.ParseInt(f.V(name))
		if err != nil {
			f.invalid(p, name, "club.error.field")
		}
		return n
	}
	money := func(name string) int64 {
		if f.V(name) == "" {
			return 0
		}
		n, err := parseMoney(f.V(name), in.Currency)
		if err != nil {
			f.invalid(p, name, "club.error.field")
		}
		return n
	}
	in.EarnPoints = num("earn_points")
	in.EarnAmount = money("earn_amount")
	in.PendingDays = int(num("pending_days"))
	in.ExpiryMonths = int(num("expiry_months"))
	in.ReminderDays = int(num("reminder_days"))
	in.DowngradeDays = int(num("downgrade_days"))
	in.GraceDays = int(num("grace_days"))
	in.PointValue = money("point_value")
	in.ValuePoints = num("value_points")
	in.ReferrerPoints = num("referrer_points")
	in.RefereePoints = num("referee_points")
	in.HoldHours = int(num("hold_hours"))
	return in
}

// programFail puts the service's verdict on a program form.
func programFail(p *locale.Printer) func(*form, error) {
	return func(f *form, err error) { f.fail(p, err, clubFieldKeys(programFields...)) }
}

// programValues fills the program form from a stored program.
func programValues(p *locale.Printer, pr *club.Program) form {
	v := map[string]string{"name": pr.Name, "currency": pr.Currency, "earn_points": strconv.FormatInt(pr.EarnPoints, 10),
		"earn_amount": moneyAmount(p, pr.EarnAmount, pr.Currency), "rounding": pr.Rounding, "pending_days": strconv.Itoa(pr.PendingDays),
		"expiry_months": strconv.Itoa(pr.ExpiryMonths), "reminder_days": strconv.Itoa(pr.ReminderDays), "tier_window": pr.TierWindow,
		"downgrade": pr.Downgrade, "downgrade_days": strconv.Itoa(pr.DowngradeDays), "grace_days": strconv.Itoa(pr.GraceDays),
		"point_value": moneyAmount(p, pr.PointValue, pr.Currency), "value_points": strconv.FormatInt(pr.ValuePoints, 10),
		"referrer_points": strconv.FormatInt(pr.ReferrerPoints, 10), "referee_points": strconv.FormatInt(pr.RefereePoints, 10),
		"hold_hours": strconv.Itoa(pr.HoldHours)}
	if pr.AutoEnrol {
		v["auto_enrol"] = "on"
	}
	if pr.Signup {
		v["signup"] = "on"
	}
	if pr.Active {
		v["active"] = "on"
	}
	return form{Values: v}
}

func (s *server) handleClubProgramCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, programFields...)
	in := programForm(p, &f)
	if !f.ok() {
		f.mergeFail(club.CheckProgram(in), programFail(p))
	} else if pr, err := s.club.CreateProgram(r.Context(), in); err == nil {
		redirect(w, r, "/settings/club/"+strconv.FormatInt(pr.ID, 10), "")
		return
	} else {
		programFail(p)(&f, err)
	}
	s.renderClubSettings(w, r, http.StatusUnprocessableEntity, f)
}

type clubProgramPage struct {
	base
	clubFmt
	D       *club.ProgramDetail
	Form    form // the program's settings
	Tier    form // a new tier
	Rule    form // a new rule
	Choices clubChoices
	Tiers   map[int64]string
	JoinURL string // the public join form, when signup is on
}

func (s *server) handleClubProgram(w http.ResponseWriter, r *http.Request) {
	s.renderClubProgram(w, r, http.StatusOK, form{}, form{Values: map[string]string{"multiplier": "1"}},
		form{Values: map[string]string{"kind": club.RuleMultiplier, "stacking": club.StackingStack, "priority": "0"}})
}

func (s *server) renderClubProgram(w http.ResponseWriter, r *http.Request, status int, pf, tf, rf form) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	p := state(r).p
	d := &clubProgramPage{base: s.page(r, "club.program.title"), Tier: tf, Rule: rf, Choices: clubSettingChoices, Tiers: map[int64]string{}}
	d.Path = "/settings/club/" + strconv.FormatInt(id, 10)
	var err error
	if d.D, err = s.club.Program(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Title = p.T("club.program.title_of", "name", d.D.Program.Name)
	d.clubFmt = clubFmt{p: p, cur: d.D.Program.Currency}
	d.Form = pf
	if d.Form.Values == nil {
		d.Form = programValues(p, d.D.Program)
	}
	for _, t := range d.D.Tiers {
		d.Tiers[t.ID] = t.Name
	}
	d.JoinURL = absURL(r, "/join/"+strconv.FormatInt(id, 10))
	s.render(w, r, status, "club_program", d)
}

func (s *server) handleClubProgramUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	p := state(r).p
	f := newForm(r, programFields...)
	in := programForm(p, &f)
	if !f.ok() {
		f.mergeFail(club.CheckProgram(in), programFail(p))
	} else if _, err := s.club.UpdateProgram(r.Context(), id, in); err == nil {
		redirect(w, r, "/settings/club/"+strconv.FormatInt(id, 10), "club_saved")
		return
	} else {
		programFail(p)(&f, err)
	}
	s.renderClubProgram(w, r, http.StatusUnprocessableEntity, f, form{}, form{})
}

var tierFields = []string{"name", "threshold", "multiplier", "fee", "benefits"}

// tierFail puts the service's verdict on a tier form.
func tierFail(p *locale.Printer) func(*form, error) {
	return func(f *form, err error) { f.fail(p, err, clubFieldKeys(tierFields...)) }
}

func (s *server) handleClubTierSave(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p := state(r).p
	f := newForm(r, append(tierFields, "tier_id")...)
	cur := s.programCurrency(ctx, id)
	in := club.TierInput{Name: f.V("name"), Benefits: f.V("benefits")}
	if v, err := parseMoney(f.V("threshold"), cur); err == nil {
		in.Threshold = v
	} else {
		f.invalid(p, "threshold", "club.error.field")
	}
	if f.V("fee") != "" {
		if v, err := parseMoney(f.V("fee"), cur); err == nil {
			in.Fee = v
		} else {
			f.invalid(p, "fee", "club.error.field")
		}
	}
	if n, err := parseFactor(f.V("multiplier")); err == nil {
		in.Multiplier = n
	} else {
		f.invalid(p, "multiplier", "club.error.field")
	}
	var tierID int64
	if v := f.V("tier_id"); v != "" {
		tierID, _ = strconv.ParseInt(v, 10, 64)
	}
	if !f.ok() {
		f.mergeFail(club.CheckTier(in), tierFail(p))
	} else if _, err := s.club.SaveTier(ctx, id, tierID, in); err == nil {
		redirect(w, r, "/settings/club/"+strconv.FormatInt(id, 10)+"#tiers", "")
		return
	} else {
		tierFail(p)(&f, err)
	}
	s.renderClubProgram(w, r, http.StatusUnprocessableEntity, form{}, f, form{})
}

func (s *server) handleClubTierDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	tier, err := strconv.ParseInt(r.PathValue("tier"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	if err := s.club.DeleteTier(r.Context(), id, tier); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/club/"+strconv.FormatInt(id, 10)+"#tiers", "")
}

var ruleFields = []string{"name", "kind", "priority", "stacking", "value", "sku", "category", "tier_id", "min_spend", "starts", "ends"}

// ruleFail puts the service's verdict on a rule form. The service names
// the dates starts_at and ends_at; the form's fields are starts and ends.
func ruleFail(p *locale.Printer) func(*form, error) {
	return func(f *form, err error) {
		f.fail(p, err, clubFieldKeys(append(ruleFields, "starts_at", "ends_at")...))
		for from, to := range map[string]string{"starts_at": "starts", "ends_at": "ends"} {
			if msg, ok := f.Errors[from]; ok {
				delete(f.Errors, from)
				if _, taken := f.Errors[to]; !taken {
					f.Errors[to] = msg
				}
			}
		}
	}
}

func (s *server) handleClubRuleSave(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	p := state(r).p
	f := newForm(r, ruleFields...)
	in := club.RuleInput{Name: f.V("name"), Kind: f.V("kind"), Stacking: f.V("stacking"), SKU: f.V("sku"), Category: f.V("category")}
	if n, err := p.ParseInt(f.V("priority")); err == nil {
		in.Priority = int(n)
	} else if f.V("priority") != "" {
		f.invalid(p, "priority", "club.error.field")
	}
	if in.Kind == club.RuleMultiplier {
		// Typed as people say it, "2" or "1.5" times; stored in hundredths.
		if n, err := parseFactor(f.V("value")); err == nil {
			in.Value = n
		} else {
			f.invalid(p, "value", "club.error.field")
		}
	} else if n, err := p.ParseInt(f.V("value")); err == nil {
		in.Value = n
	} else {
		f.invalid(p, "value", "club.error.field")
	}
	if v := f.V("tier_id"); v != "" {
		in.TierID, _ = strconv.ParseInt(v, 10, 64)
	}
	if v := f.V("min_spend"); v != "" {
		if m, err := parseMoney(v, s.programCurrency(ctx, id)); err == nil {
			in.MinSpend = m
		} else {
			f.invalid(p, "min_spend", "club.error.field")
		}
	}
	if v := f.V("starts"); v != "" {
		if t, err := p.ParseDate(v); err == nil {
			in.StartsAt = &t
		} else {
			f.invalid(p, "starts", "club.error.date")
		}
	}
	if v := f.V("ends"); v != "" {
		if t, err := p.ParseDate(v); err == nil {
			end := t.AddDate(0, 0, 1) // through the whole last day
			in.EndsAt = &end
		} else {
			f.invalid(p, "ends", "club.error.date")
		}
	}
	if !f.ok() {
		f.mergeFail(s.club.CheckRule(ctx, id, in), ruleFail(p))
	} else if _, err := s.club.SaveRule(ctx, id, 0, in); err == nil {
		redirect(w, r, "/settings/club/"+strconv.FormatInt(id, 10)+"#rules", "")
		return
	} else {
		ruleFail(p)(&f, err)
	}
	s.renderClubProgram(w, r, http.StatusUnprocessableEntity, form{}, form{}, f)
}

func (s *server) handleClubRuleDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathInt(w, r)
	if !ok {
		return
	}
	rule, err := strconv.ParseInt(r.PathValue("rule"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	if err := s.club.DeleteRule(r.Context(), id, rule); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/club/"+strconv.FormatInt(id, 10)+"#rules", "")
}

// parseFactor reads a multiplier as people write it, "2", "2.5", "۲٫۵",
// "1.25×", into hundredths (250). At most two decimals.
func parseFactor(v string) (int64, error) {
	v = strings.TrimSpace(text.ToASCIIDigits(v))
	v = strings.TrimRight(v, "×xX ")
	v = strings.NewReplacer("٫", ".", "/", ".", ",", ".").Replace(v)
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || len(frac) > 2 || !allDigits(whole) || !allDigits(frac) || len(whole) > 6 {
		return 0, errors.New("not a multiplier")
	}
	n, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", 2-len(frac)), 10, 64)
	}
	return n*100 + f, nil
}
