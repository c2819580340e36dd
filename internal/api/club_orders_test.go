package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/pivand/pivand/internal/club"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/event"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestClubOrdersExactlyOnce is the invariant "each order and each return
// has exactly one effect on points however many times it is sent", end
// to end: orders and returns sent many times at once through the real
// router (with one Idempotency-Key, or with one source and external id),
// the club's subscriber fed by the real orders module, and then every
// event delivered a second time. One order, one return, one earn and one
// reversal each; the ledger checks and the recomputation agree.
func TestClubOrdersExactlyOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e, cl := newClubEnv(t, db)
		orders := order.New(db, order.Options{Resolve: e.contacts.ResolveCustomer})
		a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Orders: orders, Club: cl,
			Logger: slog.New(slog.DiscardHandler), Version: "test", MaxBodyBytes: 1 << 20, ImportDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		e.api = a
		e.doc, e.router = loadDoc(t, a.openapi)
		d := event.NewDispatcher(db, slog.New(slog.DiscardHandler))
		cl.Subscribe(d)
		orders.RegisterSubscribers(d)

		var p club.Program
		if res := e.do("POST", "/api/v1/club/programs", e.rw, `{"name":"Club","currency":"IRR","earn_points":1,"earn_amount":10000,
			"pending_days":14,"expiry_months":12}`); res.Status != http.StatusCreated {
			t.Fatalf("program: %d %s", res.Status, res.Body)
		} else {
			res.JSON(t, &p)
		}
		var en club.Enrolled
		if res := e.do("POST", "/api/v1/club/members", e.rw, fmt.Sprintf(`{"program_id":%d,"customer":{"phone":"09121234567","first_name":"Sara"}}`, p.ID)); res.Status != http.StatusCreated {
			t.Fatalf("enrol: %d %s", res.Status, res.Body)
		} else {
			res.JSON(t, &en)
		}

		// at sends the same request n times at once and returns the
		// statuses.
		at := func(n int, method, path, body string, headers ...string) []int {
			out := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { out[i] = e.do(method, path, e.rw, body, headers...).Status })
			}
			wg.Wait()
			return out
		}
		okOrBusy := func(what string, statuses []int) {
			t.Helper()
			created := 0
			for _, s := range statuses {
				switch s {
				case http.StatusCreated:
					created++
				case http.StatusConflict: // the same Idempotency-Key still running
				default:
					t.Fatalf("%s: statuses %v", what, statuses)
				}
			}
			if created == 0 {
				t.Fatalf("%s: nothing answered 201: %v", what, statuses)
			}
		}
		lines := `"lines":[{"sku":"ESP","name":"Espresso","quantity":4,"unit_price":1000000},{"sku":"CAKE","name":"Cake","quantity":1,"unit_price":3000000}]`
		keyed := `{"currency":"IRR","customer":{"phone":"0912 123 4567"},` + lines + `}`
		okOrBusy("order by Idempotency-Key", at(8, "POST", "/api/v1/orders", keyed, "Idempotency-Key", "till-7-000123"))
		sourced := `{"source":"pos-2","external_id":"R-77","currency":"IRR","customer":{"phone":"09121234567"},` + lines + `}`
		okOrBusy("order by source and external id", at(8, "POST", "/api/v1/orders", sourced))
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		var list struct {
			Data []crm.Order `json:"data"`
		}
		e.do("GET", "/api/v1/orders", e.ro, "").JSON(t, &list)
		if len(list.Data) != 2 {
			t.Fatalf("%d orders stored, want 2", len(list.Data))
		}
		// Returns of the first order's first line, sent many times: by key,
		// and by source and external id.
		o := list.Data[1]
		ret := fmt.Sprintf(`{"reason":"defect","lines":[{"line_id":%d,"quantity":1}]}`, o.Lines[0].ID)
		okOrBusy("return by Idempotency-Key", at(6, "POST", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), ret, "Idempotency-Key", "ret-1"))
		ret2 := fmt.Sprintf(`{"reason":"changed_mind","source":"pos-2","external_id":"RET-9","lines":[{"line_id":%d,"quantity":1}]}`, o.Lines[0].ID)
		okOrBusy("return by source and external id", at(6, "POST", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), ret2))
		if err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}

		count := func() map[string]int {
			out := map[string]int{}
			err := db.Read(ctx, func(tx *store.Tx) error {
				rows, err := tx.Query(ctx, `SELECT kind, COUNT(*) FROM club_ledger GROUP BY kind`)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var k string
					var n int
					if err := rows.Scan(&k, &n); err != nil {
						return err
					}
					out[k] = n
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		var md club.MemberDetail
		e.do("GET", fmt.Sprintf("/api/v1/club/members/%d", en.Member.ID), e.ro, "").JSON(t, &md)
		// 7,000,000 IRR: 700 points per order; each return gives back one
		// espresso, 1/7 of the order: 100 points.
		if got := count(); got["earn"] != 2 || got["reverse"] != 2 || md.Member.Pending != 700+700-100-100 {
			t.Fatalf("ledger %v, pending %d; want 2 earns, 2 reversals, 1200 pending", got, md.Member.Pending)
		}

		// Every event delivered again, as after a lost cursor.
		if err := db.Write(ctx, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE event_cursors SET last_id = 0 WHERE subscriber = ?`, club.SubscriberOrders)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		d2 := event.NewDispatcher(db, slog.New(slog.DiscardHandler))
		cl.Subscribe(d2)
		if err := d2.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		e.do("GET", fmt.Sprintf("/api/v1/club/members/%d", en.Member.ID), e.ro, "").JSON(t, &md)
		if got := count(); got["earn"] != 2 || got["reverse"] != 2 || md.Member.Pending != 1200 {
			t.Fatalf("after redelivery: ledger %v, pending %d", got, md.Member.Pending)
		}
		var check struct {
			Problems    []string `json:"problems"`
			Differences []string `json:"differences"`
		}
		res := e.do("GET", "/api/v1/club/check", e.ro, "")
		if res.Status != http.StatusOK || json.Unmarshal(res.Body, &check) != nil || len(check.Problems)+len(check.Differences) > 0 {
			t.Fatalf("check: %d %s", res.Status, res.Body)
		}
	})
}
