package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/order"
)

// Orders: purchases and returns (internal/order). The routes exist when
// the API was given the orders service.

func init() {
	moduleRoutes = append(moduleRoutes, orderRoutes)
	tagDescriptions["orders"] = "Purchases from the till, the web shop, by phone or on Telegram, with their lines and returns. " +
		"A source's own order id (source + external_id) makes a retry return the first order."
	for k, v := range map[string]string{
		"Order":        "A purchase. total = subtotal (the sum of the line totals) − discount; amounts are integer minor units of currency. returned_total is what returns refunded so far.",
		"OrderLine":    "One line: a product by SKU or free text. total = quantity × unit_price − discount; returned_quantity is how many came back.",
		"OrderCreate":  "A new order: who bought (customer), currency, and the lines (or, for history known by its amount only, total). source + external_id make retries safe: the same content returns the stored order, other content is a conflict.",
		"OrderLineIn":  "A line of a new order: name or sku, quantity (1 or more), unit_price and discount in minor units.",
		"CustomerRef":  "Who bought: a contact id; or a club member number; or a phone or an email, matched against the people stored (a new person is created, named first_name last_name, when nobody matches); external_id is the source's own customer number, remembered per source.",
		"OrderReturn":  "Goods given back: the lines and quantities, and the money refunded (amount).",
		"ReturnLine":   "A quantity of one order line given back and the money refunded for it: the line's total less its share of the order discount, per unit.",
		"ReturnCreate": "A return: reason (changed_mind, defect, wrong_item, late, other) and the lines with quantities; no lines returns everything not yet returned. amount is only for orders stored without lines.",
		"ReturnLineIn": "A quantity of one line of the order (line_id) given back.",
	} {
		schemaDescriptions[k] = v
	}
}

func orderRoutes(a *API) []route {
	if a.orders == nil {
		return nil
	}
	read, write := crm.PermOrdersRead, crm.PermOrdersWrite
	return []route{
		{"POST /api/v1/orders", a.handleOrderCreate, op{ID: "createOrder", Tag: "orders", Perm: write, Status: http.StatusCreated,
			Summary: "Record an order", In: orderCreate{}, Out: &crm.Order{},
			Description: "The customer is found by contact id, member number, phone or email, or created. Totals are computed from the lines; a total sent is checked against them. " +
				"An order whose source and external_id are already stored with the same content is answered with the stored order (Idempotent-Replayed: true) and changes nothing; with other content it is a conflict (409) naming external_id. " +
				"Writes order.created with the whole order, on the customer's timeline."}},
		{"GET /api/v1/orders", a.handleOrderList, op{ID: "listOrders", Tag: "orders", Perm: read, Paged: true, Query: orderFilterParams,
			Summary: "List orders, newest first", Out: list[*crm.Order]{}}},
		{"GET /api/v1/orders/{id}", a.handleOrderGet, op{ID: "getOrder", Tag: "orders", Perm: read,
			Summary: "Read an order with its lines", Out: &crm.Order{}}},
		{"GET /api/v1/orders/{id}/returns", a.handleReturnList, op{ID: "listOrderReturns", Tag: "orders", Perm: read,
			Summary: "The returns of an order, oldest first", Out: list[*crm.OrderReturn]{}}},
		{"POST /api/v1/orders/{id}/returns", a.handleReturnCreate, op{ID: "createOrderReturn", Tag: "orders", Perm: write, Status: http.StatusCreated,
			Summary: "Record goods given back, refunding their share", In: returnCreate{}, Out: &crm.OrderReturn{},
			Description: "Each line refunds its total less its share of the order discount, per unit; returning everything refunds the order's total exactly. " +
				"A line gives back at most what was bought (422 naming lines[i].quantity otherwise). source + external_id make retries safe, as for orders. Writes order.returned."}},
		{"GET /api/v1/contacts/{id}/orders", a.handleContactOrders, op{ID: "listContactOrders", Tag: "orders", Perm: read, Paged: true,
			Summary: "A person's orders, newest first", Out: list[*crm.Order]{}}},
	}
}

var orderFilterParams = []param{
	{Name: "contact_id", Type: "integer", Description: "Only this person's orders."},
	{Name: "status", Enum: order.Statuses, Description: "Only orders in this state."},
	{Name: "channel", Enum: crm.OrderChannels, Description: "Only orders from this channel."},
	{Name: "store", Description: "Only orders from this store (branch)."},
	{Name: "from", Description: "Placed at or after: RFC 3339, or a date (YYYY-MM-DD) in your time zone."},
	{Name: "to", Description: "Placed before: RFC 3339, or a date (YYYY-MM-DD), which includes that whole day."},
}

// orderCreate is the body of POST /orders.
type orderCreate struct {
	Source     string          `json:"source,omitempty"`
	ExternalID string          `json:"external_id,omitempty"`
	Customer   crm.CustomerRef `json:"customer"`
	Currency   string          `json:"currency"`
	Channel    string          `json:"channel,omitempty"`
	Store      string          `json:"store,omitempty"`
	CouponCode string          `json:"coupon_code,omitempty"`
	PlacedAt   *time.Time      `json:"placed_at,omitempty"`
	Discount   int64           `json:"discount,omitempty"`
	Total      *int64          `json:"total,omitempty"`
	Lines      []orderLineIn   `json:"lines,omitempty"`
}

// orderLineIn is one line of a new order.
type orderLineIn struct {
	SKU       string `json:"sku,omitempty"`
	Name      string `json:"name,omitempty"`
	Category  string `json:"category,omitempty"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	Discount  int64  `json:"discount,omitempty"`
}

func (in orderCreate) input() order.Input {
	out := order.Input{Source: in.Source, ExternalID: in.ExternalID, Customer: in.Customer, Currency: in.Currency, Channel: in.Channel,
		Store: in.Store, CouponCode: in.CouponCode, PlacedAt: in.PlacedAt, Discount: in.Discount, Total: in.Total}
	for _, l := range in.Lines {
		out.Lines = append(out.Lines, order.LineInput{SKU: l.SKU, Name: l.Name, Category: l.Category, Quantity: l.Quantity, UnitPrice: l.UnitPrice, Discount: l.Discount})
	}
	return out
}

// returnCreate is the body of POST /orders/{id}/returns.
type returnCreate struct {
	Source     string         `json:"source,omitempty"`
	ExternalID string         `json:"external_id,omitempty"`
	Reason     string         `json:"reason"`
	Note       string         `json:"note,omitempty"`
	Lines      []returnLineIn `json:"lines,omitempty"`
	Amount     *int64         `json:"amount,omitempty"`
}

// returnLineIn is a quantity of one order line given back.
type returnLineIn struct {
	LineID   int64 `json:"line_id"`
	Quantity int64 `json:"quantity"`
}

func (a *API) handleOrderCreate(w http.ResponseWriter, r *http.Request) {
	var in orderCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	o, created, err := a.orders.Create(r.Context(), in.input())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !created {
		w.Header().Set(replayedHeader, "true")
	}
	w.Header().Set("Location", apiBase+"/orders/"+strconv.FormatInt(o.ID, 10))
	a.writeJSON(w, r, http.StatusCreated, o)
}

func (a *API) handleOrderList(w http.ResponseWriter, r *http.Request) {
	var v crm.Validation
	page := readPage(r, &v)
	q := r.URL.Query()
	f := crm.OrderFilter{
		ContactID: queryInt64(r, "contact_id", &v),
		Status:    q.Get("status"),
		Channel:   q.Get("channel"),
		Store:     q.Get("store"),
		From:      queryTime(r, "from", false, &v),
		To:        queryTime(r, "to", true, &v),
		Limit:     page.Limit,
		After:     page.After,
	}
	if err := v.Err(); err != nil {
		a.writeError(w, r, err)
		return
	}
	orders, next, err := a.orders.List(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, orders, next)
}

func (a *API) handleOrderGet(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	o, err := a.orders.Find(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, o)
}

func (a *API) handleReturnList(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rs, err := a.orders.Returns(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, rs, "")
}

func (a *API) handleReturnCreate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in returnCreate
	if err := decodeJSON(r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	ri := order.ReturnInput{Source: in.Source, ExternalID: in.ExternalID, Reason: in.Reason, Note: in.Note, Amount: in.Amount}
	for _, l := range in.Lines {
		ri.Lines = append(ri.Lines, order.ReturnLineInput{LineID: l.LineID, Quantity: l.Quantity})
	}
	ret, created, err := a.orders.Return(r.Context(), id, ri)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if !created {
		w.Header().Set(replayedHeader, "true")
	}
	a.writeJSON(w, r, http.StatusCreated, ret)
}

func (a *API) handleContactOrders(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	page, err := parsePage(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	orders, next, err := a.orders.ListForContact(r.Context(), id, page)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeList(a, w, r, orders, next)
}
