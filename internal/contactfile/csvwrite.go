package contactfile

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// Export columns. Every value is one cell; lists (emails, phones, labels,
// companies, tags) are joined with "; ". The *_labels columns list the
// labels of the emails/phones columns in the same order. Address columns
// hold the contact's first address. Times are RFC 3339 in UTC.
const (
	ColID           = "id"
	ColPrefix       = "prefix"
	ColFirstName    = "first_name"
	ColMiddleName   = "middle_name"
	ColLastName     = "last_name"
	ColSuffix       = "suffix"
	ColFullName     = "full_name" // the name parts joined, for mail merges
	ColEmails       = "emails"
	ColEmailLabels  = "email_labels"
	ColEmail        = "email" // the first email only
	ColPhones       = "phones"
	ColPhoneLabels  = "phone_labels"
	ColPhone        = "phone" // the first phone only
	ColCompany      = "company"
	ColJobTitle     = "job_title"
	ColAddressLabel = "address_label"
	ColStreet       = "street"
	ColCity         = "city"
	ColRegion       = "region"
	ColPostalCode   = "postal_code"
	ColCountry      = "country"
	ColBirthday     = "birthday"
	ColLanguage     = "language"
	ColSource       = "source"
	ColOwnerID      = "owner_id"
	ColOwnerEmail   = "owner_email"
	ColTags         = "tags"
	ColNotes        = "notes"
	ColCreatedAt    = "created_at"
	ColUpdatedAt    = "updated_at"
)

// DefaultCSVColumns is the standard export column set, followed by one
// "custom:<key>" column per custom field key given. Pivand's CSV reader
// recognises it (preset "pivand"), so an export imports back unchanged.
func DefaultCSVColumns(customKeys ...string) []string {
	cols := []string{
		ColID, ColPrefix, ColFirstName, ColMiddleName, ColLastName, ColSuffix,
		ColEmails, ColEmailLabels, ColPhones, ColPhoneLabels, ColCompany, ColJobTitle,
		ColAddressLabel, ColStreet, ColCity, ColRegion, ColPostalCode, ColCountry,
		ColBirthday, ColLanguage, ColSource, ColOwnerEmail, ColTags, ColNotes, ColCreatedAt, ColUpdatedAt,
	}
	for _, k := range customKeys {
		cols = append(cols, CustomPrefix+k)
	}
	return cols
}

// ExportRecord is one contact to write, with what the contact row alone
// does not hold.
type ExportRecord struct {
	Contact      crm.Contact
	CompanyNames []string // the person's companies by name, in the order of Contact.CompanyIDs
	OwnerEmail   string
	Extra        []string // the cells of CSVWriter.Extra, in order (missing ones are empty)
}

// CSVWriter streams contacts to CSV. Set its fields before the first
// Write. Every cell is protected against formula injection (see protect).
type CSVWriter struct {
	// BOM writes a UTF-8 byte order mark first. Excel needs it to read a
	// CSV file as UTF-8 (without it, Persian and Arabic come out garbled).
	BOM bool
	// UseCRLF ends lines with \r\n instead of \n.
	UseCRLF bool
	// Comma is the delimiter; 0 means ','.
	Comma rune
	// Extra names columns written after the others, filled from
	// ExportRecord.Extra: what other modules add (customer analytics).
	Extra []string

	w       io.Writer
	cw      *csv.Writer
	columns []string
	cells   []string
	started bool
}

// NewCSVWriter returns a writer for the given columns (see
// DefaultCSVColumns; any Col* constant or "custom:<key>"). The header is
// written with the first record, or by Flush for an empty export.
func NewCSVWriter(w io.Writer, columns []string) (*CSVWriter, error) {
	if len(columns) == 0 {
		return nil, fmt.Errorf("contactfile: no columns to export")
	}
	seen := map[string]bool{}
	for _, c := range columns {
		if seen[c] {
			return nil, fmt.Errorf("contactfile: column %q listed twice", c)
		}
		seen[c] = true
		if key, ok := strings.CutPrefix(c, CustomPrefix); ok {
			if err := checkCustomKey(key); err != nil {
				return nil, fmt.Errorf("contactfile: %w", err)
			}
			continue
		}
		if !exportColumns[c] {
			return nil, fmt.Errorf("contactfile: unknown export column %q", c)
		}
	}
	return &CSVWriter{w: w, columns: columns, cells: make([]string, len(columns))}, nil
}

var exportColumns = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range []string{ColID, ColPrefix, ColFirstName, ColMiddleName, ColLastName, ColSuffix, ColFullName,
		ColEmails, ColEmailLabels, ColEmail, ColPhones, ColPhoneLabels, ColPhone, ColCompany, ColJobTitle,
		ColAddressLabel, ColStreet, ColCity, ColRegion, ColPostalCode, ColCountry, ColBirthday, ColLanguage,
		ColSource, ColOwnerID, ColOwnerEmail, ColTags, ColNotes, ColCreatedAt, ColUpdatedAt} {
		m[c] = true
	}
	return m
}()

func (w *CSVWriter) begin() error {
	if w.started {
		return nil
	}
	w.started = true
	if w.BOM {
		if _, err := io.WriteString(w.w, "\uFEFF"); err != nil {
			return err
		}
	}
	w.cw = csv.NewWriter(w.w)
	w.cw.UseCRLF = w.UseCRLF
	if w.Comma != 0 {
		w.cw.Comma = w.Comma
	}
	return w.cw.Write(append(w.columns[:len(w.columns):len(w.columns)], w.Extra...))
}

// Write writes one contact.
func (w *CSVWriter) Write(rec ExportRecord) error {
	if err := w.begin(); err != nil {
		return err
	}
	c := &rec.Contact
	for i, col := range w.columns {
		w.cells[i] = protect(exportCell(col, c, &rec))
	}
	cells := w.cells
	for i := range w.Extra {
		v := ""
		if i < len(rec.Extra) {
			v = rec.Extra[i]
		}
		cells = append(cells, protect(v))
	}
	return w.cw.Write(cells)
}

// Flush writes any buffered data (and the header of an empty export) and
// reports any error from writing.
func (w *CSVWriter) Flush() error {
	if err := w.begin(); err != nil {
		return err
	}
	w.cw.Flush()
	return w.cw.Error()
}

func exportCell(col string, c *crm.Contact, rec *ExportRecord) string {
	switch col {
	case ColID:
		if c.ID == 0 {
			return ""
		}
		return strconv.FormatInt(c.ID, 10)
	case ColPrefix:
		return c.Prefix
	case ColFirstName:
		return c.FirstName
	case ColMiddleName:
		return c.MiddleName
	case ColLastName:
		return c.LastName
	case ColSuffix:
		return c.Suffix
	case ColFullName:
		return joinFields(" ", c.Prefix, c.FirstName, c.MiddleName, c.LastName, c.Suffix)
	case ColEmails:
		return joinValues(c.Emails)
	case ColEmailLabels:
		return joinLabels(c.Emails)
	case ColEmail:
		if len(c.Emails) > 0 {
			return c.Emails[0].Value
		}
	case ColPhones:
		return joinValues(c.Phones)
	case ColPhoneLabels:
		return joinLabels(c.Phones)
	case ColPhone:
		if len(c.Phones) > 0 {
			return c.Phones[0].Value
		}
	case ColCompany:
		return strings.Join(rec.CompanyNames, "; ")
	case ColJobTitle:
		if len(c.Memberships) > 0 {
			return c.Memberships[0].Role
		}
	case ColAddressLabel, ColStreet, ColCity, ColRegion, ColPostalCode, ColCountry:
		if len(c.Addresses) == 0 {
			return ""
		}
		a := c.Addresses[0]
		switch col {
		case ColAddressLabel:
			return a.Label
		case ColStreet:
			return a.Street
		case ColCity:
			return a.City
		case ColRegion:
			return a.Region
		case ColPostalCode:
			return a.PostalCode
		default:
			return a.Country
		}
	case ColBirthday:
		return c.Birthday
	case ColLanguage:
		return c.Language
	case ColSource:
		return c.Source
	case ColOwnerID:
		if c.OwnerID != nil {
			return strconv.FormatInt(*c.OwnerID, 10)
		}
	case ColOwnerEmail:
		return rec.OwnerEmail
	case ColTags:
		return strings.Join(c.Tags, "; ")
	case ColNotes:
		return c.Notes
	case ColCreatedAt:
		return formatTime(c.CreatedAt)
	case ColUpdatedAt:
		return formatTime(c.UpdatedAt)
	default:
		if key, ok := strings.CutPrefix(col, CustomPrefix); ok {
			return formatCustom(c.Custom[key])
		}
	}
	return ""
}

func joinFields(sep string, parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
	}
	return b.String()
}

func joinValues(list []crm.Labeled) string {
	vals := make([]string, len(list))
	for i, l := range list {
		vals[i] = l.Value
	}
	return strings.Join(vals, "; ")
}

// joinLabels lists labels in step with joinValues; "" when none is set.
func joinLabels(list []crm.Labeled) string {
	set := false
	labels := make([]string, len(list))
	for i, l := range list {
		labels[i] = strings.ReplaceAll(l.Label, ";", ",")
		set = set || l.Label != ""
	}
	if !set {
		return ""
	}
	return strings.Join(labels, "; ")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// formatCustom writes a custom field value as text: numbers without
// exponent, booleans as true/false, lists joined with "; ", anything else
// as JSON.
func formatCustom(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case json.Number:
		return v.String()
	case time.Time:
		return formatTime(v)
	case []string:
		return strings.Join(v, "; ")
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatCustom(e)
		}
		return strings.Join(parts, "; ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// protect defends against CSV formula injection: spreadsheets run a cell
// that starts with = + - @ (or a tab or carriage return) as a formula, so
// such a cell gets a leading apostrophe, which spreadsheets show as text
// and Pivand's reader removes again.
//
// A cell that starts with + or - but holds nothing but digits, spaces and
// + - . , ; (an E.164 phone number "+989123456789", a list of them, a
// negative number) is left alone: without letters, parentheses or other
// symbols it cannot call a function or another program, and an apostrophe
// would spoil the most common cells of a contact export.
func protect(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		for i := 1; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c == ' ' || c == '+' || c == '-' || c == '.' || c == ',' || c == ';') {
				return "'" + s
			}
		}
	}
	return s
}
