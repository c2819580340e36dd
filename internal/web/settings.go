package web

import (
	"net/http"
	"slices"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

// commonTimeZones are offered in the preferences menu; any other IANA
// zone can be typed in.
var commonTimeZones = []string{
	"UTC",
	"Asia/Tehran", "Asia/Kabul", "Asia/Dushanbe",
	"Asia/Dubai", "Asia/Muscat", "Asia/Riyadh", "Asia/Qatar", "Asia/Kuwait", "Asia/Bahrain",
	"Asia/Baghdad", "Asia/Amman", "Asia/Beirut", "Asia/Damascus", "Asia/Jerusalem",
	"Africa/Cairo", "Africa/Casablanca", "Africa/Algiers", "Africa/Tunis",
	"Europe/Istanbul", "Asia/Baku", "Asia/Yerevan", "Asia/Tbilisi",
	"Asia/Karachi", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "Asia/Singapore",
	"Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Stockholm", "Europe/Moscow",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto", "America/Sao_Paulo",
	"Australia/Sydney",
}

func (s *server) handleSettingsIndex(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/settings/preferences", http.StatusSeeOther)
}

type choice struct {
	Value   string
	Label   string // already translated or native
	Example string // e.g. today's date in that calendar
	Lang    string // lang attribute of the label, when it differs from the page
}

type preferencesPage struct {
	base
	Form        form
	LangChoices []choice
	Calendars   []choice
	Digits      []choice
	Zones       []choice
	OtherZone   bool // the stored zone is not in the menu
}

var preferencesFieldKeys = map[string]string{
	"language":  "error.choose_option",
	"calendar":  "error.choose_option",
	"digits":    "error.choose_option",
	"time_zone": "error.time_zone_invalid",
}

func (s *server) handlePreferencesPage(w http.ResponseWriter, r *http.Request) {
	pr := state(r).user.Preferences
	f := form{Values: map[string]string{"language": pr.Language, "calendar": pr.Calendar, "digits": pr.Digits, "time_zone": pr.TimeZone}}
	s.render(w, r, http.StatusOK, "preferences", s.preferencesPage(r, f))
}

func (s *server) handlePreferences(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	f := newForm(r, "language", "calendar", "digits", "time_zone", "time_zone_other")
	zone := f.V("time_zone")
	if other := f.V("time_zone_other"); other != "" {
		zone = other
	}
	f.Values["time_zone"] = zone
	prefs := crm.Preferences{Language: f.V("language"), Calendar: f.V("calendar"), Digits: f.V("digits"), TimeZone: zone}
	if _, err := s.auth.UpdatePreferences(r.Context(), st.user.ID, prefs); err != nil {
		f.fail(st.p, err, preferencesFieldKeys)
		s.render(w, r, problem.Status(err), "preferences", s.preferencesPage(r, f))
		return
	}
	s.setCookie(w, langCookie, prefs.Language, 365*24*time.Hour)
	redirect(w, r, "/settings/preferences", "preferences_saved")
}

func (s *server) preferencesPage(r *http.Request, f form) *preferencesPage {
	p := state(r).p
	now := time.Now()
	d := &preferencesPage{base: s.page(r, "preferences.title"), Form: f}
	for _, l := range locale.Languages {
		d.LangChoices = append(d.LangChoices, choice{Value: l.Code, Label: l.Name, Lang: l.Code})
	}
	for _, c := range crm.Calendars {
		ex := locale.For(crm.Preferences{Language: p.Lang(), Calendar: c, Digits: p.DigitStyle(), TimeZone: p.Preferences().TimeZone})
		d.Calendars = append(d.Calendars, choice{Value: c, Label: p.T("preferences.calendar." + c), Example: ex.DateLong(now)})
	}
	for _, dg := range crm.DigitStyles {
		ex := locale.For(crm.Preferences{Language: p.Lang(), Digits: dg})
		d.Digits = append(d.Digits, choice{Value: dg, Label: p.T("preferences.digits." + dg), Example: ex.Digits("0123456789")})
	}
	for _, z := range commonTimeZones {
		d.Zones = append(d.Zones, choice{Value: z, Label: zoneLabel(p, z, now)})
	}
	d.OtherZone = !slices.Contains(commonTimeZones, f.V("time_zone"))
	return d
}

// zoneLabel shows a zone with its current offset from UTC: "Asia/Tehran
// (UTC+03:30)".
func zoneLabel(p *locale.Printer, zone string, now time.Time) string {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return zone
	}
	return zone + " (UTC" + p.Digits(now.In(loc).Format("-07:00")) + ")"
}

type passwordPage struct {
	base
	Form form
}

var passwordFieldKeys = map[string]string{
	"current_password": "error.password_wrong",
	"new_password":     "error.password_policy",
}

func (s *server) handlePasswordPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "password", &passwordPage{base: s.page(r, "password.title"), Form: form{}})
}

func (s *server) handlePassword(w http.ResponseWriter, r *http.Request) {
	st := state(r)
	f := form{}
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	if next != r.PostFormValue("new_password_confirm") {
		f.invalid(st.p, "new_password_confirm", "error.password_mismatch")
	}
	status := http.StatusUnprocessableEntity
	if f.ok() {
		err := s.auth.ChangePassword(r.Context(), st.user.ID, current, next)
		if err == nil {
			redirect(w, r, "/settings/password", "password_changed")
			return
		}
		f.fail(st.p, err, passwordFieldKeys)
		status = problem.Status(err)
	}
	s.render(w, r, status, "password", &passwordPage{base: s.page(r, "password.title"), Form: f})
}
