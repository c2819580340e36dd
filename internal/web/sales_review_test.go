package web

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/locale"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestSalesQuoteTotalsAddUp: with a discount, the totals of a quote and
// of a deal's line items read top to bottom as a sum: before discounts,
// minus the discounts, the subtotal, the tax, the total. (The subtotal
// is after the discounts, so listing the discounts after it read as if
// they were taken off twice.)
func TestSalesQuoteTotalsAddUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "en@example.com", crm.RoleAdmin, "en")
		f := sa.seed(t, c, admin)
		// 3 × 1,200,000 = 3,600,000, less 100,000 = 3,500,000, 9% tax
		// 315,000: 3,815,000.
		en := locale.ForLanguage("en")
		money := func(n int64) string { return formatMoney(en, n, f.pipe.Currency) }
		want := []string{money(3_600_000), "−" + money(100_000), money(3_500_000), money(315_000), money(3_815_000)}
		for _, page := range []struct {
			path   string
			labels []string
		}{
			{"/sales/quotes/" + strconv.FormatInt(f.quote.ID, 10), []string{"Before discounts", "Discounts given", "Subtotal", "Tax", "Total"}},
			{"/sales/deals/" + strconv.FormatInt(f.deal.ID, 10), []string{"Before discounts", "Discounts", "Subtotal", "Tax", "Total"}},
		} {
			r := c.get(page.path)
			mustStatus(t, r, http.StatusOK)
			// The totals are the last occurrences of these labels on the page.
			first := strings.LastIndex(r.body, ">"+page.labels[0]+"<")
			if first < 0 {
				t.Errorf("%s: the totals do not start with %q", page.path, page.labels[0])
				continue
			}
			body := r.body[first:]
			at := 0
			for i, label := range page.labels {
				j := strings.Index(body[at:], ">"+label+"<")
				if j < 0 {
					t.Fatalf("%s: %q is not after %q in the totals:\n%.1500s", page.path, label, page.labels[max(i-1, 0)], body)
				}
				at += j
				k := strings.Index(body[at:], want[i])
				if k < 0 || k > 200 {
					t.Errorf("%s: %q is not followed by %q:\n%.300s", page.path, label, want[i], body[at:])
				}
			}
		}
	})
}

// TestSalesTimelineIsolatesNamesAndAmounts: on a right-to-left page, the
// amount and the deal's title in a history entry are isolated, so the
// currency code does not jump next to a Latin title ("IRR: Karimi Café"
// with the amount on the other side); the board's cards and the list set
// a title's direction by its first letter.
func TestSalesTimelineIsolatesNamesAndAmounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "fa@example.com", crm.RoleAdmin, "fa")
		f := sa.seed(t, c, admin)
		ctx := crm.NewContextWithUser(context.Background(), admin)
		v := int64(250_000_000)
		d, err := sa.sales.CreateDeal(ctx, sales.DealInput{Title: "Karimi Café — grinders", Value: &v, ContactID: f.deal.ContactID})
		if err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(d.ID, 10)
		r := c.get("/sales/deals/" + id)
		mustStatus(t, r, http.StatusOK)
		mustContain(t, r, "\u2068۲۵۰٬۰۰۰٬۰۰۰ IRR\u2069", `<a href="/sales/deals/`+id+`"><bdi>Karimi Café — grinders</bdi></a>`,
			"<h1><bdi>Karimi Café — grinders</bdi>")
		// The same entry on the person's timeline.
		mustContain(t, c.get("/contacts/"+strconv.FormatInt(f.deal.ContactID, 10)), `<a href="/sales/deals/`+id+`"><bdi>Karimi Café — grinders</bdi></a>`)
		mustContain(t, c.get("/sales/board/"+strconv.FormatInt(f.pipe.ID, 10)), `<a class="deal-card-title" href="/sales/deals/`+id+`" dir="auto">`)
		mustContain(t, c.get("/sales/deals"), `<a href="/sales/deals/`+id+`" dir="auto">`)
	})
}

// TestSalesForecastChartsPerCurrency: a currency whose open deals are all
// overdue or undated gets no empty chart; with charts of two currencies,
// each says which currency it draws.
func TestSalesForecastChartsPerCurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "en@example.com", crm.RoleAdmin, "en")
		f := sa.seed(t, c, admin)
		ctx := crm.NewContextWithUser(context.Background(), admin)
		other := "EUR"
		if f.pipe.Currency == other {
			other = "USD"
		}
		v := int64(5000)
		d, err := sa.sales.CreateDeal(ctx, sales.DealInput{Title: "Undated", Value: &v, Currency: other})
		if err != nil {
			t.Fatal(err)
		}
		r := c.get("/sales/forecast")
		mustStatus(t, r, http.StatusOK)
		if n := strings.Count(r.body, `<figure class="report-chart">`); n != 1 {
			t.Errorf("with %s deals only undated: %d charts, want 1", other, n)
		}
		if strings.Contains(r.body, "<figcaption><strong>Forecast in") {
			t.Error("a single chart has a currency caption")
		}
		soon := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
		if _, err := sa.sales.UpdateDeal(ctx, d.ID, sales.DealUpdate{ExpectedClose: &soon}); err != nil {
			t.Fatal(err)
		}
		r = c.get("/sales/forecast")
		if n := strings.Count(r.body, `<figure class="report-chart">`); n != 2 {
			t.Errorf("with dated deals in two currencies: %d charts, want 2", n)
		}
		mustContain(t, r, "<figcaption><strong>Forecast in "+f.pipe.Currency+"</strong>", "<figcaption><strong>Forecast in "+other+"</strong>")
	})
}

// TestSalesAuditActionsNamed: every action the sales module writes to
// the audit log has a name in every language, so the dashboard's recent
// activity and the audit log do not show codes such as deal.move.
func TestSalesAuditActionsNamed(t *testing.T) {
	var files []string
	for _, pat := range []string{"../sales/*.go", "../store/sales*.go"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	re := regexp.MustCompile(`Audit\(ctx, "([a-z_.]+)"`)
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d audit actions in the sales code: %v", len(seen), seen)
	}
	for action := range seen {
		for _, l := range locale.Languages {
			if _, ok := locale.Message(l.Code, "audit.action."+action); !ok {
				t.Errorf("%s: no name for audit action %s", l.Code, action)
			}
		}
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "fa@example.com", crm.RoleAdmin, "fa")
		sa.seed(t, c, admin)
		r := c.get("/")
		mustStatus(t, r, http.StatusOK)
		for _, code := range []string{"<code>deal.", "<code>lead.", "<code>quote.", "<code>product.", "<code>pipeline."} {
			if strings.Contains(r.body, code) {
				t.Errorf("the dashboard shows an audit code: %s", code)
			}
		}
	})
}

// TestSalesNewRecordsStartInThePipelineCurrency: in a shop whose pipeline
// is in rials, a user of the English interface starts a lead and a
// product in rials, not dollars (a dollar product cannot go on a rial
// deal).
func TestSalesNewRecordsStartInThePipelineCurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		cfa, _ := sa.signedIn(t, "fa@example.com", crm.RoleAdmin, "fa")
		mustStatus(t, cfa.post("/sales/pipelines/default", "/sales", nil), http.StatusSeeOther)
		c, _ := sa.signedIn(t, "en@example.com", crm.RoleAdmin, "en")
		for _, p := range []string{"/sales/leads/new", "/sales/products"} {
			r := c.get(p)
			mustStatus(t, r, http.StatusOK)
			if !regexp.MustCompile(`name="currency"[^>]*value="IRR"`).MatchString(r.body) {
				t.Errorf("%s: the currency does not start as the pipeline's IRR", p)
			}
		}
	})
}
