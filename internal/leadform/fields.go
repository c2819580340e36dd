package leadform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
)

// StandardFields are the person's fields a form may ask for, in the
// order the editor offers them. custom.<key> names a custom field.
var StandardFields = []string{"first_name", "last_name", "email", "phone", "company", "job_title", "message"}

// Limits of a form's fields.
const (
	MaxFields     = 30
	MaxLabel      = 200
	MaxValue      = 500  // one typed value
	MaxMessage    = 5000 // the message field
	MaxFieldsJSON = 64 << 10
)

// ParseFields reads a form's field definitions from JSON strictly
// (unknown keys are errors) and checks their shape; CheckFields then
// checks them against the custom fields. Problems name the position:
// fields[2].key.
func ParseFields(data []byte) ([]crm.FormField, error) {
	if len(data) > MaxFieldsJSON {
		return nil, crm.Errorf(crm.EINVALID, "The field definitions are over %d KiB.", MaxFieldsJSON>>10)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var out []crm.FormField
	if err := dec.Decode(&out); err != nil {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"fields": "Not a list of fields: " + err.Error()}}
	}
	if dec.More() {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"fields": "Unexpected data after the list."}}
	}
	fields, errs := CheckFields(out, nil)
	for k := range errs {
		if strings.HasSuffix(k, ".key") && strings.Contains(errs[k], "no custom field") {
			delete(errs, k) // without the custom fields at hand, any well-formed custom key is fine here
		}
	}
	if len(errs) > 0 {
		return nil, &crm.Error{Code: crm.EINVALID, Message: "Some fields are invalid.", Fields: errs}
	}
	return fields, nil
}

// CheckFields normalises and checks field definitions against the
// people's custom fields (nil: custom keys are only checked for shape).
// It returns the normalised fields and the problems by path.
func CheckFields(in []crm.FormField, custom []*crm.CustomField) ([]crm.FormField, map[string]string) {
	errs := map[string]string{}
	add := func(k, format string, args ...any) {
		if _, ok := errs[k]; !ok {
			errs[k] = fmt.Sprintf(format, args...)
		}
	}
	if len(in) == 0 {
		add("fields", "A form needs at least one field: an email or a phone.")
	}
	if len(in) > MaxFields {
		add("fields", "At most %d fields.", MaxFields)
		in = in[:MaxFields]
	}
	out := make([]crm.FormField, 0, len(in))
	seen := map[string]bool{}
	for i, f := range in {
		path := fmt.Sprintf("fields[%d]", i)
		f.Key = strings.TrimSpace(f.Key)
		switch {
		case f.Key == "":
			add(path+".key", "Choose what the field asks for.")
		case slices.Contains(StandardFields, f.Key):
		case strings.HasPrefix(f.Key, "custom."):
			key := strings.TrimPrefix(f.Key, "custom.")
			if !validCustomKey(key) {
				add(path+".key", "%q is not a custom field key.", key)
			} else if custom != nil && !slices.ContainsFunc(custom, func(c *crm.CustomField) bool { return c.Key == key }) {
				add(path+".key", "There is no custom field %q.", key)
			}
		default:
			add(path+".key", "Use %s or custom.<key>.", strings.Join(StandardFields, ", "))
		}
		if f.Key != "" && seen[f.Key] {
			add(path+".key", "%s is asked twice.", f.Key)
		}
		seen[f.Key] = true
		labels := map[string]string{}
		for lang, l := range f.Labels {
			l = strings.TrimSpace(l)
			switch {
			case !slices.Contains(Languages, lang):
				add(path+".labels", "Labels are in en, fa or ar (not %q).", lang)
			case !utf8.ValidString(l):
				add(path+".labels."+lang, "Not valid text.")
			case utf8.RuneCountInString(l) > MaxLabel:
				add(path+".labels."+lang, "At most %d characters.", MaxLabel)
			case l != "":
				labels[lang] = l
			}
		}
		f.Labels = nil
		if len(labels) > 0 {
			f.Labels = labels
		}
		out = append(out, f)
	}
	if len(in) > 0 && !seen["email"] && !seen["phone"] {
		add("fields", "A form needs an email or a phone field: that is how people are found again.")
	}
	return out, errs
}

func validCustomKey(k string) bool {
	if k == "" || len(k) > 63 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Label is a field's label in lang: the form's own, else "".
func Label(f crm.FormField, lang string) string { return f.Labels[lang] }
