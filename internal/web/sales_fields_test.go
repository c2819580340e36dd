package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/pivand/pivand/internal/crm"
	"github.com/pivand/pivand/internal/sales"
	"github.com/pivand/pivand/internal/store"
	"github.com/pivand/pivand/internal/store/storetest"
)

// TestDealCustomFieldsOnTheWeb defines a deal field on the settings page
// and uses it through the deal form, the deal page, the list (column and
// filter) and the export, in English.
func TestDealCustomFieldsOnTheWeb(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "admin@example.com", crm.RoleAdmin, "en")
		f := sa.seed(t, c, admin)
		ctx := crm.NewContextWithUser(context.Background(), admin)

		r := c.post("/settings/custom-fields", "/settings/custom-fields", url.Values{"entity": {"deal"}, "key": {"budget"}, "label": {"Budget"},
			"type": {"money"}, "currency": {"USD"}, "show_in_list": {"1"}, "required": {"1"}})
		mustStatus(t, r, http.StatusSeeOther)
		r = c.post("/settings/custom-fields", "/settings/custom-fields", url.Values{"entity": {"deal"}, "key": {"budget"}, "label": {"Again"}, "type": {"text"}})
		mustStatus(t, r, http.StatusConflict)
		page := c.get("/settings/custom-fields?entity=deal")
		mustContain(t, page, `id="cf-deal-title"`, "Budget", `value="deal" checked`)

		// The form has an input per field; a bad value is refused next to it.
		mustContain(t, c.get("/sales/deals/new"), `name="custom.budget"`, `name="custom.region"`, `<span class="unit" dir="ltr">USD</span>`)
		r = c.post("/sales/deals", "/sales/deals/new", url.Values{"title": {"Boxes"}, "stage_id": {strconv.FormatInt(f.pipe.Stages[0].ID, 10)},
			"custom.budget": {"12.345"}, "custom.region": {"شمال"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="cf-budget-error"`, `value="12.345"`)
		r = c.post("/sales/deals", "/sales/deals/new", url.Values{"title": {"Boxes"}, "stage_id": {strconv.FormatInt(f.pipe.Stages[0].ID, 10)},
			"custom.region": {"شمال"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="cf-budget-error"`, "Budget is required.")
		r = c.post("/sales/deals", "/sales/deals/new", url.Values{"title": {"Boxes"}, "stage_id": {strconv.FormatInt(f.pipe.Stages[0].ID, 10)},
			"custom.budget": {"1,250.50"}, "custom.region": {"شمال"}})
		mustStatus(t, r, http.StatusSeeOther)
		id, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/sales/deals/"), 10, 64)
		d, err := sa.sales.Deal(ctx, id)
		if err != nil || d.Custom["budget"] != float64(125050) || d.Custom["region"] != "شمال" {
			t.Fatalf("stored = %#v %v", d, err)
		}
		mustContain(t, c.get("/sales/deals/"+strconv.FormatInt(id, 10)), "<dt>Budget</dt>", "1,250.50", "<dt>منطقه</dt>")

		// Editing: the inputs hold the values; emptying an optional one clears it.
		edit := c.get("/sales/deals/" + strconv.FormatInt(id, 10) + "/edit")
		mustContain(t, edit, `value="1250.50"`)
		r = c.post("/sales/deals/"+strconv.FormatInt(id, 10), "/sales/deals/"+strconv.FormatInt(id, 10)+"/edit", url.Values{"title": {"Boxes"},
			"currency": {d.Currency}, "stage_id": {strconv.FormatInt(d.StageID, 10)}, "owner_id": {strconv.FormatInt(admin.ID, 10)},
			"version": {strconv.FormatInt(d.Version, 10)}, "custom.budget": {"99"}, "custom.region": {""}})
		mustStatus(t, r, http.StatusSeeOther)
		if d, _ = sa.sales.Deal(ctx, id); d.Custom["budget"] != float64(9900) || d.Custom["region"] != nil {
			t.Fatalf("after edit = %#v", d.Custom)
		}

		// The list shows the column and filters by the choice.
		list := c.get("/sales/deals?status=all&cf.floor=3")
		mustContain(t, list, `<th scope="col">Budget</th>`, `<th scope="col">طبقه</th>`, `name="cf.region"`, f.deal.Title[:5])
		if strings.Contains(list.body, ">Boxes<") {
			t.Error("the floor filter shows a deal without a floor")
		}
		list = c.get("/sales/deals?status=all")
		mustContain(t, list, ">Boxes<", "99.00")
		bad := c.get("/sales/deals?cf.region=nope")
		mustStatus(t, bad, http.StatusUnprocessableEntity)
		mustContain(t, bad, `id="f-cf.region-error"`)
		csv := c.get("/sales/deals/export.csv?status=all")
		if !strings.Contains(csv.body, ",custom.floor,custom.region,custom.budget\n") || !strings.Contains(csv.body, ",,,99.00\n") {
			t.Fatalf("export: %s", csv.body)
		}
		if _, err := sa.sales.UpdateDeal(ctx, id, sales.DealUpdate{Custom: map[string]any{"region": "جنوب"}}); err != nil {
			t.Fatal(err)
		}
		mustContain(t, c.get("/sales/deals?status=all&cf.region=جنوب"), ">Boxes<")
	})
}
