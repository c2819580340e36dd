package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestLeadFormJSON: a site draws a Persian form from form.json and posts
// it from another origin: the preflight and every answer allow any
// origin without credentials; errors come by field in Persian; a good
// submission makes the person with the form's consent wording; bad JSON,
// an unknown form and the honeypot are answered as such.
func TestLeadFormJSON(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		la := newLeadformApp(t, db)
		ctx := context.Background()
		c := la.client(t)
		c.signIn("admin@example.com")
		_, public := la.createLeadForm(t, c, leadFormValues("تماس با ما", "fa", false))
		v := la.client(t)
		send := func(method, path, body string) (response, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(method, v.app.srv.URL+path, strings.NewReader(body))
			req.Header.Set("Origin", "https://shop.example")
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			r := v.do(req)
			if got := r.header.Get("Access-Control-Allow-Origin"); got != "*" || r.header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s %s: Allow-Origin %q", method, path, got)
			}
			var m map[string]any
			if r.status != http.StatusNoContent {
				if err := json.Unmarshal([]byte(r.body), &m); err != nil {
					t.Fatalf("%s %s: %d %q", method, path, r.status, r.body)
				}
			}
			return r, m
		}
		r, _ := send("OPTIONS", public+"/submit", "")
		mustStatus(t, r, http.StatusNoContent)
		if !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("preflight headers %v", r.header)
		}

		r, form := send("GET", public+"/form.json", "")
		mustStatus(t, r, http.StatusOK)
		fields, _ := form["fields"].([]any)
		consent, _ := form["consent"].(map[string]any)
		if form["dir"] != "rtl" || len(fields) != 5 || consent["text"] != "بله، خبرنامهٔ ایمیلی را می‌خواهم." ||
			!strings.HasSuffix(form["submit_url"].(string), public+"/submit") {
			t.Fatalf("form.json: %s", r.body)
		}
		if f0 := fields[0].(map[string]any); f0["key"] != "first_name" || f0["label"] != "نام شما" || f0["required"] != true {
			t.Errorf("first field %v", f0)
		}

		r, ans := send("POST", public+"/submit", `{"values":{"email":"نه-ایمیل"}}`)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		errs, _ := ans["errors"].(map[string]any)
		if ans["ok"] != false || errs["first_name"] != "لطفاً این را پر کنید." || errs["email"] != "این نشانی ایمیل نیست." {
			t.Errorf("bad values: %s", r.body)
		}
		r, _ = send("POST", public+"/submit", `{"values": {"first_name": "x"`)
		mustStatus(t, r, http.StatusBadRequest)
		r, _ = send("POST", public+"/submit", `{"values":{},"extra":1}`)
		mustStatus(t, r, http.StatusBadRequest)
		r, _ = send("POST", "/f/nosuchform/submit", `{"values":{}}`)
		mustStatus(t, r, http.StatusNotFound)

		r, ans = send("POST", public+"/submit", `{"values":{"first_name":"نگار","email":"Negar@Example.com"},"consent":true}`)
		mustStatus(t, r, http.StatusOK)
		if ans["ok"] != true || ans["message"] == "" {
			t.Errorf("good submission: %s", r.body)
		}
		found, _, err := la.contacts.ListContacts(ctx, crm.ContactFilter{Q: "negar@example.com", Limit: 5})
		if err != nil || len(found) != 1 {
			t.Fatalf("the person: %v %v", found, err)
		}
		p, err := la.contacts.FindContactByID(ctx, found[0].ID)
		if err != nil || len(p.Consents) != 1 || p.Consents[0].Note != "بله، خبرنامهٔ ایمیلی را می‌خواهم." {
			t.Fatalf("consent: %+v %v", p.Consents, err)
		}
		// The honeypot: thanked, nothing stored.
		r, _ = send("POST", public+"/submit", `{"values":{"first_name":"Bot","email":"bot@example.com"},"website":"http://spam.example"}`)
		mustStatus(t, r, http.StatusOK)
		if bots, _, _ := la.contacts.ListContacts(ctx, crm.ContactFilter{Q: "bot@example.com", Limit: 5}); len(bots) != 0 {
			t.Errorf("the honeypot stored %d people", len(bots))
		}
	})
}
