package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// A run's log names the user a task went to and links to the task; a
// task due in one day says "1 day"; in Persian too.
func TestWorkflowRunLogNames(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		wa := newWorkflowApp(t, db)
		c := wa.signedIn(t, "en")
		sam := wa.createUser("sam.rahimi@example.com", crm.RoleSales)
		path := c.createWorkflow(t, builder("Call soon", "trigger.kind", "manual", "trigger.object", "contact",
			"step", "0", "s.0.kind", "create_task", "s.0.title", "Call back", "s.0.due_days", "1",
			"s.0.assign.mode", workflow.AssignFixed, "s.0.assign.user_id", strconv.FormatInt(sam.ID, 10),
			"step", "1", "s.1.kind", "wait", "s.1.wait.kind", "duration", "s.1.wait.amount", "1", "s.1.wait.unit", "day"))
		r := c.get(path)
		mustContain(t, r, "Create the task «Call back» for «sam.rahimi», due in 1 day", "Wait 1 day")
		if strings.Contains(r.body, "1 days") {
			t.Errorf("plural after 1:\n%s", r.body)
		}
		mustStatus(t, c.post(path+"/start", path, url.Values{"record": {strconv.FormatInt(wa.sara, 10)}}), http.StatusOK)
		wa.pump(t)
		runID := regexp.MustCompile(path + `/runs/(\d+)`).FindStringSubmatch(c.get(path + "/runs").body)
		if runID == nil {
			t.Fatal("no run")
		}
		tasks, _, err := wa.activity.ListTasks(context.Background(), crm.TaskFilter{})
		if err != nil || len(tasks) == 0 {
			t.Fatalf("tasks: %v %d", err, len(tasks))
		}
		task := strconv.FormatInt(tasks[0].ID, 10)
		r = c.get(path + "/runs/" + runID[1])
		mustContain(t, r, `<a href="/tasks/`+task+`">Task `+task+` “Call back” for «sam.rahimi».</a>`)
		if strings.Contains(r.body, "for user ") {
			t.Errorf("the log names the user by id:\n%s", r.body)
		}
		fa := wa.signedIn(t, "fa")
		r = fa.get(path + "/runs/" + runID[1])
		mustContain(t, r, `<a href="/tasks/`+task+`">`, "برای «sam.rahimi»")
	})
}

// Texts of runs with ids only, as runs stored them, read with names when
// the page knows them and as "user 4" when not.
func TestWorkflowMessagesNamed(t *testing.T) {
	en, fa := locale.ForLanguage("en"), locale.ForLanguage("fa")
	n := &wfNames{users: map[int64]string{4: "Sara Karimi"}, subs: map[int64]string{2: "Shop"}, segments: map[int64]string{9: "VIP"}}
	for _, c := range []struct {
		p          *locale.Printer
		text       string
		names      *wfNames
		want, href string
	}{
		{en, "Task 12 “Call” for user 4.", n, "Task 12 “Call” for «Sara Karimi».", "/tasks/12"},
		{en, "Task 12 “Call” for user 5.", n, "Task 12 “Call” for user 5.", "/tasks/12"},
		{en, "Queued delivery 1 to webhook 2.", n, "Queued delivery 1 to «Shop».", "/settings/webhooks/2#log"},
		{en, "Queued delivery 1 to webhook 3.", n, "Queued delivery 1 to webhook 3.", ""},
		{en, "Assigned the deal to user 4.", n, "to «Sara Karimi».", ""},
		{en, "Added to list 9.", n, "Added to «VIP».", "/segments/9"},
		{en, "Ticket 1369 “Broken”.", n, "Ticket 1369 “Broken”.", "/service/tickets/1369"},
		{en, "Awarded 1 points (member M-1; 5 available).", n, "Awarded 1 point (member M-1; 5 available).", ""},
		{en, "Date: 1 days after birthday (2026-12-05)", nil, "Date: 1 day after", ""},
		{fa, "Queued delivery 1 to webhook 2.", n, "ارسال ۱ به «Shop» در صف قرار گرفت.", "/settings/webhooks/2#log"},
		{fa, "Task 12 “Call” for user 4.", nil, "کار ۱۲ «Call» برای کاربر ۴.", ""},
	} {
		got := wfSayNamed(c.p, c.text, c.names)
		if got.English || !strings.Contains(got.Text, c.want) || got.Href != c.href {
			t.Errorf("%s %q: %+v, want %q %q", c.p.Lang(), c.text, got, c.want, c.href)
		}
	}
}
