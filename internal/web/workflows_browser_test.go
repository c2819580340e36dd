package web_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pivand/pivand/internal/app"
	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// TestWorkflowBrowser builds "when a deal is won, create a task and award
// 100 points" in the builder in headless Chromium, on the whole app (the
// real actions, the event dispatcher and the job runner running as in
// the server); wins the deal; and sees the task on the person's page,
// the 100 points on the club member's page and the run's steps in its
// log. Then the same pages in Persian. Screenshots at desktop and phone
// width; no page wider than a phone. Skipped without Chromium unless
// PIVAND_TEST_BROWSER=require.
func TestWorkflowBrowser(t *testing.T) {
	shots := requireChromium(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := storetest.Open(t, store.SQLite)
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	a, err := app.New(ctx, cfg, db, slog.New(slog.DiscardHandler), "test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := a.Auth.CreateUser(ctx, crm.UserCreate{Email: "admin@example.com", Name: "Nasrin Ahmadi", Password: "correct horse battery", Role: crm.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	as := crm.NewContextWithUser(ctx, admin)
	prog, err := a.Club.CreateProgram(as, club.ProgramInput{Name: "Friends", Currency: "IRR", EarnPoints: 1, EarnAmount: 10000, ExpiryMonths: 12})
	if err != nil {
		t.Fatal(err)
	}
	sara, err := a.Contacts.CreateContact(as, &crm.Contact{FirstName: "Sara", LastName: "Rezaei"}, true)
	if err != nil {
		t.Fatal(err)
	}
	member, err := a.Club.Enrol(as, club.Enrolment{ProgramID: prog.ID, ContactID: sara.ID})
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := a.Sales.CreatePipeline(as, sales.PipelineInput{Name: "Wholesale", Currency: "IRR", Stages: []sales.StageInput{{Name: "Talk"}, {Name: "Offer"}}})
	if err != nil {
		t.Fatal(err)
	}
	uid, value := admin.ID, int64(5_000_000)
	deal, err := a.Sales.CreateDeal(as, sales.DealInput{Title: "Office chairs", PipelineID: pipe.ID, ContactID: sara.ID, OwnerID: &uid, Value: &value, Currency: "IRR"})
	if err != nil {
		t.Fatal(err)
	}
	// The workers, as `pivand serve` runs them.
	go a.Events.Run(ctx)
	go a.Jobs.Run(ctx)
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()

	br := newBrowser(t, shots, 240*time.Second) // generous: the shared machine is loaded
	do, eval, use, shot, fits, submit := br.do, br.eval, br.use, br.shot, br.fits, br.submit
	phone := viewport{390, 800, true}
	page := func() string { return eval(`document.body.dataset.page`) }
	do("sign in page", use(desktop), chromedp.Navigate(srv.URL+"/automation/new"),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"))
	submit("sign in", `form[action="/signin"] button[type="submit"]`, 200)
	if p := page(); p != "workflow_form" {
		t.Fatalf("after sign-in: page %q", p)
	}
	// The builder starts with "A deal is won"; the conditions editor
	// replaced its JSON field.
	if got := eval(`document.getElementById("f-trigger.kind").value`); got != "deal_won" {
		t.Fatalf("trigger %q", got)
	}
	if eval(`String(document.querySelector("#f-conditions [data-rules-json]").hidden)`) != "true" {
		t.Error("the conditions' JSON field is still shown")
	}
	setSelect := func(step, sel, value string) {
		t.Helper()
		if got := eval(`(function(){var s=document.querySelector(` + strconv.Quote(sel) + `);if(!s)return "missing";s.value=` + strconv.Quote(value) + `;return s.value})()`); got != value {
			t.Fatalf("%s: %s", step, got)
		}
	}
	do("name", chromedp.SendKeys(byID("f-name"), "Thank won deals"))
	setSelect("choose a task", `select[name="add_kind"]`, "create_task")
	submit("add the task", `button[value="add:"]`, 200)
	// The browser applies autofocus at its next rendering update, which
	// on a loaded machine can come after the load event: wait for it.
	got := eval(`document.activeElement.name`)
	for deadline := time.Now().Add(3 * time.Second); got != "s.0.kind" && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		got = eval(`document.activeElement.name`)
	}
	if got != "s.0.kind" {
		t.Errorf("after adding: focus on %q", got)
	}
	do("the task", chromedp.SendKeys(byID("f-s.0.title"), "Thank the customer"), chromedp.SendKeys(byID("f-s.0.due_days"), "2"))
	setSelect("choose points", `select[name="add_kind"]`, "award_points")
	submit("add the points", `button[value="add:"]`, 200)
	if got := eval(`(document.getElementById("f-s.0.title")||{value:document.body.dataset.page+" "+document.body.innerText}).value`); got != "Thank the customer" {
		t.Fatalf("the task's title after adding a step: %q", got)
	}
	do("the points", chromedp.SendKeys(byID("f-s.1.points"), "100"), chromedp.SendKeys(byID("f-s.1.reason"), "Deal won"))
	shot("en-desktop-workflow-builder")
	submit("publish", `.wf-actions button[value="publish"]`, 200)
	if p := page(); p != "workflow" {
		t.Fatalf("after publishing: page %q\n%s", p, eval(`document.body.innerText`))
	}
	body := eval(`document.body.innerText`)
	for _, want := range []string{"When a deal is won", "Create the task «Thank the customer» for the record's owner, due in 2 days", "Award 100 points", "v1"} {
		if !strings.Contains(body, want) {
			t.Errorf("workflow page lacks %q:\n%s", want, body)
		}
	}
	path := strings.TrimPrefix(eval(`location.pathname`), "")
	shot("en-desktop-workflow")

	// The deal is won (as the sales team would, on the board).
	if _, err := a.Sales.Win(as, deal.ID, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var run *workflow.Run
	for {
		runs, _, err := a.Workflows.Runs(as, workflow.RunFilter{}, crm.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) == 1 && runs[0].Status != workflow.RunActive {
			run = runs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no finished run after a minute: %+v", runs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if run.Status != workflow.RunCompleted {
		t.Fatalf("run %+v", run)
	}
	runPage := path + "/runs/" + strconv.FormatInt(run.ID, 10)
	do("run page", chromedp.Navigate(srv.URL+runPage))
	body = eval(`document.body.innerText`)
	for _, want := range []string{"Completed", "A deal was won (event ", "Thank the customer", "Awarded 100 points"} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q:\n%s", want, body)
		}
	}
	shot("en-desktop-workflow-run")
	do("the person", chromedp.Navigate(srv.URL+"/contacts/"+strconv.FormatInt(sara.ID, 10)))
	body = eval(`document.body.innerText`)
	for _, want := range []string{"Thank the customer", "Thank won deals"} {
		if !strings.Contains(body, want) {
			t.Errorf("the person's page lacks %q:\n%s", want, body)
		}
	}
	do("the member", chromedp.Navigate(srv.URL+"/club/members/"+strconv.FormatInt(member.Member.ID, 10)))
	body = eval(`document.body.innerText`)
	if !strings.Contains(body, "Deal won") || !strings.Contains(body, "100") {
		t.Errorf("the member's page shows no 100 points for the deal:\n%s", body)
	}
	shot("en-desktop-club-member-after-workflow")
	do("list", chromedp.Navigate(srv.URL+"/automation"))
	shot("en-desktop-workflows")
	fits("workflows (desktop)")

	// Persian: the same pages right to left, with Persian digits.
	submit("switch to Persian", `button[value="fa"]`, 200)
	if dir := eval(`document.documentElement.dir`); dir != "rtl" {
		t.Fatalf("dir %q after switching", dir)
	}
	if body := eval(`document.body.innerText`); !strings.Contains(body, "خودکارسازی") || !strings.Contains(body, "۱") {
		t.Errorf("the Persian list:\n%s", body)
	}
	shot("fa-desktop-workflows")
	do("fa builder", chromedp.Navigate(srv.URL+path+"/edit"))
	shot("fa-desktop-workflow-builder")
	do("fa workflow", chromedp.Navigate(srv.URL+path))
	if body := eval(`document.body.innerText`); !strings.Contains(body, "دادن ۱۰۰ امتیاز") {
		t.Errorf("the Persian workflow page:\n%s", body)
	}
	shot("fa-desktop-workflow")
	do("fa run", chromedp.Navigate(srv.URL+runPage))
	shot("fa-desktop-workflow-run")
	do("fa phone builder", use(phone), chromedp.Navigate(srv.URL+path+"/edit"))
	fits("builder (phone)")
	shot("fa-phone-workflow-builder")
	do("fa phone run", chromedp.Navigate(srv.URL+runPage))
	fits("run (phone)")
	shot("fa-phone-workflow-run")
}

// byID selects an element by an id that holds dots, which a CSS #id
// would read as classes.
func byID(id string) chromedp.CSS { return chromedp.CSS(`[id="` + id + `"]`) }
