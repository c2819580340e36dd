package api

import (
	"fmt"
	"net/http"
)

// Privacy: a person's right to see everything held about them, and to be
// forgotten.

// handleContactPrivacyExport answers a data subject access request: the
// person, companies, consents, interactions, notes, tasks, timeline and
// audit entries, as one JSON document (audited).
func (a *API) handleContactPrivacyExport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	doc, err := a.contacts.ExportPerson(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="person-%d.json"`, id))
	a.writeJSON(w, r, http.StatusOK, doc)
}

// handleContactErase removes a person under privacy law; a hash of each
// address is kept so that they are never contacted again (audited).
func (a *API) handleContactErase(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.contacts.ErasePerson(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
