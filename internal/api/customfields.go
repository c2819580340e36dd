package api

import (
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

// customFieldCreate is the body of POST /custom-fields.
type customFieldCreate struct {
	Entity     string   `json:"entity"`
	Key        string   `json:"key"`
	Label      string   `json:"label"`
	Type       string   `json:"type"`
	Options    []string `json:"options,omitempty"`
	Currency   string   `json:"currency,omitempty"`
	Required   bool     `json:"required,omitempty"`
	ShowInList bool     `json:"show_in_list,omitempty"`
	Position   int      `json:"position,omitempty"`
}

// customFieldPatch is the body of PATCH /custom-fields/{id}. A field's
// entity, key and type are fixed once it exists.
type customFieldPatch struct {
	Label      *string   `json:"label,omitempty"`
	Options    *[]string `json:"options,omitempty"`
	Currency   *string   `json:"currency,omitempty"`
	Required   *bool     `json:"required,omitempty"`
	ShowInList *bool     `json:"show_in_list,omitempty"`
	Position   *int      `json:"position,omitempty"`
}

var customFieldParams = []param{
	{Name: "entity", Enum: []string{"contact", "company", "deal"}, Description: "Only the fields of people (contact), companies (company) or deals (deal); all when absent."},
}

func (a *API) handleCustomFieldList(w http.ResponseWriter, r *http.Request) {
	entities := []string{"contact", "company", "deal"}
	if e := r.URL.Query().Get("entity"); e != "" {
		entities = []string{e} // the service names a bad entity
	}
	var all []*crm.CustomField
	for _, e := range entities {
		fields, err := a.contacts.ListCustomFields(r.Context(), e)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		all = append(all, fields...)
	}
	writeList(a, w, r, all, "")
}

func (a *API) handleCustomFieldCreate(w http.ResponseWriter, r *http.Request) {
	var in customFieldCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	f, err := a.contacts.CreateCustomField(r.Context(), &crm.CustomField{
		Entity: in.Entity, Key: in.Key, Label: in.Label, Type: in.Type, Options: in.Options,
		Currency: in.Currency, Required: in.Required, ShowInList: in.ShowInList, Position: in.Position,
	})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusCreated, f)
}

func (a *API) handleCustomFieldUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in customFieldPatch
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	// The service replaces every changeable attribute; start from the
	// field as stored so that absent members stay as they are.
	f, err := a.findCustomField(r, id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Label != nil {
		f.Label = *in.Label
	}
	if in.Options != nil {
		f.Options = *in.Options
	}
	if in.Currency != nil {
		f.Currency = *in.Currency
	}
	if in.Required != nil {
		f.Required = *in.Required
	}
	if in.ShowInList != nil {
		f.ShowInList = *in.ShowInList
	}
	if in.Position != nil {
		f.Position = *in.Position
	}
	out, err := a.contacts.UpdateCustomField(r.Context(), id, f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

func (a *API) handleCustomFieldDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.contacts.DeleteCustomField(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// findCustomField looks a field up among the definitions (a few dozen).
func (a *API) findCustomField(r *http.Request, id int64) (*crm.CustomField, error) {
	for _, e := range []string{"contact", "company", "deal"} {
		fields, err := a.contacts.ListCustomFields(r.Context(), e)
		if err != nil {
			return nil, err
		}
		for _, f := range fields {
			if f.ID == id {
				cp := *f
				return &cp, nil
			}
		}
	}
	return nil, crm.Errorf(crm.ENOTFOUND, "Custom field %d was not found.", id)
}
