package problem

import (
	"errors"
	"net/http"
	"testing"

	"github.com/pivand/pivand/internal/crm"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{crm.Errorf(crm.EINVALID, "x"), http.StatusUnprocessableEntity},
		{crm.Errorf(crm.ENOTFOUND, "x"), http.StatusNotFound},
		{crm.Errorf(crm.ECONFLICT, "x"), http.StatusConflict},
		{crm.Errorf(crm.EUNAUTHORIZED, "x"), http.StatusUnauthorized},
		{crm.Errorf(crm.EFORBIDDEN, "x"), http.StatusForbidden},
		{crm.Errorf(crm.ETOOMANY, "x"), http.StatusTooManyRequests},
		{errors.New("driver exploded"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.want {
			t.Errorf("Status(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestFrom(t *testing.T) {
	var v crm.Validation
	v.Add("email", "Email is required.")
	v.Add("age", "Must be a number.")
	d := From(v.Err(), "/api/v1/x")
	if d.Status != 422 || d.Code != crm.EINVALID || len(d.Errors) != 2 || d.Errors[0].Field != "age" {
		t.Fatalf("From = %+v", d)
	}
	d = From(errors.New("secret dsn in message"), "/")
	if d.Detail != "Internal error." || d.Status != 500 {
		t.Fatalf("internal error leaked: %+v", d)
	}
}
