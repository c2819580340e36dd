package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// jsonProblemAt finds where a definition's JSON does not fit its types:
// encoding/json names a wrong value's key without the index of the step
// it is in ("steps.points") and an unknown key without where it is. The
// document is walked beside the Go types, each value decoded on its own
// as strictly as the whole, down to the first that fails; its path is
// returned ("steps[2].points", "steps[0].then[1].wait.foo") with the
// problem in words. ok is false when no single value is to blame.
func jsonProblemAt(data []byte) (path, problem string, ok bool) {
	return locate(data, reflect.TypeOf(Definition{}), "")
}

var unmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

func strictDecode(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(reflect.New(t).Interface())
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func locate(data []byte, t reflect.Type, path string) (string, string, bool) {
	err := strictDecode(data, t)
	if err == nil {
		return "", "", false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	custom := reflect.PointerTo(t).Implements(unmarshaler)
	switch {
	case !custom && t.Kind() == reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			break // not an object: this value is to blame
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { // in the document's order
			return bytes.Index(data, []byte(`"`+a+`"`)) - bytes.Index(data, []byte(`"`+b+`"`))
		})
		for _, k := range keys {
			ft, found := fieldType(t, k)
			if !found {
				return join(path, k), fmt.Sprintf("Unknown key %q.", k), true
			}
			if string(m[k]) == "null" {
				continue
			}
			if p, msg, ok := locate(m[k], ft, join(path, k)); ok {
				return p, msg, true
			}
		}
	case !custom && t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			break
		}
		for i, it := range items {
			if p, msg, ok := locate(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, msg, true
			}
		}
	}
	if path == "" {
		return "", "", false
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return path, fmt.Sprintf("Must be %s, not %s.", kindWords(te.Type), te.Value), true
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "", "", false
	}
	return path, strings.TrimPrefix(err.Error(), "json: "), true
}

// fieldType is the type of the field key names in struct t, matched as
// encoding/json matches (its JSON name, case-insensitively; embedded
// structs' fields too).
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if ft, ok := fieldType(et, key); ok {
					return ft, true
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, key) {
			return f.Type, true
		}
	}
	return nil, false
}

func kindWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return "a " + t.Kind().String()
}
