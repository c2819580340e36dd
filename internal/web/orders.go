package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/order"
)

// The orders pages (internal/order): the list with filters, an order with
// its lines and returns and the return form, the order entry form for
// staff, a person's orders, and the timeline entries of order.created and
// order.returned. Installed when Options.Orders is set.

func init() {
	webModules = append(webModules, webModule{
		on:     func(s *server) bool { return s.orders != nil },
		nav:    []navItem{{Key: "orders.nav", Href: "/orders", Perm: crm.PermOrdersRead, Prefix: "/orders/"}},
		routes: orderRoutes,
	})
	registerTimeline(crm.EventOrderCreated, timelineRenderer{Icon: "store", Payload: func() any { return new(orderEvent) }})
	registerTimeline(crm.EventOrderReturned, timelineRenderer{Icon: "store", Payload: func() any { return new(orderReturnedEvent) }})
}

func orderRoutes(s *server, mux *http.ServeMux) {
	read, write := crm.PermOrdersRead, crm.PermOrdersWrite
	mux.HandleFunc("GET /orders", s.can(read, s.handleOrderIndex))
	mux.HandleFunc("GET /orders/{$}", s.can(read, s.handleOrderIndex))
	mux.HandleFunc("GET /orders/new", s.can(write, s.handleOrderNew))
	mux.HandleFunc("POST /orders", s.can(write, s.handleOrderCreate))
	mux.HandleFunc("GET /orders/{id}", s.can(read, s.handleOrderShow))
	mux.HandleFunc("POST /orders/{id}/returns", s.can(write, s.handleOrderReturn))
	mux.HandleFunc("GET /orders/customer/{id}", s.can(read, s.handleContactOrders))
}

// money shows an amount in minor units of currency in the user's digits.
func money(p *locale.Printer, amount int64, currency string) string {
	return formatMoney(p, amount, currency)
}

// --- The timeline ---

// orderEvent is the payload of order.created, with what its partial needs.
type orderEvent struct{ crm.Order }

// Money formats an amount of the order.
func (o *orderEvent) Money(p *locale.Printer, amount int64) string {
	return money(p, amount, o.Currency)
}

// Items is the number of items bought.
func (o *orderEvent) Items() int64 {
	var n int64
	for _, l := range o.Lines {
		n += l.Quantity
	}
	return n
}

// orderReturnedEvent is the payload of order.returned.
type orderReturnedEvent struct{ crm.OrderReturnedPayload }

// Money formats an amount of the return's order.
func (e *orderReturnedEvent) Money(p *locale.Printer, amount int64) string {
	return money(p, amount, e.Currency)
}

// --- The list ---

const orderPageSize = 50

type orderRow struct {
	*crm.Order
	Customer string
}

// Ref is the source's own order id to show: none for orders entered on
// the web form, whose id is only the form's double-submit guard.
func (o orderRow) Ref() string { return shownRef(o.Order) }

func shownRef(o *crm.Order) string {
	if o.Source == "web" && strings.HasPrefix(o.ExternalID, "form-") {
		return ""
	}
	return o.ExternalID
}

type orderIndexPage struct {
	base
	Orders   []orderRow
	Filter   form
	Statuses []string
	Channels []string
	Stores   []string
	Next     string
	First    string
	DateHint string
	CanWrite bool
	Contact  *crm.Contact // set on a person's orders page
	Totals   []order.Totals
}

// Money formats an amount.
func (d *orderIndexPage) Money(amount int64, currency string) string {
	return money(d.L, amount, currency)
}

func (s *server) handleOrderIndex(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	p := st.p
	q := r.URL.Query()
	d := &orderIndexPage{base: s.page(r, "orders.title"), Statuses: order.Statuses, Channels: crm.OrderChannels,
		DateHint: p.DateInput(nowFunc()), CanWrite: st.user.Can(crm.PermOrdersWrite)}
	f := form{Values: map[string]string{}}
	for _, k := range []string{"status", "channel", "store", "from", "to", "contact"} {
		f.Values[k] = strings.TrimSpace(q.Get(k))
	}
	filter := crm.OrderFilter{Status: f.V("status"), Channel: f.V("channel"), Store: f.V("store"), Limit: orderPageSize, After: q.Get("after")}
	if filter.Status != "" && !slices.Contains(order.Statuses, filter.Status) {
		f.invalid(p, "status", "error.choose_option")
	}
	if filter.Channel != "" && !slices.Contains(crm.OrderChannels, filter.Channel) {
		f.invalid(p, "channel", "error.choose_option")
	}
	for _, k := range []string{"from", "to"} {
		if v := f.V(k); v != "" {
			t, err := p.ParseDate(v)
			if err != nil {
				f.invalid(p, k, "orders.error.date", "example", p.DateInput(nowFunc()))
				continue
			}
			if k == "to" {
				t = t.AddDate(0, 0, 1) // the whole day
			}
			t = t.UTC()
			if k == "from" {
				filter.From = &t
			} else {
				filter.To = &t
			}
		}
	}
	if v := f.V("contact"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			f.invalid(p, "contact", "error.choose_option")
		}
		filter.ContactID = id
	}
	d.Filter = f
	if !f.ok() {
		s.renderOrderIndex(w, r, d, http.StatusUnprocessableEntity)
		return
	}
	orders, next, err := s.orders.List(ctx, filter)
	if crm.ErrorCode(err) == crm.EINVALID && filter.After != "" { // a stale cursor: the first page
		filter.After = ""
		orders, next, err = s.orders.List(ctx, filter)
	}
	if crm.ErrorCode(err) == crm.EINVALID {
		d.Filter.fail(p, err, nil)
		s.renderOrderIndex(w, r, d, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Orders, err = s.orderRows(ctx, orders); err != nil {
		s.renderError(w, r, err)
		return
	}
	keep := url.Values{}
	for k, v := range f.Values {
		if v != "" {
			keep.Set(k, v)
		}
	}
	if next != "" {
		nq := url.Values{}
		for k, v := range keep {
			nq[k] = v
		}
		nq.Set("after", next)
		d.Next = "/orders?" + nq.Encode()
	}
	if filter.After != "" {
		d.First = "/orders"
		if len(keep) > 0 {
			d.First += "?" + keep.Encode()
		}
	}
	s.renderOrderIndex(w, r, d, http.StatusOK)
}

func (s *server) renderOrderIndex(w http.ResponseWriter, r *http.Request, d *orderIndexPage, status int) {
	var err error
	if d.Stores, err = s.orders.Stores(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "orders", d)
}

// orderRows names the customers of orders (one query for the page).
func (s *server) orderRows(ctx context.Context, orders []*crm.Order) ([]orderRow, error) {
	names := map[int64]string{}
	if s.contacts != nil {
		var ids []int64
		for _, o := range orders {
			if o.ContactID != 0 && !slices.Contains(ids, o.ContactID) {
				ids = append(ids, o.ContactID)
			}
		}
		if len(ids) > 0 {
			cs, _, err := s.contacts.ListContacts(ctx, crm.ContactFilter{IDs: ids, Limit: crm.MaxLimit})
			if err != nil && crm.ErrorCode(err) != crm.EFORBIDDEN {
				return nil, err
			}
			for _, c := range cs {
				names[c.ID] = c.DisplayName()
			}
		}
	}
	out := make([]orderRow, len(orders))
	for i, o := range orders {
		out[i] = orderRow{Order: o, Customer: names[o.ContactID]}
	}
	return out, nil
}

// --- A person's orders ---

func (s *server) handleContactOrders(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := state(r)
	id, ok := pathID(r)
	if !ok || s.contacts == nil {
		s.notFound(w, r)
		return
	}
	c, err := s.contacts.FindContactByID(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &orderIndexPage{base: s.page(r, "orders.title"), Contact: c, CanWrite: st.user.Can(crm.PermOrdersWrite), Filter: form{Values: map[string]string{}}}
	d.Title = st.p.T("orders.of", "name", c.DisplayName())
	after := r.URL.Query().Get("after")
	orders, next, err := s.orders.ListForContact(ctx, id, crm.Page{Limit: orderPageSize, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" {
		after = ""
		orders, next, err = s.orders.ListForContact(ctx, id, crm.Page{Limit: orderPageSize})
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if d.Totals, err = s.orders.ContactTotals(ctx, id); err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, o := range orders {
		d.Orders = append(d.Orders, orderRow{Order: o, Customer: c.DisplayName()})
	}
	self := "/orders/customer/" + strconv.FormatInt(id, 10)
	if next != "" {
		d.Next = self + "?after=" + url.QueryEscape(next)
	}
	if after != "" {
		d.First = self
	}
	s.render(w, r, http.StatusOK, "contact_orders", d)
}

// --- One order ---

type orderPage struct {
	base
	Order    *crm.Order
	Customer string
	Returns  []*crm.OrderReturn
	Return   form
	Reasons  []string
	CanWrite bool
	Left     map[int64]int64 // line id → items left to return
	AnyLeft  bool
}

// Money formats an amount of the order.
func (d *orderPage) Money(amount int64) string { return money(d.L, amount, d.Order.Currency) }

// Ref is the source's own order id to show.
func (d *orderPage) Ref() string { return shownRef(d.Order) }

// LineName names an order line in a return.
func (d *orderPage) LineName(id int64) string {
	for _, l := range d.Order.Lines {
		if l.ID == id {
			if l.Name != "" {
				return l.Name
			}
			return l.SKU
		}
	}
	return "#" + strconv.FormatInt(id, 10)
}

// QtyField is the return form's field for a line's quantity.
func (d *orderPage) QtyField(id int64) string { return "qty_" + strconv.FormatInt(id, 10) }

func (s *server) handleOrderShow(w http.ResponseWriter, r *http.Request) {
	s.renderOrder(w, r, http.StatusOK, form{Values: map[string]string{}})
}

func (s *server) renderOrder(w http.ResponseWriter, r *http.Request, status int, ret form) {
	ctx := r.Context()
	st := state(r)
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	o, err := s.orders.Find(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &orderPage{base: s.page(r, "orders.order"), Order: o, Return: ret, Reasons: crm.ReturnReasons,
		CanWrite: st.user.Can(crm.PermOrdersWrite), Left: map[int64]int64{}}
	d.Title = st.p.T("orders.order_number", "id", o.ID)
	if r.Method != http.MethodGet {
		d.Path = "/orders/" + strconv.FormatInt(o.ID, 10)
	}
	for _, l := range o.Lines {
		d.Left[l.ID] = l.Quantity - l.ReturnedQuantity
		if d.Left[l.ID] > 0 {
			d.AnyLeft = true
		}
	}
	if len(o.Lines) == 0 && o.ReturnedTotal < o.Total {
		d.AnyLeft = true
	}
	if d.Returns, err = s.orders.Returns(ctx, id); err != nil {
		s.renderError(w, r, err)
		return
	}
	if rows, err := s.orderRows(ctx, []*crm.Order{o}); err == nil {
		d.Customer = rows[0].Customer
	}
	if d.Return.V("reason") == "" {
		d.Return.Values["reason"] = crm.ReturnChangedMind
	}
	s.render(w, r, status, "order", d)
}

func (s *server) handleOrderReturn(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	o, err := s.orders.Find(ctx, id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := newForm(r, "reason", "note", "amount", "token")
	in := order.ReturnInput{Reason: f.V("reason"), Note: f.V("note")}
	// The form's token makes a double submit one return (its external id).
	if t := f.V("token"); t != "" {
		in.Source, in.ExternalID = "web", "form-"+t
	}
	fields := map[string]string{}
	for _, l := range o.Lines {
		name := "qty_" + strconv.FormatInt(l.ID, 10)
		v := strings.TrimSpace(r.PostFormValue(name))
		f.Values[name] = v
		if v == "" || v == "0" {
			continue
		}
		n, err := p.ParseInt(v)
		if err != nil || n < 0 {
			f.invalid(p, name, "orders.error.quantity")
			continue
		}
		fields[fmt.Sprintf("lines[%d].quantity", len(in.Lines))] = name
		fields[fmt.Sprintf("lines[%d].line_id", len(in.Lines))] = name
		in.Lines = append(in.Lines, order.ReturnLineInput{LineID: l.ID, Quantity: n})
	}
	if len(o.Lines) > 0 && len(in.Lines) == 0 && f.ok() {
		f.invalid(p, "lines", "orders.error.return_nothing")
	}
	if len(o.Lines) == 0 && f.V("amount") != "" {
		n, err := parseMoney(f.V("amount"), o.Currency)
		if err != nil {
			f.invalid(p, "amount", "orders.error.amount")
		} else {
			in.Amount = &n
		}
	}
	if f.ok() {
		_, _, err := s.orders.Return(ctx, id, in)
		if err == nil {
			redirectTo(w, r, "/orders/"+strconv.FormatInt(id, 10), "order_returned", "returns")
			return
		}
		if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		}
		keys := map[string]string{"reason": "error.choose_option", "amount": "orders.error.amount"}
		renamed := map[string]string{}
		for k, v := range crm.ErrorFields(err) {
			if n, ok := fields[k]; ok {
				k = n
				keys[n] = "orders.error.return_too_many"
			}
			renamed[k] = v
		}
		if ce, ok := asCRMError(err); ok && len(renamed) > 0 {
			cp := *ce
			cp.Fields = renamed
			err = &cp
		}
		f.fail(p, err, keys)
	}
	s.renderOrder(w, r, http.StatusUnprocessableEntity, f)
}

// --- Entering an order ---

// orderFormLines is how many line rows the entry form has.
const orderFormLines = 8

type orderFormPage struct {
	base
	Form     form
	Channels []string
	Lines    []int
	DateHint string
	Token    string
}

// LineFieldNames are the fields of a line row, in column order.
func (d *orderFormPage) LineFieldNames() []string {
	return orderLineFields
}

// orderLineFields are the fields of a line row of the entry form (the
// category makes the club's category bonuses work for orders typed in).
var orderLineFields = []string{"sku", "name", "category", "quantity", "unit_price", "discount"}

// LineField names field of line i in the form.
func (d *orderFormPage) LineField(i int, field string) string {
	return "lines." + strconv.Itoa(i) + "." + field
}

func (s *server) handleOrderNew(w http.ResponseWriter, r *http.Request) {
	f := form{Values: map[string]string{"channel": crm.ChannelInStore, "currency": s.defaultCurrency(r)}}
	for k, v := range r.URL.Query() { // prefilled from a person's page: ?customer=…
		if k == "customer" || k == "first_name" || k == "last_name" {
			f.Values[k] = strings.TrimSpace(v[0])
		}
	}
	s.renderOrderForm(w, r, http.StatusOK, f)
}

// defaultCurrency is the currency of the newest order, else the club's
// (its first active program's), else the one the language suggests.
func (s *server) defaultCurrency(r *http.Request) string {
	if os, _, err := s.orders.List(r.Context(), crm.OrderFilter{Limit: 1}); err == nil && len(os) > 0 {
		return os[0].Currency
	}
	if s.club != nil {
		if c := s.clubCurrency(r.Context()); c != "" {
			return c
		}
	}
	switch state(r).p.Lang() {
	case "fa":
		return "IRR"
	case "ar":
		return "AED"
	}
	return "USD"
}

func (s *server) renderOrderForm(w http.ResponseWriter, r *http.Request, status int, f form) {
	p := state(r).p
	d := &orderFormPage{base: s.page(r, "orders.new"), Form: f, Channels: crm.OrderChannels, DateHint: p.DateInput(nowFunc())}
	if r.Method != http.MethodGet {
		d.Path = "/orders/new"
	}
	for i := range orderFormLines {
		d.Lines = append(d.Lines, i)
	}
	d.Token = f.V("token")
	if d.Token == "" {
		d.Token = strconv.FormatInt(nowFunc().UnixNano(), 36) + strconv.FormatInt(state(r).user.ID, 36)
	}
	s.render(w, r, status, "order_form", d)
}

func (s *server) handleOrderCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	names := []string{"customer", "first_name", "last_name", "channel", "store", "currency", "date", "time", "discount", "coupon_code", "token"}
	for i := range orderFormLines {
		for _, k := range orderLineFields {
			names = append(names, "lines."+strconv.Itoa(i)+"."+k)
		}
	}
	f := newForm(r, names...)
	in := order.Input{Channel: f.V("channel"), Store: f.V("store"), Currency: strings.ToUpper(f.V("currency")), CouponCode: f.V("coupon_code")}
	if t := f.V("token"); t != "" {
		in.Source, in.ExternalID = "web", "form-"+t // a double submit makes one order
	}
	in.Customer = order.RecogniseCustomer(f.V("customer"), s.contactsRegion())
	in.Customer.FirstName, in.Customer.LastName = f.V("first_name"), f.V("last_name")
	if at, ok := parseWhen(p, f.V("date"), f.V("time"), "12:00"); !ok {
		f.invalid(p, "date", "orders.error.date", "example", p.DateInput(nowFunc()))
	} else if at != nil {
		t := at.UTC()
		in.PlacedAt = &t
	}
	amount := func(field string) int64 {
		v := f.V(field)
		if v == "" {
			return 0
		}
		n, err := parseMoney(v, in.Currency)
		if err != nil {
			f.invalid(p, field, "orders.error.amount")
		}
		return n
	}
	in.Discount = amount("discount")
	// Line rows left empty are not lines; rows[k] is the form row of line k.
	var rows []int
	for i := range orderFormLines {
		pre := "lines." + strconv.Itoa(i) + "."
		if f.V(pre+"sku") == "" && f.V(pre+"name") == "" && f.V(pre+"quantity") == "" && f.V(pre+"unit_price") == "" {
			continue
		}
		l := order.LineInput{SKU: f.V(pre + "sku"), Name: f.V(pre + "name"), Category: f.V(pre + "category"), Quantity: 1}
		if v := f.V(pre + "quantity"); v != "" {
			n, err := p.ParseInt(v)
			if err != nil {
				f.invalid(p, pre+"quantity", "orders.error.quantity")
			}
			l.Quantity = n
		}
		l.UnitPrice = amount(pre + "unit_price")
		l.Discount = amount(pre + "discount")
		rows = append(rows, i)
		in.Lines = append(in.Lines, l)
	}
	// With a value it could not read the form is not sent: the service
	// checks the rest, storing nothing, so every problem shows at once.
	var o *crm.Order
	var err error
	if f.ok() {
		o, _, err = s.orders.Create(r.Context(), in)
	} else {
		err = s.orders.Check(r.Context(), in)
	}
	switch code := crm.ErrorCode(err); {
	case o != nil:
		redirect(w, r, "/orders/"+strconv.FormatInt(o.ID, 10), "order_created")
		return
	case err != nil && code != crm.EINVALID && code != crm.ECONFLICT:
		s.renderError(w, r, err)
		return
	}
	f.mergeFail(err, func(f *form, err error) { s.failOrderForm(p, f, err, rows) })
	s.renderOrderForm(w, r, http.StatusUnprocessableEntity, f)
}

// failOrderForm puts the service's field errors on the form's fields:
// lines[k].quantity → lines.<row>.quantity, customer.* → customer,
// placed_at → date.
func (s *server) failOrderForm(p *locale.Printer, f *form, err error, rows []int) {
	keys := map[string]string{}
	renamed := map[string]string{}
	for k, v := range crm.ErrorFields(err) {
		name := k
		switch {
		case strings.HasPrefix(k, "lines["):
			i, sub, _ := strings.Cut(strings.TrimPrefix(k, "lines["), "].")
			if n, err := strconv.Atoi(i); err == nil && n < len(rows) {
				name = "lines." + strconv.Itoa(rows[n]) + "." + sub
			}
			keys[name] = "orders.error.line_" + sub
		case k == "lines":
			name = "lines.0.name"
			keys[name] = "orders.error.no_lines"
		case k == "customer.first_name" || k == "customer.last_name":
			name = strings.TrimPrefix(k, "customer.")
			keys[name] = "orders.error.customer"
		case strings.HasPrefix(k, "customer"):
			name = "customer"
			keys[name] = "orders.error.customer"
		case k == "placed_at":
			name = "date"
			keys[name] = "orders.error.placed_at"
		case k == "currency":
			keys[name] = "orders.error.currency"
		case k == "channel":
			keys[name] = "error.choose_option"
		case k == "discount":
			keys[name] = "orders.error.amount"
		case k == "external_id":
			name = "customer"
			keys[name] = "orders.error.duplicate"
		}
		if _, dup := renamed[name]; !dup {
			renamed[name] = v
		}
	}
	if ce, ok := asCRMError(err); ok && len(renamed) > 0 {
		cp := *ce
		cp.Fields = renamed
		err = &cp
	}
	f.fail(p, err, keys)
}

// contactsRegion is the default phone region for recognising customers.
func (s *server) contactsRegion() string {
	if s.contacts != nil {
		return s.contacts.Region()
	}
	return "IR"
}
