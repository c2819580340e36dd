package api

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

// auditParams documents the filters of GET /audit (besides limit, after).
var auditParams = []param{
	{Name: "entity_type", Description: "Only entries about this kind of record, e.g. user, team, api_token."},
	{Name: "entity_id", Type: "integer", Description: "Only entries about this record (with entity_type)."},
	{Name: "actor_id", Type: "integer", Description: "Only changes made by this user."},
	{Name: "action", Description: "Only this action, e.g. user.update."},
	{Name: "from", Description: "Created at or after: RFC 3339, or a date (YYYY-MM-DD) in your time zone."},
	{Name: "to", Description: "Created before: RFC 3339, or a date (YYYY-MM-DD), which includes that whole day."},
}

func (a *API) handleAuditList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	q := r.URL.Query()
	f := crm.AuditFilter{
		EntityType: q.Get("entity_type"),
		EntityID:   queryInt64(r, "entity_id", &v),
		ActorID:    queryInt64(r, "actor_id", &v),
		Action:     q.Get("action"),
		From:       queryTime(r, "from", false, &v),
		To:         queryTime(r, "to", true, &v),
		Limit:      page.Limit,
		After:      page.After,
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		v.Add("to", "Must be later than from.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	entries, next, err := a.auth.ListAudit(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, entries, next)
}
