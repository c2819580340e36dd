package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

var (
	sys   = context.Background()
	quiet = slog.New(slog.DiscardHandler)
)

// recorder is the actions port for these tests: it reads people from the
// real store and records what the engine asks it to do. Failing makes the
// next calls of a step kind fail with the given error.
type recorder struct {
	db *store.DB

	mu      sync.Mutex
	calls   []string
	quiet   time.Time // SendMessage defers until then (the person's quiet hours)
	failing map[string]error
	failN   map[string]int
}

func (r *recorder) record(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *recorder) fail(kind string, n int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failing == nil {
		r.failing, r.failN = map[string]error{}, map[string]int{}
	}
	r.failing[kind], r.failN[kind] = err, n
}

func (r *recorder) err(kind string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failN[kind] > 0 {
		r.failN[kind]--
		return r.failing[kind]
	}
	return nil
}

func (r *recorder) Record(ctx context.Context, object string, id int64) (*workflow.Record, error) {
	if object != workflow.ObjectContact {
		return &workflow.Record{Object: object, ID: id, OwnerID: 4}, nil
	}
	var c *crm.Contact
	err := r.db.Read(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.FindContactByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &workflow.Record{Object: object, ID: id, ContactID: c.ID, Name: c.FirstName,
		Fields: map[string]string{"language": c.Language, "tags": strings.Join(c.Tags, ",")}}, nil
}

func (r *recorder) CreateTask(ctx context.Context, t workflow.TaskAction) (string, error) {
	if err := r.err("task"); err != nil {
		return "", err
	}
	r.record(fmt.Sprintf("task %s contact=%d user=%d key=%s", t.Title, t.ContactID, t.UserID, t.Key))
	return "made", nil
}

func (r *recorder) Assign(ctx context.Context, t workflow.Target, userID int64) (string, error) {
	r.record(fmt.Sprintf("assign %s %d to %d", t.Object, t.RecordID, userID))
	return "assigned", nil
}

func (r *recorder) UpdateField(ctx context.Context, t workflow.Target, field, value string) (string, error) {
	r.record(fmt.Sprintf("set %s=%s", field, value))
	return "set", nil
}

func (r *recorder) Tag(ctx context.Context, t workflow.Target, tag string, add bool) (string, error) {
	if err := r.err("tag"); err != nil {
		return "", err
	}
	r.record(fmt.Sprintf("tag %s %v contact=%d", tag, add, t.ContactID))
	return "tagged", nil
}

func (r *recorder) SendMessage(ctx context.Context, m workflow.Message) (string, error) {
	r.record("send " + m.Channel)
	r.mu.Lock()
	quiet := r.quiet
	r.mu.Unlock()
	if now := r.db.Now(); now.Before(quiet) {
		return "", workflow.Defer(quiet)
	}
	return "", workflow.Skip("no consent")
}

func (r *recorder) AddToList(ctx context.Context, listID, contactID int64) (string, error) {
	r.record(fmt.Sprintf("list %d contact=%d", listID, contactID))
	return "listed", nil
}

func (r *recorder) Points(ctx context.Context, contactID, points int64, reason, key string) (string, error) {
	r.record(fmt.Sprintf("points %d contact=%d key=%s", points, contactID, key))
	return "points", nil
}

func (r *recorder) CreateTicket(ctx context.Context, t workflow.TicketAction) (string, error) {
	r.record("ticket " + t.Subject)
	return "ticket", nil
}

func (r *recorder) CallWebhook(ctx context.Context, id int64, key string, body json.RawMessage) (string, error) {
	r.record(fmt.Sprintf("webhook %d", id))
	return "called", nil
}

func (r *recorder) TeamMembers(ctx context.Context, teamID int64) ([]int64, error) {
	return []int64{7, 8, 9}, nil
}

func (r *recorder) OpenTasks(ctx context.Context, users []int64) (map[int64]int, error) {
	return map[int64]int{7: 5, 8: 1, 9: 3}, nil
}

func (r *recorder) SegmentMembers(ctx context.Context, tx *store.Tx, segmentID int64, fn func(int64) error) error {
	rows, err := tx.Query(ctx, `SELECT id FROM contacts ORDER BY id`)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func (r *recorder) InboundContact(ctx context.Context, tx *store.Tx, body json.RawMessage) (int64, error) {
	var doc struct {
		ContactID int64 `json:"contact_id"`
	}
	_ = json.Unmarshal(body, &doc)
	return doc.ContactID, nil
}

// env is the engine on a real database with the real dispatcher and job
// runner and a clock the test moves.
type env struct {
	t      *testing.T
	db     *store.DB
	svc    *workflow.Service
	acts   *recorder
	disp   *event.Dispatcher
	runner *jobs.Runner

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := &env{t: t, db: db, acts: &recorder{db: db}, now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	db.Now = e.clock
	e.start()
	return e
}

// start builds the service, dispatcher and runner: again after a
// "restart" (the same database, nothing kept in memory).
func (e *env) start() {
	e.svc = workflow.New(e.db, workflow.Options{Actions: e.acts, Logger: quiet, Check: check(e.db)})
	e.disp = event.NewDispatcher(e.db, quiet)
	e.svc.Subscribe(e.disp)
	e.runner = jobs.NewRunner(e.db, quiet, jobs.Options{Workers: 1, BackoffBase: time.Second, BackoffMax: time.Second})
	e.svc.RegisterJobs(e.runner)
	if err := e.disp.Drain(sys); err != nil {
		e.t.Fatal(err)
	}
}

func check(db *store.DB) func(context.Context, crm.Rule) (crm.Rule, error) {
	return func(ctx context.Context, r crm.Rule) (crm.Rule, error) {
		var fields []crm.ConditionField
		if err := db.Read(ctx, func(tx *store.Tx) error {
			var err error
			fields, err = tx.ConditionFields(ctx)
			return err
		}); err != nil {
			return crm.Rule{}, err
		}
		return segment.Validate(r, fields)
	}
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// settle delivers events and works due jobs until nothing is left.
func (e *env) settle() {
	e.t.Helper()
	for i := 0; i < 50; i++ {
		if err := e.disp.Drain(sys); err != nil {
			e.t.Fatal(err)
		}
		n, err := e.runner.RunOnce(sys)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	e.t.Fatal("jobs kept coming")
}

func (e *env) contact(name string, tags ...string) int64 {
	e.t.Helper()
	c := &crm.Contact{FirstName: name, Tags: tags, Language: "en"}
	err := e.db.Write(sys, func(tx *store.Tx) error {
		if err := tx.InsertContact(sys, &store.ContactRow{Contact: c, SortName: name, SearchText: name}); err != nil {
			return err
		}
		return tx.Emit(sys, &crm.Event{Type: crm.EventContactCreated, SubjectType: "contact", SubjectID: c.ID, ContactID: c.ID})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

func (e *env) inboundHook(name string) int64 {
	e.t.Helper()
	h := &crm.InboundHook{Name: name, Active: true, TokenPrefix: name}
	if err := e.db.Write(sys, func(tx *store.Tx) error { return tx.InsertInboundHook(sys, h, "hash-"+name) }); err != nil {
		e.t.Fatal(err)
	}
	return h.ID
}

func (e *env) emit(ev crm.Event) {
	e.t.Helper()
	if err := e.db.Write(sys, func(tx *store.Tx) error { return tx.Emit(sys, &ev) }); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) publish(name, def string) *workflow.Workflow {
	e.t.Helper()
	w, err := e.svc.Create(sys, workflow.Input{Name: name, Definition: json.RawMessage(def)})
	if err != nil {
		e.t.Fatal(err)
	}
	if w, err = e.svc.Publish(sys, w.ID, w.Version); err != nil {
		e.t.Fatal(err)
	}
	return w
}

func (e *env) runs(wf int64) []*workflow.Run {
	e.t.Helper()
	rs, _, err := e.svc.Runs(sys, workflow.RunFilter{WorkflowID: wf}, crm.Page{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func (e *env) wantCalls(want ...string) {
	e.t.Helper()
	got := e.acts.Calls()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		e.t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidateNamesFields(t *testing.T) {
	d, err := workflow.ParseDefinition([]byte(`{"trigger": {"kind": "deal_stage"}, "steps": [
		{"kind": "create_task"},
		{"kind": "award_points", "points": -3},
		{"kind": "branch", "if": {"match": "all", "conditions": []}, "then": [{"kind": "add_tag"}]},
		{"kind": "wait", "wait": {"kind": "duration", "amount": 0, "unit": "day"}},
		{"kind": "assign", "assign": {"mode": "round_robin"}},
		{"kind": "send_email", "content": {"fa": {"subject": ""}}},
		{"kind": "explode"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	err = workflow.Validate(&d, nil)
	fs := crm.ErrorFields(err)
	for _, k := range []string{"trigger.stage_id", "steps[0].title", "steps[1].points", "steps[2].then[0].tag", "steps[3].wait.amount",
		"steps[4].assign.user_ids", "steps[5].content.fa.subject", "steps[5].content.fa.text", "steps[6].kind"} {
		if fs[k] == "" {
			t.Errorf("no problem named %s in %v", k, fs)
		}
	}
	if _, err := workflow.ParseDefinition([]byte(`{"trigger": {"kind": "manual"}, "bogus": 1}`)); crm.ErrorCode(err) != crm.EINVALID {
		t.Errorf("unknown key: %v", err)
	}
}

func TestPaths(t *testing.T) {
	steps := []workflow.Step{
		{Kind: "add_tag"},
		{Kind: "branch", Then: []workflow.Step{{Kind: "add_tag"}, {Kind: "branch", Else: []workflow.Step{{Kind: "stop"}}}}},
		{Kind: "add_tag"},
	}
	for _, c := range []struct{ from, want string }{{"0", "1"}, {"1.then.0", "1.then.1"}, {"1.then.1.else.0", "2"}, {"1.then.1", "2"}, {"2", ""}} {
		if got := workflow.NextPath(steps, c.from); got != c.want {
			t.Errorf("NextPath(%s) = %q, want %q", c.from, got, c.want)
		}
	}
	if got := workflow.BranchPath(steps, "1", true); got != "1.then.0" {
		t.Errorf("then: %q", got)
	}
	if got := workflow.BranchPath(steps, "1", false); got != "2" {
		t.Errorf("empty else: %q", got)
	}
	if workflow.StepAt(steps, "1.then.1.else.0").Kind != "stop" || workflow.StepAt(steps, "1.else.0") != nil || workflow.StepAt(steps, "x") != nil {
		t.Error("StepAt")
	}
}

// TestDeferredStep: a message in the person's quiet hours waits at its
// step (the log says until when), the run goes on when they end, and the
// steps after it wait with it.
func TestDeferredStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		wf := e.publish("quiet", `{"trigger": {"kind": "deal_won"}, "steps": [
			{"kind": "send_sms", "content": {"en": {"sms": "Hi"}}},
			{"kind": "add_tag", "tag": "after"}]}`)
		ana := e.contact("Ana")
		e.settle()
		until := e.clock().Add(9 * time.Hour)
		e.acts.mu.Lock()
		e.acts.quiet, e.acts.calls = until, nil
		e.acts.mu.Unlock()
		e.emit(crm.Event{Type: crm.EventDealWon, SubjectType: "deal", SubjectID: 71, ContactID: ana, Payload: json.RawMessage(`{}`)})
		e.settle()
		rs := e.runs(wf.ID)
		if len(rs) != 1 || rs[0].Status != workflow.RunActive {
			t.Fatalf("runs %+v", rs)
		}
		run, err := e.svc.Run(sys, rs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Log) != 1 || run.Log[0].Status != workflow.StepPending || run.Log[0].Detail != workflow.Say("quiet_until", "time", until.UTC().Format(time.RFC3339)) {
			t.Fatalf("log while quiet: %+v", run.Log)
		}
		e.wantCalls("send sms")
		e.advance(8 * time.Hour)
		e.settle()
		e.wantCalls("send sms")
		e.advance(time.Hour + time.Minute)
		e.settle()
		if run, err = e.svc.Run(sys, rs[0].ID); err != nil || run.Status != workflow.RunCompleted || len(run.Log) != 2 {
			t.Fatalf("after the quiet hours: %v %+v", err, run)
		}
		e.wantCalls("send sms", "send sms", fmt.Sprintf("tag after true contact=%d", ana))
	})
}

func TestTriggersAndSteps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		won := e.publish("won", `{"trigger": {"kind": "deal_won"}, "steps": [
			{"kind": "create_task", "title": "Thank them", "assign": {"mode": "fixed", "user_id": 5}},
			{"kind": "award_points", "points": 100},
			{"kind": "send_sms", "content": {"en": {"sms": "Hi"}}}]}`)
		stage := e.publish("stage", `{"trigger": {"kind": "deal_stage", "stage_id": 3}, "steps": [{"kind": "add_tag", "tag": "stage3"}]}`)
		created := e.publish("created", `{"trigger": {"kind": "record_created", "object": "contact"}, "steps": [{"kind": "add_to_list", "list_id": 4}]}`)
		e.acts.calls = nil
		ana := e.contact("Ana")
		e.settle()
		e.wantCalls(fmt.Sprintf("list 4 contact=%d", ana))
		e.acts.calls = nil

		e.emit(crm.Event{Type: crm.EventDealStageChanged, SubjectType: "deal", SubjectID: 70, ContactID: ana, Payload: json.RawMessage(`{"stage_id": 2}`)})
		e.emit(crm.Event{Type: crm.EventDealStageChanged, SubjectType: "deal", SubjectID: 70, ContactID: ana, Payload: json.RawMessage(`{"stage_id": 3}`)})
		e.emit(crm.Event{Type: crm.EventDealWon, SubjectType: "deal", SubjectID: 70, ContactID: ana, Payload: json.RawMessage(`{}`)})
		e.settle()
		rs := e.runs(won.ID)
		if len(rs) != 1 || rs[0].Status != workflow.RunCompleted || rs[0].Object != "deal" || rs[0].RecordID != 70 {
			for _, r := range rs {
				t.Logf("run %+v", *r)
			}
			t.Fatal("won runs")
		}
		key := fmt.Sprintf("wf:%d:", rs[0].ID)
		e.wantCalls(fmt.Sprintf("tag stage3 true contact=%d", ana), fmt.Sprintf("task Thank them contact=%d user=5 key=%s0", ana, key),
			fmt.Sprintf("points 100 contact=%d key=%s1", ana, key), "send sms")
		if len(e.runs(stage.ID)) != 1 || len(e.runs(created.ID)) != 1 {
			t.Fatal("stage or created runs")
		}
		run, err := e.svc.Run(sys, rs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Log) != 3 || run.Log[2].Status != workflow.StepSkipped || run.Log[2].Detail != "no consent" || run.Log[0].Status != workflow.StepDone {
			t.Fatalf("log: %+v", run.Log)
		}
		// The timeline: started and three steps (the last says how the run ended), on the person.
		var types []string
		err = db.Read(sys, func(tx *store.Tx) error {
			rows, err := tx.Query(sys, `SELECT type FROM events WHERE contact_id = ? AND subject_type = 'workflow_run' AND subject_id = ? ORDER BY id`, ana, rs[0].ID)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					return err
				}
				types = append(types, s)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(types, " ") != "workflow.run_started workflow.step workflow.step workflow.step" {
			t.Fatalf("timeline: %v", types)
		}
		// Not re-enrollable: a second win of the same deal starts nothing.
		e.emit(crm.Event{Type: crm.EventDealWon, SubjectType: "deal", SubjectID: 70, ContactID: ana})
		e.settle()
		if len(e.runs(won.ID)) != 1 {
			t.Fatal("re-enrolled without leave")
		}
	})
}

func TestConditionsAndBranches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		w := e.publish("vip", `{"trigger": {"kind": "manual", "object": "contact"},
			"conditions": {"match": "all", "conditions": [{"field": "tags", "op": "has_any", "value": ["vip"]}]},
			"steps": [
				{"kind": "branch", "if": {"match": "all", "conditions": [{"field": "tags", "op": "has_any", "value": ["gold"]}]},
				 "then": [{"kind": "add_tag", "tag": "gold-path"}], "else": [{"kind": "add_tag", "tag": "plain-path"}]},
				{"kind": "wait", "wait": {"kind": "duration", "amount": 1, "unit": "hour"}},
				{"kind": "add_tag", "tag": "after-wait"}]}`)
		plain := e.contact("Plain")
		vip := e.contact("Vip", "vip")
		gold := e.contact("Gold", "vip", "gold")
		e.settle()
		res, err := e.svc.Start(sys, w.ID, workflow.StartInput{SegmentID: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Started != 2 || res.Skipped != 1 {
			t.Fatalf("start: %+v", res)
		}
		e.settle()
		e.wantCalls(fmt.Sprintf("tag plain-path true contact=%d", vip), fmt.Sprintf("tag gold-path true contact=%d", gold))
		_ = plain
		// The vip stops meeting the conditions during the wait: exited.
		if err := db.Write(sys, func(tx *store.Tx) error {
			_, err := tx.Exec(sys, `DELETE FROM contact_tags WHERE contact_id = ?`, vip)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		e.advance(61 * time.Minute)
		e.settle()
		e.wantCalls(fmt.Sprintf("tag plain-path true contact=%d", vip), fmt.Sprintf("tag gold-path true contact=%d", gold),
			fmt.Sprintf("tag after-wait true contact=%d", gold))
		for _, r := range e.runs(w.ID) {
			want := workflow.RunCompleted
			if r.ContactID == vip {
				want = workflow.RunExited
			}
			if r.Status != want {
				t.Errorf("run of %d: %s, want %s", r.ContactID, r.Status, want)
			}
		}
	})
}

// A delayed step survives a restart (a new service and runner on the
// same data, nothing in memory) and runs exactly once.
func TestWaitSurvivesRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		w := e.publish("later", `{"trigger": {"kind": "record_created", "object": "contact"}, "steps": [
			{"kind": "wait", "wait": {"kind": "duration", "amount": 2, "unit": "day"}},
			{"kind": "award_points", "points": 5}]}`)
		ana := e.contact("Ana")
		e.settle()
		if rs := e.runs(w.ID); len(rs) != 1 || rs[0].Status != workflow.RunActive || rs[0].NextStep != "0" {
			t.Fatalf("waiting run: %+v", rs)
		}
		e.wantCalls()
		e.advance(24 * time.Hour)
		e.start() // restart
		e.settle()
		e.wantCalls()
		e.advance(24*time.Hour + time.Minute)
		e.start() // restart again
		e.settle()
		rs := e.runs(w.ID)
		e.wantCalls(fmt.Sprintf("points 5 contact=%d key=wf:%d:1", ana, rs[0].ID))
		if rs[0].Status != workflow.RunCompleted {
			t.Fatalf("run: %+v", rs[0])
		}
		e.start()
		e.advance(72 * time.Hour)
		e.settle()
		e.wantCalls(fmt.Sprintf("points 5 contact=%d key=wf:%d:1", ana, rs[0].ID))
	})
}

// Many goroutines enrolling one record at once make one active run.
func TestEnrolmentUnique(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		w := e.publish("once", `{"trigger": {"kind": "manual", "object": "contact"}, "reenrol": true, "max_runs_per_day": 100,
			"steps": [{"kind": "wait", "wait": {"kind": "duration", "amount": 1, "unit": "day"}}]}`)
		ana := e.contact("Ana")
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			started int64
		)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					res, err := e.svc.Start(sys, w.ID, workflow.StartInput{RecordID: ana})
					if crm.ErrorCode(err) == crm.EUNAVAILABLE {
						continue // PostgreSQL serialisation: try again
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					started += res.Started
					mu.Unlock()
					return
				}
			}()
		}
		wg.Wait()
		if started != 1 {
			t.Fatalf("%d runs started", started)
		}
		active := 0
		for _, r := range e.runs(w.ID) {
			if r.Status == workflow.RunActive {
				active++
			}
		}
		if active != 1 {
			t.Fatalf("%d active runs", active)
		}
	})
}

func TestFailedRunRetry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		w := e.publish("flaky", `{"trigger": {"kind": "record_created", "object": "contact"}, "steps": [
			{"kind": "add_tag", "tag": "a"}, {"kind": "create_task", "title": "T"}]}`)
		// A passing failure is retried by the job runner with backoff.
		e.acts.fail("tag", 1, errors.New("connection reset"))
		// A permanent one fails the run.
		e.acts.fail("task", 1, &crm.Error{Code: crm.EINVALID, Message: "bad assignee"})
		ana := e.contact("Ana")
		e.settle()
		e.advance(2 * time.Second) // past the backoff
		e.settle()
		rs := e.runs(w.ID)
		if len(rs) != 1 || rs[0].Status != workflow.RunFailed || rs[0].NextStep != "1" || !strings.Contains(rs[0].Error, "bad assignee") {
			t.Fatalf("failed run: %+v", rs)
		}
		run, _ := e.svc.Run(sys, rs[0].ID)
		if run.Log[0].Attempts != 2 || run.Log[0].Status != workflow.StepDone || run.Log[1].Status != workflow.StepFailed {
			t.Fatalf("log: %+v", run.Log)
		}
		failed, _, _ := e.svc.Runs(sys, workflow.RunFilter{Status: workflow.RunFailed}, crm.Page{})
		if len(failed) != 1 {
			t.Fatal("failed list")
		}
		if _, err := e.svc.Retry(sys, rs[0].ID); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.wantCalls(fmt.Sprintf("tag a true contact=%d", ana), fmt.Sprintf("task T contact=%d user=0 key=wf:%d:1", ana, rs[0].ID))
		if r := e.runs(w.ID)[0]; r.Status != workflow.RunCompleted {
			t.Fatalf("after retry: %+v", r)
		}
		if _, err := e.svc.Retry(sys, rs[0].ID); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("retry of a completed run: %v", err)
		}
	})
}

func TestDailyScheduleAndBirthday(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		sched := e.publish("daily", `{"trigger": {"kind": "schedule", "at": "09:00", "segment_id": 1}, "reenrol": true,
			"steps": [{"kind": "add_tag", "tag": "daily"}]}`)
		bday := e.publish("birthday", `{"trigger": {"kind": "date", "date_field": "contact.birthday", "at": "09:30"},
			"reenrol": true, "steps": [{"kind": "award_points", "points": 50}]}`)
		ana := e.contact("Ana")
		if err := db.Write(sys, func(tx *store.Tx) error {
			_, err := tx.Exec(sys, `UPDATE contacts SET birthday = '1990-03-02' WHERE id = ?`, ana)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		e.settle()
		e.wantCalls()
		e.advance(time.Hour + time.Minute) // 09:01
		e.settle()
		e.wantCalls(fmt.Sprintf("tag daily true contact=%d", ana))
		e.advance(30 * time.Minute) // 09:31
		e.settle()
		if len(e.runs(bday.ID)) != 1 || len(e.acts.Calls()) != 2 {
			t.Fatalf("birthday: %v", e.acts.Calls())
		}
		e.advance(24 * time.Hour) // the next day: the schedule again, no birthday
		e.settle()
		if len(e.runs(sched.ID)) != 2 || len(e.runs(bday.ID)) != 1 {
			t.Fatalf("next day: %d, %d runs", len(e.runs(sched.ID)), len(e.runs(bday.ID)))
		}
	})
}

// TestWeeklyAndMonthlySchedules: a weekly schedule fires on its days
// only, a Jalali monthly one on its day of the Jalali month (2026-03-02 is
// 1404/12/11, so day 12 is the next day).
func TestWeeklyAndMonthlySchedules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		weekly := e.publish("weekly", `{"trigger": {"kind": "schedule", "at": "09:00", "segment_id": 1, "repeat": "weekly", "weekdays": [3, 5]},
			"reenrol": true, "steps": [{"kind": "add_tag", "tag": "w"}]}`)
		monthly := e.publish("monthly", `{"trigger": {"kind": "schedule", "at": "09:00", "segment_id": 1, "repeat": "monthly", "month_day": 12, "calendar": "jalali"},
			"reenrol": true, "steps": [{"kind": "add_tag", "tag": "m"}]}`)
		e.contact("Ana")
		e.settle()
		var wdays, mdays []string
		for range 9 {
			e.advance(24 * time.Hour)
			day := e.clock().Format("01-02")
			nw, nm := len(e.runs(weekly.ID)), len(e.runs(monthly.ID))
			e.settle()
			if len(e.runs(weekly.ID)) > nw {
				wdays = append(wdays, day)
			}
			if len(e.runs(monthly.ID)) > nm {
				mdays = append(mdays, day)
			}
		}
		if strings.Join(wdays, " ") != "03-04 03-06 03-11" || strings.Join(mdays, " ") != "03-03" {
			t.Fatalf("weekly fired %v, monthly %v", wdays, mdays)
		}
		run, err := e.svc.Run(sys, e.runs(monthly.ID)[0].ID)
		if err != nil || run.Reason != workflow.Say("started_monthly", "n", 12, "at", "09:00", "day", "2026-03-03") {
			t.Fatalf("reason: %q %v", run.Reason, err)
		}
	})
}

func TestFiresOn(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for _, c := range []struct {
		t    workflow.Trigger
		day  string
		want bool
	}{
		{workflow.Trigger{}, "2026-03-02", true},
		{workflow.Trigger{Repeat: "weekly", Weekdays: []int{1}}, "2026-03-02", true}, // a Monday
		{workflow.Trigger{Repeat: "weekly", Weekdays: []int{0, 6}}, "2026-03-02", false},
		{workflow.Trigger{Repeat: "monthly", MonthDay: 31, Calendar: "gregorian"}, "2026-02-28", true}, // the last day of a short month
		{workflow.Trigger{Repeat: "monthly", MonthDay: 31, Calendar: "gregorian"}, "2026-02-27", false},
		{workflow.Trigger{Repeat: "monthly", MonthDay: 1, Calendar: "jalali"}, "2026-03-21", true},  // 1405/01/01, Nowruz
		{workflow.Trigger{Repeat: "monthly", MonthDay: 30, Calendar: "jalali"}, "2026-03-20", true}, // 1404/12/29, the last of Esfand
		{workflow.Trigger{Repeat: "monthly", MonthDay: 31, Calendar: "jalali"}, "2026-10-22", true}, // 1405/07/30, the last of Mehr
		{workflow.Trigger{Repeat: "monthly", MonthDay: 31, Calendar: "jalali"}, "2026-10-21", false},
		{workflow.Trigger{Repeat: "monthly", MonthDay: 31, Calendar: "jalali"}, "2026-05-21", true}, // 1405/02/31
	} {
		if got := c.t.FiresOn(day(c.day)); got != c.want {
			t.Errorf("%+v on %s: %v", c.t, c.day, got)
		}
	}
	check := func(doc string) error {
		d, err := workflow.ParseDefinition([]byte(doc))
		if err != nil {
			return err
		}
		return workflow.Validate(&d, nil)
	}
	err := check(`{"trigger": {"kind": "schedule", "at": "09:00", "segment_id": 1, "repeat": "weekly", "weekdays": [7]}, "steps": [{"kind": "stop"}]}`)
	err2 := check(`{"trigger": {"kind": "schedule", "at": "09:00", "segment_id": 1, "repeat": "monthly", "month_day": 0, "calendar": "julian"}, "steps": [{"kind": "stop"}]}`)
	err3 := check(`{"trigger": {"kind": "schedule", "at": "09:00", "segment_id": 1, "repeat": "yearly"}, "steps": [{"kind": "stop"}]}`)
	for want, err := range map[string]error{"trigger.weekdays": err, "trigger.month_day": err2, "trigger.calendar": err2, "trigger.repeat": err3} {
		if crm.ErrorFields(err)[want] == "" {
			t.Errorf("no error on %s: %v", want, err)
		}
	}
}

func TestPublishKeepsVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		w := e.publish("v", `{"trigger": {"kind": "record_created", "object": "contact"}, "steps": [
			{"kind": "wait", "wait": {"kind": "duration", "amount": 1, "unit": "hour"}}, {"kind": "add_tag", "tag": "v1"}]}`)
		ana := e.contact("Ana")
		e.settle()
		w, err := e.svc.Update(sys, w.ID, workflow.Input{Name: "v", Version: w.Version, Definition: json.RawMessage(`{"trigger": {"kind": "record_created", "object": "contact"}, "steps": [
			{"kind": "add_tag", "tag": "v2"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		if !w.HasChanges || w.Published.Number != 1 {
			t.Fatalf("draft: %+v", w)
		}
		if _, err := e.svc.Update(sys, w.ID, workflow.Input{Name: "v", Version: w.Version - 1}); crm.ErrorCode(err) != crm.ECONFLICT {
			t.Fatalf("stale update: %v", err)
		}
		if w, err = e.svc.Publish(sys, w.ID, w.Version); err != nil || w.Published.Number != 2 {
			t.Fatalf("publish: %v %+v", err, w)
		}
		bob := e.contact("Bob")
		e.advance(time.Hour + time.Second)
		e.settle()
		e.wantCalls(fmt.Sprintf("tag v2 true contact=%d", bob), fmt.Sprintf("tag v1 true contact=%d", ana))
		vs, _ := e.svc.Versions(sys, w.ID)
		if len(vs) != 2 {
			t.Fatal("versions")
		}
		// Publishing an invalid draft is refused with the field named.
		if _, err := e.svc.Update(sys, w.ID, workflow.Input{Name: "v", Definition: json.RawMessage(`{"trigger": {"kind": "deal_stage"}, "steps": []}`)}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Publish(sys, w.ID, 0)
		if fs := crm.ErrorFields(err); fs["trigger.stage_id"] == "" || fs["steps"] == "" {
			t.Fatalf("publish invalid: %v", err)
		}
	})
}

// Each event-based trigger kind fires on its event and not on its
// neighbours'.
func TestTriggerMatching(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ana := e.contact("Ana")
		hook := e.inboundHook("shop")
		e.settle()
		cases := []struct {
			trigger string
			fire    crm.Event
			miss    crm.Event
		}{
			{fmt.Sprintf(`{"kind": "webhook_received", "hook_id": %d}`, hook),
				crm.Event{Type: crm.EventWebhookReceived, SubjectType: "inbound_hook", SubjectID: hook, Payload: json.RawMessage(fmt.Sprintf(`{"hook_id": %d, "body": {"contact_id": %d}}`, hook, ana))},
				crm.Event{Type: crm.EventWebhookReceived, SubjectType: "inbound_hook", SubjectID: hook + 1, Payload: json.RawMessage(fmt.Sprintf(`{"hook_id": %d, "body": {"contact_id": %d}}`, hook+1, ana))}},
			{`{"kind": "tier_changed", "tier_id": 2}`,
				crm.Event{Type: "club.tier_changed", SubjectType: "club_member", SubjectID: 9, ContactID: ana, Payload: json.RawMessage(`{"to_tier_id": 2}`)},
				crm.Event{Type: "club.tier_changed", SubjectType: "club_member", SubjectID: 9, ContactID: ana, Payload: json.RawMessage(`{"to_tier_id": 1}`)}},
			{`{"kind": "ticket_sla", "sla": "breach"}`,
				crm.Event{Type: crm.EventTicketSLABreached, SubjectType: "ticket", SubjectID: 11, ContactID: ana},
				crm.Event{Type: crm.EventTicketSLAWarning, SubjectType: "ticket", SubjectID: 12, ContactID: ana}},
			{`{"kind": "order_placed"}`,
				crm.Event{Type: crm.EventOrderCreated, SubjectType: "order", SubjectID: 21, ContactID: ana},
				crm.Event{Type: crm.EventOrderReturned, SubjectType: "order", SubjectID: 22, ContactID: ana}},
			{`{"kind": "points_expiring"}`,
				crm.Event{Type: "club.points_expiring", SubjectType: "club_member", SubjectID: 31, ContactID: ana},
				crm.Event{Type: "club.points_expired", SubjectType: "club_member", SubjectID: 32, ContactID: ana}},
			{`{"kind": "record_updated", "object": "ticket"}`,
				crm.Event{Type: crm.EventTicketStatusChanged, SubjectType: "ticket", SubjectID: 41, ContactID: ana},
				crm.Event{Type: crm.EventTicketCreated, SubjectType: "ticket", SubjectID: 42, ContactID: ana}},
			{`{"kind": "field_changed", "object": "contact", "field": "language"}`,
				crm.Event{Type: crm.EventContactUpdated, SubjectType: "contact", SubjectID: ana, ContactID: ana, Payload: json.RawMessage(`{"changed": ["language", "tags"]}`)},
				crm.Event{Type: crm.EventContactUpdated, SubjectType: "contact", SubjectID: ana, ContactID: ana, Payload: json.RawMessage(`{"changed": ["tags"]}`)}},
			{`{"kind": "deal_lost"}`,
				crm.Event{Type: crm.EventDealLost, SubjectType: "deal", SubjectID: 51, ContactID: ana},
				crm.Event{Type: crm.EventDealWon, SubjectType: "deal", SubjectID: 52, ContactID: ana}},
		}
		for i, c := range cases {
			w := e.publish(fmt.Sprint("t", i), `{"trigger": `+c.trigger+`, "reenrol": true, "max_runs_per_day": 10, "steps": [{"kind": "stop"}]}`)
			e.emit(c.miss)
			e.settle()
			if n := len(e.runs(w.ID)); n != 0 {
				t.Errorf("%s: %d runs on %s", c.trigger, n, c.miss.Type)
			}
			e.emit(c.fire)
			e.settle()
			rs := e.runs(w.ID)
			if len(rs) != 1 || rs[0].ContactID != ana || rs[0].Status != workflow.RunCompleted {
				t.Errorf("%s: runs %+v", c.trigger, rs)
			}
			if _, err := e.svc.SetEnabled(sys, w.ID, false); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A field_changed trigger on a list (tags) "to" a value fires when the
// value is added, whatever other tags the person has, and "from" a value
// when it is taken out: "when a person is tagged vip".
func TestFieldChangedListValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ana := e.contact("Ana", "wholesale")
		e.settle()
		tagged := e.publish("tagged vip", `{"trigger": {"kind": "field_changed", "object": "contact", "field": "tags", "to": "VIP"}, "reenrol": true, "max_runs_per_day": 10, "steps": [{"kind": "stop"}]}`)
		untagged := e.publish("untagged vip", `{"trigger": {"kind": "field_changed", "object": "contact", "field": "tags", "from": "vip"}, "reenrol": true, "max_runs_per_day": 10, "steps": [{"kind": "stop"}]}`)
		change := func(before, after []string) {
			t.Helper()
			err := e.db.Write(sys, func(tx *store.Tx) error {
				if err := tx.Audit(sys, "contact.update", "contact", ana, map[string]any{"tags": before}, map[string]any{"tags": after}); err != nil {
					return err
				}
				return tx.Emit(sys, &crm.Event{Type: crm.EventContactUpdated, SubjectType: "contact", SubjectID: ana, ContactID: ana,
					Payload: json.RawMessage(`{"changed": ["tags"]}`)})
			})
			if err != nil {
				t.Fatal(err)
			}
			e.settle()
			e.advance(time.Minute)
		}
		change([]string{"wholesale"}, []string{"wholesale", "vip"}) // tagged vip, among others
		if n, m := len(e.runs(tagged.ID)), len(e.runs(untagged.ID)); n != 1 || m != 0 {
			t.Fatalf("after tagging vip: %d tagged runs, %d untagged runs; want 1, 0", n, m)
		}
		change([]string{"wholesale", "vip"}, []string{"wholesale", "vip", "newsletter"}) // vip was there already
		if n, m := len(e.runs(tagged.ID)), len(e.runs(untagged.ID)); n != 1 || m != 0 {
			t.Fatalf("after another tag: %d tagged runs, %d untagged runs; want 1, 0", n, m)
		}
		change([]string{"wholesale", "vip", "newsletter"}, []string{"newsletter"}) // vip taken out
		if n, m := len(e.runs(tagged.ID)), len(e.runs(untagged.ID)); n != 1 || m != 1 {
			t.Fatalf("after untagging vip: %d tagged runs, %d untagged runs; want 1, 1", n, m)
		}
	})
}

// A run started by hand by a user without a name says who by email.
func TestStartedByHandNamesUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ana := e.contact("Ana")
		e.settle()
		w := e.publish("by hand", `{"trigger": {"kind": "manual", "object": "contact"}, "steps": [{"kind": "stop"}]}`)
		ctx := crm.NewContextWithUser(sys, &crm.User{ID: 1, Email: "admin@example.com", Role: crm.RoleAdmin, Active: true})
		if _, err := e.svc.Start(ctx, w.ID, workflow.StartInput{RecordID: ana}); err != nil {
			t.Fatal(err)
		}
		rs := e.runs(w.ID)
		if len(rs) != 1 || rs[0].Reason != "Started by hand by admin@example.com" {
			t.Fatalf("runs %+v; want one started by hand by admin@example.com", rs)
		}
	})
}

// Publishing refuses a workflow naming an inbound hook or an outgoing
// webhook that does not exist (deleted, a wrong id): its runs would only
// fail. Each is named by its path.
func TestPublishRefusesMissingHooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		hook := e.inboundHook("shop")
		w, err := e.svc.Create(sys, workflow.Input{Name: "refs", Definition: json.RawMessage(fmt.Sprintf(`{"trigger": {"kind": "webhook_received", "hook_id": %d},
			"steps": [{"kind": "branch", "if": {"match": "all", "conditions": [{"field": "tags", "op": "has_any", "value": ["vip"]}]},
				"then": [{"kind": "call_webhook", "subscription_id": 999}]}]}`, hook+1))})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Publish(sys, w.ID, w.Version)
		fs := crm.ErrorFields(err)
		if crm.ErrorCode(err) != crm.EINVALID || fs["trigger.hook_id"] == "" || fs["steps[0].then[0].subscription_id"] == "" {
			t.Fatalf("publish: %v %v; want invalid trigger.hook_id and steps[0].then[0].subscription_id", err, fs)
		}
		if got, _ := e.svc.Get(sys, w.ID); got.Published != nil || got.Status != workflow.StatusDraft {
			t.Fatalf("published anyway: %+v", got)
		}
	})
}
