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

// The deal form can pick the lost stage: it asks why (the reason required
// as the settings say), and the deal is lost as losing it would make it;
// editing a deal into the lost stage takes the reason too.
func TestSalesDealFormIntoLostStage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "en@example.com", crm.RoleAdmin, "en")
		f := sa.seed(t, c, admin) // a lost reason "قیمت بالا"; the settings require a reason
		ctx := crm.NewContextWithUser(context.Background(), admin)
		lost, _ := f.pipe.StageOfKind(crm.StageLost)
		reasons, err := sa.sales.LostReasons(ctx, true)
		if err != nil || len(reasons) != 1 {
			t.Fatalf("reasons %v %v", reasons, err)
		}
		reason := strconv.FormatInt(reasons[0].ID, 10)
		mustContain(t, c.get("/sales/deals/new"), `name="lost_reason_id"`, `name="lost_note"`, "قیمت بالا")

		form := url.Values{"title": {"Lost at once"}, "stage_id": {strconv.FormatInt(lost.ID, 10)}}
		r := c.post("/sales/deals", "/sales/deals/new", form)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="d-lost-reason-error"`, "Say why the deal was lost")

		form.Set("lost_reason_id", reason)
		form.Set("lost_note", "went elsewhere")
		r = c.post("/sales/deals", "/sales/deals/new", form)
		mustStatus(t, r, http.StatusSeeOther)
		id, _ := strconv.ParseInt(strings.TrimPrefix(strings.SplitN(r.location(), "?", 2)[0], "/sales/deals/"), 10, 64)
		d, err := sa.sales.Deal(ctx, id)
		if err != nil || d.Status != crm.DealLost || d.LostReasonID != reasons[0].ID || d.LostNote != "went elsewhere" {
			t.Fatalf("deal created lost: %+v %v", d, err)
		}
		evs, err := sa.sales.DealEvents(ctx, id)
		if err != nil || len(evs) != 2 || evs[0].Type != crm.EventDealLost || evs[1].Type != crm.EventDealCreated {
			t.Fatalf("events %+v %v", evs, err)
		}

		// The edit form moves an open deal into the lost stage with its reason.
		edit := "/sales/deals/" + strconv.FormatInt(f.deal.ID, 10)
		cur, err := sa.sales.Deal(ctx, f.deal.ID)
		if err != nil {
			t.Fatal(err)
		}
		up := url.Values{"title": {cur.Title}, "stage_id": {strconv.FormatInt(lost.ID, 10)}, "value_from_lines": {"1"}, "currency": {cur.Currency},
			"person": {strconv.FormatInt(cur.ContactID, 10)}, "company": {strconv.FormatInt(cur.CompanyID, 10)},
			"owner_id": {strconv.FormatInt(cur.OwnerID, 10)}, "custom.floor": {"3"}, "version": {strconv.FormatInt(cur.Version, 10)},
			"expected_close": {cur.ExpectedClose}, "tags": {strings.Join(cur.Tags, ", ")}, "source": {cur.Source}}
		r = c.post(edit, edit+"/edit", up)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="d-lost-reason-error"`)
		if d, err := sa.sales.Deal(ctx, f.deal.ID); err != nil || d.Version != cur.Version {
			t.Fatalf("a refused edit changed the deal: %+v %v", d, err)
		}
		up.Set("lost_reason_id", reason)
		r = c.post(edit, edit+"/edit", up)
		mustStatus(t, r, http.StatusSeeOther)
		if d, err := sa.sales.Deal(ctx, f.deal.ID); err != nil || d.Status != crm.DealLost || d.LostReasonID != reasons[0].ID {
			t.Fatalf("deal edited into lost: %+v %v", d, err)
		}
		// A lost deal's edit form does not ask again.
		if r := c.get(edit + "/edit"); strings.Contains(r.body, `name="lost_reason_id"`) {
			t.Error("the edit form of a lost deal asks why it was lost")
		}
	})
}

// The edit form saves its fields and its stage move together: a move into
// the lost stage refused for want of a reason saves nothing (the fields
// stay, the version too, so the resubmitted form with a reason is not
// "changed meanwhile"); another pipeline's lost stage takes the reason too.
func TestSalesDealEditIntoLostStageSavesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		sa := newSalesTestApp(t, db)
		c, admin := sa.signedIn(t, "en@example.com", crm.RoleAdmin, "en")
		f := sa.seed(t, c, admin) // a lost reason; the settings require a reason
		ctx := crm.NewContextWithUser(context.Background(), admin)
		lost, _ := f.pipe.StageOfKind(crm.StageLost)
		reasons, err := sa.sales.LostReasons(ctx, true)
		if err != nil || len(reasons) != 1 {
			t.Fatalf("reasons %v %v", reasons, err)
		}
		reason := strconv.FormatInt(reasons[0].ID, 10)
		formOf := func(d *crm.Deal, title string, stageID int64) url.Values {
			return url.Values{"title": {title}, "stage_id": {strconv.FormatInt(stageID, 10)}, "value_from_lines": {"1"}, "currency": {d.Currency},
				"person": {strconv.FormatInt(d.ContactID, 10)}, "company": {strconv.FormatInt(d.CompanyID, 10)},
				"owner_id": {strconv.FormatInt(d.OwnerID, 10)}, "custom.floor": {"3"}, "version": {strconv.FormatInt(d.Version, 10)},
				"expected_close": {d.ExpectedClose}, "tags": {strings.Join(d.Tags, ", ")}, "source": {d.Source}}
		}

		edit := "/sales/deals/" + strconv.FormatInt(f.deal.ID, 10)
		cur, err := sa.sales.Deal(ctx, f.deal.ID)
		if err != nil {
			t.Fatal(err)
		}
		up := formOf(cur, "Renamed deal", lost.ID)
		r := c.post(edit, edit+"/edit", up)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		mustContain(t, r, `id="d-lost-reason-error"`)
		if d, err := sa.sales.Deal(ctx, f.deal.ID); err != nil || d.Version != cur.Version || d.Title != cur.Title || d.Status != crm.DealOpen {
			t.Fatalf("a refused edit saved something: %+v %v", d, err)
		}
		up.Set("lost_reason_id", reason)
		r = c.post(edit, edit+"/edit", up)
		mustStatus(t, r, http.StatusSeeOther)
		d, err := sa.sales.Deal(ctx, f.deal.ID)
		if err != nil || d.Title != "Renamed deal" || d.Status != crm.DealLost || d.LostReasonID != reasons[0].ID {
			t.Fatalf("deal edited into lost: %+v %v", d, err)
		}
		evs, err := sa.sales.DealEvents(ctx, f.deal.ID)
		if err != nil || len(evs) < 3 || evs[0].Type != crm.EventDealLost || evs[1].Type != crm.EventDealStageChanged || evs[2].Type != crm.EventDealUpdated {
			t.Fatalf("events %+v %v", evs, err)
		}

		// Another pipeline's lost stage takes the reason the form sends.
		other, err := sa.sales.CreatePipeline(ctx, sales.PipelineInput{Name: "Other", Currency: f.pipe.Currency, Stages: []sales.StageInput{{Name: "Start"}}})
		if err != nil {
			t.Fatal(err)
		}
		otherLost, _ := other.StageOfKind(crm.StageLost)
		nd, err := sa.sales.CreateDeal(ctx, sales.DealInput{Title: "Across", ContactID: cur.ContactID, CompanyID: cur.CompanyID, ValueFromLines: true,
			ExpectedClose: cur.ExpectedClose, Custom: map[string]any{"floor": "3"}})
		if err != nil {
			t.Fatal(err)
		}
		edit = "/sales/deals/" + strconv.FormatInt(nd.ID, 10)
		up = formOf(nd, "Across", otherLost.ID)
		up.Set("lost_reason_id", reason)
		r = c.post(edit, edit+"/edit", up)
		mustStatus(t, r, http.StatusSeeOther)
		if d, err := sa.sales.Deal(ctx, nd.ID); err != nil || d.PipelineID != other.ID || d.Status != crm.DealLost || d.LostReasonID != reasons[0].ID {
			t.Fatalf("deal edited into another pipeline's lost stage: %+v %v", d, err)
		}
	})
}
