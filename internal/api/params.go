package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// pathID reads a positive integer id from the path wildcard name. Anything
// else is ENOTFOUND: no resource lives at such an address.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := text.ParseInt(r.PathValue(name))
	if err != nil || id <= 0 {
		return 0, crm.Errorf(crm.ENOTFOUND, "There is nothing at %s.", r.URL.Path)
	}
	return id, nil
}

// queryInt64 reads an optional positive integer query parameter; 0 when
// absent. Persian and Arabic digits are accepted.
func queryInt64(r *http.Request, name string, v *crm.Validation) int64 {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0
	}
	n, err := text.ParseInt(s)
	if err != nil || n <= 0 {
		v.Add(name, "Use a positive whole number.")
		return 0
	}
	return n
}

// queryTime reads an optional instant: RFC 3339 ("2025-03-21T10:00:00Z")
// or a date (YYYY-MM-DD) taken in the acting user's time zone, with
// Persian or Arabic digits accepted. A date means the start of that day,
// or with endOfDay the start of the next one, so that an exclusive upper
// bound "to=2025-03-21" still includes all of the 21st.
func queryTime(r *http.Request, name string, endOfDay bool, v *crm.Validation) *time.Time {
	s := strings.TrimSpace(text.ToASCIIDigits(r.URL.Query().Get(name)))
	if s == "" {
		return nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t = t.UTC()
		return &t
	}
	t, err := time.ParseInLocation(time.DateOnly, s, userLocation(r))
	if err != nil {
		v.Add(name, "Use a date (YYYY-MM-DD) or an RFC 3339 time (2025-03-21T10:00:00Z).")
		return nil
	}
	if endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	t = t.UTC()
	return &t
}

// userLocation is the acting user's time zone, UTC when unknown.
func userLocation(r *http.Request) *time.Location {
	if u := crm.UserFromContext(r.Context()); u != nil && u.Preferences.TimeZone != "" {
		if loc, err := time.LoadLocation(u.Preferences.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}
