package workflow

import (
	"errors"
	"testing"

	"github.com/pivand/pivand/internal/crm"
)

// TestParseDefinitionNamesTheKey: a value of the wrong type or an unknown
// key is named by its exact path under definition, with the index of its
// step (encoding/json gives "steps.points"), in words, not as a Go type;
// only JSON that is not JSON is called so.
func TestParseDefinitionNamesTheKey(t *testing.T) {
	for _, c := range []struct{ doc, field, problem, message string }{
		{`{"trigger":{"kind":"deal_won"},"steps":[{"kind":"add_tag","tag":"a"},{"kind":"award_points","points":"ten"}]}`,
			"definition.steps[1].points", "Must be a number, not string.", "The definition has an unknown key or a value of the wrong type."},
		{`{"trigger":{"kind":"deal_won"},"steps":[{"kind":"branch","then":[{"kind":"stop"},{"kind":"wait","wait":{"kind":"duration","amount":"2"}}]}]}`,
			"definition.steps[0].then[1].wait.amount", "Must be a number, not string.", ""},
		{`{"trigger":{"kind":"deal_won"},"steps":[{"kind":"stop"},{"kind":"branch","else":[{"kind":"stop","colour":"red"}]}]}`,
			"definition.steps[1].else[0].colour", `Unknown key "colour".`, ""},
		{`{"trigger":{"kind":"deal_won","hook":1},"steps":[]}`, "definition.trigger.hook", `Unknown key "hook".`, ""},
		{`{"trigger":{"kind":"deal_won"},"stepz":[]}`, "definition.stepz", `Unknown key "stepz".`, ""},
		{`{"trigger":{"kind":"deal_won"},"steps":{}}`, "definition.steps", "Must be a list, not object.", ""},
		{`{"definition":{"trigger":{"kind":"deal_won"},"steps":[]}}`, "definition.definition",
			`Unknown key "definition": send the definition itself (its trigger, conditions and steps), not wrapped in {"definition": …}.`, ""},
		{`{"trigger":{"kind":"deal_won"},"steps":[}`, "definition", "Not JSON at byte 41.", "The definition is not valid JSON."},
	} {
		_, err := ParseDefinition([]byte(c.doc))
		var e *crm.Error
		if !errors.As(err, &e) || e.Code != crm.EINVALID || len(e.Fields) != 1 || e.Fields[c.field] != c.problem || c.message != "" && e.Message != c.message {
			t.Errorf("%s: %#v", c.doc, err)
		}
	}
}
