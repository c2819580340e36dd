// Package crm holds Pivand's domain vocabulary: types, validation errors,
// roles and permissions, events and request context. It imports only the
// standard library and does no I/O.
package crm

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Each maps to one HTTP status in the web and api packages.
const (
	ECONFLICT     = "conflict"     // a unique value already exists, or a state forbids the change
	EINVALID      = "invalid"      // the input is malformed; Fields names what is wrong
	ENOTFOUND     = "not_found"    // the record does not exist (or is not visible to the caller)
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, missing permission
	ETOOMANY      = "too_many"     // rate limit hit
	ETOOLARGE     = "too_large"    // request body or upload over the limit
	EUNAVAILABLE  = "unavailable"  // the service cannot serve now (e.g. pending migrations)
	EINTERNAL     = "internal"     // anything else; details go to the log only
)

// Error is the one error type Pivand's services return to callers. Message
// is a user-safe sentence in English; Key, when set, is a message catalog key
// the UI translates instead. Fields holds per-field messages so forms and
// API clients can point at the exact input that is wrong.
type Error struct {
	Code    string
	Message string
	Key     string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (", e.Code, e.Message)
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", k, e.Fields[k])
	}
	b.WriteString(")")
	return b.String()
}

// Errorf returns a new *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// EINTERNAL otherwise. A nil error has no code.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err. Errors that are not
// *Error are internal and their text is never shown to users.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the per-field messages of err, or nil.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Validation collects per-field problems while checking input.
// Its Err method returns nil when nothing was added.
type Validation struct {
	fields map[string]string
}

// Add records a problem with field. The first problem per field wins.
func (v *Validation) Add(field, format string, args ...any) {
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, ok := v.fields[field]; !ok {
		v.fields[field] = fmt.Sprintf(format, args...)
	}
}

// Has reports whether field already has a problem.
func (v *Validation) Has(field string) bool { _, ok := v.fields[field]; return ok }

// Err returns an EINVALID *Error listing every field, or nil.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Some fields are invalid.", Fields: v.fields}
}
