package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/text"
)

// The person and company forms. Inputs are named like the service's
// fields ("first_name", "emails[1]", "addresses[0].city", "custom.vip"),
// so an error the service reports for a field lands next to its input.
// Lists show what is stored plus two empty rows; that is enough without
// JavaScript, and app.js adds an "Add another" button.

const (
	emptyRows = 2  // empty email, phone, address and company rows on a form
	maxRows   = 20 // the most rows of one kind a form reads
)

// labeledRow is one email or phone row.
type labeledRow struct {
	Name  string // "emails[0]"; the label input is Name + ".label"
	Value string
	Label string
}

// addressRow is one postal address row.
type addressRow struct {
	Name string // "addresses[0]"; inputs are Name + ".street" and so on
	crm.Address
}

// membershipRow is one "works at" row of the person form.
type membershipRow struct {
	Name      string // "memberships[0]"
	CompanyID int64
	Role      string
}

// customRow is the input of one custom field.
type customRow struct {
	Field  *crm.CustomField
	Name   string   // "custom.<key>"
	Value  string   // as typed (every type but multi select)
	Values []string // multi select: the ticked choices
}

// recordForm is what the person and company forms share.
type recordForm struct {
	form
	Emails    []labeledRow
	Phones    []labeledRow
	Addresses []addressRow
	Custom    []customRow
}

// contactForm is the person form.
type contactForm struct {
	recordForm
	Memberships []membershipRow
	Duplicates  []crm.DuplicateMatch // set when saving found look-alikes
}

// OK reports whether the form has no errors, for templates.
func (f form) OK() bool { return f.ok() }

// Errs returns the errors of the fields whose names start with prefix,
// in name order: an address row's errors shown under the row.
func (f form) Errs(prefix string) []string {
	var names []string
	for n := range f.Errors {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !slices.Contains(out, f.Errors[n]) {
			out = append(out, f.Errors[n])
		}
	}
	return out
}

// labelChoices are the labels offered for emails, phones and addresses.
var labelChoices = []string{"work", "home", "mobile", "other"}

// LabelChoices lists the label menu of a row: the usual labels, plus the
// row's own when it is another.
func (r labeledRow) LabelChoices() []string { return withLabel(r.Label) }

// LabelChoices is labeledRow.LabelChoices for an address.
func (r addressRow) LabelChoices() []string { return withLabel(r.Label) }

func withLabel(l string) []string {
	if l == "" || slices.Contains(labelChoices, l) {
		return labelChoices
	}
	return append(slices.Clone(labelChoices), l)
}

// labeledRows returns rows for stored values plus the empty ones.
func labeledRows(kind string, in []crm.Labeled) []labeledRow {
	var out []labeledRow
	for _, l := range in {
		out = append(out, labeledRow{Value: l.Value, Label: l.Label})
	}
	for i := 0; i < emptyRows && len(out) < maxRows; i++ {
		out = append(out, labeledRow{})
	}
	for i := range out {
		out[i].Name = fmt.Sprintf("%s[%d]", kind, i)
	}
	return out
}

func addressRows(in []crm.Address) []addressRow {
	var out []addressRow
	for _, a := range in {
		out = append(out, addressRow{Address: a})
	}
	for i := 0; i < emptyRows && len(out) < maxRows; i++ {
		out = append(out, addressRow{})
	}
	for i := range out {
		out[i].Name = fmt.Sprintf("addresses[%d]", i)
	}
	return out
}

func membershipRows(in []crm.Membership) []membershipRow {
	var out []membershipRow
	for _, m := range in {
		out = append(out, membershipRow{CompanyID: m.CompanyID, Role: m.Role})
	}
	for i := 0; i < emptyRows && len(out) < maxRows; i++ {
		out = append(out, membershipRow{})
	}
	for i := range out {
		out[i].Name = fmt.Sprintf("memberships[%d]", i)
	}
	return out
}

// customRows returns the inputs of fields with the stored values.
func customRows(p *locale.Printer, fields []*crm.CustomField, values map[string]any) []customRow {
	out := make([]customRow, 0, len(fields))
	for _, f := range fields {
		row := customRow{Field: f, Name: "custom." + f.Key}
		if f.Type == crm.FieldMultiSelect {
			row.Values = customList(values[f.Key])
		} else {
			row.Value = customInput(p, f, values[f.Key])
		}
		out = append(out, row)
	}
	return out
}

// rowCount returns how many indexed rows of kind ("emails") were posted:
// rows are numbered from 0 without gaps, by the server and by app.js.
func rowCount(pf url.Values, kind, suffix string) int {
	n := 0
	for n < maxRows {
		if _, ok := pf[fmt.Sprintf("%s[%d]%s", kind, n, suffix)]; !ok {
			break
		}
		n++
	}
	return n
}

// readLabeled reads the email or phone rows.
func readLabeled(pf url.Values, kind string) ([]labeledRow, []crm.Labeled) {
	var (
		rows []labeledRow
		vals []crm.Labeled
	)
	for i := range rowCount(pf, kind, "") {
		name := fmt.Sprintf("%s[%d]", kind, i)
		row := labeledRow{Name: name, Value: strings.TrimSpace(pf.Get(name)), Label: strings.TrimSpace(pf.Get(name + ".label"))}
		rows = append(rows, row)
		vals = append(vals, crm.Labeled{Value: row.Value, Label: row.Label})
	}
	return padLabeled(kind, rows), vals
}

// padLabeled keeps at least one empty row at the end, so the person can
// add another after an error.
func padLabeled(kind string, rows []labeledRow) []labeledRow {
	if len(rows) == 0 || rows[len(rows)-1].Value != "" {
		if len(rows) < maxRows {
			rows = append(rows, labeledRow{Name: fmt.Sprintf("%s[%d]", kind, len(rows))})
		}
	}
	return rows
}

var addressParts = []string{"street", "city", "region", "postal_code", "country"}

func readAddresses(pf url.Values) ([]addressRow, []crm.Address) {
	var (
		rows []addressRow
		vals []crm.Address
	)
	n := 0
	for n < maxRows {
		found := false
		for _, part := range append(addressParts, "label") {
			if _, ok := pf[fmt.Sprintf("addresses[%d].%s", n, part)]; ok {
				found = true
			}
		}
		if !found {
			break
		}
		n++
	}
	for i := range n {
		name := fmt.Sprintf("addresses[%d]", i)
		get := func(part string) string { return strings.TrimSpace(pf.Get(name + "." + part)) }
		a := crm.Address{Label: get("label"), Street: get("street"), City: get("city"), Region: get("region"),
			PostalCode: get("postal_code"), Country: get("country")}
		rows = append(rows, addressRow{Name: name, Address: a})
		vals = append(vals, a)
	}
	if len(rows) < maxRows && (len(rows) == 0 || !emptyAddress(rows[len(rows)-1].Address)) {
		rows = append(rows, addressRow{Name: fmt.Sprintf("addresses[%d]", len(rows))})
	}
	return rows, vals
}

func emptyAddress(a crm.Address) bool {
	return a.Street == "" && a.City == "" && a.Region == "" && a.PostalCode == "" && a.Country == ""
}

// readCustom reads the custom field inputs into values the service
// accepts. Dates typed in the user's calendar become Gregorian, money
// becomes minor units; what cannot be read is marked on the form. With
// all, every field gets a key (nil clears it), for updates.
func readCustom(p *locale.Printer, pf url.Values, fields []*crm.CustomField, f *form, all bool) ([]customRow, map[string]any) {
	rows := make([]customRow, 0, len(fields))
	values := map[string]any{}
	for _, fd := range fields {
		row := customRow{Field: fd, Name: "custom." + fd.Key}
		var v any
		if fd.Type == crm.FieldMultiSelect {
			for _, x := range pf[row.Name] {
				if x = strings.TrimSpace(x); x != "" {
					row.Values = append(row.Values, x)
				}
			}
			if len(row.Values) > 0 {
				v = row.Values
			}
		} else {
			row.Value = strings.TrimSpace(pf.Get(row.Name))
			v = customFormValue(p, fd, row.Value, f, row.Name)
		}
		rows = append(rows, row)
		if v != nil || all {
			values[fd.Key] = v
		}
	}
	return rows, values
}

// customFormValue converts one typed custom value, or marks it invalid.
func customFormValue(p *locale.Printer, fd *crm.CustomField, s string, f *form, name string) any {
	if s == "" {
		return nil
	}
	switch fd.Type {
	case crm.FieldDate:
		d, err := parseCivil(p, s, false)
		if err != nil {
			f.invalid(p, name, "error.date_example", "example", p.DateInput(nowFunc()))
			return nil
		}
		return d
	case crm.FieldMoney:
		n, err := parseMoney(s, fd.Currency)
		if err != nil {
			f.invalid(p, name, "contacts.error.money")
			return nil
		}
		return strconv.FormatInt(n, 10)
	case crm.FieldNumber:
		return strings.NewReplacer("٫", ".", "٬", "", ",", "").Replace(text.ToASCIIDigits(s))
	}
	return s
}

// splitTags reads comma-separated tags (Latin or Arabic commas).
func splitTags(s string) []string {
	var out []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '،' || r == '؛' || r == ';' || r == '\n' }) {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// contactScalars are the single-valued inputs of the person form.
var contactScalars = []string{"prefix", "first_name", "middle_name", "last_name", "suffix", "birthday",
	"language", "source", "owner_id", "tags", "notes"}

// contactFormFrom fills the person form with a stored person.
func contactFormFrom(p *locale.Printer, c *crm.Contact, fields []*crm.CustomField) contactForm {
	f := contactForm{}
	f.Values = map[string]string{
		"prefix": c.Prefix, "first_name": c.FirstName, "middle_name": c.MiddleName, "last_name": c.LastName,
		"suffix": c.Suffix, "language": c.Language, "source": c.Source, "notes": c.Notes,
		"tags": strings.Join(c.Tags, p.T("list.separator")),
	}
	if c.Birthday != "" {
		f.Values["birthday"] = civilInput(p, c.Birthday)
	}
	if c.OwnerID != nil {
		f.Values["owner_id"] = strconv.FormatInt(*c.OwnerID, 10)
	}
	f.Emails = labeledRows("emails", c.Emails)
	f.Phones = labeledRows("phones", c.Phones)
	f.Addresses = addressRows(c.Addresses)
	f.Memberships = membershipRows(c.Memberships)
	f.Custom = customRows(p, fields, c.Custom)
	return f
}

// readContactForm reads the posted person form into the form (for
// showing again) and a person (for the service). forUpdate gives every
// custom field a value, nil to clear it. The memberships of the person
// leave out rows without a company; memberIndex maps their positions
// back to the form's rows.
func readContactForm(r *http.Request, p *locale.Printer, fields []*crm.CustomField, forUpdate bool) (contactForm, *crm.Contact, []int) {
	r.ParseForm()
	pf := r.PostForm
	f := contactForm{}
	f.form = newForm(r, contactScalars...)
	f.Values["notes"] = strings.TrimSpace(pf.Get("notes"))
	c := &crm.Contact{
		Prefix: f.V("prefix"), FirstName: f.V("first_name"), MiddleName: f.V("middle_name"), LastName: f.V("last_name"),
		Suffix: f.V("suffix"), Language: f.V("language"), Source: f.V("source"), Notes: f.V("notes"),
		Tags: splitTags(f.V("tags")),
	}
	if bd, err := parseCivil(p, f.V("birthday"), true); err != nil {
		f.invalid(p, "birthday", "error.date_example", "example", p.DateInput(nowFunc().AddDate(-30, 0, 0)))
	} else {
		c.Birthday = bd
	}
	if v := f.V("owner_id"); v != "" {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			c.OwnerID = &id
		}
	}
	f.Emails, c.Emails = readLabeled(pf, "emails")
	f.Phones, c.Phones = readLabeled(pf, "phones")
	f.Addresses, c.Addresses = readAddresses(pf)

	var index []int
	for i := range rowCount(pf, "memberships", ".company_id") {
		name := fmt.Sprintf("memberships[%d]", i)
		row := membershipRow{Name: name, Role: strings.TrimSpace(pf.Get(name + ".role"))}
		row.CompanyID, _ = strconv.ParseInt(pf.Get(name+".company_id"), 10, 64)
		f.Memberships = append(f.Memberships, row)
		if row.CompanyID > 0 {
			c.Memberships = append(c.Memberships, crm.Membership{CompanyID: row.CompanyID, Role: row.Role})
			index = append(index, i)
		} else if row.Role != "" {
			f.invalid(p, name+".company_id", "contacts.error.company")
		}
	}
	if n := len(f.Memberships); n < maxRows && (n == 0 || f.Memberships[n-1].CompanyID != 0) {
		f.Memberships = append(f.Memberships, membershipRow{Name: fmt.Sprintf("memberships[%d]", n)})
	}
	f.Custom, c.Custom = readCustom(p, pf, fields, &f.form, forUpdate)
	return f, c, index
}

// failRecord puts a service error on a person or company form: each
// field's message next to its input (in English the service's own
// sentence, in Persian and Arabic a translated one), and what belongs to
// no input in the form-wide message. rename maps a service field name to
// the form's (memberships are renumbered).
func failRecord(p *locale.Printer, f *form, err error, fields []*crm.CustomField, rename func(string) string) {
	if rename != nil {
		if ce, ok := asCRMError(err); ok && len(ce.Fields) > 0 {
			cp := *ce
			cp.Fields = map[string]string{}
			for k, v := range ce.Fields {
				cp.Fields[rename(k)] = v
			}
			err = &cp
		}
	}
	keys := map[string]string{}
	for name, msg := range crm.ErrorFields(err) {
		if k := recordFieldKey(name, msg, fields); k != "" {
			keys[name] = k
		}
	}
	f.fail(p, err, keys)
}

// recordFieldKey chooses the catalog key that explains a field error in
// Persian and Arabic, or "" for fields that have no input on the forms.
func recordFieldKey(name, msg string, fields []*crm.CustomField) string {
	base, _, _ := strings.Cut(name, "[")
	switch {
	case strings.Contains(msg, "Longer than"), strings.Contains(msg, "longer than"):
		return "contacts.error.too_long"
	case strings.HasSuffix(msg, "is required."), msg == "Name is required.":
		return "error.required"
	}
	switch base {
	case "emails":
		return "error.email_invalid"
	case "phones":
		return "contacts.error.phone"
	case "addresses":
		return "contacts.error.too_long"
	case "memberships":
		return "contacts.error.company"
	case "first_name":
		return "contacts.error.identity"
	case "middle_name", "last_name", "prefix", "suffix", "source", "notes", "industry":
		return "contacts.error.too_long"
	case "birthday":
		return "contacts.error.birthday"
	case "language":
		return "contacts.error.language"
	case "owner_id":
		return "contacts.error.owner"
	case "tags":
		return "contacts.error.tags"
	case "name":
		return "error.required"
	case "domain":
		return "companies.error.domain"
	case "size":
		return "error.choose_option"
	}
	if key, ok := strings.CutPrefix(name, "custom."); ok {
		for _, fd := range fields {
			if fd.Key != key {
				continue
			}
			switch fd.Type {
			case crm.FieldSelect, crm.FieldMultiSelect, crm.FieldBoolean:
				return "error.choose_option"
			case crm.FieldNumber:
				return "error.number_invalid"
			case crm.FieldMoney:
				return "contacts.error.money"
			case crm.FieldDate:
				return "error.date_invalid"
			case crm.FieldEmail:
				return "error.email_invalid"
			case crm.FieldPhone:
				return "contacts.error.phone"
			case crm.FieldURL:
				return "contacts.error.url"
			}
			return "contacts.error.too_long"
		}
	}
	return ""
}

// renumberMemberships maps "memberships[k]…" of the person sent to the
// service back to the form row it came from.
func renumberMemberships(index []int) func(string) string {
	return func(name string) string {
		rest, ok := strings.CutPrefix(name, "memberships[")
		if !ok {
			return name
		}
		num, tail, ok := strings.Cut(rest, "]")
		k, err := strconv.Atoi(num)
		if !ok || err != nil || k < 0 || k >= len(index) {
			return name
		}
		return fmt.Sprintf("memberships[%d]%s", index[k], tail)
	}
}

// contactUpdate turns a person read from the form into a full update:
// every field the form shows is set.
func contactUpdate(c *crm.Contact) crm.ContactUpdate {
	owner := c.OwnerID
	memberships := c.Memberships
	if memberships == nil {
		memberships = []crm.Membership{}
	}
	return crm.ContactUpdate{
		Prefix: &c.Prefix, FirstName: &c.FirstName, MiddleName: &c.MiddleName, LastName: &c.LastName, Suffix: &c.Suffix,
		Emails: &c.Emails, Phones: &c.Phones, Addresses: &c.Addresses, Birthday: &c.Birthday, Language: &c.Language,
		Source: &c.Source, OwnerID: &owner, Tags: &c.Tags, Notes: &c.Notes, Memberships: &memberships, Custom: c.Custom,
	}
}

// languageChoices are the languages offered for a person, by code, with
// names in the language itself.
var languageChoices = []choice{
	{Value: "fa", Label: "فارسی", Lang: "fa"},
	{Value: "ar", Label: "العربية", Lang: "ar"},
	{Value: "en", Label: "English", Lang: "en"},
	{Value: "tr", Label: "Türkçe", Lang: "tr"},
	{Value: "az", Label: "Azərbaycanca", Lang: "az"},
	{Value: "ku", Label: "Kurdî", Lang: "ku"},
	{Value: "ur", Label: "اردو", Lang: "ur"},
	{Value: "ps", Label: "پښتو", Lang: "ps"},
	{Value: "fr", Label: "Français", Lang: "fr"},
	{Value: "de", Label: "Deutsch", Lang: "de"},
	{Value: "ru", Label: "Русский", Lang: "ru"},
	{Value: "zh", Label: "中文", Lang: "zh"},
}

// languageMenu is languageChoices plus the current value when it is
// another code.
func languageMenu(current string) []choice {
	if current == "" || slices.ContainsFunc(languageChoices, func(c choice) bool { return c.Value == current }) {
		return languageChoices
	}
	return append(slices.Clone(languageChoices), choice{Value: current, Label: current})
}

// languageName names a language code in that language.
func languageName(code string) string {
	for _, c := range languageChoices {
		if c.Value == code {
			return c.Label
		}
	}
	return code
}

// mergeErrors adds the field errors of err to f where f has none yet: the
// service's checks, run on a copy when the form already failed its own
// (a date it could not read), so that every problem shows at once.
func mergeErrors(p *locale.Printer, f *form, err error, fields []*crm.CustomField, rename func(string) string) {
	f.mergeFail(err, func(f *form, err error) { failRecord(p, f, err, fields, rename) })
}
