package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// TestWorkflowDealWon is the whole app's path of "when a deal is won,
// create a task and award 100 points": the deal.won event enrols the deal,
// the step jobs make a task on the deal's person (assigned to the deal's
// owner) and award 100 points through the club's ledger, once.
func TestWorkflowDealWon(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole app")
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		cfg := config.Defaults()
		cfg.DataDir = t.TempDir()
		a, err := New(ctx, cfg, db, slog.New(slog.DiscardHandler), "test")
		if err != nil {
			t.Fatal(err)
		}
		owner := &crm.User{Email: "owner@example.com", Name: "Owner", Role: crm.RoleAdmin, Active: true, Preferences: crm.DefaultPreferences("en")}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, owner, "x") }); err != nil {
			t.Fatal(err)
		}
		as := crm.NewContextWithUser(ctx, owner)
		p, err := a.Club.CreateProgram(as, club.ProgramInput{Name: "Club", Currency: "IRR", EarnPoints: 1, EarnAmount: 10000, ExpiryMonths: 12})
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Contacts.CreateContact(as, &crm.Contact{FirstName: "Sara", LastName: "Rezaei"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Club.Enrol(as, club.Enrolment{ProgramID: p.ID, ContactID: c.ID}); err != nil {
			t.Fatal(err)
		}
		w, err := a.Workflows.Create(as, workflow.Input{Name: "Won deals", Definition: json.RawMessage(`{"trigger": {"kind": "deal_won"},
			"steps": [{"kind": "create_task", "title": "Thank the customer", "due_days": 2}, {"kind": "award_points", "points": 100, "reason": "Deal won"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Workflows.Publish(as, w.ID, w.Version); err != nil {
			t.Fatal(err)
		}
		// field_changed with from/to reads the values from the change's
		// audit entry: open → won fires, lost → won does not.
		var changed []int64
		for _, def := range []string{
			`{"trigger": {"kind": "field_changed", "object": "deal", "field": "status", "from": "open", "to": "won"}, "steps": [{"kind": "add_tag", "tag": "was-open"}]}`,
			`{"trigger": {"kind": "field_changed", "object": "deal", "field": "status", "from": "lost", "to": "won"}, "steps": [{"kind": "add_tag", "tag": "was-lost"}]}`,
		} {
			fw, err := a.Workflows.Create(as, workflow.Input{Name: "Status", Definition: json.RawMessage(def)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Workflows.Publish(as, fw.ID, 0); err != nil {
				t.Fatal(err)
			}
			changed = append(changed, fw.ID)
		}
		if err := a.Events.Drain(ctx); err != nil { // the subscribers take their place, as in a running server
			t.Fatal(err)
		}
		pl, err := a.Sales.CreatePipeline(as, sales.PipelineInput{Name: "Sales", Currency: "IRR", Stages: []sales.StageInput{{Name: "Talk"}, {Name: "Offer"}}})
		if err != nil {
			t.Fatal(err)
		}
		uid := owner.ID
		v := int64(5_000_000)
		d, err := a.Sales.CreateDeal(as, sales.DealInput{Title: "Big order", PipelineID: pl.ID, ContactID: c.ID, OwnerID: &uid, Value: &v, Currency: "IRR"})
		if err != nil {
			t.Fatal(err)
		}
		settle := func() {
			for range 20 {
				if err := a.Events.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				n, err := a.Jobs.RunOnce(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					return
				}
			}
		}
		settle()
		if runs, _, _ := a.Workflows.Runs(as, workflow.RunFilter{WorkflowID: w.ID}, crm.Page{}); len(runs) != 0 {
			t.Fatal("a run before the deal was won")
		}
		if _, err := a.Sales.Win(as, d.ID, 0); err != nil {
			t.Fatal(err)
		}
		settle()

		runs, _, err := a.Workflows.Runs(as, workflow.RunFilter{WorkflowID: w.ID}, crm.Page{})
		if err != nil || len(runs) != 1 || runs[0].Status != workflow.RunCompleted || runs[0].ContactID != c.ID {
			t.Fatalf("runs: %v %+v", err, runs)
		}
		for i, want := range []int{1, 0} {
			if rs, _, _ := a.Workflows.Runs(as, workflow.RunFilter{WorkflowID: changed[i]}, crm.Page{}); len(rs) != want {
				t.Fatalf("field_changed workflow %d: %d runs, want %d", i, len(rs), want)
			}
		}
		if got, _ := a.Sales.Deal(as, d.ID); len(got.Tags) != 1 || got.Tags[0] != "was-open" {
			t.Fatalf("deal tags: %v", got.Tags)
		}
		tasks, _, err := a.Activity.ListTasks(as, crm.TaskFilter{ContactID: c.ID})
		if err != nil || len(tasks) != 1 || tasks[0].Title != "Thank the customer" || tasks[0].AssigneeID != owner.ID || tasks[0].DealID != d.ID || tasks[0].DueAt == nil {
			t.Fatalf("tasks: %v %+v", err, tasks)
		}
		ms, err := a.Club.MembersOfContact(as, c.ID)
		if err != nil || len(ms) != 1 || ms[0].Available != 100 {
			t.Fatalf("members: %v %+v", err, ms)
		}
		// The points step again under the same key (a step run twice)
		// changes nothing; so does the task step.
		key := "wf:" + jsonInt(runs[0].ID) + ":1"
		if _, err := (workflowActions{a}).Points(ctx, c.ID, 100, "again", key); err != nil {
			t.Fatal(err)
		}
		if _, err := (workflowActions{a}).CreateTask(ctx, workflow.TaskAction{Title: "Thank the customer", ContactID: c.ID, Object: "deal", RecordID: d.ID,
			UserID: owner.ID, Key: "wf:" + jsonInt(runs[0].ID) + ":0"}); err != nil {
			t.Fatal(err)
		}
		ms, _ = a.Club.MembersOfContact(as, c.ID)
		tasks, _, _ = a.Activity.ListTasks(as, crm.TaskFilter{ContactID: c.ID})
		if ms[0].Available != 100 || len(tasks) != 1 {
			t.Fatalf("repeated steps: %d points, %d tasks", ms[0].Available, len(tasks))
		}
		// Both steps are on the person's timeline.
		var n int
		if err := db.Read(ctx, func(tx *store.Tx) error {
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE contact_id = ? AND type = ? AND subject_id = ?`, c.ID, workflow.EventStep, runs[0].ID).Scan(&n)
		}); err != nil || n != 2 {
			t.Fatalf("timeline steps: %d %v", n, err)
		}
		run, _ := a.Workflows.Run(as, runs[0].ID)
		if !strings.Contains(run.Log[1].Detail, "Awarded 100 points") || !strings.HasPrefix(run.Reason, "deal.won") {
			t.Fatalf("log: %+v reason %q", run.Log, run.Reason)
		}
	})
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

var _ = context.Background
