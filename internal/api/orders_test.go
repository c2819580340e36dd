package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/idempotency"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// newOrderEnv is newEnv with the orders module installed, resolving
// customers through the contact service as internal/app does (without
// the club).
func newOrderEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	e := newEnv(t, db)
	orders := order.New(db, order.Options{Resolve: e.contacts.ResolveCustomer})
	a, err := New(Options{Auth: e.auth, Idempotency: idempotency.New(db), Contacts: e.contacts, Activity: e.activity, Orders: orders,
		Logger: slog.New(slog.DiscardHandler), Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e.api = a
	e.doc, e.router = loadDoc(t, a.openapi)
	return e
}

func (e *env) rowCounts() string {
	e.t.Helper()
	var parts []string
	for _, table := range []string{"orders", "order_lines", "order_returns", "return_lines", "events", "contacts"} {
		var n int
		if err := e.db.Read(e.t.Context(), func(tx *store.Tx) error {
			return tx.QueryRow(e.t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n)
		}); err != nil {
			e.t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(parts, " ")
}

const orderBody = `{"source":"pos-1","external_id":"T-100","currency":"IRR","channel":"in_store","store":"Tehran 1",
	"customer":{"phone":"09123456789","first_name":"Sara","last_name":"Rezaei"},"discount":10000,
	"lines":[{"sku":"TEA","name":"Tea","quantity":3,"unit_price":50000},{"name":"Cup","quantity":1,"unit_price":120000,"discount":20000}]}`

func TestOrdersAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOrderEnv(t, db)
		res := e.do("POST", "/api/v1/orders", e.rw, orderBody)
		if res.Status != http.StatusCreated || res.Header.Get(replayedHeader) != "" {
			t.Fatalf("create = %d %s", res.Status, res.Body)
		}
		var o crm.Order
		res.JSON(t, &o)
		if o.Total != 240000 || o.Subtotal != 250000 || len(o.Lines) != 2 || o.ContactID == 0 || res.Header.Get("Location") != fmt.Sprintf("/api/v1/orders/%d", o.ID) {
			t.Fatalf("order = %+v", o)
		}

		// The same order again changes nothing and answers the stored one.
		before := e.rowCounts()
		res = e.do("POST", "/api/v1/orders", e.rw, orderBody)
		var again crm.Order
		res.JSON(t, &again)
		if res.Status != http.StatusCreated || res.Header.Get(replayedHeader) != "true" || again.ID != o.ID {
			t.Fatalf("replay = %d %s", res.Status, res.Body)
		}
		if after := e.rowCounts(); after != before {
			t.Fatalf("replay changed rows: %s → %s", before, after)
		}
		// Other content under the same external id: 409 naming external_id.
		p := e.do("POST", "/api/v1/orders", e.rw, strings.Replace(orderBody, `"quantity":3`, `"quantity":4`, 1))
		if pb := p.problem(t, http.StatusConflict); pb.field("external_id") == "" {
			t.Fatalf("conflict = %s", p.Body)
		}
		if after := e.rowCounts(); after != before {
			t.Fatalf("conflict changed rows: %s → %s", before, after)
		}

		// 422 names each bad field.
		bad := e.do("POST", "/api/v1/orders", e.rw, `{"currency":"ZZZ","lines":[{"name":"a","quantity":1,"unit_price":1},{"name":"b","quantity":0,"unit_price":1}]}`)
		pb := bad.problem(t, http.StatusUnprocessableEntity)
		for _, f := range []string{"customer", "currency", "lines[1].quantity"} {
			if pb.field(f) == "" {
				t.Errorf("422 does not name %s: %s", f, bad.Body)
			}
		}
		bad = e.do("POST", "/api/v1/orders", e.rw, `{"currency":"USD","customer":{"email":"x@example.com"},"lines":[{"name":"a","quantity":"two","unit_price":1}]}`)
		if bad.problem(t, http.StatusUnprocessableEntity).field("lines.quantity") == "" {
			t.Errorf("type error: %s", bad.Body)
		}
		if e.do("POST", "/api/v1/orders", e.ro, orderBody).Status != http.StatusForbidden {
			t.Error("a read-only token created an order")
		}

		// Reading.
		res = e.do("GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), e.ro, "")
		if res.Status != http.StatusOK {
			t.Fatalf("get = %d %s", res.Status, res.Body)
		}
		e.do("GET", "/api/v1/orders/999999", e.ro, "").problem(t, http.StatusNotFound)
		for i := range 3 {
			body := strings.Replace(orderBody, `"T-100"`, fmt.Sprintf(`"T-%d"`, 200+i), 1)
			if i == 2 {
				body = strings.Replace(body, `"in_store"`, `"web"`, 1)
			}
			if res := e.do("POST", "/api/v1/orders", e.rw, body); res.Status != http.StatusCreated {
				t.Fatalf("create %d: %s", i, res.Body)
			}
		}
		var page list[crm.Order]
		e.do("GET", "/api/v1/orders?limit=3", e.ro, "").JSON(t, &page)
		if len(page.Data) != 3 || page.Next == nil {
			t.Fatalf("page 1 = %+v", page)
		}
		var page2 list[crm.Order]
		e.do("GET", "/api/v1/orders?limit=3&after="+*page.Next, e.ro, "").JSON(t, &page2)
		if len(page2.Data) != 1 || page2.Next != nil || page2.Data[0].ID != o.ID {
			t.Fatalf("page 2 = %+v", page2)
		}
		var web list[crm.Order]
		e.do("GET", "/api/v1/orders?channel=web&from=2000-01-01", e.ro, "").JSON(t, &web)
		if len(web.Data) != 1 || web.Data[0].Channel != "web" {
			t.Fatalf("web = %+v", web)
		}
		pb = e.do("GET", "/api/v1/orders?status=lost&from=yesterday", e.ro, "").problem(t, http.StatusUnprocessableEntity)
		if pb.field("from") == "" {
			t.Errorf("bad filters: %+v", pb)
		}
		var mine list[crm.Order]
		e.do("GET", fmt.Sprintf("/api/v1/contacts/%d/orders", o.ContactID), e.ro, "").JSON(t, &mine)
		if len(mine.Data) != 4 {
			t.Fatalf("contact's orders = %d", len(mine.Data))
		}
		e.do("GET", "/api/v1/contacts/999999/orders", e.ro, "").problem(t, http.StatusNotFound)

		// Returns.
		ret := fmt.Sprintf(`{"external_id":"R-1","source":"pos-1","reason":"defect","lines":[{"line_id":%d,"quantity":1}]}`, o.Lines[0].ID)
		res = e.do("POST", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), e.rw, ret)
		var r crm.OrderReturn
		res.JSON(t, &r)
		if res.Status != http.StatusCreated || r.Amount != 48000 {
			t.Fatalf("return = %d %s", res.Status, res.Body)
		}
		res = e.do("POST", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), e.rw, ret)
		if res.Status != http.StatusCreated || res.Header.Get(replayedHeader) != "true" {
			t.Fatalf("return replay = %d %s", res.Status, res.Body)
		}
		over := fmt.Sprintf(`{"reason":"defect","lines":[{"line_id":%d,"quantity":3}]}`, o.Lines[0].ID)
		pb = e.do("POST", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), e.rw, over).problem(t, http.StatusUnprocessableEntity)
		if pb.field("lines[0].quantity") == "" {
			t.Fatalf("over-return: %+v", pb)
		}
		pb = e.do("POST", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), e.rw, `{"reason":"meh"}`).problem(t, http.StatusUnprocessableEntity)
		if pb.field("reason") == "" {
			t.Fatalf("bad reason: %+v", pb)
		}
		var rs list[crm.OrderReturn]
		e.do("GET", fmt.Sprintf("/api/v1/orders/%d/returns", o.ID), e.ro, "").JSON(t, &rs)
		if len(rs.Data) != 1 || rs.Data[0].ID != r.ID {
			t.Fatalf("returns = %+v", rs)
		}
		e.do("POST", "/api/v1/orders/999999/returns", e.rw, `{"reason":"defect"}`).problem(t, http.StatusNotFound)
	})
}

// TestOrdersIdempotencyKey sends the same POST, with one Idempotency-Key
// and no external id, from many clients at once: exactly one order is
// made; the others get the stored answer or are told it is in progress.
func TestOrdersIdempotencyKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newOrderEnv(t, db)
		body := `{"currency":"USD","customer":{"email":"key@example.com"},"lines":[{"name":"Pen","quantity":2,"unit_price":150}]}`
		const n = 10
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = e.do("POST", "/api/v1/orders", e.rw, body, "Idempotency-Key", "k-123").Status
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusCreated && s != http.StatusConflict {
				t.Errorf("request %d: status %d", i, s)
			}
		}
		res := e.do("POST", "/api/v1/orders", e.rw, body, "Idempotency-Key", "k-123")
		if res.Status != http.StatusCreated || res.Header.Get(replayedHeader) != "true" {
			t.Fatalf("replay: %d %s", res.Status, res.Body)
		}
		if c := e.rowCounts(); !strings.HasPrefix(c, "orders=1 ") {
			t.Fatalf("rows: %s", c)
		}
		// A new key is a new order.
		if res := e.do("POST", "/api/v1/orders", e.rw, body, "Idempotency-Key", "k-124"); res.Status != http.StatusCreated || res.Header.Get(replayedHeader) != "" {
			t.Fatalf("new key: %d", res.Status)
		}
	})
}

// TestOrdersOpenAPI: with the orders module installed, every route is in
// the document and every documented operation is served.
func TestOrdersOpenAPI(t *testing.T) {
	e := newOrderEnv(t, storetest.Open(t, store.SQLite))
	n := 0
	for _, rt := range e.api.routes {
		if rt.op.Tag != "orders" {
			continue
		}
		n++
		item := e.doc.Paths.Value(strings.TrimPrefix(rt.path(), apiBase))
		if item == nil || item.GetOperation(rt.method()) == nil || item.GetOperation(rt.method()).OperationID != rt.op.ID {
			t.Errorf("route %q is not documented", rt.pattern)
			continue
		}
		target := strings.ReplaceAll(rt.path(), "{id}", "1")
		if res := e.do(rt.method(), target, "", ""); res.Status != http.StatusUnauthorized {
			t.Errorf("%s without a token = %d", target, res.Status)
		}
	}
	if n != 6 {
		t.Errorf("%d order routes", n)
	}
	if e.doc.Components.Schemas["Order"] == nil || e.doc.Components.Schemas["OrderCreate"] == nil || e.doc.Components.Schemas["OrderList"] == nil {
		t.Error("order schemas are missing")
	}
	// Without the service the routes are not there.
	plain := newEnv(t, storetest.Open(t, store.SQLite))
	if res := plain.do("GET", "/api/v1/orders", plain.ro, ""); res.Status != http.StatusNotFound {
		t.Errorf("orders without the module = %d", res.Status)
	}
}
