package workflow_test

import (
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/workflow"
)

// FuzzDefinition feeds arbitrary JSON to the parser and the validator:
// neither may panic, every refusal is EINVALID naming at least one field,
// and every path of an accepted definition leads to a step or to the end.
func FuzzDefinition(f *testing.F) {
	for _, s := range []string{
		`{"trigger": {"kind": "deal_won"}, "steps": [{"kind": "create_task", "title": "T"}, {"kind": "award_points", "points": 100}]}`,
		`{"trigger": {"kind": "manual", "object": "contact"}, "steps": [{"kind": "branch", "if": {"match": "all", "conditions": []},
			"then": [{"kind": "add_tag", "tag": "a"}, {"kind": "branch", "if": {"match": "any"}, "else": [{"kind": "stop"}]}]},
			{"kind": "wait", "wait": {"kind": "duration", "amount": 2, "unit": "day"}}]}`,
		`{"trigger": {"kind": "schedule", "at": "09:00", "segment_id": 3}, "steps": [{"kind": "wait", "wait": {"kind": "until", "until": "2026-01-31"}}]}`,
		`{"trigger": {"kind": "date", "date_field": "contact.birthday", "offset_days": -3, "at": "24:00"}, "steps": []}`,
		`{"steps": [{"kind": "branch", "then": [{"kind": "branch", "then": [{"kind": "branch", "then": [{"kind": "branch", "then": [{"kind": "branch", "then": [{"kind": "stop"}]}]}]}]}]}]}`,
		`[]`, `null`, `{"trigger": 1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := workflow.ParseDefinition(data)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID || len(crm.ErrorFields(err)) == 0 {
				t.Fatalf("parse error %v", err)
			}
			return
		}
		err = workflow.Validate(&d, nil)
		if err != nil {
			if crm.ErrorCode(err) != crm.EINVALID || len(crm.ErrorFields(err)) == 0 {
				t.Fatalf("validate error %v", err)
			}
			return
		}
		// Walk every run through the tree: each path exists, and the
		// walk ends within the number of steps (no loops).
		for _, then := range []bool{true, false} {
			path, n := "0", 0
			for path != "" {
				s := workflow.StepAt(d.Steps, path)
				if s == nil {
					t.Fatalf("no step at %q", path)
				}
				if n++; n > workflow.MaxSteps+1 {
					t.Fatalf("walk does not end at %q", path)
				}
				if s.Kind == workflow.StepBranch {
					path = workflow.BranchPath(d.Steps, path, then)
				} else {
					path = workflow.NextPath(d.Steps, path)
				}
			}
		}
	})
}
