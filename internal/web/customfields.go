package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

// Custom fields: settings for admins (settings:manage). Each person,
// company or deal keeps its values in its custom map; the forms, lists, filters
// and exports follow these definitions.

type customFieldsPage struct {
	base
	Contact []*crm.CustomField
	Company []*crm.CustomField
	Deal    []*crm.CustomField
	Form    form
	Types   []string
}

type customFieldEditPage struct {
	base
	Field *crm.CustomField
	Form  form
}

var customFieldKeys = map[string]string{
	"entity":   "error.choose_option",
	"key":      "customfields.error.key",
	"type":     "error.choose_option",
	"label":    "error.required",
	"options":  "customfields.error.options",
	"currency": "customfields.error.currency",
}

func (s *server) customFieldsPage(r *http.Request, f form) (*customFieldsPage, error) {
	ctx := r.Context()
	d := &customFieldsPage{base: s.page(r, "customfields.title"), Form: f, Types: crm.CustomFieldTypes}
	var err error
	if d.Contact, err = s.contacts.ListCustomFields(ctx, "contact"); err != nil {
		return nil, err
	}
	if d.Company, err = s.contacts.ListCustomFields(ctx, "company"); err != nil {
		return nil, err
	}
	if d.Deal, err = s.contacts.ListCustomFields(ctx, "deal"); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *server) handleCustomFieldIndex(w http.ResponseWriter, r *http.Request) {
	f := form{Values: map[string]string{"entity": "contact", "type": crm.FieldText}}
	if e := r.URL.Query().Get("entity"); e == "company" || e == "deal" {
		f.Values["entity"] = e
	}
	d, err := s.customFieldsPage(r, f)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "custom_fields", d)
}

// splitOptions reads the choices of a select field, one per line.
func splitOptions(s string) []string {
	var out []string
	for line := range strings.SplitSeq(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// readFieldForm reads the shared part of the create and edit forms.
func readFieldForm(r *http.Request, p *locale.Printer, f *form) crm.CustomField {
	f.Values["options"] = strings.TrimSpace(r.PostFormValue("options"))
	f.Values["required"] = r.PostFormValue("required")
	f.Values["show_in_list"] = r.PostFormValue("show_in_list")
	cf := crm.CustomField{Label: f.V("label"), Options: splitOptions(f.V("options")), Currency: f.V("currency"),
		Required: f.V("required") == "1", ShowInList: f.V("show_in_list") == "1"}
	if v := f.V("position"); v != "" {
		n, err := p.ParseInt(v)
		if err != nil || n < 0 || n > 10000 {
			f.invalid(p, "position", "error.number_invalid")
		} else {
			cf.Position = int(n)
		}
	}
	return cf
}

func (s *server) handleCustomFieldCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f := newForm(r, "entity", "key", "label", "type", "currency", "position")
	cf := readFieldForm(r, p, &f)
	cf.Entity, cf.Key, cf.Type = f.V("entity"), strings.ToLower(f.V("key")), f.V("type")
	status := http.StatusUnprocessableEntity
	if f.ok() {
		_, err := s.contacts.CreateCustomField(r.Context(), &cf)
		if err == nil {
			redirect(w, r, "/settings/custom-fields", "field_created")
			return
		}
		switch crm.ErrorCode(err) {
		case crm.EINVALID:
			f.fail(p, err, customFieldKeys)
		case crm.ECONFLICT: // the key is taken
			f.Error = &message{Text: p.T("error.form_invalid")}
			f.Errors = map[string]string{"key": p.T("customfields.error.key_taken")}
		default:
			s.renderError(w, r, err)
			return
		}
		status = problem.Status(err)
	}
	d, err := s.customFieldsPage(r, f)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "custom_fields", d)
}

// findCustomField returns the field of the {id} path value.
func (s *server) findCustomField(w http.ResponseWriter, r *http.Request) (*crm.CustomField, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return nil, false
	}
	for _, entity := range []string{"contact", "company", "deal"} {
		fields, err := s.contacts.ListCustomFields(r.Context(), entity)
		if err != nil {
			s.renderError(w, r, err)
			return nil, false
		}
		for _, f := range fields {
			if f.ID == id {
				return f, true
			}
		}
	}
	s.notFound(w, r)
	return nil, false
}

func fieldEditForm(f *crm.CustomField) form {
	v := map[string]string{"label": f.Label, "options": strings.Join(f.Options, "\n"), "currency": f.Currency,
		"position": strconv.Itoa(f.Position)}
	if f.Required {
		v["required"] = "1"
	}
	if f.ShowInList {
		v["show_in_list"] = "1"
	}
	return form{Values: v}
}

func (s *server) handleCustomFieldEdit(w http.ResponseWriter, r *http.Request) {
	cf, ok := s.findCustomField(w, r)
	if !ok {
		return
	}
	d := &customFieldEditPage{base: s.page(r, "customfields.edit.title"), Field: cf, Form: fieldEditForm(cf)}
	d.Title = state(r).p.T("customfields.edit.title_of", "label", cf.Label)
	s.render(w, r, http.StatusOK, "custom_field_edit", d)
}

func (s *server) handleCustomFieldUpdate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	cf, ok := s.findCustomField(w, r)
	if !ok {
		return
	}
	f := newForm(r, "label", "currency", "position")
	in := readFieldForm(r, p, &f)
	status := http.StatusUnprocessableEntity
	if f.ok() {
		_, err := s.contacts.UpdateCustomField(r.Context(), cf.ID, &in)
		if err == nil {
			redirect(w, r, "/settings/custom-fields", "field_saved")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, customFieldKeys)
		status = problem.Status(err)
	}
	d := &customFieldEditPage{base: s.page(r, "customfields.edit.title"), Field: cf, Form: f}
	d.Title = p.T("customfields.edit.title_of", "label", cf.Label)
	d.Path = "/settings/custom-fields/" + strconv.FormatInt(cf.ID, 10) + "/edit"
	s.render(w, r, status, "custom_field_edit", d)
}

func (s *server) handleCustomFieldDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.contacts.DeleteCustomField(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/custom-fields", "field_deleted")
}
