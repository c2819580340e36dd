package contactfile

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
)

// VCardWriter writes contacts as vCards 3.0 or 4.0, one card per Write.
//
// Output follows RFC 2426 / RFC 6350: CRLF line ends, lines folded at 75
// octets without splitting a UTF-8 sequence, and text escaped (\\ \n \,
// and \; ). The encoder of github.com/emersion/go-vcard neither folds
// lines nor escapes semicolons inside N and ADR components, nor can it
// write several CATEGORIES in one property, so properties are formatted
// here; go-vcard reads the result back (see the round-trip tests).
type VCardWriter struct {
	w       *bufio.Writer
	version string
}

// NewVCardWriter returns a writer of vCards in version "3.0" or "4.0".
func NewVCardWriter(w io.Writer, version string) (*VCardWriter, error) {
	if version != "3.0" && version != "4.0" {
		return nil, fmt.Errorf("contactfile: vCard version %q is not 3.0 or 4.0", version)
	}
	return &VCardWriter{w: bufio.NewWriter(w), version: version}, nil
}

// EncodeVCard writes one contact as a vCard; see VCardWriter.Write.
func EncodeVCard(w io.Writer, c crm.Contact, companyNames []string, version string) error {
	vw, err := NewVCardWriter(w, version)
	if err != nil {
		return err
	}
	return vw.Write(c, companyNames)
}

// Write writes one contact. companyNames are the person's companies by
// name (ORG); the role of the first membership is the TITLE. Labels become
// TYPE parameters ("mobile" → TYPE=cell, "work fax" → TYPE=work,fax; other
// labels are written as they are).
func (vw *VCardWriter) Write(c crm.Contact, companyNames []string) error {
	v4 := vw.version == "4.0"
	vw.line("BEGIN", nil, "VCARD")
	vw.line("VERSION", nil, vw.version)
	vw.line("PRODID", nil, escapeText("-//Pivand//Pivand CRM//EN"))
	if c.ID != 0 {
		vw.line("UID", nil, "urn:pivand:contact:"+strconv.FormatInt(c.ID, 10))
	}
	fn := joinFields(" ", c.Prefix, c.FirstName, c.MiddleName, c.LastName, c.Suffix)
	if fn == "" {
		fn = c.DisplayName()
	}
	vw.line("FN", nil, escapeText(fn))
	vw.line("N", nil, escapeComponents(c.LastName, c.FirstName, c.MiddleName, c.Prefix, c.Suffix))
	for i, e := range c.Emails {
		params := typeParams(e.Label, false)
		if !v4 {
			params = append([][2]string{{"TYPE", "INTERNET"}}, params...)
		}
		params = addPref(params, i == 0 && len(c.Emails) > 1, v4)
		vw.line("EMAIL", params, escapeText(e.Value))
	}
	for i, p := range c.Phones {
		params := addPref(typeParams(p.Label, true), i == 0 && len(c.Phones) > 1, v4)
		value := escapeText(p.Value)
		if v4 && strings.HasPrefix(p.Value, "+") {
			params = append([][2]string{{"VALUE", "uri"}}, params...)
			value = "tel:" + p.Value
		}
		vw.line("TEL", params, value)
	}
	for _, a := range c.Addresses {
		vw.line("ADR", typeParams(a.Label, false), escapeComponents("", "", a.Street, a.City, a.Region, a.PostalCode, a.Country))
	}
	if bd, ok := vcardDate(c.Birthday, v4); ok {
		vw.line("BDAY", nil, bd)
	}
	for _, name := range companyNames {
		if name = strings.TrimSpace(name); name != "" {
			vw.line("ORG", nil, escapeComponents(name))
		}
	}
	if len(c.Memberships) > 0 && c.Memberships[0].Role != "" {
		vw.line("TITLE", nil, escapeText(c.Memberships[0].Role))
	}
	if len(c.Tags) > 0 {
		tags := make([]string, 0, len(c.Tags))
		for _, t := range c.Tags {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, escapeText(t))
			}
		}
		if len(tags) > 0 {
			vw.line("CATEGORIES", nil, strings.Join(tags, ","))
		}
	}
	if c.Notes != "" {
		vw.line("NOTE", nil, escapeText(c.Notes))
	}
	if v4 && c.Language != "" {
		vw.line("LANG", nil, escapeText(c.Language))
	}
	if !c.UpdatedAt.IsZero() {
		layout := "2006-01-02T15:04:05Z"
		if v4 {
			layout = "20060102T150405Z"
		}
		vw.line("REV", nil, c.UpdatedAt.UTC().Format(layout))
	}
	vw.line("END", nil, "VCARD")
	return vw.w.Flush()
}

// line writes one property, folded.
func (vw *VCardWriter) line(name string, params [][2]string, value string) {
	var b strings.Builder
	b.WriteString(name)
	for _, p := range params {
		b.WriteByte(';')
		b.WriteString(p[0])
		b.WriteByte('=')
		b.WriteString(p[1])
	}
	b.WriteByte(':')
	b.WriteString(value)
	fold(vw.w, b.String())
}

// fold writes s as lines of at most 75 octets, continuation lines starting
// with a space, never splitting a UTF-8 sequence (RFC 6350 section 3.2).
func fold(w *bufio.Writer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		w.WriteString(s[:cut])
		w.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	w.WriteString(s)
	w.WriteString("\r\n")
}

var textEscaper = strings.NewReplacer(`\`, `\\`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`, ",", `\,`, ";", `\;`)

// escapeText escapes a TEXT value.
func escapeText(s string) string { return textEscaper.Replace(s) }

// escapeComponents escapes each component and joins them with ";".
func escapeComponents(parts ...string) string {
	for i, p := range parts {
		parts[i] = escapeText(p)
	}
	return strings.Join(parts, ";")
}

// typeParams turns a label into TYPE parameters.
func typeParams(label string, tel bool) [][2]string {
	var types []string
	switch label = normLabel(label); label {
	case "":
	case "mobile", "work mobile", "home mobile":
		if tel {
			types = append(strings.Fields(strings.TrimSuffix(label, "mobile")), "cell")
		} else {
			types = []string{paramValue(label)}
		}
	case "work fax", "home fax":
		types = strings.Fields(label)
	default:
		types = []string{paramValue(label)}
	}
	params := make([][2]string, 0, len(types))
	for _, t := range types {
		if t != "" {
			params = append(params, [2]string{"TYPE", t})
		}
	}
	return params
}

func addPref(params [][2]string, pref, v4 bool) [][2]string {
	switch {
	case !pref:
		return params
	case v4:
		return append(params, [2]string{"PREF", "1"})
	}
	return append(params, [2]string{"TYPE", "pref"})
}

// paramValue makes a label safe as an unquoted parameter value.
func paramValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == ';' || r == ':' || r == ',' || r == '\\' || r == '^' || unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// vcardDate formats crm.Contact's birthday ("YYYY-MM-DD" or "--MM-DD"):
// vCard 4.0 uses the basic form ("19850415", "--0415"), 3.0 the extended
// one.
func vcardDate(s string, v4 bool) (string, bool) {
	digits := func(t string) bool { return t != "" && strings.Trim(t, "0123456789") == "" }
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-' && digits(s[:4]) && digits(s[5:7]) && digits(s[8:]):
		if v4 {
			return s[:4] + s[5:7] + s[8:], true
		}
		return s, true
	case len(s) == 7 && strings.HasPrefix(s, "--") && s[4] == '-' && digits(s[2:4]) && digits(s[5:]):
		if v4 {
			return "--" + s[2:4] + s[5:], true
		}
		return s, true
	}
	return "", false
}
