package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/problem"
)

const auditPageSize = 50

type auditPage struct {
	base
	Form     form // the filter, as typed
	Entries  []*crm.AuditEntry
	Next     string // URL of the next (older) page, or ""
	First    string // URL of the first page when not on it, or ""
	DateHint string // an example date in the user's calendar and digits
}

// handleAuditPage lists the audit log, newest first, filtered by action,
// entity type and a date range typed in the user's calendar (Jalali or
// Gregorian, any digits). "to" is inclusive: the whole day counts.
func (s *server) handleAuditPage(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	q := r.URL.Query()
	f := form{Values: map[string]string{}}
	for _, k := range []string{"action", "entity", "from", "to"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	filter := crm.AuditFilter{Action: f.V("action"), EntityType: f.V("entity"), Limit: auditPageSize, After: q.Get("after")}
	if v := f.V("from"); v != "" {
		t, err := p.ParseDate(v)
		if err != nil {
			f.invalid(p, "from", "error.date_example", "example", p.DateInput(time.Now()))
		} else {
			filter.From = &t
		}
	}
	if v := f.V("to"); v != "" {
		t, err := p.ParseDate(v)
		if err != nil {
			f.invalid(p, "to", "error.date_example", "example", p.DateInput(time.Now()))
		} else {
			end := t.AddDate(0, 0, 1)
			filter.To = &end
		}
	}
	if filter.From != nil && filter.To != nil && !filter.From.Before(*filter.To) {
		f.invalid(p, "to", "error.date_range")
	}
	d := &auditPage{base: s.page(r, "audit.title"), Form: f, DateHint: p.DateInput(time.Now())}
	if !f.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "audit", d)
		return
	}
	entries, next, err := s.auth.ListAudit(r.Context(), filter)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		d.Form.fail(p, err, nil)
		s.render(w, r, problem.Status(err), "audit", d)
		return
	}
	d.Entries = entries
	keep := url.Values{}
	for _, k := range []string{"action", "entity", "from", "to"} {
		if v := f.V(k); v != "" {
			keep.Set(k, v)
		}
	}
	if next != "" {
		nq := url.Values{}
		for k, v := range keep {
			nq[k] = v
		}
		nq.Set("after", next)
		d.Next = "/settings/audit?" + nq.Encode()
	}
	if filter.After != "" {
		d.First = "/settings/audit"
		if len(keep) > 0 {
			d.First += "?" + keep.Encode()
		}
	}
	s.render(w, r, http.StatusOK, "audit", d)
}
