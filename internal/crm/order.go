package crm

import "time"

// Money amounts everywhere in Pivand are int64 integer minor units of an
// ISO 4217 currency (cents for USD, rials for IRR, fils for AED: see
// CurrencyExponent), never floats.

// CurrencyExponent is the number of minor-unit digits of an ISO 4217
// currency: 2 unless listed here. Rials and tomans have no minor unit in
// practice; TMN is the informal code shops in Iran use for tomans.
func CurrencyExponent(code string) int {
	switch code {
	case "IRR", "TMN", "JPY", "KRW", "IQD", "VND", "CLP", "ISK", "UGX", "XOF", "XAF":
		return 0
	case "BHD", "KWD", "OMR", "JOD", "TND", "LYD":
		return 3
	}
	return 2
}

// Order channels (phone and telegram are the consent channels' names).
const (
	ChannelInStore = "in_store"
	ChannelWeb     = "web"
)

// OrderChannels lists the channels an order may come from.
var OrderChannels = []string{ChannelInStore, ChannelWeb, ChannelPhone, ChannelTelegram}

// Order statuses.
const (
	OrderPlaced            = "placed"
	OrderPartiallyReturned = "partially_returned"
	OrderReturned          = "returned"
)

// Order is one purchase: from the till, the web shop, by phone or on
// Telegram. Source + ExternalID (the till's or shop's own order number)
// identify it across retries; Total = sum of line totals − Discount.
type Order struct {
	ID            int64       `json:"id"`
	Source        string      `json:"source"`      // where it came from: "pos-tehran-1", "shop", "import" …
	ExternalID    string      `json:"external_id"` // the source's own order id; unique per source when set
	ContactID     int64       `json:"contact_id"`
	Status        string      `json:"status"` // placed, partially_returned, returned
	Currency      string      `json:"currency"`
	Subtotal      int64       `json:"subtotal"` // sum of line totals
	Discount      int64       `json:"discount"` // order-level discount (a coupon …)
	Total         int64       `json:"total"`
	ReturnedTotal int64       `json:"returned_total"` // money refunded by returns so far
	Channel       string      `json:"channel"`
	Store         string      `json:"store,omitempty"` // branch
	CouponCode    string      `json:"coupon_code,omitempty"`
	PlacedAt      time.Time   `json:"placed_at"`
	Lines         []OrderLine `json:"lines"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
}

// OrderLine is one line of an order: a product (by SKU) or free text.
// Total = Quantity × UnitPrice − Discount.
type OrderLine struct {
	ID               int64  `json:"id"`
	SKU              string `json:"sku,omitempty"`
	Name             string `json:"name"`
	Category         string `json:"category,omitempty"`
	Quantity         int64  `json:"quantity"`
	UnitPrice        int64  `json:"unit_price"`
	Discount         int64  `json:"discount"`
	Total            int64  `json:"total"`
	ReturnedQuantity int64  `json:"returned_quantity"`
}

// Return reason categories, shared by orders and the service desk.
const (
	ReturnChangedMind = "changed_mind"
	ReturnDefect      = "defect"
	ReturnWrongItem   = "wrong_item"
	ReturnLate        = "late"
	ReturnOther       = "other"
)

// ReturnReasons lists the return reason categories.
var ReturnReasons = []string{ReturnChangedMind, ReturnDefect, ReturnWrongItem, ReturnLate, ReturnOther}

// OrderReturn is goods given back: whole orders or some lines. Amount is
// the money refunded. ExternalID makes a retried return idempotent.
type OrderReturn struct {
	ID         int64        `json:"id"`
	OrderID    int64        `json:"order_id"`
	ContactID  int64        `json:"contact_id"`
	Source     string       `json:"source,omitempty"` // with ExternalID, identifies the return across retries
	ExternalID string       `json:"external_id,omitempty"`
	Reason     string       `json:"reason"`
	Note       string       `json:"note,omitempty"`
	Amount     int64        `json:"amount"`
	Lines      []ReturnLine `json:"lines"`
	CreatedAt  time.Time    `json:"created_at"`
}

// ReturnLine is the quantity of one order line given back and the money
// refunded for it.
type ReturnLine struct {
	LineID   int64  `json:"line_id"`
	Quantity int64  `json:"quantity"`
	Amount   int64  `json:"amount"`
	SKU      string `json:"sku,omitempty"`      // the order line's, for subscribers and the timeline
	Name     string `json:"name,omitempty"`     // the order line's
	Category string `json:"category,omitempty"` // the order line's
}

// Order events. The payload of order.created is the Order (with lines);
// the payload of order.returned is OrderReturnedPayload. Both carry the
// customer in Event.ContactID. The club awards and reverses points from
// them; the timeline shows them.
const (
	EventOrderCreated  = "order.created"
	EventOrderReturned = "order.returned"
)

// OrderReturnedPayload is the payload of order.returned: the return, and
// the order's total and returned total after it, so a subscriber can
// reverse a proportional share of what the order earned without reading
// the order.
type OrderReturnedPayload struct {
	Return        OrderReturn `json:"return"`
	OrderTotal    int64       `json:"order_total"`
	ReturnedTotal int64       `json:"returned_total"` // including this return
	Currency      string      `json:"currency"`
}

// CustomerRef says who bought: an existing contact id, or a member
// number, phone or email to look them up by, with a name to create the
// person under when nobody matches. The order service hands it to a
// resolver wired in internal/app (club member numbers first, then the
// contact service's phone/email match, then a new person).
//
// ExternalID is the order source's own customer number (a till's or a web
// shop's customer id, "17850" in an export): the orders module remembers,
// per source, which person it stands for, and looks the person up by the
// other members (or creates them) the first time.
type CustomerRef struct {
	ContactID    int64  `json:"contact_id,omitempty"`
	MemberNumber string `json:"member_number,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Email        string `json:"email,omitempty"`
	ExternalID   string `json:"external_id,omitempty"`
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
}

// IsZero reports whether the reference names nobody.
func (r CustomerRef) IsZero() bool {
	return r.ContactID == 0 && r.MemberNumber == "" && r.Phone == "" && r.Email == "" && r.ExternalID == ""
}

// OrderFilter selects orders for a list, newest first (by id), with
// keyset paging: After is the next cursor of the previous page. Zero
// values do not filter; From (inclusive) and To (exclusive) bound
// PlacedAt.
type OrderFilter struct {
	ContactID int64
	Status    string
	Channel   string
	Store     string
	From, To  *time.Time
	Limit     int
	After     string
}
