package api

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/pivand/pivand/internal/crm"
)

// companyFields is the body of POST /companies: the fields a client may
// write.
type companyFields struct {
	Name      string         `json:"name"`
	Domain    string         `json:"domain,omitempty"`
	Industry  string         `json:"industry,omitempty"`
	Size      string         `json:"size,omitempty"`
	Emails    []labeledInput `json:"emails,omitempty"`
	Phones    []labeledInput `json:"phones,omitempty"`
	Addresses []addressInput `json:"addresses,omitempty"`
	OwnerID   *int64         `json:"owner_id,omitempty"`
	Tags      []string       `json:"tags,omitempty"`
	Notes     string         `json:"notes,omitempty"`
	Custom    map[string]any `json:"custom,omitempty"`
}

// companyPatch is the body of PATCH /companies/{id}: members present are
// changed; owner_id null clears the owner; custom merges per key, null
// removing a value.
type companyPatch struct {
	Name      *string         `json:"name,omitempty"`
	Domain    *string         `json:"domain,omitempty"`
	Industry  *string         `json:"industry,omitempty"`
	Size      *string         `json:"size,omitempty"`
	Emails    *[]labeledInput `json:"emails,omitempty"`
	Phones    *[]labeledInput `json:"phones,omitempty"`
	Addresses *[]addressInput `json:"addresses,omitempty"`
	OwnerID   *int64          `json:"owner_id"`
	Tags      *[]string       `json:"tags,omitempty"`
	Notes     *string         `json:"notes,omitempty"`
	Custom    map[string]any  `json:"custom,omitempty"`
}

// companySorts are the orders of the company list.
var companySorts = []string{crm.SortName, crm.SortCreatedDesc}

// companyParams document the filters of the company list.
var companyParams = []param{
	{Name: "q", Description: "Search any part of the name, domain, email or phone."},
	{Name: "tag", Description: "Only companies with this tag."},
	{Name: "owner_id", Type: "integer", Zero: true, Description: "Only companies owned by this user; 0 for companies without an owner."},
	{Name: "ids", Description: "Only these companies: ids separated by commas."},
	{Name: "sort", Enum: companySorts, Description: "Order: name (the default) or -created (newest first)."},
}

func (a *API) handleCompanyCreate(w http.ResponseWriter, r *http.Request) {
	var in companyFields
	withCreate(a, w, r, &in, "/companies", func() (any, int64, error) {
		c, err := a.contacts.CreateCompany(r.Context(), in.company())
		if err != nil {
			return nil, 0, err
		}
		return c, c.ID, nil
	})
}

func (a *API) handleCompanyList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	q := r.URL.Query()
	f := crm.CompanyFilter{
		Q:       q.Get("q"),
		Tag:     q.Get("tag"),
		OwnerID: queryOwner(r, "owner_id", &v),
		IDs:     queryIDs(r, "ids", &v),
		Custom:  queryCustom(q, &v),
		Sort:    q.Get("sort"),
		Limit:   page.Limit,
		After:   page.After,
	}
	if f.Sort != "" && !slices.Contains(companySorts, f.Sort) {
		v.Add("sort", "Use name or -created.")
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	companies, next, err := a.contacts.ListCompanies(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, companies, next)
}

func (a *API) handleCompanyGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.contacts.FindCompanyByID(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, c)
}

func (a *API) handleCompanyUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in companyPatch
	sent, err := decodeObject(r, &in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	c, err := a.contacts.UpdateCompany(r.Context(), id, in.update(sent))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, c)
}

func (a *API) handleCompanyDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.contacts.DeleteCompany(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleCompanyPeople(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// A company that does not exist is a 404, not an empty list.
	if _, err := a.contacts.FindCompanyByID(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	people, next, err := a.contacts.CompanyPeople(r.Context(), id, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, people, next)
}

func (in companyFields) company() *crm.Company {
	c := &crm.Company{
		Name: in.Name, Domain: in.Domain, Industry: in.Industry, Size: in.Size,
		Emails: labeled(in.Emails), Phones: labeled(in.Phones), Addresses: addresses(in.Addresses),
		OwnerID: in.OwnerID, Tags: in.Tags, Notes: in.Notes, Custom: in.Custom,
	}
	if c.Custom == nil {
		c.Custom = map[string]any{}
	}
	return c
}

func (in companyPatch) update(sent map[string]json.RawMessage) crm.CompanyUpdate {
	up := crm.CompanyUpdate{
		Name: in.Name, Domain: in.Domain, Industry: in.Industry, Size: in.Size,
		Tags: in.Tags, Notes: in.Notes, Custom: in.Custom,
	}
	if in.Emails != nil {
		l := labeled(*in.Emails)
		up.Emails = &l
	}
	if in.Phones != nil {
		l := labeled(*in.Phones)
		up.Phones = &l
	}
	if in.Addresses != nil {
		l := addresses(*in.Addresses)
		up.Addresses = &l
	}
	if _, ok := sent["owner_id"]; ok {
		owner := in.OwnerID
		up.OwnerID = &owner
	}
	return up
}
