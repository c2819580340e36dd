package app

import (
	"encoding/json"
	"log/slog"
	"slices"
	"testing"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
	"github.com/pivand/pivand/internal/workflow"
)

// TestWorkflowOrderOverAmount is the whole app's path of "when an order
// over 5,000,000 IRR is placed, tag the customer": orders placed through
// the order service enrol by their own total (from the order.created
// event), not the person's lifetime spend; an order in another currency
// does not count; a branch tests the order's channel and lines.
func TestWorkflowOrderOverAmount(t *testing.T) {
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
		admin := &crm.User{Email: "admin@example.com", Name: "Admin", Role: crm.RoleAdmin, Active: true, Preferences: crm.DefaultPreferences("en")}
		if err := db.Write(ctx, func(tx *store.Tx) error { return tx.CreateUser(ctx, admin, "x") }); err != nil {
			t.Fatal(err)
		}
		as := crm.NewContextWithUser(ctx, admin)
		w, err := a.Workflows.Create(as, workflow.Input{Name: "Big orders", Definition: json.RawMessage(`{"trigger": {"kind": "order_placed"},
			"conditions": {"match": "all", "conditions": [{"field": "order.total.IRR", "op": "gte", "value": 5000000}]},
			"steps": [{"kind": "add_tag", "tag": "big-order"},
				{"kind": "branch", "if": {"match": "all", "conditions": [{"field": "order.channel", "op": "in", "value": ["web"]}, {"field": "order.lines", "op": "gte", "value": 2}]},
				 "then": [{"kind": "add_tag", "tag": "big-web-basket"}]}],
			"reenrol": true, "max_runs_per_day": 10}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Workflows.Publish(as, w.ID, w.Version); err != nil {
			t.Fatal(err)
		}
		if err := a.Events.Drain(ctx); err != nil {
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
		person := func(name string) int64 {
			c, err := a.Contacts.CreateContact(as, &crm.Contact{FirstName: name}, true)
			if err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		place := func(contactID int64, currency, channel string, lines ...int64) {
			in := order.Input{Source: "shop", Customer: crm.CustomerRef{ContactID: contactID}, Currency: currency, Channel: channel}
			for i, p := range lines {
				in.Lines = append(in.Lines, order.LineInput{Name: "item " + string(rune('a'+i)), Quantity: 1, UnitPrice: p})
			}
			if _, _, err := a.Orders.Create(as, in); err != nil {
				t.Fatal(err)
			}
		}
		small := person("Small")   // many small orders: a big lifetime total, no big order
		big := person("Big")       // one big order in store
		web := person("Web")       // a big web order of two lines
		dollar := person("Dollar") // a big amount in another currency
		for range 3 {
			place(small, "IRR", crm.ChannelWeb, 2_000_000)
		}
		place(big, "IRR", crm.ChannelInStore, 5_000_000)
		place(web, "IRR", crm.ChannelWeb, 3_000_000, 3_000_000)
		place(dollar, "USD", crm.ChannelWeb, 9_000_000_00)
		settle()

		runs, _, err := a.Workflows.Runs(as, workflow.RunFilter{WorkflowID: w.ID}, crm.Page{})
		if err != nil || len(runs) != 2 {
			t.Fatalf("runs: %v %+v", err, runs)
		}
		for _, tc := range []struct {
			id   int64
			tags []string
		}{{small, nil}, {big, []string{"big-order"}}, {web, []string{"big-order", "big-web-basket"}}, {dollar, nil}} {
			c, err := a.Contacts.FindContactByID(as, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			got := slices.Clone(c.Tags)
			slices.Sort(got)
			if !slices.Equal(got, tc.tags) && !(len(got) == 0 && len(tc.tags) == 0) {
				t.Errorf("%s: tags %v, want %v", c.FirstName, got, tc.tags)
			}
		}
	})
}
