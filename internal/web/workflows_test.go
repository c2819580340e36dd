package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/jobs"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// wfActions is the workflow engine's actions port for the web tests: it
// reads people and makes tasks and tags with the real services; a list
// that does not exist fails the step for good (a failed run to retry);
// points are skipped (no club here). internal/app has the real port,
// which the browser test uses.
type wfActions struct {
	contacts *contact.Service
	activity *activity.Service
	failList bool // AddToList fails (ENOTFOUND) while set
}

func (a *wfActions) Record(ctx context.Context, object string, id int64) (*workflow.Record, error) {
	if object != workflow.ObjectContact {
		return nil, &crm.Error{Code: crm.ENOTFOUND, Message: "only people in these tests"}
	}
	c, err := a.contacts.FindContactByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &workflow.Record{Object: object, ID: id, ContactID: c.ID, Name: c.DisplayName(), Fields: map[string]string{}}, nil
}

func (a *wfActions) CreateTask(ctx context.Context, t workflow.TaskAction) (string, error) {
	task, err := a.activity.CreateTask(ctx, crm.Task{Kind: crm.ActivityTask, Title: t.Title, ContactID: t.ContactID, AssigneeID: t.UserID, DueAt: t.Due})
	if err != nil {
		return "", err
	}
	if t.UserID == 0 {
		return workflow.Say("task_unassigned", "id", task.ID, "title", task.Title), nil
	}
	return workflow.Say("task_made", "id", task.ID, "title", task.Title, "user", t.UserID), nil // as internal/app says it
}

func (a *wfActions) Assign(ctx context.Context, t workflow.Target, userID int64) (string, error) {
	return "", workflow.Skip("not in these tests")
}

func (a *wfActions) UpdateField(ctx context.Context, t workflow.Target, field, value string) (string, error) {
	return "", workflow.Skip("not in these tests")
}

func (a *wfActions) Tag(ctx context.Context, t workflow.Target, tag string, add bool) (string, error) {
	return "", workflow.Skip("not in these tests")
}

func (a *wfActions) SendMessage(ctx context.Context, m workflow.Message) (string, error) {
	return "", workflow.Skip("no consent")
}

func (a *wfActions) AddToList(ctx context.Context, listID, contactID int64) (string, error) {
	if a.failList {
		return "", &crm.Error{Code: crm.ENOTFOUND, Message: fmt.Sprintf("There is no list %d.", listID)}
	}
	return fmt.Sprintf("Added to list %d.", listID), nil
}

func (a *wfActions) Points(ctx context.Context, contactID, points int64, reason, key string) (string, error) {
	return "", workflow.Skip("the person is not an active club member")
}

func (a *wfActions) CreateTicket(ctx context.Context, t workflow.TicketAction) (string, error) {
	return "", workflow.Skip("not in these tests")
}

func (a *wfActions) CallWebhook(ctx context.Context, id int64, key string, body json.RawMessage) (string, error) {
	return "", workflow.Skip("not in these tests")
}

func (a *wfActions) TeamMembers(ctx context.Context, teamID int64) ([]int64, error) { return nil, nil }

func (a *wfActions) OpenTasks(ctx context.Context, users []int64) (map[int64]int, error) {
	return map[int64]int{}, nil
}

func (a *wfActions) SegmentMembers(ctx context.Context, tx *store.Tx, segmentID int64, fn func(int64) error) error {
	var ids []int64
	if err := tx.AllContactIDs(ctx, func(id int64) error { ids = append(ids, id); return nil }); err != nil {
		return err
	}
	for _, id := range ids {
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func (a *wfActions) InboundContact(ctx context.Context, tx *store.Tx, body json.RawMessage) (int64, error) {
	return 0, nil
}

// workflowApp is the web UI with automation installed, with the
// dispatcher and job runner that run the workflows.
type workflowApp struct {
	*testApp
	wf     *workflow.Service
	acts   *wfActions
	disp   *event.Dispatcher
	runner *jobs.Runner
	sara   int64
	admin  *crm.User // the last user signedIn made
}

func newWorkflowApp(t *testing.T, db *store.DB) *workflowApp {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	acts := &wfActions{contacts: a.contacts, activity: a.activity}
	check := func(ctx context.Context, r crm.Rule) (crm.Rule, error) {
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
	wa := &workflowApp{testApp: a, acts: acts, wf: workflow.New(db, workflow.Options{Actions: acts, Check: check, Logger: quiet, StepAttempts: 1}),
		disp: event.NewDispatcher(db, quiet), runner: jobs.NewRunner(db, quiet, jobs.Options{Workers: 1, BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})}
	wa.wf.Subscribe(wa.disp)
	wa.wf.RegisterJobs(wa.runner)
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, SegmentService: segment.New(db, segment.Options{}),
		Workflows: wa.wf, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	c, err := a.contacts.CreateContact(context.Background(), &crm.Contact{FirstName: "Sara", LastName: "Karimi",
		Emails: []crm.Labeled{{Value: "sara@example.com"}}}, true)
	if err != nil {
		t.Fatal(err)
	}
	wa.sara = c.ID
	return wa
}

// pump delivers events and runs the jobs due until nothing is left.
func (wa *workflowApp) pump(t *testing.T) {
	t.Helper()
	for range 20 {
		if err := wa.disp.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		n, err := wa.runner.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func (wa *workflowApp) signedIn(t *testing.T, lang string) *client {
	t.Helper()
	email := "wf-" + lang + "@example.com"
	u := wa.createUser(email, crm.RoleAdmin)
	prefs := crm.DefaultPreferences(lang)
	if lang != "en" {
		prefs.Calendar, prefs.Digits, prefs.TimeZone = "jalali", "persian", "Asia/Tehran"
	}
	if _, err := wa.auth.UpdatePreferences(context.Background(), u.ID, prefs); err != nil {
		t.Fatal(err)
	}
	wa.admin = u
	c := wa.client(t)
	c.signIn(email)
	return c
}

// builder is a builder form as the browser sends it.
func builder(name string, fields ...string) url.Values {
	v := url.Values{"name": {name}, "conditions": {`{"match":"all","conditions":[]}`}}
	for i := 0; i+1 < len(fields); i += 2 {
		v.Add(fields[i], fields[i+1])
	}
	return v
}

var workflowIDRE = regexp.MustCompile(`^/automation/(\d+)`)

// createWorkflow saves and publishes a workflow through the builder and
// returns its path.
func (c *client) createWorkflow(t *testing.T, form url.Values) string {
	t.Helper()
	form.Set("op", "publish")
	r := c.post("/automation", "/automation/new", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("publish: status %d\n%s", r.status, r.body[:min(len(r.body), 4000)])
	}
	m := workflowIDRE.FindStringSubmatch(r.location())
	if m == nil {
		t.Fatalf("publish went to %q", r.location())
	}
	return "/automation/" + m[1]
}

// TestWorkflowBuilder goes through the builder as a person would, without
// JavaScript: the trigger's menu reshapes the form, steps are added,
// moved and removed, a branch gets a step on its "yes" side, bad input
// comes back beside its fields and in the list at the top, and a good
// workflow is published, started by hand on a person found by name, and
// runs; a failing one shows in the failed runs and is retried.
func TestWorkflowBuilder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		wa := newWorkflowApp(t, db)
		c := wa.signedIn(t, "en")

		r := c.get("/automation")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "No workflows yet.", `href="/automation"`, `href="/automation/new"`)
		r = c.get("/automation/new")
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `name="trigger.kind"`, `value="deal_won" selected`, `data-segment-editor`, `No steps yet.`)

		// The trigger's menu: a manual start asks which record type.
		r = c.post("/automation", "/automation/new", builder("Welcome", "trigger.kind", "manual", "op", "refresh"))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, `name="trigger.object"`, `value="Welcome"`)
		// Add a task, then points; move the points up; remove nothing yet.
		form := builder("Welcome", "trigger.kind", "manual", "trigger.object", "contact", "add_kind", "create_task", "op", "add:")
		r = c.post("/automation", "/automation/new", form)
		mustContain(t, r, `name="s.0.title"`, `name="step" value="0"`)
		form = builder("Welcome", "trigger.kind", "manual", "trigger.object", "contact", "step", "0", "s.0.kind", "create_task", "s.0.title", "Call her",
			"s.0.due_days", "۲", "add_kind", "award_points", "op", "add:")
		r = c.post("/automation", "/automation/new", form)
		mustContain(t, r, `name="s.1.points"`, `value="Call her"`, `value="2"`)
		form = builder("Welcome", "trigger.kind", "manual", "trigger.object", "contact", "step", "0", "s.0.kind", "create_task", "s.0.title", "Call her",
			"step", "1", "s.1.kind", "award_points", "s.1.points", "100", "op", "up:1")
		r = c.post("/automation", "/automation/new", form)
		mustStatus(t, r, http.StatusOK)
		if i, j := strings.Index(r.body, `name="s.0.points" type="text" inputmode="numeric" value="100"`), strings.Index(r.body, `name="s.1.title" type="text" value="Call her"`); i < 0 || j < 0 {
			t.Fatalf("after moving up: points at %d, task at %d", i, j)
		}
		// A branch with a step on its "yes" side.
		form = builder("Welcome", "trigger.kind", "manual", "trigger.object", "contact", "add_kind", "branch", "op", "add:")
		r = c.post("/automation", "/automation/new", form)
		mustContain(t, r, `name="s.0.if"`, `name="add_kind.0.then"`, `name="add_kind.0.else"`)
		form = builder("Welcome", "trigger.kind", "manual", "trigger.object", "contact", "step", "0", "s.0.kind", "branch",
			"s.0.if", `{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["vip"]}]}`, "add_kind.0.then", "add_tag", "op", "add:0.then")
		r = c.post("/automation", "/automation/new", form)
		mustContain(t, r, `name="step" value="0.then.0"`, `name="s.0.then.0.tag"`, `&#34;vip&#34;`)
		form.Set("op", "remove:0")
		r = c.post("/automation", "/automation/new", form)
		mustContain(t, r, "No steps yet.")

		// Problems come back beside their fields and in the list above.
		bad := builder("", "trigger.kind", "deal_stage", "step", "0", "s.0.kind", "create_task", "s.0.title", "",
			"step", "1", "s.1.kind", "award_points", "s.1.points", "lots", "op", "publish")
		r = c.post("/automation", "/automation/new", bad)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Give the workflow a name.", `id="f-name-error"`, `aria-invalid="true"`, `href="#f-name"`,
			"Choose a stage.", `id="f-s.0.title-error"`) // all at once, not the name first
		// Named, the draft is saved; publishing names the rest.
		bad.Set("name", "Won deals")
		r = c.post("/automation", "/automation/new", bad)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Write a whole number.", `id="f-s.1.points-error"`, `value="lots"`)
		// The draft exists now: the form posts to it, with its version.
		saved := regexp.MustCompile(`action="(/automation/\d+)" class="form wf-form"`).FindStringSubmatch(r.body)
		ver := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(r.body)
		if saved == nil || ver == nil {
			t.Fatalf("the re-rendered form does not post to the saved draft:\n%s", r.body)
		}
		bad.Set("s.1.points", "100")
		bad.Set("version", ver[1])
		r = c.post(saved[1], saved[1]+"/edit", bad)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Not published: the draft was saved", "Choose a stage.", `id="f-trigger.stage_id-error"`, `id="f-s.0.title-error"`, "Step 1")
		list, _, err := wa.wf.List(crm.NewContextWithUser(context.Background(), wa.admin), crm.Page{})
		if err != nil || len(list) != 1 || list[0].Status != workflow.StatusDraft {
			t.Fatalf("drafts after the failed publish: %v %+v", err, list)
		}
		draft := "/automation/" + strconv.FormatInt(list[0].ID, 10)
		r = c.get(draft + "/edit?check=1")
		mustContain(t, r, "Before it can be published", "Choose a stage.")

		// A good one: a person's page starts it by hand.
		path := c.createWorkflow(t, builder("Welcome call", "trigger.kind", "manual", "trigger.object", "contact",
			"step", "0", "s.0.kind", "create_task", "s.0.title", "Call to welcome", "s.0.due_days", "2",
			"step", "1", "s.1.kind", "award_points", "s.1.points", "100", "s.1.reason", "Welcome"))
		r = c.get(path)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "When someone starts it on a person", "Create the task «Call to welcome» for the record&#39;s owner, due in 2 days", "Award 100 points",
			`action="`+path+`/start"`, "v1")
		person := "/contacts/" + strconv.FormatInt(wa.sara, 10)
		r = c.get(person)
		mustContain(t, r, `id="automation"`, `<option value="`+strings.TrimPrefix(path, "/automation/")+`">Welcome call</option>`)
		r = c.post(path+"/start", person, url.Values{"record": {"Nobody Here"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Nobody matches that.")
		r = c.post(path+"/start", person, url.Values{"record": {"Sara Karimi"}})
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "Started: 1. Left out: 0")
		wa.pump(t)
		r = c.post(path+"/start", person, url.Values{"workflow": {strings.TrimPrefix(path, "/automation/")}, "record": {strconv.FormatInt(wa.sara, 10)}, "back": {person}})
		mustStatus(t, r, http.StatusSeeOther)
		if !strings.HasPrefix(r.location(), person+"?notice=workflow_not_started") {
			t.Errorf("a second start (no re-enrolment) went to %q", r.location())
		}
		r = c.get(path + "/runs")
		mustContain(t, r, "Completed", "Sara Karimi", "Started by hand")
		runID := regexp.MustCompile(path + `/runs/(\d+)`).FindStringSubmatch(r.body)
		if runID == nil {
			t.Fatalf("no run on the runs page:\n%s", r.body)
		}
		r = c.get(path + "/runs/" + runID[1])
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "Create the task «Call to welcome»", "Done", "Skipped", "not an active club member")
		r = c.get(person)
		mustContain(t, r, "Call to welcome", "Workflow started:", "«Welcome call»")

		// A failing step: the run fails, is listed, and is retried.
		wa.acts.failList = true
		failing := c.createWorkflow(t, builder("Listing", "trigger.kind", "manual", "trigger.object", "contact",
			"step", "0", "s.0.kind", "add_to_list", "s.0.list_id", "999"))
		mustStatus(t, c.post(failing+"/start", failing, url.Values{"record": {strconv.FormatInt(wa.sara, 10)}}), http.StatusOK)
		wa.pump(t)
		r = c.get("/automation/failed")
		mustContain(t, r, "Listing", "There is no list 999.", ">Retry<")
		r = c.get("/automation")
		mustContain(t, r, "Welcome call", "Listing", `class="count-badge"`)
		fr := regexp.MustCompile(failing + `/runs/(\d+)`).FindStringSubmatch(c.get(failing + "/runs?status=failed").body)
		if fr == nil {
			t.Fatal("no failed run listed")
		}
		wa.acts.failList = false
		r = c.post(failing+"/runs/"+fr[1]+"/retry", "/automation/failed", url.Values{"back": {"failed"}})
		mustStatus(t, r, http.StatusSeeOther)
		wa.pump(t)
		r = c.get(failing + "/runs/" + fr[1])
		mustContain(t, r, "Completed", "Added to list 999.")

		// Switched off, it cannot be started; the list says so.
		mustStatus(t, c.post(path+"/enabled", path, url.Values{"on": {"0"}}), http.StatusSeeOther)
		r = c.get("/automation")
		mustContain(t, r, ">Off<")
		r = c.post(path+"/enabled", path, url.Values{"on": {"1"}})
		mustStatus(t, r, http.StatusSeeOther)

		// Editing makes a draft with changes; publishing makes version 2.
		r = c.get(path + "/edit")
		mustContain(t, r, `value="Call to welcome"`, `name="version"`)
		edit := builder("Welcome call", "trigger.kind", "manual", "trigger.object", "contact",
			"step", "0", "s.0.kind", "add_tag", "s.0.tag", "welcomed", "op", "save", "version", regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(r.body)[1])
		r = c.post(path, path+"/edit", edit)
		mustStatus(t, r, http.StatusSeeOther)
		r = c.get(path)
		mustContain(t, r, "Draft has changes", "Publish the draft")
		// The old version number is refused: someone else saved meanwhile.
		r = c.post(path, path+"/edit", edit)
		mustStatus(t, r, http.StatusConflict)
		mustContain(t, r, "Someone changed this workflow meanwhile")

		mustStatus(t, c.post(path+"/delete", path, nil), http.StatusSeeOther)
		mustStatus(t, c.get(path), http.StatusNotFound)
	})
}

// TestWorkflowForbidden keeps automation to those who may manage it.
func TestWorkflowForbidden(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	wa := newWorkflowApp(t, db)
	wa.createUser("sales@example.com", crm.RoleSales)
	c := wa.client(t)
	c.signIn("sales@example.com")
	mustStatus(t, c.get("/automation"), http.StatusForbidden)
	r := c.get("/")
	if strings.Contains(r.body, `href="/automation"`) {
		t.Error("the navigation links a sales user to automation")
	}
}

// workflowPages visits every automation page in lang: the list with a
// failed run, the builder new, with a branch and a wait and with errors,
// a workflow's page, its runs, a run, and the failed runs.
func workflowPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	wa := newWorkflowApp(t, storetest.Open(t, db.Dialect()))
	c := wa.signedIn(t, lang)
	var out []pageResponse
	add := func(p string) { out = append(out, pageResponse{p, c.get(p)}) }
	add("/automation")
	add("/automation/new")
	for _, kind := range workflow.TriggerKinds {
		out = append(out, pageResponse{"builder " + kind, c.post("/automation", "/automation/new",
			builder("All", "trigger.kind", kind, "trigger.object", "contact", "op", "refresh"))})
	}
	for _, rep := range []string{"weekly", "monthly"} {
		out = append(out, pageResponse{"builder schedule " + rep, c.post("/automation", "/automation/new",
			builder("Every", "trigger.kind", "schedule", "trigger.repeat", rep, "op", "publish"))})
	}
	steps := []string{"trigger.kind", "manual", "trigger.object", "contact"}
	for i, kind := range workflow.StepKinds {
		n := "s." + strconv.Itoa(i) + "."
		steps = append(steps, "step", strconv.Itoa(i), n+"kind", kind, n+"assign.mode", "round_robin", n+"wait.kind", "condition", n+"field", "owner_id")
	}
	steps = append(steps, "step", "13.then.0", "s.13.then.0.kind", "stop", "op", "publish", "s.0.points", "x")
	out = append(out, pageResponse{"builder every step (errors)", c.post("/automation", "/automation/new", builder("Every step", steps...))})
	path := c.createWorkflow(t, builder("Welcome", "trigger.kind", "manual", "trigger.object", "contact",
		"step", "0", "s.0.kind", "create_task", "s.0.title", "Call",
		"step", "1", "s.1.kind", "branch", "s.1.if", `{"match":"all","conditions":[{"field":"tags","op":"has_any","value":["vip"]}]}`,
		"step", "1.then.0", "s.1.then.0.kind", "wait", "s.1.then.0.wait.kind", "duration", "s.1.then.0.wait.amount", "2", "s.1.then.0.wait.unit", "day",
		"step", "2", "s.2.kind", "award_points", "s.2.points", "100"))
	wa.acts.failList = true
	failing := c.createWorkflow(t, builder("Listing", "trigger.kind", "manual", "trigger.object", "contact", "step", "0", "s.0.kind", "add_to_list", "s.0.list_id", "9"))
	for _, p := range []string{path, failing} {
		c.post(p+"/start", p, url.Values{"record": {strconv.FormatInt(wa.sara, 10)}})
	}
	wa.pump(t)
	add("/automation")
	add(path)
	add(path + "/edit")
	add(path + "/edit?check=1")
	add(path + "/runs")
	add(path + "/runs?status=failed")
	add("/automation/failed")
	if m := regexp.MustCompile(failing + `/runs/\d+`).FindString(c.get("/automation/failed").body); m != "" {
		add(m)
	} else {
		t.Errorf("%s: no failed run", lang)
	}
	if m := regexp.MustCompile(path + `/runs/\d+`).FindString(c.get(path + "/runs").body); m != "" {
		add(m)
	}
	out = append(out, pageResponse{"start (error)", c.post(path+"/start", path, url.Values{"record": {"Nobody"}})})
	add("/contacts/" + strconv.FormatInt(wa.sara, 10))
	return out
}
