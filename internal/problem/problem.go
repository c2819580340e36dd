// Package problem maps Pivand's error codes to HTTP: the one place where a
// crm error code becomes a status, and the RFC 9457 problem document the
// REST API answers with. The web UI uses Status for its error pages.
package problem

import (
	"errors"
	"net/http"

	"github.com/pivand/pivand/internal/crm"
)

var statuses = map[string]int{
	crm.ECONFLICT:     http.StatusConflict,
	crm.EINVALID:      http.StatusUnprocessableEntity,
	crm.ENOTFOUND:     http.StatusNotFound,
	crm.EUNAUTHORIZED: http.StatusUnauthorized,
	crm.EFORBIDDEN:    http.StatusForbidden,
	crm.ETOOMANY:      http.StatusTooManyRequests,
	crm.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	crm.EUNAVAILABLE:  http.StatusServiceUnavailable,
	crm.EINTERNAL:     http.StatusInternalServerError,
}

// Status returns the HTTP status for err's code.
func Status(err error) int {
	if s, ok := statuses[crm.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// FieldError is one invalid input in a problem document.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Details is an RFC 9457 problem document with Pivand's extensions: a
// stable machine-readable code and per-field errors.
type Details struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Code     string       `json:"code"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// From builds the problem document for err. Internal errors carry no detail.
func From(err error, instance string) Details {
	status := Status(err)
	d := Details{
		Type:     "about:blank",
		Title:    http.StatusText(status),
		Status:   status,
		Instance: instance,
		Code:     crm.ErrorCode(err),
		Detail:   crm.ErrorMessage(err),
	}
	var ce *crm.Error
	if errors.As(err, &ce) {
		for _, k := range sortedKeys(ce.Fields) {
			d.Errors = append(d.Errors, FieldError{Field: k, Detail: ce.Fields[k]})
		}
	}
	return d
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
