package contactfile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// plan is a Mapping compiled for converting records quickly.
type plan struct {
	cols      []colPlan // mapped columns only
	dateOrder string
	region    string
	calendar  string
}

type colPlan struct {
	idx    int
	kind   fieldKind
	label  string
	group  int
	custom string
	header string
}

func newPlan(m Mapping, opts CSVOptions) (plan, error) {
	p := plan{dateOrder: m.DateOrder, region: opts.DefaultRegion, calendar: opts.Calendar}
	if err := checkCalendar(opts.Calendar); err != nil {
		return p, err
	}
	if opts.DefaultRegion != "" {
		if _, err := text.NormalizePhone("+1 650 253 0000", opts.DefaultRegion); err != nil {
			return p, fmt.Errorf("contactfile: default region: %w", err)
		}
	}
	for i, c := range m.Columns {
		k, key, err := parseField(c.Field)
		if err != nil {
			return p, fmt.Errorf("contactfile: column %d (%q): %w", i+1, c.Header, err)
		}
		if k == kIgnore {
			continue
		}
		p.cols = append(p.cols, colPlan{idx: i, kind: k, label: normLabel(c.Label), group: c.Group, custom: key, header: c.Header})
	}
	return p, nil
}

// cleanCell trims a cell and undoes the formula protection of CSV exports:
// a leading apostrophe before = + - @ is dropped.
func cleanCell(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1 && s[0] == '\'' && strings.IndexByte("=+-@\t\r", s[1]) >= 0 {
		s = strings.TrimSpace(s[1:])
	}
	return s
}

type multiValue struct {
	col    int
	header string
	group  int
	label  string
	value  string
}

type labelCell struct {
	kind   fieldKind
	group  int
	labels []string
}

type addrPart struct {
	group   int
	label   string
	addr    crm.Address
	hasData bool
}

// builder collects one record's values before validation.
type builder struct {
	row     Row
	full    string
	emails  []multiValue
	phones  []multiValue
	labels  []labelCell
	addrs   []addrPart
	tagKeys []string // normalised tags, to drop duplicates
	errCols []int    // column index of each error, to list errors in column order
}

func (b *builder) addErr(col int, header string, k fieldKind, format string, args ...any) {
	b.row.Errors = append(b.row.Errors, FieldError{Field: header, Target: kindName(k), Message: fmt.Sprintf(format, args...)})
	b.errCols = append(b.errCols, col)
}

// sortErrors orders errors by column, whole-row problems last.
func (b *builder) sortErrors() {
	if len(b.row.Errors) < 2 {
		return
	}
	idx := make([]int, len(b.row.Errors))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return b.errCols[idx[i]] < b.errCols[idx[j]] })
	sorted := make([]FieldError, len(idx))
	for i, k := range idx {
		sorted[i] = b.row.Errors[k]
	}
	b.row.Errors = sorted
}

func (b *builder) addr(group int) *addrPart {
	for i := range b.addrs {
		if b.addrs[i].group == group {
			return &b.addrs[i]
		}
	}
	b.addrs = append(b.addrs, addrPart{group: group})
	return &b.addrs[len(b.addrs)-1]
}

func (b *builder) labelsFor(k fieldKind, group int) []string {
	for _, l := range b.labels {
		if l.kind == k && l.group == group {
			return l.labels
		}
	}
	return nil
}

// row converts one record. nHeader is the number of header columns.
func (p *plan) row(rec []string, line, nHeader int) Row {
	b := builder{row: Row{Line: line}}
	c := &b.row.Contact
	for _, col := range p.cols {
		if col.idx >= len(rec) {
			continue
		}
		v := cleanCell(rec[col.idx])
		if v == "" {
			continue
		}
		switch col.kind {
		case kID:
			n, err := text.ParseInt(v)
			if err != nil || n <= 0 {
				b.addErr(col.idx, col.header, col.kind, "%q is not a contact ID.", v)
				continue
			}
			c.ID = n
		case kPrefix:
			setFirst(&c.Prefix, v)
		case kFirst:
			setFirst(&c.FirstName, v)
		case kMiddle:
			setFirst(&c.MiddleName, v)
		case kLast:
			setFirst(&c.LastName, v)
		case kSuffix:
			setFirst(&c.Suffix, v)
		case kFull:
			setFirst(&b.full, v)
		case kEmail:
			b.emails = append(b.emails, multiValue{col.idx, col.header, col.group, col.label, v})
		case kPhone:
			b.phones = append(b.phones, multiValue{col.idx, col.header, col.group, col.label, v})
		case kEmailLabel, kPhoneLabel, kAddressLabel:
			b.labels = append(b.labels, labelCell{col.kind, col.group, splitLabels(v)})
		case kAddress, kStreet:
			a := b.addr(col.group)
			a.addr.Street = joinNonEmpty(", ", a.addr.Street, v)
			a.hasData, a.label = true, firstNonEmpty(a.label, col.label)
		case kCity, kRegion, kPostal, kCountry:
			a := b.addr(col.group)
			switch col.kind {
			case kCity:
				setFirst(&a.addr.City, v)
			case kRegion:
				setFirst(&a.addr.Region, v)
			case kPostal:
				setFirst(&a.addr.PostalCode, text.ToASCIIDigits(v))
			case kCountry:
				setFirst(&a.addr.Country, normCountry(v))
			}
			a.hasData, a.label = true, firstNonEmpty(a.label, col.label)
		case kBirthday:
			if c.Birthday != "" {
				continue
			}
			bd, err := parseBirthday(v, p.calendar, p.dateOrder)
			if err != nil {
				b.addErr(col.idx, col.header, col.kind, "%s", err.Error())
				continue
			}
			c.Birthday = bd
		case kCompany:
			if !contains(b.row.CompanyNames, v) {
				b.row.CompanyNames = append(b.row.CompanyNames, v)
			}
		case kCompanies:
			for _, name := range splitCompanies(v) {
				if !contains(b.row.CompanyNames, name) {
					b.row.CompanyNames = append(b.row.CompanyNames, name)
				}
			}
		case kJobTitle:
			setFirst(&b.row.CompanyRole, v)
		case kTags:
			for _, t := range splitTags(v) {
				b.addTag(t)
			}
		case kNotes:
			c.Notes = joinNonEmpty("\n", c.Notes, v)
		case kLanguage:
			lang, err := normLanguage(v)
			if err != nil {
				b.addErr(col.idx, col.header, col.kind, "%s", err.Error())
				continue
			}
			setFirst(&c.Language, lang)
		case kSource:
			setFirst(&c.Source, v)
		case kOwner:
			if b.row.OwnerEmail != "" || b.row.OwnerName != "" {
				continue
			}
			b.row.OwnerEmail, b.row.OwnerName = parseOwner(v)
		case kCustom:
			if c.Custom == nil {
				c.Custom = map[string]any{}
			}
			if _, ok := c.Custom[col.custom]; !ok {
				c.Custom[col.custom] = v
			}
		}
	}
	if len(rec) > nHeader {
		for i := nHeader; i < len(rec); i++ {
			if strings.TrimSpace(rec[i]) != "" {
				b.addErr(len(rec), "", kIgnore, "The row has %d values but the header has %d columns: a value probably contains the delimiter without being quoted.", len(rec), nHeader)
				break
			}
		}
	}
	b.finish(p)
	return b.row
}

func (b *builder) addTag(t string) {
	k := text.Normalize(t)
	if k == "" || contains(b.tagKeys, k) {
		return
	}
	b.tagKeys = append(b.tagKeys, k)
	b.row.Contact.Tags = append(b.row.Contact.Tags, t)
}

// finish splits the full name, validates emails and phones, builds
// addresses and checks that the row identifies someone.
func (b *builder) finish(p *plan) {
	c := &b.row.Contact
	if b.full != "" && c.FirstName == "" && c.LastName == "" {
		c.FirstName, c.LastName = splitFullName(b.full)
	}
	for _, e := range b.emails {
		labels := b.labelsFor(kEmailLabel, e.group)
		for i, v := range splitEmails(e.value) {
			addr, ok := normEmail(v)
			if !ok {
				b.addErr(e.col, e.header, kEmail, "%q is not a valid email address.", v)
				continue
			}
			if !hasValue(c.Emails, addr) {
				c.Emails = append(c.Emails, crm.Labeled{Value: addr, Label: pickLabel(labels, i, e.label)})
			}
		}
	}
	for _, ph := range b.phones {
		labels := b.labelsFor(kPhoneLabel, ph.group)
		for i, v := range splitPhones(ph.value) {
			num, err := normPhone(v, p.region)
			if err != nil {
				b.addErr(ph.col, ph.header, kPhone, "%s", err.Error())
				continue
			}
			if !hasValue(c.Phones, num) {
				c.Phones = append(c.Phones, crm.Labeled{Value: num, Label: pickLabel(labels, i, ph.label)})
			}
		}
	}
	for _, a := range b.addrs {
		if !a.hasData {
			continue
		}
		a.addr.Label = pickLabel(b.labelsFor(kAddressLabel, a.group), 0, a.label)
		c.Addresses = append(c.Addresses, a.addr)
	}
	if len(b.row.CompanyNames) > 0 {
		b.row.CompanyName = b.row.CompanyNames[0]
	}
	if c.FirstName == "" && c.LastName == "" && c.MiddleName == "" && len(c.Emails) == 0 && len(c.Phones) == 0 {
		b.addErr(1<<30, "", kIgnore, "The row has no name, email or phone.")
	}
	b.sortErrors()
}

// pickLabel chooses the label for the i-th value of a cell: one label for
// all values, or one per value in order; else the column's fixed label.
func pickLabel(labels []string, i int, fixed string) string {
	switch {
	case len(labels) == 1:
		return normLabel(labels[0])
	case i < len(labels):
		if l := normLabel(labels[i]); l != "" {
			return l
		}
	}
	return fixed
}

func hasValue(list []crm.Labeled, v string) bool {
	for _, l := range list {
		if l.Value == v {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

func setFirst(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func joinNonEmpty(sep, a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}

var kindNames = func() []string {
	names := make([]string, kCustom+1)
	for name, k := range kindByField {
		if k != kIgnore {
			names[k] = name
		}
	}
	names[kCustom] = "custom"
	return names
}()

func kindName(k fieldKind) string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return ""
}
