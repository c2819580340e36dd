package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// publishWF makes and publishes a workflow through the service.
func (wa *workflowApp) publishWF(t *testing.T, name, def string) *workflow.Workflow {
	t.Helper()
	ctx := crm.NewContextWithUser(context.Background(), wa.admin)
	w, err := wa.wf.Create(ctx, workflow.Input{Name: name, Definition: json.RawMessage(def)})
	if err != nil {
		t.Fatal(err)
	}
	if w, err = wa.wf.Publish(ctx, w.ID, w.Version); err != nil {
		t.Fatal(err)
	}
	return w
}

// The workflow's page says what it does whole: the trigger's value
// ("when vip is added to the tags"), the conditions, and each branch's
// and wait's condition in words, amounts of the order as money, in the
// reader's language and digits.
func TestWorkflowSummarySaysConditions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		wa := newWorkflowApp(t, db)
		want := map[string][]string{}
		for _, lang := range []string{"en", "fa", "ar"} {
			c := wa.signedIn(t, lang)
			tags := wa.publishWF(t, "VIP "+lang, `{"trigger": {"kind": "field_changed", "object": "contact", "field": "tags", "to": "vip"},
				"conditions": {"match": "all", "conditions": [{"field": "orders.count", "op": "gte", "value": 2}]},
				"steps": [{"kind": "wait", "wait": {"kind": "duration", "amount": 2, "unit": "minute"}},
					{"kind": "branch", "if": {"match": "any", "conditions": [{"field": "tags", "op": "has_any", "value": ["gold"]},
						{"field": "orders.total", "op": "gte", "value": 100}]}, "then": [{"kind": "add_tag", "tag": "x"}]}]}`)
			stage := wa.publishWF(t, "Status "+lang, `{"trigger": {"kind": "field_changed", "object": "ticket", "field": "status", "from": "open", "to": "solved"},
				"steps": [{"kind": "stop"}]}`)
			big := wa.publishWF(t, "Big "+lang, `{"trigger": {"kind": "order_placed"},
				"steps": [{"kind": "branch", "if": {"match": "all", "conditions": [{"field": "order.total.IRR", "op": "gte", "value": 5000000},
					{"field": "order.channel", "op": "in", "value": ["web"]}]}, "then": [{"kind": "award_points", "points": 10}]},
					{"kind": "wait", "wait": {"kind": "condition", "amount": 1, "unit": "day", "condition": {"match": "all", "conditions": [{"field": "order.lines", "op": "between", "value": [2, 5]}]}}}]}`)
			switch lang {
			case "en":
				want[lang] = []string{"When «vip» is added to the Tags of a person", "Only if Number of orders at least 2",
					"If Tags has any of gold or Total spent at least 100…",
					"the Status of a ticket changes from «open» to «solved»",
					"If the order&#39;s total is at least 5,000,000 IRR and the order&#39;s channel is Web shop…",
					"Wait until the number of lines in the order is from 2 to 5, at most 1 day"}
			case "fa":
				want[lang] = []string{"«vip» به برچسب‌ها یک شخص افزوده شود", "تنها اگر ", "۲",
					"اگر مبلغ کل سفارش دست‌کم ۵٬۰۰۰٬۰۰۰ IRR و کانال فروش سفارش یکی از فروشگاه اینترنتی…",
					"از «open» به «solved» تغییر کند"}
			case "ar":
				want[lang] = []string{"تُضاف «vip» إلى الوسوم لـشخص", "فقط إذا ", "إذا إجمالي الطلب لا يقل عن", "IRR"}
			}
			var body strings.Builder
			for _, w := range []*workflow.Workflow{tags, stage, big} {
				r := c.get("/automation/" + strconv.FormatInt(w.ID, 10))
				mustStatus(t, r, http.StatusOK)
				body.WriteString(r.body)
			}
			for _, s := range want[lang] {
				if !strings.Contains(body.String(), s) {
					t.Errorf("%s: the summary does not say %q:\n%s", lang, s, summaries(body.String()))
				}
			}
			if strings.Contains(body.String(), "If the condition is met") {
				t.Errorf("%s: a branch without its condition", lang)
			}
		}
	})
}

// summaries cuts the "What it does" cards out of pages, for messages.
func summaries(s string) string {
	var out []string
	for _, part := range strings.Split(s, `aria-labelledby="wf-what"`)[1:] {
		if i := strings.Index(part, "</section>"); i > 0 {
			part = part[:i]
		}
		out = append(out, html.UnescapeString(part))
	}
	return strings.Join(out, "\n----\n")
}

// The builder offers the order's fields in its condition editors only
// for order triggers; publishing a condition on the order under another
// trigger is refused (422) naming the condition.
func TestWorkflowBuilderOrderConditions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		wa := newWorkflowApp(t, db)
		c := wa.signedIn(t, "en")
		r := c.post("/automation", "/automation/new", builder("Big", "trigger.kind", "order_placed", "add_kind", "branch", "op", "add:"))
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "order.total.IRR", "The order that started the run (order triggers only)", "order.channel", "Web shop")
		r = c.post("/automation", "/automation/new", builder("Won", "trigger.kind", "deal_won", "add_kind", "branch", "op", "add:"))
		mustStatus(t, r, http.StatusOK)
		if strings.Contains(r.body, "order.total") || strings.Contains(r.body, "order triggers only") {
			t.Error("the order's fields are offered for a deal trigger")
		}

		bad := builder("Won", "trigger.kind", "deal_won", "step", "0", "s.0.kind", "add_tag", "s.0.tag", "big", "op", "publish")
		bad.Set("conditions", `{"match":"all","conditions":[{"field":"order.total.IRR","op":"gte","value":5000000}]}`)
		r = c.post("/automation", "/automation/new", bad)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, "Conditions on the order work only with an order trigger")

		good := builder("Big", "trigger.kind", "order_placed", "step", "0", "s.0.kind", "award_points", "s.0.points", "100")
		good.Set("conditions", `{"match":"all","conditions":[{"field":"order.total.IRR","op":"gte","value":"5000000"}]}`)
		path := c.createWorkflow(t, good)
		r = c.get(path)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "Only if the order&#39;s total is at least 5,000,000 IRR")
	})
}
