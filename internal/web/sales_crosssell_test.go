package web

import (
	"context"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestDealCrossSell shows the customer analytics' cross-sell on a deal's
// page: a shop whose orders pair tea (T1) with other items, a deal with
// tea on it; the page lists items bought with it, and the one the
// catalogue sells can be added as a line in one click.
func TestDealCrossSell(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	a := newAnalyticsApp(t, db)
	sl := sales.New(db, sales.Options{Person: a.contacts.PersonForLead, Company: a.contacts.CompanyForLead, Region: "IR"})
	h, err := New(Options{Auth: a.auth, Contacts: a.contacts, Activity: a.activity, Orders: a.orders, Insight: a.insight, Sales: sl,
		Version: "test", ImportDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a.srv.Close()
	a.srv = httptest.NewServer(h)
	t.Cleanup(a.srv.Close)
	admin := a.createUser("admin@example.com", crm.RoleAdmin)
	ctx := crm.NewContextWithUser(context.Background(), admin)
	pipe, err := sl.CreatePipeline(ctx, sales.PipelineInput{Name: "Shop", Currency: "IRR", Stages: []sales.StageInput{{Name: "Talk"}}})
	if err != nil {
		t.Fatal(err)
	}
	tea, err := sl.CreateProduct(ctx, sales.ProductInput{Name: "چای", SKU: "T1", Price: 450000, Currency: "IRR"})
	if err != nil {
		t.Fatal(err)
	}
	honey, err := sl.CreateProduct(ctx, sales.ProductInput{Name: "عسل", SKU: "H1", Price: 900000, Currency: "IRR"})
	if err != nil {
		t.Fatal(err)
	}
	sugar, err := sl.CreateProduct(ctx, sales.ProductInput{Name: "قند", SKU: "S1", Price: 120000, Currency: "IRR"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sl.CreateDeal(ctx, sales.DealInput{Title: "Tea for the office", PipelineID: pipe.ID, ContactID: a.people[0],
		Lines: []sales.LineInput{{ProductID: tea.ID}}, ValueFromLines: true})
	if err != nil {
		t.Fatal(err)
	}
	page := "/sales/deals/" + strconv.FormatInt(d.ID, 10)

	c := a.client(t)
	c.signIn("admin@example.com")
	before := c.get(page)
	if before.status != 200 || !strings.Contains(before.body, "nothing to suggest") {
		t.Fatalf("before any analytics run: %d, want the empty cross-sell card", before.status)
	}

	a.recompute()
	after := c.get(page)
	if after.status != 200 {
		t.Fatalf("status %d", after.status)
	}
	i := strings.Index(after.body, `id="cross-title"`)
	if i < 0 {
		t.Fatal("no cross-sell card")
	}
	card := after.body[i:]
	card = card[:strings.Index(card, "</section>")]
	if strings.Contains(card, "nothing to suggest") || !strings.Contains(card, "with چای") {
		t.Fatalf("cross-sell card after a run:\n%s", card)
	}
	m := regexp.MustCompile(`name="product_id" value="(\d+)"`).FindAllStringSubmatch(card, -1)
	if len(m) == 0 {
		t.Fatalf("no item of the catalogue to add:\n%s", card)
	}
	offered, _ := strconv.ParseInt(m[0][1], 10, 64)
	if offered != honey.ID && offered != sugar.ID {
		t.Fatalf("offers product %d", offered)
	}

	// Adding it makes it a line of the deal, whose value follows.
	r := c.post(page+"/lines", page, map[string][]string{"product_id": {m[0][1]}})
	if r.status != 303 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	got, err := sl.Deal(ctx, d.ID)
	if err != nil || len(got.Lines) != 2 || got.Lines[1].ProductID != offered || got.Value != tea.Price+got.Lines[1].UnitPrice {
		t.Fatalf("deal after adding: %+v %v", got, err)
	}
}
