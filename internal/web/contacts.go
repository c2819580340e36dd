package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/problem"
	"github.com/pivand/pivand/internal/text"
)

// nowFunc is the clock of date hints and overdue marks.
var nowFunc = time.Now

const (
	contactPageSize = 50
	columnsCookie   = "pivand_contact_cols" // the list columns a browser chose, "|"-separated
)

func asCRMError(err error) (*crm.Error, bool) {
	var ce *crm.Error
	ok := errors.As(err, &ce)
	return ce, ok
}

// userDirectory is the users of this Pivand, for owner and assignee menus
// and for showing names.
type userDirectory struct {
	Active []*crm.User      // active users, for menus
	Names  map[int64]string // every user: name, else email
	Emails map[int64]string // every user's email
	ByID   map[int64]*crm.User
}

func (s *server) users(ctx context.Context) (*userDirectory, error) {
	all, err := s.auth.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	d := &userDirectory{Names: map[int64]string{}, Emails: map[int64]string{}, ByID: map[int64]*crm.User{}}
	for _, u := range all {
		d.Names[u.ID] = displayName(u)
		d.Emails[u.ID] = u.Email
		d.ByID[u.ID] = u
		if u.Active {
			d.Active = append(d.Active, u)
		}
	}
	return d, nil
}

// companyNames returns the names of the companies with the given ids.
func (s *server) companyNames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for len(ids) > 0 {
		n := min(len(ids), crm.MaxLimit)
		cs, _, err := s.contacts.ListCompanies(ctx, crm.CompanyFilter{IDs: ids[:n], Limit: n})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			out[c.ID] = c.Name
		}
		ids = ids[n:]
	}
	return out, nil
}

// companyMenu lists companies by name for the menus of forms and filters.
func (s *server) companyMenu(ctx context.Context) ([]*crm.Company, error) {
	cs, _, err := s.contacts.ListCompanies(ctx, crm.CompanyFilter{Sort: crm.SortName, Limit: crm.MaxLimit})
	return cs, err
}

// --- The list ---

// listColumn is a column of the people list.
type listColumn struct {
	Key   string // name, email, phone, company, tags, owner, created, custom.<key>
	Label string // translated, or the custom field's label
	Field *crm.CustomField
	On    bool
	// Analytics marks the customer analytics columns (analytics.go).
	Analytics bool
	// LeadScore marks the lead score column (leadform.go).
	LeadScore bool
}

var standardColumns = []string{"email", "phone", "company", "tags", "owner", "created"}

// listColumns returns the columns a browser can choose, marking the
// chosen ones: from the cookie, else every standard column but "created"
// and every custom field shown in lists.
func listColumns(r *http.Request, p *locale.Printer, fields []*crm.CustomField) []listColumn {
	var chosen []string
	if c, err := r.Cookie(columnsCookie); err == nil && c.Value != "" {
		chosen = strings.Split(c.Value, "|")
	}
	var cols []listColumn
	for _, k := range standardColumns {
		on := k != "created"
		if chosen != nil {
			on = slices.Contains(chosen, k)
		}
		cols = append(cols, listColumn{Key: k, Label: p.T("contacts.col." + k), On: on})
	}
	for _, f := range fields {
		if !f.ShowInList {
			continue
		}
		k := "custom." + f.Key
		on := true
		if chosen != nil {
			on = slices.Contains(chosen, k)
		}
		cols = append(cols, listColumn{Key: k, Label: f.Label, Field: f, On: on})
	}
	return cols
}

type contactIndexPage struct {
	base
	Filter       form
	Contacts     []*crm.Contact
	Columns      []listColumn // every column, On marks the shown ones
	Shown        []listColumn
	Users        *userDirectory
	CompanyNames map[int64]string
	Companies    []*crm.Company // the company filter's menu
	FilterFields []*crm.CustomField
	Sorts        []choice
	Next, First  string
	ExportCSV    string
	ExportVCard  string
	Back         string // this list with its filter, for forms to return to
	DateHint     string
	CanExport    bool
	CanDelete    bool
	Error        *message // a failed bulk action
	Filtered     bool
	Analytics    *listAnalytics  // analytics filters and columns (analytics.go); nil without the module
	InSegment    *listSegments   // the segment filter and the lists of "add to list" (segments.go); nil without the module
	LeadScores   map[int64]int64 // the lead scores of the people shown when that column is (leadform.go)
}

var contactSorts = map[string]string{"newest": crm.SortCreatedDesc, "oldest": crm.SortCreatedAsc, "name": crm.SortName, "updated": crm.SortUpdatedDesc}

// contactFilterParams are the query parameters of the people list besides
// the custom fields' "cf.<key>".
var contactFilterParams = []string{"q", "tag", "owner", "company", "from", "to", "sort"}

// filterFields are the custom fields the list filters by: choices, yes/no
// and text.
func filterFields(fields []*crm.CustomField) []*crm.CustomField {
	var out []*crm.CustomField
	for _, f := range fields {
		switch f.Type {
		case crm.FieldSelect, crm.FieldMultiSelect, crm.FieldBoolean, crm.FieldText:
			out = append(out, f)
		}
	}
	return out
}

// contactFilter reads the list's filter from query parameters; what cannot
// be read is marked on the returned form.
func contactFilter(p *locale.Printer, q url.Values, fields []*crm.CustomField) (crm.ContactFilter, form) {
	f := form{Values: map[string]string{}}
	for _, k := range contactFilterParams {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	filter := crm.ContactFilter{Q: f.V("q"), Tag: f.V("tag"), Limit: contactPageSize, After: q.Get("after")}
	if sort, ok := contactSorts[f.V("sort")]; ok {
		filter.Sort = sort
	} else {
		f.Values["sort"] = "newest"
	}
	switch v := f.V("owner"); v {
	case "":
	case "none":
		none := int64(0)
		filter.OwnerID = &none
	default:
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			filter.OwnerID = &id
		} else {
			f.invalid(p, "owner", "error.choose_option")
		}
	}
	if v := f.V("company"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			filter.CompanyID = id
		} else {
			f.invalid(p, "company", "error.choose_option")
		}
	}
	for _, fd := range filterFields(fields) {
		name := "cf." + fd.Key
		if v := strings.TrimSpace(q.Get(name)); v != "" {
			f.Values[name] = v
			if filter.Custom == nil {
				filter.Custom = map[string]string{}
			}
			filter.Custom[fd.Key] = v
		}
	}
	from, to := dateRange(p, &f)
	filter.CreatedFrom, filter.CreatedTo = from, to
	return filter, f
}

// dateRange reads the "from" and "to" fields of a filter form, typed in
// the user's calendar; "to" includes its whole day.
func dateRange(p *locale.Printer, f *form) (from, to *time.Time) {
	if v := f.V("from"); v != "" {
		if t, err := p.ParseDate(v); err != nil {
			f.invalid(p, "from", "error.date_example", "example", p.DateInput(nowFunc()))
		} else {
			from = &t
		}
	}
	if v := f.V("to"); v != "" {
		if t, err := p.ParseDate(v); err != nil {
			f.invalid(p, "to", "error.date_example", "example", p.DateInput(nowFunc()))
		} else {
			end := t.AddDate(0, 0, 1)
			to = &end
		}
	}
	if from != nil && to != nil && !from.Before(*to) {
		f.invalid(p, "to", "error.date_range")
	}
	return from, to
}

// keepFilter returns the filter's parameters (without the cursor).
func keepFilter(f form) url.Values {
	keep := url.Values{}
	for k, v := range f.Values {
		if v != "" && !(k == "sort" && v == "newest") {
			keep.Set(k, v)
		}
	}
	return keep
}

func (s *server) handleContactIndex(w http.ResponseWriter, r *http.Request) {
	s.contactIndex(w, r, r.URL.Query(), nil)
}

// contactIndex shows the people list for the filter in q; bulkErr is the
// error of a bulk action sent from it.
func (s *server) contactIndex(w http.ResponseWriter, r *http.Request, q url.Values, bulkErr error) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	fields, err := s.contacts.ListCustomFields(ctx, "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	filter, f := contactFilter(p, q, fields)
	la := s.analyticsFilter(r, q, &f, &filter)
	ls := s.segmentFilter(r, q, &f, &filter)
	d := &contactIndexPage{base: s.page(r, "contacts.title"), Filter: f, DateHint: p.DateInput(nowFunc()),
		FilterFields: filterFields(fields), CanExport: st.user.Can(crm.PermContactsExport), CanDelete: st.user.Can(crm.PermContactsDelete),
		Analytics: la, InSegment: ls}
	if r.Method != http.MethodGet {
		d.Path = "/contacts"
	}
	d.Columns = append(listColumns(r, p, fields), s.analyticsListColumns(r, p, la)...)
	d.Columns = append(d.Columns, s.leadScoreColumns(r, p)...)
	for _, c := range d.Columns {
		if c.On {
			d.Shown = append(d.Shown, c)
		}
	}
	for _, k := range []string{"newest", "oldest", "name", "updated"} {
		d.Sorts = append(d.Sorts, choice{Value: k, Label: p.T("contacts.sort." + k)})
	}
	if d.Users, err = s.users(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Companies, err = s.companyMenu(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	keep := keepFilter(f)
	d.Filtered = len(keep) > 0
	d.Back = "/contacts"
	if len(keep) > 0 {
		d.Back += "?" + keep.Encode()
	}
	d.ExportCSV = "/contacts/export.csv"
	d.ExportVCard = "/contacts/export.vcf"
	if len(keep) > 0 {
		d.ExportCSV += "?" + keep.Encode()
		d.ExportVCard += "?" + keep.Encode()
	}
	if bulkErr != nil {
		m := explain(p, bulkErr)
		if crm.ErrorFields(bulkErr)["ids"] != "" {
			m = message{Text: p.T("contacts.bulk.none_selected")}
		}
		d.Error = &m
	}
	status := http.StatusOK
	if bulkErr != nil {
		status = problem.Status(bulkErr)
	}
	if !d.Filter.ok() {
		s.render(w, r, http.StatusUnprocessableEntity, "contacts", d)
		return
	}
	people, next, err := s.contacts.ListContacts(ctx, filter)
	if err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		fieldKeys := map[string]string{"after": "contacts.error.cursor"}
		for _, fd := range fields {
			fieldKeys["custom."+fd.Key] = "error.choose_option"
		}
		d.Filter.fail(p, err, fieldKeys)
		for name, msg := range d.Filter.Errors { // the custom filters are named cf.<key> on the page
			if k, ok := strings.CutPrefix(name, "custom."); ok {
				d.Filter.Errors["cf."+k] = msg
			}
		}
		s.render(w, r, problem.Status(err), "contacts", d)
		return
	}
	d.Contacts = people
	if err := s.fillListAnalytics(r, la, d.Shown, people); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.LeadScores, err = s.listLeadScores(r, d.Shown, people); err != nil {
		s.renderError(w, r, err)
		return
	}
	var ids []int64
	for _, c := range people {
		ids = append(ids, c.CompanyIDs...)
	}
	if d.CompanyNames, err = s.companyNames(ctx, ids); err != nil {
		s.renderError(w, r, err)
		return
	}
	if next != "" {
		nq := keepFilter(f)
		nq.Set("after", next)
		d.Next = "/contacts?" + nq.Encode()
	}
	if filter.After != "" {
		d.First = d.Back
	}
	s.render(w, r, status, "contacts", d)
}

// handleContactColumns remembers the list columns this browser chose.
func (s *server) handleContactColumns(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	var chosen []string
	for _, k := range r.PostForm["col"] {
		if (slices.Contains(standardColumns, k) || strings.HasPrefix(k, "custom.") || slices.Contains(analyticsColumnKeys, k) || k == leadScoreColumn) && !slices.Contains(chosen, k) && len(chosen) < 40 {
			chosen = append(chosen, k)
		}
	}
	if len(chosen) == 0 {
		chosen = []string{"none"} // no column but the name, which is always shown
	}
	s.setCookie(w, columnsCookie, strings.Join(chosen, "|"), 365*24*time.Hour)
	redirect(w, r, localPath(r.PostFormValue("next")), "")
}

// --- Create and edit ---

type contactFormPage struct {
	base
	Contact   *crm.Contact // nil for a new person
	Form      contactForm
	Users     *userDirectory
	Companies []*crm.Company
	LangMenu  []choice
	Action    string
	DateHint  string
	BirthHint string
}

func (s *server) contactFormPage(r *http.Request, c *crm.Contact, f contactForm) (*contactFormPage, error) {
	ctx := r.Context()
	p := state(r).p
	title := "contacts.new.title"
	if c != nil {
		title = "contacts.edit.title"
	}
	d := &contactFormPage{base: s.page(r, title), Contact: c, Form: f, Action: "/contacts",
		LangMenu: languageMenu(f.V("language")), DateHint: p.DateInput(nowFunc()),
		BirthHint: p.DateInput(nowFunc().AddDate(-30, 0, 0))}
	if c != nil {
		d.Title = p.T("contacts.edit.title_of", "name", c.DisplayName())
		d.Action = "/contacts/" + strconv.FormatInt(c.ID, 10)
	}
	var err error
	if d.Users, err = s.users(ctx); err != nil {
		return nil, err
	}
	if d.Companies, err = s.companyMenu(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *server) renderContactForm(w http.ResponseWriter, r *http.Request, status int, c *crm.Contact, f contactForm) {
	d, err := s.contactFormPage(r, c, f)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "contact_form", d)
}

func (s *server) handleContactNew(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	fields, err := s.contacts.ListCustomFields(r.Context(), "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	me := state(r).user.ID
	c := &crm.Contact{OwnerID: &me}
	if id, err := strconv.ParseInt(r.URL.Query().Get("company"), 10, 64); err == nil && id > 0 {
		c.Memberships = []crm.Membership{{CompanyID: id}}
	}
	s.renderContactForm(w, r, http.StatusOK, nil, contactFormFrom(p, c, fields))
}

func (s *server) handleContactCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	fields, err := s.contacts.ListCustomFields(ctx, "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, c, index := readContactForm(r, p, fields, false)
	allow := r.PostFormValue("allow_duplicates") == "1"
	mergeWith, _ := strconv.ParseInt(r.PostFormValue("merge_with"), 10, 64)
	if mergeWith > 0 {
		allow = true
	}
	if !f.ok() {
		cp := *c
		_, err := contact.Prepare(&cp, fields, s.contacts.Region(), true)
		mergeErrors(p, &f.form, err, fields, renumberMemberships(index))
		s.renderContactForm(w, r, http.StatusUnprocessableEntity, nil, f)
		return
	}
	saved, err := s.contacts.CreateContact(ctx, c, allow)
	if err != nil {
		if dup, ok := contact.IsDuplicates(err); ok {
			f.Duplicates = dup.Matches
			f.Error = &message{Text: p.T("contacts.duplicates.found")}
			s.renderContactForm(w, r, http.StatusConflict, nil, f)
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		failRecord(p, &f.form, err, fields, renumberMemberships(index))
		s.renderContactForm(w, r, problem.Status(err), nil, f)
		return
	}
	if mergeWith > 0 {
		http.Redirect(w, r, "/contacts/merge?ids="+strconv.FormatInt(mergeWith, 10)+","+strconv.FormatInt(saved.ID, 10), http.StatusSeeOther)
		return
	}
	redirect(w, r, "/contacts/"+strconv.FormatInt(saved.ID, 10), "contact_created")
}

// loadContact reads the person of the {id} path value.
func (s *server) loadContact(w http.ResponseWriter, r *http.Request) (*crm.Contact, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return nil, false
	}
	c, err := s.contacts.FindContactByID(r.Context(), id)
	if err != nil {
		s.renderContactError(w, r, err)
		return nil, false
	}
	return c, true
}

// renderContactError explains that a person is gone in plain words.
func (s *server) renderContactError(w http.ResponseWriter, r *http.Request, err error) {
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		err = &crm.Error{Code: crm.ENOTFOUND, Key: "contacts.error.not_found", Message: "This person does not exist: deleted, erased or merged into someone else."}
	}
	s.renderError(w, r, err)
}

func (s *server) handleContactEdit(w http.ResponseWriter, r *http.Request) {
	c, ok := s.loadContact(w, r)
	if !ok {
		return
	}
	fields, err := s.contacts.ListCustomFields(r.Context(), "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderContactForm(w, r, http.StatusOK, c, contactFormFrom(state(r).p, c, fields))
}

func (s *server) handleContactUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	c, ok := s.loadContact(w, r)
	if !ok {
		return
	}
	fields, err := s.contacts.ListCustomFields(ctx, "contact")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, in, index := readContactForm(r, p, fields, true)
	if !f.ok() {
		cp := *in
		_, err := contact.Prepare(&cp, fields, s.contacts.Region(), false)
		mergeErrors(p, &f.form, err, fields, renumberMemberships(index))
		s.renderContactForm(w, r, http.StatusUnprocessableEntity, c, f)
		return
	}
	if _, err := s.contacts.UpdateContact(ctx, c.ID, contactUpdate(in)); err != nil {
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderContactError(w, r, err)
			return
		}
		failRecord(p, &f.form, err, fields, renumberMemberships(index))
		s.renderContactForm(w, r, problem.Status(err), c, f)
		return
	}
	redirect(w, r, "/contacts/"+strconv.FormatInt(c.ID, 10), "contact_saved")
}

// --- The person's page ---

// consentRow is one channel of the consent table.
type consentRow struct {
	Channel string
	crm.Consent
	Known bool // a decision was recorded
}

type contactPage struct {
	base
	Contact   *crm.Contact
	Fields    []*crm.CustomField
	Companies map[int64]string
	Users     *userDirectory
	Consents  []consentRow
	Timeline  timelineSection
	Panel     activityPanel
	EraseForm form
	Analytics *contactAnalytics  // the customer analytics card (analytics.go); nil without the module
	LeadScore *leadScoreCard     // the lead score (leadform.go); nil without the module
	Workflows *contactAutomation // workflows to start by hand and recent runs (workflows.go); nil without the module
	CanWrite  bool
	CanDelete bool
	CanExport bool
}

// contactPage gathers the person's page; panel carries the activity
// forms (with what was typed when one failed).
func (s *server) contactPage(r *http.Request, c *crm.Contact, panel activityPanel) (*contactPage, error) {
	ctx := r.Context()
	u := state(r).user
	d := &contactPage{base: s.page(r, "contacts.title"), Contact: c, Panel: panel, EraseForm: form{Values: map[string]string{}},
		CanWrite: u.Can(crm.PermContactsWrite), CanDelete: u.Can(crm.PermContactsDelete), CanExport: u.Can(crm.PermContactsExport)}
	d.Title = c.DisplayName()
	var err error
	if d.Fields, err = s.contacts.ListCustomFields(ctx, "contact"); err != nil {
		return nil, err
	}
	if d.Companies, err = s.companyNames(ctx, c.CompanyIDs); err != nil {
		return nil, err
	}
	if d.Users, err = s.users(ctx); err != nil {
		return nil, err
	}
	for _, ch := range crm.ConsentChannels {
		row := consentRow{Channel: ch}
		if i := slices.IndexFunc(c.Consents, func(x crm.Consent) bool { return x.Channel == ch }); i >= 0 {
			row.Consent, row.Known = c.Consents[i], true
		}
		d.Consents = append(d.Consents, row)
	}
	self := "/contacts/" + strconv.FormatInt(c.ID, 10)
	if d.Timeline, err = s.timeline(r, "contact", c.ID, self, d.Users); err != nil {
		return nil, err
	}
	if d.Analytics, err = s.customerAnalytics(r, c.ID); err != nil {
		return nil, err
	}
	if d.LeadScore, err = s.leadScore(r, c.ID); err != nil {
		return nil, err
	}
	d.Workflows = s.contactAutomation(r, c.ID)
	d.Panel.setup(r, self, d.Users)
	return d, nil
}

func (s *server) handleContactShow(w http.ResponseWriter, r *http.Request) {
	c, ok := s.loadContact(w, r)
	if !ok {
		return
	}
	d, err := s.contactPage(r, c, activityPanel{})
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "contact", d)
}

func (s *server) handleContactDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.contacts.DeleteContact(r.Context(), id); err != nil {
		s.renderContactError(w, r, err)
		return
	}
	redirect(w, r, "/contacts", "contact_deleted")
}

// handleContactErase erases a person for good, after the user typed the
// person's name to confirm.
func (s *server) handleContactErase(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	c, ok := s.loadContact(w, r)
	if !ok {
		return
	}
	typed := strings.TrimSpace(r.PostFormValue("confirm_name"))
	if text.Normalize(typed) == "" || text.Normalize(typed) != text.Normalize(c.DisplayName()) {
		d, err := s.contactPage(r, c, activityPanel{})
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		d.EraseForm = form{Values: map[string]string{"confirm_name": typed}}
		d.EraseForm.invalid(p, "confirm_name", "contacts.erase.mismatch")
		s.render(w, r, http.StatusUnprocessableEntity, "contact", d)
		return
	}
	if err := s.contacts.ErasePerson(r.Context(), c.ID); err != nil {
		s.renderContactError(w, r, err)
		return
	}
	redirect(w, r, "/contacts", "contact_erased")
}

// handleContactExportPerson downloads everything about one person as
// JSON. It is a POST: the export is audited, and a prefetch must not
// write audit entries.
func (s *server) handleContactExportPerson(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	data, err := s.contacts.ExportPerson(r.Context(), id)
	if err != nil {
		s.renderContactError(w, r, err)
		return
	}
	writeJSONDownload(w, "pivand-person-"+strconv.FormatInt(id, 10)+".json", data)
}

func (s *server) handleContactConsent(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	channel, status := r.PostFormValue("channel"), r.PostFormValue("status")
	if _, err := s.contacts.SetConsent(r.Context(), id, channel, status, "manual", strings.TrimSpace(r.PostFormValue("note"))); err != nil {
		s.renderContactError(w, r, err)
		return
	}
	redirectTo(w, r, "/contacts/"+strconv.FormatInt(id, 10), "consent_saved", "consent")
}

// redirectTo is redirect with a fragment: the page scrolls to the element
// with id anchor.
func redirectTo(w http.ResponseWriter, r *http.Request, path, notice, anchor string) {
	if notice != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "notice=" + notice
	}
	if anchor != "" {
		path += "#" + anchor
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}
