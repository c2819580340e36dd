package workflow

import (
	"errors"
	"testing"

	"github.com/pivand/pivand/internal/crm"
)

// TestParseDefinitionNamesTheKey: a value of the wrong type is named by
// its key under definition, in words, not as a Go type.
func TestParseDefinitionNamesTheKey(t *testing.T) {
	_, err := ParseDefinition([]byte(`{"trigger":{"kind":"deal_won"},"steps":[{"kind":"award_points","points":"x"}]}`))
	var e *crm.Error
	if !errors.As(err, &e) || e.Fields["definition.steps.points"] != "steps.points must be a number, not string." {
		t.Fatalf("%#v", err)
	}
	_, err = ParseDefinition([]byte(`{"trigger":{"kind":"deal_won"},"stepz":[]}`))
	if !errors.As(err, &e) || e.Fields["definition"] != `Unknown key "stepz".` {
		t.Fatalf("%#v", err)
	}
}
