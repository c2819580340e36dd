package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/insight"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/text"
)

// Deals: the list with the board's filters and CSV export, the new and
// edit form, and a deal's page with its line items, quotes, activities,
// stage history and cross-sell suggestions.

const dealPageSize = 50

type dealIndexPage struct {
	salesBase
	salesChoices
	Deals     []*crm.Deal
	Names     *sales.Names
	Pipelines []*crm.Pipeline
	Columns   []*crm.CustomField // the deal fields shown in lists
	Filters   []*crm.CustomField // the deal fields the list filters by
	Filter    form
	Statuses  []string
	Next      string
	First     string
	Export    string
}

func (s *server) handleDealIndex(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	d := &dealIndexPage{salesBase: s.salesPage(r, "sales.deals.title", "deals"), Statuses: crm.DealStatuses}
	f, fo := dealFilterForm(p, r.URL.Query())
	d.Filter = fo
	f.Limit, f.After = dealPageSize, r.URL.Query().Get("after")
	fields, err := s.sales.DealFields(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Filters = filterFields(fields)
	for _, fd := range fields {
		if fd.ShowInList {
			d.Columns = append(d.Columns, fd)
		}
	}
	if fo.V("status") == "" {
		f.Status = crm.DealOpen
		d.Filter.Values["status"] = crm.DealOpen
	}
	status := http.StatusOK
	if fo.ok() {
		d.Deals, d.Names, d.Next, err = s.sales.ListDeals(ctx, f)
		if crm.ErrorCode(err) == crm.EINVALID && f.After != "" {
			f.After = ""
			d.Deals, d.Names, d.Next, err = s.sales.ListDeals(ctx, f)
		}
		if crm.ErrorCode(err) == crm.EINVALID {
			keys := map[string]string{"close_from": "sales.error.date", "close_to": "sales.error.date"}
			for name, msg := range crm.ErrorFields(err) {
				if key, ok := strings.CutPrefix(name, "custom."); ok {
					if k := recordFieldKey(name, msg, fields); k != "" {
						keys["cf."+key] = k
					}
				}
			}
			d.Filter.fail(p, renameCustom(err, "cf."), keys)
			err = nil
			status = http.StatusUnprocessableEntity
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	keep := filterQuery(d.Filter, append(append(salesFilterKeys, "status", "stage", "pipeline", "q", "contact", "company"), customFilterKeys(d.Filter)...)...)
	if d.Next != "" {
		nq := url.Values{}
		for k, v := range keep {
			nq[k] = v
		}
		nq.Set("after", d.Next)
		d.Next = "/sales/deals?" + nq.Encode()
	}
	if f.After != "" {
		d.First = "/sales/deals?" + keep.Encode()
	}
	d.Export = "/sales/deals/export.csv?" + keep.Encode()
	if d.Pipelines, err = s.sales.Pipelines(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.salesChoices, err = s.salesChoices(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "sales_deals", d)
}

// StageName names a deal's stage.
func (d *dealIndexPage) StageName(id int64) string { return stageLabel(d.L, d.Names.Stages[id]) }

func (s *server) handleDealExport(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f, fo := dealFilterForm(p, r.URL.Query())
	if fo.V("status") == "" {
		f.Status = crm.DealOpen
	}
	if !fo.ok() {
		s.renderError(w, r, &crm.Error{Code: crm.EINVALID, Key: "error.form_invalid", Message: "The filter is not valid."})
		return
	}
	err := s.sales.ExportCSV(r.Context(), w, f, func() {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="deals-`+nowFunc().Format("2006-01-02")+`.csv"`)
	})
	switch {
	case err == nil:
	case strings.Contains(err.Error(), sales.ErrExportStarted.Error()):
		s.log.ErrorContext(r.Context(), "web: deal export", "err", err)
	default:
		s.renderError(w, r, err)
	}
}

// --- The form ---

type dealFormPage struct {
	salesBase
	Form      form
	Deal      *crm.Deal // nil for a new deal
	Pipelines []*crm.Pipeline
	Users     []*crm.User
	Person    string // the chosen person's name
	Company   string
	Custom    []customRow // the deal fields' inputs
	// Reasons are the active lost reasons, for a deal put in a lost stage.
	Reasons []*crm.LostReason
}

var dealFormFields = []string{"title", "stage_id", "value", "currency", "value_from_lines", "person", "company", "owner_id",
	"expected_close", "source", "tags", "version", "lost_reason_id", "lost_note"}

func (s *server) handleDealNew(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := form{Values: map[string]string{"owner_id": strconv.FormatInt(state(r).user.ID, 10)}}
	for _, k := range []string{"person", "company", "stage_id", "title"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	if c := q.Get("contact"); c != "" {
		f.Values["person"] = c
	}
	s.renderDealForm(w, r, http.StatusOK, nil, f, nil)
}

func (s *server) handleDealEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.sales.Deal(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := state(r).p
	f := form{Values: map[string]string{"title": d.Title, "stage_id": strconv.FormatInt(d.StageID, 10), "currency": d.Currency,
		"value": moneyAmount(p, d.Value, d.Currency), "owner_id": strconv.FormatInt(d.OwnerID, 10), "expected_close": civilDay(p, d.ExpectedClose),
		"source": d.Source, "tags": strings.Join(d.Tags, ", "), "version": strconv.FormatInt(d.Version, 10)}}
	if d.ValueFromLines {
		f.Values["value_from_lines"] = "1"
	}
	if d.ContactID != 0 {
		f.Values["person"] = strconv.FormatInt(d.ContactID, 10)
	}
	if d.CompanyID != 0 {
		f.Values["company"] = strconv.FormatInt(d.CompanyID, 10)
	}
	s.renderDealForm(w, r, http.StatusOK, d, f, nil)
}

// renderDealForm shows the new or edit form; rows are the deal fields'
// inputs as typed (nil: from the deal, or empty).
func (s *server) renderDealForm(w http.ResponseWriter, r *http.Request, status int, deal *crm.Deal, f form, rows []customRow) {
	ctx := r.Context()
	title := "sales.deal.new"
	if deal != nil {
		title = "sales.deal.edit"
	}
	d := &dealFormPage{salesBase: s.salesPage(r, title, "deals"), Form: f, Deal: deal}
	if r.Method != http.MethodGet {
		d.Path = "/sales/deals/new"
		if deal != nil {
			d.Path = "/sales/deals/" + strconv.FormatInt(deal.ID, 10) + "/edit"
		}
	}
	var err error
	if d.Pipelines, err = s.sales.Pipelines(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	users, err := s.users(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Users = users.Active
	if d.Reasons, err = s.sales.LostReasons(ctx, true); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Custom = rows
	if rows == nil {
		fields, err := s.sales.DealFields(ctx)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		var values map[string]any
		if deal != nil {
			values = deal.Custom
		}
		d.Custom = customRows(state(r).p, fields, values)
	}
	if id, err := strconv.ParseInt(f.V("person"), 10, 64); err == nil && s.contacts != nil {
		if c, err := s.contacts.FindContactByID(ctx, id); err == nil {
			d.Person = c.DisplayName()
		}
	}
	if id, err := strconv.ParseInt(f.V("company"), 10, 64); err == nil && s.contacts != nil {
		if c, err := s.contacts.FindCompanyByID(ctx, id); err == nil {
			d.Company = c.Name
		}
	}
	s.render(w, r, status, "sales_deal_form", d)
}

// findPerson reads the deal form's person: an id, an email, a phone or a
// name that only one person has. "" is nobody.
func (s *server) findPerson(ctx context.Context, in string) (int64, bool) {
	in = strings.TrimSpace(text.ToASCIIDigits(in))
	if in == "" {
		return 0, true
	}
	if s.contacts == nil {
		return 0, false
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(in, "#"), 10, 64); err == nil && id > 0 && len(in) < 10 {
		_, err := s.contacts.FindContactByID(ctx, id)
		return id, err == nil
	}
	cs, _, err := s.contacts.ListContacts(ctx, crm.ContactFilter{Q: in, Limit: 20})
	if err != nil {
		return 0, false
	}
	norm := text.Normalize(in)
	var exact []int64
	for _, c := range cs {
		match := text.Normalize(c.DisplayName()) == norm
		for _, e := range c.Emails {
			match = match || strings.EqualFold(e.Value, in)
		}
		if e164, err := text.NormalizePhone(in, s.contactsRegion()); err == nil {
			for _, ph := range c.Phones {
				match = match || ph.Value == e164
			}
		}
		if match {
			exact = append(exact, c.ID)
		}
	}
	if len(exact) == 1 {
		return exact[0], true
	}
	if len(exact) == 0 && len(cs) == 1 {
		return cs[0].ID, true
	}
	return 0, false
}

// findCompany reads the deal form's company: an id or a name only one
// company has.
func (s *server) findCompany(ctx context.Context, in string) (int64, bool) {
	in = strings.TrimSpace(text.ToASCIIDigits(in))
	if in == "" {
		return 0, true
	}
	if s.contacts == nil {
		return 0, false
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(in, "#"), 10, 64); err == nil && id > 0 {
		_, err := s.contacts.FindCompanyByID(ctx, id)
		return id, err == nil
	}
	cs, _, err := s.contacts.ListCompanies(ctx, crm.CompanyFilter{Q: in, Limit: 20})
	if err != nil {
		return 0, false
	}
	norm := text.Normalize(in)
	var exact []int64
	for _, c := range cs {
		if text.Normalize(c.Name) == norm {
			exact = append(exact, c.ID)
		}
	}
	if len(exact) == 1 {
		return exact[0], true
	}
	if len(exact) == 0 && len(cs) == 1 {
		return cs[0].ID, true
	}
	return 0, false
}

// readDealForm reads the deal form into a DealInput (for new deals) and
// checks what only the form knows (amounts, dates, people). The deal
// fields' values come back as typed (rows) and as the service takes them;
// for an update every field has a key (nil clears it).
func (s *server) readDealForm(r *http.Request, update bool) (form, sales.DealInput, []customRow, []*crm.CustomField, error) {
	p := state(r).p
	f := newForm(r, dealFormFields...)
	fields, err := s.sales.DealFields(r.Context())
	if err != nil {
		return f, sales.DealInput{}, nil, nil, err
	}
	in := sales.DealInput{Title: f.V("title"), Currency: strings.ToUpper(f.V("currency")), Source: f.V("source"),
		ValueFromLines: f.V("value_from_lines") != ""}
	if f.V("title") == "" {
		f.invalid(p, "title", "error.required")
	}
	in.StageID, _ = strconv.ParseInt(f.V("stage_id"), 10, 64)
	// For a won or lost stage: the deal is closed as a move there closes it.
	in.LostReasonID, _ = strconv.ParseInt(f.V("lost_reason_id"), 10, 64)
	in.LostNote = f.V("lost_note")
	if v := f.V("value"); v != "" && !in.ValueFromLines {
		// Without a currency the deal takes its pipeline's: the amount is
		// read with that currency's decimals (12000000 rials, not 120000.00).
		cur := in.Currency
		if cur == "" {
			cur = s.stageCurrency(r.Context(), in.StageID)
		}
		n, err := parseMoney(v, cur)
		if err != nil {
			f.invalid(p, "value", "sales.error.amount")
		}
		in.Value = &n
	}
	if o := f.V("owner_id"); o != "" {
		id, _ := strconv.ParseInt(o, 10, 64)
		in.OwnerID = &id
	}
	if day, ok := dayInput(p, f.V("expected_close")); ok {
		in.ExpectedClose = day
	} else {
		f.invalid(p, "expected_close", "sales.error.date", "example", p.DateInput(nowFunc()))
	}
	var ok bool
	if in.ContactID, ok = s.findPerson(r.Context(), f.V("person")); !ok {
		f.invalid(p, "person", "sales.error.person")
	}
	if in.CompanyID, ok = s.findCompany(r.Context(), f.V("company")); !ok {
		f.invalid(p, "company", "sales.error.company")
	}
	for _, t := range strings.FieldsFunc(f.V("tags"), func(r rune) bool { return r == ',' || r == '،' }) {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	rows, custom := readCustom(p, r.PostForm, fields, &f, update)
	in.Custom = custom
	if !f.ok() { // not sent: say now what the service would say too
		f.mergeFail(checkDeal(in), func(f *form, err error) { failDealForm(p, f, err, fields) })
	}
	return f, in, rows, fields, nil
}

// checkDeal repeats the service's checks of a deal's currency and value,
// in its words, for a form that is not sent because it found problems of
// its own: the sales service cannot check a deal without storing it.
func checkDeal(in sales.DealInput) error {
	var v crm.Validation
	if in.Currency != "" && !sales.ValidCurrency(in.Currency) {
		v.Add("currency", "%q is not an ISO 4217 currency code (IRR, USD, EUR, AED …).", in.Currency)
	}
	if in.Value != nil && (*in.Value < 0 || *in.Value > sales.MaxAmount) {
		v.Add("value", "Use an amount from 0 to %d (in minor units).", int64(sales.MaxAmount))
	}
	return v.Err()
}

// renameCustom renames the custom.<key> fields of a validation error to
// prefix+<key> (the list's filter inputs are cf.<key>).
func renameCustom(err error, prefix string) error {
	ce, ok := asCRMError(err)
	if !ok || len(ce.Fields) == 0 {
		return err
	}
	cp := *ce
	cp.Fields = map[string]string{}
	for k, v := range ce.Fields {
		if key, ok := strings.CutPrefix(k, "custom."); ok {
			k = prefix + key
		}
		cp.Fields[k] = v
	}
	return &cp
}

// customFilterKeys are the custom-field filters (cf.<key>) of a filter
// form, sorted.
func customFilterKeys(f form) []string {
	var out []string
	for k := range f.Values {
		if strings.HasPrefix(k, "cf.") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// dealFieldKeys map the service's deal fields to the form's, and their
// messages in other languages.
var dealFieldKeys = map[string]string{"title": "error.required", "value": "sales.error.amount", "currency": "sales.error.currency",
	"contact_id": "sales.error.person", "company_id": "sales.error.company", "owner_id": "error.choose_option",
	"expected_close": "sales.error.date", "stage_id": "sales.error.stage", "pipeline_id": "sales.error.stage", "tags": "contacts.error.too_long",
	"lost_reason_id": "sales.error.lost_reason"}

var dealFieldNames = map[string]string{"contact_id": "person", "company_id": "company"}

func failDealForm(p *locale.Printer, f *form, err error, fields []*crm.CustomField) {
	if ce, ok := asCRMError(err); ok && len(ce.Fields) > 0 {
		cp := *ce
		cp.Fields = map[string]string{}
		for k, v := range ce.Fields {
			if n, ok := dealFieldNames[k]; ok {
				k = n
			}
			cp.Fields[k] = v
		}
		err = &cp
	}
	keys := map[string]string{"person": "sales.error.person", "company": "sales.error.company"}
	for name, msg := range crm.ErrorFields(err) {
		if strings.HasPrefix(name, "custom.") {
			if k := recordFieldKey(name, msg, fields); k != "" {
				keys[name] = k
			}
		}
	}
	for k, v := range dealFieldKeys {
		if _, renamed := dealFieldNames[k]; !renamed {
			keys[k] = v
		}
	}
	f.fail(p, err, keys)
}

func (s *server) handleDealCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f, in, rows, fields, err := s.readDealForm(r, false)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if f.ok() {
		d, err := s.sales.CreateDeal(r.Context(), in)
		if err == nil {
			redirect(w, r, "/sales/deals/"+strconv.FormatInt(d.ID, 10), "deal_created")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		failDealForm(p, &f, err, fields)
	}
	s.renderDealForm(w, r, http.StatusUnprocessableEntity, nil, f, rows)
}

func (s *server) handleDealUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	cur, err := s.sales.Deal(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, in, rows, fields, err := s.readDealForm(r, true)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if f.ok() {
		version, _ := strconv.ParseInt(f.V("version"), 10, 64)
		owner := int64(0)
		if in.OwnerID != nil {
			owner = *in.OwnerID
		}
		up := sales.DealUpdate{Title: &in.Title, Currency: &in.Currency, ValueFromLines: &in.ValueFromLines, ContactID: &in.ContactID,
			CompanyID: &in.CompanyID, OwnerID: &owner, ExpectedClose: &in.ExpectedClose, Source: &in.Source, Tags: &in.Tags,
			Custom: in.Custom, LostReasonID: in.LostReasonID, LostNote: in.LostNote, Version: version}
		if !in.ValueFromLines {
			v := int64(0)
			if in.Value != nil {
				v = *in.Value
			}
			up.Value = &v
		}
		if in.StageID != 0 && in.StageID != cur.StageID {
			// A stage of another pipeline moves the deal there; of its own,
			// the change is a move, after the other changes. Either way in
			// one call: a refused move (no lost reason) saves nothing.
			up.StageID, up.MoveStage = &in.StageID, true
			if pl, err := s.sales.Pipeline(ctx, cur.PipelineID); err == nil {
				if _, same := sales.StageOf(pl, in.StageID); !same {
					pid := s.pipelineOfStage(ctx, in.StageID)
					up.PipelineID = &pid
				}
			}
		}
		if _, err = s.sales.UpdateDeal(ctx, id, up); err == nil {
			redirect(w, r, "/sales/deals/"+strconv.FormatInt(id, 10), "deal_saved")
			return
		}
		if code := crm.ErrorCode(err); code == crm.ECONFLICT {
			f.Error = &message{Text: p.T("sales.error.changed_meanwhile")}
			if cur, err = s.sales.Deal(ctx, id); err == nil {
				f.Values["version"] = strconv.FormatInt(cur.Version, 10)
			}
		} else if code != crm.EINVALID {
			s.renderError(w, r, err)
			return
		} else {
			failDealForm(p, &f, err, fields)
		}
	}
	s.renderDealForm(w, r, http.StatusUnprocessableEntity, cur, f, rows)
}

// stageCurrency is the currency of the pipeline of a stage (the first
// pipeline's for 0), "" when there is none.
func (s *server) stageCurrency(ctx context.Context, stageID int64) string {
	ps, err := s.sales.Pipelines(ctx)
	if err != nil || len(ps) == 0 {
		return ""
	}
	for _, p := range ps {
		if _, ok := sales.StageOf(p, stageID); ok {
			return p.Currency
		}
	}
	return ps[0].Currency
}

// pipelineOfStage finds the pipeline a stage belongs to (0: none).
func (s *server) pipelineOfStage(ctx context.Context, stageID int64) int64 {
	ps, err := s.sales.Pipelines(ctx)
	if err != nil {
		return 0
	}
	for _, p := range ps {
		if _, ok := sales.StageOf(p, stageID); ok {
			return p.ID
		}
	}
	return 0
}

func (s *server) handleDealDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.sales.DeleteDeal(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/sales/deals", "deal_deleted")
}

// --- A deal's page ---

// dealForms are the small forms of a deal's page, with what was typed and
// what is wrong.
type dealForms struct {
	Move     form
	Line     form
	Quote    form
	Activity form
}

type dealPage struct {
	salesBase
	dealForms
	View       *sales.DealView
	Deal       *crm.Deal
	Stage      crm.Stage
	Products   []*crm.Product
	Reasons    []*crm.LostReason
	Users      []*crm.User
	Tasks      []*crm.Task
	History    timelineSection
	CrossSell  []crossSellItem
	QuotePref  string
	CanTasks   bool
	Kinds      []string
	Self       string
	Subtotal   int64
	Discount   int64
	Tax        int64
	Total      int64
	Suggesting bool               // cross-sell is installed
	Fields     []*crm.CustomField // the deal fields, for its values
}

// crossSellItem is an item often bought with the deal's, and the product
// of the catalogue that sells it (nil: none).
type crossSellItem struct {
	insight.Suggestion
	Product *crm.Product
}

// QuoteNo formats a quote's number with the prefix.
func (d *dealPage) QuoteNo(n int64) string { return d.L.Digits(d.QuotePref + strconv.FormatInt(n, 10)) }

// StageTime formats a time spent in a stage: days, or hours under a day.
func (d *dealPage) StageTime(t time.Duration) string { return durationText(d.L, t) }

func durationText(p *locale.Printer, t time.Duration) string {
	switch {
	case t >= 48*time.Hour:
		return p.T("sales.duration.days", "count", int64(t/(24*time.Hour)))
	case t >= 2*time.Hour:
		return p.T("sales.duration.hours", "count", int64(t/time.Hour))
	case t >= time.Hour:
		return p.T("sales.duration.hour")
	case t >= time.Minute && t < 2*time.Minute:
		return p.T("sales.duration.minute")
	}
	return p.T("sales.duration.minutes", "count", int64(t/time.Minute))
}

// dealCount is "1 deal", "3 deals".
func dealCount(p *locale.Printer, n int64) string {
	if n == 1 {
		return p.T("sales.board.count_one")
	}
	return p.T("sales.board.count", "count", n)
}

// UserName names a user.
func (d *dealPage) UserName(id int64) string {
	if n := d.View.Names.Users[id]; n != "" {
		return n
	}
	for _, u := range d.Users {
		if u.ID == id {
			return displayName(u)
		}
	}
	return ""
}

func (s *server) handleDealShow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	s.renderDeal(w, r, id, http.StatusOK, dealForms{})
}

func (s *server) renderDeal(w http.ResponseWriter, r *http.Request, id int64, status int, forms dealForms) {
	ctx := r.Context()
	st := state(r)
	v, err := s.sales.DealPage(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &dealPage{salesBase: s.salesPage(r, "sales.deal.title", "deals"), dealForms: forms, View: v, Deal: v.Deal,
		Kinds: crm.ActivityKinds, Self: "/sales/deals/" + strconv.FormatInt(id, 10), CanTasks: s.activity != nil && st.user.Can(crm.PermContactsWrite)}
	d.Title = v.Deal.Title
	if r.Method != http.MethodGet {
		d.Path = d.Self
	}
	for _, f := range []*form{&d.Move, &d.Line, &d.Quote, &d.Activity} {
		if f.Values == nil {
			f.Values = map[string]string{}
		}
	}
	if d.Activity.V("assignee_id") == "" {
		d.Activity.Values["assignee_id"] = strconv.FormatInt(st.user.ID, 10)
	}
	d.Stage, _ = sales.StageOf(v.Pipeline, v.Deal.StageID)
	if d.Fields, err = s.sales.DealFields(ctx); err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Subtotal, d.Discount, d.Tax, d.Total = sales.LinesTotals(v.Deal.Lines)
	active := true
	if d.Products, _, err = s.sales.Products(ctx, sales.ProductFilter{Active: &active, Limit: 200}); err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Reasons, err = s.sales.LostReasons(ctx, true); err != nil {
		s.renderError(w, r, err)
		return
	}
	users, err := s.users(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.Users = users.Active
	if s.activity != nil && st.user.Can(crm.PermContactsRead) {
		if d.Tasks, _, err = s.activity.ListTasks(ctx, crm.TaskFilter{DealID: id, Limit: 100}); err != nil {
			s.renderError(w, r, err)
			return
		}
	}
	settings, err := s.sales.Settings(ctx)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d.QuotePref = settings.QuotePrefix
	events, err := s.sales.DealEvents(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, ev := range events {
		it := activity.Item{Event: ev, Kind: ev.Type}
		if ev.ActorID != 0 {
			it.Actor = &activity.Actor{ID: ev.ActorID, Name: users.Names[ev.ActorID], Email: users.Emails[ev.ActorID]}
		}
		d.History.Entries = append(d.History.Entries, s.timelineEntry(r, st, it, d.Self, users))
	}
	if s.insight != nil && st.user.Can(crm.PermOrdersRead) && len(v.Deal.Lines) > 0 {
		d.Suggesting = true
		d.CrossSell = s.dealCrossSell(ctx, v.Deal)
	}
	s.render(w, r, status, "sales_deal", d)
}

// dealCrossSell asks the analytics for items bought with the deal's line
// items, and finds those the catalogue sells. Failures only hide them.
func (s *server) dealCrossSell(ctx context.Context, d *crm.Deal) []crossSellItem {
	var have []string
	for _, l := range d.Lines {
		if k := itemKey(l.SKU, l.Name); k != "" && !slices.Contains(have, k) {
			have = append(have, k)
		}
	}
	sugg, err := s.insight.CrossSell(ctx, have, 5)
	if err != nil || len(sugg) == 0 {
		return nil
	}
	var skus []string
	for _, sg := range sugg {
		if sg.Item.SKU != "" {
			skus = append(skus, sg.Item.SKU)
		}
	}
	products, _ := s.sales.ProductsBySKU(ctx, skus)
	out := make([]crossSellItem, len(sugg))
	for i, sg := range sugg {
		out[i] = crossSellItem{Suggestion: sg}
		if p := products[sg.Item.SKU]; p != nil && p.Currency == d.Currency {
			out[i].Product = p
		}
	}
	return out
}

// itemKey names a line as the basket analysis names items.
func itemKey(sku, name string) string {
	if s := strings.TrimSpace(sku); s != "" {
		return "sku:" + s
	}
	if n := strings.TrimSpace(name); n != "" {
		return "name:" + n
	}
	return ""
}

// --- The deal page's forms ---

func (s *server) handleDealLineAdd(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.sales.Deal(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := newForm(r, "product_id", "name", "quantity", "unit_price", "discount", "tax_rate")
	in := sales.LineInput{Name: f.V("name")}
	in.ProductID, _ = strconv.ParseInt(f.V("product_id"), 10, 64)
	if v := f.V("quantity"); v != "" {
		n, err := p.ParseInt(v)
		if err != nil {
			f.invalid(p, "quantity", "sales.error.quantity")
		}
		in.Quantity = &n
	}
	if v := f.V("unit_price"); v != "" {
		n, err := parseMoney(v, d.Currency)
		if err != nil {
			f.invalid(p, "unit_price", "sales.error.amount")
		}
		in.UnitPrice = &n
	}
	if v := f.V("discount"); v != "" {
		n, err := parseMoney(v, d.Currency)
		if err != nil {
			f.invalid(p, "discount", "sales.error.amount")
		}
		in.Discount = n
	}
	if v := f.V("tax_rate"); v != "" {
		n, err := parsePercent(v)
		if err != nil {
			f.invalid(p, "tax_rate", "sales.error.tax_rate")
		}
		in.TaxRate = &n
	}
	if f.ok() {
		if _, err = s.sales.AddLine(ctx, id, in); err == nil {
			redirectTo(w, r, "/sales/deals/"+strconv.FormatInt(id, 10), "line_added", "lines")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"quantity": "sales.error.quantity", "unit_price": "sales.error.amount", "discount": "sales.error.discount",
			"tax_rate": "sales.error.tax_rate", "product_id": "sales.error.product", "name": "sales.error.line_name", "currency": "sales.error.currency"})
	}
	s.renderDeal(w, r, id, http.StatusUnprocessableEntity, dealForms{Line: f})
}

// parsePercent reads a percent typed with any digits ("9", "9.5", "۹٫۵")
// as hundredths of a percent (900, 950).
func parsePercent(s string) (int64, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	s = strings.TrimSuffix(s, "٪")
	return parseMoney(s, "USD") // two decimals: hundredths
}

// PercentOf shows a tax rate (hundredths of a percent) as a percent.
// 1000 is "10%", 950 "9.5%", in the user's digits and percent sign.
func (b *salesBase) PercentOf(rate int64) string {
	n := strconv.FormatInt(rate/100, 10)
	if frac := rate % 100; frac != 0 {
		n += "." + strings.TrimRight(fmt.Sprintf("%02d", frac), "0")
	}
	return b.L.T("reports.percent", "n", b.L.Digits(strings.Replace(n, ".", decimalSep(b.L), 1)))
}

func (s *server) handleDealLineDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	line, err := strconv.ParseInt(r.PathValue("line"), 10, 64)
	if !ok || err != nil {
		s.notFound(w, r)
		return
	}
	if _, err := s.sales.RemoveLine(r.Context(), id, line); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirectTo(w, r, "/sales/deals/"+strconv.FormatInt(id, 10), "line_removed", "lines")
}

// handleDealValueMode turns the sum of the line items on or off as the
// deal's value.
func (s *server) handleDealValueMode(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	on := r.PostFormValue("value_from_lines") == "1"
	version, _ := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if _, err := s.sales.UpdateDeal(r.Context(), id, sales.DealUpdate{ValueFromLines: &on, Version: version}); err != nil {
		if crm.ErrorCode(err) == crm.ECONFLICT {
			redirectTo(w, r, "/sales/deals/"+strconv.FormatInt(id, 10), "deal_changed_meanwhile", "lines")
			return
		}
		s.renderError(w, r, err)
		return
	}
	redirectTo(w, r, "/sales/deals/"+strconv.FormatInt(id, 10), "deal_saved", "lines")
}

func (s *server) handleQuoteCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r, "valid_until", "notes")
	f.Values["notes"] = strings.TrimSpace(r.PostFormValue("notes"))
	in := sales.QuoteInput{Notes: f.V("notes")}
	if day, ok := dayInput(p, f.V("valid_until")); ok {
		in.ValidUntil = day
	} else {
		f.invalid(p, "valid_until", "sales.error.date", "example", p.DateInput(nowFunc()))
	}
	if f.ok() {
		q, err := s.sales.CreateQuote(r.Context(), id, in)
		if err == nil {
			redirect(w, r, "/sales/quotes/"+strconv.FormatInt(q.ID, 10), "quote_created")
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, map[string]string{"lines": "sales.error.quote_lines", "valid_until": "sales.error.date", "notes": "contacts.error.too_long"})
	}
	s.renderDeal(w, r, id, http.StatusUnprocessableEntity, dealForms{Quote: f})
}

// handleDealActivity adds a task, call or meeting about the deal (and its
// person and company).
func (s *server) handleDealActivity(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok || s.activity == nil {
		s.notFound(w, r)
		return
	}
	if _, err := s.sales.Deal(r.Context(), id); err != nil {
		s.renderError(w, r, err)
		return
	}
	f, in := readTaskForm(r, p)
	in.DealID = id
	if f.ok() {
		t, err := s.activity.CreateTask(r.Context(), in)
		if err == nil {
			redirectTo(w, r, "/sales/deals/"+strconv.FormatInt(id, 10), "task_added", "task-"+strconv.FormatInt(t.ID, 10))
			return
		}
		if crm.ErrorCode(err) != crm.EINVALID {
			s.renderError(w, r, err)
			return
		}
		failActivity(p, &f, err, map[string]string{"due_at": "due_date", "remind_at": "remind_date"})
	}
	s.renderDeal(w, r, id, http.StatusUnprocessableEntity, dealForms{Activity: f})
}
