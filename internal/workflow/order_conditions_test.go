package workflow_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// placeOrder emits the order.created event an order's creation writes
// (its payload is the order, as internal/order writes it).
func (e *env) placeOrder(id, contactID, total int64, currency, channel string, lines int) {
	e.t.Helper()
	o := crm.Order{ID: id, Source: "shop", ContactID: contactID, Status: crm.OrderPlaced, Currency: currency, Total: total, Subtotal: total,
		Channel: channel, PlacedAt: e.clock()}
	for i := 0; i < lines; i++ {
		o.Lines = append(o.Lines, crm.OrderLine{Name: fmt.Sprintf("line %d", i), Quantity: 1})
	}
	b, err := json.Marshal(&o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.emit(crm.Event{Type: crm.EventOrderCreated, SubjectType: "order", SubjectID: id, ContactID: contactID, Payload: b})
}

// "When an order over 5,000,000 IRR is placed, tag the customer and add
// points": conditions on the order that started the run (read from the
// event), mixed with the person's, at enrolment and in a branch after a
// wait; an order in another currency never meets a total in IRR.
func TestOrderConditions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		w := e.publish("big orders", `{"trigger": {"kind": "order_placed"},
			"conditions": {"match": "all", "conditions": [{"field": "order.total.irr", "op": "gte", "value": "5,000,000"}]},
			"steps": [
				{"kind": "add_tag", "tag": "big-order"},
				{"kind": "wait", "wait": {"kind": "duration", "amount": 1, "unit": "hour"}},
				{"kind": "branch", "if": {"match": "any", "conditions": [
					{"match": "all", "conditions": [{"field": "order.channel", "op": "in", "value": ["web"]}, {"field": "order.lines", "op": "gte", "value": 2}]},
					{"field": "tags", "op": "has_any", "value": ["gold"]}]},
				 "then": [{"kind": "award_points", "points": 100}], "else": [{"kind": "add_tag", "tag": "small-basket"}]}],
			"reenrol": true, "max_runs_per_day": 10}`)
		// The published conditions are normalised: the currency in capitals, the amount a number.
		c := w.Published.Definition.Conditions.Conditions[0]
		if c.Field != "order.total.IRR" || fmt.Sprint(c.Value) != "5e+06" {
			t.Fatalf("normalised condition: %+v", c)
		}
		web := e.contact("Web")
		gold := e.contact("Gold", "gold")
		shop := e.contact("Shop")
		e.settle()
		e.placeOrder(1, web, 6_000_000, "IRR", crm.ChannelWeb, 2)         // big, web, 2 lines: points
		e.placeOrder(2, gold, 5_000_000, "IRR", crm.ChannelInStore, 1)    // big (at least), gold: points
		e.placeOrder(3, shop, 9_000_000, "IRR", crm.ChannelInStore, 3)    // big, in store, not gold: small basket
		e.placeOrder(4, web, 4_999_999, "IRR", crm.ChannelWeb, 5)         // too small: no run
		e.placeOrder(5, shop, 6_000_000, "USD", crm.ChannelWeb, 5)        // another currency: no run
		e.placeOrder(6, gold, 900_000_000, "irr", crm.ChannelTelegram, 1) // the currency compares whatever its case
		e.settle()
		if rs := e.runs(w.ID); len(rs) != 4 {
			t.Fatalf("runs: %d, want 4 (orders 1, 2, 3, 6)", len(rs))
		}
		e.wantCalls(fmt.Sprintf("tag big-order true contact=%d", web), fmt.Sprintf("tag big-order true contact=%d", gold),
			fmt.Sprintf("tag big-order true contact=%d", shop), fmt.Sprintf("tag big-order true contact=%d", gold))
		e.acts.mu.Lock()
		e.acts.calls = nil
		e.acts.mu.Unlock()
		e.advance(61 * time.Minute)
		e.settle()
		calls := e.acts.Calls()
		want := map[string]int{fmt.Sprintf("points 100 contact=%d", web): 1, fmt.Sprintf("points 100 contact=%d", gold): 2,
			fmt.Sprintf("tag small-basket true contact=%d", shop): 1}
		for _, c := range calls {
			for k := range want {
				if len(c) >= len(k) && c[:len(k)] == k {
					want[k]--
				}
			}
		}
		for k, n := range want {
			if n != 0 {
				t.Errorf("%s: %d too few (calls %q)", k, n, calls)
			}
		}
		if len(calls) != 4 {
			t.Errorf("calls after the wait: %q", calls)
		}
		for _, r := range e.runs(w.ID) {
			if r.Status != workflow.RunCompleted {
				t.Errorf("run %d (record %d): %s", r.ID, r.RecordID, r.Status)
			}
		}
	})
}

// Conditions on the order are refused in a workflow whose trigger is not
// about a placed order, each named by its path; and they are checked
// (field, operator, value) in order workflows.
func TestOrderConditionsValidated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		def := `{"trigger": {"kind": "deal_won"},
			"conditions": {"match": "all", "conditions": [{"field": "tags", "op": "has_any", "value": ["vip"]}, {"field": "order.total.IRR", "op": "gte", "value": 5}]},
			"steps": [{"kind": "branch", "if": {"field": "order.channel", "op": "in", "value": ["web"]}, "then": [{"kind": "stop"}]},
				{"kind": "branch", "if": {"match": "any", "conditions": [{"match": "all", "conditions": [{"field": "order.lines", "op": "gt", "value": 1}]}]}, "then": [{"kind": "stop"}]}]}`
		w, err := e.svc.Create(sys, workflow.Input{Name: "deals", Definition: json.RawMessage(def)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Publish(sys, w.ID, w.Version)
		fs := crm.ErrorFields(err)
		if crm.ErrorCode(err) != crm.EINVALID {
			t.Fatalf("publish: %v", err)
		}
		for _, k := range []string{"conditions.conditions[1].field", "steps[0].if.field", "steps[1].if.conditions[0].conditions[0].field"} {
			if fs[k] == "" {
				t.Errorf("no problem named %s in %v", k, fs)
			}
		}
		if len(fs) != 3 {
			t.Errorf("problems: %v", fs)
		}

		_, err = e.svc.Check(sys, json.RawMessage(`{"trigger": {"kind": "record_created", "object": "order"},
			"conditions": {"match": "all", "conditions": [
				{"field": "order.total.IR", "op": "gte", "value": 5},
				{"field": "order.channel", "op": "gte", "value": ["web"]},
				{"field": "order.channel", "op": "in", "value": ["pigeon"]},
				{"field": "order.total.IRR", "op": "between", "value": [9, 3]},
				{"field": "order.lines", "op": "gt", "value": -1},
				{"field": "order.source", "op": "eq", "value": " "},
				{"field": "tags", "op": "bogus"}]},
			"steps": [{"kind": "stop"}]}`))
		fs = crm.ErrorFields(err)
		for _, k := range []string{"conditions.conditions[0].field", "conditions.conditions[1].op", "conditions.conditions[2].value",
			"conditions.conditions[3].value", "conditions.conditions[4].value", "conditions.conditions[5].value", "conditions.conditions[6].op"} {
			if fs[k] == "" {
				t.Errorf("no problem named %s in %v", k, fs)
			}
		}
		d, err := e.svc.Check(sys, json.RawMessage(`{"trigger": {"kind": "record_created", "object": "order"},
			"conditions": {"match": "any", "conditions": [{"field": "order.source", "op": "contains", "value": " pos "},
				{"field": "orders.count", "op": "gte", "value": "3"}, {"field": "order.total.USD", "op": "between", "value": ["10", 20]}]},
			"steps": [{"kind": "stop"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(d.Conditions)
		if want := `{"match":"any","conditions":[{"field":"order.source","op":"contains","value":"pos"},{"field":"orders.count","op":"gte","value":3},{"field":"order.total.USD","op":"between","value":[10,20]}]}`; string(b) != want {
			t.Errorf("normalised:\n%s\nwant\n%s", b, want)
		}
	})
}
