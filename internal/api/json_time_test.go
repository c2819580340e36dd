package api

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
)

// A time encoding/json cannot read is named by its field's path, however
// deep; a value that is not there (or only as a key) falls back to body.
func TestTimeErrorNamesField(t *testing.T) {
	type line struct {
		At time.Time `json:"at"`
	}
	var v struct {
		Name  string `json:"name"`
		Lines []line `json:"lines"`
	}
	body := `{"name":"x","lines":[{"at":"2026-01-01T00:00:00Z"},{"at":"next friday"}]}`
	err := json.Unmarshal([]byte(body), &v)
	var pe *time.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("not a parse error: %v", err)
	}
	var e *crm.Error
	if !errors.As(timeError([]byte(body), pe), &e) || e.Fields["lines[1].at"] == "" {
		t.Fatalf("got %+v", e)
	}
	if !errors.As(timeError([]byte(`{"next friday":1}`), pe), &e) || e.Fields["body"] == "" {
		t.Fatalf("key only: %+v", e)
	}
}
