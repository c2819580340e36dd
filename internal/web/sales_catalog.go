package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
)

// The products catalogue, and quotes: a quote's printable page and its
// status.

type productsPage struct {
	salesBase
	Products []*crm.Product
	Form     form // a new product
	Q        string
	Next     string
	First    string
}

func (s *server) handleProductIndex(w http.ResponseWriter, r *http.Request) {
	s.renderProducts(w, r, http.StatusOK, form{Values: map[string]string{"currency": s.dealCurrency(r)}})
}

func (s *server) renderProducts(w http.ResponseWriter, r *http.Request, status int, f form) {
	q := r.URL.Query()
	d := &productsPage{salesBase: s.salesPage(r, "sales.products.title", "products"), Form: f, Q: strings.TrimSpace(q.Get("q"))}
	if r.Method != http.MethodGet {
		d.Path = "/sales/products"
	}
	after := ""
	if r.Method == http.MethodGet {
		after = q.Get("after")
	}
	var next string
	var err error
	d.Products, next, err = s.sales.Products(r.Context(), sales.ProductFilter{Q: d.Q, Limit: dealPageSize, After: after})
	if crm.ErrorCode(err) == crm.EINVALID && after != "" {
		after = ""
		d.Products, next, err = s.sales.Products(r.Context(), sales.ProductFilter{Q: d.Q, Limit: dealPageSize})
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	keep := url.Values{}
	if d.Q != "" {
		keep.Set("q", d.Q)
	}
	if next != "" {
		nq := url.Values{"after": {next}}
		if d.Q != "" {
			nq.Set("q", d.Q)
		}
		d.Next = "/sales/products?" + nq.Encode()
	}
	if after != "" {
		d.First = "/sales/products?" + keep.Encode()
	}
	s.render(w, r, status, "sales_products", d)
}

var productFields = []string{"name", "sku", "description", "price", "currency", "tax_rate", "active"}

var productFieldKeys = map[string]string{"name": "error.required", "sku": "sales.error.sku", "price": "sales.error.amount",
	"currency": "sales.error.currency", "tax_rate": "sales.error.tax_rate", "description": "contacts.error.too_long"}

func readProductForm(r *http.Request) (form, sales.ProductInput) {
	p := state(r).p
	f := newForm(r, productFields...)
	f.Values["description"] = strings.TrimSpace(r.PostFormValue("description"))
	in := sales.ProductInput{Name: f.V("name"), SKU: f.V("sku"), Description: f.V("description"), Currency: strings.ToUpper(f.V("currency"))}
	active := f.V("active") != ""
	in.Active = &active
	n, err := parseMoney(f.V("price"), in.Currency)
	if err != nil {
		f.invalid(p, "price", "sales.error.amount")
	}
	in.Price = n
	if v := f.V("tax_rate"); v != "" {
		rate, err := parsePercent(v)
		if err != nil {
			f.invalid(p, "tax_rate", "sales.error.tax_rate")
		}
		in.TaxRate = rate
	}
	return f, in
}

func (s *server) handleProductCreate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	f, in := readProductForm(r)
	if f.ok() {
		if _, err := s.sales.CreateProduct(r.Context(), in); err == nil {
			redirect(w, r, "/sales/products", "product_created")
			return
		} else if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		} else {
			f.fail(p, err, productFieldKeys)
		}
	}
	s.renderProducts(w, r, http.StatusUnprocessableEntity, f)
}

type productFormPage struct {
	salesBase
	Product *crm.Product
	Form    form
}

func (s *server) handleProductEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	pr, err := s.sales.Product(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := state(r).p
	f := form{Values: map[string]string{"name": pr.Name, "sku": pr.SKU, "description": pr.Description, "price": moneyAmount(p, pr.Price, pr.Currency),
		"currency": pr.Currency, "tax_rate": moneyAmount(p, pr.TaxRate, "USD")}}
	if pr.Active {
		f.Values["active"] = "1"
	}
	s.render(w, r, http.StatusOK, "sales_product", &productFormPage{salesBase: s.salesPage(r, "sales.product.edit", "products"), Product: pr, Form: f})
}

func (s *server) handleProductUpdate(w http.ResponseWriter, r *http.Request) {
	p := state(r).p
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	pr, err := s.sales.Product(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, in := readProductForm(r)
	if f.ok() {
		up := sales.ProductUpdate{Name: &in.Name, SKU: &in.SKU, Description: &in.Description, Price: &in.Price, Currency: &in.Currency,
			TaxRate: &in.TaxRate, Active: in.Active}
		if _, err = s.sales.UpdateProduct(r.Context(), id, up); err == nil {
			redirect(w, r, "/sales/products", "product_saved")
			return
		}
		if code := crm.ErrorCode(err); code != crm.EINVALID && code != crm.ECONFLICT {
			s.renderError(w, r, err)
			return
		}
		f.fail(p, err, productFieldKeys)
	}
	d := &productFormPage{salesBase: s.salesPage(r, "sales.product.edit", "products"), Product: pr, Form: f}
	d.Path = "/sales/products/" + strconv.FormatInt(id, 10)
	s.render(w, r, http.StatusUnprocessableEntity, "sales_product", d)
}

// --- Quotes ---

type quotePage struct {
	salesBase
	V        *sales.QuoteView
	Deal     string // the deal's page
	Statuses []string
	Next     []string // the statuses the quote may move to
	Address  []string // the customer's address lines
}

// QuoteMoney formats an amount of the quote.
func (d *quotePage) QuoteMoney(n int64) string { return formatMoney(d.L, n, d.V.Quote.Currency) }

func (s *server) handleQuoteShow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	v, err := s.sales.Quote(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	d := &quotePage{salesBase: s.salesPage(r, "sales.quote.title", "deals"), V: v, Deal: "/sales/deals/" + strconv.FormatInt(v.Quote.DealID, 10),
		Statuses: crm.QuoteStatuses}
	d.Title = d.L.T("sales.quote.number", "number", d.L.Digits(v.Number))
	switch v.Quote.Status {
	case crm.QuoteDraft:
		d.Next = []string{crm.QuoteSent, crm.QuoteAccepted, crm.QuoteDeclined}
	case crm.QuoteSent:
		d.Next = []string{crm.QuoteAccepted, crm.QuoteDeclined, crm.QuoteDraft}
	}
	var addrs []crm.Address
	if v.Company != nil {
		addrs = v.Company.Addresses
	}
	if len(addrs) == 0 && v.Contact != nil {
		addrs = v.Contact.Addresses
	}
	if len(addrs) > 0 {
		a := addrs[0]
		for _, line := range []string{a.Street, strings.TrimSpace(a.PostalCode + " " + a.City), strings.TrimSpace(a.Region + " " + a.Country)} {
			if line = strings.TrimSpace(line); line != "" {
				d.Address = append(d.Address, line)
			}
		}
	}
	s.render(w, r, http.StatusOK, "sales_quote", d)
}

func (s *server) handleQuoteStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if _, err := s.sales.SetQuoteStatus(r.Context(), id, r.PostFormValue("status")); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/sales/quotes/"+strconv.FormatInt(id, 10), "quote_saved")
}
