package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/leadform"
	"github.com/pivand/pivand/internal/segment"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

func newLeadformEnv(t *testing.T, db *store.DB) (*env, *leadform.Service) {
	t.Helper()
	e := newEnv(t, db)
	forms := leadform.New(db, leadform.Options{Person: e.contacts.PersonForForm, Region: "IR", Logger: slog.New(slog.DiscardHandler),
		Validate: func(ctx context.Context, tx *store.Tx, root crm.Rule) (crm.Rule, error) {
			fields, err := tx.ConditionFields(ctx)
			if err != nil {
				return crm.Rule{}, err
			}
			return segment.Validate(root, fields)
		}})
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, LeadForms: forms,
		Logger: slog.New(slog.DiscardHandler), Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	return e, forms
}

// TestLeadFormOpenAPI: every lead form and scoring route is documented
// and answers 401 without a token.
func TestLeadFormOpenAPI(t *testing.T) {
	e, _ := newLeadformEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range e.api.routes {
		p := rt.path()
		if !strings.Contains(p, "/lead-forms") && !strings.Contains(p, "/score") {
			continue
		}
		n++
		item := e.doc.Paths.Value(strings.TrimPrefix(p, apiBase))
		if item == nil || item.GetOperation(rt.method()) == nil {
			t.Errorf("%s is not documented", rt.pattern)
			continue
		}
		target := strings.ReplaceAll(p, "{id}", "1")
		if res := e.do(rt.method(), target, "", ""); res.Status != http.StatusUnauthorized {
			t.Errorf("%s %s without a token = %d", rt.method(), target, res.Status)
		}
	}
	if n != 13 {
		t.Fatalf("%d lead form and scoring routes", n)
	}
}

// TestLeadFormAPI: forms, submissions and scoring rules through the API,
// every response checked against the OpenAPI document.
func TestLeadFormAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, forms := newLeadformEnv(t, db)
		// Invalid input: 422 naming each field.
		pb := e.do("POST", "/api/v1/lead-forms", e.rw, `{"name":"","language":"de","fields":[{"key":"shoe"}],"consent_channel":"email"}`).
			problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"name", "language", "fields[0].key", "consent_text"} {
			if pb.field(f) == "" {
				t.Errorf("no problem on %s: %+v", f, pb)
			}
		}
		res := e.do("POST", "/api/v1/lead-forms", e.rw, `{"name":"Demo request","language":"fa","consent_channel":"email","consent_text":"بله",
			"fields":[{"key":"first_name","required":true,"labels":{"fa":"نام"}},{"key":"email","required":true},{"key":"company"}]}`)
		var f crm.LeadForm
		res.JSON(t, &f)
		if res.Status != http.StatusCreated || !f.Active || len(f.Fields) != 3 || res.Header.Get("Location") != fmt.Sprintf("/api/v1/lead-forms/%d", f.ID) {
			t.Fatalf("create: %d %s", res.Status, res.Body)
		}
		id := fmt.Sprint(f.ID)
		res = e.do("PUT", "/api/v1/lead-forms/"+id, e.rw, `{"name":"Demo","language":"en","fields":[{"key":"email","required":true}],"active":false}`)
		res.JSON(t, &f)
		if res.Status != 200 || f.Name != "Demo" || f.Active || f.ConsentChannel != "" {
			t.Fatalf("update: %d %s", res.Status, res.Body)
		}
		e.do("PUT", "/api/v1/lead-forms/"+id, e.rw, `{"name":"Demo","fields":[{"key":"email"}],"active":true}`)
		if _, err := forms.Submit(context.Background(), leadform.SubmitInput{PublicID: f.PublicID, IP: "x", Values: map[string]string{"email": "a@example.com"}}); err != nil {
			t.Fatal(err)
		}
		var subs list[*crm.FormSubmission]
		e.do("GET", "/api/v1/lead-forms/"+id+"/submissions", e.ro, "").JSON(t, &subs)
		if len(subs.Data) != 1 || subs.Data[0].Values["email"] != "a@example.com" || subs.Data[0].ContactID == 0 {
			t.Fatalf("submissions: %+v", subs)
		}
		var all list[*crm.LeadForm]
		e.do("GET", "/api/v1/lead-forms", e.ro, "").JSON(t, &all)
		if len(all.Data) != 1 || all.Data[0].Submissions != 1 {
			t.Fatalf("list: %+v", all)
		}
		e.do("POST", "/api/v1/lead-forms", e.ro, `{"name":"x"}`).problem(t, http.StatusForbidden)

		// Scoring rules.
		pb = e.do("POST", "/api/v1/score-rules", e.rw, `{"name":"x","kind":"attribute","points":0,"condition":{"field":"nope","op":"eq","value":1}}`).
			problem(t, http.StatusUnprocessableEntity)
		if pb.field("points") == "" || pb.field("condition.conditions[0].field") == "" {
			t.Errorf("rule problems: %+v", pb)
		}
		res = e.do("POST", "/api/v1/score-rules", e.rw, `{"name":"Email","kind":"attribute","points":20,"condition":{"field":"email","op":"ends_with","value":"@example.com"}}`)
		var rule crm.ScoreRule
		res.JSON(t, &rule)
		if res.Status != http.StatusCreated || rule.Condition == nil || rule.Condition.Match != "all" {
			t.Fatalf("rule: %d %s", res.Status, res.Body)
		}
		rid := fmt.Sprint(rule.ID)
		res = e.do("PUT", "/api/v1/score-rules/"+rid, e.rw, `{"name":"Forms","kind":"behaviour","event_type":"form.submitted","points":5,"within_days":30}`)
		rule = crm.ScoreRule{}
		res.JSON(t, &rule)
		if res.Status != 200 || rule.Condition != nil || rule.EventType != "form.submitted" {
			t.Fatalf("rule update: %d %s", res.Status, res.Body)
		}
		if res := e.do("POST", "/api/v1/score-rules/recompute", e.rw, ""); res.Status != http.StatusAccepted {
			t.Fatalf("recompute: %d", res.Status)
		}
		if _, err := forms.Recompute(context.Background()); err != nil {
			t.Fatal(err)
		}
		var score LeadScore
		e.do("GET", fmt.Sprintf("/api/v1/contacts/%d/score", subs.Data[0].ContactID), e.ro, "").JSON(t, &score)
		if score.Score != 5 {
			t.Fatalf("score: %+v", score)
		}
		e.do("GET", "/api/v1/contacts/999999/score", e.ro, "").problem(t, http.StatusNotFound)
		var rules list[*crm.ScoreRule]
		e.do("GET", "/api/v1/score-rules", e.ro, "").JSON(t, &rules)
		if len(rules.Data) != 1 {
			t.Fatalf("rules: %+v", rules)
		}
		if res := e.do("DELETE", "/api/v1/score-rules/"+rid, e.rw, ""); res.Status != http.StatusNoContent {
			t.Fatalf("delete rule: %d", res.Status)
		}
		if res := e.do("DELETE", "/api/v1/lead-forms/"+id, e.rw, ""); res.Status != http.StatusNoContent {
			t.Fatalf("delete form: %d", res.Status)
		}
		e.do("GET", "/api/v1/lead-forms/"+id, e.ro, "").problem(t, http.StatusNotFound)
	})
}
