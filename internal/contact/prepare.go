package contact

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/customfield"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/text"
)

// Limits on what one record may hold.
const (
	maxNameLen    = 200
	maxShortLen   = 300
	maxNotesLen   = 20000
	maxListLen    = 20 // emails, phones, addresses
	maxTags       = 50
	maxTagLen     = 60
	maxCustomText = 1000
)

// Prepare normalises and validates a person in place, returning the
// derived values the store indexes. Field names in errors follow the JSON
// shape ("emails[1]", "custom.vip"). Importers call it too, so a CSV row and
// an API request obey the same rules.
func Prepare(c *crm.Contact, fields []*crm.CustomField, region string, requireCustom bool) (*store.ContactRow, error) {
	return prepare(c, fields, region, requireCustom, false)
}

// prepareImported is Prepare for a row of an import file. The file reader
// has already normalised its phone numbers with text.NormalizePhone in the
// import's region, so a number in E.164 form is taken as it is instead of
// being parsed and validated a second time (the parse is the most costly
// part of preparing a row).
func prepareImported(c *crm.Contact, fields []*crm.CustomField, region string) (*store.ContactRow, error) {
	return prepare(c, fields, region, true, true)
}

func prepare(c *crm.Contact, fields []*crm.CustomField, region string, requireCustom, phonesNormalized bool) (*store.ContactRow, error) {
	var v crm.Validation
	c.Prefix = clean(&v, "prefix", c.Prefix, 40)
	c.FirstName = clean(&v, "first_name", c.FirstName, maxNameLen)
	c.MiddleName = clean(&v, "middle_name", c.MiddleName, maxNameLen)
	c.LastName = clean(&v, "last_name", c.LastName, maxNameLen)
	c.Suffix = clean(&v, "suffix", c.Suffix, 40)
	c.Source = clean(&v, "source", c.Source, 100)
	c.Notes = cleanLong(&v, "notes", c.Notes, maxNotesLen)
	c.Emails = prepareEmails(&v, "emails", c.Emails)
	c.Phones = normalizePhones(&v, "phones", c.Phones, region, phonesNormalized)
	c.Addresses = prepareAddresses(&v, "addresses", c.Addresses)
	c.Tags = prepareTags(&v, "tags", c.Tags)
	c.Birthday = prepareBirthday(&v, "birthday", c.Birthday)
	c.Language = strings.ToLower(strings.TrimSpace(c.Language))
	if c.Language != "" && !langRe.MatchString(c.Language) {
		v.Add("language", "Use a language code such as en, fa or ar.")
	}
	if c.OwnerID != nil && *c.OwnerID <= 0 {
		c.OwnerID = nil
	}
	seen := map[int64]bool{}
	var ms []crm.Membership
	for i, m := range c.Memberships {
		if m.CompanyID <= 0 {
			v.Add(fmt.Sprintf("memberships[%d].company_id", i), "Choose a company.")
			continue
		}
		if seen[m.CompanyID] {
			continue
		}
		seen[m.CompanyID] = true
		m.Role = clean(&v, fmt.Sprintf("memberships[%d].role", i), m.Role, 100)
		ms = append(ms, m)
	}
	for _, id := range c.CompanyIDs { // company_ids alone link without a role
		if id > 0 && !seen[id] {
			seen[id] = true
			ms = append(ms, crm.Membership{CompanyID: id})
		}
	}
	if ms == nil {
		ms = []crm.Membership{}
	}
	c.Memberships = ms
	c.CompanyIDs = make([]int64, 0, len(ms))
	for _, m := range ms {
		c.CompanyIDs = append(c.CompanyIDs, m.CompanyID)
	}
	c.Custom = prepareCustom(&v, c.Custom, fields, region, requireCustom)
	if c.FirstName == "" && c.LastName == "" && c.MiddleName == "" && len(c.Emails) == 0 && len(c.Phones) == 0 && !v.Has("emails") && !v.Has("phones") {
		v.Add("first_name", "Give at least a name, an email or a phone number.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if c.Emails == nil {
		c.Emails = []crm.Labeled{}
	}
	if c.Phones == nil {
		c.Phones = []crm.Labeled{}
	}
	if c.Addresses == nil {
		c.Addresses = []crm.Address{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	return Derive(c), nil
}

// Derive computes the sort name, search text and duplicate keys of a
// prepared person.
func Derive(c *crm.Contact) *store.ContactRow {
	row := &store.ContactRow{Contact: c}
	full := strings.TrimSpace(strings.Join(nonEmpty(c.FirstName, c.MiddleName, c.LastName), " "))
	norm := text.Normalize(full)
	row.SortName = norm
	if row.SortName == "" && len(c.Emails) > 0 {
		row.SortName = c.Emails[0].Value
	}
	var tokens []string
	tokens = append(tokens, text.NormalizeTokens(full)...)
	for _, e := range c.Emails {
		row.Keys = append(row.Keys, store.ContactKey{Kind: "email", Value: e.Value})
		tokens = append(tokens, text.NormalizeTokens(e.Value)...)
	}
	for _, p := range c.Phones {
		row.Keys = append(row.Keys, store.ContactKey{Kind: "phone", Value: p.Value})
		tokens = append(tokens, text.PhoneSearchForms(p.Value)...)
	}
	if norm != "" && strings.Contains(norm, " ") {
		// Only full names count as duplicate evidence: many people share a first name.
		row.Keys = append(row.Keys, store.ContactKey{Kind: "name", Value: norm})
	}
	row.SearchText = strings.Join(dedupe(tokens), " ")
	return row
}

func nonEmpty(parts ...string) []string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0]
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

var (
	langRe = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)
	keyRe  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
)

// clean trims s, folds runs of spaces and control characters, and checks
// its length in characters.
func clean(v *crm.Validation, field, s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r < 0x20 }), " ")
	if !utf8.ValidString(s) {
		v.Add(field, "Contains bytes that are not valid UTF-8 text.")
		return ""
	}
	if utf8.RuneCountInString(s) > max {
		v.Add(field, "Longer than %d characters.", max)
	}
	return s
}

func cleanLong(v *crm.Validation, field, s string, max int) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if !utf8.ValidString(s) {
		v.Add(field, "Contains bytes that are not valid UTF-8 text.")
		return ""
	}
	if utf8.RuneCountInString(s) > max {
		v.Add(field, "Longer than %d characters.", max)
	}
	return s
}

func label(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

func prepareEmails(v *crm.Validation, field string, in []crm.Labeled) []crm.Labeled {
	if len(in) > maxListLen {
		v.Add(field, "At most %d.", maxListLen)
		return nil
	}
	var out []crm.Labeled
	for i, e := range in {
		val := crm.NormalizeEmail(text.ToASCIIDigits(e.Value))
		if val == "" {
			continue
		}
		if !crm.ValidEmail(val) {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is not a valid email address.", e.Value)
			continue
		}
		if !slices.ContainsFunc(out, func(x crm.Labeled) bool { return x.Value == val }) {
			out = append(out, crm.Labeled{Value: val, Label: label(e.Label)})
		}
	}
	return out
}

func preparePhones(v *crm.Validation, field string, in []crm.Labeled, region string) []crm.Labeled {
	return normalizePhones(v, field, in, region, false)
}

// normalizePhones is preparePhones; with normalized, values already in
// E.164 form are kept without parsing them again.
func normalizePhones(v *crm.Validation, field string, in []crm.Labeled, region string, normalized bool) []crm.Labeled {
	if len(in) > maxListLen {
		v.Add(field, "At most %d.", maxListLen)
		return nil
	}
	var out []crm.Labeled
	for i, p := range in {
		if strings.TrimSpace(p.Value) == "" {
			continue
		}
		val, err := p.Value, error(nil)
		if !normalized || !isE164(val) {
			val, err = text.NormalizePhone(p.Value, region)
		}
		if err != nil {
			v.Add(fmt.Sprintf("%s[%d]", field, i), "%q is not a phone number: %s.", p.Value, strings.TrimPrefix(err.Error(), "phone: "))
			continue
		}
		if !slices.ContainsFunc(out, func(x crm.Labeled) bool { return x.Value == val }) {
			out = append(out, crm.Labeled{Value: val, Label: label(p.Label)})
		}
	}
	return out
}

// isE164 reports whether s has the form NormalizePhone returns: "+" and
// 4 to 17 ASCII digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 5 || len(s) > 18 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func prepareAddresses(v *crm.Validation, field string, in []crm.Address) []crm.Address {
	if len(in) > maxListLen {
		v.Add(field, "At most %d.", maxListLen)
		return nil
	}
	var out []crm.Address
	for i, a := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		a.Label = label(a.Label)
		a.Street = clean(v, f+".street", a.Street, maxShortLen)
		a.City = clean(v, f+".city", a.City, 100)
		a.Region = clean(v, f+".region", a.Region, 100)
		a.PostalCode = clean(v, f+".postal_code", text.ToASCIIDigits(a.PostalCode), 20)
		a.Country = strings.ToUpper(clean(v, f+".country", a.Country, 60))
		if a.Street == "" && a.City == "" && a.Region == "" && a.PostalCode == "" && a.Country == "" {
			continue
		}
		out = append(out, a)
	}
	return out
}

func prepareTags(v *crm.Validation, field string, in []string) []string {
	var out []string
	for _, t := range in {
		t = strings.Join(strings.Fields(t), " ")
		if t == "" {
			continue
		}
		if utf8.RuneCountInString(t) > maxTagLen {
			v.Add(field, "Tag %q is longer than %d characters.", t, maxTagLen)
			continue
		}
		if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, t) }) {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		v.Add(field, "At most %d tags.", maxTags)
	}
	return out
}

// prepareBirthday accepts YYYY-MM-DD (Gregorian; any digits) or --MM-DD
// for a birthday without a year.
func prepareBirthday(v *crm.Validation, field, s string) string {
	s = strings.TrimSpace(text.ToASCIIDigits(s))
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "--") {
		t, err := time.Parse("2006-01-02", "2000-"+s[2:]) // 2000 is a leap year: --02-29 is valid
		if err != nil {
			v.Add(field, "Use YYYY-MM-DD, or --MM-DD without a year.")
			return s
		}
		return t.Format("--01-02")
	}
	t, err := text.ParseDate(s, text.CalendarGregorian, time.UTC)
	if err != nil {
		v.Add(field, "Use YYYY-MM-DD, or --MM-DD without a year.")
		return s
	}
	if t.Year() < 1880 || t.After(time.Now().Add(24*time.Hour)) {
		v.Add(field, "%s is not a plausible birthday.", s)
	}
	return t.Format("2006-01-02")
}

// prepareCustom checks each custom value against its field definition and
// returns the normalised map (customfield.Check).
func prepareCustom(v *crm.Validation, in map[string]any, fields []*crm.CustomField, region string, requireAll bool) map[string]any {
	return customfield.Check(v, in, fields, region, requireAll)
}

// CustomValue normalises one custom field value (customfield.Value).
func CustomValue(f *crm.CustomField, val any, region string) (any, error) {
	return customfield.Value(f, val, region)
}
