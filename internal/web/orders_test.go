package web

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/activity"
	"github.com/pivand/pivand/internal/auth"
	"github.com/pivand/pivand/internal/contact"
	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/order"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// newOrderTestApp is newTestApp with the orders module installed,
// resolving customers through the contact service.
func newOrderTestApp(t *testing.T, db *store.DB) (*testApp, *order.Service) {
	t.Helper()
	a := &testApp{t: t, auth: auth.New(db, auth.Options{}), contacts: contact.New(db, contact.Options{DefaultRegion: "IR"}), activity: activity.New(db)}
	orders := order.New(db, order.Options{Resolve: a.contacts.ResolveCustomer})
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Orders: orders, Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	return a, orders
}

// orderPages renders every page of the orders module in lang, with an
// admin signed in, for the every-page-every-language checks: the list
// (plain, filtered, with a bad filter), the entry form (empty and failed),
// an order with its return form (and a failed return), a person's orders
// and the person's timeline with order entries.
func orderPages(t *testing.T, db *store.DB, lang string) []pageResponse {
	t.Helper()
	app, orders := newOrderTestApp(t, db)
	email := "orders-" + lang + "@example.com"
	app.createUser(email, crm.RoleAdmin)
	c := app.client(t)
	c.signIn(email)
	mustStatus(t, c.post("/settings/preferences", "/settings/preferences", url.Values{"language": {lang},
		"calendar": {"jalali"}, "digits": {"arabic"}, "time_zone": {"Asia/Tehran"}}), http.StatusSeeOther)
	o, _, err := orders.Create(t.Context(), order.Input{Currency: "IRR", Customer: crm.CustomerRef{Phone: "09121112233", FirstName: "سارا", LastName: "رضایی"},
		Store: "شعبه ۱", Discount: 10000, Lines: []order.LineInput{{SKU: "T1", Name: "چای", Quantity: 3, UnitPrice: 50000}, {Name: "لیوان", Quantity: 1, UnitPrice: 100000}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := orders.Return(t.Context(), o.ID, order.ReturnInput{Reason: crm.ReturnDefect, Lines: []order.ReturnLineInput{{LineID: o.Lines[0].ID, Quantity: 1}}}); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(o.ID, 10)
	person := strconv.FormatInt(o.ContactID, 10)
	var out []pageResponse
	for _, p := range []string{"/orders", "/orders?status=partially_returned&channel=in_store&from=1403/01/01", "/orders?from=nope",
		"/orders/new", "/orders/" + id, "/orders/customer/" + person, "/contacts/" + person, "/orders/999999"} {
		out = append(out, pageResponse{p, c.get(p)})
	}
	tok := c.csrf("/orders/new")
	out = append(out, pageResponse{"POST /orders", c.post("/orders", "", url.Values{"csrf": {tok}, "customer": {""}, "currency": {"XX"},
		"lines.0.name": {"a"}, "lines.0.quantity": {"0"}, "lines.0.unit_price": {"x"}})})
	out = append(out, pageResponse{"POST /orders (service errors)", c.post("/orders", "", url.Values{"csrf": {tok}, "customer": {"nobody"},
		"currency": {"IRR"}, "lines.1.name": {"a"}, "lines.1.quantity": {"0"}, "lines.1.unit_price": {"10"}})})
	out = append(out, pageResponse{"POST /orders/" + id + "/returns", c.post("/orders/"+id+"/returns", "", url.Values{"csrf": {tok},
		"reason": {"defect"}, "qty_" + strconv.FormatInt(o.Lines[0].ID, 10): {"9"}})})
	return out
}

func TestOrderPagesEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, l := range locale.Languages {
			t.Run(l.Code, func(t *testing.T) {
				for _, pr := range orderPages(t, db, l.Code) {
					if i := strings.Index(pr.r.body, locale.MissingMark); i >= 0 {
						t.Errorf("%s %s: missing catalog key near %q", l.Code, pr.path, pr.r.body[i:min(len(pr.r.body), i+60)])
					}
					if !strings.Contains(pr.r.body, `<html lang="`+l.Code+`"`) {
						t.Errorf("%s %s: status %d, not a page", l.Code, pr.path, pr.r.status)
					}
					want := http.StatusOK
					switch {
					case strings.HasPrefix(pr.path, "POST"), strings.Contains(pr.path, "from=nope"):
						want = http.StatusUnprocessableEntity
					case strings.HasSuffix(pr.path, "999999"):
						want = http.StatusNotFound
					}
					if pr.r.status != want {
						t.Errorf("%s %s: status %d, want %d", l.Code, pr.path, pr.r.status, want)
					}
				}
			})
		}
	})
}

func TestOrderWorkflow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app, orders := newOrderTestApp(t, db)
		app.createUser("admin@example.com", crm.RoleAdmin)
		app.createUser("support@example.com", crm.RoleSupport)
		c := app.client(t)
		c.signIn("admin@example.com")

		// Entering an order: a new customer by phone, two lines, a discount.
		form := url.Values{"customer": {"۰۹۱۲ ۳۴۵ ۶۷۸۹"}, "first_name": {"Sara"}, "last_name": {"Rezaei"}, "channel": {"in_store"},
			"store": {"Tehran 1"}, "currency": {"USD"}, "discount": {"1.00"}, "token": {"tok-1"},
			"lines.0.sku": {"TEA"}, "lines.0.name": {"Tea"}, "lines.0.quantity": {"3"}, "lines.0.unit_price": {"2.50"},
			"lines.2.name": {"Cup"}, "lines.2.unit_price": {"4"}}
		r := c.post("/orders", "/orders/new", form)
		mustStatus(t, r, http.StatusSeeOther)
		loc := r.location()
		if !strings.HasPrefix(loc, "/orders/") || !strings.Contains(loc, "notice=order_created") {
			t.Fatalf("location %q", loc)
		}
		// A double submit of the same form is the same order.
		r2 := c.post("/orders", "/orders/new", form)
		if r2.location() != loc {
			t.Fatalf("double submit went to %q, not %q", r2.location(), loc)
		}
		list, _, err := orders.List(t.Context(), crm.OrderFilter{})
		if err != nil || len(list) != 1 {
			t.Fatalf("orders: %d %v", len(list), err)
		}
		o := list[0]
		if o.Total != 750+400-100 || len(o.Lines) != 2 || o.Lines[1].Quantity != 1 || o.Channel != "in_store" {
			t.Fatalf("order = %+v", o)
		}
		page := c.get(loc)
		mustStatus(t, page, http.StatusOK)
		mustContain(t, page, "Order saved.", "Tea", "10.50 USD", "Sara Rezaei", `name="qty_`)

		// A return of one tea: 2.50 less its share of the 1.00 discount.
		qty := "qty_" + strconv.FormatInt(o.Lines[0].ID, 10)
		r = c.post(strings.Split(loc, "?")[0]+"/returns", strings.Split(loc, "?")[0], url.Values{"reason": {"defect"}, qty: {"1"}, "note": {"cracked"}, "token": {"r1"}})
		mustStatus(t, r, http.StatusSeeOther)
		page = c.get(strings.Split(r.location(), "#")[0])
		mustContain(t, page, "Return recorded.", "cracked", "Quality problem", "Partly returned")
		got, _ := orders.Find(t.Context(), o.ID)
		// Tea's share of the discount is ⌊100·750/1150⌋ = 65, so it was paid
		// 685 for 3; one back refunds ⌊685/3⌋ = 228.
		if got.ReturnedTotal != 228 {
			t.Errorf("refunded %d", got.ReturnedTotal)
		}
		// Too many comes back with an error on that line's field.
		r = c.post("/orders/"+strconv.FormatInt(o.ID, 10)+"/returns", "/orders/"+strconv.FormatInt(o.ID, 10), url.Values{"reason": {"defect"}, qty: {"5"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="`+qty+`-error"`, "Only 2 of line")

		// The person's page shows the order on the timeline; their orders page lists it.
		p := c.get("/contacts/" + strconv.FormatInt(o.ContactID, 10))
		mustContain(t, p, "Bought 10.50 USD", "Returned goods, refunded")
		mustContain(t, c.get("/orders/customer/"+strconv.FormatInt(o.ContactID, 10)), "Order #"+strconv.FormatInt(o.ID, 10), "Orders: 1, total 10.50 USD")

		// The list filters.
		mustContain(t, c.get("/orders?status=partially_returned"), "Order #"+strconv.FormatInt(o.ID, 10))
		if strings.Contains(c.get("/orders?channel=web").body, "Order #"+strconv.FormatInt(o.ID, 10)) {
			t.Error("the web filter shows an in-store order")
		}

		// Field errors name the fields.
		r = c.post("/orders", "/orders/new", url.Values{"customer": {""}, "currency": {"USD"}, "lines.1.name": {"x"}, "lines.1.quantity": {"0"}, "lines.1.unit_price": {"1"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="customer-error"`, `id="lines.1.quantity-error"`)

		// Support may look but not enter orders.
		s := app.client(t)
		s.signIn("support@example.com")
		mustStatus(t, s.get("/orders"), http.StatusOK)
		mustStatus(t, s.get("/orders/new"), http.StatusForbidden)
		if b := html.UnescapeString(s.get("/orders/" + strconv.FormatInt(o.ID, 10)).body); strings.Contains(b, `name="qty_`) {
			t.Error("support sees the return form")
		}
	})
}

// TestOrderCustomerNameIsolated: the order page's line "name · date" keeps
// a Persian or Arabic customer name in its own direction, so on an English
// page the date after it is not reordered ("19:09 05-12-2026").
func TestOrderCustomerNameIsolated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app, _ := newOrderTestApp(t, db)
		app.createUser("admin@example.com", crm.RoleAdmin)
		c := app.client(t)
		c.signIn("admin@example.com")
		form := url.Values{"customer": {"۰۹۱۲ ۳۴۵ ۶۷۸۹"}, "first_name": {"ستاره"}, "last_name": {"پورمحمدی"}, "channel": {"in_store"},
			"currency": {"USD"}, "token": {"tok-bidi"}, "lines.0.name": {"Mug"}, "lines.0.unit_price": {"4"}}
		r := c.post("/orders", "/orders/new", form)
		mustStatus(t, r, http.StatusSeeOther)
		page := c.get(r.location())
		mustStatus(t, page, http.StatusOK)
		mustContain(t, page, "<bdi>ستاره پورمحمدی</bdi></a>")
	})
}
