package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
)

const companyPageSize = 50

type companyIndexPage struct {
	base
	Filter      form
	Companies   []*crm.Company
	Users       *userDirectory
	Fields      []*crm.CustomField // shown in the list
	Sorts       []choice
	Next, First string
	Filtered    bool
}

var companySorts = map[string]string{"name": crm.SortName, "newest": crm.SortCreatedDesc}

func (s *server) handleCompanyIndex(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	q := r.URL.Query()
	f := form{Values: map[string]string{}}
	for _, k := range []string{"q", "tag", "owner", "sort"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	filter := crm.CompanyFilter{Q: f.V("q"), Tag: f.V("tag"), Limit: companyPageSize, After: q.Get("after")}
	if sort, ok := companySorts[f.V("sort")]; ok {
		filter.Sort = sort
	} else {
		f.Values["sort"] = "name"
	}
	switch v := f.V("owner"); v {
	case "":
	case "none":
		none := int64(0)
		filter.OwnerID = &none
	default:
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			filter.OwnerID = &id
		}
	}
	d := &companyIndexPage{base: s.page(r, "companies.title"), Filter: f}
	for _, k := range []string{"name", "newest"} {
		d.Sorts = append(d.Sorts, choice{Value: k, Label: p.T("contacts.sort." + k)})
	}
	var err error
	if d.Users, err = s.users(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	fields, err := s.contacts.ListCustomFields(ctx, "company")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, fd := range fields {
		if fd.ShowInList {
			d.Fields = append(d.Fields, fd)
		}
	}
	companies, next, err := s.contacts.ListCompanies(ctx, filter)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		d.Filter.fail(p, err, map[string]string{"after": "contacts.error.cursor"})
		s.render(w, r, problem.Status(err), "companies", d)
		return
	}
	d.Companies = companies
	keep := url.Values{}
	for k, v := range f.Values {
		if v != "" && !(k == "sort" && v == "name") {
			keep.Set(k, v)
		}
	}
	d.Filtered = len(keep) > 0
	if next != "" {
		nq := url.Values{}
		for k, v := range keep {
			nq[k] = v
		}
		nq.Set("after", next)
		d.Next = "/companies?" + nq.Encode()
	}
	if filter.After != "" {
		d.First = "/companies"
		if len(keep) > 0 {
			d.First += "?" + keep.Encode()
		}
	}
	s.render(w, r, http.StatusOK, "companies", d)
}

// --- Create and edit ---

var companyScalars = []string{"name", "domain", "industry", "size", "owner_id", "tags", "notes"}

type companyFormPage struct {
	base
	Company *crm.Company // nil for a new company
	Form    recordForm
	Users   *userDirectory
	Sizes   []string
	Action  string
}

func companyFormFrom(p *locale.Printer, c *crm.Company, fields []*crm.CustomField) recordForm {
	f := recordForm{}
	f.Values = map[string]string{"name": c.Name, "domain": c.Domain, "industry": c.Industry, "size": c.Size,
		"notes": c.Notes, "tags": strings.Join(c.Tags, p.T("list.separator"))}
	if c.OwnerID != nil {
		f.Values["owner_id"] = strconv.FormatInt(*c.OwnerID, 10)
	}
	f.Emails = labeledRows("emails", c.Emails)
	f.Phones = labeledRows("phones", c.Phones)
	f.Addresses = addressRows(c.Addresses)
	f.Custom = customRows(p, fields, c.Custom)
	return f
}

func readCompanyForm(r *http.Request, p *locale.Printer, fields []*crm.CustomField, forUpdate bool) (recordForm, *crm.Company) {
	r.ParseForm()
	pf := r.PostForm
	f := recordForm{form: newForm(r, companyScalars...)}
	f.Values["notes"] = strings.TrimSpace(pf.Get("notes"))
	c := &crm.Company{Name: f.V("name"), Domain: f.V("domain"), Industry: f.V("industry"), Size: f.V("size"),
		Notes: f.V("notes"), Tags: splitTags(f.V("tags"))}
	if id, err := strconv.ParseInt(f.V("owner_id"), 10, 64); err == nil && id > 0 {
		c.OwnerID = &id
	}
	f.Emails, c.Emails = readLabeled(pf, "emails")
	f.Phones, c.Phones = readLabeled(pf, "phones")
	f.Addresses, c.Addresses = readAddresses(pf)
	f.Custom, c.Custom = readCustom(p, pf, fields, &f.form, forUpdate)
	return f, c
}

func (s *server) renderCompanyForm(w http.ResponseWriter, r *http.Request, status int, c *crm.Company, f recordForm) {
	p := state(r).p
	d := &companyFormPage{base: s.page(r, "companies.new.title"), Company: c, Form: f, Sizes: contact.CompanySizes, Action: "/companies"}
	if c != nil {
		d.Title = p.T("contacts.edit.title_of", "name", c.Name)
		d.Action = "/companies/" + strconv.FormatInt(c.ID, 10)
	}
	var err error
	if d.Users, err = s.users(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "company_form", d)
}

func (s *server) handleCompanyNew(w http.ResponseWriter, r *http.Request) {
	fields, err := s.contacts.ListCustomFields(r.Context(), "company")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	me := state(r).user.ID
	s.renderCompanyForm(w, r, http.StatusOK, nil, companyFormFrom(state(r).p, &crm.Company{OwnerID: &me}, fields))
}

func (s *server) handleCompanyCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	fields, err := s.contacts.ListCustomFields(ctx, "company")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, c := readCompanyForm(r, p, fields, false)
	if !f.ok() {
		cp := *c
		_, err := contact.PrepareCompany(&cp, fields, s.contacts.Region(), true)
		mergeErrors(p, &f.form, err, fields, nil)
		s.renderCompanyForm(w, r, http.StatusUnprocessableEntity, nil, f)
		return
	}
	saved, err := s.contacts.CreateCompany(ctx, c)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		failRecord(p, &f.form, err, fields, nil)
		s.renderCompanyForm(w, r, problem.Status(err), nil, f)
		return
	}
	redirect(w, r, "/companies/"+strconv.FormatInt(saved.ID, 10), "company_created")
}

func (s *server) loadCompany(w http.ResponseWriter, r *http.Request) (*crm.Company, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return nil, false
	}
	c, err := s.contacts.FindCompanyByID(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return nil, false
	}
	return c, true
}

func (s *server) handleCompanyEdit(w http.ResponseWriter, r *http.Request) {
	c, ok := s.loadCompany(w, r)
	if !ok {
		return
	}
	fields, err := s.contacts.ListCustomFields(r.Context(), "company")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderCompanyForm(w, r, http.StatusOK, c, companyFormFrom(state(r).p, c, fields))
}

func (s *server) handleCompanyUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	c, ok := s.loadCompany(w, r)
	if !ok {
		return
	}
	fields, err := s.contacts.ListCustomFields(ctx, "company")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, in := readCompanyForm(r, p, fields, true)
	if !f.ok() {
		cp := *in
		_, err := contact.PrepareCompany(&cp, fields, s.contacts.Region(), false)
		mergeErrors(p, &f.form, err, fields, nil)
		s.renderCompanyForm(w, r, http.StatusUnprocessableEntity, c, f)
		return
	}
	owner := in.OwnerID
	up := crm.CompanyUpdate{Name: &in.Name, Domain: &in.Domain, Industry: &in.Industry, Size: &in.Size,
		Emails: &in.Emails, Phones: &in.Phones, Addresses: &in.Addresses, OwnerID: &owner, Tags: &in.Tags,
		Notes: &in.Notes, Custom: in.Custom}
	if _, err := s.contacts.UpdateCompany(ctx, c.ID, up); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		failRecord(p, &f.form, err, fields, nil)
		s.renderCompanyForm(w, r, problem.Status(err), c, f)
		return
	}
	redirect(w, r, "/companies/"+strconv.FormatInt(c.ID, 10), "company_saved")
}

func (s *server) handleCompanyDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.contacts.DeleteCompany(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/companies", "company_deleted")
}

// --- The company's page ---

type companyPage struct {
	base
	Company     *crm.Company
	Fields      []*crm.CustomField
	Users       *userDirectory
	People      []*crm.Contact
	PeopleNext  string
	PeopleFirst string
	Timeline    timelineSection
	Panel       activityPanel
	CanWrite    bool
	CanDelete   bool
}

// Role returns a person's role at this company.
func (d *companyPage) Role(c *crm.Contact) string {
	for _, m := range c.Memberships {
		if m.CompanyID == d.Company.ID {
			return m.Role
		}
	}
	return ""
}

func (s *server) companyPage(r *http.Request, c *crm.Company, panel activityPanel) (*companyPage, error) {
	ctx := r.Context()
	u := state(r).user
	d := &companyPage{base: s.page(r, "companies.title"), Company: c, Panel: panel,
		CanWrite: u.Can(crm.PermContactsWrite), CanDelete: u.Can(crm.PermContactsDelete)}
	d.Title = c.Name
	var err error
	if d.Fields, err = s.contacts.ListCustomFields(ctx, "company"); err != nil {
		return nil, err
	}
	if d.Users, err = s.users(ctx); err != nil {
		return nil, err
	}
	self := "/companies/" + strconv.FormatInt(c.ID, 10)
	after := ""
	if r.Method == http.MethodGet {
		after = r.URL.Query().Get("people")
	}
	people, next, err := s.contacts.CompanyPeople(ctx, c.ID, crm.Page{Limit: 20, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" {
		after = ""
		people, next, err = s.contacts.CompanyPeople(ctx, c.ID, crm.Page{Limit: 20})
	}
	if err != nil {
		return nil, err
	}
	d.People = people
	if next != "" {
		d.PeopleNext = self + "?people=" + url.QueryEscape(next) + "#people"
	}
	if after != "" {
		d.PeopleFirst = self + "#people"
	}
	if d.Timeline, err = s.timeline(r, "company", c.ID, self, d.Users); err != nil {
		return nil, err
	}
	d.Panel.setup(r, self, d.Users)
	return d, nil
}

func (s *server) handleCompanyShow(w http.ResponseWriter, r *http.Request) {
	c, ok := s.loadCompany(w, r)
	if !ok {
		return
	}
	d, err := s.companyPage(r, c, activityPanel{})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "company", d)
}
