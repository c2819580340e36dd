// Package customfield checks admin-defined custom fields: a definition
// (crm.CustomField) and the values records keep under its key. It is pure
// (no storage): the contact module uses it for people and companies, the
// sales module for deals, so both validate a value the same way without
// importing each other.
package customfield

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/text"
)

// The records custom fields are defined for.
const (
	EntityContact = "contact"
	EntityCompany = "company"
	EntityDeal    = "deal"
)

// Entities lists the records that have custom fields.
var Entities = []string{EntityContact, EntityCompany, EntityDeal}

// Limits of values.
const (
	MaxText     = 1000  // text and other one-line values, in characters
	MaxLongText = 20000 // long text
	MaxOptions  = 200
)

// KeyRE is the form of a key: lower-case letters, digits and _, starting
// with a letter, at most 40.
var KeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// CheckDefinition normalises and validates a definition in place. Creating
// also checks the entity, the key and the type, which never change later.
func CheckDefinition(f *crm.CustomField, creating bool) error {
	var v crm.Validation
	if creating {
		if !slices.Contains(Entities, f.Entity) {
			v.Add("entity", "Use contact, company or deal.")
		}
		f.Key = strings.TrimSpace(f.Key)
		if !KeyRE.MatchString(f.Key) {
			v.Add("key", "Use lower-case letters, digits and _, starting with a letter (at most 40).")
		}
		if !slices.Contains(crm.CustomFieldTypes, f.Type) {
			v.Add("type", "Use one of %s.", strings.Join(crm.CustomFieldTypes, ", "))
		}
	}
	f.Label = strings.Join(strings.Fields(f.Label), " ")
	switch {
	case !utf8.ValidString(f.Label):
		v.Add("label", "Contains bytes that are not valid UTF-8 text.")
	case utf8.RuneCountInString(f.Label) > 100:
		v.Add("label", "Longer than %d characters.", 100)
	case f.Label == "":
		v.Add("label", "Label is required.")
	}
	var opts []string
	for _, o := range f.Options {
		o = strings.TrimSpace(o)
		if o != "" && !slices.Contains(opts, o) {
			opts = append(opts, o)
		}
	}
	f.Options = opts
	if f.Options == nil {
		f.Options = []string{}
	}
	if f.Type == crm.FieldSelect || f.Type == crm.FieldMultiSelect {
		if len(f.Options) == 0 {
			v.Add("options", "Give at least one choice.")
		}
	} else {
		f.Options = []string{}
	}
	if len(f.Options) > MaxOptions {
		v.Add("options", "At most %d choices.", MaxOptions)
	}
	f.Currency = strings.ToUpper(strings.TrimSpace(f.Currency))
	if f.Type == crm.FieldMoney {
		if len(f.Currency) != 3 {
			v.Add("currency", "Give the ISO 4217 currency code, e.g. IRR, USD, EUR.")
		}
	} else {
		f.Currency = ""
	}
	return v.Err()
}

// Check checks each value of in against its definition and returns the
// normalised map; problems are recorded on v as custom.<key>. Unknown keys
// are refused so typos do not silently create data nobody sees. With
// requireAll, a required field without a value is a problem too.
func Check(v *crm.Validation, in map[string]any, fields []*crm.CustomField, region string, requireAll bool) map[string]any {
	out := map[string]any{}
	byKey := make(map[string]*crm.CustomField, len(fields))
	for _, f := range fields {
		byKey[f.Key] = f
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := byKey[k]
		name := "custom." + k
		if f == nil {
			v.Add(name, "There is no custom field %q.", k)
			continue
		}
		nv, err := Value(f, in[k], region)
		if err != nil {
			v.Add(name, "%s", err.Error())
			continue
		}
		if nv != nil {
			out[k] = nv
		}
	}
	if requireAll {
		for _, f := range fields {
			if f.Required && out[f.Key] == nil && !v.Has("custom."+f.Key) {
				v.Add("custom."+f.Key, "%s is required.", f.Label)
			}
		}
	}
	return out
}

// Orphans returns the stored values whose field no longer exists and which
// the caller did not send again: updates keep them as they are.
func Orphans(stored map[string]any, fields []*crm.CustomField, supplied map[string]any) map[string]any {
	out := map[string]any{}
	for k, val := range stored {
		if _, sent := supplied[k]; sent {
			continue
		}
		if !slices.ContainsFunc(fields, func(f *crm.CustomField) bool { return f.Key == k }) {
			out[k] = val
		}
	}
	return out
}

// Cond is a filter on one custom field: the value normalised for its type
// (a multi select filters on one choice).
type Cond = crm.FieldCond

// Conds checks filters (key → value as typed) against the definitions,
// recording problems on v as custom.<key>; empty values do not filter.
func Conds(v *crm.Validation, in map[string]string, fields []*crm.CustomField, region string) []Cond {
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Cond
	for _, k := range keys {
		i := slices.IndexFunc(fields, func(f *crm.CustomField) bool { return f.Key == k })
		if i < 0 {
			v.Add("custom."+k, "There is no custom field %q.", k)
			continue
		}
		f := fields[i]
		one := *f
		if f.Type == crm.FieldMultiSelect {
			one.Type = crm.FieldSelect
		}
		val, err := Value(&one, in[k], region)
		if err != nil {
			v.Add("custom."+k, "%s", err.Error())
			continue
		}
		if val != nil {
			out = append(out, Cond{Key: k, Type: f.Type, Value: val})
		}
	}
	return out
}

type fieldError string

func (e fieldError) Error() string { return string(e) }

// Value normalises one custom field value: numbers as float64, money as
// int64 minor units, dates as YYYY-MM-DD, booleans as bool, multi selects
// as []string, phones in E.164 (region is the default country of numbers
// typed without one). nil or "" clears the value (nil, nil).
func Value(f *crm.CustomField, val any, region string) (any, error) {
	if val == nil {
		return nil, nil
	}
	if s, ok := val.(string); ok {
		val = strings.TrimSpace(s)
		if val == "" {
			return nil, nil
		}
	}
	str := func() (string, error) {
		switch x := val.(type) {
		case string:
			return x, nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
		return "", fieldError("Expected text.")
	}
	switch f.Type {
	case crm.FieldText, crm.FieldLongText:
		s, err := str()
		if err != nil {
			return nil, err
		}
		max := MaxText
		if f.Type == crm.FieldLongText {
			max = MaxLongText
		}
		if !utf8.ValidString(s) {
			return nil, fieldError("Use UTF-8 text.")
		}
		if utf8.RuneCountInString(s) > max {
			return nil, fieldError(fmt.Sprintf("Longer than %d characters.", max))
		}
		return s, nil
	case crm.FieldNumber:
		switch x := val.(type) {
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fieldError("Not a number.")
			}
			return x, nil
		case string:
			n, err := strconv.ParseFloat(strings.ReplaceAll(text.ToASCIIDigits(x), ",", ""), 64)
			if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
				return nil, fieldError(fmt.Sprintf("%q is not a number.", x))
			}
			return n, nil
		}
		return nil, fieldError("Expected a number.")
	case crm.FieldMoney:
		switch x := val.(type) {
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1e15 {
				return nil, fieldError("Money is a whole number of minor units (e.g. rials or cents).")
			}
			return int64(x), nil
		case int64:
			return x, nil
		case string:
			n, err := text.ParseInt(x)
			if err != nil {
				return nil, fieldError(fmt.Sprintf("%q is not a whole amount: %v", x, err))
			}
			return n, nil
		}
		return nil, fieldError("Expected a whole amount in minor units.")
	case crm.FieldDate:
		s, err := str()
		if err != nil {
			return nil, err
		}
		t, err := text.ParseDate(s, text.CalendarGregorian, time.UTC)
		if err != nil {
			return nil, fieldError("Use a date like 2025-03-21.")
		}
		return t.Format("2006-01-02"), nil
	case crm.FieldBoolean:
		switch x := val.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(text.ToASCIIDigits(x)) {
			case "true", "yes", "1", "on", "y", "بله", "نعم":
				return true, nil
			case "false", "no", "0", "off", "n", "خیر", "لا":
				return false, nil
			}
		}
		return nil, fieldError("Expected yes or no.")
	case crm.FieldSelect:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(f.Options, s) {
			return nil, fieldError(fmt.Sprintf("%q is not one of the choices.", s))
		}
		return s, nil
	case crm.FieldMultiSelect:
		var items []string
		switch x := val.(type) {
		case []string:
			items = x
		case []any:
			for _, it := range x {
				s, ok := it.(string)
				if !ok {
					return nil, fieldError("Expected a list of choices.")
				}
				items = append(items, s)
			}
		case string:
			items = strings.FieldsFunc(x, func(r rune) bool { return r == ',' || r == ';' || r == '|' || r == '،' })
		default:
			return nil, fieldError("Expected a list of choices.")
		}
		var out []string
		for _, it := range items {
			it = strings.TrimSpace(it)
			if it == "" || slices.Contains(out, it) {
				continue
			}
			if !slices.Contains(f.Options, it) {
				return nil, fieldError(fmt.Sprintf("%q is not one of the choices.", it))
			}
			out = append(out, it)
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case crm.FieldEmail:
		s, err := str()
		if err != nil {
			return nil, err
		}
		s = crm.NormalizeEmail(s)
		if !crm.ValidEmail(s) {
			return nil, fieldError(fmt.Sprintf("%q is not a valid email address.", s))
		}
		return s, nil
	case crm.FieldPhone:
		s, err := str()
		if err != nil {
			return nil, err
		}
		p, err := text.NormalizePhone(s, region)
		if err != nil {
			return nil, fieldError(fmt.Sprintf("%q is not a phone number: %s.", s, strings.TrimPrefix(err.Error(), "phone: ")))
		}
		return p, nil
	case crm.FieldURL:
		s, err := str()
		if err != nil {
			return nil, err
		}
		if !strings.Contains(s, "://") {
			s = "https://" + s
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2000 {
			return nil, fieldError(fmt.Sprintf("%q is not a web address.", s))
		}
		return u.String(), nil
	}
	return nil, fieldError("Unknown field type " + f.Type + ".")
}
