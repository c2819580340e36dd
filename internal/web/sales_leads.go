package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/text"
)

// Leads: the list, the form, a lead's page and its conversion in one step
// into a person, a company and a deal.

type leadIndexPage struct {
	salesBase
	salesChoices
	Leads    []*crm.Lead
	Statuses []string
	Filter   form
	Next     string
	First    string
}

func (s *server) handleLeadIndex(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	q := r.URL.Query()
	d := &leadIndexPage{salesBase: s.salesPage(r, "sales.leads.title", "leads"), Statuses: crm.LeadStatuses,
		Filter: form{Values: map[string]string{}}}
	for _, k := range []string{"status", "owner", "q"} {
		d.Filter.Values[k] = strings.TrimSpace(q.Get(k))
	}
	f := crm.LeadFilter{Status: d.Filter.V("status"), Q: d.Filter.V("q"), Limit: dealPageSize, After: q.Get("after")}
	if f.Status != "" && !slices.Contains(crm.LeadStatuses, f.Status) {
		d.Filter.invalid(p, "status", "error.choose_option")
		f.Status = ""
	}
	switch o := d.Filter.V("owner"); o {
	case "":
	case "none":
		zero := int64(0)
		f.OwnerID = &zero
	default:
		if id, err := strconv.ParseInt(text.ToASCIIDigits(o), 10, 64); err == nil && id > 0 {
			f.OwnerID = &id
		} else {
			d.Filter.invalid(p, "owner", "error.choose_option")
		}
	}
	var next string
	var err error
	d.Leads, next, err = s.sales.ListLeads(ctx, f)
	if crm.ErrorCode(err) == crm.EINVALID && f.After != "" {
		f.After = ""
		d.Leads, next, err = s.sales.ListLeads(ctx, f)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	keep := filterQuery(d.Filter, "status", "owner", "q")
	if next != "" {
		nq := url.Values{}
		for k, v := range keep {
			nq[k] = v
		}
		nq.Set("after", next)
		d.Next = "/sales/leads?" + nq.Encode()
	}
	if f.After != "" {
		d.First = "/sales/leads?" + keep.Encode()
	}
	if d.salesChoices, err = s.salesChoices(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	status := http.StatusOK
	if !d.Filter.ok() {
		status = http.StatusUnprocessableEntity
	}
	s.render(w, r, status, "sales_leads", d)
}

// OwnerName names a lead's owner.
func (d *leadIndexPage) OwnerName(id int64) string {
	for _, u := range d.Users {
		if u.ID == id {
			return d.UserName(u)
		}
	}
	return ""
}

// --- The form ---

type leadFormPage struct {
	salesBase
	Form     form
	Lead     *crm.Lead
	Users    []*crm.User
	Statuses []string
}

var leadFormFields = []string{"first_name", "last_name", "email", "phone", "company_name", "job_title", "source", "status", "owner_id", "value", "currency", "notes"}

func (s *server) handleLeadNew(w http.ResponseWriter, r *http.Request) {
	f := form{Values: map[string]string{"owner_id": strconv.FormatInt(state(r).user.ID, 10), "status": crm.LeadNew, "currency": s.dealCurrency(r)}}
	s.renderLeadForm(w, r, http.StatusOK, nil, f)
}

func (s *server) handleLeadEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	l, err := s.sales.Lead(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := state(r).p
	f := form{Values: map[string]string{"first_name": l.FirstName, "last_name": l.LastName, "email": l.Email, "phone": l.Phone,
		"company_name": l.CompanyName, "job_title": l.JobTitle, "source": l.Source, "status": l.Status, "owner_id": strconv.FormatInt(l.OwnerID, 10),
		"currency": l.Currency, "notes": l.Notes}}
	if l.Value != 0 {
		f.Values["value"] = moneyAmount(p, l.Value, l.Currency)
	}
	s.renderLeadForm(w, r, http.StatusOK, l, f)
}

func (s *server) renderLeadForm(w http.ResponseWriter, r *http.Request, status int, l *crm.Lead, f form) {
	title := "sales.lead.new"
	if l != nil {
		title = "sales.lead.edit"
	}
	d := &leadFormPage{salesBase: s.salesPage(r, title, "leads"), Form: f, Lead: l, Statuses: slices.DeleteFunc(slices.Clone(crm.LeadStatuses),
		func(s string) bool { return s == crm.LeadConverted })}
	if r.Method != http.MethodGet {
		d.Path = "/sales/leads/new"
		if l != nil {
			d.Path = "/sales/leads/" + strconv.FormatInt(l.ID, 10) + "/edit"
		}
	}
	users, err := s.users(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Users = users.Active
	s.render(w, r, status, "sales_lead_form", d)
}

func readLeadForm(r *http.Request) (form, sales.LeadInput) {
	p := state(r).p
	f := newForm(r, leadFormFields...)
	f.Values["notes"] = strings.TrimSpace(r.PostFormValue("notes"))
	in := sales.LeadInput{FirstName: f.V("first_name"), LastName: f.V("last_name"), Email: f.V("email"), Phone: f.V("phone"),
		CompanyName: f.V("company_name"), JobTitle: f.V("job_title"), Source: f.V("source"), Status: f.V("status"),
		Currency: strings.ToUpper(f.V("currency")), Notes: f.V("notes")}
	if o := f.V("owner_id"); o != "" {
		id, _ := strconv.ParseInt(o, 10, 64)
		in.OwnerID = &id
	}
	if v := f.V("value"); v != "" {
		n, err := parseMoney(v, in.Currency)
		if err != nil {
			f.invalid(p, "value", "sales.error.amount")
		}
		in.Value = n
	} else {
		in.Currency = ""
	}
	return f, in
}

var leadFieldKeys = map[string]string{"first_name": "sales.error.lead_who", "email": "error.email_invalid", "phone": "contacts.error.phone",
	"status": "error.choose_option", "owner_id": "error.choose_option", "value": "sales.error.amount", "currency": "sales.error.currency"}

func (s *server) handleLeadCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f, in := readLeadForm(r)
	if f.ok() {
		l, err := s.sales.CreateLead(r.Context(), in)
		if err == nil {
			redirect(w, r, "/sales/leads/"+strconv.FormatInt(l.ID, 10), "lead_created")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, leadFieldKeys)
	}
	s.renderLeadForm(w, r, http.StatusUnprocessableEntity, nil, f)
}

func (s *server) handleLeadUpdate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	l, err := s.sales.Lead(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, in := readLeadForm(r)
	if f.ok() {
		up := sales.LeadUpdate{FirstName: &in.FirstName, LastName: &in.LastName, Email: &in.Email, Phone: &in.Phone, CompanyName: &in.CompanyName,
			JobTitle: &in.JobTitle, Source: &in.Source, Status: &in.Status, OwnerID: in.OwnerID, Value: &in.Value, Currency: &in.Currency, Notes: &in.Notes}
		if _, err = s.sales.UpdateLead(r.Context(), id, up); err == nil {
			redirect(w, r, "/sales/leads/"+strconv.FormatInt(id, 10), "lead_saved")
			return
		}
		if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, leadFieldKeys)
	}
	s.renderLeadForm(w, r, http.StatusUnprocessableEntity, l, f)
}

func (s *server) handleLeadDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.sales.DeleteLead(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/sales/leads", "lead_deleted")
}

// --- A lead's page and its conversion ---

type leadPage struct {
	salesBase
	Lead      *crm.Lead
	Owner     string
	Convert   form
	Pipelines []*crm.Pipeline
	Users     []*crm.User
	Person    string
	Company   string
	Deal      string
}

func (s *server) handleLeadShow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	s.renderLead(w, r, id, http.StatusOK, form{})
}

func (s *server) renderLead(w http.ResponseWriter, r *http.Request, id int64, status int, conv form) {
	ctx := r.Context()
	l, err := s.sales.Lead(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &leadPage{salesBase: s.salesPage(r, "sales.lead.title", "leads"), Lead: l, Convert: conv}
	d.Title = l.DisplayName()
	if r.Method != http.MethodGet {
		d.Path = "/sales/leads/" + strconv.FormatInt(id, 10)
	}
	if d.Convert.Values == nil {
		d.Convert.Values = map[string]string{"deal_title": l.CompanyName, "create_company": "1", "create_deal": "1"}
		if l.CompanyName == "" {
			d.Convert.Values["deal_title"] = l.DisplayName()
			d.Convert.Values["create_company"] = ""
		}
		if l.Value != 0 {
			d.Convert.Values["deal_value"] = moneyAmount(d.L, l.Value, l.Currency)
		}
	}
	users, err := s.users(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Users = users.Active
	d.Owner = users.Names[l.OwnerID]
	if d.Pipelines, err = s.sales.Pipelines(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if s.contacts != nil && l.ContactID != 0 {
		if c, err := s.contacts.FindContactByID(ctx, l.ContactID); err == nil {
			d.Person = c.DisplayName()
		}
	}
	if s.contacts != nil && l.CompanyID != 0 {
		if c, err := s.contacts.FindCompanyByID(ctx, l.CompanyID); err == nil {
			d.Company = c.Name
		}
	}
	if l.DealID != 0 {
		if dl, err := s.sales.Deal(ctx, l.DealID); err == nil {
			d.Deal = dl.Title
		}
	}
	s.render(w, r, status, "sales_lead", d)
}

func (s *server) handleLeadConvert(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	l, err := s.sales.Lead(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := newForm(r, "create_company", "create_deal", "deal_title", "stage_id", "deal_value", "expected_close")
	in := sales.ConvertInput{NoCompany: f.V("create_company") == "", NoDeal: f.V("create_deal") == ""}
	in.Deal.Title = f.V("deal_title")
	in.Deal.StageID, _ = strconv.ParseInt(f.V("stage_id"), 10, 64)
	cur := l.Currency
	if v := f.V("deal_value"); v != "" && !in.NoDeal {
		if cur == "" {
			cur = s.salesCurrency(r)
			if ps, err := s.sales.Pipelines(ctx); err == nil && len(ps) > 0 {
				cur = ps[0].Currency
			}
		}
		n, err := parseMoney(v, cur)
		if err != nil {
			f.invalid(p, "deal_value", "sales.error.amount")
		}
		in.Deal.Value = &n
		in.Deal.Currency = cur
	}
	if day, ok := dayInput(p, f.V("expected_close")); ok {
		in.Deal.ExpectedClose = day
	} else {
		f.invalid(p, "expected_close", "sales.error.date", "example", p.DateInput(nowFunc()))
	}
	if f.ok() {
		conv, err := s.sales.ConvertLead(ctx, id, in)
		if err == nil {
			target := "/contacts/" + strconv.FormatInt(conv.ContactID, 10)
			if conv.Deal != nil {
				target = "/sales/deals/" + strconv.FormatInt(conv.Deal.ID, 10)
			}
			redirect(w, r, target, "lead_converted")
			return
		}
		if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		}
		renamed := map[string]string{}
		for k, v := range crm.ErrorFields(err) {
			switch k {
			case "deal.title":
				k = "deal_title"
			case "deal.stage_id", "deal.pipeline_id":
				k = "stage_id"
			case "deal.value", "deal.currency":
				k = "deal_value"
			case "deal.expected_close":
				k = "expected_close"
			}
			renamed[k] = v
		}
		if ce, ok := asCRMError(err); ok && len(renamed) > 0 {
			cp := *ce
			cp.Fields = renamed
			err = &cp
		}
		f.fail(p, err, map[string]string{"deal_title": "error.required", "stage_id": "sales.error.stage", "deal_value": "sales.error.amount",
			"expected_close": "sales.error.date"})
	}
	s.renderLead(w, r, id, http.StatusUnprocessableEntity, f)
}
